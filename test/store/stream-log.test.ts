/**
 * The stream log (store/stream-log.ts) on its own: one chunk per turn of appends, confirms after the
 * chunk is stored, memory bounded by the resident budget however long the stream (older chunks read
 * back from their files), lookups by offset and by time, and retention by size and by age (a test
 * clock: no waiting) in whole segments, oldest first, never the one being written.
 */
import { describe, expect, it } from 'vitest';
import { Message, scanProperties } from '../../src/message/message.js';
import { nodeIo } from '../../src/store/io.js';
import { Persister } from '../../src/store/persister.js';
import { StreamLog, type StreamLimits } from '../../src/store/stream-log.js';
import { silentLog, useTempDirs } from '../helpers/disk-brokers.js';

const tempDir = useTempDirs();
const NO_LIMITS: StreamLimits = { maxBytes: undefined, maxAgeMs: undefined, segmentBytes: 500_000_000 };
const EMPTY_PROPERTIES = Buffer.from([0, 0]);

function message(body: string | Buffer): Message {
  const m = new Message('', 'rk', EMPTY_PROPERTIES, Buffer.isBuffer(body) ? body : Buffer.from(body));
  scanProperties(m, m.properties);
  return m;
}

/** Appends one message and waits for its chunk to be stored (each append is then a chunk of its own). */
function appendStored(log: StreamLog, body: string | Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const offset = log.append(message(body), (err) => (err === undefined ? resolve(offset) : reject(err)));
  });
}

/** Appends in one turn (one chunk) and waits a turn for the chunk to close (memory logs confirm nothing). */
async function appendTurn(log: StreamLog, bodies: readonly string[]): Promise<void> {
  for (const b of bodies) log.append(message(b), undefined);
  await new Promise((r) => setImmediate(r));
}

const bodyAt = (log: StreamLog, offset: number) => {
  const c = log.chunkFor(offset)!;
  return log.messagesOf(c)[offset - c.first]!.body.toString();
};

describe('the stream log', () => {
  it('groups the appends of one turn into one chunk: "last" is its first offset', async () => {
    const log = new StreamLog(undefined, NO_LIMITS);
    await appendTurn(log, ['a']);
    await appendTurn(log, ['b', 'c', 'd']);
    expect([log.first, log.next, log.lastChunkFirst]).toEqual([0, 4, 1]);
    expect(log.chunkFor(2)!.first).toBe(1);
  });

  it("records a chunk's filter values: a chunk may match a filter on any of them, or on none with match-unfiltered", async () => {
    const log = new StreamLog(undefined, NO_LIMITS);
    log.append(message('a'), undefined, 'red');
    log.append(message('b'), undefined, 'blue');
    await appendTurn(log, []);
    log.append(message('c'), undefined, null);
    await appendTurn(log, []);
    const [mixed, plain] = [log.chunkFor(0)!, log.chunkFor(2)!];
    expect([mixed.mayMatch(new Set(['blue']), false), mixed.mayMatch(new Set(['green']), false), mixed.mayMatch(new Set(['green']), true)]).toEqual([true, false, false]);
    expect([plain.mayMatch(new Set(['red']), false), plain.mayMatch(new Set(['red']), true)]).toEqual([false, true]);
  });

  it('keeps memory bounded: only the newest chunks stay resident, older ones are read back from disk', async () => {
    const persister = new Persister(nodeIo, 'os', silentLog);
    const log = new StreamLog({ dir: tempDir(), persister, log: silentLog, residentBytes: 8 * 1024 }, NO_LIMITS);
    for (let i = 0; i < 200; i++) await appendStored(log, Buffer.alloc(1024, i % 256));
    // At most the budget plus the one chunk that crossed it (1 KiB body, 2 bytes of properties, 256 overhead).
    expect(log.residentSize).toBeLessThanOrEqual(8 * 1024 + 1024 + 2 + 256);
    expect(log.chunkFor(0)!.messages).toBeNull();
    const first = log.messagesOf(log.chunkFor(0)!);
    expect(first[0]!.body).toEqual(Buffer.alloc(1024, 0));
    expect(log.messagesOf(log.chunkFor(150)!)[0]!.body).toEqual(Buffer.alloc(1024, 150));
  });

  it('finds the first chunk at or after a time (timestamps never decrease)', async () => {
    let clock = 1000;
    const log = new StreamLog(undefined, NO_LIMITS, () => clock);
    await appendTurn(log, ['a']);
    clock = 2000;
    await appendTurn(log, ['b']);
    clock = 1500; // a clock going back does not reorder the index
    await appendTurn(log, ['c']);
    expect([log.chunkAtTime(0)!.first, log.chunkAtTime(1001)!.first, log.chunkAtTime(2000)!.first]).toEqual([0, 1, 1]);
    expect(log.chunkAtTime(2001)).toBeUndefined();
  });

  it('x-max-age removes the segments whose newest chunk is too old when a new segment starts', async () => {
    let clock = 0;
    const log = new StreamLog(undefined, { maxBytes: undefined, maxAgeMs: 1000, segmentBytes: 1 }, () => clock);
    await appendTurn(log, ['old']);
    clock = 500;
    await appendTurn(log, ['younger']);
    expect(log.first).toBe(0);
    clock = 1400;
    await appendTurn(log, ['new']);
    // At t=1400 "old" (t=0) is older than 1000 ms; "younger" (t=500) is not.
    expect(log.first).toBe(1);
    expect(bodyAt(log, 1)).toBe('younger');
  });

  it('x-max-length-bytes removes whole segments, oldest first, never the one being written', async () => {
    const log = new StreamLog(undefined, { maxBytes: 300, maxAgeMs: undefined, segmentBytes: 150 });
    for (let i = 0; i < 20; i++) await appendTurn(log, [`m${i}`.padEnd(60, '.')]);
    expect(log.first).toBeGreaterThan(0);
    expect(log.next).toBe(20);
    expect(bodyAt(log, 19).startsWith('m19')).toBe(true);
    // Below the first offset, the lookup finds the first chunk left.
    expect(log.chunkFor(0)!.first).toBe(log.first);
  });
});
