/**
 * Disk errors on publish (ENOSPC, EIO), injected through `storeIo` for the files of one queue: the
 * publishes they hit are nacked (a tx.commit fails), nothing confirmed before is lost across a
 * restart, the queue takes writes again once the disk recovers, and another durable queue on the
 * same broker and channel is confirmed throughout.
 */
import type { Channel, ConfirmChannel } from 'amqplib';
import { describe, expect, it } from 'vitest';
import type { RunningBroker } from '../../src/index.js';
import type { DiskPersistence } from '../../src/store/persistence.js';
import { SegmentQueueStore } from '../../src/store/segment-store.js';
import { eventually } from '../helpers/broker.js';
import { txCommit, txSelect } from '../helpers/model.js';
import { captureLog, FaultyIo, useDiskBrokers, useTempDirs } from '../helpers/disk-brokers.js';

const tempDir = useTempDirs();
const { start, connect, channel, confirmChannel } = useDiskBrokers();

/** The directory of a durable queue's segment store (where the failures are injected). */
function queueDir(b: RunningBroker, q: string): string {
  const store = b.broker.vhosts.get('/')!.queues.get(q)!.store;
  if (!(store instanceof SegmentQueueStore)) throw new Error(`queue ${q} has no segment store`);
  return store.dir + '/';
}

/** Publishes persistent messages and resolves with each one's outcome. */
function publishAll(ch: ConfirmChannel, q: string, bodies: string[]): Promise<Array<'ack' | 'nack'>> {
  return Promise.all(
    bodies.map((body) => new Promise<'ack' | 'nack'>((resolve) => ch.sendToQueue(q, Buffer.from(body), { persistent: true }, (err) => resolve(err ? 'nack' : 'ack')))),
  );
}

async function bodies(ch: Channel, q: string): Promise<string[]> {
  const out: string[] = [];
  for (;;) {
    const m = await ch.get(q, { noAck: true });
    if (m === false) return out;
    out.push(m.content.toString());
  }
}

const names = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i + 1}`);

describe('disk errors on publish', () => {
  for (const [op, code] of [
    ['writev', 'ENOSPC'],
    ['writev', 'EIO'],
    ['fdatasync', 'EIO'],
  ] as const) {
    it(`${code} on ${op}: publishes to that queue are nacked, the other queue is confirmed, nothing confirmed is lost`, async () => {
      const dir = tempDir();
      const io = new FaultyIo();
      const cap = captureLog('error');
      let b = await start(dir, { storeIo: io, logger: cap.logger });
      const ch = await confirmChannel(b);
      await ch.assertQueue('bad', { durable: true });
      await ch.assertQueue('good', { durable: true });
      expect(await publishAll(ch, 'bad', names('before', 5))).toEqual(Array(5).fill('ack'));
      await publishAll(ch, 'good', ['g0']);

      const badDir = queueDir(b, 'bad');
      const rule = (path: string) => (path.startsWith(badDir) ? code : undefined);
      if (op === 'writev') io.failWritev = rule;
      else io.failFdatasync = rule;
      const [bad, good] = await Promise.all([publishAll(ch, 'bad', names('failed', 5)), publishAll(ch, 'good', names('g', 5))]);
      expect(bad).toEqual(Array(5).fill('nack'));
      expect(good).toEqual(Array(5).fill('ack'));
      expect(cap.find('store write failed').length).toBeGreaterThanOrEqual(1);
      expect(cap.find('store write failed')[0]).toMatchObject({ err: expect.stringContaining(code) });

      // The disk recovers: the queue writes to a new segment and confirms again.
      io.failWritev = io.failFdatasync = undefined;
      expect(await publishAll(ch, 'bad', names('after', 5))).toEqual(Array(5).fill('ack'));
      // The channel is still open and confirming.
      expect(await publishAll(ch, 'good', ['g6'])).toEqual(['ack']);

      await b.close();
      b = await start(dir);
      const ch2 = await channel(b);
      const got = await bodies(ch2, 'bad');
      // Every confirmed message, in order; nacked ones may or may not be there, but nothing else.
      expect(got.filter((s) => !s.startsWith('failed'))).toEqual([...names('before', 5), ...names('after', 5)]);
      for (const s of got) expect([...names('before', 5), ...names('failed', 5), ...names('after', 5)]).toContain(s);
      expect(await bodies(ch2, 'good')).toEqual(['g0', ...names('g', 5), 'g6']);
    });
  }

  it('a tx.commit whose persistent messages could not be written fails with 406; other channels carry on', async () => {
    const dir = tempDir();
    const io = new FaultyIo();
    const b = await start(dir, { storeIo: io });
    const ch = await channel(b);
    await ch.assertQueue('txbad', { durable: true });
    await ch.assertQueue('txgood', { durable: true });
    const other = await confirmChannel(b);
    await publishAll(other, 'txbad', ['seed']);
    io.failWritev = (p) => (p.startsWith(queueDir(b, 'txbad')) ? 'ENOSPC' : undefined);
    await txSelect(ch);
    ch.sendToQueue('txbad', Buffer.from('t1'), { persistent: true });
    ch.sendToQueue('txgood', Buffer.from('t2'), { persistent: true });
    const closed = new Promise<Error>((resolve) => ch.once('error', resolve));
    await expect(txCommit(ch)).rejects.toThrow();
    expect((await closed).message).toMatch(/406.*partial tx completion/);
    expect(await publishAll(other, 'txgood', ['still fine'])).toEqual(['ack']);
  });

  it('a queue whose paged-out messages could not be written does not stall: later messages are delivered', async () => {
    // Beyond the in-memory window (2048 messages) a body is dropped once its record is in the
    // write buffer; if the write then fails, the queue must skip what it cannot read back.
    const dir = tempDir();
    const io = new FaultyIo();
    const cap = captureLog('error');
    const b = await start(dir, { storeIo: io, logger: cap.logger });
    const ch = await confirmChannel(b);
    await ch.assertQueue('stall', { durable: true });
    const badDir = queueDir(b, 'stall');
    io.failWritev = (p) => (p.startsWith(badDir) ? 'ENOSPC' : undefined);
    const outcomes = await publishAll(ch, 'stall', names('lost', 2500));
    expect(outcomes.every((o) => o === 'nack')).toBe(true);
    io.failWritev = undefined;
    expect(await publishAll(ch, 'stall', names('ok', 10))).toEqual(Array(10).fill('ack'));
    const consumer = await channel(b);
    const got: string[] = [];
    await consumer.consume('stall', (m) => m !== null && got.push(m.content.toString()), { noAck: true });
    await eventually(() => expect(got.slice(-10)).toEqual(names('ok', 10)), 10_000);
    // Whatever was delivered before them was published (and nacked), in order.
    const lost = got.filter((s) => s.startsWith('lost'));
    expect(lost).toEqual(names('lost', lost.length));
  });
});

/** Bodies of `n` messages padded to 4 KiB, so that a few thousand exceed a queue's 8 MiB in-memory window. */
const padded = (prefix: string, n: number) => names(prefix, n).map((s) => s.padEnd(4096, '.'));

describe('disk errors: recovery after the disk comes back', () => {
  it('an ack-log write that failed once does not swallow the acks made after the disk recovers', async () => {
    // A failed ack-log write gives that file up; the next ack reopens the log cut back to whole
    // records, so only the acks of the failed write may come back.
    const dir = tempDir();
    const io = new FaultyIo();
    let b = await start(dir, { storeIo: io });
    const cc = await confirmChannel(b);
    await cc.assertQueue('acks', { durable: true });
    await publishAll(cc, 'acks', names('m', 10));
    const qdir = queueDir(b, 'acks');
    const ch = await channel(b);
    io.failWritev = (p) => (p.startsWith(qdir) && p.endsWith('.ack') ? 'ENOSPC' : undefined);
    const first = await ch.get('acks', { noAck: false });
    if (first === false) throw new Error('empty');
    ch.ack(first);
    await ch.checkQueue('acks');
    await eventually(() => expect(io.writevCalls).toBeGreaterThan(0));
    // The failed write's round is over (its file given up) before the disk comes back.
    await (b.broker.persistence as DiskPersistence).persister.idle();
    io.failWritev = undefined;
    for (let i = 0; i < 4; i++) {
      const m = await ch.get('acks', { noAck: false });
      if (m === false) throw new Error('empty');
      ch.ack(m);
    }
    await ch.checkQueue('acks');
    await b.close();
    b = await start(dir);
    const ch2 = await channel(b);
    // m1's ack may be lost with the failed write (at-least-once); m2..m5 were acked on a healthy disk.
    const back = await bodies(ch2, 'acks');
    expect(back.filter((s) => s !== 'm1')).toEqual(names('m', 10).slice(5));
  });

  it('a confirmed message that a queue fails to page out is not lost', async () => {
    // Beyond the in-memory window a transient message is paged out, but its body stays until the
    // page is on disk: when the write fails (ENOSPC) the message stays in memory.
    const dir = tempDir();
    const io = new FaultyIo();
    const b = await start(dir, { storeIo: io });
    const ch = await confirmChannel(b);
    await ch.assertQueue('paged', { durable: false });
    io.failWritev = (p) => (p.includes('/pages/') ? 'ENOSPC' : undefined);
    const sent = padded('t', 3000);
    const outcomes = await Promise.all(
      sent.map((body) => new Promise<'ack' | 'nack'>((resolve) => ch.sendToQueue('paged', Buffer.from(body), { persistent: false }, (err) => resolve(err ? 'nack' : 'ack')))),
    );
    const confirmed = sent.filter((_, i) => outcomes[i] === 'ack');
    expect(confirmed.length).toBe(3000);
    const consumer = await channel(b);
    const got: string[] = [];
    await consumer.consume('paged', (m) => m !== null && got.push(m.content.toString()), { noAck: true });
    await eventually(() => expect(got.length).toBeGreaterThanOrEqual(confirmed.length), 3000).catch(() => {});
    expect(confirmed.filter((s) => !got.includes(s))).toEqual([]);
  });
  it('basic.get on a queue whose paged-out head was never written does not kill the connection', async () => {
    // Records that never reached the disk (their publishers were nacked) are dropped with a log
    // line when basic.get reaches them, instead of failing the read.
    const dir = tempDir();
    const io = new FaultyIo();
    const b = await start(dir, { storeIo: io });
    const ch = await confirmChannel(b);
    await ch.assertQueue('getq', { durable: true });
    io.failWritev = (p) => (p.startsWith(queueDir(b, 'getq')) ? 'ENOSPC' : undefined);
    const outcomes = await publishAll(ch, 'getq', padded('nacked', 2100));
    expect(outcomes.every((o) => o === 'nack')).toBe(true);
    io.failWritev = undefined;
    expect(await publishAll(ch, 'getq', ['ok'])).toEqual(['ack']);
    const conn = await connect(b);
    let connectionError: Error | undefined;
    conn.on('error', (e: Error) => (connectionError = e));
    const g = await conn.createChannel();
    g.on('error', () => {});
    const got: string[] = [];
    for (let i = 0; i < 2200; i++) {
      const m = await g.get('getq', { noAck: true });
      if (m === false) break;
      got.push(m.content.toString());
    }
    expect(connectionError).toBeUndefined();
    expect(got.at(-1)).toBe('ok');
    // Past the 8 MiB window the nacked ones were paged out and could not be read: dropped.
    expect(got.length).toBeLessThan(2101);
  });
});
