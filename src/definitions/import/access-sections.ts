/**
 * The access-control sections of a definitions file, one reader per entry, in RabbitMQ's order:
 * users, vhosts, permissions, topic permissions (rabbit_definitions:apply_defs/3).
 */
import type { HashingAlgorithm } from '../../access/password-hashing.js';
import { algorithmForImportedHash, decodePasswordHash } from '../../access/password-hashing.js';
import type { UserLimits } from '../../access/access-database.js';
import { KNOWN_QUEUE_TYPES, type QueueType } from '../../queue/arguments.js';
import { erlangTerm } from '../../protocol/erlang-term.js';
import { isJsonObject } from '../../util/json.js';
import type { ImportContext, Section } from './context.js';
import { Entry, limitsOf, regexIssue, tagsOf } from './entry.js';

/** rabbit_auth_backend_internal:put_user/3 */
function user(ctx: ImportContext, e: Entry): void {
  const name = e.string('name', true);
  let tags: string[] | undefined;
  if (e.has('tags')) tags = tagsOf(e.raw('tags')!, `${e.path}.tags`, ctx.issue);
  else if (e.has('administrator')) {
    const a = e.raw('administrator');
    // rabbit_misc:parse_bool/1
    tags = a === true || a === 'true' ? ['administrator'] : a === false || a === 'false' ? [] : undefined;
    if (tags === undefined) ctx.issue(`${e.path}.administrator`, `should be true or false, was ${erlangTerm(a!)}`);
  } else {
    e.raw('tags');
    ctx.issue(`${e.path}.tags`, 'missing (RabbitMQ refuses a user without tags: tags_not_present)');
  }
  const password = e.string('password', false);
  const hashText = e.string('password_hash', false);
  const algorithmField = e.raw('hashing_algorithm');
  if (password !== undefined && hashText !== undefined) ctx.issue(e.path, 'both password and password_hash are given');
  let passwordHash: Buffer | undefined;
  if (hashText !== undefined) {
    passwordHash = decodePasswordHash(hashText);
    if (passwordHash === undefined) ctx.issue(`${e.path}.password_hash`, 'is not base64');
  }
  const algorithm = algorithmForImportedHash(algorithmField, ctx.version);
  if (algorithm === undefined) ctx.issue(`${e.path}.hashing_algorithm`, `unknown password hashing algorithm ${erlangTerm(algorithmField!)}`);
  let limits: UserLimits | undefined;
  if (e.has('limits')) limits = limitsOf(e.raw('limits')!, ['max-connections', 'max-channels'], `${e.path}.limits`, ctx.issue);
  if (e.has('permissions')) {
    const p = e.raw('permissions')!;
    if (!isJsonObject(p)) ctx.issue(`${e.path}.permissions`, `should be an object of vhost to permissions, was ${erlangTerm(p)}`);
    else if (name !== undefined && !ctx.existing.hasUser(name)) {
      // Pre-configured permissions apply to newly created users only.
      for (const [vhost, perms] of Object.entries(p)) {
        const pe = isJsonObject(perms) ? new Entry(perms, `${e.path}.permissions.${vhost}`, ctx.issue) : undefined;
        if (pe === undefined) {
          ctx.issue(`${e.path}.permissions.${vhost}`, 'should be an object with configure, write and read');
          continue;
        }
        const [configure, write, read] = ['configure', 'write', 'read'].map((k) => pe.string(k, true));
        pe.done();
        if (configure !== undefined && write !== undefined && read !== undefined) ctx.preconfigured.push({ user: name, vhost, configure, write, read });
      }
    }
  }
  e.done();
  if (name === undefined || !ctx.unique('user', name, e.path, `user '${name}'`)) return;
  ctx.fileUsers.add(name);
  ctx.users.push({
    name,
    ...(password !== undefined ? { password } : {}),
    // A cleartext password is hashed with the broker's default algorithm, a hash keeps its own.
    ...(passwordHash !== undefined ? { passwordHash, hashingAlgorithm: algorithm as HashingAlgorithm } : {}),
    tags: tags ?? [],
    ...(limits !== undefined ? { limits } : {}),
  });
}

/** rabbit_definitions:add_vhost/2, rabbit_vhost:put_vhost/6 */
function vhost(ctx: ImportContext, e: Entry): void {
  const name = e.string('name', true);
  const metaRaw = e.raw('metadata');
  const meta = metaRaw === undefined ? undefined : isJsonObject(metaRaw) ? new Entry(metaRaw, `${e.path}.metadata`, ctx.issue) : undefined;
  if (metaRaw !== undefined && meta === undefined) ctx.issue(`${e.path}.metadata`, `should be an object, was ${erlangTerm(metaRaw)}`);
  const topDescription = e.string('description', false);
  const metaDescription = meta?.string('description', false);
  const description = topDescription ?? metaDescription;
  const tagsRaw = e.has('tags') ? e.raw('tags') : meta?.has('tags') ? meta.raw('tags') : undefined;
  e.raw('tags');
  meta?.raw('tags');
  const tags = tagsRaw === undefined || tagsRaw === null ? [] : tagsOf(tagsRaw, `${e.path}.tags`, ctx.issue);
  const dqt = meta?.string('default_queue_type', false);
  if (dqt !== undefined && !(KNOWN_QUEUE_TYPES as readonly string[]).includes(dqt)) ctx.issue(`${e.path}.metadata.default_queue_type`, `unknown queue type '${dqt}' (invalid_queue_type)`);
  const tracing = e.boolean('tracing', false);
  // The vhost's limits are written here on export but imported from its vhost-limits parameter.
  if (e.has('limits')) limitsOf(e.raw('limits')!, ['max-connections', 'max-queues'], `${e.path}.limits`, ctx.issue);
  meta?.done();
  e.done();
  if (name === undefined || !ctx.unique('vhost', name, e.path, `vhost '${name}'`)) return;
  ctx.fileVhosts.add(name);
  ctx.vhosts.push({
    name,
    // put_vhost sets both, also on a vhost that exists: absent means empty.
    description: description ?? '',
    tags: tags ?? [],
    ...(dqt !== undefined && !ctx.existing.vhost(name) ? { defaultQueueType: dqt as QueueType } : {}),
    ...(tracing !== undefined ? { tracing } : {}),
  });
}

/** set_permissions/6 */
function permission(ctx: ImportContext, e: Entry): void {
  const user = e.string('user', true);
  const vhost = e.string('vhost', true);
  const [configure, write, read] = ['configure', 'write', 'read'].map((k) => e.string(k, true));
  e.done();
  let ok = user !== undefined && ctx.requireVhost(e, vhost) && configure !== undefined && write !== undefined && read !== undefined;
  if (user !== undefined && !ctx.userExists(user)) {
    ctx.issue(`${e.path}.user`, `user '${user}' is neither in the file nor on the broker (no_such_user)`);
    ok = false;
  }
  for (const [k, r] of [['configure', configure], ['write', write], ['read', read]] as const) {
    const problem = r === undefined ? undefined : regexIssue(r);
    if (problem !== undefined) {
      ctx.issue(`${e.path}.${k}`, problem);
      ok = false;
    }
  }
  if (ok && ctx.unique('permission', `${user}\u0000${vhost}`, e.path, `the permission of user '${user}' in vhost '${vhost}'`)) {
    ctx.permissions.push({ user: user!, vhost: vhost!, configure: configure!, write: write!, read: read! });
  }
}

/** The permissions given inside user entries, unless the permissions section set them already. */
function preconfiguredPermissions(ctx: ImportContext): void {
  for (const p of ctx.preconfigured) {
    if (!ctx.vhostExists(p.vhost)) ctx.issue(`users (${p.user}).permissions.${p.vhost}`, `vhost '${p.vhost}' is neither in the file nor on the broker (no_such_vhost)`);
    else if (!ctx.permissions.some((q) => q.user === p.user && q.vhost === p.vhost)) ctx.permissions.push(p);
  }
}

/** set_topic_permissions/6 */
function topicPermission(ctx: ImportContext, e: Entry): void {
  const user = e.string('user', true);
  const vhost = e.string('vhost', true);
  const exchange = e.string('exchange', true);
  const write = e.string('write', true);
  const read = e.string('read', true);
  e.done();
  let ok = user !== undefined && ctx.requireVhost(e, vhost) && exchange !== undefined && write !== undefined && read !== undefined;
  if (user !== undefined && !ctx.userExists(user)) {
    ctx.issue(`${e.path}.user`, `user '${user}' is neither in the file nor on the broker (no_such_user)`);
    ok = false;
  }
  for (const [k, r] of [['write', write], ['read', read]] as const) {
    const problem = r === undefined ? undefined : regexIssue(r);
    if (problem !== undefined) {
      ctx.issue(`${e.path}.${k}`, problem);
      ok = false;
    }
  }
  if (ok && ctx.unique('topic', `${user}\u0000${vhost}\u0000${exchange}`, e.path, `the topic permission of user '${user}' on exchange '${exchange}' in vhost '${vhost}'`)) {
    ctx.topicPermissions.push({ user: user!, vhost: vhost!, exchange: exchange!, write: write!, read: read! });
  }
}

export const ACCESS_SECTIONS: readonly Section[] = [
  { name: 'users', entry: user },
  { name: 'vhosts', entry: vhost },
  { name: 'permissions', entry: permission, done: preconfiguredPermissions },
  { name: 'topic_permissions', entry: topicPermission },
];
