/**
 * A channel's consumers and what it has delivered: delivery tags, the unacknowledged deliveries in
 * tag order, acknowledgements (ack, nack, reject, recover), prefetch (basic.qos, per consumer and
 * channel-wide) and consumer_timeout. Deliveries are written straight into the connection's output.
 */
import { randomBytes } from 'node:crypto';
import { accessRefused, internalError, notAllowed, notImplemented, preconditionFailed, resourceLocked, resourceName } from '../errors.js';
import { Message } from '../message/message.js';
import type { QueueEntry } from '../message/queue-entry.js';
import { integerValue, type FieldTable } from '../protocol/field-table.js';
import {
  encodeBasicCancel,
  encodeBasicConsumeOk,
  encodeBasicCreditOk,
  encodeBasicGetEmpty,
  encodeBasicGetOk,
  type BasicConsume,
} from '../protocol/generated/methods.js';
import { checkConsumeArguments } from '../queue/arguments.js';
import type { Consumer } from '../queue/consumers.js';
import type { Queue } from '../queue/queue.js';
import { checkStreamConsume } from '../queue/stream-offset.js';
import { StreamQueue } from '../queue/stream-queue.js';
import { Deque } from '../util/deque.js';
import { RouteBytesCache, encodeShortstr, writeContent, writeDelivery } from '../wire/content-frames.js';
import type { ChannelContext } from './host.js';

/** A delivery waiting for acknowledgement. */
export interface Unacked {
  readonly tag: number;
  readonly queue: Queue;
  readonly entry: QueueEntry;
  /** The consumer it was delivered to, or undefined for basic.get. */
  readonly consumer: ChannelConsumer | undefined;
  /** When it was delivered (ms since the epoch), kept only while consumer_timeout is on. */
  readonly deliveredAt: number;
}

/** How settled deliveries leave: acknowledged, back to their queue, or rejected for good. */
export type Settlement = 'ack' | 'requeue' | 'reject';

export class Deliveries {
  private nextTag = 1;
  /** Exchange and routing key of the latest delivery, encoded (see RouteBytesCache). */
  private readonly routeBytes = new RouteBytesCache();
  private readonly unacked = new Deque<Unacked>(64);
  readonly consumers = new Map<string, ChannelConsumer>();
  /** basic.qos global=false: the prefetch each new consumer gets. */
  private consumerPrefetch = 0;
  /** basic.qos global=true: limit on unacknowledged consumer deliveries across the channel. */
  private globalPrefetch = 0;
  /** Unacknowledged consumer deliveries (not basic.get), for the channel-wide limit. */
  private globalUnacked = 0;
  /** consumer_timeout: fires when the oldest unacknowledged delivery may be overdue. */
  private ackTimer: NodeJS.Timeout | undefined;
  /** Whether consumer_timeout applies to classic queue deliveries (not in 4.3: personality.ts). */
  private readonly timeoutClassic: boolean;

  constructor(readonly ctx: ChannelContext) {
    this.timeoutClassic = ctx.host.release.personality.consumerTimeoutClassic;
  }

  /** Deliveries not yet settled (consumers' and basic.get's), for the management statistics. */
  get unackedCount(): number {
    return this.unacked.length;
  }

  /** basic.qos as set: the per-consumer and the channel-wide prefetch counts (0: none). */
  get prefetch(): { readonly consumer: number; readonly global: number } {
    return { consumer: this.consumerPrefetch, global: this.globalPrefetch };
  }

  /** The tag the next delivery will carry (a direct reply-to delivery shows it without using it). */
  get peekNextTag(): number {
    return this.nextTag;
  }

  // ------------------------------------------------------------------------------------------
  // Consumers

  consume(m: BasicConsume, queueName: string): void {
    const host = this.ctx.host;
    this.checkTagFree(m.consumerTag);
    const queue = host.vhost.getQueue(queueName, host.id);
    const streamStart = queue instanceof StreamQueue ? checkStreamConsume(queue.name, queue.vhost, m.arguments, m.noAck, this.consumerPrefetch, m.consumerTag) : undefined;
    if (streamStart === undefined) checkConsumeArguments(queue.name, queue.vhost, m.arguments);
    if (queue.type === 'quorum' && this.globalPrefetch > 0) {
      throw notImplemented(`${resourceName('queue', queue.name, queue.vhost)} does not support global qos`);
    }
    if (queue.consumeRefusal(m.exclusive) !== undefined) {
      throw accessRefused(`queue '${queue.name}' in vhost '${queue.vhost}' in exclusive use`);
    }
    const tag = m.consumerTag !== '' ? m.consumerTag : generateConsumerTag();
    const consumer = new ChannelConsumer(this, queue, tag, m.noAck, m.exclusive, consumerPriority(m.arguments), this.consumerPrefetch);
    this.consumers.set(tag, consumer);
    // consume-ok goes out before any delivery to the new consumer.
    if (!m.nowait) encodeBasicConsumeOk(host.out, this.ctx.number, { consumerTag: tag });
    if (queue instanceof StreamQueue) queue.addStreamConsumer(consumer, streamStart!, m.arguments);
    else queue.addConsumer(consumer);
    host.out.frameDone();
  }

  /** A tag given by the client must not name a consumer of this channel already. */
  checkTagFree(tag: string): void {
    if (tag !== '' && this.consumers.has(tag)) throw notAllowed(`attempt to reuse consumer tag '${tag}'`);
  }

  /** basic.cancel; the spec says to ignore an unknown tag. */
  cancel(tag: string): void {
    const c = this.consumers.get(tag);
    if (c === undefined) return;
    this.consumers.delete(tag);
    c.queue.removeConsumer(c);
  }

  /**
   * basic.credit, RabbitMQ's extension for its AMQP 1.0 plugin: an unknown consumer tag is refused as
   * RabbitMQ refuses it. Warren's consumers take prefetch, not link credit, so for a known one the
   * credit is acknowledged with the queue's ready count and changes nothing (RabbitMQ 3.10 applies it
   * to a consumer not made for it and its channel crashes: compat/KNOWN_DIFFS.md).
   */
  credit(tag: string): void {
    const c = this.consumers.get(tag);
    if (c === undefined) throw preconditionFailed(`unknown consumer tag '${tag}'`);
    encodeBasicCreditOk(this.ctx.host.out, this.ctx.number, { available: c.queue.messageCount });
    this.ctx.host.out.frameDone();
  }

  /** The queue of one of our consumers was deleted: forget the consumer, tell the client if it cares. */
  consumerCancelledByQueue(c: ChannelConsumer): void {
    if (this.consumers.get(c.tag) !== c) return;
    this.consumers.delete(c.tag);
    c.cancelled = true;
    const host = this.ctx.host;
    if (this.ctx.isOpen && host.hasCapability('consumer_cancel_notify')) {
      encodeBasicCancel(host.out, this.ctx.number, { consumerTag: c.tag, nowait: true });
      host.out.frameDone();
    }
  }

  // ------------------------------------------------------------------------------------------
  // Deliveries

  /** Writes basic.deliver and the content for one entry. Called by the queue through the consumer. */
  deliver(c: ChannelConsumer, entry: QueueEntry): void {
    const tag = this.nextTag++;
    const queue = c.queue;
    if (!c.noAck) {
      this.unacked.push({ tag, queue, entry, consumer: c, deliveredAt: this.deliveryTime(queue) });
      c.unacked++;
      this.globalUnacked++;
    }
    const msg = queue.type === 'quorum' && entry.deliveries > 0 ? withDeliveryCount(entry.msg!, entry.deliveries) : entry.msg!;
    const host = this.ctx.host;
    const route = this.routeBytes.get(msg.exchange, msg.routingKey);
    writeDelivery(host.out, this.ctx.number, c.tagBytes, tag, entry.deliveries > 0, route, msg.properties, msg.bodyPieces ?? msg.body, msg.bodySize, host.frameMax);
    host.out.frameDone();
  }

  /** basic.get: get-ok with the next message, or get-empty. */
  get(queueName: string, noAck: boolean): void {
    const host = this.ctx.host;
    const queue = host.vhost.getQueue(queueName, host.id);
    if (queue.type === 'quorum' && queue.singleActiveConsumer) {
      throw resourceLocked(
        `cannot obtain access to locked ${resourceName('queue', queue.name, queue.vhost)}. basic.get operations are not supported by quorum queues with single active consumer`,
      );
    }
    const out = host.out;
    const entry = queue.get(noAck);
    if (entry === undefined) {
      encodeBasicGetEmpty(out, this.ctx.number, {});
      out.frameDone();
      return;
    }
    const tag = this.nextTag++;
    if (!noAck) this.unacked.push({ tag, queue, entry, consumer: undefined, deliveredAt: this.deliveryTime(queue) });
    // Quorum queues put x-delivery-count on every basic.get, 0 included (rabbit_fifo_client:dequeue).
    const msg = queue.type === 'quorum' ? withDeliveryCount(entry.msg!, entry.deliveries) : entry.msg!;
    encodeBasicGetOk(out, this.ctx.number, {
      deliveryTag: tag,
      redelivered: entry.deliveries > 0,
      exchange: msg.exchange,
      routingKey: msg.routingKey,
      messageCount: queue.messageCount,
    });
    queue.markDelivered(entry);
    writeContent(out, this.ctx.number, msg.properties, msg.bodyPieces ?? msg.body, msg.bodySize, host.frameMax);
    out.frameDone();
  }

  // ------------------------------------------------------------------------------------------
  // Acknowledgements

  /**
   * The unacked deliveries an ack/nack/reject refers to, removed from the unacked list. As in
   * RabbitMQ's collect_acks: tag 0 with multiple means all; an unknown tag is a 406 and settles nothing.
   */
  collect(deliveryTag: number, multiple: boolean): Unacked[] {
    const un = this.unacked;
    if (multiple && deliveryTag === 0) {
      const all = un.toArray();
      un.clear();
      return all;
    }
    const first = un.peek();
    if (first !== undefined && first.tag === deliveryTag) {
      un.shift();
      return [first];
    }
    const i = this.indexOfTag(deliveryTag);
    if (i < 0) throw preconditionFailed(`unknown delivery tag ${deliveryTag}`);
    if (!multiple) return [un.removeAt(i)!];
    const out: Unacked[] = [];
    for (let k = 0; k <= i; k++) out.push(un.shift()!);
    return out;
  }

  /** Binary search: tags in the unacked list are strictly increasing. */
  private indexOfTag(tag: number): number {
    const un = this.unacked;
    let lo = 0;
    let hi = un.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const t = un.at(mid)!.tag;
      if (t === tag) return mid;
      if (t < tag) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  /** Applies a settlement to collected deliveries and reopens the prefetch windows they held. */
  settle(how: Settlement, settled: readonly Unacked[]): void {
    if (how === 'requeue') this.requeue(settled);
    // Rejected for good: dead-lettered with reason rejected where the queue has a DLX.
    else if (how === 'reject') for (const u of settled) u.queue.reject(u.entry);
    else for (const u of settled) u.queue.ack(u.entry, u.consumer);
    this.released(settled);
  }

  /** basic.recover with requeue: every unacknowledged delivery goes back to its queue. */
  recover(): void {
    // RabbitMQ 3.10.8's channel crashes on a recover of stream deliveries (recorded): a bare 541.
    for (const u of this.unacked) if (u.queue.type === 'stream') throw internalError('').withDetail('basic.recover of stream deliveries');
    const all = this.unacked.toArray();
    this.unacked.clear();
    this.settle('requeue', all);
  }

  /** Deliveries whose settlement was undone (tx.rollback): unacknowledged again, in tag order. */
  restore(items: readonly Unacked[]): void {
    if (items.length === 0) return;
    const merged = [...this.unacked, ...items].sort((a, b) => a.tag - b.tag);
    this.unacked.clear();
    for (const u of merged) this.unacked.push(u);
  }

  private requeue(settled: readonly Unacked[], how: 'returned' | 'released' = 'returned'): void {
    // Group by queue so each queue re-delivers once, after all its entries are back in place.
    const byQueue = new Map<Queue, QueueEntry[]>();
    for (const u of settled) {
      let list = byQueue.get(u.queue);
      if (list === undefined) byQueue.set(u.queue, (list = []));
      list.push(u.entry);
    }
    for (const [q, entries] of byQueue) q.requeue(entries, how);
  }

  /** Prefetch windows reopened by settled deliveries: wake the consumers that can take more. */
  private released(settled: readonly Unacked[]): void {
    let globalFreed = false;
    const woken = new Set<ChannelConsumer>();
    let lastQueue: Queue | undefined;
    for (const u of settled) {
      const c = u.consumer;
      if (c === undefined) continue;
      if (u.queue !== lastQueue) {
        lastQueue = u.queue;
        lastQueue.consumersSettled();
      }
      c.unacked--;
      this.globalUnacked--;
      globalFreed = true;
      if (!c.active && !c.cancelled) woken.add(c);
    }
    if (globalFreed && this.globalPrefetch > 0) {
      for (const c of this.consumers.values()) if (!c.active) woken.add(c);
    }
    for (const c of woken) if (c.hasCredit()) c.queue.consumerHasCredit(c);
  }

  // ------------------------------------------------------------------------------------------
  // Prefetch

  qos(prefetchSize: number, prefetchCount: number, global: boolean): void {
    if (prefetchSize !== 0) throw notImplemented(`prefetch_size!=0 (${prefetchSize})`);
    if (global) {
      const release = this.ctx.host.release;
      release.upgrade?.used('global_qos', { prefetchCount });
      // The deprecated feature global_qos (3.13: permitted, with a warning; 4.3: denied by default, and
      // then rabbit_channel handles the qos as if global were false).
      if (!release.deprecatedFeatures.permitted('global_qos')) global = false;
    }
    if (global) {
      this.globalPrefetch = prefetchCount;
    } else {
      // RabbitMQ 3.x: a per-consumer qos also lifts the channel-wide limit.
      this.consumerPrefetch = prefetchCount;
      this.globalPrefetch = 0;
    }
    this.wakeConsumers();
  }

  /** Offers every idle consumer to its queue again (limits raised, socket drained). */
  wakeConsumers(): void {
    for (const c of this.consumers.values()) if (!c.active && c.hasCredit()) c.queue.consumerHasCredit(c);
  }

  /** Whether the channel-wide prefetch window has room. */
  globalWindowOpen(): boolean {
    return this.globalPrefetch === 0 || this.globalUnacked < this.globalPrefetch;
  }

  // ------------------------------------------------------------------------------------------
  // Delivery acknowledgement timeout (consumer_timeout)

  /**
   * The delivery time for a new unacknowledged delivery (0 when the timeout is off, or does not apply
   * to the queue's type: no clock read).
   */
  private deliveryTime(queue: Queue): number {
    const timeout = this.ctx.host.consumerTimeoutMs;
    if (timeout === 0 || (!this.timeoutClassic && queue.type !== 'quorum')) return 0;
    const now = Date.now();
    if (this.ackTimer === undefined) this.armAckTimer(now + timeout);
    return now;
  }

  private armAckTimer(at: number): void {
    this.ackTimer = setTimeout(() => this.checkAckTimeout(), Math.max(0, at - Date.now()) + 1);
    this.ackTimer.unref?.();
  }

  /**
   * RabbitMQ's evaluate_consumer_timeout: if the oldest unacknowledged delivery (basic.get ones too)
   * is older than the timeout, the channel is closed with 406 and no method, and everything it had
   * unacknowledged goes back to its queues. Otherwise the check is due again when that delivery is.
   */
  private checkAckTimeout(): void {
    this.ackTimer = undefined;
    const oldest = this.oldestTimed();
    if (oldest === undefined || !this.ctx.isOpen) return;
    const timeout = this.ctx.host.consumerTimeoutMs;
    if (oldest.deliveredAt + timeout >= Date.now()) {
      this.armAckTimer(oldest.deliveredAt + timeout);
      return;
    }
    const tag = oldest.consumer?.tag ?? 'basic.get';
    if (oldest.queue.type === 'classic') this.ctx.host.release.upgrade?.used('consumer_timeout_classic_queue', { queue: oldest.queue.name });
    this.ctx.log.warn({ consumerTag: tag, timeoutMs: timeout }, 'consumer timed out waiting for a delivery acknowledgement');
    this.ctx.fail(
      preconditionFailed(
        `delivery acknowledgement on channel ${this.ctx.number} timed out. Timeout value used: ${timeout} ms. This timeout value can be configured, see consumers doc guide to learn more`,
      ),
    );
  }

  /** The oldest unacknowledged delivery the timeout applies to (in 4.x, deliveries of classic queues are not timed). */
  private oldestTimed(): Unacked | undefined {
    if (this.timeoutClassic) return this.unacked.peek();
    for (const u of this.unacked) if (u.deliveredAt !== 0) return u;
    return undefined;
  }

  // ------------------------------------------------------------------------------------------
  // Release

  /**
   * Gives back everything: consumers are cancelled and unacknowledged deliveries requeued in their
   * original order. Called when the channel closes and when its connection goes away.
   */
  release(): void {
    if (this.ackTimer !== undefined) clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
    for (const c of this.consumers.values()) {
      c.cancelled = true;
      c.queue.removeConsumer(c);
    }
    this.consumers.clear();
    if (this.unacked.length > 0) {
      const all = this.unacked.toArray();
      this.unacked.clear();
      for (const u of all) if (u.consumer !== undefined) u.consumer.unacked--;
      this.globalUnacked = 0;
      this.requeue(all, 'released');
    }
  }
}

export class ChannelConsumer implements Consumer {
  active = false;
  cancelled = false;
  unacked = 0;
  /** The tag as a shortstr, encoded once for every basic.deliver. */
  readonly tagBytes: Buffer;
  /** The channel, held directly: hasCredit runs for every delivery. */
  private readonly ctx: ChannelContext;

  constructor(
    private readonly owner: Deliveries,
    readonly queue: Queue,
    readonly tag: string,
    readonly noAck: boolean,
    readonly exclusive: boolean,
    readonly priority: number,
    /** Per-consumer prefetch captured at basic.consume (0 = unlimited). */
    readonly prefetch: number,
  ) {
    this.tagBytes = encodeShortstr(tag);
    this.ctx = owner.ctx;
  }

  hasCredit(): boolean {
    const ctx = this.ctx;
    if (!ctx.host.writable || !ctx.isOpen) return false;
    if (this.noAck) return true;
    return (this.prefetch === 0 || this.unacked < this.prefetch) && this.owner.globalWindowOpen();
  }

  deliver(entry: QueueEntry): void {
    this.owner.deliver(this, entry);
  }

  cancelledByQueue(): void {
    this.owner.consumerCancelledByQueue(this);
  }
}

/**
 * A quorum queue's redelivery carries x-delivery-count, the number of earlier deliveries (RabbitMQ's
 * rabbit_fifo_client adds it with set_table_value, so the headers come out sorted by key).
 */
function withDeliveryCount(msg: Message, count: number): Message {
  const props = msg.decodedProperties;
  const headers = new Map(props.headers ?? []);
  headers.set('x-delivery-count', { type: 'l', value: count });
  const sorted = new Map([...headers].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  const copy = new Message(msg.exchange, msg.routingKey, msg.properties, msg.bodyPieces ?? msg.body);
  copy.setProperties({ ...props, headers: sorted });
  return copy;
}

function consumerPriority(args: FieldTable): number {
  return integerValue(args.get('x-priority')) ?? 0;
}

/** Consumer tags look like RabbitMQ's: "amq.ctag-" and 22 URL-safe base64 characters. */
export function generateConsumerTag(): string {
  return `amq.ctag-${randomBytes(16).toString('base64url').slice(0, 22)}`;
}
