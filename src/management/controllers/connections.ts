/**
 * Connections, channels and consumers (rabbit_mgmt_wm_connections, _connection, _channels,
 * _channel, _consumers). Monitoring users see everyone's; others their own. DELETE on a connection
 * closes it with 320 CONNECTION_FORCED and the X-Reason header's text, as RabbitMQ does.
 */
import type { AuthenticatedUser } from '../../access/access-database.js';
import type { Connection } from '../../connection/connection.js';
import type { JsonValue } from '../../util/json.js';
import { hasLevel } from '../auth.js';
import type { ManagementContext } from '../context.js';
import { objectNotFound } from '../http-errors.js';
import { listing } from '../listing.js';
import { noContent, type ApiRequest, type Route } from '../route.js';
import type { JsonObject } from '../request-body.js';
import { channelName, channelView, connectionName, connectionView, consumerView } from '../views.js';
import { vhostFor } from '../vhost-scope.js';

function visibleConnections(ctx: ManagementContext, user: AuthenticatedUser, vhost?: string): Connection[] {
  const all = hasLevel(user, 'monitoring');
  return [...ctx.broker.connections].filter((c) => c.state === 'running' && (all || c.userName === user.name) && (vhost === undefined || c.vhostName === vhost));
}

function connectionOr404(ctx: ManagementContext, user: AuthenticatedUser, name: string): Connection {
  const c = visibleConnections(ctx, user).find((x) => connectionName(x) === name);
  if (c === undefined) throw objectNotFound();
  return c;
}

function listConnections(ctx: ManagementContext, req: ApiRequest): JsonValue {
  if (req.params.vhost !== undefined) vhostFor(ctx, req.user, req.params.vhost);
  return listing(visibleConnections(ctx, req.user, req.params.vhost).map((c) => connectionView(ctx, c)), req.query, ['name']);
}

function closeConnection(ctx: ManagementContext, req: ApiRequest) {
  const c = connectionOr404(ctx, req.user, req.params.name!);
  const reason = req.headers['x-reason'];
  c.closeForced(typeof reason === 'string' && reason !== '' ? reason : 'Closed via management plugin');
  return noContent();
}

function channelsOf(ctx: ManagementContext, connections: readonly Connection[]): JsonObject[] {
  return connections.flatMap((c) => [...c.channels.values()].map((ch) => channelView(ctx, c, ch)));
}

function listChannels(ctx: ManagementContext, req: ApiRequest): JsonValue {
  if (req.params.vhost !== undefined) vhostFor(ctx, req.user, req.params.vhost);
  return listing(channelsOf(ctx, visibleConnections(ctx, req.user, req.params.vhost)), req.query, ['name']);
}

function showChannel(ctx: ManagementContext, req: ApiRequest): JsonValue {
  for (const c of visibleConnections(ctx, req.user)) {
    for (const ch of c.channels.values()) {
      if (channelName(c, ch) !== req.params.name) continue;
      const consumers = [...ch.deliveries.consumers.values()].map((k) => consumerView(c, ch, k));
      return { ...channelView(ctx, c, ch), consumer_details: consumers, deliveries: [], publishes: [] };
    }
  }
  throw objectNotFound();
}

function listConsumers(ctx: ManagementContext, req: ApiRequest): JsonValue {
  if (req.params.vhost !== undefined) vhostFor(ctx, req.user, req.params.vhost);
  const items: JsonObject[] = [];
  for (const c of visibleConnections(ctx, req.user, req.params.vhost)) {
    for (const ch of c.channels.values()) for (const k of ch.deliveries.consumers.values()) items.push(consumerView(c, ch, k));
  }
  return listing(items, req.query, []);
}

export const connectionRoutes: readonly Route[] = [
  { method: 'GET', url: '/api/connections', handler: listConnections },
  { method: 'GET', url: '/api/vhosts/:vhost/connections', handler: listConnections },
  { method: 'GET', url: '/api/connections/:name', handler: (c, r) => connectionView(c, connectionOr404(c, r.user, r.params.name!)) },
  { method: 'DELETE', url: '/api/connections/:name', handler: closeConnection },
  { method: 'GET', url: '/api/connections/:name/channels', handler: (c, r) => listing(channelsOf(c, [connectionOr404(c, r.user, r.params.name!)]), r.query, ['name']) },
  { method: 'GET', url: '/api/channels', handler: listChannels },
  { method: 'GET', url: '/api/vhosts/:vhost/channels', handler: listChannels },
  { method: 'GET', url: '/api/channels/:name', handler: showChannel },
  { method: 'GET', url: '/api/consumers', handler: listConsumers },
  { method: 'GET', url: '/api/consumers/:vhost', handler: listConsumers },
];
