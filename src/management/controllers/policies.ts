/**
 * Policies, operator policies and parameters (rabbit_mgmt_wm_policies, _policy,
 * _operator_policies, _operator_policy, _parameters, _global_parameters). Setting and clearing go
 * through the broker's setPolicy and clearPolicy: RabbitMQ's validation, durably, applied at once.
 */
import { PolicyValidationError } from '../../broker/policies.js';
import type { PolicyKind } from '../../policy/policy.js';
import type { JsonValue } from '../../util/json.js';
import { requireLevel } from '../auth.js';
import type { ManagementContext } from '../context.js';
import { badRequest, objectNotFound } from '../http-errors.js';
import { listing } from '../listing.js';
import { bodyObject } from '../request-body.js';
import { created, noContent, type ApiRequest, type Route } from '../route.js';
import { policyView } from '../views.js';
import { visibleVhosts, vhostFor } from '../vhost-scope.js';

const setOf = (ctx: ManagementContext, vhost: string, kind: PolicyKind) => {
  const v = ctx.broker.vhosts.get(vhost)!;
  return kind === 'policy' ? v.policies : v.operatorPolicies;
};

function list(ctx: ManagementContext, req: ApiRequest, kind: PolicyKind): JsonValue {
  const items = visibleVhosts(ctx, req.user, req.params.vhost).flatMap((v) => setOf(ctx, v.name, kind).list().map((p) => policyView(p)));
  return listing(items, req.query, ['vhost', 'name']);
}

function show(ctx: ManagementContext, req: ApiRequest, kind: PolicyKind): JsonValue {
  const v = vhostFor(ctx, req.user, req.params.vhost!);
  const p = setOf(ctx, v.name, kind).list().find((x) => x.name === req.params.name);
  if (p === undefined) throw objectNotFound();
  return policyView(p);
}

function put(ctx: ManagementContext, req: ApiRequest, kind: PolicyKind) {
  const body = bodyObject(req.body);
  const v = vhostFor(ctx, req.user, req.params.vhost!, 'act');
  const name = req.params.name!;
  const existed = setOf(ctx, v.name, kind).list().some((x) => x.name === name);
  try {
    ctx.broker.setPolicy(v.name, name, { pattern: body.pattern, definition: body.definition, priority: body.priority, 'apply-to': body['apply-to'] }, kind);
  } catch (e) {
    if (e instanceof PolicyValidationError) throw badRequest(`${e.message}\n`);
    throw e;
  }
  return existed ? noContent() : created();
}

function remove(ctx: ManagementContext, req: ApiRequest, kind: PolicyKind) {
  const v = vhostFor(ctx, req.user, req.params.vhost!, 'act');
  if (!ctx.broker.clearPolicy(v.name, req.params.name!, kind)) throw objectNotFound();
  return noContent();
}

function routesFor(path: string, kind: PolicyKind): Route[] {
  // Policies: any user lists those of its vhosts, policymakers change them; operator policies are the administrators'.
  const change = kind === 'policy' ? ('policymaker' as const) : ('administrator' as const);
  const read = kind === 'policy' ? undefined : ('administrator' as const);
  return [
    { method: 'GET', url: `/api/${path}`, level: read, handler: (c, r) => list(c, r, kind) },
    { method: 'GET', url: `/api/${path}/:vhost`, level: read, handler: (c, r) => list(c, r, kind) },
    { method: 'GET', url: `/api/${path}/:vhost/:name`, level: read, handler: (c, r) => show(c, r, kind) },
    { method: 'PUT', url: `/api/${path}/:vhost/:name`, level: change, handler: (c, r) => put(c, r, kind) },
    { method: 'DELETE', url: `/api/${path}/:vhost/:name`, level: change, handler: (c, r) => remove(c, r, kind) },
  ];
}

/** Vhost-scoped runtime parameters: Warren has none of the components (federation, shovel) that set them. */
function parameters(ctx: ManagementContext, req: ApiRequest): JsonValue {
  requireLevel(req.user, 'policymaker');
  if (req.params.vhost !== undefined) vhostFor(ctx, req.user, req.params.vhost);
  return listing([], req.query);
}

export const policyRoutes: readonly Route[] = [
  ...routesFor('policies', 'policy'),
  ...routesFor('operator-policies', 'operator_policy'),
  { method: 'GET', url: '/api/parameters', handler: parameters },
  { method: 'GET', url: '/api/parameters/:component', handler: parameters },
  { method: 'GET', url: '/api/parameters/:component/:vhost', handler: parameters },
  { method: 'GET', url: '/api/parameters/:component/:vhost/:name', handler: () => { throw objectNotFound(); } },
  {
    method: 'GET',
    url: '/api/global-parameters',
    level: 'administrator',
    handler: (c, r) => listing([...c.broker.globalParameters].map(([name, value]) => ({ name, value })), r.query, ['name']),
  },
  {
    method: 'GET',
    url: '/api/global-parameters/:name',
    level: 'administrator',
    handler: (c, r) => {
      const value = c.broker.globalParameters.get(r.params.name!);
      if (value === undefined) throw objectNotFound();
      return { name: r.params.name!, value };
    },
  },
];
