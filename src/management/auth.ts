/**
 * Who is asking: HTTP Basic credentials checked against the access database, and RabbitMQ's
 * management tags (rabbit_mgmt_util:is_authorized*, rabbit_web_dispatch's tag checks):
 *
 * - management: may log in; sees the vhosts it has permissions in and what is in them.
 * - policymaker: management, plus policies and parameters in those vhosts.
 * - monitoring: management, plus every vhost, connection and channel, and the node's data.
 * - administrator: everything, users, vhosts and permissions included.
 */
import { ChannelAccess } from '../access/permissions.js';
import type { AccessDatabase, AuthenticatedUser } from '../access/access-database.js';
import { HttpError, REALM, notAuthorised } from './http-errors.js';

export type Level = 'management' | 'policymaker' | 'monitoring' | 'administrator';

const IMPLIED: Record<Level, readonly string[]> = {
  management: ['management', 'policymaker', 'monitoring', 'administrator'],
  policymaker: ['policymaker', 'administrator'],
  monitoring: ['monitoring', 'administrator'],
  administrator: ['administrator'],
};

const LEVEL_TEXT: Record<Level, string> = {
  management: 'Not management user',
  policymaker: 'Not policymaker user',
  monitoring: 'Not monitor user',
  administrator: 'Not administrator user',
};

export function hasLevel(user: AuthenticatedUser, level: Level): boolean {
  return user.tags.some((t) => IMPLIED[level].includes(t));
}

/** The login failed: RabbitMQ's spelling differs from the tag refusals' ("authorized", not "authorised"). */
const loginFailed = () => new HttpError(401, 'not_authorized', 'Login failed', { 'www-authenticate': REALM });

/** The user of an `Authorization: Basic` header, or a 401; the header is untrusted text. */
export function authenticate(db: AccessDatabase, header: string | undefined, remoteAddress: string | undefined): AuthenticatedUser {
  // No credentials: RabbitMQ answers a bare 401 (no body) with the challenge.
  if (header === undefined || !/^basic /i.test(header)) throw new HttpError(401, '', '', { 'www-authenticate': REALM });
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) throw loginFailed();
  const name = decoded.slice(0, colon);
  const result = db.authenticate(name, decoded.slice(colon + 1));
  if (!result.ok) throw loginFailed();
  // rabbit_access_control:check_user_loopback/2 applies to HTTP logins too.
  if (db.isLoopbackOnly(name) && !isLoopback(remoteAddress)) throw notAuthorised('User can only log in via localhost');
  if (!hasLevel(result.user, 'management')) throw notAuthorised(LEVEL_TEXT.management);
  return result.user;
}

export function requireLevel(user: AuthenticatedUser, level: Level): void {
  if (!hasLevel(user, level)) throw notAuthorised(LEVEL_TEXT[level]);
}

function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return true; // in-process (tests inject requests)
  return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.');
}

/** Whether the user may see a vhost: monitoring and administrator users see all, others those they have permissions in. */
export function seesVhost(db: AccessDatabase, user: AuthenticatedUser, vhost: string): boolean {
  if (hasLevel(user, 'monitoring')) return db.vhost(vhost) !== undefined;
  return db.permission(user.name, vhost) !== undefined && db.vhost(vhost) !== undefined;
}

/** rabbit_mgmt_util:is_authorized_vhost/2: a user acting in a vhost needs permissions there (administrators too). */
export function requireVhostAccess(db: AccessDatabase, user: AuthenticatedUser, vhost: string): void {
  if (db.permission(user.name, vhost) === undefined) throw notAuthorised('User not authorised to access virtual host');
}

/**
 * The user's resource permissions in a vhost, as a channel of theirs would check them: HTTP
 * declares, deletes, binds, publishes and gets run the same rows of method-access.ts.
 */
export function channelAccess(db: AccessDatabase, user: AuthenticatedUser, vhost: string): ChannelAccess {
  // The grant is the database's live one for the pair (the same object a connection holds), so it
  // is not released here: a connection of this user in this vhost may be using it.
  return new ChannelAccess(db.grant(user.name, vhost), user);
}
