/**
 * /api/bindings and the bindings of an exchange or queue (rabbit_mgmt_wm_bindings,
 * rabbit_mgmt_wm_binding): list, create (POST, answered with the new binding's properties key in
 * Location) and delete by properties key. Bind and unbind are the vhost's, with a channel's access rows.
 */
import { authorize } from '../../access/method-access.js';
import type { Binding } from '../../exchange/exchange.js';
import type { JsonValue } from '../../util/json.js';
import type { VHost } from '../../vhost.js';
import { channelAccess } from '../auth.js';
import type { ManagementContext } from '../context.js';
import { badRequest, objectNotFound } from '../http-errors.js';
import { listing } from '../listing.js';
import { argumentsField, bodyObject, stringField } from '../request-body.js';
import { Answer, noContent, type ApiRequest, type Route } from '../route.js';
import { bindingView, defaultBindingView, propertiesKey } from '../views.js';
import { visibleVhosts, vhostFor } from '../vhost-scope.js';
import { tableToJson } from '../../definitions/amqp-table-json.js';
import type { JsonObject } from '../request-body.js';

const SORT = ['vhost', 'source', 'destination', 'routing_key'] as const;

/** Every binding of a vhost, the default exchange's implicit ones first (as RabbitMQ lists them). */
function vhostBindings(v: VHost): JsonObject[] {
  const out: JsonObject[] = [...v.queues.values()].map((q) => defaultBindingView(v, q));
  for (const x of v.exchanges.values()) for (const b of x.bindings.values()) out.push(bindingView(v, b));
  return out;
}

function list(ctx: ManagementContext, req: ApiRequest): JsonValue {
  // RabbitMQ keeps the bindings in its own order; unsorted unless asked.
  return listing(visibleVhosts(ctx, req.user, req.params.vhost).flatMap(vhostBindings), req.query, []);
}

function exchangeBindings(ctx: ManagementContext, req: ApiRequest, side: 'source' | 'destination'): JsonValue {
  const v = vhostFor(ctx, req.user, req.params.vhost!);
  const name = req.params.name === 'amq.default' ? '' : req.params.name!;
  const x = v.exchanges.get(name);
  if (x === undefined) throw objectNotFound();
  const items = vhostBindings(v).filter((b) => (side === 'source' ? b.source === name : b.destination_type === 'exchange' && b.destination === name));
  return listing(items, req.query, []);
}

function queueBindings(ctx: ManagementContext, req: ApiRequest): JsonValue {
  const v = vhostFor(ctx, req.user, req.params.vhost!);
  const name = req.params.name!;
  if (!v.queues.has(name)) throw objectNotFound();
  return listing(vhostBindings(v).filter((b) => b.destination_type === 'queue' && b.destination === name), req.query, []);
}

type Kind = 'queue' | 'exchange';

function ends(ctx: ManagementContext, req: ApiRequest, kind: Kind) {
  const v = vhostFor(ctx, req.user, req.params.vhost!);
  const source = v.exchanges.get(req.params.source!);
  const destination = kind === 'queue' ? v.queues.get(req.params.destination!) : v.exchanges.get(req.params.destination!);
  if (source === undefined || destination === undefined) throw objectNotFound();
  return { v, source, destination };
}

function between(ctx: ManagementContext, req: ApiRequest, kind: Kind): Binding[] {
  const { source, destination } = ends(ctx, req, kind);
  return [...source.bindings.values()].filter((b) => b.destination === destination);
}

function listBetween(ctx: ManagementContext, req: ApiRequest, kind: Kind): JsonValue {
  const v = vhostFor(ctx, req.user, req.params.vhost!);
  return listing(between(ctx, req, kind).map((b) => bindingView(v, b)), req.query, [...SORT]);
}

function bindingByKey(ctx: ManagementContext, req: ApiRequest, kind: Kind): Binding {
  const b = between(ctx, req, kind).find((x) => propertiesKey(x.routingKey, tableToJson(x.arguments)) === req.params.props);
  if (b === undefined) throw objectNotFound();
  return b;
}

function create(ctx: ManagementContext, req: ApiRequest, kind: Kind) {
  const body = bodyObject(req.body);
  const { v, source, destination } = ends(ctx, req, kind);
  const routingKey = stringField(body, 'routing_key', '');
  if (Buffer.byteLength(routingKey) > 255) throw badRequest('routing_key is at most 255 bytes');
  const args = argumentsField(body);
  const access = channelAccess(ctx.broker.access, req.user, v.name);
  authorize(access, kind === 'queue' ? 'queue.bind' : 'exchange.bind', {
    destination: { kind, name: destination.name },
    source: source.name,
    routingKey,
    exchangeFacts: () => ({ type: source.type, internal: source.options.internal }),
  });
  v.bind(source.name, kind, destination.name, routingKey, args, 0);
  // Location is relative to the request's path, as RabbitMQ's: "<destination>/<props>".
  return new Answer(201, undefined, { location: `${encodeURIComponent(destination.name)}/${encodeURIComponent(propertiesKey(routingKey, tableToJson(args)))}` });
}

function remove(ctx: ManagementContext, req: ApiRequest, kind: Kind) {
  const b = bindingByKey(ctx, req, kind);
  const v = vhostFor(ctx, req.user, req.params.vhost!, 'act');
  authorize(channelAccess(ctx.broker.access, req.user, v.name), kind === 'queue' ? 'queue.unbind' : 'exchange.unbind', {
    destination: { kind, name: b.destination.name },
    source: b.source.name,
    routingKey: b.routingKey,
    exchangeFacts: () => ({ type: b.source.type, internal: b.source.options.internal }),
  });
  v.unbind(b.source.name, kind, b.destination.name, b.routingKey, b.arguments, 0);
  return noContent();
}

const pair = (kind: Kind, letter: 'q' | 'e'): Route[] => {
  const base = `/api/bindings/:vhost/e/:source/${letter}/:destination`;
  return [
    { method: 'GET', url: base, handler: (c, r) => listBetween(c, r, kind) },
    { method: 'POST', url: base, handler: (c, r) => create(c, r, kind) },
    { method: 'GET', url: `${base}/:props`, handler: (c, r) => bindingView(vhostFor(c, r.user, r.params.vhost!), bindingByKey(c, r, kind)) },
    { method: 'DELETE', url: `${base}/:props`, handler: (c, r) => remove(c, r, kind) },
  ];
};

export const bindingRoutes: readonly Route[] = [
  { method: 'GET', url: '/api/bindings', handler: list },
  { method: 'GET', url: '/api/bindings/:vhost', handler: list },
  { method: 'GET', url: '/api/exchanges/:vhost/:name/bindings/source', handler: (c, r) => exchangeBindings(c, r, 'source') },
  { method: 'GET', url: '/api/exchanges/:vhost/:name/bindings/destination', handler: (c, r) => exchangeBindings(c, r, 'destination') },
  { method: 'GET', url: '/api/queues/:vhost/:name/bindings', handler: queueBindings },
  ...pair('queue', 'q'),
  ...pair('exchange', 'e'),
];
