/**
 * The broker's objects as the management API's JSON (rabbit_mgmt_format and the *_stats the
 * management agent reports): field names, types and nesting as RabbitMQ 3.10.8 answers them.
 */
import type { PermissionRecord, TopicPermissionRecord, UserRecord, VhostRecord } from '../access/access-database.js';
import type { Connection } from '../connection/connection.js';
import type { Channel } from '../channel/channel.js';
import type { ChannelConsumer } from '../channel/deliveries.js';
import { tableToJson } from '../definitions/amqp-table-json.js';
import type { Binding, Exchange } from '../exchange/exchange.js';
import { mergeOperatorDefinitions, type Policy } from '../policy/policy.js';
import type { Queue } from '../queue/queue.js';
import { StreamQueue } from '../queue/stream-queue.js';
import type { JsonValue } from '../util/json.js';
import type { VHost } from '../vhost.js';
import type { ManagementContext } from './context.js';
import type { JsonObject } from './request-body.js';
import { streamQueueView } from './stream-view.js';

const rate = (r: number) => ({ rate: Math.round(r * 10) / 10 });

export function queueView(ctx: ManagementContext, v: VHost, q: Queue): JsonObject {
  const subject = { kind: 'queue' as const, name: q.name, type: q.type };
  const policy = v.policies.match(subject);
  const operatorPolicy = v.operatorPolicies.match(subject);
  const depth = ctx.stats.queueDepthRates(q);
  const ready = q.messageCount;
  const unacked = q.unackedCount;
  const exclusiveConsumer = q.consumers.consumers.find((c) => c.exclusive);
  const view: JsonObject = {
    arguments: tableToJson(q.options.arguments),
    auto_delete: q.options.autoDelete,
    consumer_capacity: q.consumerCount > 0 ? 1 : 0,
    consumer_utilisation: q.consumerCount > 0 ? 1 : 0,
    consumers: q.consumerCount,
    durable: q.options.durable,
    effective_policy_definition: (mergeOperatorDefinitions(policy, operatorPolicy) ?? {}) as JsonObject,
    exclusive: q.options.exclusive,
    exclusive_consumer_tag: exclusiveConsumer?.tag ?? null,
    head_message_timestamp: null,
    message_bytes: q.messageBytes,
    message_bytes_ready: q.messageBytes,
    message_bytes_unacknowledged: 0,
    message_stats: ctx.stats.queueMessageStats(q),
    messages: ready + unacked,
    messages_details: rate(depth.messages),
    messages_ready: ready,
    messages_ready_details: rate(depth.ready),
    messages_unacknowledged: unacked,
    messages_unacknowledged_details: rate(depth.unacked),
    name: q.name,
    node: ctx.nodeName,
    operator_policy: operatorPolicy?.name ?? null,
    policy: policy?.name ?? null,
    state: 'running',
    type: q.type,
    vhost: v.name,
  };
  return q instanceof StreamQueue ? streamQueueView(ctx, q, view) : view;
}

export function exchangeView(v: VHost, x: Exchange, user: string | undefined): JsonObject {
  const subject = { kind: 'exchange' as const, name: x.name };
  const policy = v.policies.match(subject);
  const out: JsonObject = {
    arguments: tableToJson(x.options.arguments),
    auto_delete: x.options.autoDelete,
    durable: x.options.durable,
    internal: x.options.internal,
    name: x.name,
    type: x.type,
    user_who_performed_action: user ?? 'rmq-internal',
    vhost: v.name,
  };
  if (policy !== undefined) out.policy = policy.name;
  return out;
}

/**
 * rabbit_mgmt_format:pack_binding_props/2: the routing key, then "~" and a hash of the arguments
 * when there are any. Warren's hash is its own (RabbitMQ's is erlang:phash2), stable for a binding;
 * clients only hand it back.
 */
export function propertiesKey(routingKey: string, args: JsonValue): string {
  const quoted = encodeURIComponent(routingKey).replace(/[!'()*~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  const empty = args === null || (typeof args === 'object' && Object.keys(args).length === 0);
  if (empty) return routingKey === '' ? '~' : quoted;
  return `${quoted}~${argumentsHash(JSON.stringify(args))}`;
}

function argumentsHash(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(36);
}

export function bindingView(v: VHost, b: Binding): JsonObject {
  const args = tableToJson(b.arguments);
  return {
    source: b.source.name,
    vhost: v.name,
    destination: b.destination.name,
    destination_type: b.destination.kind,
    routing_key: b.routingKey,
    arguments: args,
    properties_key: propertiesKey(b.routingKey, args),
  };
}

/** The default exchange's implicit binding to every queue (RabbitMQ lists it first). */
export function defaultBindingView(v: VHost, q: Queue): JsonObject {
  return { source: '', vhost: v.name, destination: q.name, destination_type: 'queue', routing_key: q.name, arguments: {}, properties_key: propertiesKey(q.name, {}) };
}

export function vhostView(ctx: ManagementContext, r: VhostRecord, v: VHost | undefined): JsonObject {
  let ready = 0;
  let unacked = 0;
  for (const q of v?.queues.values() ?? []) {
    ready += q.messageCount;
    unacked += q.unackedCount;
  }
  return {
    cluster_state: { [ctx.nodeName]: 'running' },
    default_queue_type: r.defaultQueueType ?? 'undefined',
    description: r.description,
    messages: ready + unacked,
    messages_ready: ready,
    messages_unacknowledged: unacked,
    metadata: { description: r.description, tags: [...r.tags] },
    name: r.name,
    tags: [...r.tags],
    tracing: r.tracing,
  };
}

export function userView(u: UserRecord): JsonObject {
  return {
    name: u.name,
    password_hash: u.passwordHash.toString('base64'),
    hashing_algorithm: u.hashingAlgorithm,
    tags: [...u.tags],
    limits: { ...u.limits },
  };
}

export function permissionView(p: PermissionRecord): JsonObject {
  return { user: p.user, vhost: p.vhost, configure: p.configure, write: p.write, read: p.read };
}

export function topicPermissionView(p: TopicPermissionRecord): JsonObject {
  return { user: p.user, vhost: p.vhost, exchange: p.exchange, write: p.write, read: p.read };
}

export function policyView(p: Policy): JsonObject {
  return {
    vhost: p.vhost,
    name: p.name,
    pattern: p.pattern,
    'apply-to': p.applyTo,
    definition: p.definition as JsonObject,
    priority: p.priority,
  };
}

/** rabbit_mgmt_format's connection name: "peer:port -> local:port". */
export function connectionName(c: Connection): string {
  const p = c.peer;
  return p.remoteAddress === undefined ? `in-process ${c.id}` : `${p.remoteAddress}:${p.remotePort} -> ${p.localAddress}:${p.localPort}`;
}

export function connectionView(ctx: ManagementContext, c: Connection): JsonObject {
  const p = c.peer;
  return {
    auth_mechanism: 'PLAIN',
    channel_max: c.channelMax,
    channels: c.channels.size,
    client_properties: tableToJson(c.clientProperties),
    connected_at: c.connectedAt,
    frame_max: c.frameMax,
    host: p.localAddress ?? '',
    name: connectionName(c),
    node: ctx.nodeName,
    peer_host: p.remoteAddress ?? '',
    peer_port: p.remotePort ?? 0,
    port: p.localPort ?? 0,
    protocol: 'AMQP 0-9-1',
    recv_oct: c.bytesIn,
    ssl: p.certificate !== undefined,
    state: c.blockState,
    timeout: c.heartbeat,
    type: 'network',
    user: c.userName,
    user_who_performed_action: c.userName,
    vhost: c.vhostName,
  };
}

export function channelName(c: Connection, ch: Channel): string {
  return `${connectionName(c)} (${ch.number})`;
}

export function channelView(ctx: ManagementContext, c: Connection, ch: Channel): JsonObject {
  const prefetch = ch.deliveries.prefetch;
  return {
    acks_uncommitted: 0,
    confirm: ch.confirms.enabled,
    connection_details: { name: connectionName(c), peer_host: c.peer.remoteAddress ?? '', peer_port: c.peer.remotePort ?? 0 },
    consumer_count: ch.deliveries.consumers.size,
    global_prefetch_count: prefetch.global,
    messages_unacknowledged: ch.deliveries.unackedCount,
    name: channelName(c, ch),
    node: ctx.nodeName,
    number: ch.number,
    prefetch_count: prefetch.consumer,
    state: ch.isOpen ? 'running' : 'closing',
    transactional: ch.tx !== undefined,
    user: c.userName,
    user_who_performed_action: c.userName,
    vhost: c.vhostName,
  };
}

export function consumerView(c: Connection, ch: Channel, k: ChannelConsumer): JsonObject {
  return {
    ack_required: !k.noAck,
    active: true,
    activity_status: 'up',
    arguments: {},
    channel_details: { connection_name: connectionName(c), name: channelName(c, ch), node: '', number: ch.number, peer_host: c.peer.remoteAddress ?? '', peer_port: c.peer.remotePort ?? 0, user: c.userName },
    consumer_tag: k.tag,
    exclusive: k.exclusive,
    prefetch_count: k.prefetch,
    queue: { name: k.queue.name, vhost: k.queue.vhost },
  };
}
