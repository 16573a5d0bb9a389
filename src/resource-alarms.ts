/**
 * Resource alarms, as RabbitMQ's `rabbit_alarm`, `vm_memory_monitor` and `rabbit_disk_monitor`: when
 * the process uses more memory than the high watermark, or the data directory's filesystem has less
 * free space than the limit, an alarm is set and connections that publish are blocked (see
 * `Connection`, which follows `rabbit_reader`'s throttle) until every alarm has cleared.
 *
 * The measurements go through `ResourceProbes`, which tests replace; tests can also set and clear an
 * alarm directly through `ResourceAlarms`.
 */
import { statfs } from 'node:fs/promises';
import { totalmem } from 'node:os';
import { dirname, resolve } from 'node:path';
import type { Logger } from 'pino';
import { exposedGc } from './util/force-gc.js';

export type AlarmResource = 'memory' | 'disk';

/** vm_memory_high_watermark: a fraction of the usable memory, or an absolute number of bytes. */
export type MemoryWatermark = { relative: number } | { absolute: number };

/** RabbitMQ's defaults: vm_memory_high_watermark 0.4, disk_free_limit 50000000 bytes. */
export const DEFAULT_MEMORY_WATERMARK: MemoryWatermark = { relative: 0.4 };
export const DEFAULT_DISK_FREE_LIMIT = 50_000_000;

/** vm_memory_monitor checks every second (DEFAULT_MEMORY_CHECK_INTERVAL in 3.10). */
const MEMORY_CHECK_INTERVAL_MS = 1000;
/** rabbit_disk_monitor: between 100 ms and 10 s, sooner the closer free space is to the limit. */
const DISK_MIN_CHECK_INTERVAL_MS = 100;
const DISK_MAX_CHECK_INTERVAL_MS = 10_000;
/** The fill rate rabbit_disk_monitor assumes when it picks the next check (250 MB/s, in bytes per ms). */
const DISK_FAST_RATE = 250 * 1000;

const MIB = 1024 * 1024;

/**
 * RabbitMQ's `parse_information_unit`: an integer, optionally followed by a unit: k K kiB KiB KIB kib
 * (1024), m M MiB MIB mib (1024²), g G GiB GIB gib (1024³), kB KB kb Kb (1000), MB mb Mb (1000²),
 * GB gb Gb (1000³). Undefined when it does not parse.
 */
export function parseInformationUnit(value: string): number | undefined {
  const m = /^([0-9]+)(kB|KB|MB|GB|kb|mb|gb|Kb|Mb|Gb|kiB|KiB|MiB|GiB|kib|mib|gib|KIB|MIB|GIB|k|K|m|M|g|G)?$/.exec(value);
  if (m === null) return undefined;
  const n = Number(m[1]);
  const unit = m[2];
  if (unit === undefined) return n;
  const multiplier: Record<string, number> = {
    k: 1024, K: 1024, kiB: 1024, KiB: 1024, KIB: 1024, kib: 1024,
    m: MIB, M: MIB, MiB: MIB, MIB: MIB, mib: MIB,
    g: 1024 * MIB, G: 1024 * MIB, GiB: 1024 * MIB, GIB: 1024 * MIB, gib: 1024 * MIB,
    kB: 1e3, KB: 1e3, kb: 1e3, Kb: 1e3,
    MB: 1e6, mb: 1e6, Mb: 1e6,
    GB: 1e9, gb: 1e9, Gb: 1e9,
  };
  return n * multiplier[unit]!;
}

/**
 * A watermark setting: a fraction from 0 to 1 (relative to the usable memory; 0 blocks all publishing,
 * as in RabbitMQ), or an absolute amount: an integer above 1 (bytes) or an amount with a unit ("2GB").
 * Undefined when it does not parse.
 */
export function parseMemoryWatermark(value: string): MemoryWatermark | undefined {
  if (/^(0|1|0?\.[0-9]+|[01]\.[0-9]*)$/.test(value)) {
    const f = Number(value);
    return f >= 0 && f <= 1 ? { relative: f } : undefined;
  }
  const bytes = parseInformationUnit(value);
  return bytes === undefined ? undefined : { absolute: bytes };
}

/** What the monitors measure; tests replace these. */
export interface ResourceProbes {
  /** Bytes of memory the process uses: its resident set size (RabbitMQ's `rss` strategy). */
  memoryUsed(): number;
  /** Bytes of memory the process may use: the machine's, or its cgroup's limit when lower. */
  totalMemory(): number;
  /** Bytes available to the broker on the filesystem holding `dir` (what `df -kP` reports as Available). */
  diskFree(dir: string): Promise<number>;
  /**
   * Runs a full garbage collection, so that `memoryUsed` soon measures live memory only (the process
   * gives freed pages back to the system shortly after a collection, not during it). Absent: alarms
   * follow `memoryUsed` as it is.
   */
  collectGarbage?(): void;
}

export const systemProbes: ResourceProbes = {
  memoryUsed: () => process.memoryUsage.rss(),
  totalMemory: () => {
    const total = totalmem();
    // Node 20 reports the cgroup limit here (2^64-ish when there is none).
    const constrained = typeof process.constrainedMemory === 'function' ? process.constrainedMemory() : undefined;
    return constrained !== undefined && constrained > 0 && constrained < total ? constrained : total;
  },
  diskFree: async (dir) => {
    const s = await statfs(dir);
    return s.bavail * s.bsize;
  },
  collectGarbage: () => exposedGc()?.(),
};

/**
 * The alarms in effect on this node. Setting or clearing one logs RabbitMQ's lines and tells the
 * listeners (the broker, which tells every connection).
 */
export class ResourceAlarms {
  private readonly active = new Set<AlarmResource>();
  private readonly listeners: (() => void)[] = [];

  constructor(
    private readonly log: Logger,
    private readonly nodeName: string,
  ) {}

  /** Whether any alarm is in effect (publishers are to be blocked). */
  get any(): boolean {
    return this.active.size > 0;
  }

  has(resource: AlarmResource): boolean {
    return this.active.has(resource);
  }

  /** The alarms in effect, in the order RabbitMQ lists them (its set of reasons yields disk first). */
  list(): AlarmResource[] {
    return (['disk', 'memory'] as const).filter((r) => this.active.has(r));
  }

  /** The reason in connection.blocked: rabbit_reader's "low on memory", "low on disk & memory". */
  blockedReason(): string {
    return `low on ${this.list().join(' & ')}`;
  }

  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  /** Sets an alarm; false if it was already set. */
  set(resource: AlarmResource): boolean {
    if (this.active.has(resource)) return false;
    this.active.add(resource);
    this.log.warn(
      { alarm: resource, node: this.nodeName },
      `${resource} resource limit alarm set on node ${this.nodeName}. *** Publishers will be blocked until this alarm clears ***`,
    );
    this.notify();
    return true;
  }

  /** Clears an alarm; false if it was not set. */
  clear(resource: AlarmResource): boolean {
    if (!this.active.delete(resource)) return false;
    this.log.warn({ alarm: resource, node: this.nodeName }, `${resource} resource limit alarm cleared on node ${this.nodeName}`);
    this.notify();
    return true;
  }

  private notify(): void {
    for (const l of this.listeners) l();
  }
}

/**
 * How long after a collection the process's memory is measured again: the pages a collection frees
 * are handed back to the system by V8's background sweeper, a few to a hundred milliseconds later
 * (a queue of 3 million dropped entries: RSS unchanged right after gc(), down 530 MB 100 ms later).
 */
const MEMORY_SETTLE_MS = 250;
/** While alarmed and still over the watermark, collections back off from the interval to this. */
export const MEMORY_ALARMED_MAX_COLLECT_MS = 32_000;

/**
 * vm_memory_monitor: compares the process's memory with the high watermark every second.
 *
 * Unlike an Erlang node, whose processes are collected one by one as they run, a Node process may
 * hold a lot of garbage for a long time: V8 collects when it allocates, and a broker whose publishers
 * are blocked allocates little. So memory over the watermark is not trusted at once (issue 19: after
 * a huge queue was deleted the alarm stayed on for 63 s, blocking every publisher): the monitor first
 * collects, measures again once the freed pages are back with the system, and sets the alarm only if
 * memory is still over. While the alarm is on and memory stays over, it keeps collecting, less and
 * less often (1 s, 2 s, 4 s... up to 32 s), so that an alarm held up by garbage does not last. The
 * first measurement, at start, is taken as it is (the process has just started).
 */
export class MemoryMonitor {
  /** The watermark in bytes. */
  readonly limit: number;
  readonly totalMemory: number;
  private alarmed = false;
  private timer: NodeJS.Timeout | undefined;
  private failing = false;
  /** A collection ran and its result is awaited before deciding on the alarm. */
  private settling: NodeJS.Timeout | undefined;
  /** While alarmed: when the next collection may run, and the current back-off. */
  private nextCollectAt = 0;
  private collectEveryMs: number;

  constructor(
    watermark: MemoryWatermark,
    private readonly alarms: ResourceAlarms,
    private readonly log: Logger,
    private readonly probes: ResourceProbes = systemProbes,
    private readonly intervalMs = MEMORY_CHECK_INTERVAL_MS,
    private readonly settleMs = MEMORY_SETTLE_MS,
  ) {
    this.totalMemory = probes.totalMemory();
    // interpret_limit: a fraction of the usable memory, or an absolute amount capped by it.
    this.limit = 'relative' in watermark ? Math.trunc(watermark.relative * this.totalMemory) : Math.min(watermark.absolute, this.totalMemory);
    this.collectEveryMs = intervalMs;
  }

  /** Checks now, then every interval until `stop()`. */
  start(): void {
    this.log.info(
      { limit: this.limit, total: this.totalMemory },
      `Memory high watermark set to ${Math.trunc(this.limit / MIB)} MiB (${this.limit} bytes) of ${Math.trunc(this.totalMemory / MIB)} MiB (${this.totalMemory} bytes) total`,
    );
    const used = this.measure();
    if (used !== undefined) this.update(used);
    this.timer = setInterval(() => this.check(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    if (this.settling !== undefined) clearTimeout(this.settling);
    this.settling = undefined;
  }

  check(): void {
    if (this.settling !== undefined) return;
    const used = this.measure();
    if (used === undefined) return;
    const collect = this.probes.collectGarbage;
    if (used <= this.limit || collect === undefined) {
      this.update(used);
      return;
    }
    if (this.alarmed) {
      if (Date.now() < this.nextCollectAt) return;
      this.collectEveryMs = Math.min(this.collectEveryMs * 2, MEMORY_ALARMED_MAX_COLLECT_MS);
      this.nextCollectAt = Date.now() + this.collectEveryMs;
    }
    collect.call(this.probes);
    this.settling = setTimeout(() => {
      this.settling = undefined;
      const after = this.measure();
      if (after === undefined) return;
      if (!this.alarmed && after <= this.limit) {
        this.log.debug({ before: used, after, allowed: this.limit }, 'memory over the high watermark was garbage: collected, no alarm');
      }
      this.update(after);
    }, this.settleMs);
    this.settling.unref();
  }

  private measure(): number | undefined {
    try {
      const used = this.probes.memoryUsed();
      this.failing = false;
      return used;
    } catch (err) {
      if (!this.failing) this.log.warn({ err }, 'cannot measure memory use');
      this.failing = true;
      return undefined;
    }
  }

  private update(used: number): void {
    const alarmed = used > this.limit;
    if (alarmed === this.alarmed) return;
    this.alarmed = alarmed;
    this.log.info({ used, allowed: this.limit }, `vm_memory_high_watermark ${alarmed ? 'set' : 'clear'}. Memory used:${used} allowed:${this.limit}`);
    if (alarmed) {
      this.collectEveryMs = this.intervalMs;
      this.nextCollectAt = Date.now() + this.collectEveryMs;
      this.alarms.set('memory');
    } else {
      this.alarms.clear('memory');
    }
  }
}

/**
 * rabbit_disk_monitor: compares the free space of the data directory's filesystem with the limit,
 * every 10 s, more often as free space nears the limit. A data directory that does not exist yet
 * (durability `memory`) is measured on the filesystem that would hold it.
 */
export class DiskMonitor {
  private alarmed = false;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private target: string | undefined;
  private failing = false;
  /** The last measurement, bytes. */
  free: number | undefined;

  constructor(
    private readonly dir: string,
    readonly limit: number,
    private readonly alarms: ResourceAlarms,
    private readonly log: Logger,
    private readonly probes: ResourceProbes = systemProbes,
    private readonly minIntervalMs = DISK_MIN_CHECK_INTERVAL_MS,
    private readonly maxIntervalMs = DISK_MAX_CHECK_INTERVAL_MS,
  ) {}

  /** Checks once (resolved when done), then keeps checking until `stop()`. */
  async start(): Promise<void> {
    this.log.info({ dir: this.dir }, 'Enabling free disk space monitoring');
    this.log.info({ limit: this.limit }, `Disk free limit set to ${Math.trunc(this.limit / 1_000_000)}MB`);
    await this.check();
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  async check(): Promise<void> {
    let free: number;
    try {
      this.target ??= await this.existingAncestor(resolve(this.dir));
      free = await this.probes.diskFree(this.target);
      this.failing = false;
    } catch (err) {
      if (!this.failing) this.log.warn({ err, dir: this.target ?? this.dir }, 'Free disk space monitor cannot measure free space');
      this.failing = true;
      this.target = undefined;
      return;
    }
    if (this.stopped) return;
    this.free = free;
    const alarmed = free < this.limit;
    if (alarmed === this.alarmed) return;
    this.alarmed = alarmed;
    this.log.info({ free, limit: this.limit }, `Free disk space is ${alarmed ? 'insufficient' : 'sufficient'}. Free bytes: ${free}. Limit: ${this.limit}`);
    if (alarmed) this.alarms.set('disk');
    else this.alarms.clear('disk');
  }

  /** RabbitMQ's interval/1: the longest while alarmed, else the time to fill the margin at 250 MB/s, twice. */
  private nextInterval(): number {
    if (this.alarmed || this.free === undefined) return this.maxIntervalMs;
    const ideal = (2 * (this.free - this.limit)) / DISK_FAST_RATE;
    return Math.trunc(Math.max(this.minIntervalMs, Math.min(this.maxIntervalMs, ideal)));
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.check().finally(() => this.schedule());
    }, this.nextInterval());
    this.timer.unref();
  }

  /** The directory itself, or the nearest ancestor that exists (where it would be created). */
  private async existingAncestor(dir: string): Promise<string> {
    for (let d = dir; ; ) {
      try {
        await statfs(d);
        if (d !== dir) this.log.info({ dir, measured: d }, 'data directory does not exist yet: measuring free space where it would be created');
        return d;
      } catch (err) {
        const parent = dirname(d);
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || parent === d) throw err;
        d = parent;
      }
    }
  }
}
