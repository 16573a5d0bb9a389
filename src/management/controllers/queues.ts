/**
 * /api/queues (rabbit_mgmt_wm_queues, rabbit_mgmt_wm_queue, rabbit_mgmt_wm_queue_purge,
 * rabbit_mgmt_wm_queue_get): list, show, declare, delete, purge and get messages. Every change
 * goes through the vhost's own commands with the access rows a channel of the user would run.
 */
import { authorize } from '../../access/method-access.js';
import { checkVhostQueueLimit } from '../../access/permissions.js';
import { stringValue } from '../../protocol/field-table.js';
import type { QueueEntry } from '../../message/queue-entry.js';
import type { Queue } from '../../queue/queue.js';
import { StreamQueue } from '../../queue/stream-queue.js';
import type { JsonValue } from '../../util/json.js';
import type { VHost } from '../../vhost.js';
import { channelAccess } from '../auth.js';
import type { ManagementContext } from '../context.js';
import { badRequest, objectNotFound } from '../http-errors.js';
import { listing } from '../listing.js';
import { propertiesToJson } from '../message-properties.js';
import { argumentsField, bodyObject, boolField, intField, stringField, type JsonObject } from '../request-body.js';
import { created, noContent, type ApiRequest, type Route } from '../route.js';
import { STREAM_GARBAGE_COLLECTION, streamConsumerView } from '../stream-view.js';
import { consumerView, queueView } from '../views.js';
import { visibleVhosts, vhostFor } from '../vhost-scope.js';

function queueOr404(v: VHost, name: string): Queue {
  const q = v.queues.get(name);
  if (q === undefined) throw objectNotFound();
  return q;
}

function list(ctx: ManagementContext, req: ApiRequest): JsonValue {
  const items = visibleVhosts(ctx, req.user, req.params.vhost).flatMap((v) => [...v.queues.values()].map((q) => queueView(ctx, v, q)));
  return listing(items, req.query);
}

function show(ctx: ManagementContext, req: ApiRequest): JsonValue {
  const v = vhostFor(ctx, req.user, req.params.vhost!);
  const q = queueOr404(v, req.params.name!);
  const stream = q instanceof StreamQueue ? q : undefined;
  const consumers = [];
  for (const c of ctx.broker.connections) {
    for (const ch of c.channels.values()) {
      for (const k of ch.deliveries.consumers.values()) if (k.queue === q) consumers.push(stream ? streamConsumerView(stream, k, consumerView(c, ch, k)) : consumerView(c, ch, k));
    }
  }
  const extra: JsonObject = stream ? { garbage_collection: STREAM_GARBAGE_COLLECTION } : {};
  return { ...queueView(ctx, v, q), ...extra, consumer_details: consumers, deliveries: [], incoming: [] };
}

function declare(ctx: ManagementContext, req: ApiRequest) {
  const body = bodyObject(req.body);
  const v = vhostFor(ctx, req.user, req.params.vhost!, 'act');
  const name = req.params.name!;
  const durable = boolField(body, 'durable', false);
  const autoDelete = boolField(body, 'auto_delete', false);
  const args = argumentsField(body);
  const access = channelAccess(ctx.broker.access, req.user, v.name);
  const existed = v.queues.has(name);
  if (name === '') throw badRequest('a queue declared through the API needs a name');
  v.declareQueue({
    name,
    passive: false,
    durable,
    exclusive: false,
    autoDelete,
    arguments: args,
    connectionId: 0,
    authorize: (n, serverNamed) =>
      authorize(access, 'queue.declare', {
        queue: n,
        serverNamed,
        deadLetterExchange: stringValue(args.get('x-dead-letter-exchange')),
        exists: () => v.queues.has(n),
        hooks: { 'vhost-queue-limit': () => checkVhostQueueLimit(ctx.broker.access, v.name, n, v.queues.size) },
      }),
  });
  return existed ? noContent() : created();
}

function remove(ctx: ManagementContext, req: ApiRequest) {
  const v = vhostFor(ctx, req.user, req.params.vhost!, 'act');
  const name = req.params.name!;
  queueOr404(v, name);
  authorize(channelAccess(ctx.broker.access, req.user, v.name), 'queue.delete', { queue: name });
  v.deleteQueueCommand(name, req.query['if-unused'] === 'true', req.query['if-empty'] === 'true', 0);
  return noContent();
}

function purge(ctx: ManagementContext, req: ApiRequest) {
  const v = vhostFor(ctx, req.user, req.params.vhost!, 'act');
  const name = req.params.name!;
  queueOr404(v, name);
  authorize(channelAccess(ctx.broker.access, req.user, v.name), 'queue.purge', { queue: name });
  v.purgeQueue(name, 0);
  return noContent();
}

const ACKMODES = ['ack_requeue_true', 'ack_requeue_false', 'reject_requeue_true', 'reject_requeue_false'] as const;
type Ackmode = (typeof ACKMODES)[number];

/** A payload as the API shows it: text if it is UTF-8 (encoding auto), else base64; cut to `truncate` bytes. */
function payloadView(body: Buffer, encoding: 'auto' | 'base64', truncate: number | undefined) {
  const cut = truncate !== undefined && body.length > truncate ? body.subarray(0, truncate) : body;
  const text = cut.toString('utf8');
  if (encoding === 'auto' && Buffer.from(text, 'utf8').equals(cut)) return { payload: text, payload_encoding: 'string' };
  return { payload: cut.toString('base64'), payload_encoding: 'base64' };
}

/**
 * POST .../get: takes up to `count` messages as a basic.get would, shows them, then settles them
 * as `ackmode` says (requeued ones come back redelivered, rejected ones are dead-lettered).
 */
function getMessages(ctx: ManagementContext, req: ApiRequest): JsonValue {
  const body = bodyObject(req.body);
  const v = vhostFor(ctx, req.user, req.params.vhost!, 'act');
  const q = queueOr404(v, req.params.name!);
  const count = intField(body, 'count', 1, 10_000);
  const ackmode = stringField(body, 'ackmode', '') as Ackmode;
  if (!ACKMODES.includes(ackmode)) throw badRequest(`ackmode must be one of ${ACKMODES.join(', ')}`);
  const encoding = stringField(body, 'encoding', 'auto');
  if (encoding !== 'auto' && encoding !== 'base64') throw badRequest('encoding must be auto or base64');
  const truncate = body.truncate === undefined || body.truncate === null ? undefined : intField(body, 'truncate', 0);
  authorize(channelAccess(ctx.broker.access, req.user, v.name), 'basic.get', { queue: q.name });
  v.getQueue(q.name, 0);
  const taken: QueueEntry[] = [];
  const out: JsonValue[] = [];
  for (let i = 0; i < count; i++) {
    const e = q.get(false);
    if (e === undefined) break;
    const msg = e.msg!;
    out.push({
      payload_bytes: msg.bodySize,
      redelivered: e.redelivered,
      exchange: msg.exchange,
      routing_key: msg.routingKey,
      message_count: q.messageCount,
      properties: propertiesToJson(msg.decodedProperties),
      ...payloadView(msg.body, encoding, truncate),
    });
    q.markDelivered(e);
    taken.push(e);
  }
  if (ackmode === 'ack_requeue_true' || ackmode === 'reject_requeue_true') q.requeue(taken, 'released');
  else if (ackmode === 'ack_requeue_false') for (const e of taken) q.ack(e);
  else for (const e of taken) q.reject(e);
  return out;
}

/**
 * POST .../actions: RabbitMQ's sync and cancel_sync act on classic mirrored queues; Warren has no
 * mirrors, so for an existing queue they are done at once (204), as for an unmirrored queue there.
 */
function action(ctx: ManagementContext, req: ApiRequest) {
  const body = bodyObject(req.body);
  const v = vhostFor(ctx, req.user, req.params.vhost!, 'act');
  queueOr404(v, req.params.name!);
  const what = body.action;
  if (what !== 'sync' && what !== 'cancel_sync') throw badRequest(['unknown', what ?? null]);
  return noContent();
}

export const queueRoutes: readonly Route[] = [
  { method: 'GET', url: '/api/queues', handler: list },
  { method: 'GET', url: '/api/queues/:vhost', handler: list },
  { method: 'GET', url: '/api/queues/:vhost/:name', handler: show },
  { method: 'PUT', url: '/api/queues/:vhost/:name', handler: declare },
  { method: 'DELETE', url: '/api/queues/:vhost/:name', handler: remove },
  { method: 'DELETE', url: '/api/queues/:vhost/:name/contents', handler: purge },
  { method: 'POST', url: '/api/queues/:vhost/:name/get', handler: getMessages },
  { method: 'POST', url: '/api/queues/:vhost/:name/actions', handler: action },
];
