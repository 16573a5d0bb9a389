/**
 * Definitions export and import on a running broker (Broker.exportDefinitions / importDefinitions):
 * a Warren with users, vhosts, permissions, policies, queues, exchanges and bindings exported and
 * imported into a fresh Warren exports the same again; a real RabbitMQ 3.10.8 export imports; a file
 * with a problem anywhere changes nothing; policies and global parameters survive restarts.
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { PolicyValidationError, startBroker, type RunningBroker } from '../../src/index.js';
import { fv, table } from '../../src/protocol/field-table.js';
import { captureLog, useDiskBrokers, useTempDirs } from '../helpers/disk-brokers.js';

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
const RABBIT_EXPORT = fixture('export.rabbitmq-3.10.8.json');

const running: RunningBroker[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((b) => b.close()));
});
async function start(options: Parameters<typeof startBroker>[0] = {}): Promise<RunningBroker> {
  const b = await startBroker({ port: 0, logLevel: 'silent', rabbitmqVersion: '3.10', ...options });
  running.push(b);
  return b;
}

type Doc = Record<string, unknown[] | string>;
/** The file with each list sorted, so that two exports compare by content. */
function normalised(text: string): Doc {
  const doc = JSON.parse(text) as Doc;
  const out: Doc = {};
  for (const [k, v] of Object.entries(doc)) out[k] = Array.isArray(v) ? v.map((e) => JSON.stringify(e)).sort() : v;
  return out;
}

/** Everything definitions describe, made through the broker's API and a client's declares. */
async function populate(b: RunningBroker): Promise<void> {
  const { broker } = b;
  const db = broker.access;
  db.addVhost({ name: 'orders', description: 'the orders', tags: ['prod', 'eu'], defaultQueueType: 'quorum' });
  db.setVhostLimits('orders', { 'max-queues': 50, 'max-connections': 10 });
  db.addUser({ name: 'alice', password: 'alice-pw', tags: ['administrator', 'monitoring'] });
  db.addUser({ name: 'bob', password: 'bob-pw', tags: ['policymaker'], limits: { 'max-channels': 5 } });
  db.addUser({ name: 'ext', tags: [] });
  db.setPermissions('alice', 'orders', '.*', '.*', '.*');
  db.setPermissions('bob', 'orders', '^bob-', '^(bob-|amq\\.default)', '.*');
  db.setPermissions('alice', '/', '.*', '.*', '.*');
  db.setTopicPermissions('bob', 'orders', 'events', '^bob\\.', '.*');
  broker.setPolicy('orders', 'ttl', { pattern: '^ttl\\.', definition: { 'message-ttl': 60000, 'dead-letter-exchange': 'dlx' }, priority: 5, 'apply-to': 'queues' });
  broker.setPolicy('orders', 'ae', { pattern: '^ex\\.', definition: { 'alternate-exchange': 'unrouted' }, 'apply-to': 'exchanges' });
  broker.setPolicy('orders', 'cap', { pattern: '.*', definition: { 'max-length': 1000 }, priority: 2, 'apply-to': 'queues' }, 'operator_policy');
  broker.setGlobalParameter('cluster_name', 'warren-test');
  const v = broker.vhosts.get('orders')!;
  const x = (name: string, type: string, extra: Partial<Parameters<typeof v.declareExchange>[0]> = {}) =>
    v.declareExchange({ name, type, passive: false, durable: true, autoDelete: false, internal: false, arguments: table(), ...extra });
  const q = (name: string, extra: Partial<Parameters<typeof v.declareQueue>[0]> = {}) =>
    v.declareQueue({ name, passive: false, durable: true, exclusive: false, autoDelete: false, arguments: table(), connectionId: 0, ...extra });
  x('unrouted', 'fanout');
  x('dlx', 'fanout');
  x('events', 'topic', { arguments: table([['alternate-exchange', fv.str('unrouted')]]) });
  x('internal.h', 'headers', { internal: true });
  x('ex.auto', 'direct', { autoDelete: true });
  x('later', 'x-delayed-message', { arguments: table([['x-delayed-type', fv.str('direct')]]) });
  x('transient', 'direct', { durable: false });
  q('ttl.orders', { arguments: table([['x-max-length', fv.long(10)], ['nested', fv.table(table([['a', fv.long(1)], ['b', fv.array([fv.long(1), fv.str('two'), fv.bool(true)])]]))], ['ratio', { type: 'd', value: 1.5 }]]) });
  q('qq', { arguments: table([['x-queue-type', fv.str('quorum')], ['x-delivery-limit', fv.long(3)]]) });
  q('transient-q', { durable: false, autoDelete: true });
  q('mine-only', { exclusive: true, durable: false, connectionId: 99 });
  v.importBinding('events', 'queue', 'ttl.orders', 'order.*.created', table([['note', fv.str('n')]]));
  v.importBinding('events', 'exchange', 'internal.h', '#', table());
  v.importBinding('internal.h', 'queue', 'qq', '', table([['x-match', fv.str('any')], ['region', fv.str('eu')]]));
  v.importBinding('amq.direct', 'queue', 'transient-q', 'k', table());
  v.importBinding('dlx', 'queue', 'mine-only', '', table());
}

describe('definitions export and import at run time', () => {
  it('exports everything; a fresh Warren importing the file exports the same file', async () => {
    const a = await start();
    await populate(a);
    const text = a.broker.exportDefinitions();
    const doc = JSON.parse(text) as Record<string, Record<string, unknown>[]>;
    // Exclusive queues and bindings to them are not definitions.
    expect(doc.queues!.map((q) => q.name).sort()).toEqual(['qq', 'transient-q', 'ttl.orders']);
    expect(doc.bindings!.some((b) => b.destination === 'mine-only')).toBe(false);
    expect(doc.global_parameters).toEqual([{ name: 'cluster_name', value: 'warren-test' }]);
    expect(doc.parameters).toContainEqual({ vhost: 'orders', component: 'vhost-limits', name: 'limits', value: { 'max-connections': 10, 'max-queues': 50 } });
    const b = await start();
    const result = b.broker.importDefinitions(text);
    expect(result.rabbitVersion).toBe('3.10.8');
    expect(normalised(b.broker.exportDefinitions())).toEqual(normalised(text));
    // The imported users log in with their passwords (the hashes were copied, not made again).
    expect(b.broker.access.authenticate('alice', 'alice-pw').ok).toBe(true);
    expect(b.broker.vhosts.get('orders')!.policies.get('ttl')?.priority).toBe(5);
    // Importing the same file again changes nothing.
    b.broker.importDefinitions(text);
    expect(normalised(b.broker.exportDefinitions())).toEqual(normalised(text));
  });

  it("exports one vhost's entities and policies only", async () => {
    const a = await start();
    await populate(a);
    const doc = JSON.parse(a.broker.exportDefinitions('orders')) as Record<string, Record<string, unknown>[]>;
    expect(doc.users).toEqual([]);
    expect(doc.permissions).toEqual([]);
    expect(new Set(doc.queues!.map((q) => q.vhost))).toEqual(new Set(['orders']));
    expect(doc.policies!.map((p) => p.name).sort()).toEqual(['ae', 'ttl']);
    expect(() => a.broker.exportDefinitions('nowhere')).toThrow("vhost 'nowhere' does not exist");
  });

  it('imports a real RabbitMQ 3.10.8 export, and exports the same definitions back', async () => {
    const b = await start();
    // RabbitMQ's export leaves its internal exchange out but binds to it; Warren refuses dangling
    // bindings, so the exchange is there first, as on the node the file came from.
    b.broker.access.addVhost({ name: 'orders' });
    b.broker.vhosts.get('orders')!.declareExchange({ name: 'internal.x', type: 'headers', passive: false, durable: true, autoDelete: false, internal: true, arguments: table() });
    b.broker.importDefinitions(RABBIT_EXPORT);
    const original = JSON.parse(RABBIT_EXPORT) as Record<string, unknown[]>;
    const exported = JSON.parse(b.broker.exportDefinitions()) as Record<string, unknown[]>;
    const sorted = (l: unknown[] | undefined) => (l ?? []).map((e) => JSON.stringify(e)).sort();
    for (const section of ['users', 'permissions', 'topic_permissions', 'policies', 'queues', 'bindings', 'global_parameters']) {
      expect(sorted(exported[section]), section).toEqual(sorted(original[section]));
    }
    // Warren writes the internal exchange RabbitMQ leaves out, and operator policy definitions as objects.
    expect(sorted(exported.exchanges!.filter((x) => (x as { name: string }).name !== 'internal.x'))).toEqual(sorted(original.exchanges));
    const cap = (exported.parameters as { component: string; value: { definition: unknown } }[]).find((p) => p.component === 'operator_policy')!;
    expect(cap.value.definition).toEqual({ expires: 86400000, 'max-length': 1000, 'message-ttl': 3600000 });
    expect(sorted((exported.vhosts as { name: string }[]).map((v) => v.name))).toEqual(sorted((original.vhosts as { name: string }[]).map((v) => v.name)));
  });

  it('a file with one bad entry among good ones changes nothing, and says where', async () => {
    const b = await start();
    const before = b.broker.exportDefinitions();
    const bad = {
      users: [{ name: 'new-user', password: 'pw', tags: [] }],
      vhosts: [{ name: 'new-vhost' }],
      permissions: [{ user: 'new-user', vhost: 'new-vhost', configure: '.*', write: '.*', read: '.*' }],
      policies: [{ vhost: 'new-vhost', name: 'p', pattern: '(', definition: { 'max-length': 1 } }],
      exchanges: [{ name: 'x', vhost: 'new-vhost', type: 'direct', durable: true, auto_delete: false, arguments: { 'alternate-exchange': 7 } }],
      queues: [{ name: 'q', vhost: 'new-vhost', durable: true, auto_delete: false, arguments: {} }],
    };
    expect(() => b.broker.importDefinitions(JSON.stringify(bad))).toThrow(/the definitions were refused, nothing was imported: policies\[0\]: pattern should be regular expression but is invalid/);
    bad.policies = [];
    expect(() => b.broker.importDefinitions(JSON.stringify(bad))).toThrow(/exchanges \(new-vhost\/x\): invalid type 'long' for arg 'alternate-exchange' in exchange 'x' in vhost 'new-vhost'/);
    expect(b.broker.exportDefinitions()).toBe(before);
    expect(b.broker.access.user('new-user')).toBeUndefined();
    expect(b.broker.vhosts.has('new-vhost')).toBe(false);
  });

  it('refuses a policy with RabbitMQ\'s validation texts through setPolicy', async () => {
    const b = await start();
    expect(() => b.broker.setPolicy('/', 'p', { pattern: '.*', definition: { 'message-ttl': -1, 'max-priority': 10 } })).toThrow(
      'Validation failed\n\n-1 is not a valid message TTL',
    );
    expect(() => b.broker.setPolicy('/', 'p', { pattern: '.*', definition: { 'max-priority': 10 } })).toThrow('[{<<"max-priority">>,10}] are not recognised policy settings');
    expect(() => b.broker.setPolicy('/', 'p', { pattern: '(', definition: { 'max-length': 1 } })).toThrow(PolicyValidationError);
    expect(() => b.broker.setPolicy('nowhere', 'p', { pattern: '.*', definition: { 'max-length': 1 } })).toThrow("vhost 'nowhere' does not exist");
    expect(b.broker.clearPolicy('/', 'p')).toBe(false);
  });

  it('leaves out, with a warning, a queue whose arguments nest deeper than a definitions file can', async () => {
    const log = captureLog('warn');
    const b = await start({ logger: log.logger });
    let deep = table([['leaf', fv.long(1)]]);
    for (let i = 0; i < 20_000; i++) deep = table([['n', fv.table(deep)]]);
    const v = b.broker.vhosts.get('/')!;
    v.declareQueue({ name: 'deep', passive: false, durable: false, exclusive: false, autoDelete: false, arguments: deep, connectionId: 0 });
    v.declareQueue({ name: 'shallow', passive: false, durable: false, exclusive: false, autoDelete: false, arguments: table(), connectionId: 0 });
    const doc = JSON.parse(b.broker.exportDefinitions()) as { queues: { name: string }[] };
    expect(doc.queues.map((q) => q.name)).toEqual(['shallow']);
    expect(log.lines.some((l) => String(l.msg).includes("the queue's arguments nest deeper than 500 levels; left out"))).toBe(true);
  });
});

describe('policies and global parameters are durable', () => {
  const tempDir = useTempDirs();
  const brokers = useDiskBrokers();
  it('come back after a restart; a cleared policy stays cleared', async () => {
    const dir = tempDir();
    const b = await brokers.start(dir);
    b.broker.setPolicy('/', 'keep', { pattern: '^k', definition: { 'max-length': 3, 'overflow': 'reject-publish' }, priority: 7, 'apply-to': 'queues' });
    b.broker.setPolicy('/', 'drop', { pattern: '^d', definition: { expires: 1000 } });
    b.broker.setPolicy('/', 'op', { pattern: '.*', definition: { 'message-ttl': 5000 } }, 'operator_policy');
    b.broker.clearPolicy('/', 'drop');
    b.broker.importDefinitions(JSON.stringify({ global_parameters: [{ name: 'cluster_tags', value: [['region', 'eu-west']] }] }));
    await b.close();
    const again = await brokers.start(dir);
    const v = again.broker.vhosts.get('/')!;
    expect(v.policies.list()).toEqual([{ vhost: '/', name: 'keep', pattern: '^k', applyTo: 'queues', priority: 7, definition: { 'max-length': 3, overflow: 'reject-publish' } }]);
    expect(v.operatorPolicies.list().map((p) => p.name)).toEqual(['op']);
    expect(again.broker.globalParameters.get('cluster_tags')).toEqual([['region', 'eu-west']]);
  });

  it('a recovered queue takes its policy again: the limit holds after a restart', async () => {
    const dir = tempDir();
    const b = await brokers.start(dir);
    const ch = await brokers.channel(b);
    await ch.assertQueue('k-limited', { durable: true });
    b.broker.setPolicy('/', 'keep', { pattern: '^k-', definition: { 'max-length': 2 }, 'apply-to': 'queues' });
    await b.close();
    const again = await brokers.start(dir);
    const ch2 = await brokers.channel(again);
    for (let i = 0; i < 5; i++) ch2.sendToQueue('k-limited', Buffer.from(String(i)), { persistent: true });
    expect((await ch2.checkQueue('k-limited')).messageCount).toBe(2);
  });
});
