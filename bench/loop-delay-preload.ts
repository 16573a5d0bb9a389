/**
 * Loaded into a broker under measurement (`node --import .../loop-delay-preload.js bin/warren.js`,
 * see canary.ts): records the event loop's delay and the garbage collector's pauses, and on SIGUSR2
 * prints one line to stderr and starts over:
 *
 *   loop-delay p50 0.0 ms, p99 0.0 ms, max 0.0 ms; gc: n minor (total, max), n major (total, max), ...
 */
import { constants, monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';

const histogram = monitorEventLoopDelay({ resolution: 1 });
histogram.enable();

type GcTotals = { count: number; totalMs: number; maxMs: number };
const KINDS: Record<number, string> = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
};
let gc = new Map<string, GcTotals>();
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    const kind = KINDS[(e as unknown as { detail?: { kind?: number } }).detail?.kind ?? -1] ?? 'other';
    const t = gc.get(kind) ?? { count: 0, totalMs: 0, maxMs: 0 };
    t.count++;
    t.totalMs += e.duration;
    t.maxMs = Math.max(t.maxMs, e.duration);
    gc.set(kind, t);
  }
}).observe({ entryTypes: ['gc'] });

process.on('SIGUSR2', () => {
  const ms = (ns: number) => `${(ns / 1e6).toFixed(1)} ms`;
  const gcText = [...gc].map(([k, t]) => `${t.count} ${k} (total ${t.totalMs.toFixed(0)} ms, max ${t.maxMs.toFixed(1)} ms)`).join(', ');
  process.stderr.write(`loop-delay p50 ${ms(histogram.percentile(50))}, p99 ${ms(histogram.percentile(99))}, max ${ms(histogram.max)}; gc: ${gcText || 'none'}\n`);
  histogram.reset();
  gc = new Map();
});
