/**
 * The checks the connection and the channel make, with RabbitMQ's reply codes and texts:
 *
 * - connection.open: checkVhostAccess, in rabbit_reader's order (vhost connection limit, which is
 *   also where a missing vhost is reported; user connection limit; permission on the vhost).
 * - every resource a method touches: checkResourceAccess (rabbit_access_control + the internal
 *   backend): the permission's regex must match the resource name; the default exchange is checked
 *   under the name amq.default.
 * - routing keys on topic exchanges: checkTopicAccess, with {username} {vhost} {client_id} expanded.
 *
 * ChannelAccess is what a channel holds: the same checks with positive decisions cached until the
 * grant's version moves (RabbitMQ's rabbit_channel keeps the last 12 in its process dictionary).
 */
import { accessRefused, notAllowed, preconditionFailed, type ChannelError } from '../errors.js';
import type { AccessDatabase, AccessGrant, AuthenticatedUser, TopicPermissionRecord } from './access-database.js';
import { compilePermissionRegex } from './access-database.js';
import type { CompiledPattern } from '../util/pcre.js';

export type Permission = 'configure' | 'write' | 'read';
export type ResourceKind = 'queue' | 'exchange';

/** rabbit_misc:rs/1 */
const rs = (kind: string, name: string, vhost: string) => `${kind} '${name}' in vhost '${vhost}'`;

/** The default exchange is authorised as amq.default (rabbit_access_control:check_resource_access/4). */
function authorisedName(kind: ResourceKind, name: string): string {
  return kind === 'exchange' && name === '' ? 'amq.default' : name;
}

/** "access to queue 'q' in vhost 'v' refused for user 'u'" (403). */
function resourceAccessRefused(kind: ResourceKind, name: string, vhost: string, user: string): ChannelError {
  return accessRefused(`access to ${rs(kind, authorisedName(kind, name), vhost)} refused for user '${user}'`);
}

/** "access to topic 'rk' in exchange 'x' in vhost 'v' refused for user 'u'" (403). */
function topicAccessRefused(exchange: string, routingKey: string, vhost: string, user: string): ChannelError {
  return accessRefused(`access to topic '${routingKey}' in exchange '${exchange}' in vhost '${vhost}' refused for user '${user}'`);
}

/** rabbit_auth_backend_internal:check_resource_access/4 */
export function isResourceAccessAllowed(grant: AccessGrant, kind: ResourceKind, name: string, permission: Permission): boolean {
  const p = grant.permissions;
  return p !== undefined && p[permission].test(authorisedName(kind, name));
}

export function checkResourceAccess(grant: AccessGrant, kind: ResourceKind, name: string, permission: Permission): void {
  if (!isResourceAccessAllowed(grant, kind, name, permission)) throw resourceAccessRefused(kind, name, grant.vhost, grant.user);
}

/**
 * The variables a topic permission's regexes may name. RabbitMQ's AMQP 0-9-1 connections supply
 * username and vhost; client_id comes from MQTT (and stays a literal "{client_id}" otherwise).
 */
export interface TopicVariables {
  readonly username: string;
  readonly vhost: string;
  readonly client_id?: string;
}

/**
 * rabbit_auth_backend_internal:expand_topic_permission/2: each {key} is replaced by its value, in
 * the map's key order (client_id, username, vhost), without escaping: a value is regex syntax.
 */
export function expandTopicPermission(regex: string, variables: TopicVariables): string {
  let out = regex;
  for (const k of ['client_id', 'username', 'vhost'] as const) {
    const v = variables[k];
    if (v !== undefined) out = out.split(`{${k}}`).join(v);
  }
  return out;
}

/**
 * rabbit_auth_backend_internal:check_topic_access/4: no topic permission on the exchange allows
 * everything; otherwise the expanded regex must match the routing key. A regex that no longer
 * compiles after expansion (a username with regex syntax in it) refuses: in RabbitMQ re:run raises
 * and the channel crashes instead.
 */
function isTopicAccessAllowed(
  grant: AccessGrant,
  exchange: string,
  routingKey: string,
  permission: 'write' | 'read',
  variables: TopicVariables,
  compile: (source: string) => CompiledPattern | undefined = compileOrUndefined,
): boolean {
  const t: TopicPermissionRecord | undefined = grant.topicPermissions.get(exchange);
  if (t === undefined) return true;
  const pattern = compile(expandTopicPermission(t[permission] === '' ? '^$' : t[permission], variables));
  return pattern !== undefined && pattern.test(routingKey);
}

function compileOrUndefined(source: string): CompiledPattern | undefined {
  try {
    return compilePermissionRegex(source);
  } catch {
    return undefined;
  }
}

export function checkTopicAccess(grant: AccessGrant, exchange: string, routingKey: string, permission: 'write' | 'read', variables: TopicVariables): void {
  if (!isTopicAccessAllowed(grant, exchange, routingKey, permission, variables)) {
    throw topicAccessRefused(exchange, routingKey, grant.vhost, grant.user);
  }
}

/** Connections already open, for the limit checks of connection.open. */
export interface ConnectionCounts {
  /** Open connections to the vhost, not counting this one. */
  readonly inVhost: number;
  /** Open connections of the user, not counting this one. */
  readonly ofUser: number;
}

/**
 * connection.open (rabbit_reader:handle_method0): all refusals are 530 NOT_ALLOWED and close the
 * connection. Returns the grant the connection's channels check against.
 */
export function checkVhostAccess(db: AccessDatabase, user: AuthenticatedUser, vhostName: string, counts: ConnectionCounts): AccessGrant {
  // is_over_vhost_connection_limit: looking up the vhost's limit is what finds a missing vhost.
  const vhost = db.vhost(vhostName);
  if (vhost === undefined) throw notAllowed(`vhost ${vhostName} not found`);
  const vhostLimit = vhost.limits['max-connections'];
  if (vhostLimit !== undefined && vhostLimit >= 0 && counts.inVhost >= vhostLimit) {
    throw notAllowed(`access to vhost '${vhostName}' refused for user '${user.name}': connection limit (${vhostLimit}) is reached`);
  }
  const userLimit = db.user(user.name)?.limits['max-connections'];
  if (userLimit !== undefined && userLimit >= 0 && counts.ofUser >= userLimit) {
    throw notAllowed(`connection refused for user '${user.name}': user connection limit (${userLimit}) is reached`);
  }
  const grant = db.grant(user.name, vhostName);
  if (grant.permissions === undefined) throw notAllowed(`access to vhost '${vhostName}' refused for user '${user.name}'`);
  return grant;
}

/** channel.open over the user's max-channels (rabbit_reader, 530, closes the connection). */
export function checkUserChannelLimit(db: AccessDatabase, user: string, openChannels: number): void {
  const limit = db.user(user)?.limits['max-channels'];
  if (limit !== undefined && limit >= 0 && openChannels >= limit) {
    throw notAllowed(`number of channels opened for user '${user}' has reached the maximum allowed user limit of (${limit})`);
  }
}

/** queue.declare of a new queue over the vhost's max-queues (rabbit_channel, 406). */
export function checkVhostQueueLimit(db: AccessDatabase, vhostName: string, queue: string, queuesInVhost: number): void {
  const limit = db.vhost(vhostName)?.limits['max-queues'];
  if (limit !== undefined && limit >= 0 && queuesInVhost + 1 > limit) {
    throw preconditionFailed(`cannot declare queue '${queue}': queue limit in vhost '${vhostName}' (${limit}) is reached`);
  }
}

/** rabbit_channel:check_user_id_header/2 (406). */
export function checkUserId(user: AuthenticatedUser, claimed: string | undefined): void {
  if (claimed === undefined || claimed === user.name || user.tags.includes('impersonator')) return;
  throw preconditionFailed(`user_id property set to '${claimed}' but authenticated user was '${user.name}'`);
}

/** The texts of the 320 CONNECTION_FORCED a connection is closed with when its user or vhost goes. */
export const closedBecause = {
  userDeleted: (user: string) => `user '${user}' is deleted`,
  vhostDeleted: (vhost: string) => `vhost '${vhost}' is deleted`,
} as const;

const CACHE_LIMIT = 64;

/** One bit per (permission, kind) pair, so that a name's allowed decisions are one number. */
const BIT: Readonly<Record<Permission, Readonly<Record<ResourceKind, number>>>> = {
  configure: { queue: 1, exchange: 2 },
  write: { queue: 4, exchange: 8 },
  read: { queue: 16, exchange: 32 },
};
const TOPIC_BIT = { write: 1, read: 2 } as const;

/**
 * A channel's view of its grant: the checks above, each positive decision remembered until the
 * grant's version changes. Names come from clients, so each cache is bounded (cleared when full).
 */
export class ChannelAccess {
  private version = -1;
  private unrestrictedVersion = -1;
  private unrestrictedValue = false;
  /** name -> BIT of the decisions that allowed it */
  private readonly allowed = new Map<string, number>();
  /** exchange -> permission -> compiled expanded regex (expansion depends only on this connection) */
  private readonly topicPatterns = new Map<string, Partial<Record<'write' | 'read', CompiledPattern | null>>>();
  /** exchange -> routing key -> TOPIC_BIT of the decisions that allowed it */
  private readonly topicAllowed = new Map<string, Map<string, number>>();

  constructor(
    readonly grant: AccessGrant,
    readonly user: AuthenticatedUser,
    readonly variables: TopicVariables = { username: grant.user, vhost: grant.vhost },
  ) {}

  get vhost(): string {
    return this.grant.vhost;
  }

  /**
   * Whether every resource check would pass: configure, write and read are all ".*" and there are no
   * topic permissions (the default user's grant). A channel may then skip the permission steps of
   * its hot path; the other steps of the row (exchange exists, not internal, user_id) still apply.
   */
  unrestricted(): boolean {
    const p = this.grant.permissions;
    return (
      p !== undefined &&
      p.record.configure === '.*' &&
      p.record.write === '.*' &&
      p.record.read === '.*' &&
      this.grant.topicPermissions.size === 0
    );
  }

  /** unrestricted(), worked out again only when the grant changes: one comparison per call. */
  get isUnrestricted(): boolean {
    const v = this.grant.version;
    if (this.unrestrictedVersion !== v) {
      this.unrestrictedValue = this.unrestricted();
      this.unrestrictedVersion = v;
    }
    return this.unrestrictedValue;
  }

  check(kind: ResourceKind, name: string, permission: Permission): void {
    if (this.version !== this.grant.version) this.reset();
    const bit = BIT[permission][kind];
    const seen = this.allowed.get(name);
    if (seen !== undefined && (seen & bit) !== 0) return;
    checkResourceAccess(this.grant, kind, name, permission);
    if (seen === undefined && this.allowed.size >= CACHE_LIMIT) this.allowed.clear();
    this.allowed.set(name, (seen ?? 0) | bit);
  }

  checkTopic(exchange: string, routingKey: string, permission: 'write' | 'read'): void {
    if (this.version !== this.grant.version) this.reset();
    const t = this.grant.topicPermissions;
    if (t.size === 0 || !t.has(exchange)) return; // the common case: no topic permissions at all
    let keys = this.topicAllowed.get(exchange);
    const bit = TOPIC_BIT[permission];
    const seen = keys?.get(routingKey);
    if (seen !== undefined && (seen & bit) !== 0) return;
    const ok = isTopicAccessAllowed(this.grant, exchange, routingKey, permission, this.variables, (source) => this.topicPattern(exchange, permission, source));
    if (!ok) throw topicAccessRefused(exchange, routingKey, this.grant.vhost, this.grant.user);
    if (keys === undefined) {
      keys = new Map();
      this.topicAllowed.set(exchange, keys);
    }
    if (seen === undefined && keys.size >= CACHE_LIMIT) keys.clear();
    keys.set(routingKey, (seen ?? 0) | bit);
  }

  checkUserId(claimed: string | undefined): void {
    checkUserId(this.user, claimed);
  }

  private topicPattern(exchange: string, permission: 'write' | 'read', source: string): CompiledPattern | undefined {
    let byPermission = this.topicPatterns.get(exchange);
    if (byPermission === undefined) {
      byPermission = {};
      this.topicPatterns.set(exchange, byPermission);
    }
    let p = byPermission[permission];
    if (p === undefined) {
      p = compileOrUndefined(source) ?? null;
      byPermission[permission] = p;
    }
    return p ?? undefined;
  }

  private reset(): void {
    this.version = this.grant.version;
    this.allowed.clear();
    this.topicPatterns.clear();
    this.topicAllowed.clear();
  }
}
