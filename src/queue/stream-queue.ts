/**
 * A stream (x-queue-type stream, RabbitMQ's rabbit_stream_queue over AMQP 0-9-1): an append-only log
 * that consumers read without removing anything. Each consumer reads at its own offset and as fast as
 * its prefetch lets it; publishers never wait for consumers, and a slow consumer never holds back
 * another (each one's reads are bounded by its own credit).
 *
 *  - publish: the message gets the next offset and an x-stream-offset header (RabbitMQ adds it with
 *    rabbit_basic:add_header, so headers come out sorted by key); its confirm waits for its chunk to be
 *    stored (store/stream-log.ts), whatever its delivery mode.
 *  - consume: manual acknowledgement and a prefetch are required (stream-offset.ts); an ack only gives
 *    credit back. basic.get, nack/reject and queue.purge close the connection with 540, as in 3.10.8.
 *  - retention (x-max-length-bytes, x-max-age) removes whole segments; a consumer whose position was
 *    removed carries on from the first offset left.
 *  - counts: queue.declare-ok shows the messages in the stream and no consumers (3.10.8's stat/1 for
 *    streams reports none).
 */
import { join } from 'node:path';
import { notImplemented, resourceName } from '../errors.js';
import { Message } from '../message/message.js';
import { QueueEntry } from '../message/queue-entry.js';
import { integerValue, stringValue, type FieldTable, type FieldValue } from '../protocol/field-table.js';
import type { BasicProperties } from '../protocol/generated/properties.js';
import type { StoredCallback } from '../store/persister.js';
import { DEFAULT_SEGMENT_BYTES, StreamLog, type StreamChunk, type StreamLimits } from '../store/stream-log.js';
import { TrackedOffsets } from '../store/stream-offsets.js';
import { maxAgeMs } from './arguments.js';
import type { Consumer } from './consumers.js';
import { streamFilterOf, type OffsetSpec, type StreamFilter, type StreamStart } from './stream-offset.js';
import { Queue, type QueueOptions, type QueueSettings } from './queue.js';
import type { PublishOutcome } from './target.js';

/** Where one consumer reads: the next offset it gets, and the chunk (and its messages) it reads from. */
interface Cursor {
  readonly consumer: Consumer;
  offset: number;
  chunk: StreamChunk | undefined;
  messages: Message[] | undefined;
  /** Stream filtering: chunks that cannot match are skipped without being read. */
  readonly filter: StreamFilter | undefined;
  /** basic.consume's arguments, as management shows them. */
  readonly args: FieldTable | undefined;
}

/** Where a consumer is, for management: the offset of the next message it gets. */
export interface StreamReader {
  readonly consumer: Consumer;
  readonly offset: number;
  readonly args: FieldTable | undefined;
}

/** The retention and segment settings of a stream's x-arguments. */
export function streamLimits(args: ReadonlyMap<string, FieldValue>): StreamLimits {
  const age = stringValue(args.get('x-max-age'));
  return {
    maxBytes: integerValue(args.get('x-max-length-bytes')),
    maxAgeMs: age === undefined ? undefined : maxAgeMs(age),
    segmentBytes: Math.max(1, integerValue(args.get('x-stream-max-segment-size-bytes')) ?? DEFAULT_SEGMENT_BYTES),
  };
}

export class StreamQueue extends Queue {
  private streamLog: StreamLog;
  private readonly cursors = new Map<Consumer, Cursor>();
  /** A cursor's delivery can reach back here (a channel failing mid-write): the running pass carries on. */
  private pumping = false;
  /** Server-side offsets (x-stream-automatic-offset-tracking), by consumer tag. */
  private tracked!: TrackedOffsets;
  /** The tag each tracking consumer's acks are kept under; kept after a cancel, for the acks that follow it. */
  private readonly trackingTags = new WeakMap<Consumer, string>();

  constructor(
    name: string,
    vhost: string,
    options: QueueOptions,
    /** Stream filtering is part of the imitated release (3.13 and later: personality.ts). */
    private readonly filtering = false,
  ) {
    super(name, vhost, options);
    this.streamLog = new StreamLog(undefined, streamLimits(options.arguments));
    this.useLog(this.streamLog);
  }

  /** The log the vhost's persistence gives the stream (files on disk, or memory). */
  useLog(log: StreamLog): void {
    this.streamLog = log;
    const dir = log.directory;
    this.tracked = new TrackedOffsets(dir === undefined ? undefined : join(dir, 'offsets.json'), (err) =>
      this.log?.error({ queue: this.name, err: err.message }, 'could not write the tracked offsets of a stream'),
    );
    log.onRetention = () => this.pumpAll();
    log.onCommitted = () => this.pumpAll();
  }

  /** The first offset, the next offset, for management and tests. */
  get offsets(): { first: number; next: number } {
    return { first: this.streamLog.first, next: this.streamLog.next };
  }

  /** For management: the stream's size, its first offset and the last stored one, the bytes it holds in memory. */
  get details(): { bytes: number; segments: number; first: number; lastStored: number | undefined; residentBytes: number } {
    const log = this.streamLog;
    return { ...log.size, first: log.first, lastStored: log.committed > log.first ? log.committed - 1 : undefined, residentBytes: log.residentSize };
  }

  /** How many consumers read the stream (queue.declare-ok counts none of them: consumerCount). */
  get readerCount(): number {
    return this.cursors.size;
  }

  /** Where a consumer of the stream reads, for management. */
  readerOf(c: Consumer): StreamReader | undefined {
    const cursor = this.cursors.get(c);
    return cursor === undefined ? undefined : { consumer: c, offset: cursor.offset, args: cursor.args };
  }

  override get messageCount(): number {
    return this.streamLog.messageCount;
  }

  override get consumerCount(): number {
    return 0;
  }

  /**
   * A policy's max-length-bytes, max-age and stream-max-segment-size-bytes (with the x-arguments:
   * rabbit_stream_queue:update_stream_conf/2). As in osiris, the new limits are applied when the
   * next segment starts.
   */
  override applySettings(s: QueueSettings & { readonly maxAge?: string; readonly streamMaxSegmentSizeBytes?: number }): void {
    this.streamLog.limits = {
      maxBytes: s.maxLengthBytes,
      maxAgeMs: s.maxAge === undefined ? undefined : maxAgeMs(s.maxAge),
      segmentBytes: Math.max(1, s.streamMaxSegmentSizeBytes ?? DEFAULT_SEGMENT_BYTES),
    };
  }

  override publish(msg: Message, onStored?: StoredCallback): PublishOutcome {
    const log = this.streamLog;
    const offset = log.next;
    // Consumers get it once its chunk is stored (onCommitted): none sees a message a crash could take back.
    const stored = withStreamOffset(msg, offset);
    log.append(stored, log.durable ? onStored : undefined, this.filtering ? filterValueOf(stored) : undefined);
    return log.durable && onStored !== undefined ? 'pending' : 'done';
  }

  /**
   * A new consumer (its checks were made: stream-offset.ts) starts at the offset its spec names; with
   * stream filtering, its x-stream-filter arguments choose the chunks it reads.
   */
  addStreamConsumer(c: Consumer, how: StreamStart, args?: FieldTable): void {
    const filter = this.filtering && args !== undefined ? streamFilterOf(args) : undefined;
    // With offset tracking, a consumer whose tag has a stored offset resumes after it; else it starts where its spec says.
    const stored = how.track ? this.track(c) : undefined;
    const start: OffsetSpec = stored === undefined ? how.offset : { kind: 'offset', offset: stored + 1 };
    const cursor: Cursor = { consumer: c, offset: this.startOffset(start), chunk: undefined, messages: undefined, filter, args };
    this.cursors.set(c, cursor);
    this.pump(cursor);
  }

  private startOffset(spec: OffsetSpec): number {
    const log = this.streamLog;
    switch (spec.kind) {
      case 'first':
        return log.first;
      case 'last':
        return log.lastChunkFirst ?? log.next;
      case 'next':
        return log.next;
      case 'offset':
        // Beyond the end the consumer waits for that offset (recorded: 3.10.8 delivers nothing before it).
        return Math.max(spec.offset, log.first);
      case 'timestamp':
        return log.chunkAtTime(spec.ms)?.first ?? log.next;
    }
  }

  override addConsumer(c: Consumer): void {
    this.addStreamConsumer(c, { offset: { kind: 'next' }, track: false });
  }

  /** Marks the consumer as tracking; the offset stored for its tag, if any. */
  private track(c: Consumer): number | undefined {
    this.trackingTags.set(c, c.tag);
    return this.tracked.get(c.tag);
  }

  override removeConsumer(c: Consumer): boolean {
    // A tracking consumer going away (cancel, channel or connection closed) writes its offset now.
    if (this.trackingTags.has(c)) this.tracked.flush();
    return this.cursors.delete(c);
  }

  /** The last acknowledged offset kept for a consumer tag (x-stream-automatic-offset-tracking), for management and tests. */
  trackedOffset(tag: string): number | undefined {
    return this.tracked.get(tag);
  }

  override consumerHasCredit(c: Consumer): void {
    const cursor = this.cursors.get(c);
    if (cursor !== undefined) this.pump(cursor);
  }

  private pumpAll(): void {
    for (const cursor of this.cursors.values()) this.pump(cursor);
  }

  /** Delivers to one consumer from its offset while it has credit and the stream has more. */
  private pump(cursor: Cursor): void {
    if (this.pumping || this.deleted) return;
    this.pumping = true;
    try {
      const log = this.streamLog;
      const c = cursor.consumer;
      while (cursor.offset < log.committed && c.hasCredit()) {
        const msg = this.messageAt(cursor);
        if (msg === undefined) break;
        c.deliver(QueueEntry.of(msg, cursor.offset));
        cursor.offset++;
      }
    } finally {
      this.pumping = false;
    }
  }

  /** The message at the cursor's offset, moving to the chunk that holds it (reading it if need be). */
  private messageAt(cursor: Cursor): Message | undefined {
    const chunk = cursor.chunk;
    if (chunk !== undefined && cursor.messages !== undefined && cursor.offset >= chunk.first && cursor.offset < chunk.first + chunk.count) {
      return cursor.messages[cursor.offset - chunk.first];
    }
    const log = this.streamLog;
    for (;;) {
      const next = log.chunkFor(cursor.offset);
      if (next === undefined) return undefined;
      // Retention removed the consumer's position: it carries on from the first offset left.
      if (next.first > cursor.offset) cursor.offset = next.first;
      if (cursor.offset >= log.committed) return undefined;
      const f = cursor.filter;
      if (f !== undefined && !next.mayMatch(f.values, f.matchUnfiltered)) {
        cursor.offset = next.first + next.count;
        continue;
      }
      try {
        cursor.messages = log.messagesOf(next);
        cursor.chunk = next;
        return cursor.messages[cursor.offset - next.first];
      } catch (err) {
        this.log?.error({ queue: this.name, offset: next.first, count: next.count, err: (err as Error).message }, 'stream chunk unreadable: skipped');
        cursor.offset = next.first + next.count;
        cursor.chunk = undefined;
        cursor.messages = undefined;
      }
    }
  }

  // ------------------------------------------------------------------------------------------
  // What streams refuse, and what an acknowledgement means to them

  override get(): QueueEntry | undefined {
    throw notImplemented(`basic.get not supported by stream queues ${resourceName('queue', this.name, this.vhost)}`);
  }

  /**
   * An ack only gives the consumer credit back (its channel counts it): nothing leaves the stream.
   * A tracking consumer's ack stores its offset.
   */
  override ack(entry: QueueEntry, by?: Consumer): void {
    const tag = by === undefined ? undefined : this.trackingTags.get(by);
    if (tag !== undefined) this.tracked.acked(tag, entry.seq);
  }

  override reject(): void {
    throw this.settleRefused();
  }

  /** Returned by the client (nack, reject): refused. Released (channel or consumer gone): nothing to do. */
  override requeue(_entries: Iterable<QueueEntry>, how: 'returned' | 'released' = 'returned'): void {
    if (how === 'returned') throw this.settleRefused();
  }

  private settleRefused() {
    return notImplemented(`basic.nack and basic.reject not supported by stream queues ${resourceName('queue', this.name, this.vhost)}`);
  }

  override purge(): number {
    throw notImplemented(`queue.purge not supported by stream queues ${resourceName('queue', this.name, this.vhost)}`);
  }

  /** queue.delete-ok counts no messages for a stream (recorded on 3.10.8). */
  override delete(): number {
    const consumers = [...this.cursors.keys()];
    this.cursors.clear();
    this.tracked.discard();
    this.streamLog.destroy();
    super.delete();
    for (const c of consumers) c.cancelledByQueue();
    return 0;
  }

  override async recover(): Promise<number> {
    const n = this.streamLog.recover();
    const err = this.tracked.load();
    if (err !== undefined) this.log?.warn({ queue: this.name, err }, 'tracked offsets of a stream unreadable: its tracking consumers start afresh');
    return n;
  }
}

/** The message with the x-stream-offset header set to its offset, headers sorted by key. */
function withStreamOffset(msg: Message, offset: number): Message {
  const props = msg.decodedProperties;
  const headers = new Map(props.headers ?? []);
  headers.set('x-stream-offset', { type: 'l', value: offset });
  const sorted = new Map([...headers].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  // The body is copied out of the socket's read buffer: a stream keeps messages in memory a while,
  // and a view would keep the whole read buffer it points into alive with it.
  const pieces = msg.bodyPieces;
  const copy = new Message(msg.exchange, msg.routingKey, msg.properties, pieces === undefined ? Buffer.from(msg.body) : Buffer.concat(pieces));
  copy.setProperties(withHeaders(props, sorted));
  copy.publishedAt = msg.publishedAt;
  if (msg.extraKeys !== undefined) copy.extraKeys = msg.extraKeys;
  return copy;
}

/**
 * The properties with other headers, as an object literal of one fixed shape. A spread copy
 * ({ ...props, headers }) made encodeBasicProperties about 6x slower (measured: 10 us against 1.5 us
 * per message), which was most of a stream publish's CPU.
 */
function withHeaders(p: BasicProperties, headers: FieldTable): BasicProperties {
  return {
    contentType: p.contentType,
    contentEncoding: p.contentEncoding,
    headers,
    deliveryMode: p.deliveryMode,
    priority: p.priority,
    correlationId: p.correlationId,
    replyTo: p.replyTo,
    expiration: p.expiration,
    messageId: p.messageId,
    timestamp: p.timestamp,
    type: p.type,
    userId: p.userId,
    appId: p.appId,
    clusterId: p.clusterId,
  };
}

/** A stored message's x-stream-filter-value (a longstr header), or null when it has none. */
function filterValueOf(msg: Message): string | null {
  const v = msg.decodedProperties.headers?.get('x-stream-filter-value');
  if (v === undefined || v.type !== 'S') return null;
  return Buffer.isBuffer(v.value) ? v.value.toString('utf8') : v.value;
}

