/**
 * Retained messages on disk, one log per vhost, as RabbitMQ's default retained message store
 * (rabbit_mqtt_retained_msg_store_dets) keeps one table per vhost in its data directory, so that
 * they survive a restart:
 *
 *   <dataDir>/mqtt-retained/<vhost name in hex>.log
 *
 * Each record is `topic length (u16) | topic | qos (u8) | payload length (u32) | payload`; an empty
 * payload clears the topic. The file is replayed at start-up (a torn last record from a crash is
 * cut off), then rewritten compactly when it holds dead records, and again at run time once the dead
 * records outweigh the live ones. Appends are batched and written in order, off the event loop, to
 * the kernel (dets itself syncs only every few minutes); a clean shutdown waits for them.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { appendFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';

export interface StoredRetained {
  readonly payload: Buffer;
  readonly qos: 0 | 1;
}

/** Rewrite at run time once the dead bytes are over this and over the live ones. */
const COMPACT_AFTER_DEAD_BYTES = 1 << 20;

function record(topic: string, message: StoredRetained | undefined): Buffer {
  const t = Buffer.from(topic, 'utf8');
  const payload = message?.payload ?? Buffer.alloc(0);
  const head = Buffer.allocUnsafe(2 + t.length + 1 + 4);
  head.writeUInt16BE(t.length, 0);
  t.copy(head, 2);
  head.writeUInt8(message?.qos ?? 0, 2 + t.length);
  head.writeUInt32BE(payload.length, 3 + t.length);
  return Buffer.concat([head, payload]);
}

function encodeAll(messages: ReadonlyMap<string, StoredRetained>): Buffer {
  return Buffer.concat([...messages].map(([topic, m]) => record(topic, m)));
}

/** The records of a log: the live messages, the bytes read in whole records, and how many are dead. */
function replay(bytes: Buffer): { messages: Map<string, StoredRetained>; used: number; dead: number } {
  const messages = new Map<string, StoredRetained>();
  let at = 0;
  let dead = 0;
  while (at + 2 <= bytes.length) {
    const topicLength = bytes.readUInt16BE(at);
    const headEnd = at + 2 + topicLength + 5;
    if (headEnd > bytes.length) break;
    const payloadLength = bytes.readUInt32BE(headEnd - 4);
    if (headEnd + payloadLength > bytes.length) break;
    const topic = bytes.toString('utf8', at + 2, at + 2 + topicLength);
    const qos = bytes[at + 2 + topicLength] === 1 ? 1 : 0;
    if (messages.has(topic)) dead++;
    if (payloadLength === 0) {
      messages.delete(topic);
      dead++;
    } else messages.set(topic, { qos, payload: Buffer.from(bytes.subarray(headEnd, headEnd + payloadLength)) });
    at = headEnd + payloadLength;
  }
  return { messages, used: at, dead };
}

class VhostLog {
  private pending: Buffer[] = [];
  private writing: Promise<void> | undefined;
  private deadBytes = 0;
  private liveBytes = 0;

  constructor(
    readonly path: string,
    private readonly log: Logger,
    /** The live messages, for a rewrite. */
    private readonly live: () => ReadonlyMap<string, StoredRetained>,
  ) {}

  append(topic: string, message: StoredRetained | undefined, replaced: StoredRetained | undefined): void {
    const r = record(topic, message);
    if (replaced !== undefined) this.deadBytes += replaced.payload.length + topic.length + 7;
    if (message === undefined) this.deadBytes += r.length;
    else this.liveBytes += r.length;
    this.pending.push(r);
    this.writing ??= this.drain();
  }

  private async drain(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = Buffer.concat(this.pending);
      this.pending = [];
      try {
        if (this.deadBytes > COMPACT_AFTER_DEAD_BYTES && this.deadBytes > this.liveBytes) await this.rewrite();
        else await appendFile(this.path, batch);
      } catch (e) {
        this.log.error({ err: e, file: this.path }, 'MQTT retained messages could not be written');
      }
    }
    this.writing = undefined;
  }

  /** The live messages (which include the batch being written) into a new file, renamed over the log. */
  private async rewrite(): Promise<void> {
    const bytes = encodeAll(this.live());
    await writeFile(`${this.path}.tmp`, bytes);
    await rename(`${this.path}.tmp`, this.path);
    this.deadBytes = 0;
    this.liveBytes = bytes.length;
  }

  flush(): Promise<void> {
    return this.writing ?? Promise.resolve();
  }
}

export class RetainedStore {
  private readonly logs = new Map<string, VhostLog>();
  /** Logs of deleted vhosts being removed (after their last writes). */
  private readonly removals = new Set<Promise<void>>();

  constructor(
    private readonly dir: string,
    private readonly log: Logger,
  ) {
    mkdirSync(dir, { recursive: true });
  }

  private pathOf(vhost: string): string {
    return join(this.dir, `${Buffer.from(vhost, 'utf8').toString('hex')}.log`);
  }

  /** The vhosts that have a log (hex names decoded). */
  vhosts(): string[] {
    return readdirSync(this.dir)
      .filter((f) => /^[0-9a-f]*\.log$/.test(f))
      .map((f) => Buffer.from(f.slice(0, -4), 'hex').toString('utf8'));
  }

  /**
   * A vhost's messages from its log; `live` gives the current ones for later rewrites. A log with
   * dead or torn records is rewritten compactly first.
   */
  open(vhost: string, live: () => ReadonlyMap<string, StoredRetained>): Map<string, StoredRetained> {
    const path = this.pathOf(vhost);
    let messages = new Map<string, StoredRetained>();
    if (existsSync(path)) {
      const bytes = readFileSync(path);
      const r = replay(bytes);
      messages = r.messages;
      if (r.used < bytes.length) this.log.warn({ file: path, bytes: bytes.length - r.used }, 'MQTT retained messages: a torn last record is dropped');
      if (r.dead > 0 || r.used < bytes.length) {
        writeFileSync(`${path}.tmp`, encodeAll(messages));
        renameSync(`${path}.tmp`, path);
      }
    }
    this.logs.set(vhost, new VhostLog(path, this.log, live));
    return messages;
  }

  append(vhost: string, topic: string, message: StoredRetained | undefined, replaced: StoredRetained | undefined): void {
    this.logs.get(vhost)?.append(topic, message, replaced);
  }

  /** The vhost is deleted: its log goes, after the writes under way. */
  deleteVhost(vhost: string): void {
    const l = this.logs.get(vhost);
    this.logs.delete(vhost);
    const path = this.pathOf(vhost);
    if (l === undefined) return rmSync(path, { force: true });
    const removal = l
      .flush()
      .then(() => rm(path, { force: true }))
      .catch((e: unknown) => this.log.error({ err: e, file: path }, 'MQTT retained messages of a deleted vhost could not be removed'))
      .finally(() => this.removals.delete(removal));
    this.removals.add(removal);
  }

  /** Shutdown: every batch written. */
  async flush(): Promise<void> {
    await Promise.all([...[...this.logs.values()].map((l) => l.flush()), ...this.removals]);
  }
}
