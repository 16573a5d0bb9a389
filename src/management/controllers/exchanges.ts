/**
 * /api/exchanges (rabbit_mgmt_wm_exchanges, rabbit_mgmt_wm_exchange,
 * rabbit_mgmt_wm_exchange_publish): list, show, declare, delete and publish. A publish goes
 * through VHost.publish, the one way a message enters queues, with the checks a channel makes.
 */
import { authorize } from '../../access/method-access.js';
import { Message, expirationError, scanProperties, takeRoutingHeaders, InvalidMessage } from '../../message/message.js';
import { stringValue } from '../../protocol/field-table.js';
import { Writer } from '../../protocol/codec-primitives.js';
import { encodeBasicProperties, type BasicProperties } from '../../protocol/generated/properties.js';
import type { Exchange } from '../../exchange/exchange.js';
import type { JsonValue } from '../../util/json.js';
import type { VHost } from '../../vhost.js';
import { channelAccess } from '../auth.js';
import type { ManagementContext } from '../context.js';
import { badRequest, objectNotFound } from '../http-errors.js';
import { listing } from '../listing.js';
import { propertiesFromJson } from '../message-properties.js';
import { argumentsField, bodyObject, boolField, stringField } from '../request-body.js';
import { created, noContent, type ApiRequest, type Route } from '../route.js';
import { exchangeView } from '../views.js';
import { visibleVhosts, vhostFor } from '../vhost-scope.js';

/** The API names the default exchange amq.default. */
const pathName = (name: string) => (name === 'amq.default' ? '' : name);

function exchangeOr404(v: VHost, name: string): Exchange {
  const x = v.exchanges.get(pathName(name));
  if (x === undefined) throw objectNotFound();
  return x;
}

function list(ctx: ManagementContext, req: ApiRequest): JsonValue {
  const items = visibleVhosts(ctx, req.user, req.params.vhost).flatMap((v) => [...v.exchanges.values()].map((x) => exchangeView(v, x, undefined)));
  return listing(items, req.query);
}

function show(ctx: ManagementContext, req: ApiRequest): JsonValue {
  const v = vhostFor(ctx, req.user, req.params.vhost!);
  return { ...exchangeView(v, exchangeOr404(v, req.params.name!), req.user.name), incoming: [], outgoing: [] };
}

function declare(ctx: ManagementContext, req: ApiRequest) {
  const body = bodyObject(req.body);
  const v = vhostFor(ctx, req.user, req.params.vhost!, 'act');
  const name = req.params.name!;
  const type = stringField(body, 'type', 'direct');
  const args = argumentsField(body);
  const access = channelAccess(ctx.broker.access, req.user, v.name);
  const existed = v.exchanges.has(name);
  v.declareExchange({
    name,
    type,
    passive: false,
    durable: boolField(body, 'durable', false),
    autoDelete: boolField(body, 'auto_delete', false),
    internal: boolField(body, 'internal', false),
    arguments: args,
    authorize: (n) => authorize(access, 'exchange.declare', { exchange: n, alternateExchange: stringValue(args.get('alternate-exchange')), exists: () => v.exchanges.has(n) }),
  });
  return existed ? noContent() : created();
}

function remove(ctx: ManagementContext, req: ApiRequest) {
  const v = vhostFor(ctx, req.user, req.params.vhost!, 'act');
  const x = exchangeOr404(v, req.params.name!);
  authorize(channelAccess(ctx.broker.access, req.user, v.name), 'exchange.delete', { exchange: x.name });
  v.deleteExchange(x.name, req.query['if-unused'] === 'true');
  return noContent();
}

const propertiesWriter = new Writer(1024);

function encodeProperties(p: BasicProperties): Buffer {
  propertiesWriter.pos = 0;
  encodeBasicProperties(propertiesWriter, p);
  return Buffer.from(propertiesWriter.bytes());
}

function payloadOf(body: ReturnType<typeof bodyObject>): Buffer {
  const payload = stringField(body, 'payload', '');
  const encoding = stringField(body, 'payload_encoding', 'string');
  if (encoding === 'string') return Buffer.from(payload, 'utf8');
  if (encoding !== 'base64') throw badRequest(['unknown_payload_encoding', encoding]);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(payload) || payload.length % 4 !== 0) throw badRequest(['not_base64', payload]);
  return Buffer.from(payload, 'base64');
}

/** POST .../publish: `{"routed": true|false}`, as RabbitMQ answers (with publisher confirms: routed to at least one queue). */
function publish(ctx: ManagementContext, req: ApiRequest): JsonValue {
  const body = bodyObject(req.body);
  const v = vhostFor(ctx, req.user, req.params.vhost!, 'act');
  const exchangeName = pathName(req.params.name!);
  const routingKey = stringField(body, 'routing_key', '');
  if (Buffer.byteLength(routingKey) > 255) throw badRequest('routing_key is at most 255 bytes');
  const properties = propertiesFromJson(body.properties);
  const payload = payloadOf(body);
  if (payload.length > ctx.broker.config.maxMessageSize) throw badRequest(`message size ${payload.length} is larger than max size ${ctx.broker.config.maxMessageSize}`);
  const access = channelAccess(ctx.broker.access, req.user, v.name);
  authorize(access, 'basic.publish', {
    exchange: exchangeName,
    routingKey,
    userId: properties.userId,
    exchangeFacts: () => {
      const x = v.exchanges.get(exchangeName);
      return x === undefined ? undefined : { type: x.type, internal: x.options.internal };
    },
  });
  const x = v.exchangeForPublish(exchangeName);
  if (properties.expiration !== undefined) {
    const reason = expirationError(properties.expiration);
    if (reason !== undefined) throw badRequest(`invalid expiration '${properties.expiration}': ${reason}`);
  }
  const raw = encodeProperties(properties);
  const msg = new Message(exchangeName, routingKey, raw, payload);
  scanProperties(msg, raw);
  if (msg.hasRoutingHeaders) {
    try {
      const extra = takeRoutingHeaders(msg);
      if (extra.length > 0) msg.extraKeys = extra;
    } catch (e) {
      if (e instanceof InvalidMessage) throw badRequest(`invalid message: ${e.message}`);
      throw e;
    }
  }
  const routed = v.publish(x, routingKey, msg.extraKeys, msg, undefined, undefined);
  return { routed: routed > 0 };
}

export const exchangeRoutes: readonly Route[] = [
  { method: 'GET', url: '/api/exchanges', handler: list },
  { method: 'GET', url: '/api/exchanges/:vhost', handler: list },
  { method: 'GET', url: '/api/exchanges/:vhost/:name', handler: show },
  { method: 'PUT', url: '/api/exchanges/:vhost/:name', handler: declare },
  { method: 'DELETE', url: '/api/exchanges/:vhost/:name', handler: remove },
  { method: 'POST', url: '/api/exchanges/:vhost/:name/publish', handler: publish },
];
