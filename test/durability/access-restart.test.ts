/**
 * Users, vhosts and permissions are durable: they come back after a clean restart and after a crash
 * (the definitions log is written synchronously, so a copy of the data directory taken while the
 * broker runs is what a kill -9 leaves), the defaults are created on the first start only, and a data
 * directory of the previous format (no access records) is upgraded with the defaults and keeps its
 * queues.
 */
import { appendFileSync, cpSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import amqp from 'amqplib';
import { describe, expect, it } from 'vitest';
import type { RunningBroker } from '../../src/index.js';
import { useDiskBrokers, useTempDirs } from '../helpers/disk-brokers.js';

const tempDir = useTempDirs();
const brokers = useDiskBrokers();

function urlFor(b: RunningBroker, user: string, password: string, vhost: string): string {
  return `amqp://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${b.port}/${encodeURIComponent(vhost)}`;
}

/** Whether `user` can log in to `vhost` (and open a channel there). */
async function canUse(b: RunningBroker, user: string, password: string, vhost: string): Promise<boolean> {
  try {
    const c = await amqp.connect(urlFor(b, user, password, vhost));
    c.on('error', () => {});
    await c.createChannel();
    await c.close();
    return true;
  } catch {
    return false;
  }
}

/** Users, vhosts and permissions made at run time, one of each deleted again. */
function populate(b: RunningBroker): void {
  const db = b.broker.access;
  db.addVhost({ name: 'orders', description: 'the orders', tags: ['prod'] });
  db.addVhost({ name: 'doomed' });
  db.addUser({ name: 'alice', password: 'alice-pw', tags: ['monitoring'] });
  db.addUser({ name: 'bob', password: 'bob-pw' });
  db.addUser({ name: 'carol', password: 'carol-pw' });
  db.setPermissions('alice', 'orders', '^alice-.*', '.*', '.*');
  db.setPermissions('bob', 'orders', '.*', '.*', '.*');
  db.setPermissions('bob', 'doomed', '.*', '.*', '.*');
  db.setTopicPermissions('alice', 'orders', 'amq.topic', '^a\\.', '.*');
  db.changePassword('bob', 'bob-pw-2');
  db.deleteUser('carol');
}

async function expectPopulated(b: RunningBroker): Promise<void> {
  const db = b.broker.access;
  expect(db.listUsers().map((u) => u.name).sort()).toEqual(['alice', 'bob', 'guest']);
  expect(db.user('alice')?.tags).toEqual(['monitoring']);
  expect(db.vhost('orders')).toMatchObject({ description: 'the orders', tags: ['prod'] });
  expect(db.permission('alice', 'orders')).toMatchObject({ configure: '^alice-.*', write: '.*', read: '.*' });
  expect(db.listTopicPermissions()).toEqual([{ user: 'alice', vhost: 'orders', exchange: 'amq.topic', write: '^a\\.', read: '.*' }]);
  expect(await canUse(b, 'alice', 'alice-pw', 'orders')).toBe(true);
  expect(await canUse(b, 'bob', 'bob-pw-2', 'orders')).toBe(true);
  expect(await canUse(b, 'bob', 'bob-pw', 'orders')).toBe(false);
  expect(await canUse(b, 'carol', 'carol-pw', 'orders')).toBe(false);
  expect(await canUse(b, 'bob', 'bob-pw-2', 'doomed')).toBe(false); // the vhost is gone
}

describe('users, vhosts and permissions across restarts', () => {
  it('come back after a clean restart; a deleted vhost stays deleted with its durable queues', async () => {
    const dir = tempDir();
    const b = await brokers.start(dir);
    populate(b);
    const conn = await amqp.connect(urlFor(b, 'bob', 'bob-pw-2', 'doomed'));
    const ch = await conn.createConfirmChannel();
    await ch.assertQueue('kept-nowhere', { durable: true });
    ch.sendToQueue('kept-nowhere', Buffer.from('gone with its vhost'), { persistent: true });
    await ch.waitForConfirms();
    await conn.close();
    expect(readdirSync(join(dir, 'queues'))).toHaveLength(1);
    b.broker.access.deleteVhost('doomed');
    await b.close();
    const again = await brokers.start(dir);
    await expectPopulated(again);
    expect(again.broker.vhosts.has('doomed')).toBe(false);
    expect(readdirSync(join(dir, 'queues'))).toHaveLength(0);
  });

  it('come back after a crash, a torn last record cut off', async () => {
    const dir = tempDir();
    const b = await brokers.start(dir);
    populate(b);
    b.broker.access.deleteVhost('doomed');
    // What kill -9 leaves: the files as they are now (the lock aside, which names this live process).
    const crashed = tempDir();
    cpSync(dir, crashed, { recursive: true });
    rmSync(join(crashed, 'LOCK'));
    expect(existsSync(join(crashed, 'CLEAN'))).toBe(false);
    appendFileSync(join(crashed, 'definitions.log'), Buffer.from([0, 0, 0, 40, 1, 2, 3, 4, 123, 34]));
    await expectPopulated(await brokers.start(crashed));
  });

  it('creates the default user and vhost on the first start only', async () => {
    const dir = tempDir();
    const b = await brokers.start(dir);
    expect(b.broker.access.listUsers().map((u) => u.name)).toEqual(['guest']);
    expect(b.broker.access.permission('guest', '/')).toMatchObject({ configure: '.*', write: '.*', read: '.*' });
    b.broker.access.addUser({ name: 'admin', password: 'admin-pw', tags: ['administrator'] });
    b.broker.access.setPermissions('admin', '/', '.*', '.*', '.*');
    b.broker.access.deleteUser('guest');
    await b.close();
    const again = await brokers.start(dir);
    expect(again.broker.access.listUsers().map((u) => u.name)).toEqual(['admin']);
    expect(await canUse(again, 'guest', 'guest', '/')).toBe(false);
    expect(await canUse(again, 'admin', 'admin-pw', '/')).toBe(true);
  });

  it('upgrades a data directory of format 2: the defaults are created and its queues kept', async () => {
    const dir = tempDir();
    const b = await brokers.start(dir);
    const ch = await brokers.channel(b);
    await ch.assertQueue('old-q', { durable: true });
    ch.sendToQueue('old-q', Buffer.from('from before'), { persistent: true });
    await ch.checkQueue('old-q');
    await b.close();
    // Rewrite it as format 2 had it: no access records.
    const logPath = join(dir, 'definitions.log');
    writeFileSync(logPath, Buffer.concat(records(logPath).filter((r) => ['exchange', 'queue', 'binding'].includes(r.t)).map((r) => record(r))));
    writeFileSync(join(dir, 'FORMAT'), 'warren-store 2\n');
    const again = await brokers.start(dir);
    expect(readFileSync(join(dir, 'FORMAT'), 'utf8')).toBe('warren-store 3\n');
    expect(again.broker.access.listUsers().map((u) => u.name)).toEqual(['guest']);
    const ch2 = await brokers.channel(again);
    const m = await ch2.get('old-q', { noAck: true });
    expect(m !== false && m.content.toString()).toBe('from before');
  });
});

/** The records of a definitions log (length, crc, JSON payload). */
function records(path: string): { t: string }[] {
  const data = readFileSync(path);
  const out: { t: string }[] = [];
  for (let at = 0; at + 8 <= data.length; ) {
    const len = data.readUInt32BE(at);
    out.push(JSON.parse(data.toString('utf8', at + 8, at + 8 + len)) as { t: string });
    at += 8 + len;
  }
  return out;
}

function record(change: object): Buffer {
  const payload = Buffer.from(JSON.stringify(change));
  const head = Buffer.alloc(8);
  head.writeUInt32BE(payload.length, 0);
  head.writeUInt32BE(crc32(payload), 4);
  return Buffer.concat([head, payload]);
}
