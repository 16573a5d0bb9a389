/**
 * What the model tells the store about durable entities, and where queues keep their messages.
 *
 * `MemoryPersistence` (durability `memory`) keeps everything in memory and remembers nothing.
 * `DiskPersistence` keeps the definitions log and the queue segment stores in the data directory,
 * recovers them at start-up, and closes them cleanly at shutdown.
 */
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { FieldTable } from '../protocol/field-table.js';
import { nodeIo, type FileIo } from './io.js';
import { DefinitionsLog, type AccessChange, type BindingDefinition, type Definitions } from './definitions.js';
import { openDataDir, type OpenedDataDir } from './data-dir.js';
import { Persister, type SyncMode } from './persister.js';
import { MemoryQueueStore, type QueueStore, type QueueTerms } from './queue-store.js';
import { SegmentQueueStore } from './segment-store.js';
import { TimeBucketedStore } from './time-buckets.js';
import { StreamLog, type StreamLimits } from './stream-log.js';

/**
 * What the store sees of the model: the few fields it records. The model's queues, exchanges and
 * bindings have them; the store never imports the model.
 */
export interface Exchange {
  readonly vhost: string;
  readonly name: string;
  readonly type: string;
  readonly options: { readonly durable: boolean; readonly autoDelete: boolean; readonly internal: boolean; readonly arguments: FieldTable };
}

export interface Queue {
  readonly vhost: string;
  readonly name: string;
  readonly options: { readonly durable: boolean; readonly autoDelete: boolean; readonly arguments: FieldTable };
  /** Where the queue keeps its messages (closed with the queue's terms at shutdown). */
  readonly store: QueueStore;
  terms(): QueueTerms;
}

export interface Binding {
  readonly source: Exchange;
  readonly destination: { readonly kind: 'queue' | 'exchange'; readonly name: string; readonly options: { readonly durable: boolean } };
  readonly routingKey: string;
  readonly arguments: FieldTable;
}

export interface Persistence {
  /** A store for a queue being declared (or recovered, with its definition's id). */
  queueStore(q: Queue, recoveredId?: string): QueueStore;
  /** Where a delayed-message exchange keeps the messages it holds. */
  heldMessagesStore(x: Exchange): QueueStore;
  /** A stream's log, in the directory of the store `queueStore` gave it (in memory without a disk). */
  streamLog(store: QueueStore, limits: StreamLimits): StreamLog;
  exchangeDeclared(x: Exchange): void;
  exchangeDeleted(x: Exchange): void;
  queueDeclared(q: Queue): void;
  queueDeleted(q: Queue): void;
  bound(b: Binding): void;
  unbound(b: Binding): void;
  /** A user, vhost, permission or policy changed (or the defaults were created). */
  accessChanged(c: AccessChange): void;
}

/** A binding survives restarts when both its ends do (RabbitMQ's rule). */
function isDurableBinding(b: Binding): boolean {
  return b.source.options.durable && b.destination.options.durable;
}

export class MemoryPersistence implements Persistence {
  queueStore(): QueueStore {
    return new MemoryQueueStore();
  }
  heldMessagesStore(): QueueStore {
    return new MemoryQueueStore();
  }
  streamLog(_store: QueueStore, limits: StreamLimits): StreamLog {
    return new StreamLog(undefined, limits);
  }
  exchangeDeclared(): void {}
  exchangeDeleted(): void {}
  queueDeclared(): void {}
  queueDeleted(): void {}
  bound(): void {}
  unbound(): void {}
  accessChanged(): void {}
}

export interface DiskPersistenceOptions {
  dataDir: string;
  mode: SyncMode;
  log: Logger;
  io?: FileIo;
  segmentSize?: number;
}

export class DiskPersistence implements Persistence {
  readonly persister: Persister;
  readonly definitions: DefinitionsLog;
  /** The durable state read at start-up, for the broker to rebuild. */
  readonly recovered: Definitions;
  private readonly dir: OpenedDataDir;
  private readonly storeIds = new WeakMap<Queue, string>();

  constructor(private readonly options: DiskPersistenceOptions) {
    this.dir = openDataDir(options.dataDir);
    this.persister = new Persister(options.io ?? nodeIo, options.mode, options.log);
    const { log, state } = DefinitionsLog.open(join(options.dataDir, 'definitions.log'), this.persister, options.log);
    this.definitions = log;
    this.recovered = state;
  }

  get cleanStart(): boolean {
    return this.dir.clean;
  }

  queueStore(q: Queue, recoveredId?: string): QueueStore {
    if (q.options.durable) {
      const id = recoveredId ?? randomUUID();
      this.storeIds.set(q, id);
      return new SegmentQueueStore(join(this.options.dataDir, 'queues', id), this.persister, this.options.log, {
        durable: true,
        cleanStart: this.dir.clean,
        segmentSize: this.options.segmentSize,
      });
    }
    return new SegmentQueueStore(join(this.options.dataDir, 'pages', randomUUID()), this.persister, this.options.log, {
      durable: false,
      cleanStart: false,
      segmentSize: this.options.segmentSize,
    });
  }

  /**
   * A durable delayed exchange's store lives under delayed/, named after the exchange (an exchange
   * has no id, and its name is unique in its vhost); a transient one's is a directory of pages.
   */
  heldMessagesStore(x: Exchange): QueueStore {
    const durable = x.options.durable;
    const root = durable ? join(this.options.dataDir, 'delayed', heldMessagesDir(x.vhost, x.name)) : join(this.options.dataDir, 'pages', randomUUID());
    const segmentSize = this.options.segmentSize ?? HELD_BUCKET_BYTES;
    // Buckets are read back whole when they come due: nothing is read at recovery, and indexing a
    // bucket while it waits would read it back once more for nothing.
    const bucket = (dir: string) => new SegmentQueueStore(dir, this.persister, this.options.log, { durable, cleanStart: durable && this.dir.clean, segmentSize, loadOnRecover: 0, indexFull: false });
    return new TimeBucketedStore(root, durable, segmentSize, this.options.log, bucket);
  }

  /** A durable queue's store directory holds its stream's segments (removed with the queue). */
  streamLog(store: QueueStore, limits: StreamLimits): StreamLog {
    if (!(store instanceof SegmentQueueStore) || !store.durable) return new StreamLog(undefined, limits);
    return new StreamLog({ dir: join(store.dir, 'stream'), persister: this.persister, log: this.options.log }, limits);
  }

  /** Removes queue directories no durable queue owns (a crash between a queue's deletion and its files'). */
  pruneQueueStores(liveIds: Iterable<string>): void {
    const root = join(this.options.dataDir, 'queues');
    if (!existsSync(root)) return;
    const keep = new Set(liveIds);
    for (const d of readdirSync(root)) {
      if (keep.has(d)) continue;
      this.options.log.info({ dir: d }, 'removed the files of a queue that no longer exists');
      rmSync(join(root, d), { recursive: true, force: true });
    }
  }

  /** Removes held-message stores whose exchange is gone (deleted, or a crash before the files went). */
  pruneHeldMessages(live: Iterable<{ vhost: string; name: string }>): void {
    const root = join(this.options.dataDir, 'delayed');
    if (!existsSync(root)) return;
    const keep = new Set([...live].map((x) => heldMessagesDir(x.vhost, x.name)));
    for (const d of readdirSync(root)) {
      if (keep.has(d)) continue;
      this.options.log.info({ dir: d }, 'removed the held messages of a delayed exchange that no longer exists');
      rmSync(join(root, d), { recursive: true, force: true });
    }
  }

  exchangeDeclared(x: Exchange): void {
    if (!x.options.durable) return;
    this.definitions.exchangeDeclared({ vhost: x.vhost, name: x.name, type: x.type, autoDelete: x.options.autoDelete, internal: x.options.internal, arguments: x.options.arguments });
  }

  exchangeDeleted(x: Exchange): void {
    if (x.options.durable) this.definitions.exchangeDeleted(x.vhost, x.name);
  }

  queueDeclared(q: Queue): void {
    if (!q.options.durable) return;
    this.definitions.queueDeclared({ vhost: q.vhost, name: q.name, id: this.storeIds.get(q)!, autoDelete: q.options.autoDelete, arguments: q.options.arguments });
  }

  queueDeleted(q: Queue): void {
    if (q.options.durable) this.definitions.queueDeleted(q.vhost, q.name);
  }

  bound(b: Binding): void {
    if (isDurableBinding(b)) this.definitions.bound(bindingDefinition(b));
  }

  unbound(b: Binding): void {
    if (isDurableBinding(b)) this.definitions.unbound(bindingDefinition(b));
  }

  accessChanged(c: AccessChange): void {
    this.definitions.accessChanged(c);
  }

  /** Clean shutdown: every queue's store closed with its terms, the log synced, the directory released. */
  async close(queues: Iterable<Queue>): Promise<void> {
    for (const q of queues) {
      if (q.options.durable) await q.store.close(q.terms());
      else await q.store.destroy();
    }
    await this.persister.idle();
    this.definitions.close();
    this.dir.release(true);
  }

  /** Gives the directory up without marking a clean shutdown (start-up failed half way). */
  abandon(): void {
    this.dir.release(false);
  }
}

/** A bucket of held messages (time-buckets.ts) is one segment of this size. */
const HELD_BUCKET_BYTES = 8 * 1024 * 1024;

function heldMessagesDir(vhost: string, name: string): string {
  return createHash('sha256').update(`${vhost}\u0000${name}`).digest('hex').slice(0, 32);
}

function bindingDefinition(b: Binding): BindingDefinition {
  return {
    vhost: b.source.vhost,
    source: b.source.name,
    destKind: b.destination.kind,
    destination: b.destination.name,
    routingKey: b.routingKey,
    arguments: b.arguments,
  };
}
