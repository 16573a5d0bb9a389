import { describe, expect, it } from 'vitest';
import { ChannelError, ConnectionError } from '../../src/errors.js';
import { AccessDatabase } from '../../src/access/access-database.js';
import {
  ChannelAccess,
  checkResourceAccess,
  checkTopicAccess,
  checkUserChannelLimit,
  checkUserId,
  checkVhostAccess,
  checkVhostQueueLimit,
  closedBecause,
  expandTopicPermission,
  isResourceAccessAllowed,
} from '../../src/access/permissions.js';
import matrix from './fixtures/permission-matrix.rabbitmq-3.10.8.json' with { type: 'json' };

const thrown = (fn: () => unknown): { scope: string; code: number; text: string } | undefined => {
  try {
    fn();
    return undefined;
  } catch (e) {
    if (e instanceof ChannelError || e instanceof ConnectionError) return { scope: e.scope, code: e.code, text: e.replyText };
    throw e;
  }
};

function db(): AccessDatabase {
  const d = new AccessDatabase();
  for (const v of ['perm', 'noperm']) d.addVhost({ name: v });
  d.addUser({ name: 'limited', password: 'limited' });
  const p = matrix.permissions;
  d.setPermissions('limited', 'perm', p.configure, p.write, p.read);
  return d;
}
const limited = { name: 'limited', tags: [] as string[] };
const none = { inVhost: 0, ofUser: 0 };

describe('connection.open: checkVhostAccess', () => {
  it('refuses a vhost the user has no permissions in, with RabbitMQ 3.10.8 text (530, connection)', () => {
    const r = matrix.connections['vhost without permissions'];
    expect(thrown(() => checkVhostAccess(db(), limited, 'noperm', none))).toEqual({ scope: 'connection', code: r.code, text: r.text });
  });

  it('refuses a vhost that does not exist, with RabbitMQ 3.10.8 text', () => {
    const r = matrix.connections['vhost that does not exist'];
    expect(thrown(() => checkVhostAccess(db(), limited, 'no-such-vhost', none))).toEqual({ scope: 'connection', code: r.code, text: r.text });
  });

  it('returns the live grant when the user has permissions there', () => {
    const d = db();
    const g = checkVhostAccess(d, limited, 'perm', none);
    expect(g).toBe(d.grant('limited', 'perm'));
  });

  it('checks the vhost connection limit, then the user limit, then permissions (rabbit_reader order)', () => {
    const d = db();
    d.setVhostLimits('noperm', { 'max-connections': 1 });
    d.setUserLimits('limited', { 'max-connections': 2 });
    expect(thrown(() => checkVhostAccess(d, limited, 'noperm', { inVhost: 1, ofUser: 5 }))?.text).toBe(
      "NOT_ALLOWED - access to vhost 'noperm' refused for user 'limited': connection limit (1) is reached",
    );
    expect(thrown(() => checkVhostAccess(d, limited, 'noperm', { inVhost: 0, ofUser: 2 }))?.text).toBe(
      "NOT_ALLOWED - connection refused for user 'limited': user connection limit (2) is reached",
    );
    expect(thrown(() => checkVhostAccess(d, limited, 'noperm', { inVhost: 0, ofUser: 1 }))?.text).toBe(matrix.connections['vhost without permissions'].text);
  });

  it('a limit of 0 admits nobody; a negative limit means none', () => {
    const d = db();
    d.setVhostLimits('perm', { 'max-connections': 0 });
    expect(thrown(() => checkVhostAccess(d, limited, 'perm', none))?.code).toBe(530);
    d.setVhostLimits('perm', { 'max-connections': -1 });
    expect(thrown(() => checkVhostAccess(d, limited, 'perm', { inVhost: 1000, ofUser: 0 }))).toBeUndefined();
  });
});

describe('other limits', () => {
  it('max-channels of a user (530) and max-queues of a vhost (406)', () => {
    const d = db();
    d.setUserLimits('limited', { 'max-channels': 2 });
    expect(thrown(() => checkUserChannelLimit(d, 'limited', 1))).toBeUndefined();
    expect(thrown(() => checkUserChannelLimit(d, 'limited', 2))).toEqual({
      scope: 'connection',
      code: 530,
      text: "NOT_ALLOWED - number of channels opened for user 'limited' has reached the maximum allowed user limit of (2)",
    });
    d.setVhostLimits('perm', { 'max-queues': 3 });
    expect(thrown(() => checkVhostQueueLimit(d, 'perm', 'q', 2))).toBeUndefined();
    expect(thrown(() => checkVhostQueueLimit(d, 'perm', 'q', 3))).toEqual({
      scope: 'channel',
      code: 406,
      text: "PRECONDITION_FAILED - cannot declare queue 'q': queue limit in vhost 'perm' (3) is reached",
    });
  });

  it('the 320 texts for connections whose user or vhost is deleted', () => {
    expect(closedBecause.userDeleted('bob')).toBe("user 'bob' is deleted");
    expect(closedBecause.vhostDeleted('orders')).toBe("vhost 'orders' is deleted");
  });
});

describe('checkResourceAccess', () => {
  it("refuses with RabbitMQ's text, naming the resource kind", () => {
    const g = db().grant('limited', 'perm');
    expect(thrown(() => checkResourceAccess(g, 'queue', 'q', 'configure'))).toEqual({
      scope: 'channel',
      code: 403,
      text: "ACCESS_REFUSED - access to queue 'q' in vhost 'perm' refused for user 'limited'",
    });
    expect(thrown(() => checkResourceAccess(g, 'exchange', 'x', 'read'))?.text).toBe("ACCESS_REFUSED - access to exchange 'x' in vhost 'perm' refused for user 'limited'");
  });

  it('the default exchange is checked, and named, as amq.default', () => {
    const d = db();
    d.addUser({ name: 'u', password: 'p' });
    d.setPermissions('u', 'perm', '', '^amq\\.default$', '');
    const g = d.grant('u', 'perm');
    expect(isResourceAccessAllowed(g, 'exchange', '', 'write')).toBe(true);
    expect(thrown(() => checkResourceAccess(g, 'exchange', '', 'read'))?.text).toBe("ACCESS_REFUSED - access to exchange 'amq.default' in vhost 'perm' refused for user 'u'");
  });

  it("'' grants nothing (it is ^$) and .* everything; regexes are unanchored searches", () => {
    const d = db();
    d.addUser({ name: 'u', password: 'p' });
    d.setPermissions('u', 'perm', '', '.*', 'q');
    const g = d.grant('u', 'perm');
    expect(isResourceAccessAllowed(g, 'queue', 'anything', 'configure')).toBe(false);
    expect(isResourceAccessAllowed(g, 'queue', 'anything', 'write')).toBe(true);
    expect(isResourceAccessAllowed(g, 'queue', 'my-q-name', 'read')).toBe(true);
    expect(isResourceAccessAllowed(g, 'queue', 'nothing', 'read')).toBe(false);
  });

  it('refuses everything once the permission is cleared', () => {
    const d = db();
    const g = d.grant('limited', 'perm');
    expect(isResourceAccessAllowed(g, 'queue', 'both-q', 'read')).toBe(true);
    d.clearPermissions('limited', 'perm');
    expect(isResourceAccessAllowed(g, 'queue', 'both-q', 'read')).toBe(false);
  });
});

describe('topic permissions', () => {
  it('expands {username}, {vhost} and {client_id}, in that map order, without escaping', () => {
    expect(expandTopicPermission('^{username}\\.{vhost}\\.{client_id}$', { username: 'bob', vhost: 'v', client_id: 'c1' })).toBe('^bob\\.v\\.c1$');
    expect(expandTopicPermission('^{client_id}', { username: 'bob', vhost: 'v' })).toBe('^{client_id}');
    // client_id is replaced first, so a client id naming {username} is expanded in turn.
    expect(expandTopicPermission('{client_id}', { username: 'bob', vhost: 'v', client_id: '{username}' })).toBe('bob');
    expect(expandTopicPermission('^{username}$', { username: 'a.b', vhost: 'v' })).toBe('^a.b$');
  });

  it("applies only with a topic permission on the exchange, and refuses with RabbitMQ's text", () => {
    const d = db();
    const t = matrix.topicPermissions;
    d.setTopicPermissions('limited', 'perm', t.exchange, t.write, t.read);
    const g = d.grant('limited', 'perm');
    const vars = { username: 'limited', vhost: 'perm' };
    expect(thrown(() => checkTopicAccess(g, 'both-topic', 'limited.x', 'write', vars))).toBeUndefined();
    expect(thrown(() => checkTopicAccess(g, 'both-topic', 'other.orders', 'write', vars))?.text).toBe(matrix.methods['basic.publish topic refused'].text);
    expect(thrown(() => checkTopicAccess(g, 'both-topic-open', 'anything', 'write', vars))).toBeUndefined();
    expect(thrown(() => checkTopicAccess(g, 'both-topic', 'perm.#', 'read', vars))).toBeUndefined();
  });

  it('a regex that no longer compiles after expansion refuses', () => {
    const d = new AccessDatabase();
    d.addVhost({ name: 'v' });
    d.addUser({ name: 'we(ird', password: 'p' });
    d.setPermissions('we(ird', 'v', '.*', '.*', '.*');
    d.setTopicPermissions('we(ird', 'v', 'amq.topic', '^{username}', '.*');
    const g = d.grant('we(ird', 'v');
    expect(thrown(() => checkTopicAccess(g, 'amq.topic', 'we(ird.x', 'write', { username: 'we(ird', vhost: 'v' }))?.code).toBe(403);
  });
});

describe('user_id', () => {
  it('must be absent or the user, unless the user is an impersonator', () => {
    expect(thrown(() => checkUserId(limited, undefined))).toBeUndefined();
    expect(thrown(() => checkUserId(limited, 'limited'))).toBeUndefined();
    expect(thrown(() => checkUserId(limited, 'someone-else'))?.text).toBe(matrix.methods['basic.publish user_id mismatch'].text);
    expect(thrown(() => checkUserId({ name: 'i', tags: ['impersonator'] }, 'someone-else'))).toBeUndefined();
  });
});

describe('ChannelAccess: cached decisions', () => {
  it('knows when nothing can be refused (".*" everywhere, no topic permissions), following changes', () => {
    const d = db();
    d.addUser({ name: 'admin', password: 'p' });
    d.setPermissions('admin', 'perm', '.*', '.*', '.*');
    const access = new ChannelAccess(d.grant('admin', 'perm'), { name: 'admin', tags: [] });
    expect(access.unrestricted()).toBe(true);
    d.setTopicPermissions('admin', 'perm', 'amq.topic', '.*', '^x');
    expect(access.unrestricted()).toBe(false);
    d.clearTopicPermissions('admin', 'perm');
    d.setPermissions('admin', 'perm', '.*', '.+', '.*');
    expect(access.unrestricted()).toBe(false);
    expect(new ChannelAccess(d.grant('limited', 'perm'), limited).unrestricted()).toBe(false);
  });

  it('isUnrestricted (what basic.publish asks) is worked out again when the grant changes, and only then', () => {
    const d = db();
    d.addUser({ name: 'admin', password: 'p' });
    d.setPermissions('admin', 'perm', '.*', '.*', '.*');
    const access = new ChannelAccess(d.grant('admin', 'perm'), { name: 'admin', tags: [] });
    expect(access.isUnrestricted).toBe(true);
    d.setPermissions('admin', 'perm', '.*', '^w', '.*');
    expect(access.isUnrestricted).toBe(false);
    d.setPermissions('admin', 'perm', '.*', '.*', '.*');
    expect(access.isUnrestricted).toBe(true);
    d.setTopicPermissions('admin', 'perm', 'amq.topic', '.*', '.*');
    expect(access.isUnrestricted).toBe(false);
    d.clearTopicPermissions('admin', 'perm');
    expect(access.isUnrestricted).toBe(true);
    d.clearPermissions('admin', 'perm');
    expect(access.isUnrestricted).toBe(false);
  });

  it('caches allowed decisions and drops them when the grant changes', () => {
    const d = db();
    const access = new ChannelAccess(d.grant('limited', 'perm'), limited);
    access.check('queue', 'both-q', 'read');
    // A stale decision would still allow it: the version moved, so the check is made again.
    d.setPermissions('limited', 'perm', '.*', '.*', '^nothing$');
    expect(thrown(() => access.check('queue', 'both-q', 'read'))?.code).toBe(403);
    d.setPermissions('limited', 'perm', '.*', '.*', '.*');
    expect(thrown(() => access.check('queue', 'both-q', 'read'))).toBeUndefined();
  });

  it('caches per permission and kind: an allowed read does not allow a write', () => {
    const access = new ChannelAccess(db().grant('limited', 'perm'), limited);
    access.check('queue', 'r-q', 'read');
    expect(thrown(() => access.check('queue', 'r-q', 'write'))?.code).toBe(403);
    expect(thrown(() => access.check('exchange', 'r-q', 'configure'))?.code).toBe(403);
  });

  it('stays correct past its size bound', () => {
    const d = new AccessDatabase();
    d.addVhost({ name: 'v' });
    d.addUser({ name: 'u', password: 'p' });
    d.setPermissions('u', 'v', '^ok', '', '');
    const access = new ChannelAccess(d.grant('u', 'v'), { name: 'u', tags: [] });
    for (let i = 0; i < 1000; i++) access.check('queue', `ok-${i}`, 'configure');
    expect(thrown(() => access.check('queue', 'no', 'configure'))?.code).toBe(403);
    expect(thrown(() => access.check('queue', 'ok-1', 'configure'))).toBeUndefined();
  });

  it('topic checks: cached per routing key, re-checked after a change, refused with the text', () => {
    const d = db();
    d.setTopicPermissions('limited', 'perm', 'amq.topic', '^{username}\\.', '^{vhost}\\.');
    const access = new ChannelAccess(d.grant('limited', 'perm'), limited);
    access.checkTopic('amq.topic', 'limited.a', 'write');
    expect(thrown(() => access.checkTopic('amq.topic', 'x.a', 'write'))?.text).toBe(
      "ACCESS_REFUSED - access to topic 'x.a' in exchange 'amq.topic' in vhost 'perm' refused for user 'limited'",
    );
    access.checkTopic('amq.topic', 'perm.a', 'read');
    d.setTopicPermissions('limited', 'perm', 'amq.topic', '^$', '^$');
    expect(thrown(() => access.checkTopic('amq.topic', 'limited.a', 'write'))?.code).toBe(403);
    d.clearTopicPermissions('limited', 'perm');
    expect(thrown(() => access.checkTopic('amq.topic', 'x.a', 'write'))).toBeUndefined();
  });

  it('expands {client_id} when the connection supplies one', () => {
    const d = db();
    d.setTopicPermissions('limited', 'perm', 'amq.topic', '^device\\.{client_id}\\.', '.*');
    const access = new ChannelAccess(d.grant('limited', 'perm'), limited, { username: 'limited', vhost: 'perm', client_id: 'dev7' });
    expect(thrown(() => access.checkTopic('amq.topic', 'device.dev7.temp', 'write'))).toBeUndefined();
    expect(thrown(() => access.checkTopic('amq.topic', 'device.dev8.temp', 'write'))?.code).toBe(403);
  });
});
