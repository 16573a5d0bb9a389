/**
 * Streams on disk (store/stream-log.ts): a stream survives a restart with its offsets, a consumer far
 * behind reads its chunks back from the segment files, a torn segment tail is cut to its last whole
 * chunk and logged without blocking start-up, and retention by x-max-length-bytes removes whole
 * segments, oldest first, while a consumer positioned in a removed one carries on from the first left.
 */
import type { Channel, ConfirmChannel, ConsumeMessage } from 'amqplib';
import { appendFileSync, readdirSync, statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunningBroker } from '../../src/index.js';
import { captureLog, useDiskBrokers, useTempDirs } from '../helpers/disk-brokers.js';

const tempDir = useTempDirs();
const { start, channel, confirmChannel } = useDiskBrokers();

const STREAM = { 'x-queue-type': 'stream' };

async function declare(ch: Channel, q: string, args: Record<string, unknown> = {}): Promise<void> {
  await ch.assertQueue(q, { durable: true, arguments: { ...STREAM, ...args } });
}

/** Publishes each message on its own (one chunk each) and waits for its confirm. */
async function publishEach(ch: ConfirmChannel, q: string, bodies: readonly string[]): Promise<void> {
  for (const b of bodies) {
    ch.sendToQueue(q, Buffer.from(b));
    await ch.waitForConfirms();
  }
}

/** Reads `n` deliveries from `offset` with acks (prefetch 50), then cancels. */
async function read(b: RunningBroker, q: string, offset: unknown, n: number): Promise<ConsumeMessage[]> {
  const ch = await channel(b);
  await ch.prefetch(50);
  const got: ConsumeMessage[] = [];
  let done!: () => void;
  const all = new Promise<void>((r) => (done = r));
  const ok = await ch.consume(q, (m) => {
    if (m === null) return;
    got.push(m);
    ch.ack(m);
    if (got.length === n) done();
  }, { arguments: { 'x-stream-offset': offset } });
  await all;
  await ch.cancel(ok.consumerTag);
  return got;
}

const offsets = (msgs: readonly ConsumeMessage[]) => msgs.map((m) => m.properties.headers!['x-stream-offset'] as number);
const range = (n: number, from = 0) => Array.from({ length: n }, (_, i) => from + i);

function segmentFiles(dataDir: string): string[] {
  const out: string[] = [];
  const queues = join(dataDir, 'queues');
  for (const id of readdirSync(queues)) {
    let names: string[] = [];
    try {
      names = readdirSync(join(queues, id, 'stream'));
    } catch {
      continue;
    }
    for (const f of names.sort()) out.push(join(queues, id, 'stream', f));
  }
  return out;
}

describe('a stream on disk', () => {
  it('survives a restart: every confirmed message at its offset, and the next publish follows on', async () => {
    const dir = tempDir();
    let b = await start(dir);
    const pub = await confirmChannel(b);
    await declare(pub, 's');
    await publishEach(pub, 's', range(20).map((i) => `m${i}`));
    for (let i = 20; i < 300; i++) pub.sendToQueue('s', Buffer.alloc(1024, i));
    await pub.waitForConfirms();
    await b.close();
    b = await start(dir);
    const again = await confirmChannel(b);
    expect((await again.checkQueue('s')).messageCount).toBe(300);
    await publishEach(again, 's', ['after']);
    const got = await read(b, 's', 'first', 301);
    expect(offsets(got)).toEqual(range(301));
    expect(got[0]!.content.toString()).toBe('m0');
    expect(got[150]!.content).toEqual(Buffer.alloc(1024, 150));
    expect(got[300]!.content.toString()).toBe('after');
  });

  it('a consumer starting at an offset reads from the middle of the files after a restart', async () => {
    const dir = tempDir();
    let b = await start(dir);
    const pub = await confirmChannel(b);
    await declare(pub, 's', { 'x-stream-max-segment-size-bytes': 4096 });
    await publishEach(pub, 's', range(40).map((i) => `m${i}`.padEnd(200, '.')));
    await b.close();
    expect(segmentFiles(dir).length).toBeGreaterThan(1);
    b = await start(dir);
    const got = await read(b, 's', 25, 15);
    expect(offsets(got)).toEqual(range(15, 25));
    expect(got[0]!.content.toString().startsWith('m25.')).toBe(true);
  });

  it('a torn tail is cut to the last whole chunk and logged; start-up carries on and offsets stay contiguous', async () => {
    const dir = tempDir();
    let b = await start(dir);
    const pub = await confirmChannel(b);
    await declare(pub, 's');
    await publishEach(pub, 's', ['a', 'b', 'c']);
    await b.close();
    const [file] = segmentFiles(dir).slice(-1);
    // The last chunk cut in the middle, then garbage after it: as a crash mid-write leaves a file.
    truncateSync(file!, statSync(file!).size - 3);
    appendFileSync(file!, Buffer.from('garbage'));
    const cap = captureLog('warn');
    b = await start(dir, { logger: cap.logger });
    expect(cap.find('repaired a torn stream segment tail')).toHaveLength(1);
    const again = await confirmChannel(b);
    expect((await again.checkQueue('s')).messageCount).toBe(2);
    await publishEach(again, 's', ['d']);
    const got = await read(b, 's', 'first', 3);
    expect(got.map((m) => m.content.toString())).toEqual(['a', 'b', 'd']);
    expect(offsets(got)).toEqual([0, 1, 2]);
  });

  it('retention by x-max-length-bytes removes whole segments, oldest first; a consumer from "first" starts at the oldest left', async () => {
    const dir = tempDir();
    const b = await start(dir);
    const pub = await confirmChannel(b);
    await declare(pub, 's', { 'x-max-length-bytes': 3000, 'x-stream-max-segment-size-bytes': 1000 });
    await publishEach(pub, 's', range(100).map((i) => `m${i}`.padEnd(100, '.')));
    const files = segmentFiles(dir);
    // At most the limit in closed segments, plus the one being written.
    expect(files.length).toBeLessThanOrEqual(5);
    const left = (await pub.checkQueue('s')).messageCount;
    expect(left).toBeGreaterThan(0);
    expect(left).toBeLessThan(100);
    const got = await read(b, 's', 'first', left);
    expect(offsets(got)).toEqual(range(left, 100 - left));
    // An offset removed by retention: the consumer starts at the first one left.
    const fromZero = await read(b, 's', 0, 1);
    expect(offsets(fromZero)[0]).toBe(100 - left);
  });
});
