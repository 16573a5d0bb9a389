/**
 * After a burst of buffer allocations and a quiet event loop, the idle collector frees the dead
 * buffers' memory instead of waiting for V8 to feel pressure.
 */
import { describe, expect, it } from 'vitest';
import { startIdleGc } from '../../src/util/idle-gc.js';

function burst(): number {
  const held: Buffer[] = [];
  for (let i = 0; i < 96; i++) held.push(Buffer.allocUnsafe(1024 * 1024));
  return held.length;
}

describe('idle GC', () => {
  it('collects dead buffers once the loop is quiet', async () => {
    const collections: number[] = [];
    const stop = startIdleGc({ checkMs: 100, reclaimBytes: 48 * 1024 * 1024, onCollect: (b) => collections.push(b) });
    try {
      await new Promise((r) => setTimeout(r, 150));
      const before = process.memoryUsage().arrayBuffers;
      burst();
      expect(process.memoryUsage().arrayBuffers - before).toBeGreaterThanOrEqual(90 * 1024 * 1024);
      const deadline = Date.now() + 5000;
      while (collections.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(collections.length).toBeGreaterThan(0);
      // The sweeper releases backing stores shortly after the collection.
      while (process.memoryUsage().arrayBuffers - before > 32 * 1024 * 1024 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(32 * 1024 * 1024);
    } finally {
      stop();
    }
  });

  it('interrupts a busy loop only for four times as much', async () => {
    const collections: number[] = [];
    const stop = startIdleGc({ checkMs: 100, reclaimBytes: 32 * 1024 * 1024, onCollect: (b) => collections.push(b) });
    try {
      const keep: Buffer[] = [];
      const end = Date.now() + 450;
      let allocated = 0;
      // Busy the whole time, in slices so the check timer can run; 48 MiB of dead buffers in all:
      // enough for a quiet loop's collection, not for a busy one's.
      while (Date.now() < end) {
        const sliceEnd = Date.now() + 40;
        while (Date.now() < sliceEnd) {
          if (allocated < 48 * 1024 * 1024) {
            keep.push(Buffer.allocUnsafe(1024 * 1024));
            allocated += 1024 * 1024;
          }
        }
        keep.length = 0;
        await new Promise((r) => setImmediate(r));
      }
      expect(allocated).toBe(48 * 1024 * 1024);
      expect(collections).toEqual([]);
    } finally {
      stop();
    }
  });
});
