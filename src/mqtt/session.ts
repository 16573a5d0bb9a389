/**
 * The AMQP side of one MQTT client, as RabbitMQ 3.10's plugin builds it over its internal AMQP
 * channel (rabbit_mqtt_processor: ensure_queue/2, amqp_callback/2, process_request(?PUBACK)):
 *
 * - QoS 0 subscriptions share the queue mqtt-subscription-<client id>qos0: transient, auto-delete,
 *   consumed without acknowledgements. QoS 1 ones share ...qos1: durable (so its persistent
 *   messages survive restarts), auto-delete when the session is clean, consumed with
 *   acknowledgements and mqtt.prefetch unacknowledged deliveries at most.
 * - each topic filter is a binding of that queue to the plugin's exchange.
 * - a PUBACK from the client acknowledges the delivery with that packet id.
 *
 * Every step goes through the broker model's own entry points with the user's permissions checked
 * by the access table of AMQP methods (method-access.ts): queue.declare, queue.bind, queue.unbind,
 * basic.consume and queue.delete, with the client id available to topic permissions.
 */
import { authorize } from '../access/method-access.js';
import { checkVhostQueueLimit, type ChannelAccess } from '../access/permissions.js';
import type { QueueEntry } from '../message/queue-entry.js';
import type { Consumer } from '../queue/consumers.js';
import type { Queue } from '../queue/queue.js';
import type { PublishTracker, VHost } from '../vhost.js';
import type { AccessDatabase } from '../access/access-database.js';
import { deliveryToMqtt, v5DeliveryProperties } from './messages.js';
import { mqttTopicToRoutingKey, subscriptionQueueNames } from './topics.js';
import { RC, topicMatches, type V5Connection } from './v5.js';

const RC_NO_MATCHING_SUBSCRIBERS = RC.NO_MATCHING_SUBSCRIBERS;

/** What MQTT 5's subscription options make of one delivery. */
interface DeliveryOptions {
  readonly retain: boolean;
  readonly identifiers: readonly number[];
}
const PLAIN_DELIVERY: DeliveryOptions = { retain: false, identifiers: [] };

/** MQTT's queues belong to no AMQP connection: an id no connection has. */
const MQTT_CONNECTION_ID = -1;

export type SubscriptionQos = 0 | 1;

/** What a session needs of its connection. */
export interface SessionOwner {
  readonly clientId: string;
  /** False while the socket's buffer is full. */
  readonly writable: boolean;
  /** MQTT 5's announced limits and topic aliases; undefined for 3.1.x. */
  readonly v5: V5Connection | undefined;
  /** False when the packet was not sent (over the client's Maximum Packet Size, or closed). */
  send(packet: Record<string, unknown>): boolean;
  readonly service: { readonly publishedRetained: WeakSet<object> };
}

/** MQTT 5 subscription options kept per topic filter. */
export interface SubscriptionOptions {
  readonly noLocal: boolean;
  readonly retainAsPublished: boolean;
  /** The Subscription Identifier its SUBSCRIBE carried, sent back with each delivery it matches. */
  readonly identifier: number | undefined;
}

/** The plugin settings a session uses (mqtt.exchange, mqtt.prefetch). */
export interface SessionSettings {
  readonly exchange: string;
  readonly prefetch: number;
  /** The QoS 0 queue is exclusive (from 3.13's personality on; see ensureQueue). */
  readonly qos0Exclusive?: boolean;
}

class MqttSubscriber implements Consumer {
  active = false;
  unacked = 0;
  readonly exclusive = false;
  readonly priority = 0;
  readonly noAck: boolean;

  constructor(
    private readonly session: Session,
    readonly queue: Queue,
    readonly qos: SubscriptionQos,
    readonly tag: string,
    private readonly prefetch: number,
  ) {
    this.noAck = qos === 0;
  }

  hasCredit(): boolean {
    const session = this.session;
    if (!session.started || !session.open || !session.client.writable) return false;
    return this.noAck || this.prefetch === 0 || this.unacked < this.prefetch;
  }

  deliver(entry: QueueEntry): void {
    this.session.deliver(this, entry);
  }

  cancelledByQueue(): void {
    this.session.queueDeleted(this);
  }
}

/** A QoS 1 publish waiting for its queues: PUBACKs go out in the order the publishes came. */
class PendingPuback implements PublishTracker {
  pending = 1;
  refused = false;
  settled = false;
  /** MQTT 5: no queue took it (PUBACK reason code 0x10, no matching subscribers). */
  unroutable = false;

  constructor(
    readonly packetId: number,
    private readonly onSettled: () => void,
  ) {}

  readonly stored = (err: Error | undefined): void => {
    if (err !== undefined) this.refused = true;
    if (--this.pending === 0) {
      this.settled = true;
      this.onSettled();
    }
  };
}

export class Session {
  open = true;
  /** Deliveries wait for the CONNACK: a recovered session's queue is consumed before it is sent. */
  started = false;
  private qos0: MqttSubscriber | undefined;
  private qos1: MqttSubscriber | undefined;
  /** Topic filter -> the QoS levels it is bound with (3.10 keeps a list per filter). */
  readonly subscriptions = new Map<string, Set<SubscriptionQos>>();
  /** Packet id -> the QoS 1 delivery it carries, until the client's PUBACK. */
  private readonly awaitingAck = new Map<number, { subscriber: MqttSubscriber; entry: QueueEntry }>();
  private nextPacketId = 1;
  private readonly pubacks: PendingPuback[] = [];
  /** MQTT 5: the options of each filter that has any, and this session's own publishes (for no-local). */
  readonly options = new Map<string, SubscriptionOptions>();
  readonly ownPublishes = new WeakSet<object>();
  readonly queueNames: { readonly qos0: string; readonly qos1: string };

  constructor(
    readonly client: SessionOwner,
    readonly vhost: VHost,
    readonly access: ChannelAccess,
    readonly cleanSession: boolean,
    private readonly settings: SessionSettings,
    private readonly accessDatabase: AccessDatabase,
    /** MQTT 5's Session Expiry Interval: the queues' x-expires (RabbitMQ's mapping); undefined for 3.1.x. */
    private readonly sessionExpirySeconds: number | undefined = undefined,
  ) {
    this.queueNames = subscriptionQueueNames(client.clientId);
  }

  get exchange(): string {
    return this.settings.exchange;
  }

  /** Whether a persistent session's queue is there (session_present/2 looks for the QoS 1 queue). */
  hasQos1Queue(): boolean {
    return this.vhost.queues.has(this.queueNames.qos1);
  }

  /** A clean session drops what a persistent one left (queue.delete of the QoS 1 queue). */
  deleteQos1Queue(): void {
    const name = this.queueNames.qos1;
    authorize(this.access, 'queue.delete', { queue: name });
    this.vhost.deleteQueueCommand(name, false, false, MQTT_CONNECTION_ID);
  }

  /**
   * ensure_queue/2: the queue of a QoS level, declared and consumed from the first time it is
   * needed on this connection (queue.declare, then basic.consume, each with its permission).
   */
  ensureQueue(qos: SubscriptionQos): Queue {
    const existing = qos === 0 ? this.qos0 : this.qos1;
    if (existing !== undefined) return existing.queue;
    const name = qos === 0 ? this.queueNames.qos0 : this.queueNames.qos1;
    const vhost = this.vhost;
    const db = this.accessDatabase;
    const q = vhost.declareQueue({
      name,
      passive: false,
      durable: qos === 1,
      // RabbitMQ 4's QoS 0 queue is a queue type of its own, never a transient non-exclusive classic
      // queue (which 4.3 denies): held by the MQTT side, exclusive, from 3.13's personality on.
      exclusive: qos === 0 && this.settings.qos0Exclusive === true,
      autoDelete: qos === 0 || this.cleanSession,
      arguments: this.sessionExpirySeconds !== undefined && this.sessionExpirySeconds > 0 ? new Map([['x-expires', { type: 'l', value: this.sessionExpirySeconds * 1000 }]]) : new Map(),
      connectionId: MQTT_CONNECTION_ID,
      authorize: (n) =>
        authorize(this.access, 'queue.declare', {
          queue: n,
          exists: () => vhost.queues.has(n),
          hooks: { 'vhost-queue-limit': () => checkVhostQueueLimit(db, vhost.name, n, vhost.queues.size) },
        }),
    });
    authorize(this.access, 'basic.consume', { queue: q.name });
    const subscriber = new MqttSubscriber(this, q, qos, `mqtt-${this.client.clientId}-qos${qos}`, qos === 1 ? this.settings.prefetch : 0);
    if (qos === 0) this.qos0 = subscriber;
    else this.qos1 = subscriber;
    q.addConsumer(subscriber);
    return q;
  }

  /** queue.bind of the QoS level's queue to the exchange with the filter as the binding key. */
  bind(qos: SubscriptionQos, filter: string): void {
    const queue = this.ensureQueue(qos);
    const routingKey = mqttTopicToRoutingKey(filter);
    this.authorizeBinding('queue.bind', queue.name, routingKey);
    this.vhost.bind(this.exchange, 'queue', queue.name, routingKey, new Map(), MQTT_CONNECTION_ID);
    let levels = this.subscriptions.get(filter);
    if (levels === undefined) this.subscriptions.set(filter, (levels = new Set()));
    levels.add(qos);
  }

  /**
   * UNSUBSCRIBE: the filter's bindings go. Those a persistent session made on an earlier
   * connection are found on the QoS 1 queue too (3.10 forgets them and leaves them bound).
   */
  unbind(filter: string): void {
    const routingKey = mqttTopicToRoutingKey(filter);
    const levels = this.subscriptions.get(filter) ?? new Set<SubscriptionQos>();
    if (this.hasQos1Queue()) levels.add(1);
    for (const qos of levels) {
      const name = qos === 0 ? this.queueNames.qos0 : this.queueNames.qos1;
      if (!this.vhost.queues.has(name)) continue;
      this.authorizeBinding('queue.unbind', name, routingKey);
      this.vhost.unbind(this.exchange, 'queue', name, routingKey, new Map(), MQTT_CONNECTION_ID);
    }
    this.subscriptions.delete(filter);
  }

  private authorizeBinding(method: 'queue.bind' | 'queue.unbind', queue: string, routingKey: string): void {
    const exchange = this.exchange;
    authorize(this.access, method, {
      destination: { kind: 'queue', name: queue },
      source: exchange,
      routingKey,
      exchangeFacts: () => {
        const x = this.vhost.exchanges.get(exchange);
        return x === undefined ? undefined : { type: x.type, internal: x.options.internal };
      },
    });
  }

  /** amqp_callback/2 for basic.deliver: the PUBLISH, and the delivery remembered under its packet id. */
  deliver(subscriber: MqttSubscriber, entry: QueueEntry): void {
    const msg = entry.msg!;
    const out = deliveryToMqtt(msg, entry.deliveries > 0, subscriber.qos === 1);
    const v5 = this.client.v5;
    let options: DeliveryOptions = PLAIN_DELIVERY;
    if (out !== undefined && v5 !== undefined && this.options.size > 0) {
      const verdict = this.v5Options(msg, out.topic);
      if (verdict === undefined) return this.settleAtOnce(subscriber, entry);
      options = verdict;
    }
    if (out === undefined || out.qos === 0) {
      // Delivered at QoS 0 from the QoS 1 queue (or dropped as a duplicate): acknowledged at once.
      if (!subscriber.noAck) subscriber.queue.ack(entry);
      if (out !== undefined) this.client.send(this.publishPacket(out, 0, options, undefined, msg));
      return;
    }
    const packetId = this.takePacketId();
    if (!this.client.send(this.publishPacket(out, 1, options, packetId, msg))) return this.settleAtOnce(subscriber, entry);
    this.awaitingAck.set(packetId, { subscriber, entry });
    subscriber.unacked++;
  }

  /** A delivery not sent (no-local, or over the client's Maximum Packet Size): settled as delivered. */
  private settleAtOnce(subscriber: MqttSubscriber, entry: QueueEntry): void {
    if (!subscriber.noAck) subscriber.queue.ack(entry);
  }

  /**
   * MQTT 5 subscription options for a delivery of `topic`: undefined (not sent) when every matching
   * filter is no-local and the session published it; the retain flag kept when a matching filter is
   * retain-as-published and it was published retained; the matching filters' identifiers.
   */
  private v5Options(msg: object, topic: string): DeliveryOptions | undefined {
    const own = this.ownPublishes.has(msg);
    const retained = this.client.service.publishedRetained.has(msg);
    let deliver = false;
    let retain = false;
    const identifiers: number[] = [];
    for (const filter of this.subscriptions.keys()) {
      if (!topicMatches(filter, topic)) continue;
      const o = this.options.get(filter);
      if (own && o?.noLocal === true) continue;
      deliver = true;
      if (retained && o?.retainAsPublished === true) retain = true;
      if (o?.identifier !== undefined) identifiers.push(o.identifier);
    }
    if (!deliver && own) return undefined;
    return { retain, identifiers };
  }

  /** The PUBLISH of a delivery; for MQTT 5 with its properties and an outbound topic alias. */
  private publishPacket(out: { topic: string; payload: Buffer; dup: boolean }, qos: 0 | 1, options: DeliveryOptions, messageId: number | undefined, msg: Parameters<typeof v5DeliveryProperties>[0]): Record<string, unknown> {
    const packet: Record<string, unknown> = { cmd: 'publish', topic: out.topic, payload: out.payload, qos, dup: out.dup, retain: options.retain };
    if (messageId !== undefined) packet.messageId = messageId;
    const v5 = this.client.v5;
    if (v5 === undefined) return packet;
    const properties: Record<string, unknown> = { ...v5DeliveryProperties(msg) };
    if (options.identifiers.length > 0) properties.subscriptionIdentifier = options.identifiers.length === 1 ? options.identifiers[0] : options.identifiers;
    if (v5.topicAliasMaxOut > 0) {
      const alias = v5.aliasesOut.get(out.topic);
      if (alias !== undefined) {
        properties.topicAlias = alias;
        packet.topic = '';
      } else if (v5.aliasesOut.size < v5.topicAliasMaxOut) {
        const next = v5.aliasesOut.size + 1;
        v5.aliasesOut.set(out.topic, next);
        properties.topicAlias = next;
      }
    }
    if (Object.keys(properties).length > 0) packet.properties = properties;
    return packet;
  }

  /** The next packet id not waiting for a PUBACK (1 to 65535, wrapping). */
  takePacketId(): number {
    for (;;) {
      const id = this.nextPacketId;
      this.nextPacketId = id >= 0xffff ? 1 : id + 1;
      if (!this.awaitingAck.has(id)) return id;
    }
  }

  /** PUBACK: an unknown id (a retained message's, or a bogus client's) is ignored, as in 3.10. */
  acknowledged(packetId: number): void {
    const d = this.awaitingAck.get(packetId);
    if (d === undefined) return;
    this.awaitingAck.delete(packetId);
    const { subscriber, entry } = d;
    subscriber.queue.ack(entry);
    subscriber.unacked--;
    subscriber.queue.consumersSettled();
    if (!subscriber.active && subscriber.hasCredit()) subscriber.queue.consumerHasCredit(subscriber);
  }

  /** A tracker for a QoS 1 publish: its PUBACK goes out once every queue has the message. */
  trackPublish(packetId: number): PendingPuback {
    const p = new PendingPuback(packetId, this.flushPubacks);
    this.pubacks.push(p);
    return p;
  }

  private readonly flushPubacks = (): void => {
    while (this.pubacks.length > 0 && this.pubacks[0]!.settled) {
      const p = this.pubacks.shift()!;
      // A refused message is not acknowledged: the client publishes it again.
      if (p.refused) continue;
      if (p.unroutable) this.client.send({ cmd: 'puback', messageId: p.packetId, reasonCode: RC_NO_MATCHING_SUBSCRIBERS });
      else this.client.send({ cmd: 'puback', messageId: p.packetId });
    }
  };

  /** The CONNACK is out: deliveries may follow. */
  start(): void {
    this.started = true;
    this.wakeConsumers();
  }

  /** The socket drained: subscribers take deliveries again. */
  wakeConsumers(): void {
    for (const s of [this.qos0, this.qos1]) if (s !== undefined && !s.active && s.hasCredit()) s.queue.consumerHasCredit(s);
  }

  queueDeleted(subscriber: MqttSubscriber): void {
    if (this.qos0 === subscriber) this.qos0 = undefined;
    if (this.qos1 === subscriber) this.qos1 = undefined;
    for (const [id, d] of this.awaitingAck) if (d.subscriber === subscriber) this.awaitingAck.delete(id);
  }

  /** The connection is gone: consumers cancelled, unacknowledged deliveries back to their queue. */
  close(): void {
    if (!this.open) return;
    this.open = false;
    const byQueue = new Map<Queue, QueueEntry[]>();
    for (const { subscriber, entry } of this.awaitingAck.values()) {
      let list = byQueue.get(subscriber.queue);
      if (list === undefined) byQueue.set(subscriber.queue, (list = []));
      list.push(entry);
    }
    this.awaitingAck.clear();
    for (const s of [this.qos1, this.qos0]) {
      if (s === undefined) continue;
      const entries = byQueue.get(s.queue);
      if (entries !== undefined) s.queue.requeue(entries, 'released');
      s.queue.removeConsumer(s);
    }
    this.qos0 = this.qos1 = undefined;
  }
}
