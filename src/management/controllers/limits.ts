/**
 * Vhost limits (rabbit_mgmt_wm_limits, rabbit_mgmt_wm_limit): max-connections and max-queues, read
 * by anyone who sees the vhost, set and cleared by administrators, through the access database
 * (the same limits connection.open and queue.declare enforce).
 */
import type { VhostLimits } from '../../access/access-database.js';
import { isJsonInteger, jsonNumber, type JsonValue } from '../../util/json.js';
import type { ManagementContext } from '../context.js';
import { badRequest, notFound } from '../http-errors.js';
import { bodyObject } from '../request-body.js';
import { noContent, type ApiRequest, type Route } from '../route.js';
import { visibleVhosts } from '../vhost-scope.js';

const NAMES = ['max-connections', 'max-queues'] as const;

function list(ctx: ManagementContext, req: ApiRequest): JsonValue {
  return visibleVhosts(ctx, req.user, req.params.vhost)
    .map((v) => ({ vhost: v.name, value: { ...ctx.broker.access.vhost(v.name)!.limits } }))
    .filter((l) => Object.keys(l.value).length > 0);
}

function limitName(req: ApiRequest): (typeof NAMES)[number] {
  const name = req.params.name as (typeof NAMES)[number];
  if (!NAMES.includes(name)) throw badRequest(`unknown limit ${req.params.name} (known: ${NAMES.join(', ')})`);
  return name;
}

function put(ctx: ManagementContext, req: ApiRequest) {
  const body = bodyObject(req.body);
  const vhost = ctx.broker.access.vhost(req.params.vhost!);
  if (vhost === undefined) throw notFound('vhost_not_found');
  const name = limitName(req);
  // RabbitMQ's body is {"value": N}; without it, its validation's text.
  if (body.value === undefined) throw badRequest('[{key_missing,value}]');
  if (!isJsonInteger(body.value)) throw badRequest(`${name} should be a number`);
  ctx.broker.access.setVhostLimits(vhost.name, { ...vhost.limits, [name]: jsonNumber(body.value) } as VhostLimits);
  return noContent();
}

function remove(ctx: ManagementContext, req: ApiRequest) {
  const vhost = ctx.broker.access.vhost(req.params.vhost!);
  if (vhost === undefined) throw notFound('vhost_not_found');
  const name = limitName(req);
  const { [name]: _gone, ...rest } = vhost.limits;
  ctx.broker.access.setVhostLimits(vhost.name, rest);
  return noContent();
}

export const limitRoutes: readonly Route[] = [
  { method: 'GET', url: '/api/vhost-limits', handler: list },
  { method: 'GET', url: '/api/vhost-limits/:vhost', handler: list },
  { method: 'PUT', url: '/api/vhost-limits/:vhost/:name', level: 'administrator', handler: put },
  { method: 'DELETE', url: '/api/vhost-limits/:vhost/:name', level: 'administrator', handler: remove },
];
