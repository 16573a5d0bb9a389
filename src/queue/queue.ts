/**
 * A queue: ready messages in order, the consumers attached to it, and the bookkeeping of messages
 * handed out but not yet acknowledged, with RabbitMQ's queue extensions.
 *
 * Delivery is synchronous: a publish to a queue with a consumer that has credit is written to that
 * consumer's channel in the same turn; the channel's outbound buffer batches the socket writes.
 *
 * Rules follow RabbitMQ's rabbit_amqqueue_process (classic queues) and rabbit_fifo (quorum queues):
 *  - consumers: an exclusive consumer holds the queue alone; with x-single-active-consumer only the
 *    active consumer receives, and the next one (highest priority, then earliest) takes over when it
 *    goes; an auto-delete queue goes when its last consumer does, once it has had one.
 *  - TTL: a message expires at publish time + min(x-message-ttl, its expiration); expired messages
 *    are removed when they reach the head (never delivered, not even by basic.get); a message that
 *    expires on arrival (TTL 0) is still delivered if a consumer can take it at once.
 *  - length limits (x-max-length, x-max-length-bytes) count ready messages; x-overflow drop-head
 *    drops (and dead-letters) the oldest, reject-publish refuses the new one (the publisher gets a
 *    nack), reject-publish-dlx refuses and dead-letters it.
 *  - priorities (x-max-priority): higher first, FIFO within a priority.
 *  - queue expiry (x-expires): deleted after the interval without consumers, basic.get or redeclare.
 *  - quorum queues: x-delivery-limit dead-letters (reason delivery_limit) a message returned more
 *    times than the limit; redeliveries carry x-delivery-count.
 *  - dead-lettering (x-dead-letter-exchange) happens on rejection without requeue, expiry, drop by a
 *    length limit and delivery limit; the vhost republishes (see dead-letter.ts).
 */
import { integerValue, stringValue, type FieldTable } from '../protocol/field-table.js';
import { Message, scanProperties } from '../message/message.js';
import { ConsumerSet, type Consumer } from './consumers.js';
import { MemoryQueueStore, type QueueStore, type QueueTerms, type RecoveredQueue } from '../store/queue-store.js';
import type { StoredCallback } from '../store/persister.js';
import type { DeathReason } from './dead-letter.js';
import type { MessageTarget, PublishOutcome } from './target.js';
import type { PacedPublisher } from '../publisher-throttle.js';
import { queueTypeOf, type QueueType } from './arguments.js';
import { QueueEntry } from '../message/queue-entry.js';
import { PACE_BACKLOG, QueuePacing } from './pacing.js';
import { QueueCounters } from './queue-counters.js';
import { PriorityReadyList } from './priority-ready-list.js';
import { ReadyList, type Ready } from './ready-list.js';
import { HeadTtlTimer, IdleExpiry } from './expiry-timers.js';
import { Paging } from './paging.js';
import type { SettlementWatch } from './settlement-watch.js';

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
  /** An auto-delete queue lost its last consumer, or an x-expires queue went unused too long. */
  expire(q: Queue, why: string): void;
  /** A message leaves the queue for its dead-letter exchange. */
  deadLetter(q: Queue, msg: Message, reason: DeathReason): void;
}

/** x-overflow: what a queue at its length limit does with one more message. */
export type Overflow = 'drop-head' | 'reject-publish' | 'reject-publish-dlx';

/**
 * The settings a policy can change: the queue's x-arguments combined with the policy and operator
 * policy that match it (the vhost works them out, src/policy/policy.ts). Absent means none.
 */
export interface QueueSettings {
  readonly messageTtl?: number;
  readonly expires?: number;
  readonly maxLength?: number;
  readonly maxLengthBytes?: number;
  readonly overflow?: Overflow;
  readonly deadLetterExchange?: string;
  readonly deadLetterRoutingKey?: string;
  /** Quorum queues only. */
  readonly deliveryLimit?: number;
}

const EMPTY = Buffer.alloc(0);

export class Queue implements MessageTarget {
  readonly kind = 'queue';
  /** Publisher pacing (see pacing.ts). */
  private readonly pacing = new QueuePacing(this, () => this.deleted);
  private readonly ready: Ready;
  readonly consumers = new ConsumerSet();
  private nextSeq = 1;
  /** Entries delivered to consumers (or basic.get) that wait for an ack. */
  unackedCount = 0;
  /** Message totals for the management statistics (plain counters, see queue-counters.ts). */
  readonly counters = new QueueCounters();
  deleted = false;
  private delivering = false;
  /** Routing marks a queue as reached with the current publish's number, to skip duplicates. */
  routeMark = 0;
  private hasHadConsumers = false;
  /** An exclusive consumer, which holds the queue alone (basic.consume exclusive=true). */
  private exclusiveConsumer: Consumer | undefined;
  readonly singleActiveConsumer: boolean;
  /** With single active consumer on: the consumer currently receiving. */
  private activeConsumer: Consumer | undefined;
  readonly type: QueueType;
  // The settings below come from the x-arguments, and from policies once the vhost applies them
  // (applySettings): plain fields, so the per-message paths read them as cheaply as constants.
  /** x-max-length and x-max-length-bytes (ready messages only, as RabbitMQ counts them). */
  private maxLength: number | undefined;
  private maxBytes: number | undefined;
  overflow: Overflow;
  /** x-message-ttl, ms. */
  private messageTtl: number | undefined;
  /** x-expires, ms. */
  private expires: number | undefined;
  deadLetterExchange: string | undefined;
  deadLetterRoutingKey: string | undefined;
  readonly maxPriority: number | undefined;
  /** Quorum queues: x-delivery-limit (undefined: unlimited). */
  deliveryLimit: number | undefined;
  private readonly defaultDeliveryLimit: number | undefined;
  events: QueueEvents | undefined;
  /** A test waiting for message outcomes in this vhost (test hooks); undefined otherwise, one check per settlement. */
  settlementWatch: SettlementWatch | undefined = undefined;
  /** Where messages go beyond memory (and, for a durable queue, to survive restarts). */
  store: QueueStore = new MemoryQueueStore();
  /** Reading paged-out messages back (see paging.ts). */
  private readonly paging: Paging;
  /** Messages below this seq were delivered at least once (kept across a clean restart). */
  private deliveredBelow = 1;
  /**
   * Priority queues deliver in order within each priority only, so each keeps its own watermark
   * (RabbitMQ's rabbit_priority_queue has a backing queue, with its own terms, per priority).
   */
  private readonly deliveredBelowByPriority: number[] | undefined;
  private readonly ttlTimer = new HeadTtlTimer(() => {
    if (this.deleted) return;
    this.expireHead();
    this.deliverReady();
  });
  private readonly idleExpiry = new IdleExpiry(this, () => this.events?.expire(this, `unused for ${this.expires} ms (x-expires)`));
  log: { error(obj: object, msg: string): void; warn(obj: object, msg: string): void } | undefined;

  constructor(
    readonly name: string,
    readonly vhost: string,
    readonly options: QueueOptions,
    settings: { defaultDeliveryLimit?: number | undefined } = {},
  ) {
    const args = options.arguments;
    const sac = args.get('x-single-active-consumer');
    this.singleActiveConsumer = sac !== undefined && sac.type === 't' && sac.value;
    this.type = queueTypeOf(args);
    this.maxLength = integerValue(args.get('x-max-length'));
    this.maxBytes = integerValue(args.get('x-max-length-bytes'));
    this.overflow = (stringValue(args.get('x-overflow')) as Overflow | undefined) ?? 'drop-head';
    this.messageTtl = integerValue(args.get('x-message-ttl'));
    this.expires = integerValue(args.get('x-expires'));
    this.deadLetterExchange = stringValue(args.get('x-dead-letter-exchange'));
    this.deadLetterRoutingKey = stringValue(args.get('x-dead-letter-routing-key'));
    const maxPriority = this.type === 'classic' ? integerValue(args.get('x-max-priority')) : undefined;
    this.maxPriority = maxPriority !== undefined && maxPriority > 0 ? maxPriority : undefined;
    this.defaultDeliveryLimit = settings.defaultDeliveryLimit;
    this.deliveryLimit = this.type === 'quorum' ? (integerValue(args.get('x-delivery-limit')) ?? settings.defaultDeliveryLimit) : undefined;
    this.ready = this.maxPriority !== undefined ? new PriorityReadyList(this.maxPriority) : new ReadyList();
    this.paging = new Paging(this, this.ready, () => {
      this.expireHead();
      this.deliverReady();
    });
    this.deliveredBelowByPriority = this.maxPriority !== undefined ? new Array<number>(this.maxPriority + 1).fill(1) : undefined;
  }

  /**
   * New settings from a policy change (rabbit_amqqueue_process:process_args_policy): they apply from
   * now on, as in RabbitMQ. A message keeps the expiry it got when it arrived; a lower length limit
   * drops (and dead-letters) the oldest at once; a new x-expires restarts the idle timer.
   */
  applySettings(s: QueueSettings): void {
    this.messageTtl = s.messageTtl;
    this.maxLength = s.maxLength;
    this.maxBytes = s.maxLengthBytes;
    this.overflow = s.overflow ?? 'drop-head';
    this.deadLetterExchange = s.deadLetterExchange;
    this.deadLetterRoutingKey = s.deadLetterRoutingKey;
    if (this.type === 'quorum') this.deliveryLimit = s.deliveryLimit ?? this.defaultDeliveryLimit;
    if (this.expires !== s.expires) {
      this.expires = s.expires;
      this.idleExpiry.cancel();
      this.touch();
    }
    if (!this.deleted && (this.maxLength !== undefined || this.maxBytes !== undefined)) this.dropHeadOverLimit();
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

  /** Arms x-expires (called at declaration and whenever the queue becomes unused). */
  touch(): void {
    if (this.expires === undefined || this.deleted) return;
    this.idleExpiry.restart(this.expires);
  }

  // ------------------------------------------------------------------------------------------
  // Publishing

  /**
   * Enqueues a routed message and delivers whatever can be delivered. A persistent message in a
   * durable queue is written to the store; `onStored` runs when it is on disk.
   */
  publish(msg: Message, onStored?: StoredCallback): PublishOutcome {
    const limited = this.maxLength !== undefined || this.maxBytes !== undefined;
    if (limited && this.overflow !== 'drop-head' && this.wouldOverflow(msg)) {
      if (this.overflow === 'reject-publish-dlx') this.deadLetter(msg, 'maxlen');
      return 'refused';
    }
    this.counters.publish++;
    const e = QueueEntry.of(msg, this.nextSeq++);
    const ttl = this.ttlOf(msg);
    if (ttl >= 0) e.expiresAt = msg.publishedAt + ttl;
    if (this.maxPriority !== undefined) e.priority = Math.min(Math.max(msg.priority, 0), this.maxPriority);
    const store = this.store;
    const durable = store.durable && e.persistent;
    if (durable) store.write(e, msg.publishedAt, onStored);
    const inZone = this.ready.push(e);
    // A message that expires on arrival may still go to a consumer that can take it at once.
    this.deliverReady(e);
    if (e.ready) {
      if (e.expiresAt !== 0) this.expireHead();
      if (e.ready && !inZone && store.canPage) {
        // Behind the loaded zone: page the message out to bound memory. A persistent message in a
        // durable queue is being written anyway, and if that write fails its publisher hears so
        // (nack), so its body can go now. A page of a message already accepted is only a copy: the
        // body stays until the page is on disk, so a failed write loses nothing.
        if (durable) e.msg = null;
        else store.write(e, msg.publishedAt, (err) => this.paging.written(e, err));
      }
    }
    if (limited) this.dropHeadOverLimit();
    if (this.ready.length > PACE_BACKLOG && this.consumers.size > 0) this.pacing.taken(this.ready.length);
    return durable ? 'pending' : 'done';
  }

  /** Publishers into this queue should wait now (publisher pacing, set by `pacing`). */
  overPace = false;

  paceWaiter(w: PacedPublisher): void {
    this.pacing.wait(w);
  }

  /** min(x-message-ttl, expiration) in ms, or -1 when neither applies. */
  private ttlOf(msg: Message): number {
    const own = msg.ttl;
    const q = this.messageTtl;
    if (q === undefined) return own;
    return own < 0 ? q : Math.min(q, own);
  }

  /** RabbitMQ's will_overflow: one more ready message would exceed a limit. */
  private wouldOverflow(msg: Message): boolean {
    return (
      (this.maxLength !== undefined && this.ready.length + 1 > this.maxLength) ||
      (this.maxBytes !== undefined && this.ready.byteSize + msg.bodySize > this.maxBytes)
    );
  }

  /** drop-head: the oldest ready messages go (dead-lettered with reason maxlen) until within limits. */
  private dropHeadOverLimit(): void {
    if (this.overflow !== 'drop-head') return;
    let any = false;
    while (
      (this.maxLength !== undefined && this.ready.length > this.maxLength) ||
      (this.maxBytes !== undefined && this.ready.byteSize > this.maxBytes)
    ) {
      const dropped = this.ready.peek();
      if (dropped === undefined) break;
      if (dropped.msg === null && this.deadLetterExchange !== undefined) this.store.loadSync(dropped);
      this.ready.shift();
      this.discard(dropped, 'maxlen');
      any = true;
    }
    // As RabbitMQ runs drop_expired_msgs after a drop: an expired message now at the head goes too.
    if (any) this.expireHead();
  }

  /** A ready or unacknowledged entry leaves for good without being consumed: dead-letter it if set up. */
  private discard(e: QueueEntry, reason: DeathReason): void {
    if (e.msg !== null) {
      if (this.settlementWatch !== undefined) this.settlementWatch.discarded(this, e.msg, reason, this.deadLetterExchange !== undefined);
      this.deadLetter(e.msg, reason);
    }
    this.store.remove(e);
  }

  private deadLetter(msg: Message, reason: DeathReason): void {
    if (this.deadLetterExchange === undefined || this.events === undefined) return;
    this.events.deadLetter(this, msg, reason);
  }

  // ------------------------------------------------------------------------------------------
  // Expiry

  /** Removes expired messages from the head (dead-lettering them), then arms a timer for the next. */
  private expireHead(): void {
    const now = Date.now();
    for (;;) {
      const head = this.ready.peek();
      if (head === undefined || head.expiresAt === 0 || head.expiresAt > now) break;
      if (head.msg === null && this.deadLetterExchange !== undefined) {
        // Its body is needed for the dead-letter copy: read it back first.
        this.paging.refill();
        return;
      }
      this.ready.shift();
      this.discard(head, 'expired');
    }
    this.armTtlTimer();
  }

  private armTtlTimer(): void {
    const head = this.ready.peek();
    if (head !== undefined && head.expiresAt !== 0) this.ttlTimer.arm(head.expiresAt);
  }

  // ------------------------------------------------------------------------------------------
  // Consumers and deliveries

  /** basic.get: the next ready entry, or undefined when the queue is empty. */
  get(noAck: boolean): QueueEntry | undefined {
    this.touch();
    this.expireHead();
    // basic.get-ok cannot wait for an asynchronous read; a paged-out head is read at once. Heads
    // whose record never reached the disk are dropped first (their publishers were nacked).
    for (;;) {
      const head = this.ready.peek();
      if (head === undefined) {
        this.counters.getEmpty++;
        return undefined;
      }
      if (head.msg !== null) break;
      if (!this.store.readable(head)) {
        this.paging.dropUnreadable();
        continue;
      }
      try {
        this.store.loadSync(head);
      } catch (err) {
        this.log?.error({ queue: this.name, seq: head.seq, err: (err as Error).message }, 'message lost: it could not be read back from disk');
        this.ready.shift();
        this.store.remove(head);
      }
    }
    const e = this.ready.shift()!;
    const counters = this.counters;
    if (noAck) {
      counters.getNoAck++;
      if (this.settlementWatch !== undefined && e.msg !== null) this.settlementWatch.settled(this, e.msg, 'acked');
      this.store.remove(e);
    } else {
      counters.get++;
      this.unackedCount++;
    }
    if (e.redelivered) counters.redeliver++;
    // RabbitMQ's fetch/2 runs drop_expired_msgs after taking the head: expired messages behind it go
    // now (the message count shows it), and the new head's expiry is timed.
    this.expireHead();
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
    this.idleExpiry.cancel();
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
    if (this.consumers.size === 0 && !this.deleted) {
      if (this.options.autoDelete && this.hasHadConsumers) this.events?.expire(this, 'its last consumer was cancelled (auto-delete)');
      else this.touch();
    }
    return true;
  }

  private nextActiveConsumer(): Consumer | undefined {
    let best: Consumer | undefined;
    for (const c of this.consumers.consumers) if (best === undefined || c.priority > best.priority) best = c;
    return best;
  }

  /** A consumer regained credit: give it work. */
  /** A consumer settled deliveries of this queue: its consumers are taking messages (pacing). */
  consumersSettled(): void {
    this.pacing.settled();
  }

  consumerHasCredit(c: Consumer): void {
    if (!this.consumers.has(c)) return;
    this.consumers.activate(c);
    this.deliverReady();
  }

  /**
   * Hands ready entries to consumers with credit until one side runs out. Expired entries at the
   * head are removed first, except `fresh`, the message being published right now (TTL 0).
   */
  deliverReady(fresh?: QueueEntry): void {
    // A delivery can cause a requeue on this queue (a consumer's channel failing mid-write), which
    // calls back here: the running loop will pick those up.
    if (this.delivering) return;
    this.delivering = true;
    try {
      const ready = this.ready;
      const consumers = this.consumers;
      const single = this.singleActiveConsumer;
      const pacing = this.pacing;
      let now = 0;
      while (ready.length > 0) {
        const head = ready.peek()!;
        if (head.expiresAt !== 0 && head !== fresh) {
          if (now === 0) now = Date.now();
          if (head.expiresAt <= now) {
            // A dead-letter copy routed back here lands in the ready list; this loop delivers it.
            this.expireHead();
            continue;
          }
        }
        if (head.msg === null) {
          // The head is paged out: read it (and what follows) back, deliver when it is in.
          this.paging.refill();
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
        const counters = this.counters;
        if (c.noAck) counters.deliverNoAck++;
        else {
          counters.deliver++;
          this.unackedCount++;
        }
        if (e.redelivered) counters.redeliver++;
        if (pacing.ahead !== 0 || ready.length > PACE_BACKLOG) pacing.delivered(ready.length);
        c.deliver(e);
        this.markDelivered(e);
        if (c.noAck) {
          if (this.settlementWatch !== undefined && e.msg !== null) this.settlementWatch.settled(this, e.msg, 'acked');
          this.store.remove(e);
        }
      }
    } finally {
      this.delivering = false;
    }
    this.pacing.deliveriesDone(this.ready.length);
    // The head left waiting (consumers out of credit) expires on time, as after RabbitMQ's fetch/2.
    this.armTtlTimer();
    this.maybeRefill();
  }

  markDelivered(e: QueueEntry): void {
    e.deliveries++;
    if (e.seq >= this.deliveredBelow) this.deliveredBelow = e.seq + 1;
    const byPriority = this.deliveredBelowByPriority;
    if (byPriority !== undefined && e.seq >= byPriority[e.priority]!) byPriority[e.priority] = e.seq + 1;
  }

  // ------------------------------------------------------------------------------------------
  // Settlement

  /** Acknowledgement of a delivered entry: it is gone for good. `_by`: the consumer it was delivered to (streams track offsets by it). */
  ack(entry: QueueEntry, _by?: Consumer): void {
    this.unackedCount--;
    this.counters.ack++;
    if (this.settlementWatch !== undefined && entry.msg !== null) this.settlementWatch.settled(this, entry.msg, 'acked');
    this.store.remove(entry);
  }

  /** Rejected (nack/reject) without requeue: dead-lettered with reason rejected, if set up. */
  reject(entry: QueueEntry): void {
    this.unackedCount--;
    this.discard(entry, 'rejected');
  }

  /**
   * Entries handed back: `returned` by the client (nack/reject with requeue, basic.recover) or
   * `released` because their channel or consumer went away. A classic queue puts them back in their
   * original place. A quorum queue (rabbit_fifo) queues them up in front of everything else in the
   * order they come back, except that without a delivery limit a returned one goes to the back.
   */
  requeue(entries: Iterable<QueueEntry>, how: 'returned' | 'released' = 'returned'): void {
    const quorum = this.type === 'quorum';
    const toBack = quorum && how === 'returned' && this.deliveryLimit === undefined;
    for (const e of entries) {
      this.unackedCount--;
      if (this.deleted) continue;
      if (this.deliveryLimit !== undefined && e.deliveries > this.deliveryLimit) {
        // Quorum queues: a message returned more often than allowed is dead-lettered instead.
        this.discard(e, 'delivery_limit');
        continue;
      }
      if (how === 'returned' && this.settlementWatch !== undefined && e.msg !== null) this.settlementWatch.settled(this, e.msg, 'requeued');
      if (!quorum) this.ready.requeue(e);
      else if (toBack) this.ready.returnToBack(e);
      else this.ready.returnToFront(e);
    }
    this.expireHead();
    this.deliverReady();
    // Requeued messages count towards the limit again (RabbitMQ's requeue_and_run drops the head too).
    if (this.maxLength !== undefined || this.maxBytes !== undefined) this.dropHeadOverLimit();
  }

  purge(): number {
    // At once, allocating nothing per message: millions of entries must not cost a copy (issue 19).
    const n = this.ready.length;
    this.store.removeAll(this.ready);
    this.ready.clear();
    return n;
  }

  /** Deletes the queue: consumers are told, ready messages dropped. Returns the ready count. */
  delete(): number {
    this.deleted = true;
    this.pacing.release(true);
    this.ttlTimer.cancel();
    this.idleExpiry.cancel();
    const n = this.ready.length;
    // The store's files go whole, and the ready list's arrays with them: no pass over the entries.
    this.ready.clear();
    this.store.destroy().catch((err: Error) => this.log?.error({ err: err.message, queue: this.name }, 'could not remove the files of a deleted queue'));
    for (const c of [...this.consumers.consumers]) {
      this.consumers.remove(c);
      c.cancelledByQueue();
    }
    this.exclusiveConsumer = undefined;
    this.activeConsumer = undefined;
    return n;
  }

  // ------------------------------------------------------------------------------------------
  // Paging

  /** Keeps the loaded zone topped up ahead of delivery. */
  private maybeRefill(): void {
    if (!this.paging.loading && this.store.canPage && this.ready.wantsRefill) this.paging.refill();
  }

  // ------------------------------------------------------------------------------------------
  // Restart

  /** Reads the queue's messages back after a restart; expiry counts from the original publish. */
  async recover(): Promise<number> {
    const scratch = new Message('', '', EMPTY, EMPTY);
    const r = await this.store.recover((e, publishedAt, properties) => {
      // The offsets scanProperties records point into `properties`: msg.ttl reads the value there.
      scratch.properties = properties;
      scanProperties(scratch, properties);
      const ttl = this.ttlOf(scratch);
      if (ttl >= 0) e.expiresAt = publishedAt + ttl;
      if (this.maxPriority !== undefined) e.priority = Math.min(Math.max(scratch.priority, 0), this.maxPriority);
    });
    this.restore(r);
    return r.entries.length;
  }

  private restore(r: RecoveredQueue): void {
    this.nextSeq = r.nextSeq;
    this.deliveredBelow = r.deliveredBelow;
    const byPriority = this.deliveredBelowByPriority;
    const saved = r.deliveredBelowByPriority;
    if (byPriority !== undefined) for (let p = 0; p < byPriority.length; p++) byPriority[p] = saved?.[p] ?? r.deliveredBelow;
    for (const e of r.entries) {
      const watermark = byPriority !== undefined ? byPriority[e.priority]! : r.deliveredBelow;
      e.deliveries = e.seq < watermark ? 1 : 0;
      const m = r.loaded.get(e.seq);
      if (m !== undefined) e.msg = m;
      this.ready.push(e);
    }
    this.expireHead();
    this.touch();
  }

  /** Clean shutdown: what the store needs for an exact recovery. */
  terms(): QueueTerms {
    this.ttlTimer.cancel();
    this.idleExpiry.cancel();
    // Unacknowledged messages are back in the ready list (their channels closed); the watermark
    // keeps their redelivered flag.
    const terms: QueueTerms = { deliveredBelow: this.deliveredBelow, nextSeq: this.nextSeq };
    if (this.deliveredBelowByPriority !== undefined) terms.deliveredBelowByPriority = [...this.deliveredBelowByPriority];
    return terms;
  }
}
