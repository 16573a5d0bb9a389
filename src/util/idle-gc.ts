/**
 * Gives memory back after a burst. Socket reads and outbound slabs are Buffers whose memory lives
 * outside the V8 heap; it is freed only when a garbage collection finds their small wrappers dead.
 * A broker's heap stays small, so after a burst V8 may see no reason to collect for a long time, and
 * a broker at rest was seen holding a gigabyte of dead buffers (RSS 1.1 GB, 66 MB after one full GC).
 *
 * So the standalone broker checks every second: when more than RECLAIM_BYTES of buffer memory has
 * built up since the last collection and the event loop was mostly idle over the interval (or four
 * times that while busy, with a small heap), it runs a full collection (a few milliseconds). Only the CLI turns this on: a process that
 * embeds Warren owns its heap and its collector.
 *
 * Memory released in the heap counts too, when the broker says so (`noteReleased`): a deleted or
 * purged queue of millions of messages leaves that much garbage in one go, and a broker at rest would
 * otherwise keep it resident for as long as nothing allocates (issue 19: over a minute).
 */
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import { exposedGc } from './force-gc.js';

/** Bytes the broker reported as just released (dropped queue entries), since the last collection. */
let released = 0;

/** Tells the idle collector that about `bytes` of memory became garbage at once. */
export function noteReleased(bytes: number): void {
  released += bytes;
}

const CHECK_MS = 1000;
const RECLAIM_BYTES = 64 * 1024 * 1024;
/** A loop busy less than this share of the interval is quiet: a collection there costs nobody. */
const QUIET = 0.5;
/**
 * A busy loop is interrupted only for much more dead buffer memory, and only while the heap is small
 * enough for a full collection to take a few milliseconds (a big backlog is left to V8's own
 * incremental collector).
 */
const BUSY_RECLAIM_FACTOR = 4;
const BUSY_MAX_HEAP = 64 * 1024 * 1024;

export interface IdleGcOptions {
  checkMs?: number;
  reclaimBytes?: number;
  /** Called after each collection with the buffer memory there was before it. */
  onCollect?: (bufferBytesBefore: number) => void;
}

/** Starts the checks; returns the function that stops them. */
export function startIdleGc({ checkMs = CHECK_MS, reclaimBytes = RECLAIM_BYTES, onCollect }: IdleGcOptions = {}): () => void {
  const gc = exposedGc();
  if (gc === undefined) return () => {};
  let last: EventLoopUtilization = performance.eventLoopUtilization();
  let baseline = process.memoryUsage().arrayBuffers;
  const timer = setInterval(() => {
    const now = performance.eventLoopUtilization();
    const busy = performance.eventLoopUtilization(now, last).utilization;
    last = now;
    const mem = process.memoryUsage();
    const buffers = mem.arrayBuffers;
    // The lowest level seen since the last collection: V8's sweeper releases backing stores a little
    // after a collection, so the level right after one reads high.
    if (buffers < baseline) baseline = buffers;
    const grown = buffers - baseline + released;
    const worth = busy <= QUIET ? grown >= reclaimBytes : grown >= reclaimBytes * BUSY_RECLAIM_FACTOR && mem.heapUsed < BUSY_MAX_HEAP;
    if (!worth) return;
    gc();
    baseline = buffers;
    released = 0;
    onCollect?.(buffers);
  }, checkMs);
  timer.unref();
  return () => clearInterval(timer);
}
