/**
 * Segment indexes (src/store/segment-index.ts): a full segment still holding messages is indexed,
 * and recovery reads the segments past the queue's head from their indexes instead of whole. The
 * queue must come back exactly as from a full read: every message in order, acknowledgements
 * applied, and an index that cannot be trusted (torn, or its segment changed) ignored with a warning.
 *
 * Restarts are made to look like crashes (no CLEAN marker, no terms, a LOCK naming a dead pid), so
 * recovery takes the dirty path as after kill -9.
 */
import amqp, { type Channel, type ChannelModel, type ConfirmChannel } from 'amqplib';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type RunningBroker } from '../../src/index.js';
import { eventually } from '../helpers/broker.js';
import { captureLog, useTempDirs, type LogLine } from '../helpers/disk-brokers.js';

const tempDir = useTempDirs();
const running: RunningBroker[] = [];
const connections: ChannelModel[] = [];
let deadPid = 0;
/** Small segments: a few thousand messages fill dozens, and the head (2,048 loaded) spans many. */
const SEGMENT = 4096;

beforeAll(async () => {
  const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
  await new Promise((r) => child.once('exit', r));
  deadPid = child.pid!;
});

afterEach(async () => {
  await Promise.all(connections.splice(0).map((c) => c.close().catch(() => {})));
  await Promise.all(running.splice(0).map((b) => b.close().catch(() => {})));
});

async function start(dataDir: string): Promise<{ broker: RunningBroker; warnings: () => LogLine[] }> {
  const cap = captureLog('info');
  const broker = await startBroker({ port: 0, dataDir, durability: 'fsync', logger: cap.logger, segmentSize: SEGMENT, rabbitmqVersion: '3.10' });
  running.push(broker);
  return { broker, warnings: () => cap.lines.filter((l) => l.level >= 40) };
}

async function open(b: RunningBroker): Promise<{ ch: Channel; cc: ConfirmChannel; conn: ChannelModel }> {
  const conn = await amqp.connect(b.url, { noDelay: true });
  conn.on('error', () => {});
  connections.push(conn);
  return { ch: await conn.createChannel(), cc: await conn.createConfirmChannel(), conn };
}

async function stopAsIfKilled(b: RunningBroker, dir: string): Promise<void> {
  await b.close();
  running.splice(running.indexOf(b), 1);
  rmSync(join(dir, 'CLEAN'), { force: true });
  for (const q of readdirSync(join(dir, 'queues'))) rmSync(join(dir, 'queues', q, 'terms.json'), { force: true });
  writeFileSync(join(dir, 'LOCK'), `${deadPid}\n`);
}

/** A broker with durable queue `q` holding m1..mN, and its full segments indexed. */
async function indexedQueue(n: number): Promise<{ dir: string; qdir: string; broker: RunningBroker }> {
  const dir = tempDir();
  const { broker } = await start(dir);
  const { cc } = await open(broker);
  await cc.assertQueue('q', { durable: true });
  for (let i = 1; i <= n; i++) cc.sendToQueue('q', Buffer.from(`m${i}`), { persistent: true });
  await cc.waitForConfirms();
  const [id] = readdirSync(join(dir, 'queues'));
  const qdir = join(dir, 'queues', id!);
  const count = (ext: string) => readdirSync(qdir).filter((f) => f.endsWith(ext)).length;
  expect(count('.seg')).toBeGreaterThan(20);
  // Every segment but the one being written gets its index (a second after it filled).
  await eventually(() => expect(count('.idx')).toBe(count('.seg') - 1), 20_000);
  return { dir, qdir, broker };
}

async function drain(ch: Channel, n: number): Promise<string[]> {
  const got: string[] = [];
  await ch.consume('q', (m) => m && got.push(m.content.toString()), { noAck: true });
  await eventually(() => expect(got.length).toBe(n), 20_000);
  expect((await ch.checkQueue('q')).messageCount).toBe(0);
  return got;
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `m${from + i}`);

describe('segment indexes', () => {
  it('a restart reads indexed segments: every message back, in order, nothing to repair', async () => {
    const n = 4000;
    const { dir, broker } = await indexedQueue(n);
    await stopAsIfKilled(broker, dir);
    const after = await start(dir);
    expect(after.warnings()).toEqual([]);
    const { ch } = await open(after.broker);
    expect((await ch.checkQueue('q')).messageCount).toBe(n);
    expect(await drain(ch, n)).toEqual(range(1, n));
  }, 60_000);

  it('acknowledgements of messages in indexed segments are applied at the restart', async () => {
    const n = 5000;
    const { dir, broker } = await indexedQueue(n);
    const { ch, conn } = await open(broker);
    // Take m1..m2600, acknowledge only m2201..m2600: the rest go back to the queue with the channel.
    for (let i = 1; i <= 2600; i++) {
      const m = await ch.get('q', { noAck: false });
      if (m === false) throw new Error('queue empty');
      if (i > 2200) ch.ack(m);
    }
    await ch.checkQueue('q');
    await conn.close();
    connections.splice(connections.indexOf(conn), 1);
    await stopAsIfKilled(broker, dir);
    const after = await start(dir);
    expect(after.warnings()).toEqual([]);
    const { ch: ch2 } = await open(after.broker);
    expect(await drain(ch2, n - 400)).toEqual([...range(1, 2200), ...range(2601, n)]);
  }, 60_000);

  it('a torn index, or one whose segment changed, is ignored with a warning and the segment read whole', async () => {
    const n = 4000;
    const { dir, qdir, broker } = await indexedQueue(n);
    await stopAsIfKilled(broker, dir);
    const indexes = readdirSync(qdir).filter((f) => f.endsWith('.idx')).sort();
    const torn = join(qdir, indexes.at(-1)!);
    writeFileSync(torn, readFileSync(torn).subarray(0, 40));
    const flipped = join(qdir, indexes.at(-2)!);
    const bytes = readFileSync(flipped);
    bytes.writeUInt8(bytes.at(-1)! ^ 0xff, bytes.length - 1);
    writeFileSync(flipped, bytes);
    const after = await start(dir);
    expect(after.warnings().map((l) => l.msg)).toEqual(['segment index unusable: reading the segment instead', 'segment index unusable: reading the segment instead']);
    const { ch } = await open(after.broker);
    expect(await drain(ch, n)).toEqual(range(1, n));
  }, 60_000);
});
