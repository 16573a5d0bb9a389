import type { Message } from '../message.js';

/**
 * Where a message's record lies in its queue's store. Opaque to the queue; the store that wrote it
 * reads it back.
 */
export interface StoredLocation {
  readonly segment: unknown;
  readonly offset: number;
  readonly size: number;
}

/**
 * One message's place in one queue (a message routed to several queues has an entry in each).
 * Entries are what a queue holds for every message, so they are kept small: when a long queue pages
 * its tail out to disk, `msg` is null and only the location remains.
 */
export class QueueEntry {
  /** Times this entry has been handed to a consumer or basic.get before; > 0 means a redelivery. */
  deliveries = 0;
  /** The record in the queue's store, once one was written (persistent, or paged out). */
  location: StoredLocation | undefined = undefined;
  /** In the queue's ready list (false once delivered, dropped or purged). */
  ready = false;
  /** The record's write has completed. */
  stored = false;

  constructor(
    /** The message, or null while it is paged out (read back before delivery). */
    public msg: Message | null,
    /** Position in the queue: increasing in publish order, used to requeue in place. */
    readonly seq: number,
    readonly bodySize: number,
    readonly persistent: boolean,
  ) {}

  static of(msg: Message, seq: number): QueueEntry {
    return new QueueEntry(msg, seq, msg.bodySize, msg.persistent);
  }

  /** An entry recovered from disk: its message is read back when needed. */
  static recovered(seq: number, bodySize: number, location: StoredLocation, deliveries: number): QueueEntry {
    const e = new QueueEntry(null, seq, bodySize, true);
    e.location = location;
    e.stored = true;
    e.deliveries = deliveries;
    return e;
  }

  get redelivered(): boolean {
    return this.deliveries > 0;
  }
}
