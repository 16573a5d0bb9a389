/**
 * The messages a delayed-message exchange holds until they come due.
 *
 * An index in memory (one small entry per message, in a heap ordered by due time, then arrival), and
 * the messages themselves in a store: for a durable exchange, a durable store, so held messages
 * survive restarts and a publisher's confirm waits until the message is on disk; for a transient one,
 * pages on disk once more than HELD_IN_MEMORY bytes are held. Either way a million held messages cost
 * their index entries, not their bodies.
 *
 * A single timer is armed for the earliest due time. When it fires, the due messages are read back
 * (in batches, so a burst of a million coming due at once neither blocks the event loop nor loads
 * them all) and routed from the exchange in due order. A durable copy is removed from the store only
 * once every queue it reached has stored its own copy: a crash in between delivers it twice rather
 * than never.
 */
import type { Logger } from 'pino';
import type { Message } from '../message/message.js';
import { QueueEntry } from '../message/queue-entry.js';
import type { MessageTarget, PublishOutcome } from '../queue/target.js';
import type { StoredCallback } from '../store/persister.js';
import type { QueueStore } from '../store/queue-store.js';
import { TimeBucketedStore } from '../store/time-buckets.js';
import { MinHeap } from '../util/min-heap.js';
import { delayOf, withDelayServed } from './delay.js';

/** Held bodies kept in memory (for quick release) before further ones are paged out. */
const HELD_IN_MEMORY = 16 * 1024 * 1024;
/** Messages read back and routed per turn of the event loop when many come due together. */
const RELEASE_BATCH = 2048;
/**
 * A bucket of held messages (store/time-buckets.ts) all due within this long is read back whole when
 * its first message comes due: one sequential read instead of one per message.
 */
const READ_AHEAD_MS = 30_000;
/** setTimeout's longest interval; longer waits re-arm. */
const MAX_TIMER = 2 ** 31 - 1;

/** What held messages need from their vhost. */
export interface HeldMessagesHost {
  /**
   * Publishes a message that came due from the exchange; `tracker` counts the targets that store it
   * durably (its `stored` runs once for each).
   */
  publishDue(msg: Message, tracker: { pending: number; refused: boolean; readonly stored: StoredCallback }): number;
  readonly log: Logger;
}

export class HeldMessages implements MessageTarget {
  readonly kind = 'delayed';
  readonly overPace = false;
  routeMark = 0;
  deleted = false;
  private readonly heap = new MinHeap<QueueEntry>((a, b) => a.expiresAt < b.expiresAt || (a.expiresAt === b.expiresAt && a.seq < b.seq));
  private nextSeq = 1;
  private inMemoryBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = 0;
  /** A batch is being read back; releases wait for it. */
  private loading = false;

  constructor(
    /** The exchange's name. */
    readonly name: string,
    private readonly store: QueueStore,
    private readonly host: HeldMessagesHost,
  ) {}

  /** How many messages are held. */
  get count(): number {
    return this.heap.length;
  }

  /** Holds a message routed to the exchange with a delay. */
  publish(msg: Message, onStored?: StoredCallback): PublishOutcome {
    const delay = delayOf(msg);
    const now = Date.now();
    const dueAt = (msg.publishedAt > 0 ? msg.publishedAt : now) + delay;
    const held = withDelayServed(msg, delay);
    const store = this.store;
    const e = new QueueEntry(held, this.nextSeq++, held.bodySize, store.durable);
    e.expiresAt = dueAt;
    // The record's time is the due time: that is what a restart needs to know.
    if (store.durable) store.write(e, dueAt, onStored);
    if (store.canPage && this.inMemoryBytes + held.bodySize > HELD_IN_MEMORY) {
      if (!store.durable) store.write(e, dueAt, undefined);
      e.msg = null; // the store has copied the record into its write buffer
    } else {
      this.inMemoryBytes += held.bodySize;
    }
    this.heap.push(e);
    this.arm();
    return store.durable ? 'pending' : 'done';
  }

  /** Arms the timer for the earliest due message, if it is not armed for that time already. */
  private arm(): void {
    const head = this.heap.peek();
    if (head === undefined || this.deleted || this.loading) return;
    const at = head.expiresAt;
    if (this.timer !== undefined) {
      if (this.timerAt <= at) return;
      clearTimeout(this.timer);
    }
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = 0;
      this.releaseDue();
    }, Math.min(Math.max(0, at - Date.now()), MAX_TIMER));
    this.timer.unref?.();
  }

  /** Routes what is due, a batch at a time, reading paged-out messages back first. */
  private releaseDue(): void {
    if (this.deleted || this.loading) return;
    const now = Date.now();
    const batch: QueueEntry[] = [];
    for (let head = this.heap.peek(); head !== undefined && head.expiresAt <= now && batch.length < RELEASE_BATCH; head = this.heap.peek()) {
      batch.push(this.heap.pop()!);
    }
    if (batch.length === 0) {
      this.arm();
      return;
    }
    const paged = batch.filter((e) => e.msg === null);
    if (paged.length === 0) {
      this.route(batch);
      this.continueRelease(batch.length);
      return;
    }
    this.loading = true;
    const store = this.store;
    const toLoad = store instanceof TimeBucketedStore ? store.withBucketMates(paged, now + READ_AHEAD_MS) : paged;
    store.load(toLoad, (err) => {
      this.loading = false;
      if (this.deleted) return;
      if (err !== undefined) this.host.log.error({ exchange: this.name, err: err.message }, 'could not read delayed messages back from disk');
      // Counted as held in memory until routed (route() takes each off again).
      for (const e of toLoad) if (e.msg !== null) this.inMemoryBytes += e.bodySize;
      this.route(batch);
      this.continueRelease(batch.length);
    });
  }

  private continueRelease(released: number): void {
    // A full batch may mean more are due: yield to the event loop, then carry on.
    if (released === RELEASE_BATCH) setImmediate(() => this.releaseDue());
    else this.arm();
  }

  private route(batch: readonly QueueEntry[]): void {
    for (const e of batch) {
      const msg = e.msg;
      if (msg === null) {
        // Its record never reached the disk (the write failed, and the publisher was nacked).
        this.host.log.error({ exchange: this.name, seq: e.seq }, 'delayed message lost: its record could not be read');
        this.store.remove(e);
        continue;
      }
      e.msg = null;
      if (this.inMemoryBytes > 0) this.inMemoryBytes = Math.max(0, this.inMemoryBytes - msg.bodySize);
      const tracker = {
        pending: 1,
        refused: false,
        stored: (err: Error | undefined) => {
          if (err !== undefined) this.host.log.error({ exchange: this.name, err: err.message }, 'a queue could not store a delayed message that came due');
          if (--tracker.pending === 0) this.store.remove(e);
        },
      };
      this.host.publishDue(msg, tracker);
      tracker.stored(undefined);
    }
  }

  /** Puts back what a durable store held before a restart. Returns the number of messages. */
  async recover(): Promise<number> {
    const r = await this.store.recover((e, dueAt) => {
      e.expiresAt = dueAt;
    });
    this.nextSeq = r.nextSeq;
    for (const e of r.entries) {
      const m = r.loaded.get(e.seq);
      if (m !== undefined && this.inMemoryBytes + m.bodySize <= HELD_IN_MEMORY) {
        e.msg = m;
        this.inMemoryBytes += m.bodySize;
      }
      this.heap.push(e);
    }
    this.arm();
    return r.entries.length;
  }

  /** Clean shutdown: the store's files are closed, held messages stay on disk (durable) or go. */
  async close(): Promise<void> {
    this.stop();
    if (this.store.durable) await this.store.close({ deliveredBelow: 1, nextSeq: this.nextSeq });
    else await this.store.destroy();
  }

  /** The exchange was deleted: its held messages go with it. */
  destroy(): void {
    this.stop();
    this.heap.drain();
    this.store.destroy().catch((err: Error) => this.host.log.error({ err: err.message, exchange: this.name }, 'could not remove the files of a deleted delayed exchange'));
  }

  private stop(): void {
    this.deleted = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
