/**
 * Users, vhosts, permissions and topic permissions (rabbit_mgmt_wm_users, _user, _vhosts, _vhost,
 * _permissions, _permission, _topic_permissions, _whoami). The access database is the one the AMQP
 * side logs in against; the broker follows its changes (definitions log, connections closed when a
 * user or vhost goes).
 */
import type { AccessDatabase } from '../../access/access-database.js';
import { isHashingAlgorithm } from '../../access/password-hashing.js';
import { KNOWN_QUEUE_TYPES, type QueueType } from '../../queue/arguments.js';
import type { JsonValue } from '../../util/json.js';
import { seesVhost } from '../auth.js';
import type { ManagementContext } from '../context.js';
import { badRequest, notFound, objectNotFound } from '../http-errors.js';
import { listing } from '../listing.js';
import { bodyObject, boolField, stringField, type JsonObject } from '../request-body.js';
import { created, noContent, type ApiRequest, type Route } from '../route.js';
import { permissionView, topicPermissionView, userView, vhostView } from '../views.js';

const db = (ctx: ManagementContext): AccessDatabase => ctx.broker.access;

/** Tags as the API takes them: a comma-separated string (rabbitmqadmin) or a list. */
function tagsField(body: JsonObject): string[] {
  const v = body.tags;
  if (v === undefined || v === null) return [];
  if (typeof v === 'string') return v.split(',').map((t) => t.trim()).filter((t) => t !== '');
  if (Array.isArray(v) && v.every((t) => typeof t === 'string')) return v as string[];
  throw badRequest('tags must be a string or a list of strings');
}

function listVhosts(ctx: ManagementContext, req: ApiRequest): JsonValue {
  const items = db(ctx)
    .listVhosts()
    .filter((r) => seesVhost(db(ctx), req.user, r.name))
    .map((r) => vhostView(ctx, r, ctx.broker.vhosts.get(r.name)));
  return listing(items, req.query, ['name']);
}

function showVhost(ctx: ManagementContext, req: ApiRequest): JsonValue {
  const r = db(ctx).vhost(req.params.vhost!);
  if (r === undefined) throw objectNotFound();
  return vhostView(ctx, r, ctx.broker.vhosts.get(r.name));
}

function putVhost(ctx: ManagementContext, req: ApiRequest) {
  const body = bodyObject(req.body);
  const name = req.params.vhost!;
  const existing = db(ctx).vhost(name);
  const type = body.default_queue_type;
  if (type !== undefined && type !== null && !(typeof type === 'string' && (KNOWN_QUEUE_TYPES as readonly string[]).includes(type))) {
    throw badRequest(`default_queue_type must be one of ${KNOWN_QUEUE_TYPES.join(', ')}`);
  }
  db(ctx).putVhost({
    name,
    description: stringField(body, 'description', existing?.description ?? ''),
    tags: body.tags === undefined ? existing?.tags : tagsField(body),
    defaultQueueType: (type as QueueType | undefined) ?? existing?.defaultQueueType,
    limits: existing?.limits,
    tracing: boolField(body, 'tracing', existing?.tracing ?? false),
  });
  return existing === undefined ? created() : noContent();
}

function deleteVhost(ctx: ManagementContext, req: ApiRequest) {
  if (db(ctx).vhost(req.params.vhost!) === undefined) throw objectNotFound();
  db(ctx).deleteVhost(req.params.vhost!);
  return noContent();
}

function showUser(ctx: ManagementContext, req: ApiRequest): JsonValue {
  const u = db(ctx).user(req.params.user!);
  if (u === undefined) throw objectNotFound();
  return userView(u);
}

/** PUT /api/users/{name}: password, or password_hash (with hashing_algorithm), and tags; neither means no password. */
function putUser(ctx: ManagementContext, req: ApiRequest) {
  const body = bodyObject(req.body);
  const name = req.params.user!;
  const existed = db(ctx).user(name) !== undefined;
  const password = body.password;
  const hash = body.password_hash;
  if (password !== undefined && typeof password !== 'string') throw badRequest('password must be a string');
  if (hash !== undefined && typeof hash !== 'string') throw badRequest('password_hash must be a string');
  if (password === undefined && hash === undefined && !existed) throw badRequest('password or password_hash must be set');
  const algorithm = body.hashing_algorithm ?? 'rabbit_password_hashing_sha256';
  if (!isHashingAlgorithm(algorithm)) throw badRequest(`unknown hashing algorithm ${String(algorithm)}`);
  const tags = tagsField(body);
  if (password === undefined && hash === undefined) {
    const old = db(ctx).user(name)!;
    db(ctx).putUser({ name, passwordHash: old.passwordHash, hashingAlgorithm: old.hashingAlgorithm, tags });
  } else if (typeof hash === 'string') {
    db(ctx).putUser({ name, passwordHash: hash === '' ? Buffer.alloc(0) : Buffer.from(hash, 'base64'), hashingAlgorithm: algorithm, tags });
  } else {
    db(ctx).putUser({ name, password: password as string, tags });
  }
  return existed ? noContent() : created();
}

function deleteUser(ctx: ManagementContext, req: ApiRequest) {
  if (db(ctx).user(req.params.user!) === undefined) throw objectNotFound();
  db(ctx).deleteUser(req.params.user!);
  return noContent();
}

function permissionsOf(ctx: ManagementContext, filter: (p: { user: string; vhost: string }) => boolean, topic: boolean): JsonValue {
  return topic ? db(ctx).listTopicPermissions().filter(filter).map(topicPermissionView) : db(ctx).listPermissions().filter(filter).map(permissionView);
}

function requireUserAndVhost(ctx: ManagementContext, req: ApiRequest): { user: string; vhost: string } {
  const user = req.params.user!;
  const vhost = req.params.vhost!;
  if (db(ctx).vhost(vhost) === undefined) throw notFound('vhost_not_found');
  if (db(ctx).user(user) === undefined) throw notFound('user_not_found');
  return { user, vhost };
}

function putPermission(ctx: ManagementContext, req: ApiRequest) {
  const body = bodyObject(req.body);
  const { user, vhost } = requireUserAndVhost(ctx, req);
  const existed = db(ctx).permission(user, vhost) !== undefined;
  db(ctx).setPermissions(user, vhost, stringField(body, 'configure', ''), stringField(body, 'write', ''), stringField(body, 'read', ''));
  return existed ? noContent() : created();
}

function showPermission(ctx: ManagementContext, req: ApiRequest): JsonValue {
  const { user, vhost } = requireUserAndVhost(ctx, req);
  const p = db(ctx).permission(user, vhost);
  if (p === undefined) throw objectNotFound();
  return permissionView(p);
}

function deletePermission(ctx: ManagementContext, req: ApiRequest) {
  const { user, vhost } = requireUserAndVhost(ctx, req);
  if (db(ctx).permission(user, vhost) === undefined) throw objectNotFound();
  db(ctx).clearPermissions(user, vhost);
  return noContent();
}

function putTopicPermission(ctx: ManagementContext, req: ApiRequest) {
  const body = bodyObject(req.body);
  const { user, vhost } = requireUserAndVhost(ctx, req);
  const exchange = stringField(body, 'exchange', '');
  if (exchange === '') throw badRequest('exchange must be set');
  db(ctx).setTopicPermissions(user, vhost, exchange, stringField(body, 'write', ''), stringField(body, 'read', ''));
  return created();
}

function deleteTopicPermission(ctx: ManagementContext, req: ApiRequest) {
  const { user, vhost } = requireUserAndVhost(ctx, req);
  const exchange = typeof req.query.exchange === 'string' ? req.query.exchange : undefined;
  db(ctx).clearTopicPermissions(user, vhost, exchange);
  return noContent();
}

const ADMIN = 'administrator' as const;

export const accessRoutes: readonly Route[] = [
  { method: 'GET', url: '/api/whoami', handler: (_c, r) => ({ name: r.user.name, tags: [...r.user.tags] }) },
  { method: 'GET', url: '/api/vhosts', handler: listVhosts },
  { method: 'GET', url: '/api/vhosts/:vhost', level: ADMIN, handler: showVhost },
  { method: 'PUT', url: '/api/vhosts/:vhost', level: ADMIN, handler: putVhost },
  { method: 'DELETE', url: '/api/vhosts/:vhost', level: ADMIN, handler: deleteVhost },
  { method: 'GET', url: '/api/vhosts/:vhost/permissions', level: ADMIN, handler: (c, r) => permissionsOf(c, (p) => p.vhost === r.params.vhost, false) },
  { method: 'GET', url: '/api/vhosts/:vhost/topic-permissions', level: ADMIN, handler: (c, r) => permissionsOf(c, (p) => p.vhost === r.params.vhost, true) },
  { method: 'GET', url: '/api/users', level: ADMIN, handler: (c, r) => listing(db(c).listUsers().map(userView), r.query, ['name']) },
  {
    method: 'GET',
    url: '/api/users/without-permissions',
    level: ADMIN,
    handler: (c) => db(c).listUsers().filter((u) => !db(c).listPermissions().some((p) => p.user === u.name)).map(userView),
  },
  { method: 'GET', url: '/api/users/:user', level: ADMIN, handler: showUser },
  { method: 'PUT', url: '/api/users/:user', level: ADMIN, handler: putUser },
  { method: 'DELETE', url: '/api/users/:user', level: ADMIN, handler: deleteUser },
  { method: 'GET', url: '/api/users/:user/permissions', level: ADMIN, handler: (c, r) => permissionsOf(c, (p) => p.user === r.params.user, false) },
  { method: 'GET', url: '/api/users/:user/topic-permissions', level: ADMIN, handler: (c, r) => permissionsOf(c, (p) => p.user === r.params.user, true) },
  { method: 'GET', url: '/api/permissions', level: ADMIN, handler: (c, r) => listing(db(c).listPermissions().map(permissionView), r.query, ['vhost', 'user']) },
  { method: 'GET', url: '/api/permissions/:vhost/:user', level: ADMIN, handler: showPermission },
  { method: 'PUT', url: '/api/permissions/:vhost/:user', level: ADMIN, handler: putPermission },
  { method: 'DELETE', url: '/api/permissions/:vhost/:user', level: ADMIN, handler: deletePermission },
  { method: 'GET', url: '/api/topic-permissions', level: ADMIN, handler: (c, r) => listing(db(c).listTopicPermissions().map(topicPermissionView), r.query, ['vhost', 'user']) },
  { method: 'GET', url: '/api/topic-permissions/:vhost/:user', level: ADMIN, handler: (c, r) => permissionsOf(c, (p) => p.vhost === r.params.vhost && p.user === r.params.user, true) },
  { method: 'PUT', url: '/api/topic-permissions/:vhost/:user', level: ADMIN, handler: putTopicPermission },
  { method: 'DELETE', url: '/api/topic-permissions/:vhost/:user', level: ADMIN, handler: deleteTopicPermission },
];
