/**
 * The messages of a queue that are ready for delivery, in delivery order.
 *
 * Messages arrive with increasing sequence numbers and are delivered from the head. A requeued
 * message (nack/reject with requeue, recover, a channel closed with unacknowledged deliveries) goes
 * back to its original position, as RabbitMQ does. Every message still waiting was published after
 * every message already delivered, so requeued messages always sort before all never-delivered ones:
 * they are kept in a small sorted list in front of the main FIFO.
 */
import { Deque } from '../util/deque.js';
import type { QueueEntry } from './queue-entry.js';

export class ReadyList {
  private readonly fresh = new Deque<QueueEntry>(16);
  /** Requeued entries, ascending by sequence number; all precede `fresh`. */
  private readonly requeued = new Deque<QueueEntry>(16);
  private bytes = 0;

  get length(): number {
    return this.fresh.length + this.requeued.length;
  }

  /** Sum of body sizes of the ready messages. */
  get byteSize(): number {
    return this.bytes;
  }

  push(e: QueueEntry): void {
    this.fresh.push(e);
    this.bytes += e.msg.bodySize;
  }

  /** Puts a previously delivered entry back at its original position. */
  requeue(e: QueueEntry): void {
    this.bytes += e.msg.bodySize;
    const r = this.requeued;
    const last = r.peekLast();
    if (last === undefined || last.seq < e.seq) {
      r.push(e);
      return;
    }
    let lo = 0;
    let hi = r.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (r.at(mid)!.seq < e.seq) lo = mid + 1;
      else hi = mid;
    }
    r.insert(lo, e);
  }

  peek(): QueueEntry | undefined {
    return this.requeued.length > 0 ? this.requeued.peek() : this.fresh.peek();
  }

  shift(): QueueEntry | undefined {
    const e = this.requeued.length > 0 ? this.requeued.shift() : this.fresh.shift();
    if (e !== undefined) this.bytes -= e.msg.bodySize;
    return e;
  }

  /** Removes every entry, returning them in order. */
  drain(): QueueEntry[] {
    const out = [...this.requeued, ...this.fresh];
    this.requeued.clear();
    this.fresh.clear();
    this.bytes = 0;
    return out;
  }

  *[Symbol.iterator](): IterableIterator<QueueEntry> {
    yield* this.requeued;
    yield* this.fresh;
  }
}
