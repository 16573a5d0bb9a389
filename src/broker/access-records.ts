/**
 * Users, vhosts and permissions between the AccessDatabase and the definitions log: every change the
 * database reports is appended to the log, and at start-up the log's records are put back into a
 * database before anything listens to it (so nothing is written twice).
 *
 * The log is Warren's own file, but a damaged or hand-edited one must not stop the broker in the
 * middle of recovery with a stack trace: a record that the database refuses is logged and left out.
 */
import type { Logger } from 'pino';
import type { AccessDatabase, AccessDatabaseListener, UserRecord, VhostRecord } from '../access/access-database.js';
import { isHashingAlgorithm } from '../access/password-hashing.js';
import { KNOWN_QUEUE_TYPES, type QueueType } from '../queue/arguments.js';
import type { Definitions, StoredUser, StoredVhost } from '../store/definitions.js';
import type { Persistence } from '../store/persistence.js';

function storedUser(u: UserRecord): StoredUser {
  return {
    name: u.name,
    passwordHash: u.passwordHash.toString('base64'),
    hashingAlgorithm: u.hashingAlgorithm,
    tags: [...u.tags],
    limits: { ...u.limits } as Record<string, number>,
  };
}

function storedVhost(v: VhostRecord): StoredVhost {
  return {
    name: v.name,
    description: v.description,
    tags: [...v.tags],
    ...(v.defaultQueueType !== undefined ? { defaultQueueType: v.defaultQueueType } : {}),
    limits: { ...v.limits } as Record<string, number>,
    tracing: v.tracing,
  };
}

/** A listener that appends each change of the database to the definitions log. */
export function recordAccessChanges(persistence: Persistence): AccessDatabaseListener {
  return {
    userPut: (u) => persistence.accessChanged({ t: 'user', def: storedUser(u) }),
    userDeleted: (name) => persistence.accessChanged({ t: 'user-deleted', name }),
    vhostPut: (v) => persistence.accessChanged({ t: 'vhost', def: storedVhost(v) }),
    vhostDeleted: (name) => persistence.accessChanged({ t: 'vhost-deleted', name }),
    permissionsSet: (p) => persistence.accessChanged({ t: 'permission', def: { ...p } }),
    permissionsCleared: (user, vhost) => persistence.accessChanged({ t: 'permission-cleared', user, vhost }),
    topicPermissionsSet: (p) => persistence.accessChanged({ t: 'topic-permission', def: { ...p } }),
    topicPermissionsCleared: (user, vhost, exchange) =>
      persistence.accessChanged({ t: 'topic-permission-cleared', user, vhost, ...(exchange !== undefined ? { exchange } : {}) }),
  };
}

/** Puts the recorded users, vhosts and permissions into `db` (which nothing listens to yet). */
export function restoreAccess(db: AccessDatabase, d: Definitions, log: Logger): void {
  const attempt = (what: string, put: () => void) => {
    try {
      put();
    } catch (e) {
      log.error({ err: (e as Error).message }, `${what} in the definitions log could not be restored; left out`);
    }
  };
  for (const u of d.users.values()) {
    attempt(`user '${u.name}'`, () => {
      if (!isHashingAlgorithm(u.hashingAlgorithm)) throw new Error(`unknown hashing algorithm ${u.hashingAlgorithm}`);
      db.putUser({ name: u.name, passwordHash: Buffer.from(u.passwordHash, 'base64'), hashingAlgorithm: u.hashingAlgorithm, tags: u.tags, limits: u.limits });
    });
  }
  for (const v of d.vhosts.values()) {
    attempt(`vhost '${v.name}'`, () => {
      const type = v.defaultQueueType;
      if (type !== undefined && !(KNOWN_QUEUE_TYPES as readonly string[]).includes(type)) throw new Error(`unknown default queue type ${type}`);
      db.putVhost({ name: v.name, description: v.description, tags: v.tags, defaultQueueType: type as QueueType | undefined, limits: v.limits, tracing: v.tracing });
    });
  }
  for (const p of d.permissions.values()) {
    attempt(`the permissions of user '${p.user}' in vhost '${p.vhost}'`, () => db.setPermissions(p.user, p.vhost, p.configure, p.write, p.read));
  }
  for (const t of d.topicPermissions.values()) {
    attempt(`the topic permissions of user '${t.user}' in vhost '${t.vhost}'`, () => db.setTopicPermissions(t.user, t.vhost, t.exchange, t.write, t.read));
  }
}
