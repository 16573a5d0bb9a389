/**
 * The ready list behind its loaded zone (issue 19): entries whose message is paged out and whose
 * record is written are packed into typed arrays, so a queue of millions costs the heap (and the
 * collector) next to nothing; they come back as objects with every field when the zone reaches them.
 */
import { describe, expect, it } from 'vitest';
import { QueueEntry } from '../../src/message/queue-entry.js';
import { ReadyList } from '../../src/queue/ready-list.js';
import { exposedGc } from '../../src/util/force-gc.js';

const segmentA = { name: 'segment A' };
const segmentB = { name: 'segment B' };

/** An entry as a queue has it once its page-out (or persistent write) completed. */
function settled(seq: number): QueueEntry {
  const e = new QueueEntry(null, seq, 10 + (seq % 7), seq % 3 === 0);
  e.segment = seq < 5000 ? segmentA : segmentB;
  e.offset = seq * 100;
  e.recordSize = 90 + (seq % 5);
  e.expiresAt = seq % 4 === 0 ? 1_700_000_000_000 + seq : 0;
  e.stored = true;
  e.priority = seq % 10;
  e.deliveries = seq % 2;
  return e;
}

const fields = (e: QueueEntry) => ({
  seq: e.seq,
  bodySize: e.bodySize,
  persistent: e.persistent,
  segment: e.segment,
  offset: e.offset,
  recordSize: e.recordSize,
  expiresAt: e.expiresAt,
  stored: e.stored,
  priority: e.priority,
  deliveries: e.deliveries,
  ready: e.ready,
});

describe('ReadyList behind the zone', () => {
  it('lets go of settled entries (nothing holds their objects) and gives them back, in order, field for field', async () => {
    const gc = exposedGc()!;
    const list = new ReadyList(8, 1 << 20);
    const refs: WeakRef<QueueEntry>[] = [];
    const want: ReturnType<typeof fields>[] = [];
    // 20,000: past several packed chunks (they start at 4,096 entries and double).
    for (let seq = 1; seq <= 20_000; seq++) {
      // The first 8 fill the zone with their messages in memory; one behind it has not settled yet.
      const e = seq <= 8 ? QueueEntry.of(fakeMessage(), seq) : settled(seq);
      if (seq === 19_900) e.stored = false;
      expect(list.push(e)).toBe(seq <= 8);
      if (seq > 8 && seq < 19_900) refs.push(new WeakRef(e));
      want.push({ ...fields(e), ready: false });
    }
    expect(list.length).toBe(20_000);
    // WeakRefs hold their target to the end of the current job; collect after it.
    await new Promise((r) => setImmediate(r));
    gc();
    expect(refs.filter((r) => r.deref() !== undefined)).toEqual([]);
    // (The one that was not written holds those after it back as objects.)
    const got: ReturnType<typeof fields>[] = [];
    for (let e = list.shift(); e !== undefined; e = list.shift()) got.push(fields(e));
    expect(got.map((g) => g.seq)).toEqual(want.map((w) => w.seq));
    expect(got).toEqual(want);
    expect(list.length).toBe(0);
  });
});

function fakeMessage() {
  return { bodySize: 5, persistent: false } as unknown as Parameters<typeof QueueEntry.of>[0];
}
