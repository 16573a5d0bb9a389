/**
 * Whether this process's event loop is saturated: its utilisation over the last sampling interval.
 * One per process (every broker in the process shares the loop), sampled only while someone asked
 * recently, so an idle broker runs no timer.
 */
import { performance, type EventLoopUtilization } from 'node:perf_hooks';

const SAMPLE_MS = 50;
/**
 * Above this share of the interval spent working, the loop counts as saturated... A loop that works
 * 70% of the time is already the bottleneck of a consumer waiting on its prefetch window: the rest is
 * time spent waiting for the consumer's acks (acked-p100 went from 173k to 299k msg/s when pacing
 * started here instead of at 90%).
 */
const BUSY = 0.7;
/** ...and it still counts for this long after the last saturated interval (no flapping). */
const HOLD_MS = 1000;
/** Stop sampling after this many intervals without a question. */
const IDLE_SAMPLES = 20;

let last: EventLoopUtilization | undefined;
let busy = false;
let busyUntil = 0;
let timer: NodeJS.Timeout | undefined;
let unasked = 0;

function sample(): void {
  const now = performance.eventLoopUtilization();
  const t = Date.now();
  if (last !== undefined && performance.eventLoopUtilization(now, last).utilization > BUSY) busyUntil = t + HOLD_MS;
  busy = t < busyUntil;
  last = now;
  if (++unasked > IDLE_SAMPLES) {
    clearInterval(timer);
    timer = undefined;
    last = undefined;
    busy = false;
    busyUntil = 0;
  }
}

/** True when the event loop was saturated recently (false until measured). */
export function eventLoopBusy(): boolean {
  unasked = 0;
  if (timer === undefined) {
    last = performance.eventLoopUtilization();
    timer = setInterval(sample, SAMPLE_MS);
    timer.unref();
  }
  return busy;
}
