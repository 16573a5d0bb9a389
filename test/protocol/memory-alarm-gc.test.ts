/**
 * The memory alarm is not raised by garbage (issue 19: after a huge queue was deleted, RSS went over
 * the watermark with collectable garbage and the alarm blocked every publisher for 63 s). Over the
 * watermark, the monitor first collects and measures again once the freed pages are back; while
 * alarmed it keeps collecting, backing off. Probes are injected: `used` is what memoryUsed reports,
 * and a collection brings it down to `live`. Fake timers drive the interval and the settle delay.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../src/log.js';
import { MEMORY_ALARMED_MAX_COLLECT_MS, MemoryMonitor, ResourceAlarms, type ResourceProbes } from '../../src/resource-alarms.js';

const INTERVAL = 1000;
const SETTLE = 250;

function setup() {
  const state = { used: 100, live: 100, collections: 0 };
  const probes: ResourceProbes = {
    memoryUsed: () => state.used,
    totalMemory: () => 10_000,
    diskFree: async () => 1e15,
    collectGarbage: () => {
      state.collections++;
      state.used = state.live;
    },
  };
  const lines: string[] = [];
  const log = createLogger('debug', { write: (s: string) => lines.push((JSON.parse(s) as { msg: string }).msg) });
  const alarms = new ResourceAlarms(log, 'warren@test');
  const monitor = new MemoryMonitor({ absolute: 1000 }, alarms, log, probes, INTERVAL, SETTLE);
  return { state, alarms, monitor, lines };
}

describe('memory alarm and garbage', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('memory over the watermark that a collection frees raises no alarm', () => {
    const { state, alarms, monitor, lines } = setup();
    monitor.start();
    state.used = 1500; // garbage: live memory is still 100
    vi.advanceTimersByTime(INTERVAL);
    expect(state.collections).toBe(1);
    expect(alarms.any).toBe(false);
    vi.advanceTimersByTime(SETTLE);
    expect(alarms.any).toBe(false);
    expect(lines).toContain('memory over the high watermark was garbage: collected, no alarm');
    expect(lines.some((l) => l.includes('alarm set'))).toBe(false);
    monitor.stop();
  });

  it('live memory over the watermark raises the alarm once the collection is measured', () => {
    const { state, alarms, monitor } = setup();
    monitor.start();
    state.used = state.live = 1500;
    vi.advanceTimersByTime(INTERVAL);
    expect(state.collections).toBe(1);
    expect(alarms.any).toBe(false);
    vi.advanceTimersByTime(SETTLE);
    expect(alarms.list()).toEqual(['memory']);
    monitor.stop();
  });

  it('while alarmed it collects again, less and less often, and clears once the garbage is gone', () => {
    const { state, alarms, monitor } = setup();
    monitor.start();
    state.used = state.live = 1500;
    vi.advanceTimersByTime(INTERVAL + SETTLE);
    expect(alarms.list()).toEqual(['memory']);
    // Still over, not collectable: collections at growing intervals, at most one per 32 s in the end.
    const at: number[] = [];
    let seen = state.collections;
    for (let t = 0; t < 200_000; t += INTERVAL) {
      vi.advanceTimersByTime(INTERVAL);
      if (state.collections > seen) at.push(t);
      seen = state.collections;
    }
    const gaps = at.slice(1).map((t, i) => t - at[i]!);
    expect(gaps.length).toBeGreaterThan(4);
    for (let i = 1; i < gaps.length; i++) expect(gaps[i]!).toBeGreaterThanOrEqual(gaps[i - 1]!);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(MEMORY_ALARMED_MAX_COLLECT_MS + INTERVAL);
    expect(alarms.list()).toEqual(['memory']);
    // The queue that held it is deleted: its memory is garbage now, and the next collection finds it.
    state.live = 100;
    state.used = 1500;
    vi.advanceTimersByTime(MEMORY_ALARMED_MAX_COLLECT_MS + INTERVAL + SETTLE);
    expect(alarms.any).toBe(false);
    monitor.stop();
  });
});
