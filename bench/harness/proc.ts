/**
 * What /proc says about a broker: resident memory, CPU time and bytes written, summed over the
 * process and its descendants (RabbitMQ is a shell script, beam.smp and erl_child_setup; Warren is
 * one node process). Linux only, as the harness is.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';

const CLK_TCK = 100;

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** The process and every descendant of it alive now. */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = read(`/proc/${name}/stat`);
    if (stat === undefined) continue;
    // The command name may contain spaces and parentheses: fields start after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ppid = Number(rest[1]);
    const list = children.get(ppid);
    if (list) list.push(Number(name));
    else children.set(ppid, [Number(name)]);
  }
  const out: number[] = [];
  const walk = (pid: number) => {
    out.push(pid);
    for (const c of children.get(pid) ?? []) walk(c);
  };
  if (read(`/proc/${root}/stat`) !== undefined) walk(root);
  return out;
}

function statusField(pid: number, field: string): number {
  const s = read(`/proc/${pid}/status`);
  if (s === undefined) return 0;
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(s);
  return m ? Number(m[1]) * 1024 : 0;
}

/** Resident set size in bytes, summed over the pids. */
export function rss(pids: readonly number[]): number {
  let n = 0;
  for (const p of pids) n += statusField(p, 'VmRSS');
  return n;
}

/** Peak resident set size since the last resetPeak (or the start), summed over the pids. */
export function peakRss(pids: readonly number[]): number {
  let n = 0;
  for (const p of pids) n += statusField(p, 'VmHWM');
  return n;
}

/** Resets VmHWM to the current RSS (writing 5 to clear_refs, Linux 4.0+; needs the right to). */
export function resetPeak(pids: readonly number[]): void {
  for (const p of pids) {
    try {
      writeFileSync(`/proc/${p}/clear_refs`, '5');
    } catch {
      // Not ours to reset: the sampled peak still holds.
    }
  }
}

/** User + system CPU time in seconds, summed over the pids. */
export function cpuSeconds(pids: readonly number[]): number {
  let ticks = 0;
  for (const p of pids) {
    const stat = read(`/proc/${p}/stat`);
    if (stat === undefined) continue;
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticks += Number(rest[11]) + Number(rest[12]);
  }
  return ticks / CLK_TCK;
}

/** Bytes the pids caused to be sent to storage (write_bytes of /proc/<pid>/io). */
export function writeBytes(pids: readonly number[]): number {
  let n = 0;
  for (const p of pids) {
    const io = read(`/proc/${p}/io`);
    const m = io && /^write_bytes:\s+(\d+)/m.exec(io);
    if (m) n += Number(m[1]);
  }
  return n;
}

/** The 1-minute load average. */
export function loadAverage(): number {
  return Number((read('/proc/loadavg') ?? '0').split(' ')[0]);
}

/** Busy CPU time of the whole machine in seconds (all but idle and iowait, from /proc/stat). */
export function machineBusySeconds(): number {
  const line = (read('/proc/stat') ?? '').split('\n')[0] ?? '';
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
  return (total - (f[3] ?? 0) - (f[4] ?? 0)) / CLK_TCK;
}

export function machine(): { cores: number; cpu: string; memGiB: number; kernel: string } {
  const mem = read('/proc/meminfo') ?? '';
  const total = /^MemTotal:\s+(\d+) kB/m.exec(mem);
  return {
    cores: cpus().length,
    cpu: cpus()[0]?.model ?? '?',
    memGiB: total ? Math.round(Number(total[1]) / 1024 / 1024) : 0,
    kernel: (read('/proc/sys/kernel/osrelease') ?? '?').trim(),
  };
}

/**
 * Samples a broker's memory and CPU while a measurement runs: RSS every `everyMs` (the tree is
 * re-listed every 20 samples so that RabbitMQ's helper processes count), and the kernel's own peak
 * (VmHWM, reset at the start) to catch what falls between samples.
 */
export class Sampler {
  private timer: NodeJS.Timeout | undefined;
  private pids: number[] = [];
  private peak = 0;
  private cpu0 = 0;
  private t0 = 0;
  private io0 = 0;
  private busy0 = 0;
  private self0: NodeJS.CpuUsage | undefined;

  constructor(private readonly root: number, private readonly everyMs = 50) {}

  start(): void {
    this.pids = processTree(this.root);
    resetPeak(this.pids);
    this.peak = rss(this.pids);
    this.cpu0 = cpuSeconds(this.pids);
    this.io0 = writeBytes(this.pids);
    this.busy0 = machineBusySeconds();
    this.self0 = process.cpuUsage();
    this.t0 = performance.now();
    let ticks = 0;
    this.timer = setInterval(() => {
      // Listing the tree scans all of /proc (about a millisecond); reading a few status files is cheap.
      if (++ticks % 20 === 0) this.pids = processTree(this.root);
      this.peak = Math.max(this.peak, rss(this.pids));
    }, this.everyMs);
    this.timer.unref();
  }

  /**
   * Peak RSS (bytes); the broker's CPU use over the period (1.0 = one core busy); the machine's, all
   * processes together, and the harness's own main process's, over the same period; bytes written.
   */
  stop(): { peakRss: number; cpu: number; machineCpu: number; harnessCpu: number; writeBytes: number } {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    const pids = processTree(this.root);
    const peak = Math.max(this.peak, rss(pids), peakRss(pids));
    const seconds = (performance.now() - this.t0) / 1000;
    const self = process.cpuUsage(this.self0);
    const rate = (x: number) => (seconds > 0 ? x / seconds : 0);
    return {
      peakRss: peak,
      cpu: rate(cpuSeconds(pids) - this.cpu0),
      machineCpu: rate(machineBusySeconds() - this.busy0),
      harnessCpu: rate((self.user + self.system) / 1e6),
      writeBytes: writeBytes(pids) - this.io0,
    };
  }
}
