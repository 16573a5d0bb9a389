/**
 * The QueueStore contract (src/store/queue-store.ts): one suite that every store passes, as aedes
 * runs one abstract persistence suite against each backend. Then what only a durable store promises:
 * recovery of persistent, unacknowledged records in order; segment files removed once dead; rollover.
 */
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { QueueEntry } from '../../src/message/queue-entry.js';
import { nodeIo } from '../../src/store/io.js';
import { Persister } from '../../src/store/persister.js';
import { MemoryQueueStore, type QueueStore } from '../../src/store/queue-store.js';
import { SegmentQueueStore, type SegmentStoreOptions } from '../../src/store/segment-store.js';
import { eventually } from '../helpers/broker.js';
import { makeEntry, messageParts, silentLog, useTempDirs } from '../helpers/disk-brokers.js';

const tempDir = useTempDirs();

interface Harness {
  store: QueueStore;
  /** Resolves when every write handed to the store so far has completed. */
  settle(): Promise<void>;
  /** Closes the store and opens another one where it kept its records, as a restart does. */
  reopen(): Promise<QueueStore>;
}

type Factory = () => Harness;

const implementations: Array<[string, Factory]> = [
  [
    'MemoryQueueStore',
    () => {
      const store = new MemoryQueueStore();
      return { store, settle: () => new Promise((r) => setImmediate(r)), reopen: async () => new MemoryQueueStore() };
    },
  ],
  [
    'SegmentQueueStore (durable, fsync)',
    () => {
      const dir = join(tempDir(), 'q');
      const persister = new Persister(nodeIo, 'fsync', silentLog);
      const store = new SegmentQueueStore(dir, persister, silentLog, { durable: true, cleanStart: false });
      const reopen = async () => {
        await store.close({ deliveredBelow: 1, nextSeq: 1 });
        return new SegmentQueueStore(dir, new Persister(nodeIo, 'fsync', silentLog), silentLog, { durable: true, cleanStart: false });
      };
      return { store, settle: () => persister.idle(), reopen };
    },
  ],
  [
    'SegmentQueueStore (pages of a transient queue, os)',
    () => {
      const dir = join(tempDir(), 'p');
      const persister = new Persister(nodeIo, 'os', silentLog);
      const store = new SegmentQueueStore(dir, persister, silentLog, { durable: false, cleanStart: false, segmentSize: 4096 });
      const reopen = async () => {
        await store.close({ deliveredBelow: 1, nextSeq: 1 });
        return new SegmentQueueStore(dir, new Persister(nodeIo, 'os', silentLog), silentLog, { durable: false, cleanStart: false, segmentSize: 4096 });
      };
      return { store, settle: () => persister.idle(), reopen };
    },
  ],
];

/** Writes entries and waits for every callback; returns the errors passed to each. */
async function writeAll(h: Harness, entries: QueueEntry[]): Promise<Array<Error | undefined>> {
  const results = await Promise.all(
    entries.map((e) => new Promise<Error | undefined>((resolve) => h.store.write(e, e.msg!.publishedAt, resolve))),
  );
  await h.settle();
  return results;
}

function load(store: QueueStore, entries: QueueEntry[]): Promise<Error | undefined> {
  return new Promise((resolve) => store.load(entries, resolve));
}

describe.each(implementations)('QueueStore contract: %s', (_name, make) => {
  it('calls back each write exactly once, without an error, in write order, and marks the entry stored', async () => {
    const h = make();
    const entries = [1, 2, 3, 4, 5].map((i) => makeEntry(i, `m${i}`, { persistent: i % 2 === 1 }));
    const calls: number[] = [];
    for (const e of entries) {
      h.store.write(e, e.msg!.publishedAt, (err) => {
        expect(err).toBeUndefined();
        calls.push(e.seq);
      });
    }
    await eventually(() => expect(calls).toHaveLength(5));
    await h.settle();
    // Callbacks come in write order: once a later write has called back, a second callback for any
    // of the first five would have come before it.
    await new Promise<void>((resolve) => h.store.write(makeEntry(6, 'last'), 0, () => resolve()));
    expect(calls).toEqual([1, 2, 3, 4, 5]);
    expect(entries.every((e) => e.stored)).toBe(true);
    await h.store.destroy();
  });

  it('accepts a write without a callback', async () => {
    const h = make();
    const e = makeEntry(1, 'no callback');
    h.store.write(e, 0, undefined);
    await h.settle();
    await eventually(() => expect(e.stored).toBe(true));
    await h.store.destroy();
  });

  it('gives back the exact message: exchange, routing key, property bytes, body', async () => {
    const h = make();
    const body = Buffer.alloc(70_000);
    for (let i = 0; i < body.length; i++) body[i] = (i * 31) & 0xff;
    const specs = [
      makeEntry(1, 'plain'),
      makeEntry(2, body, { exchange: 'x.ünïcode', routingKey: 'a.b.ç', properties: { contentType: 'application/octet-stream', headers: new Map([['h', { type: 'l', value: 2n ** 60n }]]), messageId: 'id-2', timestamp: 1234, priority: 3 } }),
      makeEntry(3, '', { exchange: '', routingKey: 'x'.repeat(255), persistent: false }),
      makeEntry(4, 'last', { properties: { expiration: '60000', userId: 'guest', appId: 'warren-test' } }),
    ];
    const expected = specs.map((e) => messageParts(e.msg));
    expect(await writeAll(h, specs)).toEqual([undefined, undefined, undefined, undefined]);
    if (h.store.canPage) {
      for (const e of specs) e.msg = null;
    }
    expect(await load(h.store, specs)).toBeUndefined();
    expect(specs.map((e) => messageParts(e.msg))).toEqual(expected);
    if (h.store.canPage) {
      // Properties are scanned again: the queue relies on the persistent flag and expiration offsets.
      expect(specs[3]!.msg!.expiration).toBe('60000');
      expect(specs[2]!.msg!.persistent).toBe(false);
      expect(specs[0]!.msg!.publishedAt).toBe(makeEntry(0, 'plain').msg!.publishedAt);
    }
    await h.store.destroy();
  });

  it('loads a sparse selection of many entries (merged reads) and leaves loaded ones alone', async () => {
    const h = make();
    const entries = Array.from({ length: 300 }, (_, i) => makeEntry(i + 1, `message ${i + 1} `.repeat(1 + (i % 7))));
    const expected = entries.map((e) => messageParts(e.msg));
    await writeAll(h, entries);
    const picked = entries.filter((e) => e.seq % 3 !== 0);
    if (h.store.canPage) for (const e of picked) e.msg = null;
    const keep = entries[2]!.msg;
    // Pass every entry, including some still in memory: those must not be replaced.
    expect(await load(h.store, entries)).toBeUndefined();
    expect(entries[2]!.msg).toBe(keep);
    expect(entries.map((e) => messageParts(e.msg))).toEqual(expected);
    await h.store.destroy();
  });

  it('loadSync reads one entry back at once', async () => {
    const h = make();
    const e = makeEntry(7, 'for basic.get', { routingKey: 'get' });
    const expected = messageParts(e.msg);
    await writeAll(h, [e]);
    if (h.store.canPage) e.msg = null;
    h.store.load([], () => {});
    h.store.loadSync(e);
    expect(messageParts(e.msg)).toEqual(expected);
    await h.store.destroy();
  });

  it('load of nothing calls back (asynchronously, once)', async () => {
    const h = make();
    let calls = 0;
    h.store.load([], () => calls++);
    expect(calls).toBe(0);
    await eventually(() => expect(calls).toBe(1));
    await h.store.destroy();
  });

  it('remove forgets the record; removing twice or an entry never written is harmless', async () => {
    const h = make();
    const a = makeEntry(1, 'a');
    const b = makeEntry(2, 'b');
    const c = makeEntry(3, 'c');
    await writeAll(h, [a, c]);
    const kept = messageParts(c.msg);
    h.store.remove(a);
    h.store.remove(a);
    h.store.remove(b);
    await h.settle();
    if (h.store.canPage) {
      // With the bodies out of memory: the removed record can no longer be read, the other one can.
      a.msg = null;
      c.msg = null;
      expect(h.store.readable(a)).toBe(false);
      expect(h.store.readable(c)).toBe(true);
    }
    expect(await load(h.store, [c])).toBeUndefined();
    expect(messageParts(c.msg)).toEqual(kept);
    // After a restart only the record that was not removed comes back (a store that survives none
    // gives back nothing at all).
    const again = await h.reopen();
    const recovered = await again.recover();
    expect(recovered.entries.map((e) => e.seq)).toEqual(again.durable ? [3] : []);
    await again.destroy();
  });

  it('recover on a store that never wrote anything is empty', async () => {
    const h = make();
    const r = await h.store.recover();
    expect(r.entries).toEqual([]);
    expect(r.nextSeq).toBe(1);
    expect(r.deliveredBelow).toBe(1);
    await h.store.destroy();
  });

  it('close waits for pending writes; destroy removes everything', async () => {
    const h = make();
    const entries = [1, 2, 3].map((i) => makeEntry(i, `c${i}`));
    let done = 0;
    for (const e of entries) h.store.write(e, 0, () => done++);
    await h.store.close({ deliveredBelow: 1, nextSeq: 4 });
    expect(done).toBe(3);
    await h.store.destroy();
    if (h.store instanceof SegmentQueueStore) expect(existsSync(h.store.dir)).toBe(false);
  });
});

// ------------------------------------------------------------------------------------------------
// Durable segment stores only

function segmentStore(dir: string, persister: Persister, options: Partial<SegmentStoreOptions> = {}): SegmentQueueStore {
  return new SegmentQueueStore(dir, persister, silentLog, { durable: true, cleanStart: false, ...options });
}

const segFiles = (dir: string) => (existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.seg')).sort() : []);
const ackFiles = (dir: string) => (existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.ack')).sort() : []);

async function writeAndSettle(store: SegmentQueueStore, persister: Persister, entries: QueueEntry[]): Promise<void> {
  await Promise.all(entries.map((e) => new Promise<void>((resolve, reject) => store.write(e, e.msg!.publishedAt, (err) => (err ? reject(err) : resolve())))));
  await persister.idle();
}

/** What a recovery gives: seqs in order, with the bodies read back (from the scan or the segments). */
async function recovered(store: SegmentQueueStore): Promise<{ seqs: number[]; bodies: string[]; nextSeq: number; deliveredBelow: number; loaded: number }> {
  const r = await store.recover();
  for (const e of r.entries) e.msg = r.loaded.get(e.seq) ?? null;
  const missing = r.entries.filter((e) => e.msg === null);
  if (missing.length > 0) await load(store, missing);
  return {
    seqs: r.entries.map((e) => e.seq),
    bodies: r.entries.map((e) => e.msg!.body.toString()),
    nextSeq: r.nextSeq,
    deliveredBelow: r.deliveredBelow,
    loaded: r.loaded.size,
  };
}

describe('SegmentQueueStore: durability', () => {
  it('recovers the persistent, unacknowledged records in order; transient ones dropped, acked ones gone', async () => {
    const dir = join(tempDir(), 'q');
    const persister = new Persister(nodeIo, 'fsync', silentLog);
    const store = segmentStore(dir, persister);
    const entries = Array.from({ length: 10 }, (_, i) => makeEntry(i + 1, `body-${i + 1}`, { persistent: (i + 1) % 4 !== 0 }));
    await writeAndSettle(store, persister, entries);
    for (const seq of [2, 5, 9]) store.remove(entries[seq - 1]!);
    // A crash right after: nothing but what the persister wrote (close() only flushes; terms are
    // ignored without a clean start).
    await store.close({ deliveredBelow: 3, nextSeq: 11 });

    const after = await recovered(segmentStore(dir, new Persister(nodeIo, 'fsync', silentLog)));
    expect(after.seqs).toEqual([1, 3, 6, 7, 10]);
    expect(after.bodies).toEqual(['body-1', 'body-3', 'body-6', 'body-7', 'body-10']);
    expect(after.nextSeq).toBe(11);
    // After a crash nothing says which were delivered: every recovered message counts as delivered.
    expect(after.deliveredBelow).toBe(11);
  });

  it('uses the clean-shutdown terms only after a clean start, and only once', async () => {
    const dir = join(tempDir(), 'q');
    const persister = new Persister(nodeIo, 'fsync', silentLog);
    const store = segmentStore(dir, persister);
    await writeAndSettle(store, persister, [makeEntry(1, 'a'), makeEntry(2, 'b'), makeEntry(3, 'c')]);
    store.remove(makeEntry(99, 'never written'));
    await store.close({ deliveredBelow: 2, nextSeq: 40 });
    expect(existsSync(join(dir, 'terms.json'))).toBe(true);

    const clean = await recovered(segmentStore(dir, new Persister(nodeIo, 'fsync', silentLog), { cleanStart: true }));
    expect(clean).toMatchObject({ seqs: [1, 2, 3], nextSeq: 40, deliveredBelow: 2 });
    expect(existsSync(join(dir, 'terms.json'))).toBe(false);
    // The next start (no close in between: a crash) must not reuse the old terms.
    const dirty = await recovered(segmentStore(dir, new Persister(nodeIo, 'fsync', silentLog), { cleanStart: true }));
    expect(dirty).toMatchObject({ seqs: [1, 2, 3], nextSeq: 4, deliveredBelow: 4 });
  });

  it('ignores terms.json after a dirty start, and an unreadable one after a clean start', async () => {
    const dir = join(tempDir(), 'q');
    const persister = new Persister(nodeIo, 'fsync', silentLog);
    const store = segmentStore(dir, persister);
    await writeAndSettle(store, persister, [makeEntry(1, 'a'), makeEntry(2, 'b')]);
    await store.close({ deliveredBelow: 1, nextSeq: 3 });
    expect(await recovered(segmentStore(dir, new Persister(nodeIo, 'fsync', silentLog), { cleanStart: false }))).toMatchObject({ deliveredBelow: 3 });
    writeFileSync(join(dir, 'terms.json'), '{"deliveredBel');
    expect(await recovered(segmentStore(dir, new Persister(nodeIo, 'fsync', silentLog), { cleanStart: true }))).toMatchObject({ seqs: [1, 2], deliveredBelow: 3 });
  });

  it('reads back at most loadOnRecover messages with the scan; the rest stays on disk until loaded', async () => {
    const dir = join(tempDir(), 'q');
    const persister = new Persister(nodeIo, 'fsync', silentLog);
    const store = segmentStore(dir, persister);
    await writeAndSettle(store, persister, Array.from({ length: 20 }, (_, i) => makeEntry(i + 1, `m${i + 1}`)));
    await store.close({ deliveredBelow: 1, nextSeq: 21 });
    const r = await recovered(segmentStore(dir, new Persister(nodeIo, 'fsync', silentLog), { loadOnRecover: 5 }));
    expect(r.loaded).toBe(5);
    expect(r.bodies).toEqual(Array.from({ length: 20 }, (_, i) => `m${i + 1}`));
  });

  it('rolls over to new segments at segmentSize and recovers across all of them in order', async () => {
    const dir = join(tempDir(), 'q');
    const persister = new Persister(nodeIo, 'fsync', silentLog);
    const store = segmentStore(dir, persister, { segmentSize: 1024 });
    const entries = Array.from({ length: 40 }, (_, i) => makeEntry(i + 1, `${i + 1}:`.padEnd(150, '.')));
    await writeAndSettle(store, persister, entries);
    expect(segFiles(dir).length).toBeGreaterThanOrEqual(5);
    // Acks land in the log of the segment holding each record.
    for (const e of entries) if (e.seq % 5 === 0) store.remove(e);
    await persister.idle();
    expect(ackFiles(dir).length).toBeGreaterThanOrEqual(5);
    await store.close({ deliveredBelow: 1, nextSeq: 41 });
    const r = await recovered(segmentStore(dir, new Persister(nodeIo, 'fsync', silentLog), { segmentSize: 1024, loadOnRecover: 3 }));
    const want = entries.filter((e) => e.seq % 5 !== 0);
    expect(r.seqs).toEqual(want.map((e) => e.seq));
    expect(r.bodies).toEqual(want.map((e) => `${e.seq}:`.padEnd(150, '.')));
  });

  it('deletes a segment and its ack log once every record in it is dead, but not the one being written', async () => {
    const dir = join(tempDir(), 'q');
    const persister = new Persister(nodeIo, 'fsync', silentLog);
    const store = segmentStore(dir, persister, { segmentSize: 1024 });
    const entries = Array.from({ length: 30 }, (_, i) => makeEntry(i + 1, 'x'.repeat(200)));
    await writeAndSettle(store, persister, entries);
    const before = segFiles(dir);
    expect(before.length).toBeGreaterThanOrEqual(4);
    // Acknowledge everything but the last record.
    for (const e of entries.slice(0, -1)) store.remove(e);
    await eventually(() => expect(segFiles(dir)).toEqual([before[before.length - 1]]));
    await eventually(() => expect(ackFiles(dir).every((f) => f.replace('.ack', '.seg') === before[before.length - 1])).toBe(true));
    store.remove(entries[entries.length - 1]!);
    await persister.idle();
    await store.close({ deliveredBelow: 31, nextSeq: 31 });
    expect((await recovered(segmentStore(dir, new Persister(nodeIo, 'fsync', silentLog)))).seqs).toEqual([]);
    // A fully dead segment found at recovery is deleted too.
    await eventually(() => expect(segFiles(dir)).toEqual([]));
  });

  it('deletes a segment whose records are a mix of acked persistent and delivered transient ones', async () => {
    const dir = join(tempDir(), 'q');
    const persister = new Persister(nodeIo, 'fsync', silentLog);
    const store = segmentStore(dir, persister, { segmentSize: 600 });
    const entries = Array.from({ length: 12 }, (_, i) => makeEntry(i + 1, 'y'.repeat(100), { persistent: i % 2 === 0 }));
    await writeAndSettle(store, persister, entries);
    const first = segFiles(dir)[0]!;
    for (const e of entries.slice(0, 4)) store.remove(e);
    await eventually(() => expect(segFiles(dir)).not.toContain(first));
    await store.close({ deliveredBelow: 1, nextSeq: 13 });
  });

  it('appends after a recovery to a new segment and acks into the old logs; a second recovery sees both', async () => {
    const dir = join(tempDir(), 'q');
    let persister = new Persister(nodeIo, 'fsync', silentLog);
    let store = segmentStore(dir, persister);
    await writeAndSettle(store, persister, [1, 2, 3, 4].map((i) => makeEntry(i, `old${i}`)));
    store.remove(makeEntry(1, 'unwritten'));
    await store.close({ deliveredBelow: 1, nextSeq: 5 });

    persister = new Persister(nodeIo, 'fsync', silentLog);
    store = segmentStore(dir, persister);
    const r = await store.recover();
    expect(r.entries.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
    const segsBefore = segFiles(dir);
    // Ack two recovered messages (their segment's log already exists after the first ack here).
    store.remove(r.entries[0]!);
    store.remove(r.entries[2]!);
    await writeAndSettle(store, persister, [5, 6].map((i) => makeEntry(i, `new${i}`)));
    expect(segFiles(dir).length).toBe(segsBefore.length + 1);
    await store.close({ deliveredBelow: 1, nextSeq: 7 });

    const again = await recovered(segmentStore(dir, new Persister(nodeIo, 'fsync', silentLog)));
    expect(again.seqs).toEqual([2, 4, 5, 6]);
    expect(again.bodies).toEqual(['old2', 'old4', 'new5', 'new6']);
  });

  it('an ack log left without its segment (killed between the two unlinks) does not swallow new messages', async () => {
    // retire() unlinks NNN.seg, then NNN.ack. Killed in between, the ack log stays. After the
    // restart, nextSeq and the next segment id come from the segments left, so both can be reused:
    // the new segment NNN must not inherit the old log's acks.
    const dir = join(tempDir(), 'q');
    let persister = new Persister(nodeIo, 'fsync', silentLog);
    let store = segmentStore(dir, persister, { segmentSize: 400 });
    const entries = Array.from({ length: 6 }, (_, i) => makeEntry(i + 1, 'z'.repeat(100)));
    await writeAndSettle(store, persister, entries);
    expect(segFiles(dir)).toEqual(['0000000001.seg', '0000000002.seg']);
    for (const e of entries.slice(1)) store.remove(e); // only seq 1 stays; segment 2 is deleted
    await eventually(() => expect(segFiles(dir)).toEqual(['0000000001.seg']));
    await store.close({ deliveredBelow: 7, nextSeq: 7 });
    const orphan = Buffer.alloc(24);
    for (let i = 0; i < 3; i++) orphan.writeUInt32BE(4 + i, i * 8 + 4);
    writeFileSync(join(dir, '0000000002.ack'), orphan);

    persister = new Persister(nodeIo, 'fsync', silentLog);
    store = segmentStore(dir, persister, { segmentSize: 400 });
    const r = await store.recover();
    expect(r.entries.map((e) => e.seq)).toEqual([1]);
    const fresh = Array.from({ length: 3 }, (_, i) => makeEntry(r.nextSeq + i, `fresh${i}`));
    await writeAndSettle(store, persister, fresh);
    await store.close({ deliveredBelow: 1, nextSeq: r.nextSeq + 3 });

    const again = await recovered(segmentStore(dir, new Persister(nodeIo, 'fsync', silentLog)));
    expect(again.bodies).toEqual(['z'.repeat(100), 'fresh0', 'fresh1', 'fresh2']);
  });

  it('removeAll (a purge) is in the kernel on return: a recovery at once, before any persister round, finds only the records kept', async () => {
    const dir = join(tempDir(), 'q');
    const persister = new Persister(nodeIo, 'fsync', silentLog);
    const store = segmentStore(dir, persister, { segmentSize: 1024 });
    const entries = Array.from({ length: 30 }, (_, i) => makeEntry(i + 1, 'x'.repeat(200)));
    await writeAndSettle(store, persister, entries);
    const segments = segFiles(dir);
    expect(segments.length).toBeGreaterThanOrEqual(5);
    // Seq 2 (first segment) and 30 (the segment being written) were delivered and not acknowledged:
    // a purge leaves them; everything else goes.
    const kept = new Set([2, 30]);
    const purged = entries.filter((e) => !kept.has(e.seq));
    const first = entries[0]!.segment;
    const purgedInFirst = purged.filter((e) => e.segment === first).length;
    store.removeAll(purged);
    // Segments with nothing kept are gone already, and the first one's log holds its purged records.
    expect(segFiles(dir)).toEqual([segments[0], segments[segments.length - 1]]);
    expect(statSync(join(dir, segments[0]!.replace('.seg', '.ack'))).size).toBe(purgedInFirst * 8);
    expect(purged.every((e) => e.segment === null)).toBe(true);
    // The recovery's scan runs now, synchronously: nothing of the purge is left to a persister round.
    const after = await recovered(segmentStore(dir, new Persister(nodeIo, 'fsync', silentLog), { segmentSize: 1024 }));
    expect(after.seqs).toEqual([2, 30]);
  });

  it('removeAll of a whole store of pages deletes every segment and writes no acknowledgement', async () => {
    const dir = join(tempDir(), 'p');
    const persister = new Persister(nodeIo, 'os', silentLog);
    const store = new SegmentQueueStore(dir, persister, silentLog, { durable: false, cleanStart: false, segmentSize: 1024 });
    const entries = Array.from({ length: 30 }, (_, i) => makeEntry(i + 1, 'x'.repeat(200), { persistent: i % 2 === 0 }));
    await writeAndSettle(store, persister, entries);
    expect(segFiles(dir).length).toBeGreaterThanOrEqual(5);
    store.removeAll(entries);
    expect(segFiles(dir)).toEqual([]);
    expect(ackFiles(dir)).toEqual([]);
    // Writing goes on in a new segment.
    await writeAndSettle(store, persister, [makeEntry(31, 'after')]);
    expect(segFiles(dir)).toHaveLength(1);
  });

  it('with durability fsync, a store of pages writes without syncing; a durable store syncs', async () => {
    const persister = new Persister(nodeIo, 'fsync', silentLog);
    const pages = new SegmentQueueStore(join(tempDir(), 'p'), persister, silentLog, { durable: false, cleanStart: false });
    await writeAndSettle(pages, persister, [makeEntry(1, 'p1'), makeEntry(2, 'p2', { persistent: true })]);
    expect(persister.syncs).toBe(0);
    const durable = segmentStore(join(tempDir(), 'q'), persister);
    await writeAndSettle(durable, persister, [makeEntry(1, 'd1', { persistent: true })]);
    expect(persister.syncs).toBeGreaterThan(0);
  });

  it('a store of pages (a transient queue) recovers nothing, not even persistent records', async () => {
    const dir = join(tempDir(), 'p');
    const persister = new Persister(nodeIo, 'os', silentLog);
    const store = new SegmentQueueStore(dir, persister, silentLog, { durable: false, cleanStart: false });
    await writeAndSettle(store, persister, [makeEntry(1, 'p1'), makeEntry(2, 'p2')]);
    store.remove(makeEntry(1, 'p1'));
    await store.close({ deliveredBelow: 1, nextSeq: 3 });
    const r = await new SegmentQueueStore(dir, new Persister(nodeIo, 'os', silentLog), silentLog, { durable: false, cleanStart: true }).recover();
    expect(r.entries).toEqual([]);
    expect(existsSync(join(dir, 'terms.json'))).toBe(false);
  });
});
