/**
 * load_definitions: a RabbitMQ definitions file imported at every start, before clients are
 * accepted. Users keep the hashes RabbitMQ wrote (they log in unchanged), a first start that loads
 * definitions creates no default user, and a file with any problem stops the start having changed
 * nothing.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import amqp from 'amqplib';
import { describe, expect, it } from 'vitest';
import { LoadDefinitionsError } from '../../src/broker/definitions-import.js';
import type { RunningBroker } from '../../src/index.js';
import hashes from '../access/fixtures/password-hashes.rabbitmq-3.10.8.json' with { type: 'json' };
import { useDiskBrokers, useTempDirs } from '../helpers/disk-brokers.js';

const tempDir = useTempDirs();
const brokers = useDiskBrokers();

const recorded = (user: string) => hashes.rabbitmq.find((h) => h.user === user)!;

/** Two users exported by RabbitMQ 3.10.8 (hash and algorithm as it wrote them), a vhost, entities. */
function definitions(extra: Record<string, unknown> = {}) {
  return {
    rabbit_version: '3.10.8',
    users: ['sha256-user', 'sha512-user'].map((u) => ({ name: u, password_hash: recorded(u).password_hash, hashing_algorithm: recorded(u).hashing_algorithm, tags: ['monitoring'], limits: {} })),
    vhosts: [{ name: 'orders', limits: [], metadata: { description: 'orders', tags: [] } }],
    permissions: [
      { user: 'sha256-user', vhost: 'orders', configure: '.*', write: '.*', read: '.*' },
      { user: 'sha512-user', vhost: 'orders', configure: '^$', write: '^$', read: '^in$' },
    ],
    exchanges: [{ name: 'events', vhost: 'orders', type: 'topic', durable: true, auto_delete: false, internal: false, arguments: {} }],
    queues: [{ name: 'in', vhost: 'orders', durable: true, auto_delete: false, arguments: { 'x-max-length': 10 } }],
    bindings: [{ source: 'events', vhost: 'orders', destination: 'in', destination_type: 'queue', routing_key: 'order.#', arguments: {} }],
    ...extra,
  };
}

function url(b: RunningBroker, user: string, vhost: string): string {
  return `amqp://${encodeURIComponent(user)}:${encodeURIComponent(recorded(user).password ?? "")}@127.0.0.1:${b.port}/${encodeURIComponent(vhost)}`;
}

describe('load_definitions', () => {
  it("imports users with RabbitMQ's hashes, vhosts, permissions, exchanges, queues and bindings; no default user", async () => {
    const dir = tempDir();
    const file = join(dir, 'definitions.json');
    writeFileSync(file, JSON.stringify(definitions()));
    const b = await brokers.start(join(dir, 'data'), { loadDefinitions: file });
    expect(b.broker.access.listUsers().map((u) => u.name).sort()).toEqual(['sha256-user', 'sha512-user']);
    const c = await amqp.connect(url(b, 'sha256-user', 'orders'));
    const ch = await c.createChannel();
    ch.publish('events', 'order.new', Buffer.from('routed by the imported binding'));
    expect((await ch.checkQueue('in')).messageCount).toBe(1);
    await c.close();
    // SHA-512 hash, and its permissions: read on 'in' only.
    const reader = await amqp.connect(url(b, 'sha512-user', 'orders'));
    const rch = await reader.createChannel();
    rch.on('error', () => {});
    const m = await rch.get('in', { noAck: true });
    expect(m !== false && m.content.toString()).toBe('routed by the imported binding');
    await expect(rch.assertQueue('mine')).rejects.toThrow(/ACCESS_REFUSED - access to queue 'mine' in vhost 'orders' refused for user 'sha512-user'/);
    await reader.close().catch(() => {});
    // Every start imports again (as RabbitMQ does): nothing doubles, what exists is left as it is.
    await b.close();
    const again = await brokers.start(join(dir, 'data'), { loadDefinitions: file });
    expect(again.broker.vhosts.get('orders')!.queues.size).toBe(1);
    expect(again.broker.access.listUsers()).toHaveLength(2);
  });

  it('imports every .json file of a directory, in name order', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'defs'));
    const all = definitions();
    writeFileSync(join(dir, 'defs', '1-access.json'), JSON.stringify({ users: all.users, vhosts: all.vhosts, permissions: all.permissions }));
    writeFileSync(join(dir, 'defs', '2-entities.json'), JSON.stringify({ exchanges: all.exchanges, queues: all.queues, bindings: all.bindings }));
    writeFileSync(join(dir, 'defs', 'notes.txt'), 'not definitions');
    const b = await brokers.start(join(dir, 'data'), { loadDefinitions: join(dir, 'defs') });
    expect(b.broker.vhosts.get('orders')!.exchanges.get('events')!.bindings.size).toBe(1);
  });

  it('a file with a problem stops the start, names where it is, and changes nothing', async () => {
    const dir = tempDir();
    const file = join(dir, 'definitions.json');
    const bad = definitions();
    // Valid for the planner, refused when declared: an alternate-exchange that is not a string.
    bad.exchanges.push({ name: 'ae-num', vhost: 'orders', type: 'direct', durable: true, auto_delete: false, internal: false, arguments: { 'alternate-exchange': 5 } as never });
    (bad.queues[0] as Record<string, unknown>).colour = 'blue';
    writeFileSync(file, JSON.stringify(bad));
    const data = join(dir, 'data');
    const failure = await brokers.start(data, { loadDefinitions: file }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(LoadDefinitionsError);
    expect((failure as Error).message).toContain(`load_definitions ${file}: the definitions were refused, nothing was imported`);
    expect((failure as Error).message).toContain('queues[0].colour: unknown field');
    writeFileSync(file, JSON.stringify({ ...definitions(), exchanges: bad.exchanges }));
    const failure2 = await brokers.start(data, { loadDefinitions: file }).catch((e: unknown) => e);
    expect((failure2 as Error).message).toContain("exchanges (orders/ae-num): invalid type 'long' for arg 'alternate-exchange' in exchange 'ae-num' in vhost 'orders'");
    // Nothing was kept: a start without the file is a first start (the defaults, none of the file's users).
    const b = await brokers.start(data);
    expect(b.broker.access.listUsers().map((u) => u.name)).toEqual(['guest']);
    expect(b.broker.vhosts.has('orders')).toBe(false);
    const missing = await brokers.start(join(dir, 'data2'), { loadDefinitions: join(dir, 'nope.json') }).catch((e: unknown) => e);
    expect((missing as Error).message).toBe(`load_definitions ${join(dir, 'nope.json')}: cannot be read: it does not exist`);
  });
});
