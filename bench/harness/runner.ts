/**
 * One round of one scenario against one broker: set up fresh queues over a control connection, start
 * the generator's worker processes, measure, verify the message counts, tear down.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  encodeExchangeDeclare,
  encodeExchangeDelete,
  encodeQueueBind,
  encodeQueueDeclare,
  encodeQueueDelete,
  Method,
  type QueueDeclareOk,
} from '../../src/protocol/generated/methods.js';
import type { BrokerHandle } from './brokers.js';
import { LeanConnection, nowMs } from './client.js';
import { rss, processTree, Sampler } from './proc.js';
import type { Scenario } from './scenarios.js';
import type { FromWorker, RoleCounts, RoleSpec, RoleWindow, ToWorker } from './worker.js';

export interface Timing {
  warmupMs: number;
  durationMs: number;
  /** Longest wait for consumers to receive what was published, after the measurement. */
  drainTimeoutMs: number;
  settleMs: number;
}

export interface RoundResult {
  slot: string;
  round: number;
  /** The scenario's figures, by name (see FIGURES in report.ts). */
  figures: Record<string, number>;
  /** Message accounting, when the scenario moves messages. */
  counts?: { published: number; expected: number; delivered: number; ready: number; confirmed: number; nacked: number; lost: number };
  notes: string[];
  error?: string;
}

const workerPath = fileURLToPath(new URL('./worker.js', import.meta.url));
const workers = new Set<ChildProcess>();

/** Kills every worker still alive (failures, interrupts). */
export function killWorkers(): void {
  for (const w of workers) w.kill('SIGKILL');
  workers.clear();
}

/** A generator process and its IPC. */
class WorkerProc {
  private readonly waiters = new Map<FromWorker['ev'], ((m: FromWorker) => void)[]>();
  private failure: Error | undefined;
  private readonly failed: Promise<never>;

  private constructor(private readonly child: ChildProcess) {
    let reject!: (e: Error) => void;
    this.failed = new Promise<never>((_, r) => (reject = r));
    this.failed.catch(() => undefined);
    child.on('message', (m: FromWorker) => {
      if (m.ev === 'error') {
        this.failure = new Error(`generator: ${m.message}`);
        reject(this.failure);
        return;
      }
      const list = this.waiters.get(m.ev);
      const w = list?.shift();
      w?.(m);
    });
    child.once('exit', (code, signal) => {
      workers.delete(child);
      this.failure ??= new Error(`generator exited (${code ?? signal})`);
      reject(this.failure);
    });
  }

  static async start(roles: RoleSpec[]): Promise<{ proc: WorkerProc; openMs: number }> {
    const child = fork(workerPath, [], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    workers.add(child);
    const proc = new WorkerProc(child);
    const ready = proc.next('ready');
    proc.send({ cmd: 'init', roles });
    const m = (await proc.within(ready, 180_000, 'connecting')) as { openMs: number };
    return { proc, openMs: m.openMs };
  }

  send(m: ToWorker): void {
    if (this.child.connected) this.child.send(m);
  }

  next<E extends FromWorker['ev']>(ev: E): Promise<Extract<FromWorker, { ev: E }>> {
    return new Promise((resolve) => {
      const list = this.waiters.get(ev) ?? [];
      list.push(resolve as (m: FromWorker) => void);
      this.waiters.set(ev, list);
    });
  }

  async within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`generator timed out ${what}`)), ms)));
    try {
      return await Promise.race([p, this.failed, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async poll(): Promise<RoleCounts[]> {
    const p = this.next('poll');
    this.send({ cmd: 'poll' });
    return (await this.within(p, 10_000, 'answering a poll')).roles;
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null || !this.child.connected) return;
    const exited = new Promise<void>((r) => this.child.once('exit', () => r()));
    this.send({ cmd: 'close' });
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

async function declareQueue(ctl: LeanConnection, name: string, durable: boolean): Promise<void> {
  await ctl.call((w) => encodeQueueDeclare(w, 1, { queue: name, passive: false, durable, exclusive: false, autoDelete: false, nowait: false, arguments: new Map() }), Method.QueueDeclareOk);
}

async function messageCount(ctl: LeanConnection, name: string): Promise<number> {
  const ok = (await ctl.call((w) => encodeQueueDeclare(w, 1, { queue: name, passive: true }), Method.QueueDeclareOk)) as QueueDeclareOk;
  return ok.messageCount;
}

interface Topology {
  exchange: string;
  queues: string[];
  /** Routing keys the publishers cycle through. */
  keys: string[];
  /** Deliveries per publish. */
  factor: number;
}

/** Declares the scenario's queues, exchange and bindings under names no earlier round used. */
async function setUp(ctl: LeanConnection, s: Scenario, tag: string): Promise<Topology> {
  const q = s.params;
  const queues = Array.from({ length: q.queues }, (_, i) => `bench.${tag}.q${i}`);
  await Promise.all(queues.map((name) => declareQueue(ctl, name, q.persistent)));
  if (q.exchange === 'default') return { exchange: '', queues, keys: queues, factor: 1 };
  const exchange = `bench.${tag}.${q.exchange}`;
  await ctl.call((w) => encodeExchangeDeclare(w, 1, { exchange, type: q.exchange, passive: false, durable: false, autoDelete: false, internal: false, nowait: false, arguments: new Map() }), Method.ExchangeDeclareOk);
  if (q.exchange === 'fanout') {
    await Promise.all(queues.map((queue) => ctl.call((w) => encodeQueueBind(w, 1, { queue, exchange, routingKey: '', nowait: false, arguments: new Map() }), Method.QueueBindOk)));
    return { exchange, queues, keys: [''], factor: queues.length };
  }
  // Topic: binding i goes to queue i mod n; a third exact, a third 't.i.*', a third 't.i.#'. The key
  // 't.i.x' matches exactly binding i, so every publish is delivered once.
  const binds: Promise<unknown>[] = [];
  for (let i = 0; i < q.bindings; i++) {
    const pattern = i % 3 === 0 ? `t.${i}.x` : i % 3 === 1 ? `t.${i}.*` : `t.${i}.#`;
    const queue = queues[i % queues.length]!;
    binds.push(ctl.call((w) => encodeQueueBind(w, 1, { queue, exchange, routingKey: pattern, nowait: false, arguments: new Map() }), Method.QueueBindOk));
  }
  await Promise.all(binds);
  const keys: string[] = [];
  for (let j = 0; j < q.bindings; j++) keys.push(`t.${(j * 7919) % q.bindings}.x`);
  return { exchange, queues, keys, factor: 1 };
}

async function tearDown(ctl: LeanConnection, t: Topology): Promise<void> {
  await Promise.all(t.queues.map((queue) => ctl.call((w) => encodeQueueDelete(w, 1, { queue, ifUnused: false, ifEmpty: false, nowait: false }), Method.QueueDeleteOk)));
  if (t.exchange !== '') await ctl.call((w) => encodeExchangeDelete(w, 1, { exchange: t.exchange, ifUnused: false, nowait: false }), Method.ExchangeDeleteOk);
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

function windowRate(ws: RoleWindow[], field: 'n' | 'c'): number {
  let r = 0;
  for (const w of ws) {
    const dt = (w.at2 - w.at1) / 1000;
    if (dt > 0) r += ((field === 'n' ? w.n2 - w.n1 : w.c2 - w.c1) / dt);
  }
  return r;
}

/** Splits roles over `procs` processes. */
function spread<T>(xs: T[], procs: number): T[][] {
  const out: T[][] = Array.from({ length: Math.max(1, Math.min(procs, xs.length)) }, () => []);
  xs.forEach((x, i) => out[i % out.length]!.push(x));
  return out.filter((g) => g.length > 0);
}

export interface GeneratorLayout {
  /** Processes for publishers and for consumers. */
  publisherProcs: number;
  consumerProcs: number;
}

/** Throughput and latency: publishers and consumers for a fixed time, then the accounting. */
export async function flowRound(b: BrokerHandle, s: Scenario, round: number, timing: Timing, layout: GeneratorLayout): Promise<RoundResult> {
  const q = s.params;
  const notes: string[] = [];
  const tag = `${s.name}.${b.slot}.${round}.${process.pid}`;
  const ctl = await LeanConnection.open(b.endpoint, 'bench-control');
  const procs: WorkerProc[] = [];
  const sampler = b.pid !== undefined ? new Sampler(b.pid) : undefined;
  try {
    const topo = await setUp(ctl, s, tag);
    const consumerSpecs: RoleSpec[] = Array.from({ length: q.consumers }, (_, i) => ({
      kind: 'consumer',
      endpoint: b.endpoint,
      queue: topo.queues[i % topo.queues.length]!,
      prefetch: q.prefetch,
      noAck: q.noAck,
      latency: s.kind === 'latency',
    }));
    const publisherSpecs: RoleSpec[] = Array.from({ length: q.publishers }, (_, i) => ({
      kind: 'publisher',
      endpoint: b.endpoint,
      exchange: topo.exchange,
      routingKeys: topo.exchange === '' ? [topo.keys[i % topo.keys.length]!] : topo.keys,
      size: q.size,
      persistent: q.persistent,
      confirmWindow: q.confirmWindow,
      rate: q.rate,
      total: 0,
    }));
    const consumerProcs = (await Promise.all(spread(consumerSpecs, layout.consumerProcs).map((roles) => WorkerProc.start(roles)))).map((x) => x.proc);
    procs.push(...consumerProcs);
    const publisherProcs = (await Promise.all(spread(publisherSpecs, layout.publisherProcs).map((roles) => WorkerProc.start(roles)))).map((x) => x.proc);
    procs.push(...publisherProcs);

    sampler?.start();
    const t1 = nowMs() + 20 + timing.warmupMs;
    const t2 = t1 + timing.durationMs;
    const windows = procs.map((p) => p.next('window'));
    for (const p of procs) p.send({ cmd: 'go', t1, t2 });
    const results = await Promise.all(windows.map((w, i) => procs[i]!.within(w, timing.warmupMs + timing.durationMs + 30_000, 'measuring')));
    const roleWindows = results.flatMap((r) => r.roles);
    const consumerWindows = roleWindows.filter((w) => w.kind === 'consumer');
    const publisherWindows = roleWindows.filter((w) => w.kind === 'publisher');
    const genCpu = sum(results.map((r) => r.cpu));

    // Accounting: everything the publishers wrote must reach the consumers (or still be queued).
    let pubCounts: RoleCounts[] = [];
    for (const deadline = nowMs() + 10_000; nowMs() < deadline; await sleep(20)) {
      pubCounts = (await Promise.all(publisherProcs.map((p) => p.poll()))).flat();
      if (pubCounts.every((c) => c.done)) break;
    }
    const published = sum(pubCounts.map((c) => c.count));
    const expected = q.consumers > 0 ? published * topo.factor : 0;
    // Let the consumers take what is still on its way (for a while: a broker without flow control
    // may hold a large backlog), then cancel them: after cancel-ok nothing more is delivered, and what
    // they did not get is still in the queues, so delivered + queued must equal what was published.
    const consumerCounts = async () => {
      const counts = (await Promise.all(consumerProcs.map((p) => p.poll()))).flat();
      const errs = counts.filter((c) => c.error);
      if (errs.length > 0) throw new Error(`consumer failed: ${errs[0]!.error}`);
      return sum(counts.map((c) => c.count));
    };
    let delivered = 0;
    let lastChange = nowMs();
    for (const deadline = nowMs() + timing.drainTimeoutMs; nowMs() < deadline; await sleep(50)) {
      const d = await consumerCounts();
      if (d !== delivered) lastChange = nowMs();
      delivered = d;
      if (delivered >= expected || nowMs() - lastChange > 1000) break;
    }
    if (delivered < expected) {
      await Promise.all(consumerProcs.map(async (p) => {
        const done = p.next('cancelled');
        p.send({ cmd: 'cancel' });
        await p.within(done, 30_000, 'cancelling');
      }));
    }
    let confirmed = 0;
    let nacked = 0;
    if (q.confirmWindow > 0) {
      for (const deadline = nowMs() + 10_000; nowMs() < deadline; await sleep(20)) {
        pubCounts = (await Promise.all(publisherProcs.map((p) => p.poll()))).flat();
        confirmed = sum(pubCounts.map((c) => c.confirmed));
        nacked = sum(pubCounts.map((c) => c.nacked));
        if (confirmed + nacked >= published) break;
      }
    }
    const pubErr = pubCounts.find((c) => c.error);
    if (pubErr) throw new Error(`publisher failed: ${pubErr.error}`);
    if (pubCounts.some((c) => c.blocked)) notes.push('publisher was blocked (connection.blocked) at the end');
    // Queued messages: without consumers they should all be there; with them, the ones not delivered.
    // Both counts can still move for a moment: RabbitMQ's channel may pass on deliveries the queue
    // sent before it saw the cancel after cancel-ok, and publishes may still be on their way from
    // the channel to the queue.
    let ready = 0;
    for (const deadline = nowMs() + 10_000; ; await sleep(100)) {
      if (q.consumers > 0) delivered = await consumerCounts();
      ready = sum(await Promise.all(topo.queues.map((name) => messageCount(ctl, name))));
      if ((q.consumers > 0 ? delivered + ready >= expected : ready >= published) || nowMs() > deadline) break;
    }
    const usage = sampler?.stop();
    const lost = q.consumers > 0 ? expected - delivered - ready : published - ready;
    if (lost !== 0) notes.push(lost > 0 ? `${lost} messages unaccounted for (published ${published}, delivered ${delivered}, queued ${ready})` : `${-lost} more messages than published`);
    if (q.confirmWindow > 0 && confirmed + nacked < published) notes.push(`${published - confirmed - nacked} publishes never confirmed`);
    if (nacked > 0) notes.push(`${nacked} publishes nacked`);

    const figures: Record<string, number> = {};
    if (s.kind === 'latency') {
      const lat = consumerWindows.map((w) => w.latency!).filter((l) => l && l.count > 0);
      if (lat.length === 0) throw new Error('no latency samples');
      // One consumer in the latency scenarios; with several, the worst of each percentile.
      figures['p50 ms'] = Math.max(...lat.map((l) => l.p50)) / 1000;
      figures['p99 ms'] = Math.max(...lat.map((l) => l.p99)) / 1000;
      figures['p99.9 ms'] = Math.max(...lat.map((l) => l.p999)) / 1000;
      figures['max ms'] = Math.max(...lat.map((l) => l.max)) / 1000;
      figures['delivered msg/s'] = windowRate(consumerWindows, 'n');
    } else {
      if (q.consumers > 0) figures['delivered msg/s'] = windowRate(consumerWindows, 'n');
      figures['published msg/s'] = windowRate(publisherWindows, 'n');
      if (q.confirmWindow > 0) figures['confirmed msg/s'] = windowRate(publisherWindows, 'c');
    }
    if (usage) {
      figures['broker CPU (cores)'] = usage.cpu;
      figures['RSS peak MiB'] = usage.peakRss / 2 ** 20;
      if (q.persistent) figures['disk writes MiB'] = usage.writeBytes / 2 ** 20;
    }
    figures['generator CPU (cores)'] = genCpu;
    // What the rest of the machine took meanwhile: on a shared machine, the noise in these figures.
    if (usage) figures['other processes CPU (cores)'] = Math.max(0, usage.machineCpu - usage.cpu - genCpu - usage.harnessCpu);

    await Promise.all(procs.map((p) => p.close()));
    procs.length = 0;
    await tearDown(ctl, topo);
    return { slot: b.slot, round, figures, counts: { published, expected, delivered, ready, confirmed, nacked, lost }, notes };
  } finally {
    sampler?.stop();
    await Promise.all(procs.map((p) => p.close().catch(() => undefined)));
    await ctl.close();
  }
}

/** 1,000 idle connections, each with a channel and a consumer: resident memory per connection. */
export async function connectionsRound(b: BrokerHandle, s: Scenario, round: number, timing: Timing): Promise<RoundResult> {
  const n = s.params.count;
  const tag = `${s.name}.${b.slot}.${round}.${process.pid}`;
  const queue = `bench.${tag}.q`;
  const ctl = await LeanConnection.open(b.endpoint, 'bench-control');
  let proc: WorkerProc | undefined;
  const sampler = b.pid !== undefined ? new Sampler(b.pid) : undefined;
  try {
    await declareQueue(ctl, queue, false);
    await sleep(timing.settleMs);
    const pids = b.pid !== undefined ? processTree(b.pid) : [];
    const before = rss(pids);
    sampler?.start();
    const t0 = nowMs();
    const started = await WorkerProc.start([{ kind: 'swarm', endpoint: b.endpoint, count: n, queue }]);
    proc = started.proc;
    const openS = (nowMs() - t0) / 1000;
    await sleep(timing.settleMs);
    const counts = await proc.poll();
    const open = sum(counts.map((c) => c.count));
    const err = counts.find((c) => c.error);
    if (err || open !== n) throw new Error(`${open} of ${n} connections open${err ? `: ${err.error}` : ''}`);
    const after = rss(b.pid !== undefined ? processTree(b.pid) : []);
    const usage = sampler?.stop();
    const figures: Record<string, number> = { 'connections opened /s': n / openS };
    if (b.pid !== undefined) {
      figures['KiB per connection'] = (after - before) / n / 1024;
      figures[`RSS with ${n} conns MiB`] = after / 2 ** 20;
      figures['RSS peak MiB'] = (usage?.peakRss ?? 0) / 2 ** 20;
    }
    await proc.close();
    proc = undefined;
    await ctl.call((w) => encodeQueueDelete(w, 1, { queue, ifUnused: false, ifEmpty: false, nowait: false }), Method.QueueDeleteOk);
    return { slot: b.slot, round, figures, notes: [] };
  } finally {
    sampler?.stop();
    await proc?.close().catch(() => undefined);
    await ctl.close();
  }
}

/** A queue of N messages with no consumer: publish rate, resident memory holding it, then drain rate. */
export async function backlogRound(b: BrokerHandle, s: Scenario, round: number, timing: Timing): Promise<RoundResult> {
  const q = s.params;
  const tag = `${s.name}.${b.slot}.${round}.${process.pid}`;
  const queue = `bench.${tag}.q`;
  const ctl = await LeanConnection.open(b.endpoint, 'bench-control');
  const procs: WorkerProc[] = [];
  const sampler = b.pid !== undefined ? new Sampler(b.pid) : undefined;
  const notes: string[] = [];
  try {
    await declareQueue(ctl, queue, false);
    const pub = (await WorkerProc.start([{ kind: 'publisher', endpoint: b.endpoint, exchange: '', routingKeys: [queue], size: q.size, persistent: false, confirmWindow: 0, rate: 0, total: q.count }])).proc;
    procs.push(pub);
    sampler?.start();
    const t0 = nowMs();
    const done = pub.next('done');
    pub.send({ cmd: 'go', t1: t0, t2: t0 + 3_600_000 });
    await pub.within(done, 600_000, 'publishing the backlog');
    let queued = 0;
    for (const deadline = nowMs() + 120_000; nowMs() < deadline; await sleep(100)) {
      queued = await messageCount(ctl, queue);
      if (queued >= q.count) break;
    }
    const publishS = (nowMs() - t0) / 1000;
    if (queued !== q.count) notes.push(`queue holds ${queued} of ${q.count} published`);
    await pub.close();
    procs.length = 0;
    await sleep(timing.settleMs);
    const pids = b.pid !== undefined ? processTree(b.pid) : [];
    const holding = rss(pids);

    const con = (await WorkerProc.start([{ kind: 'consumer', endpoint: b.endpoint, queue, prefetch: 0, noAck: true, latency: false }])).proc;
    procs.push(con);
    const t1 = nowMs();
    con.send({ cmd: 'go', t1, t2: t1 + 3_600_000 });
    let delivered = 0;
    let lastChange = nowMs();
    for (const deadline = nowMs() + 600_000; nowMs() < deadline; await sleep(20)) {
      const d = sum((await con.poll()).map((c) => c.count));
      if (d !== delivered) lastChange = nowMs();
      delivered = d;
      if (delivered >= queued || nowMs() - lastChange > 10_000) break;
    }
    const drainS = (nowMs() - t1) / 1000;
    const usage = sampler?.stop();
    if (delivered !== queued) notes.push(`drained ${delivered} of ${queued}`);
    const figures: Record<string, number> = {
      'publish msg/s': q.count / publishS,
      'drain msg/s': delivered / drainS,
    };
    if (b.pid !== undefined) {
      figures['RSS holding backlog MiB'] = holding / 2 ** 20;
      figures['RSS peak MiB'] = (usage?.peakRss ?? 0) / 2 ** 20;
    }
    await con.close();
    procs.length = 0;
    await ctl.call((w) => encodeQueueDelete(w, 1, { queue, ifUnused: false, ifEmpty: false, nowait: false }), Method.QueueDeleteOk);
    return { slot: b.slot, round, figures, counts: { published: q.count, expected: q.count, delivered, ready: queued - delivered, confirmed: 0, nacked: 0, lost: q.count - delivered }, notes };
  } finally {
    sampler?.stop();
    await Promise.all(procs.map((p) => p.close().catch(() => undefined)));
    await ctl.close();
  }
}

/**
 * Publishes `count` persistent messages of `size` bytes to `queue` through the lean generator (one
 * publisher process, confirms with `confirmWindow` outstanding) and resolves once all are confirmed:
 * the stream scenarios' publisher (stream-rounds.ts), which amqplib would limit to its own rate.
 */
export async function publishConfirmedTotal(b: BrokerHandle, queue: string, count: number, size: number, confirmWindow: number): Promise<{ ms: number; confirmed: number; nacked: number }> {
  const { proc } = await WorkerProc.start([{ kind: 'publisher', endpoint: b.endpoint, exchange: '', routingKeys: [queue], size, persistent: true, confirmWindow, rate: 0, total: count }]);
  try {
    const t0 = nowMs();
    const done = proc.next('done');
    proc.send({ cmd: 'go', t1: t0, t2: t0 + 3_600_000 });
    await proc.within(done, 600_000, 'publishing');
    let counts: RoleCounts[] = [];
    for (let last = -1, lastChange = nowMs(); ; await sleep(5)) {
      counts = await proc.poll();
      const settled = sum(counts.map((c) => c.confirmed + c.nacked));
      if (counts.some((c) => c.error)) throw new Error(`publisher failed: ${counts.find((c) => c.error)!.error}`);
      if (settled >= count) break;
      if (settled !== last) [last, lastChange] = [settled, nowMs()];
      else if (nowMs() - lastChange > 30_000) throw new Error(`${count - settled} publishes never confirmed`);
    }
    return { ms: nowMs() - t0, confirmed: sum(counts.map((c) => c.confirmed)), nacked: sum(counts.map((c) => c.nacked)) };
  } finally {
    await proc.close();
  }
}
