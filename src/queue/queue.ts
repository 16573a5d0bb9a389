/**
 * A queue: ready messages in order, the consumers attached to it, and the bookkeeping of messages
 * handed out but not yet acknowledged.
 *
 * Delivery is synchronous: a publish to a queue with a consumer that has credit is written to that
 * consumer's channel in the same turn; the channel's outbound buffer batches the socket writes.
 */
import type { FieldTable } from '../protocol/field-table.js';
import type { Message } from '../message.js';
import { ConsumerSet, type Consumer } from '../delivery.js';
import { QueueEntry } from './queue-entry.js';
import { ReadyList } from './ready-list.js';

export interface QueueOptions {
  readonly durable: boolean;
  readonly exclusive: boolean;
  readonly autoDelete: boolean;
  readonly arguments: FieldTable;
  /** For exclusive queues: the id of the owning connection. */
  readonly owner: number | undefined;
}

export class Queue {
  private readonly ready = new ReadyList();
  readonly consumers = new ConsumerSet();
  private nextSeq = 1;
  /** Entries delivered to consumers (or basic.get) that wait for an ack. */
  unackedCount = 0;
  deleted = false;
  private delivering = false;

  constructor(
    readonly name: string,
    readonly vhost: string,
    readonly options: QueueOptions,
  ) {}

  get messageCount(): number {
    return this.ready.length;
  }

  get consumerCount(): number {
    return this.consumers.size;
  }

  /** Enqueues a routed message and delivers whatever can be delivered. */
  publish(msg: Message): void {
    this.ready.push(new QueueEntry(msg, this.nextSeq++));
    this.deliverReady();
  }

  /** basic.get: the next ready entry, or undefined when the queue is empty. */
  get(noAck: boolean): QueueEntry | undefined {
    const e = this.ready.shift();
    if (e === undefined) return undefined;
    if (!noAck) this.unackedCount++;
    return e;
  }

  addConsumer(c: Consumer): void {
    this.consumers.add(c);
    this.deliverReady();
  }

  removeConsumer(c: Consumer): boolean {
    return this.consumers.remove(c);
  }

  /** A consumer regained credit: give it work. */
  consumerHasCredit(c: Consumer): void {
    if (!this.consumers.has(c)) return;
    this.consumers.activate(c);
    this.deliverReady();
  }

  /** Acknowledgement of a delivered entry: it is gone for good. */
  ack(_entry: QueueEntry): void {
    this.unackedCount--;
  }

  /** Entries handed back (nack/reject with requeue, recover, channel closed): back in place. */
  requeue(entries: Iterable<QueueEntry>): void {
    for (const e of entries) {
      this.unackedCount--;
      if (!this.deleted) this.ready.requeue(e);
    }
    this.deliverReady();
  }

  purge(): number {
    const n = this.ready.length;
    this.ready.drain();
    return n;
  }

  /** Deletes the queue: consumers are told, ready messages dropped. Returns the ready count. */
  delete(): number {
    this.deleted = true;
    const n = this.ready.length;
    this.ready.drain();
    for (const c of [...this.consumers.consumers]) {
      this.consumers.remove(c);
      c.cancelledByQueue(this);
    }
    return n;
  }

  /** Hands ready entries to consumers with credit until one side runs out. */
  deliverReady(): void {
    // A delivery can cause a requeue on this queue (a consumer's channel failing mid-write), which
    // calls back here: the running loop will pick those up.
    if (this.delivering) return;
    this.delivering = true;
    try {
      const ready = this.ready;
      const consumers = this.consumers;
      while (ready.length > 0) {
        const c = consumers.next();
        if (c === undefined) break;
        const e = ready.shift()!;
        if (!c.noAck) this.unackedCount++;
        c.deliver(this, e);
        e.deliveries++;
      }
    } finally {
      this.delivering = false;
    }
  }
}
