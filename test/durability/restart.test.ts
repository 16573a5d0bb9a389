/**
 * Restarts of an embedded broker on the same data directory (clean shutdown with close()), through
 * amqplib: RabbitMQ's restart rules for durable entities and persistent messages, confirms and
 * tx.commit-ok only after the persister synced, the three durability modes, the data-directory lock
 * and the format version. Crashes (kill -9) are in crash.test.ts; damaged files in torn-writes.test.ts.
 */
import type { Channel, ConfirmChannel, GetMessage } from 'amqplib';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunningBroker, StartOptions } from '../../src/index.js';
import { FORMAT } from '../../src/store/data-dir.js';
import { eventually } from '../helpers/broker.js';
import { txCommit, txRollback, txSelect } from '../helpers/model.js';
import { FaultyIo, sleep, useDiskBrokers, useTempDirs } from '../helpers/disk-brokers.js';

const tempDir = useTempDirs();
const { start, connect, channel, confirmChannel } = useDiskBrokers();

/** Clean shutdown, then a new broker on the same directory. */
async function restart(b: RunningBroker, dataDir: string, options: StartOptions = {}): Promise<RunningBroker> {
  await b.close();
  return start(dataDir, options);
}

/** basic.get until empty (noAck). */
async function drain(ch: Channel, q: string): Promise<Array<{ body: string; redelivered: boolean }>> {
  const out: Array<{ body: string; redelivered: boolean }> = [];
  for (;;) {
    const m = await ch.get(q, { noAck: true });
    if (m === false) return out;
    out.push({ body: m.content.toString(), redelivered: m.fields.redelivered });
  }
}

async function get(ch: Channel, q: string): Promise<GetMessage> {
  const m = await ch.get(q, { noAck: false });
  if (m === false) throw new Error(`queue ${q} is empty`);
  return m;
}

/** Publishes persistent (or not) messages with confirms and waits for them. */
async function publishConfirmed(ch: ConfirmChannel, q: string, bodies: string[], persistent = true): Promise<void> {
  for (const b of bodies) ch.sendToQueue(q, Buffer.from(b), { persistent });
  await ch.waitForConfirms();
}

const range = (n: number, prefix = 'm') => Array.from({ length: n }, (_, i) => `${prefix}${i + 1}`);

async function queueExists(b: RunningBroker, q: string): Promise<boolean> {
  const ch = await channel(b);
  try {
    await ch.checkQueue(q);
    return true;
  } catch {
    return false;
  }
}

async function exchangeExists(b: RunningBroker, x: string): Promise<boolean> {
  const ch = await channel(b);
  try {
    await ch.checkExchange(x);
    return true;
  } catch {
    return false;
  }
}

describe('restart: durable entities (clean shutdown)', () => {
  it('durable queues and exchanges come back; transient and exclusive queues and transient exchanges do not', async () => {
    const dir = tempDir();
    let b = await start(dir);
    const ch = await channel(b);
    await ch.assertQueue('durable-q', { durable: true });
    await ch.assertQueue('transient-q', { durable: false });
    await ch.assertQueue('exclusive-q', { durable: true, exclusive: true });
    await ch.assertExchange('durable-x', 'topic', { durable: true });
    await ch.assertExchange('transient-x', 'fanout', { durable: false });
    b = await restart(b, dir);
    expect(await queueExists(b, 'durable-q')).toBe(true);
    expect(await queueExists(b, 'transient-q')).toBe(false);
    expect(await queueExists(b, 'exclusive-q')).toBe(false);
    expect(await exchangeExists(b, 'durable-x')).toBe(true);
    expect(await exchangeExists(b, 'transient-x')).toBe(false);
  });

  it('keeps the declared properties and arguments: an equivalent declare passes, a different one fails', async () => {
    const dir = tempDir();
    let b = await start(dir);
    const ch = await channel(b);
    await ch.assertQueue('args-q', { durable: true, arguments: { 'x-max-length': 3, 'x-dead-letter-exchange': 'dlx', 'x-overflow': 'reject-publish' } });
    await ch.assertExchange('args-x', 'headers', { durable: true, autoDelete: false, internal: true, arguments: { 'alternate-exchange': 'ae' } });
    b = await restart(b, dir);
    const ch2 = await channel(b);
    await ch2.assertQueue('args-q', { durable: true, arguments: { 'x-max-length': 3, 'x-dead-letter-exchange': 'dlx', 'x-overflow': 'reject-publish' } });
    await ch2.assertExchange('args-x', 'headers', { durable: true, internal: true, arguments: { 'alternate-exchange': 'ae' } });
    const ch3 = await channel(b);
    await expect(ch3.assertQueue('args-q', { durable: true, arguments: { 'x-max-length': 4 } })).rejects.toThrow(/PRECONDITION_FAILED/);
    const ch4 = await channel(b);
    await expect(ch4.assertExchange('args-x', 'topic', { durable: true })).rejects.toThrow(/PRECONDITION_FAILED/);
    // The length limit with reject-publish still applies after the restart.
    const cc = await confirmChannel(b);
    await publishConfirmed(cc, 'args-q', ['a', 'b', 'c']);
    cc.sendToQueue('args-q', Buffer.from('d'), { persistent: true });
    await expect(cc.waitForConfirms()).rejects.toThrow();
  });

  it('a binding comes back only when both its ends are durable', async () => {
    const dir = tempDir();
    let b = await start(dir);
    const ch = await channel(b);
    await ch.assertExchange('dx', 'direct', { durable: true });
    await ch.assertExchange('tx', 'direct', { durable: false });
    await ch.assertExchange('dx2', 'fanout', { durable: true });
    await ch.assertQueue('dq', { durable: true });
    await ch.assertQueue('tq', { durable: false });
    await ch.bindQueue('dq', 'dx', 'both-durable');
    await ch.bindQueue('tq', 'dx', 'to-transient-queue');
    await ch.bindQueue('dq', 'tx', 'from-transient-exchange');
    await ch.bindQueue('dq', 'amq.topic', 'builtin.#');
    await ch.bindExchange('dx2', 'dx', 'e2e');
    await ch.bindQueue('dq', 'dx2', '');
    await ch.bindQueue('dq', 'dx', 'unbound-before-restart');
    await ch.unbindQueue('dq', 'dx', 'unbound-before-restart');
    b = await restart(b, dir);
    const cc = await confirmChannel(b);
    const ch2 = await channel(b);
    await ch2.assertQueue('tq', { durable: false });
    cc.publish('dx', 'both-durable', Buffer.from('1'));
    cc.publish('dx', 'to-transient-queue', Buffer.from('not routed'));
    cc.publish('amq.topic', 'builtin.x', Buffer.from('2'));
    cc.publish('dx', 'e2e', Buffer.from('3'));
    cc.publish('dx', 'unbound-before-restart', Buffer.from('not routed either'));
    await cc.waitForConfirms();
    expect((await drain(ch2, 'dq')).map((m) => m.body)).toEqual(['1', '2', '3']);
    expect(await drain(ch2, 'tq')).toEqual([]);
    expect(await exchangeExists(b, 'tx')).toBe(false);
  });

  it('deleted entities stay deleted, a re-declared queue starts empty, and a purge is kept', async () => {
    const dir = tempDir();
    let b = await start(dir);
    const cc = await confirmChannel(b);
    await cc.assertQueue('deleted-q', { durable: true });
    await publishConfirmed(cc, 'deleted-q', ['old']);
    await cc.deleteQueue('deleted-q');
    await cc.assertQueue('deleted-q', { durable: true });
    await publishConfirmed(cc, 'deleted-q', ['new']);
    await cc.assertQueue('purged-q', { durable: true });
    await publishConfirmed(cc, 'purged-q', range(50));
    await cc.purgeQueue('purged-q');
    await cc.assertQueue('gone-q', { durable: true });
    await cc.deleteQueue('gone-q');
    await cc.assertExchange('gone-x', 'topic', { durable: true });
    await cc.deleteExchange('gone-x');
    b = await restart(b, dir);
    const ch = await channel(b);
    expect(await drain(ch, 'deleted-q')).toEqual([{ body: 'new', redelivered: false }]);
    expect(await drain(ch, 'purged-q')).toEqual([]);
    expect(await queueExists(b, 'gone-q')).toBe(false);
    expect(await exchangeExists(b, 'gone-x')).toBe(false);
    // The deleted queue's files are gone too: one store directory per durable queue left.
    expect(readdirSync(join(dir, 'queues')).length).toBeLessThanOrEqual(2);
  });

  it('survives several restarts in a row, with changes in between', async () => {
    const dir = tempDir();
    let b = await start(dir);
    for (let round = 0; round < 4; round++) {
      const cc = await confirmChannel(b);
      await cc.assertQueue(`q${round}`, { durable: true });
      await cc.assertExchange(`x${round}`, 'fanout', { durable: true });
      await cc.bindQueue(`q${round}`, `x${round}`, '');
      cc.publish(`x${round}`, '', Buffer.from(`r${round}`), { persistent: true });
      await cc.waitForConfirms();
      b = await restart(b, dir);
    }
    const ch = await channel(b);
    for (let round = 0; round < 4; round++) expect(await drain(ch, `q${round}`)).toEqual([{ body: `r${round}`, redelivered: false }]);
  });
});

describe('restart: messages', () => {
  it('persistent messages in a durable queue come back in order with their properties; transient ones are dropped', async () => {
    const dir = tempDir();
    let b = await start(dir);
    const cc = await confirmChannel(b);
    await cc.assertQueue('msgs', { durable: true });
    for (let i = 1; i <= 20; i++) {
      cc.sendToQueue('msgs', Buffer.from(`m${i}`), {
        persistent: i % 3 !== 0,
        headers: { n: i, nested: { s: 'x' } },
        messageId: `id${i}`,
        contentType: 'text/plain',
        priority: 1,
        timestamp: 1700000000,
        correlationId: 'c',
        appId: 'restart-test',
      });
    }
    await cc.waitForConfirms();
    expect((await cc.checkQueue('msgs')).messageCount).toBe(20);
    b = await restart(b, dir);
    const ch = await channel(b);
    expect((await ch.checkQueue('msgs')).messageCount).toBe(14);
    const got: GetMessage[] = [];
    for (;;) {
      const m = await ch.get('msgs', { noAck: true });
      if (m === false) break;
      got.push(m);
    }
    const want = range(20).filter((_, i) => (i + 1) % 3 !== 0);
    expect(got.map((m) => m.content.toString())).toEqual(want);
    const first = got[0]!;
    expect(first.fields).toMatchObject({ redelivered: false, exchange: '', routingKey: 'msgs' });
    expect(first.properties).toMatchObject({
      deliveryMode: 2,
      headers: { n: 1, nested: { s: 'x' } },
      messageId: 'id1',
      contentType: 'text/plain',
      priority: 1,
      timestamp: 1700000000,
      correlationId: 'c',
      appId: 'restart-test',
    });
  });

  it('persistent messages in a transient queue are gone with the queue', async () => {
    const dir = tempDir();
    let b = await start(dir);
    const cc = await confirmChannel(b);
    await cc.assertQueue('tq', { durable: false });
    await publishConfirmed(cc, 'tq', ['p']);
    b = await restart(b, dir);
    expect(await queueExists(b, 'tq')).toBe(false);
  });

  it('acknowledged messages never come back; unacknowledged deliveries come back redelivered, in queue order', async () => {
    const dir = tempDir();
    let b = await start(dir);
    const cc = await confirmChannel(b);
    await cc.assertQueue('acks', { durable: true });
    await publishConfirmed(cc, 'acks', range(10));
    const ch = await channel(b);
    const got: GetMessage[] = [];
    for (let i = 0; i < 6; i++) got.push(await get(ch, 'acks'));
    for (const i of [1, 3, 4]) ch.ack(got[i]!); // m2, m4, m5
    ch.nack(got[5]!, false, false); // m6: rejected without requeue, gone
    await ch.checkQueue('acks'); // the acks are processed before the restart
    b = await restart(b, dir);
    const ch2 = await channel(b);
    expect(await drain(ch2, 'acks')).toEqual([
      { body: 'm1', redelivered: true },
      { body: 'm3', redelivered: true },
      { body: 'm7', redelivered: false },
      { body: 'm8', redelivered: false },
      { body: 'm9', redelivered: false },
      { body: 'm10', redelivered: false },
    ]);
  });

  it('a consumer with manual acks: unacked deliveries are redelivered after the restart, acked ones never', async () => {
    const dir = tempDir();
    let b = await start(dir);
    const cc = await confirmChannel(b);
    await cc.assertQueue('consumed', { durable: true });
    await publishConfirmed(cc, 'consumed', range(100));
    const ch = await channel(b);
    await ch.prefetch(30);
    const seen: string[] = [];
    const { consumerTag } = await ch.consume('consumed', (m) => {
      if (m === null) return;
      seen.push(m.content.toString());
      if (Number(m.content.toString().slice(1)) % 2 === 0) ch.ack(m);
    });
    await eventually(() => expect(seen.length).toBeGreaterThanOrEqual(30));
    // Stop the flow (acks free credit) and make sure the broker has every ack before it stops.
    await ch.cancel(consumerTag);
    await ch.checkQueue('consumed');
    b = await restart(b, dir);
    const ch2 = await channel(b);
    const after = await drain(ch2, 'consumed');
    const acked = new Set(seen.filter((s) => Number(s.slice(1)) % 2 === 0));
    for (const m of after) expect(acked.has(m.body)).toBe(false);
    expect(after.map((m) => m.body)).toEqual(range(100).filter((s) => !acked.has(s)));
    for (const m of after) expect(m.redelivered).toBe(seen.includes(m.body));
  });

  it('a long queue spread over many segments comes back whole, minus the acked messages', async () => {
    const dir = tempDir();
    let b = await start(dir, { segmentSize: 16 * 1024 });
    const cc = await confirmChannel(b);
    await cc.assertQueue('long', { durable: true });
    const body = (i: number) => `${i}:`.padEnd(300, '#');
    for (let i = 1; i <= 3000; i++) cc.sendToQueue('long', Buffer.from(body(i)), { persistent: true });
    await cc.waitForConfirms();
    const dirs = readdirSync(join(dir, 'queues'));
    expect(dirs).toHaveLength(1);
    expect(readdirSync(join(dir, 'queues', dirs[0]!)).filter((f) => f.endsWith('.seg')).length).toBeGreaterThan(40);
    // Ack the first 1000 and every seventh after that.
    const ch = await channel(b);
    const acked = new Set<number>();
    for (let i = 1; i <= 1500; i++) {
      const m = await get(ch, 'long');
      const n = Number(m.content.toString().split(':')[0]);
      expect(n).toBe(i);
      if (i <= 1000 || i % 7 === 0) {
        ch.ack(m);
        acked.add(i);
      }
    }
    await ch.checkQueue('long');
    b = await restart(b, dir, { segmentSize: 16 * 1024 });
    const ch2 = await channel(b);
    expect((await ch2.checkQueue('long')).messageCount).toBe(3000 - acked.size);
    const after = await drain(ch2, 'long');
    expect(after.map((m) => Number(m.body.split(':')[0]))).toEqual(Array.from({ length: 3000 }, (_, i) => i + 1).filter((i) => !acked.has(i)));
    expect(after.filter((m) => m.redelivered).length).toBe(1500 - acked.size);
    expect(after.every((m, i) => m.body === body(Number(m.body.split(':')[0])) && i >= 0)).toBe(true);
  });

  it('a message routed to several durable queues comes back in each; acked in one, it stays in the others', async () => {
    const dir = tempDir();
    let b = await start(dir);
    const cc = await confirmChannel(b);
    await cc.assertExchange('fan', 'fanout', { durable: true });
    for (const q of ['f1', 'f2', 'f3']) {
      await cc.assertQueue(q, { durable: true });
      await cc.bindQueue(q, 'fan', '');
    }
    cc.publish('fan', '', Buffer.from('shared'), { persistent: true });
    await cc.waitForConfirms();
    const ch = await channel(b);
    ch.ack(await get(ch, 'f2'));
    await ch.checkQueue('f2');
    b = await restart(b, dir);
    const ch2 = await channel(b);
    expect(await drain(ch2, 'f1')).toEqual([{ body: 'shared', redelivered: false }]);
    expect(await drain(ch2, 'f2')).toEqual([]);
    expect(await drain(ch2, 'f3')).toEqual([{ body: 'shared', redelivered: false }]);
  });

  it('tx.commit of persistent messages and acks is kept; a rollback is not', async () => {
    const dir = tempDir();
    let b = await start(dir);
    const setup = await confirmChannel(b);
    await setup.assertQueue('txq', { durable: true });
    await publishConfirmed(setup, 'txq', ['before1', 'before2']);
    const ch = await channel(b);
    await txSelect(ch);
    ch.sendToQueue('txq', Buffer.from('committed'), { persistent: true });
    const m = await get(ch, 'txq');
    ch.ack(m);
    await txCommit(ch);
    ch.sendToQueue('txq', Buffer.from('rolled back'), { persistent: true });
    await txRollback(ch);
    ch.sendToQueue('txq', Buffer.from('never committed'), { persistent: true });
    await ch.checkQueue('txq');
    b = await restart(b, dir);
    const ch2 = await channel(b);
    expect((await drain(ch2, 'txq')).map((x) => x.body)).toEqual(['before2', 'committed']);
  });
});

describe('confirms and tx.commit-ok wait for the disk', () => {
  const queueFiles = (path: string) => path.includes('/queues/');

  it('durability fsync: no confirm before the fdatasync of the record returns', async () => {
    const dir = tempDir();
    const io = new FaultyIo();
    const b = await start(dir, { storeIo: io });
    const cc = await confirmChannel(b);
    await cc.assertQueue('held', { durable: true });
    await cc.assertQueue('transient-q', { durable: false });
    io.holdFdatasync = queueFiles;
    let confirmed = 0;
    for (let i = 0; i < 5; i++) cc.sendToQueue('held', Buffer.from(`h${i}`), { persistent: true }, (err) => err === null && confirmed++);
    await io.whenHeld();
    // Nothing to wait for: a transient message, or a persistent one in a transient queue. Their
    // confirms are also the proof that the held ones were not sent: confirms go out in the order the
    // broker settles them, so one settled earlier would have reached the client first.
    await new Promise<void>((resolve, reject) => cc.sendToQueue('held', Buffer.from('t'), { persistent: false }, (err) => (err ? reject(err) : resolve())));
    await new Promise<void>((resolve, reject) => cc.sendToQueue('transient-q', Buffer.from('p'), { persistent: true }, (err) => (err ? reject(err) : resolve())));
    expect(confirmed).toBe(0);
    io.release();
    await eventually(() => expect(confirmed).toBe(5));
  });

  it('durability fsync: a message routed to two durable queues is confirmed once both are synced', async () => {
    const dir = tempDir();
    const io = new FaultyIo();
    const b = await start(dir, { storeIo: io });
    const cc = await confirmChannel(b);
    await cc.assertExchange('two', 'fanout', { durable: true });
    for (const q of ['a', 'b']) {
      await cc.assertQueue(q, { durable: true });
      await cc.bindQueue(q, 'two', '');
    }
    // Hold the syncs of one of the two queues' segment files only (not the sync of its directory,
    // which may still be due from the warm-up: holding that would hold back the next write too).
    cc.publish('two', '', Buffer.from('warm-up'), { persistent: true });
    await cc.waitForConfirms();
    const queueDirs = readdirSync(join(dir, 'queues'));
    expect(queueDirs.length).toBe(2);
    const held = queueDirs[1]!;
    io.holdFdatasync = (p) => p.includes(held) && p.endsWith('.seg');
    let confirmed = false;
    cc.publish('two', '', Buffer.from('both'), { persistent: true }, (err) => (confirmed = err === null));
    await io.whenHeld();
    // A transient message needs no sync: its confirm comes at once, after any confirm settled before it.
    await new Promise<void>((resolve, reject) => cc.publish('two', '', Buffer.from('transient'), { persistent: false }, (err) => (err ? reject(err) : resolve())));
    expect(confirmed).toBe(false);
    io.release();
    await eventually(() => expect(confirmed).toBe(true));
  });

  it('durability fsync: tx.commit-ok waits for the sync of the committed persistent messages', async () => {
    const dir = tempDir();
    const io = new FaultyIo();
    const b = await start(dir, { storeIo: io });
    const conn = await connect(b);
    const ch = await conn.createChannel();
    // The committing channel waits for commit-ok: the round trip goes on another channel of the
    // same connection (the broker answers in the order it reads, so a commit-ok sent at once would
    // come first).
    const probe = await conn.createChannel();
    await ch.assertQueue('txheld', { durable: true });
    await txSelect(ch);
    ch.sendToQueue('txheld', Buffer.from('t1'), { persistent: true });
    ch.sendToQueue('txheld', Buffer.from('t2'), { persistent: true });
    io.holdFdatasync = queueFiles;
    let committed = false;
    const commit = txCommit(ch).then(() => (committed = true));
    await io.whenHeld();
    await probe.checkQueue('txheld');
    expect(committed).toBe(false);
    io.release();
    await commit;
    expect(committed).toBe(true);
  });

  it('durability os: confirms wait for the write to reach the kernel, and nothing is fdatasynced', async () => {
    const dir = tempDir();
    const io = new FaultyIo();
    let b = await start(dir, { storeIo: io, durability: 'os' });
    const cc = await confirmChannel(b);
    await cc.assertQueue('osq', { durable: true });
    io.holdWritev = queueFiles;
    let confirmed = 0;
    for (let i = 0; i < 3; i++) cc.sendToQueue('osq', Buffer.from(`o${i}`), { persistent: true }, (err) => err === null && confirmed++);
    await io.whenHeld();
    // A transient message needs no write: its confirm comes at once, after any confirm settled before it.
    await new Promise<void>((resolve, reject) => cc.sendToQueue('osq', Buffer.from('transient'), { persistent: false }, (err) => (err ? reject(err) : resolve())));
    expect(confirmed).toBe(0);
    io.release();
    await eventually(() => expect(confirmed).toBe(3));
    const syncsWhileRunning = io.fdatasyncCalls;
    expect(syncsWhileRunning).toBe(0);
    b = await restart(b, dir, { durability: 'os' });
    const ch = await channel(b);
    expect((await drain(ch, 'osq')).map((m) => m.body)).toEqual(['o0', 'o1', 'o2']); // the transient one is gone
  });

  it('many confirms share few fdatasyncs (group commit)', async () => {
    const dir = tempDir();
    const io = new FaultyIo();
    const b = await start(dir, { storeIo: io });
    const cc = await confirmChannel(b);
    await cc.assertQueue('group', { durable: true });
    const before = io.fdatasyncCalls;
    for (let i = 0; i < 2000; i++) cc.sendToQueue('group', Buffer.from(`g${i}`), { persistent: true });
    await cc.waitForConfirms();
    const syncs = io.fdatasyncCalls - before;
    expect(syncs).toBeGreaterThan(0);
    expect(syncs).toBeLessThan(400);
  });
});

describe('durability memory', () => {
  it('writes nothing to the data directory and remembers nothing across a restart', async () => {
    const dir = tempDir();
    let b = await start(dir, { durability: 'memory' });
    const cc = await confirmChannel(b);
    await cc.assertQueue('mem', { durable: true });
    await publishConfirmed(cc, 'mem', ['x']);
    expect(readdirSync(dir)).toEqual([]);
    b = await restart(b, dir, { durability: 'memory' });
    expect(await queueExists(b, 'mem')).toBe(false);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('two memory brokers may share a data directory setting (it is never opened)', async () => {
    const dir = tempDir();
    const first = await start(dir, { durability: 'memory' });
    const second = await start(dir, { durability: 'memory' });
    // Both serve, each with its own state: a durable queue and its message on one are not on the other.
    const cc = await confirmChannel(first);
    await cc.assertQueue('shared-setting', { durable: true });
    await publishConfirmed(cc, 'shared-setting', ['only on the first']);
    expect(await queueExists(second, 'shared-setting')).toBe(false);
    const other = await confirmChannel(second);
    await other.assertQueue('shared-setting', { durable: true });
    expect((await other.checkQueue('shared-setting')).messageCount).toBe(0);
    expect((await cc.checkQueue('shared-setting')).messageCount).toBe(1);
    // Nothing was written there: no lock, no format marker, no files.
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('the data directory', () => {
  it('is marked with its format, locked while in use, and marked clean after a clean shutdown', async () => {
    const dir = tempDir();
    const b = await start(dir);
    expect(readFileSync(join(dir, 'FORMAT'), 'utf8').trim()).toBe(FORMAT);
    expect(readFileSync(join(dir, 'LOCK'), 'utf8').trim()).toBe(String(process.pid));
    expect(existsSync(join(dir, 'CLEAN'))).toBe(false);
    await b.close();
    expect(existsSync(join(dir, 'LOCK'))).toBe(false);
    expect(existsSync(join(dir, 'CLEAN'))).toBe(true);
    await start(dir);
    expect(existsSync(join(dir, 'CLEAN'))).toBe(false);
  });

  it('refuses a second broker on the same directory with a clear error, and works on once the first stops', async () => {
    const dir = tempDir();
    const first = await start(dir);
    await expect(start(dir)).rejects.toThrow(/data directory .* in use/);
    await first.close();
    await start(dir);
  });

  it('refuses a directory locked by another live process, naming its pid', async () => {
    const dir = tempDir();
    const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    try {
      await new Promise((r) => holder.once('spawn', r));
      writeFileSync(join(dir, 'FORMAT'), `${FORMAT}\n`);
      writeFileSync(join(dir, 'LOCK'), `${holder.pid}\n`);
      await expect(start(dir)).rejects.toThrow(new RegExp(`in use by another Warren \\(pid ${holder.pid}\\)`));
      expect(readFileSync(join(dir, 'LOCK'), 'utf8').trim()).toBe(String(holder.pid));
    } finally {
      holder.kill('SIGKILL');
    }
  });

  it('takes over a stale lock left by a process that no longer exists', async () => {
    const dir = tempDir();
    const gone = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
    await new Promise((r) => gone.once('exit', r));
    writeFileSync(join(dir, 'FORMAT'), `${FORMAT}\n`);
    writeFileSync(join(dir, 'LOCK'), `${gone.pid}\n`);
    const b = await start(dir);
    expect(readFileSync(join(dir, 'LOCK'), 'utf8').trim()).toBe(String(process.pid));
    const ch = await channel(b);
    await ch.assertQueue('after-takeover', { durable: true });
  });

  it('a start that fails after the directory was opened (the port is taken) gives the directory back', async () => {
    // The Broker constructor opens and locks the directory before listen() can fail (EADDRINUSE):
    // the lock must be released, or this process could never use the directory again.
    const dir = tempDir();
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const port = (blocker.address() as { port: number }).port;
    try {
      await expect(start(dir, { port })).rejects.toThrow(/EADDRINUSE/);
    } finally {
      await new Promise<void>((r) => blocker.close(() => r()));
    }
    expect(existsSync(join(dir, 'LOCK'))).toBe(false);
    const b = await start(dir);
    const ch = await channel(b);
    await ch.assertQueue('after-failed-start', { durable: true });
  });

  it('refuses a directory of another format version, and leaves it untouched', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'FORMAT'), 'warren-store 99\n');
    await expect(start(dir)).rejects.toThrow(/format 'warren-store 99'/);
    expect(readdirSync(dir)).toEqual(['FORMAT']);
    expect(readFileSync(join(dir, 'FORMAT'), 'utf8')).toBe('warren-store 99\n');
  });
});

describe('restart: queue features that live on disk', () => {
  it('a priority queue delivers by priority after a restart (FIFO within a priority)', async () => {
    const dir = tempDir();
    let b = await start(dir);
    const cc = await confirmChannel(b);
    await cc.assertQueue('prio', { durable: true, maxPriority: 5 });
    for (const [body, priority] of [['a1', 1], ['b5', 5], ['c3', 3], ['d5', 5], ['e0', 0], ['f3', 3]] as const) cc.sendToQueue('prio', Buffer.from(body), { persistent: true, priority });
    await cc.waitForConfirms();
    b = await restart(b, dir);
    const ch = await channel(b);
    expect((await drain(ch, 'prio')).map((m) => m.body)).toEqual(['b5', 'd5', 'c3', 'f3', 'a1', 'e0']);
  });

  it('messages dropped by x-max-length (drop-head) stay dropped', async () => {
    const dir = tempDir();
    let b = await start(dir);
    const cc = await confirmChannel(b);
    await cc.assertQueue('capped', { durable: true, maxLength: 3 });
    await publishConfirmed(cc, 'capped', range(10));
    b = await restart(b, dir);
    const ch = await channel(b);
    expect((await drain(ch, 'capped')).map((m) => m.body)).toEqual(['m8', 'm9', 'm10']);
  });

  it('message TTL counts from the original publish across a restart', async () => {
    const dir = tempDir();
    let b = await start(dir);
    const cc = await confirmChannel(b);
    await cc.assertQueue('ttl-short', { durable: true, messageTtl: 300 });
    await cc.assertQueue('ttl-long', { durable: true, messageTtl: 600_000 });
    await publishConfirmed(cc, 'ttl-short', ['expires']);
    await publishConfirmed(cc, 'ttl-long', ['stays']);
    cc.sendToQueue('ttl-long', Buffer.from('per-message'), { persistent: true, expiration: '300' });
    await cc.waitForConfirms();
    await b.close();
    await sleep(600);
    b = await start(dir);
    const ch = await channel(b);
    expect(await drain(ch, 'ttl-short')).toEqual([]);
    expect((await drain(ch, 'ttl-long')).map((m) => m.body)).toEqual(['stays']);
  });

  it('a message dead-lettered into a durable queue is there after a restart; the source does not have it back', async () => {
    const dir = tempDir();
    let b = await start(dir);
    const cc = await confirmChannel(b);
    await cc.assertExchange('dlx', 'fanout', { durable: true });
    await cc.assertQueue('dead', { durable: true });
    await cc.bindQueue('dead', 'dlx', '');
    await cc.assertQueue('src', { durable: true, deadLetterExchange: 'dlx' });
    await publishConfirmed(cc, 'src', ['rejected', 'kept']);
    const ch = await channel(b);
    ch.nack(await get(ch, 'src'), false, false);
    await eventually(async () => expect((await ch.checkQueue('dead')).messageCount).toBe(1));
    b = await restart(b, dir);
    const ch2 = await channel(b);
    expect((await drain(ch2, 'src')).map((m) => m.body)).toEqual(['kept']);
    const dead = await ch2.get('dead', { noAck: true });
    expect(dead && dead.content.toString()).toBe('rejected');
    expect(dead && (dead.properties.headers!['x-death'] as Array<{ reason: string }>)[0]!.reason).toBe('rejected');
  });

  it('transient messages paged out of a long durable queue are not recovered; the persistent ones among them are', async () => {
    const dir = tempDir();
    let b = await start(dir);
    const cc = await confirmChannel(b);
    await cc.assertQueue('mixed-long', { durable: true });
    for (let i = 1; i <= 4000; i++) cc.sendToQueue('mixed-long', Buffer.from(`m${i}`), { persistent: i % 400 === 0 });
    await cc.waitForConfirms();
    b = await restart(b, dir);
    const ch = await channel(b);
    expect((await drain(ch, 'mixed-long')).map((m) => m.body)).toEqual(range(10).map((_, i) => `m${(i + 1) * 400}`));
  });

  it('a long recovered queue drained by basic.get alone (paged-out heads read synchronously) comes back whole and in order', async () => {
    const dir = tempDir();
    let b = await start(dir);
    const cc = await confirmChannel(b);
    await cc.assertQueue('gets', { durable: true });
    await publishConfirmed(cc, 'gets', range(5000));
    b = await restart(b, dir);
    const ch = await channel(b);
    const got = await drain(ch, 'gets');
    expect(got.length).toBe(5000);
    expect(got.map((m) => m.body)).toEqual(range(5000));
  });

  it('publishers are paused while the disk lags far behind, and resume without losing a confirm', async () => {
    const dir = tempDir();
    const io = new FaultyIo();
    const b = await start(dir, { storeIo: io });
    const cc = await confirmChannel(b);
    await cc.assertQueue('flow', { durable: true });
    io.holdFdatasync = (p) => p.includes('/queues/');
    const body = Buffer.alloc(16 * 1024, 'f');
    let confirmed = 0;
    for (let i = 0; i < 1000; i++) cc.sendToQueue('flow', body, { persistent: true }, (err) => err === null && confirmed++);
    await io.whenHeld();
    // 16 MiB waiting to be written: more than the 8 MiB high-water mark.
    await eventually(() => expect(b.broker.storeBacklog.isHigh).toBe(true), 10_000);
    expect(confirmed).toBe(0);
    io.release();
    await eventually(() => expect(confirmed).toBe(1000), 15_000);
    expect(b.broker.storeBacklog.isHigh).toBe(false);
    expect((await cc.checkQueue('flow')).messageCount).toBe(1000);
  });

  it('after a clean restart, a priority queue flags only the messages that were delivered as redelivered', async () => {
    // RabbitMQ's queue index records deliveries per message, so a message overtaken by a higher
    // priority one and never delivered comes back with redelivered=false.
    const dir = tempDir();
    let b = await start(dir);
    const cc = await confirmChannel(b);
    await cc.assertQueue('prio-flags', { durable: true, maxPriority: 5 });
    cc.sendToQueue('prio-flags', Buffer.from('low'), { persistent: true, priority: 1 });
    cc.sendToQueue('prio-flags', Buffer.from('high'), { persistent: true, priority: 5 });
    await cc.waitForConfirms();
    const ch = await channel(b);
    expect((await get(ch, 'prio-flags')).content.toString()).toBe('high'); // unacked: requeued at shutdown
    b = await restart(b, dir);
    const ch2 = await channel(b);
    expect(await drain(ch2, 'prio-flags')).toEqual([
      { body: 'high', redelivered: true },
      { body: 'low', redelivered: false },
    ]);
  });
});

describe('restart: large bodies', () => {
  it('bodies that arrived split across socket reads are stored whole, dead-lettered whole and come back whole', async () => {
    const dir = tempDir();
    let b = await start(dir);
    // amqplib's default frame_max is 4096: ask for RabbitMQ's 128 KiB so a 64 KiB body is one frame.
    const ch = await (await connect(b, '?frameMax=131072')).createConfirmChannel();
    await ch.assertQueue('big-dlq', { durable: true });
    await ch.assertQueue('big', { durable: true, arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'big-dlq' } });
    // 64 KiB (one frame, always split across two 64 KiB reads) and 300 KiB (several frames).
    const bodies = [64 * 1024, 300 * 1024, 20_000].map((n, k) => {
      const buf = Buffer.alloc(n);
      for (let i = 0; i < n; i++) buf[i] = (i * 7 + k) & 0xff;
      return buf;
    });
    for (const body of bodies) ch.sendToQueue('big', body, { persistent: true });
    await ch.waitForConfirms();
    // One goes to the dead-letter queue (rejected), the rest stay.
    const first = await ch.get('big');
    expect(first).not.toBe(false);
    ch.reject(first as GetMessage, false);
    await ch.checkQueue('big');
    b = await restart(b, dir);
    const after = await channel(b);
    const dead = await after.get('big-dlq', { noAck: true });
    expect(dead !== false && dead.content.equals(bodies[0]!)).toBe(true);
    for (const body of bodies.slice(1)) {
      const m = await after.get('big', { noAck: true });
      expect(m !== false && m.content.equals(body)).toBe(true);
    }
  });
});
