/**
 * Torn writes: a broker killed mid-write leaves a record cut short at a segment tail, a zero-filled
 * pre-allocated tail, a last record that fails its CRC, an acknowledgement log with a partial record,
 * a definitions log with a torn last record, or an acknowledgement log whose segment was already
 * unlinked. Each must leave the broker able to start, keep every complete record, drop only the
 * damaged tail, say what it repaired, and keep working (and repair for good, so later writes are
 * readable at the next start).
 *
 * The files are damaged after a clean stop that is then made to look like a crash (no CLEAN marker,
 * no terms, a LOCK naming a dead pid), so recovery takes the dirty path as after kill -9.
 */
import amqp, { type Channel, type ChannelModel, type ConfirmChannel } from 'amqplib';
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type RunningBroker } from '../../src/index.js';
import { readRecord } from '../../src/store/records.js';
import { captureLog, useTempDirs, type LogLine } from '../helpers/disk-brokers.js';

const tempDir = useTempDirs();
const running: RunningBroker[] = [];
const connections: ChannelModel[] = [];
let deadPid = 0;

beforeAll(async () => {
  const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
  await new Promise((r) => child.once('exit', r));
  deadPid = child.pid!;
});

afterEach(async () => {
  await Promise.all(connections.splice(0).map((c) => c.close().catch(() => {})));
  await Promise.all(running.splice(0).map((b) => b.close().catch(() => {})));
});

interface Started {
  broker: RunningBroker;
  log: LogLine[];
  repairs(): LogLine[];
}

async function start(dataDir: string, segmentSize?: number): Promise<Started> {
  const cap = captureLog('info');
  const broker = await startBroker({ port: 0, dataDir, durability: 'fsync', logger: cap.logger, segmentSize, rabbitmqVersion: '3.10' });
  running.push(broker);
  return { broker, log: cap.lines, repairs: () => cap.lines.filter((l) => l.level >= 40) };
}

async function open(b: RunningBroker): Promise<{ ch: Channel; cc: ConfirmChannel }> {
  const c = await amqp.connect(b.url, { noDelay: true });
  c.on('error', () => {});
  connections.push(c);
  const ch = await c.createChannel();
  const cc = await c.createConfirmChannel();
  return { ch, cc };
}

/** Stops the broker cleanly, then removes what only a clean stop leaves: the next start is dirty. */
async function stopAsIfKilled(b: RunningBroker, dir: string): Promise<void> {
  await b.close();
  rmSync(join(dir, 'CLEAN'), { force: true });
  for (const q of readdirSync(join(dir, 'queues'))) rmSync(join(dir, 'queues', q, 'terms.json'), { force: true });
  writeFileSync(join(dir, 'LOCK'), `${deadPid}\n`);
}

/** A broker with one durable queue `q` holding persistent messages m1..mN (confirmed). */
async function brokerWithMessages(n: number, segmentSize?: number): Promise<{ dir: string; s: Started; qdir: string }> {
  const dir = tempDir();
  const s = await start(dir, segmentSize);
  const { cc } = await open(s.broker);
  await cc.assertQueue('q', { durable: true });
  for (let i = 1; i <= n; i++) cc.sendToQueue('q', Buffer.from(`m${i}`), { persistent: true });
  await cc.waitForConfirms();
  const [id] = readdirSync(join(dir, 'queues'));
  return { dir, s, qdir: join(dir, 'queues', id!) };
}

const segments = (qdir: string) => readdirSync(qdir).filter((f) => f.endsWith('.seg')).sort();

/** Offsets of the complete records of a segment file. */
function recordOffsets(path: string): Array<{ offset: number; size: number }> {
  const data = readFileSync(path);
  const out: Array<{ offset: number; size: number }> = [];
  let at = 8;
  for (;;) {
    const r = readRecord(data, at, 0, true);
    if (r.kind !== 'record') return out;
    out.push({ offset: at, size: r.record.size });
    at += r.record.size;
  }
}

async function bodies(ch: Channel, q = 'q'): Promise<string[]> {
  const out: string[] = [];
  for (;;) {
    const m = await ch.get(q, { noAck: true });
    if (m === false) return out;
    out.push(m.content.toString());
  }
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `m${from + i}`);

/** After a repair: publishing and consuming work, and a second restart finds nothing to repair. */
async function expectWorkingAndRepaired(dir: string, b: RunningBroker, remaining: string[]): Promise<void> {
  const { cc } = await open(b);
  cc.sendToQueue('q', Buffer.from('after-repair'), { persistent: true });
  await cc.waitForConfirms();
  await stopAsIfKilled(b, dir);
  const again = await start(dir);
  expect(again.repairs()).toEqual([]);
  const { ch } = await open(again.broker);
  expect(await bodies(ch)).toEqual([...remaining, 'after-repair']);
}

describe('torn segment tails', () => {
  it('a record cut short at the tail is dropped, every complete record kept, the repair logged', async () => {
    const { dir, s, qdir } = await brokerWithMessages(10);
    await stopAsIfKilled(s.broker, dir);
    const seg = join(qdir, segments(qdir).at(-1)!);
    const recs = recordOffsets(seg);
    expect(recs).toHaveLength(10);
    const last = recs.at(-1)!;
    truncateSync(seg, last.offset + Math.floor(last.size / 2));

    const after = await start(dir);
    const repairs = after.repairs();
    expect(repairs).toHaveLength(1);
    expect(repairs[0]).toMatchObject({ msg: 'repaired a torn segment tail', segment: seg, offset: last.offset, dropped: Math.floor(last.size / 2) });
    expect(statSync(seg).size).toBe(last.offset);
    const { ch } = await open(after.broker);
    expect((await ch.checkQueue('q')).messageCount).toBe(9);
    await expectWorkingAndRepaired(dir, after.broker, range(1, 9));
  });

  it('a record header cut short (fewer than 8 bytes left) is dropped too', async () => {
    const { dir, s, qdir } = await brokerWithMessages(3);
    await stopAsIfKilled(s.broker, dir);
    const seg = join(qdir, segments(qdir).at(-1)!);
    const last = recordOffsets(seg).at(-1)!;
    truncateSync(seg, last.offset + 5);
    const after = await start(dir);
    expect(after.repairs().map((l) => l.msg)).toEqual(['repaired a torn segment tail']);
    await expectWorkingAndRepaired(dir, after.broker, range(1, 2));
  });

  it('a zero-filled pre-allocated tail is cut off and loses nothing', async () => {
    const { dir, s, qdir } = await brokerWithMessages(10);
    await stopAsIfKilled(s.broker, dir);
    const seg = join(qdir, segments(qdir).at(-1)!);
    const size = statSync(seg).size;
    appendFileSync(seg, Buffer.alloc(64 * 1024));
    const after = await start(dir);
    const repairs = after.repairs();
    expect(repairs).toHaveLength(1);
    expect(repairs[0]).toMatchObject({ msg: 'repaired a torn segment tail', reason: 'zero-filled', offset: size, dropped: 64 * 1024 });
    expect(statSync(seg).size).toBe(size);
    await expectWorkingAndRepaired(dir, after.broker, range(1, 10));
  });

  it('a last record that fails its CRC is dropped', async () => {
    const { dir, s, qdir } = await brokerWithMessages(10);
    await stopAsIfKilled(s.broker, dir);
    const seg = join(qdir, segments(qdir).at(-1)!);
    const last = recordOffsets(seg).at(-1)!;
    const data = readFileSync(seg);
    data[last.offset + last.size - 1] ^= 0xff; // the last byte of the body
    writeFileSync(seg, data);
    const after = await start(dir);
    const repairs = after.repairs();
    expect(repairs).toHaveLength(1);
    expect(repairs[0]).toMatchObject({ msg: 'repaired a torn segment tail', reason: 'CRC mismatch', offset: last.offset });
    await expectWorkingAndRepaired(dir, after.broker, range(1, 9));
  });

  it('a segment holding only part of its header (killed right after creating it) is discarded', async () => {
    const { dir, s, qdir } = await brokerWithMessages(4);
    await stopAsIfKilled(s.broker, dir);
    writeFileSync(join(qdir, '0000000099.seg'), 'WRN');
    const after = await start(dir);
    expect(after.repairs().map((l) => l.msg)).toEqual(['segment without a valid header: discarded']);
    await expectWorkingAndRepaired(dir, after.broker, range(1, 4));
  });

  it('only the segment being written is damaged: earlier full segments are read whole', async () => {
    const { dir, s, qdir } = await brokerWithMessages(150, 1024);
    await stopAsIfKilled(s.broker, dir);
    const segs = segments(qdir);
    expect(segs.length).toBeGreaterThan(3);
    const seg = join(qdir, segs.at(-1)!);
    const recs = recordOffsets(seg);
    truncateSync(seg, recs.at(-1)!.offset + 3);
    appendFileSync(seg, Buffer.alloc(100));
    const after = await start(dir, 1024);
    expect(after.repairs()).toHaveLength(1);
    await expectWorkingAndRepaired(dir, after.broker, range(1, 149));
  });
});

describe('torn acknowledgement logs', () => {
  /** m1..m10 published; m1..m4 fetched and acked. */
  async function withAcks(): Promise<{ dir: string; ackFile: string }> {
    const { dir, s, qdir } = await brokerWithMessages(10);
    const { ch } = await open(s.broker);
    for (let i = 0; i < 4; i++) {
      const m = await ch.get('q', { noAck: false });
      if (m === false) throw new Error('empty');
      ch.ack(m);
    }
    await ch.checkQueue('q');
    await stopAsIfKilled(s.broker, dir);
    const ackFile = join(qdir, segments(qdir)[0]!.replace('.seg', '.ack'));
    expect(statSync(ackFile).size).toBe(32);
    return { dir, ackFile };
  }

  it('a partial last acknowledgement is ignored: that one message comes back, the others stay acked', async () => {
    const { dir, ackFile } = await withAcks();
    truncateSync(ackFile, 29);
    const after = await start(dir);
    const repairs = after.repairs();
    expect(repairs).toHaveLength(1);
    expect(repairs[0]).toMatchObject({ msg: 'ignored a torn acknowledgement record', file: ackFile, dropped: 5 });
    const { ch } = await open(after.broker);
    expect(await bodies(ch)).toEqual(range(4, 10));
  });

  it('acknowledgements made after repairing a torn log are kept at the next start', async () => {
    // The torn tail must be cut off (or the log realigned): acks appended after 29 bytes would be
    // read at the wrong alignment, and the messages acked after the restart would come back.
    const { dir, ackFile } = await withAcks();
    truncateSync(ackFile, 29);
    const after = await start(dir);
    const { ch } = await open(after.broker);
    const got: string[] = [];
    for (let i = 0; i < 3; i++) {
      const m = await ch.get('q', { noAck: false });
      if (m === false) throw new Error('empty');
      got.push(m.content.toString());
      ch.ack(m);
    }
    expect(got).toEqual(['m4', 'm5', 'm6']);
    await ch.checkQueue('q');
    await stopAsIfKilled(after.broker, dir);
    const again = await start(dir);
    const { ch: ch2 } = await open(again.broker);
    expect(await bodies(ch2)).toEqual(range(7, 10));
  });

  it('a zero-filled acknowledgement log tail loses no acknowledgement', async () => {
    const { dir, ackFile } = await withAcks();
    appendFileSync(ackFile, Buffer.alloc(16));
    const after = await start(dir);
    const { ch } = await open(after.broker);
    expect(await bodies(ch)).toEqual(range(5, 10));
  });

  it('an acknowledgement log left without its segment (killed between the two unlinks) does not swallow new messages', async () => {
    // A fully acknowledged segment is deleted: NNN.seg, then NNN.ack. Killed in between, the ack
    // log stays. After the restart the next segment id and sequence numbers come from the segments
    // left, so both can be reused; the new segment must not inherit the old log's acks.
    const dir = tempDir();
    const s = await start(dir);
    const { cc } = await open(s.broker);
    await cc.assertQueue('q', { durable: true });
    for (let i = 1; i <= 3; i++) cc.sendToQueue('q', Buffer.from(`old${i}`), { persistent: true });
    await cc.waitForConfirms();
    const [id] = readdirSync(join(dir, 'queues'));
    const qdir = join(dir, 'queues', id!);
    await stopAsIfKilled(s.broker, dir);
    // The queue was emptied and its only segment deleted, except for the ack log.
    const ack = Buffer.alloc(24);
    for (let i = 0; i < 3; i++) ack.writeUInt32BE(i + 1, i * 8 + 4);
    for (const f of readdirSync(qdir)) rmSync(join(qdir, f));
    writeFileSync(join(qdir, '0000000001.ack'), ack);

    const after = await start(dir);
    const { cc: cc2 } = await open(after.broker);
    for (let i = 1; i <= 3; i++) cc2.sendToQueue('q', Buffer.from(`new${i}`), { persistent: true });
    await cc2.waitForConfirms();
    await stopAsIfKilled(after.broker, dir);
    const again = await start(dir);
    const { ch: ch2 } = await open(again.broker);
    expect(await bodies(ch2)).toEqual(['new1', 'new2', 'new3']);
  });
});

describe('torn definitions log', () => {
  it('a torn last definition is dropped with a warning; the queues before it keep their messages', async () => {
    const { dir, s } = await brokerWithMessages(5);
    const { ch } = await open(s.broker);
    await ch.assertQueue('second', { durable: true });
    await stopAsIfKilled(s.broker, dir);
    const log = join(dir, 'definitions.log');
    // Cut into the last record (`second`, declared after the start's compaction).
    const data = readFileSync(log);
    let last = 0;
    for (let at = 0; at < data.length; at += data.readUInt32BE(at) + 8) last = at;
    expect(data.toString('utf8', last + 8)).toContain('"second"');
    truncateSync(log, last + Math.floor((data.length - last) / 2));

    const after = await start(dir);
    expect(after.repairs().map((l) => l.msg)).toEqual(['repaired a torn definitions log tail']);
    const { ch: ch2 } = await open(after.broker);
    await expect(ch2.checkQueue('second')).rejects.toThrow(/NOT_FOUND/);
    const { ch: ch3 } = await open(after.broker);
    expect(await bodies(ch3)).toEqual(range(1, 5));
    await ch3.assertQueue('second', { durable: true });
  });

  it('garbage after the last definition (zeros, a partial length) is cut off', async () => {
    const { dir, s } = await brokerWithMessages(2);
    await stopAsIfKilled(s.broker, dir);
    appendFileSync(join(dir, 'definitions.log'), Buffer.from([0, 0, 1]));
    const after = await start(dir);
    expect(after.repairs().map((l) => l.msg)).toEqual(['repaired a torn definitions log tail']);
    await expectWorkingAndRepaired(dir, after.broker, range(1, 2));
    expect(existsSync(join(dir, 'definitions.log.new'))).toBe(false);
  });
});
