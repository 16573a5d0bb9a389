/**
 * A queue: ready messages in order, the consumers attached to it, and the bookkeeping of messages
 * handed out but not yet acknowledged.
 *
 * Delivery is synchronous: a publish to a queue with a consumer that has credit is written to that
 * consumer's channel in the same turn; the channel's outbound buffer batches the socket writes.
 *
 * Consumer rules follow RabbitMQ's rabbit_amqqueue_process: an exclusive consumer holds the queue
 * alone; with x-single-active-consumer only the active consumer receives, and the next one (highest
 * priority, then earliest) takes over when it goes; an auto-delete queue goes when its last consumer
 * does, once it has had one.
 */
import type { Binding } from '../exchange/exchange.js';
import { integerValue, stringValue, type FieldTable } from '../protocol/field-table.js';
import type { Message } from '../message.js';
import { ConsumerSet, type Consumer } from '../delivery.js';
import { MemoryQueueStore, type QueueStore, type RecoveredQueue } from '../store/queue-store.js';
import type { StoredCallback } from '../store/persister.js';
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

/** What a queue reports back to its vhost. */
export interface QueueEvents {
  /** An auto-delete queue lost its last consumer. */
  autoDelete(q: Queue): void;
}

/** x-overflow: what a queue at its length limit does with one more message. */
export type Overflow = 'drop-head' | 'reject-publish' | 'reject-publish-dlx';

/**
 * How a queue took a message: enqueued (nothing to wait for), refused (length limit with
 * reject-publish: the publisher gets a nack), or pending (a persistent message in a durable queue:
 * the callback given to publish runs once it is stored).
 */
export type PublishOutcome = 'done' | 'refused' | 'pending';

export class Queue {
  readonly kind = 'queue';
  private readonly ready = new ReadyList();
  readonly consumers = new ConsumerSet();
  private nextSeq = 1;
  /** Entries delivered to consumers (or basic.get) that wait for an ack. */
  unackedCount = 0;
  deleted = false;
  private delivering = false;
  /** Bindings that route to this queue (for cleanup when it is deleted). */
  readonly incoming = new Set<Binding>();
  /** Routing marks a queue as reached with the current publish's number, to skip duplicates. */
  routeMark = 0;
  private hasHadConsumers = false;
  /** An exclusive consumer, which holds the queue alone (basic.consume exclusive=true). */
  private exclusiveConsumer: Consumer | undefined;
  readonly singleActiveConsumer: boolean;
  /** x-max-length and x-max-length-bytes (ready messages only, as RabbitMQ counts them). */
  private readonly maxLength: number | undefined;
  private readonly maxBytes: number | undefined;
  readonly overflow: Overflow;
  /** With single active consumer on: the consumer currently receiving. */
  private activeConsumer: Consumer | undefined;
  events: QueueEvents | undefined;
  /** Where messages go beyond memory (and, for a durable queue, to survive restarts). */
  store: QueueStore = new MemoryQueueStore();
  private loading = false;
  /** Messages below this seq were delivered at least once (kept across a clean restart). */
  private deliveredBelow = 1;
  log: { error(obj: object, msg: string): void } | undefined;

  constructor(
    readonly name: string,
    readonly vhost: string,
    readonly options: QueueOptions,
  ) {
    const args = options.arguments;
    const sac = args.get('x-single-active-consumer');
    this.singleActiveConsumer = sac !== undefined && sac.type === 't' && sac.value;
    this.maxLength = integerValue(args.get('x-max-length'));
    this.maxBytes = integerValue(args.get('x-max-length-bytes'));
    this.overflow = (stringValue(args.get('x-overflow')) as Overflow | undefined) ?? 'drop-head';
  }

  get messageCount(): number {
    return this.ready.length;
  }

  get messageBytes(): number {
    return this.ready.byteSize;
  }

  get consumerCount(): number {
    return this.consumers.size;
  }

  /**
   * Enqueues a routed message and delivers whatever can be delivered. A persistent message in a
   * durable queue is written to the store; `onStored` runs when it is on disk.
   */
  publish(msg: Message, onStored?: StoredCallback): PublishOutcome {
    const limited = this.maxLength !== undefined || this.maxBytes !== undefined;
    if (limited && this.overflow !== 'drop-head' && this.wouldOverflow(msg)) return 'refused';
    const e = QueueEntry.of(msg, this.nextSeq++);
    const store = this.store;
    const durable = store.durable && e.persistent;
    if (durable) store.write(e, msg.publishedAt, onStored);
    const inZone = this.ready.push(e);
    this.deliverReady();
    if (!inZone && e.ready && store.canPage) {
      // Behind the loaded zone: page the message out to bound memory. The store has copied the
      // record into its write buffer, so the body can go now (not only once the write is done:
      // holding it that long only feeds the garbage collector).
      if (!durable) store.write(e, msg.publishedAt, undefined);
      e.msg = null;
    }
    if (limited) this.dropHeadOverLimit();
    return durable ? 'pending' : 'done';
  }

  /** RabbitMQ's will_overflow: one more ready message would exceed a limit. */
  private wouldOverflow(msg: Message): boolean {
    return (
      (this.maxLength !== undefined && this.ready.length + 1 > this.maxLength) ||
      (this.maxBytes !== undefined && this.ready.byteSize + msg.bodySize > this.maxBytes)
    );
  }

  /** drop-head: the oldest ready messages go until the queue is within its limits. */
  private dropHeadOverLimit(): void {
    if (this.overflow !== 'drop-head') return;
    while (
      (this.maxLength !== undefined && this.ready.length > this.maxLength) ||
      (this.maxBytes !== undefined && this.ready.byteSize > this.maxBytes)
    ) {
      const dropped = this.ready.shift();
      if (dropped === undefined) break;
      this.store.remove(dropped);
      this.onDropped(dropped);
    }
  }

  /** A message left the queue without being delivered (length limit). */
  protected onDropped(_entry: QueueEntry): void {}

  /** basic.get: the next ready entry, or undefined when the queue is empty. */
  get(noAck: boolean): QueueEntry | undefined {
    const head = this.ready.peek();
    if (head === undefined) return undefined;
    // basic.get-ok cannot wait for an asynchronous read; a paged-out head is read at once.
    if (head.msg === null) this.store.loadSync(head);
    const e = this.ready.shift()!;
    if (noAck) this.store.remove(e);
    else this.unackedCount++;
    this.maybeRefill();
    // The caller answers get-ok (with the redelivered flag as it stands) and then calls markDelivered.
    return e;
  }

  /**
   * Why a new consumer cannot attach ("exclusive" when another holds the queue, or the request is
   * exclusive while others consume, or on a single-active-consumer queue), or undefined.
   */
  consumeRefusal(exclusive: boolean): 'in-use' | undefined {
    if (this.singleActiveConsumer) return exclusive ? 'in-use' : undefined;
    if (this.exclusiveConsumer !== undefined) return 'in-use';
    if (exclusive && this.consumers.size > 0) return 'in-use';
    return undefined;
  }

  addConsumer(c: Consumer): void {
    this.consumers.add(c);
    this.hasHadConsumers = true;
    if (c.exclusive) this.exclusiveConsumer = c;
    if (this.singleActiveConsumer && this.activeConsumer === undefined) this.activeConsumer = c;
    this.deliverReady();
  }

  /** Detaches a consumer (cancel, channel closed). May auto-delete the queue. */
  removeConsumer(c: Consumer): boolean {
    if (!this.consumers.remove(c)) return false;
    if (this.exclusiveConsumer === c) this.exclusiveConsumer = undefined;
    if (this.activeConsumer === c) {
      this.activeConsumer = this.nextActiveConsumer();
      this.deliverReady();
    }
    if (this.options.autoDelete && this.hasHadConsumers && this.consumers.size === 0 && !this.deleted) {
      this.events?.autoDelete(this);
    }
    return true;
  }

  private nextActiveConsumer(): Consumer | undefined {
    let best: Consumer | undefined;
    for (const c of this.consumers.consumers) if (best === undefined || c.priority > best.priority) best = c;
    return best;
  }

  /** A consumer regained credit: give it work. */
  consumerHasCredit(c: Consumer): void {
    if (!this.consumers.has(c)) return;
    this.consumers.activate(c);
    this.deliverReady();
  }

  /** Acknowledgement of a delivered entry: it is gone for good. */
  ack(entry: QueueEntry): void {
    this.unackedCount--;
    this.store.remove(entry);
  }

  /** Entries handed back (nack/reject with requeue, recover, channel closed): back in place. */
  requeue(entries: Iterable<QueueEntry>): void {
    for (const e of entries) {
      this.unackedCount--;
      if (!this.deleted) this.ready.requeue(e);
    }
    this.deliverReady();
    // Requeued messages count towards the limit again (RabbitMQ's requeue_and_run drops the head too).
    if (this.maxLength !== undefined || this.maxBytes !== undefined) this.dropHeadOverLimit();
  }

  purge(): number {
    const entries = this.ready.drain();
    for (const e of entries) this.store.remove(e);
    return entries.length;
  }

  /** Deletes the queue: consumers are told, ready messages dropped. Returns the ready count. */
  delete(): number {
    this.deleted = true;
    const n = this.ready.length;
    this.ready.drain();
    this.store.destroy().catch((err: Error) => this.log?.error({ err: err.message, queue: this.name }, 'could not remove the files of a deleted queue'));
    for (const c of [...this.consumers.consumers]) {
      this.consumers.remove(c);
      c.cancelledByQueue(this);
    }
    this.exclusiveConsumer = undefined;
    this.activeConsumer = undefined;
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
      const single = this.singleActiveConsumer;
      while (ready.length > 0) {
        if (ready.peek()!.msg === null) {
          // The head is paged out: read it (and what follows) back, deliver when it is in.
          this.refill();
          break;
        }
        let c: Consumer | undefined;
        if (single) {
          c = this.activeConsumer;
          if (c === undefined || !c.hasCredit()) break;
        } else {
          c = consumers.next();
          if (c === undefined) break;
        }
        const e = ready.shift()!;
        if (!c.noAck) this.unackedCount++;
        c.deliver(this, e);
        this.markDelivered(e);
        if (c.noAck) this.store.remove(e);
      }
    } finally {
      this.delivering = false;
    }
    this.maybeRefill();
  }

  /**
   * Entries at the head that could not be read back (their record never reached the disk: the
   * write failed, and the publisher was nacked if it asked for confirms) are dropped, with a log
   * line, rather than stalling the queue.
   */
  private dropUnreadable(): void {
    for (let e = this.ready.peek(); e !== undefined && e.msg === null; e = this.ready.peek()) {
      if (!this.store.readable(e)) {
        this.ready.shift();
        this.store.remove(e);
        this.log?.error({ queue: this.name, seq: e.seq }, 'message lost: its record could not be written to disk');
      } else break;
    }
  }

  markDelivered(e: QueueEntry): void {
    e.deliveries++;
    if (e.seq >= this.deliveredBelow) this.deliveredBelow = e.seq + 1;
  }

  /** Keeps the loaded zone topped up ahead of delivery. */
  private maybeRefill(): void {
    if (!this.loading && this.store.canPage && this.ready.wantsRefill) this.refill();
  }

  /** Grows the loaded zone and reads back the paged-out messages that entered it. */
  private refill(): void {
    if (this.loading) return;
    const toRead = this.ready.extendZone().filter((e) => e.msg === null);
    if (toRead.length === 0) {
      // Everything in the zone is in memory; the head (if paged) will be read with the next extension.
      const head = this.ready.peek();
      if (head === undefined || head.msg !== null) return;
      toRead.push(head);
    }
    this.loading = true;
    this.store.load(toRead, (err) => {
      this.loading = false;
      if (err !== undefined) {
        this.log?.error({ err: err.message, queue: this.name }, 'could not read messages back from disk');
        this.dropUnreadable();
      }
      if (!this.deleted) this.deliverReady();
    });
  }

  /** Puts recovered messages back after a restart. */
  restore(r: RecoveredQueue): void {
    this.nextSeq = r.nextSeq;
    this.deliveredBelow = r.deliveredBelow;
    for (const e of r.entries) {
      e.deliveries = e.seq < r.deliveredBelow ? 1 : 0;
      const m = r.loaded.get(e.seq);
      if (m !== undefined) e.msg = m;
      this.ready.push(e);
    }
  }

  /** Clean shutdown: what the store needs for an exact recovery. */
  terms(): { deliveredBelow: number; nextSeq: number } {
    // Unacknowledged messages are back in the ready list (their channels closed); the watermark
    // keeps their redelivered flag.
    return { deliveredBelow: this.deliveredBelow, nextSeq: this.nextSeq };
  }
}
