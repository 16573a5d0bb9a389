import type { Message } from './message.js';

const PERSISTENT = 1;
const STORED = 2;
const READY = 4;
/** Bits 3 to 10: the priority the queue files the message under (priority queues). */
const PRIORITY_SHIFT = 3;
const PRIORITY_MASK = 0xff << PRIORITY_SHIFT;
/** Deliveries count from this bit up. */
const DELIVERY_SHIFT = 11;

/**
 * One message's place in one queue (a message routed to several queues has an entry in each).
 *
 * Entries are what a queue holds for every message, so they are kept small: when a long queue pages
 * its tail out to disk, `msg` is null and only the record's location remains, and the small flags
 * share one integer field. A million queued messages cost about fifty megabytes of entries.
 */
export class QueueEntry {
  /**
   * The record in the queue's store, once one was written (persistent, or paged out): the store's
   * segment (opaque to the queue), the record's offset and size.
   */
  segment: object | null = null;
  offset = 0;
  recordSize = 0;
  /** When the message expires (ms since the epoch), or 0 for never (x-message-ttl, expiration). */
  expiresAt = 0;
  /** persistent | stored | ready | priority << 3 | deliveries << 11 */
  private bits: number;

  constructor(
    /** The message, or null while it is paged out (read back before delivery). */
    public msg: Message | null,
    /** Position in the queue: increasing in publish order, used to requeue in place. */
    readonly seq: number,
    readonly bodySize: number,
    persistent: boolean,
  ) {
    this.bits = persistent ? PERSISTENT : 0;
  }

  static of(msg: Message, seq: number): QueueEntry {
    return new QueueEntry(msg, seq, msg.bodySize, msg.persistent);
  }

  /** An entry recovered from disk: its message is read back when needed. */
  static recovered(seq: number, bodySize: number, segment: object, offset: number, recordSize: number, deliveries: number): QueueEntry {
    const e = new QueueEntry(null, seq, bodySize, true);
    e.expiresAt = 0;
    e.segment = segment;
    e.offset = offset;
    e.recordSize = recordSize;
    e.stored = true;
    e.deliveries = deliveries;
    return e;
  }

  get persistent(): boolean {
    return (this.bits & PERSISTENT) !== 0;
  }

  /** The record's write has completed. */
  get stored(): boolean {
    return (this.bits & STORED) !== 0;
  }
  set stored(v: boolean) {
    this.bits = v ? this.bits | STORED : this.bits & ~STORED;
  }

  /** In the queue's ready list (false once delivered, dropped or purged). */
  get ready(): boolean {
    return (this.bits & READY) !== 0;
  }
  set ready(v: boolean) {
    this.bits = v ? this.bits | READY : this.bits & ~READY;
  }

  /** Times this entry has been handed to a consumer or basic.get before; > 0 means a redelivery. */
  get deliveries(): number {
    return this.bits >>> DELIVERY_SHIFT;
  }
  set deliveries(n: number) {
    this.bits = (this.bits & ((1 << DELIVERY_SHIFT) - 1)) | (Math.min(n, 0xfffff) << DELIVERY_SHIFT);
  }

  get priority(): number {
    return (this.bits & PRIORITY_MASK) >>> PRIORITY_SHIFT;
  }
  set priority(p: number) {
    this.bits = (this.bits & ~PRIORITY_MASK) | ((p & 0xff) << PRIORITY_SHIFT);
  }

  get redelivered(): boolean {
    return this.bits >>> DELIVERY_SHIFT > 0;
  }
}
