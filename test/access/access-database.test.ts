import { describe, expect, it } from 'vitest';
import {
  AccessDatabase,
  AccessDatabaseError,
  RABBITMQ_DEFAULT_ACCESS,
  databaseWithDefaults,
} from '../../src/access/access-database.js';
import { decodePasswordHash, hashPassword } from '../../src/access/password-hashing.js';
import hashes from './fixtures/password-hashes.rabbitmq-3.10.8.json' with { type: 'json' };

const reasonOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
    return undefined;
  } catch (e) {
    if (e instanceof AccessDatabaseError) return e.reason;
    throw e;
  }
};

describe('users and login', () => {
  it('logs in a user imported with a hash RabbitMQ made, with its algorithm', () => {
    const db = new AccessDatabase();
    for (const h of hashes.rabbitmq) {
      if (h.password === null || h.password === '') continue;
      db.addUser({
        name: h.user,
        passwordHash: decodePasswordHash(h.password_hash)!,
        hashingAlgorithm: h.hashing_algorithm as 'rabbit_password_hashing_sha256',
      });
      expect(db.authenticate(h.user, h.password)).toEqual({ ok: true, user: { name: h.user, tags: [] } });
    }
  });

  it('refuses a wrong password and an unknown user with the same reason text', () => {
    const db = new AccessDatabase();
    db.addUser({ name: 'u', password: 'p' });
    expect(db.authenticate('u', 'nope')).toEqual({ ok: false, reason: "user 'u' - invalid credentials" });
    expect(db.authenticate('ghost', 'p')).toEqual({ ok: false, reason: "user 'ghost' - invalid credentials" });
  });

  it('refuses a blank password before looking at the user, even one whose hash is of the empty string', () => {
    const db = new AccessDatabase();
    const empty = hashes.rabbitmq.find((h) => h.user === 'empty-pass-user')!;
    db.addUser({ name: 'e', passwordHash: decodePasswordHash(empty.password_hash)! });
    const r = db.authenticate('e', '');
    expect(r.ok).toBe(false);
    expect(!r.ok && r.reason).toMatch(/^user 'e' attempted to log in with a blank password, which is prohibited by the internal authN backend\./);
    expect(db.authenticate('nobody', Buffer.alloc(0)).ok).toBe(false);
  });

  it('a user without password logs in only through EXTERNAL', () => {
    const db = new AccessDatabase();
    db.addUser({ name: 'cert-user', tags: ['monitoring'] });
    expect(db.user('cert-user')!.passwordHash.length).toBe(0);
    expect(db.authenticate('cert-user', 'anything').ok).toBe(false);
    expect(db.authenticateExternal('cert-user')).toEqual({ ok: true, user: { name: 'cert-user', tags: ['monitoring'] } });
    expect(db.authenticateExternal('nobody').ok).toBe(false);
  });

  it('clear_password turns a user into one without password; change_password back', () => {
    const db = new AccessDatabase();
    db.addUser({ name: 'u', password: 'p' });
    db.clearPassword('u');
    expect(db.authenticate('u', 'p').ok).toBe(false);
    db.changePassword('u', 'q', 'rabbit_password_hashing_sha512');
    expect(db.user('u')!.hashingAlgorithm).toBe('rabbit_password_hashing_sha512');
    expect(db.authenticate('u', 'q').ok).toBe(true);
  });

  it('keeps tags as given, well-known or not', () => {
    const db = new AccessDatabase();
    db.addUser({ name: 'u', password: 'p', tags: ['administrator', 'my-own-tag'] });
    db.setTags('u', ['policymaker', 'impersonator']);
    expect(db.authenticate('u', 'p')).toEqual({ ok: true, user: { name: 'u', tags: ['policymaker', 'impersonator'] } });
  });

  it('refuses a duplicate user, an unknown user, and password plus hash together', () => {
    const db = new AccessDatabase();
    db.addUser({ name: 'u', password: 'p' });
    expect(reasonOf(() => db.addUser({ name: 'u', password: 'p' }))).toBe('user_already_exists');
    expect(reasonOf(() => db.setTags('nobody', []))).toBe('no_such_user');
    expect(reasonOf(() => db.putUser({ name: 'v', password: 'p', passwordHash: hashPassword('p') }))).toBe('both_password_and_password_hash_are_provided');
    expect(db.user('v')).toBeUndefined();
  });

  it('put_user keeps limits it is not given, and replaces them when given', () => {
    const db = new AccessDatabase();
    db.putUser({ name: 'u', password: 'p', limits: { 'max-connections': 3 } });
    db.putUser({ name: 'u', password: 'q' });
    expect(db.user('u')!.limits).toEqual({ 'max-connections': 3 });
    db.putUser({ name: 'u', password: 'q', limits: { 'max-channels': 2 } });
    expect(db.user('u')!.limits).toEqual({ 'max-channels': 2 });
    expect(reasonOf(() => db.setUserLimits('u', { 'max-queues': 1 } as never))).toBe('invalid_limit');
    expect(reasonOf(() => db.setUserLimits('u', { 'max-channels': 1.5 }))).toBe('invalid_limit');
  });

  it('loopback_users: guest by default, configurable, none', () => {
    expect(new AccessDatabase().isLoopbackOnly('guest')).toBe(true);
    expect(new AccessDatabase().isLoopbackOnly('alice')).toBe(false);
    const db = new AccessDatabase({ loopbackUsers: ['alice'] });
    expect(db.isLoopbackOnly('guest')).toBe(false);
    expect(db.isLoopbackOnly('alice')).toBe(true);
    db.setLoopbackUsers([]);
    expect(db.loopbackUsers()).toEqual([]);
  });
});

describe('vhosts', () => {
  it('holds description, tags, default queue type and limits', () => {
    const db = new AccessDatabase();
    db.addVhost({ name: 'orders', description: 'Order processing', tags: ['prod', 'eu'], defaultQueueType: 'quorum', limits: { 'max-queues': 200 } });
    expect(db.vhost('orders')).toEqual({
      name: 'orders',
      description: 'Order processing',
      tags: ['prod', 'eu'],
      defaultQueueType: 'quorum',
      limits: { 'max-queues': 200 },
      tracing: false,
    });
  });

  it('updating a vhost changes description and tags, not its default queue type', () => {
    const db = new AccessDatabase();
    db.addVhost({ name: 'v', defaultQueueType: 'quorum' });
    db.putVhost({ name: 'v', description: 'new', defaultQueueType: 'classic' });
    expect(db.vhost('v')!.description).toBe('new');
    expect(db.vhost('v')!.defaultQueueType).toBe('quorum');
  });

  it('refuses a duplicate vhost and limits it does not know', () => {
    const db = new AccessDatabase();
    db.addVhost({ name: 'v' });
    expect(reasonOf(() => db.addVhost({ name: 'v' }))).toBe('vhost_already_exists');
    expect(reasonOf(() => db.setVhostLimits('v', { 'max-channels': 1 } as never))).toBe('invalid_limit');
    expect(reasonOf(() => db.setVhostLimits('nope', {}))).toBe('no_such_vhost');
  });

  it('the defaults of a fresh RabbitMQ node', () => {
    const db = databaseWithDefaults();
    expect(db.vhost('/')!.description).toBe('Default virtual host');
    expect(db.user('guest')!.tags).toEqual(['administrator']);
    expect(db.permission('guest', '/')).toEqual({ user: 'guest', vhost: '/', configure: '.*', write: '.*', read: '.*' });
    expect(db.authenticate('guest', 'guest').ok).toBe(true);
    expect(db.isLoopbackOnly('guest')).toBe(true);
    const custom = databaseWithDefaults({ ...RABBITMQ_DEFAULT_ACCESS, user: 'orders', password: 's', vhost: 'orders', loopbackUsers: [] });
    expect(custom.authenticate('orders', 's').ok).toBe(true);
    expect(custom.permission('orders', 'orders')).toBeDefined();
    expect(custom.vhost('/')).toBeUndefined();
  });
});

describe('permissions and grants', () => {
  const setup = () => {
    const db = new AccessDatabase();
    db.addVhost({ name: 'v' });
    db.addUser({ name: 'u', password: 'p' });
    return db;
  };

  it('refuses an invalid regex and changes nothing', () => {
    const db = setup();
    db.setPermissions('u', 'v', 'a', 'b', 'c');
    const e = (() => {
      try {
        db.setPermissions('u', 'v', '.*', '(', '.*');
      } catch (x) {
        return x as AccessDatabaseError;
      }
      return undefined;
    })();
    expect(e?.reason).toBe('invalid_regexp');
    expect(e?.message).toContain("regular expression '(' is invalid: missing ) at 1");
    expect(db.permission('u', 'v')!.configure).toBe('a');
    expect(reasonOf(() => db.setTopicPermissions('u', 'v', 'x', '[', '.*'))).toBe('invalid_regexp');
    expect(reasonOf(() => db.setPermissions('u', 'nope', '.*', '.*', '.*'))).toBe('no_such_vhost');
    expect(reasonOf(() => db.setPermissions('nobody', 'v', '.*', '.*', '.*'))).toBe('no_such_user');
  });

  it('a grant is live: the same object, its version moving with every change to the pair', () => {
    const db = setup();
    const g = db.grant('u', 'v');
    expect(db.grant('u', 'v')).toBe(g);
    expect(g.permissions).toBeUndefined();
    const v0 = g.version;
    db.setPermissions('u', 'v', '.*', '', '^r');
    expect(g.version).toBeGreaterThan(v0);
    expect(g.permissions!.read.test('rq')).toBe(true);
    expect(g.permissions!.write.test('anything')).toBe(false); // '' is ^$
    const v1 = g.version;
    db.setTopicPermissions('u', 'v', 'amq.topic', '.*', '.*');
    expect(g.version).toBeGreaterThan(v1);
    expect([...g.topicPermissions.keys()]).toEqual(['amq.topic']);
    const v2 = g.version;
    db.clearTopicPermissions('u', 'v');
    expect(g.topicPermissions.size).toBe(0);
    db.clearPermissions('u', 'v');
    expect(g.permissions).toBeUndefined();
    expect(g.version).toBeGreaterThan(v2);
  });

  it('a change to another pair leaves a grant alone', () => {
    const db = setup();
    db.addVhost({ name: 'w' });
    const g = db.grant('u', 'v');
    const v = g.version;
    db.setPermissions('u', 'w', '.*', '.*', '.*');
    expect(g.version).toBe(v);
  });

  it('deleting the user or the vhost empties its grants and tells the listeners', () => {
    const db = setup();
    db.setPermissions('u', 'v', '.*', '.*', '.*');
    const g = db.grant('u', 'v');
    const events: string[] = [];
    db.listen({ userDeleted: (u) => events.push(`user ${u}`), vhostDeleted: (v) => events.push(`vhost ${v}`) });
    db.deleteUser('u');
    expect(g.permissions).toBeUndefined();
    expect(db.listPermissions()).toEqual([]);
    db.deleteVhost('v');
    expect(events).toEqual(['user u', 'vhost v']);
    // Recreating them does not bring the permission back.
    db.addUser({ name: 'u', password: 'p' });
    db.addVhost({ name: 'v' });
    expect(db.grant('u', 'v').permissions).toBeUndefined();
  });

  it('topic permissions are per user, vhost and exchange; clearing one exchange keeps the others', () => {
    const db = setup();
    db.setTopicPermissions('u', 'v', 'a', '.*', '.*');
    db.setTopicPermissions('u', 'v', 'b', '^x', '^y');
    db.clearTopicPermissions('u', 'v', 'a');
    expect(db.listTopicPermissions()).toEqual([{ user: 'u', vhost: 'v', exchange: 'b', write: '^x', read: '^y' }]);
  });
});
