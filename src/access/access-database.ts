/**
 * The internal user database of RabbitMQ's rabbit_auth_backend_internal and rabbit_vhost: users,
 * virtual hosts, permissions, topic permissions, limits, and the loopback_users setting, with the
 * login and the live per-(user, vhost) grants that connections and channels check against.
 *
 * Every mutation validates first and changes nothing when it refuses. A change that affects what a
 * (user, vhost) pair may do bumps that pair's AccessGrant version, so a channel's cached decisions are
 * dropped at its next check (see permissions.ts); deleting a user or vhost also tells the listeners,
 * which close the affected connections with 320 as RabbitMQ's rabbit_connection_tracking does
 * ("user 'u' is deleted", "vhost 'v' is deleted").
 */
import {
  DEFAULT_HASHING_ALGORITHM,
  burnPasswordCheck,
  hashPassword,
  verifyPassword,
  type HashingAlgorithm,
} from './password-hashing.js';
import { PcreSyntaxError, PcreUnsupportedError, compilePcre, type CompiledPattern } from '../util/pcre.js';
import type { QueueType } from '../queue/arguments.js';

/** Tags the management UI and rabbitmqctl give a meaning; any other string is a valid tag too. */
export interface UserLimits {
  readonly 'max-connections'?: number;
  readonly 'max-channels'?: number;
}

export interface VhostLimits {
  readonly 'max-connections'?: number;
  readonly 'max-queues'?: number;
}

export interface UserRecord {
  readonly name: string;
  /** salt ++ digest; empty for a user without password (only EXTERNAL can log them in). */
  readonly passwordHash: Buffer;
  readonly hashingAlgorithm: HashingAlgorithm;
  readonly tags: readonly string[];
  readonly limits: UserLimits;
}

export interface VhostRecord {
  readonly name: string;
  readonly description: string;
  readonly tags: readonly string[];
  /** metadata.default_queue_type: the type of queues declared without x-queue-type. */
  readonly defaultQueueType: QueueType | undefined;
  readonly limits: VhostLimits;
  readonly tracing: boolean;
}

export interface PermissionRecord {
  readonly user: string;
  readonly vhost: string;
  readonly configure: string;
  readonly write: string;
  readonly read: string;
}

export interface TopicPermissionRecord {
  readonly user: string;
  readonly vhost: string;
  readonly exchange: string;
  readonly write: string;
  readonly read: string;
}

/** The user a connection authenticated as: a snapshot, as RabbitMQ's #user{} record in the connection. */
export interface AuthenticatedUser {
  readonly name: string;
  readonly tags: readonly string[];
}

export type AuthResult = { readonly ok: true; readonly user: AuthenticatedUser } | { readonly ok: false; readonly reason: string };

export type AccessDatabaseErrorReason =
  | 'no_such_user'
  | 'no_such_vhost'
  | 'user_already_exists'
  | 'vhost_already_exists'
  | 'invalid_regexp'
  | 'invalid_limit'
  | 'both_password_and_password_hash_are_provided';

export class AccessDatabaseError extends Error {
  override name = 'AccessDatabaseError';
  constructor(
    readonly reason: AccessDatabaseErrorReason,
    message: string,
  ) {
    super(message);
  }
}

// rabbit_auth_backend_internal:?BLANK_PASSWORD_REJECTION_MESSAGE
const blankPasswordRefusal = (user: string) =>
  `user '${user}' attempted to log in with a blank password, which is prohibited by the internal authN backend. ` +
  'To use TLS/x509 certificate-based authentication, see the rabbitmq_auth_mechanism_ssl plugin and configure the client to use the EXTERNAL authentication mechanism. ' +
  'Alternatively change the password for the user to be non-blank.';

/** A permission regex compiled as rabbit_auth_backend_internal uses it: '' means ^$. */
export function compilePermissionRegex(source: string): CompiledPattern {
  return compilePcre(source === '' ? '^$' : source);
}

/** set_permissions refuses a regex re:compile refuses ({invalid_regexp, Regexp, Reason}). */
function validateRegex(source: string, what: string): void {
  try {
    compilePermissionRegex(source);
  } catch (e) {
    if (e instanceof PcreSyntaxError) {
      throw new AccessDatabaseError('invalid_regexp', `${what}: regular expression '${source}' is invalid: ${e.message} at ${e.offset}`);
    }
    if (e instanceof PcreUnsupportedError) throw new AccessDatabaseError('invalid_regexp', `${what}: regular expression '${source}': ${e.message}`);
    throw e;
  }
}

export interface CompiledPermissions {
  readonly record: PermissionRecord;
  readonly configure: CompiledPattern;
  readonly write: CompiledPattern;
  readonly read: CompiledPattern;
}

/** A topic permission's regexes are compiled after {username}/{vhost}/{client_id} expansion. */
/**
 * What one user may do in one vhost, kept current by the database. `version` changes whenever
 * `permissions` or `topicPermissions` do (including on deletion of the user or vhost), so holders can
 * cache decisions and drop them when it moves.
 */
export class AccessGrant {
  version = 0;
  permissions: CompiledPermissions | undefined;
  topicPermissions: ReadonlyMap<string, TopicPermissionRecord> = new Map();

  constructor(
    readonly user: string,
    readonly vhost: string,
  ) {}
}

/**
 * Told of every change once it is made (the broker persists them, creates and removes its vhosts, and
 * closes the connections of a deleted user or vhost). A deletion removes the entity's permissions
 * with it and reports only the deletion.
 */
export interface AccessDatabaseListener {
  userPut?(user: UserRecord): void;
  userDeleted?(user: string): void;
  vhostPut?(vhost: VhostRecord, created: boolean): void;
  vhostDeleted?(vhost: string): void;
  permissionsSet?(p: PermissionRecord): void;
  permissionsCleared?(user: string, vhost: string): void;
  topicPermissionsSet?(p: TopicPermissionRecord): void;
  /** `exchange` undefined: all of the user's topic permissions in the vhost. */
  topicPermissionsCleared?(user: string, vhost: string, exchange: string | undefined): void;
}

export interface NewUser {
  name: string;
  /** Cleartext to hash, or... */
  password?: string | Buffer;
  /** ...an existing hash (salt ++ digest) with its algorithm, as definitions carry it. */
  passwordHash?: Buffer;
  hashingAlgorithm?: HashingAlgorithm;
  tags?: readonly string[];
  limits?: UserLimits;
}

export interface NewVhost {
  name: string;
  description?: string;
  tags?: readonly string[];
  defaultQueueType?: QueueType;
  limits?: VhostLimits;
  tracing?: boolean;
}

const key = (user: string, vhost: string) => `${user}\u0000${vhost}`;
const topicKey = (user: string, vhost: string, exchange: string) => `${user}\u0000${vhost}\u0000${exchange}`;

function validateLimits(limits: object, allowed: readonly string[], what: string): void {
  for (const [k, v] of Object.entries(limits)) {
    if (!allowed.includes(k)) throw new AccessDatabaseError('invalid_limit', `${what}: unknown limit '${k}' (known: ${allowed.join(', ')})`);
    // rabbit_parameter_validation:integer/2; a negative limit means "no limit".
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw new AccessDatabaseError('invalid_limit', `${what}: ${k} should be a number, actually was ${JSON.stringify(v)}`);
  }
}

export class AccessDatabase {
  private readonly users = new Map<string, UserRecord>();
  private readonly vhosts = new Map<string, VhostRecord>();
  private readonly permissions = new Map<string, PermissionRecord>();
  private readonly topicPermissions = new Map<string, TopicPermissionRecord>();
  private readonly grants = new Map<string, AccessGrant>();
  private readonly listeners = new Set<AccessDatabaseListener>();
  private loopback: ReadonlySet<string>;

  /** `loopbackUsers`: RabbitMQ's loopback_users, [<<"guest">>] by default. */
  constructor(options: { loopbackUsers?: readonly string[] } = {}) {
    this.loopback = new Set(options.loopbackUsers ?? ['guest']);
  }

  listen(l: AccessDatabaseListener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  // --- users ---------------------------------------------------------------------------------

  addUser(u: NewUser): UserRecord {
    if (this.users.has(u.name)) throw new AccessDatabaseError('user_already_exists', `user '${u.name}' already exists`);
    return this.putUser(u);
  }

  /** Creates the user or replaces its password, tags and limits (rabbit_auth_backend_internal:put_user/3). */
  putUser(u: NewUser): UserRecord {
    if (u.password !== undefined && u.passwordHash !== undefined) {
      throw new AccessDatabaseError('both_password_and_password_hash_are_provided', `user '${u.name}': both password and password_hash are given`);
    }
    if (u.limits !== undefined) validateLimits(u.limits, ['max-connections', 'max-channels'], `user '${u.name}'`);
    const old = this.users.get(u.name);
    const algorithm = u.hashingAlgorithm ?? DEFAULT_HASHING_ALGORITHM;
    const record: UserRecord = {
      name: u.name,
      // Neither password nor hash: the user has no password (put_user clears it).
      passwordHash: u.passwordHash ?? (u.password !== undefined ? hashPassword(u.password, algorithm) : Buffer.alloc(0)),
      hashingAlgorithm: algorithm,
      tags: [...(u.tags ?? [])],
      // Limits not given are kept (internal_user:update_limits only when the field is present).
      limits: { ...(u.limits ?? old?.limits ?? {}) },
    };
    this.users.set(u.name, record);
    if (old === undefined) for (const g of this.grants.values()) if (g.user === u.name) this.refresh(g);
    for (const l of this.listeners) l.userPut?.(record);
    return record;
  }

  private replaceUser(record: UserRecord): void {
    this.users.set(record.name, record);
    for (const l of this.listeners) l.userPut?.(record);
  }

  deleteUser(name: string): void {
    this.requireUser(name);
    this.users.delete(name);
    for (const [k, p] of this.permissions) if (p.user === name) this.permissions.delete(k);
    for (const [k, p] of this.topicPermissions) if (p.user === name) this.topicPermissions.delete(k);
    for (const g of this.grants.values()) if (g.user === name) this.refresh(g);
    for (const l of this.listeners) l.userDeleted?.(name);
  }

  changePassword(name: string, password: string | Buffer, algorithm: HashingAlgorithm = DEFAULT_HASHING_ALGORITHM): void {
    const u = this.requireUser(name);
    this.replaceUser({ ...u, passwordHash: hashPassword(password, algorithm), hashingAlgorithm: algorithm });
  }

  /** rabbitmqctl clear_password: the user can then only log in with EXTERNAL. */
  clearPassword(name: string): void {
    const u = this.requireUser(name);
    this.replaceUser({ ...u, passwordHash: Buffer.alloc(0) });
  }

  setTags(name: string, tags: readonly string[]): void {
    const u = this.requireUser(name);
    this.replaceUser({ ...u, tags: [...tags] });
  }

  setUserLimits(name: string, limits: UserLimits): void {
    const u = this.requireUser(name);
    validateLimits(limits, ['max-connections', 'max-channels'], `user '${name}'`);
    this.replaceUser({ ...u, limits: { ...limits } });
  }

  user(name: string): UserRecord | undefined {
    return this.users.get(name);
  }

  listUsers(): UserRecord[] {
    return [...this.users.values()];
  }

  // --- login ---------------------------------------------------------------------------------

  /**
   * rabbit_auth_backend_internal:user_login_authentication/2 with a password. The reason is for the
   * log only: the client is told no more than that the login was refused.
   */
  authenticate(username: string, password: string | Buffer): AuthResult {
    const given = typeof password === 'string' ? Buffer.from(password, 'utf8') : password;
    if (given.length === 0) return { ok: false, reason: blankPasswordRefusal(username) };
    const u = this.users.get(username);
    if (u === undefined) {
      burnPasswordCheck(given); // so that timing does not tell whether the name exists
      return { ok: false, reason: `user '${username}' - invalid credentials` };
    }
    if (!verifyPassword(given, u.passwordHash, u.hashingAlgorithm)) return { ok: false, reason: `user '${username}' - invalid credentials` };
    return { ok: true, user: { name: u.name, tags: u.tags } };
  }

  /** The passwordless login of SASL EXTERNAL (certificate already verified): the user must exist. */
  authenticateExternal(username: string): AuthResult {
    const u = this.users.get(username);
    if (u === undefined) return { ok: false, reason: `user '${username}' - invalid credentials` };
    return { ok: true, user: { name: u.name, tags: u.tags } };
  }

  /** rabbit_access_control:check_user_loopback/2: listed users may only connect via a loopback interface. */
  isLoopbackOnly(username: string): boolean {
    return this.loopback.has(username);
  }

  setLoopbackUsers(users: readonly string[]): void {
    this.loopback = new Set(users);
  }

  loopbackUsers(): string[] {
    return [...this.loopback];
  }

  // --- vhosts --------------------------------------------------------------------------------

  addVhost(v: NewVhost): VhostRecord {
    if (this.vhosts.has(v.name)) throw new AccessDatabaseError('vhost_already_exists', `vhost '${v.name}' already exists`);
    return this.putVhost(v);
  }

  /** Creates the vhost or updates its metadata and limits (rabbit_vhost:put_vhost/6). */
  putVhost(v: NewVhost): VhostRecord {
    if (v.limits !== undefined) validateLimits(v.limits, ['max-connections', 'max-queues'], `vhost '${v.name}'`);
    const old = this.vhosts.get(v.name);
    const record: VhostRecord = {
      name: v.name,
      description: v.description ?? old?.description ?? '',
      tags: [...(v.tags ?? old?.tags ?? [])],
      // rabbit_vhost:update/4 changes description and tags only; the default queue type stays.
      defaultQueueType: old !== undefined ? old.defaultQueueType : v.defaultQueueType,
      limits: { ...(v.limits ?? old?.limits ?? {}) },
      tracing: v.tracing ?? old?.tracing ?? false,
    };
    this.vhosts.set(v.name, record);
    if (old === undefined) for (const g of this.grants.values()) if (g.vhost === v.name) this.refresh(g);
    for (const l of this.listeners) l.vhostPut?.(record, old === undefined);
    return record;
  }

  deleteVhost(name: string): void {
    this.requireVhost(name);
    this.vhosts.delete(name);
    for (const [k, p] of this.permissions) if (p.vhost === name) this.permissions.delete(k);
    for (const [k, p] of this.topicPermissions) if (p.vhost === name) this.topicPermissions.delete(k);
    for (const g of this.grants.values()) if (g.vhost === name) this.refresh(g);
    for (const l of this.listeners) l.vhostDeleted?.(name);
  }

  setVhostLimits(name: string, limits: VhostLimits): void {
    const v = this.requireVhost(name);
    validateLimits(limits, ['max-connections', 'max-queues'], `vhost '${name}'`);
    const record = { ...v, limits: { ...limits } };
    this.vhosts.set(name, record);
    for (const l of this.listeners) l.vhostPut?.(record, false);
  }

  vhost(name: string): VhostRecord | undefined {
    return this.vhosts.get(name);
  }

  listVhosts(): VhostRecord[] {
    return [...this.vhosts.values()];
  }

  // --- permissions ---------------------------------------------------------------------------

  setPermissions(user: string, vhost: string, configure: string, write: string, read: string): void {
    for (const r of [configure, write, read]) validateRegex(r, `permissions of user '${user}' in vhost '${vhost}'`);
    this.requireUser(user);
    this.requireVhost(vhost);
    const record = { user, vhost, configure, write, read };
    this.permissions.set(key(user, vhost), record);
    this.refreshPair(user, vhost);
    for (const l of this.listeners) l.permissionsSet?.(record);
  }

  clearPermissions(user: string, vhost: string): void {
    this.requireUser(user);
    this.requireVhost(vhost);
    this.permissions.delete(key(user, vhost));
    this.refreshPair(user, vhost);
    for (const l of this.listeners) l.permissionsCleared?.(user, vhost);
  }

  setTopicPermissions(user: string, vhost: string, exchange: string, write: string, read: string): void {
    for (const r of [write, read]) validateRegex(r, `topic permissions of user '${user}' on exchange '${exchange}' in vhost '${vhost}'`);
    this.requireUser(user);
    this.requireVhost(vhost);
    const record = { user, vhost, exchange, write, read };
    this.topicPermissions.set(topicKey(user, vhost, exchange), record);
    this.refreshPair(user, vhost);
    for (const l of this.listeners) l.topicPermissionsSet?.(record);
  }

  /** Without `exchange`, all of the user's topic permissions in the vhost. */
  clearTopicPermissions(user: string, vhost: string, exchange?: string): void {
    this.requireUser(user);
    this.requireVhost(vhost);
    for (const [k, p] of this.topicPermissions) {
      if (p.user === user && p.vhost === vhost && (exchange === undefined || p.exchange === exchange)) this.topicPermissions.delete(k);
    }
    this.refreshPair(user, vhost);
    for (const l of this.listeners) l.topicPermissionsCleared?.(user, vhost, exchange);
  }

  permission(user: string, vhost: string): PermissionRecord | undefined {
    return this.permissions.get(key(user, vhost));
  }

  listPermissions(): PermissionRecord[] {
    return [...this.permissions.values()];
  }

  listTopicPermissions(): TopicPermissionRecord[] {
    return [...this.topicPermissions.values()];
  }

  /**
   * The live grant of `user` in `vhost`: the same object for the same pair, updated in place.
   * rabbit_auth_backend_internal:check_vhost_access/3 is `grant.permissions !== undefined`.
   */
  grant(user: string, vhost: string): AccessGrant {
    const k = key(user, vhost);
    let g = this.grants.get(k);
    if (g === undefined) {
      g = new AccessGrant(user, vhost);
      this.grants.set(k, g);
      this.refresh(g);
    }
    return g;
  }

  /** Forgets the grant objects nobody should hold any more (after their connections closed). */
  releaseGrant(grant: AccessGrant): void {
    if (this.grants.get(key(grant.user, grant.vhost)) === grant) this.grants.delete(key(grant.user, grant.vhost));
  }

  private refreshPair(user: string, vhost: string): void {
    const g = this.grants.get(key(user, vhost));
    if (g !== undefined) this.refresh(g);
  }

  private refresh(g: AccessGrant): void {
    const p = this.users.has(g.user) && this.vhosts.has(g.vhost) ? this.permissions.get(key(g.user, g.vhost)) : undefined;
    const same = g.permissions?.record === p;
    if (!same) {
      g.permissions =
        p === undefined
          ? undefined
          : { record: p, configure: compilePermissionRegex(p.configure), write: compilePermissionRegex(p.write), read: compilePermissionRegex(p.read) };
    }
    const topics = new Map<string, TopicPermissionRecord>();
    for (const t of this.topicPermissions.values()) if (t.user === g.user && t.vhost === g.vhost) topics.set(t.exchange, t);
    g.topicPermissions = topics;
    g.version++;
  }

  private requireUser(name: string): UserRecord {
    const u = this.users.get(name);
    if (u === undefined) throw new AccessDatabaseError('no_such_user', `user '${name}' does not exist`);
    return u;
  }

  private requireVhost(name: string): VhostRecord {
    const v = this.vhosts.get(name);
    if (v === undefined) throw new AccessDatabaseError('no_such_vhost', `vhost '${name}' does not exist`);
    return v;
  }
}

/** What RabbitMQ creates on first boot (rabbit.default_* settings; rabbit_vhost "Default virtual host"). */
export interface DefaultAccess {
  readonly user: string;
  readonly password: string;
  readonly vhost: string;
  readonly userTags: readonly string[];
  /** configure, write, read */
  readonly permissions: readonly [string, string, string];
  readonly loopbackUsers: readonly string[];
}

export const RABBITMQ_DEFAULT_ACCESS: DefaultAccess = {
  user: 'guest',
  password: 'guest',
  vhost: '/',
  userTags: ['administrator'],
  permissions: ['.*', '.*', '.*'],
  loopbackUsers: ['guest'],
};

/** A database as a fresh RabbitMQ node has it (rabbit_access_control / rabbit:boot default data). */
export function databaseWithDefaults(d: DefaultAccess = RABBITMQ_DEFAULT_ACCESS): AccessDatabase {
  const db = new AccessDatabase({ loopbackUsers: d.loopbackUsers });
  db.addVhost({ name: d.vhost, description: 'Default virtual host' });
  db.addUser({ name: d.user, password: d.password, tags: d.userTags });
  db.setPermissions(d.user, d.vhost, ...d.permissions);
  return db;
}
