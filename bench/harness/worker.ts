/**
 * A load-generator process: the publishers, consumers or idle connections it is given, driven over
 * IPC by the harness. Each process runs its connections on its own event loop, so publishers and
 * consumers in separate processes use separate cores.
 *
 * Timing uses the monotonic clock that all processes share (process.hrtime): the harness sends the
 * instants t1 (end of warm-up) and t2 (end of measurement) and the worker snapshots its roles'
 * counters at those instants, so no IPC delay enters a rate.
 */
import { encodeBasicCancel, encodeBasicConsume, encodeBasicQos, encodeConfirmSelect, Method } from '../../src/protocol/generated/methods.js';
import { LeanConnection, nowMs, nowNs, type Endpoint } from './client.js';
import { encodePublishBatch, messagesPerWrite, type PublishBatch } from './frames.js';
import { cpuUsage } from 'node:process';

export interface PublisherSpec {
  kind: 'publisher';
  endpoint: Endpoint;
  exchange: string;
  routingKeys: string[];
  size: number;
  persistent: boolean;
  /** Outstanding unconfirmed messages allowed (confirm.select); 0: no confirms. */
  confirmWindow: number;
  /** Messages per second; 0: as fast as the socket takes them. */
  rate: number;
  /** Messages to send in all, then stop; 0: until t2. */
  total: number;
}

export interface ConsumerSpec {
  kind: 'consumer';
  endpoint: Endpoint;
  queue: string;
  /** basic.qos prefetch-count; 0: none sent. */
  prefetch: number;
  noAck: boolean;
  latency: boolean;
}

export interface SwarmSpec {
  kind: 'swarm';
  endpoint: Endpoint;
  /** Connections to open, each with a channel and a consumer on `queue`. */
  count: number;
  queue: string;
}

export type RoleSpec = PublisherSpec | ConsumerSpec | SwarmSpec;

export type ToWorker =
  | { cmd: 'init'; roles: RoleSpec[] }
  | { cmd: 'go'; t1: number; t2: number }
  | { cmd: 'poll' }
  | { cmd: 'stop' }
  | { cmd: 'cancel' }
  | { cmd: 'close' };

export interface LatencySummary {
  count: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

export interface RoleWindow {
  kind: RoleSpec['kind'];
  /** Actual instants of the two snapshots (ms, shared monotonic clock). */
  at1: number;
  at2: number;
  /** Messages delivered (consumer) or written (publisher) at the snapshots. */
  n1: number;
  n2: number;
  /** Confirmed at the snapshots (publisher with confirms). */
  c1: number;
  c2: number;
  latency?: LatencySummary;
}

export interface RoleCounts {
  kind: RoleSpec['kind'];
  /** Delivered (consumer), written (publisher) or connections open (swarm). */
  count: number;
  confirmed: number;
  nacked: number;
  done: boolean;
  blocked: boolean;
  error?: string;
}

export type FromWorker =
  | { ev: 'ready'; openMs: number }
  | { ev: 'window'; roles: RoleWindow[]; cpu: number }
  | { ev: 'poll'; roles: RoleCounts[] }
  | { ev: 'done' }
  | { ev: 'error'; message: string }
  | { ev: 'cancelled' }
  | { ev: 'closed' };

interface Role {
  readonly kind: RoleSpec['kind'];
  start(t1: number, t2: number): void;
  stop(): void;
  /** Messages delivered (consumer) or written (publisher), and confirmed, now. */
  read(): [number, number];
  /** Latency samples of the window, if the role measures them. */
  latency?(): LatencySummary | undefined;
  counts(): RoleCounts;
  /** Consumers: basic.cancel, resolved at cancel-ok, after which nothing more is delivered. */
  cancel?(): Promise<void>;
  close(): Promise<void>;
  /** Resolves when a role with a fixed total has sent it all and flushed it to the kernel. */
  finished?: Promise<void>;
}

const send = (m: FromWorker) => process.send!(m);

/** Latency samples in microseconds; 10,000 msg/s for a minute is 4.8 MB. */
class Samples {
  private a = new Float64Array(1 << 16);
  n = 0;
  push(v: number): void {
    if (this.n === this.a.length) {
      const b = new Float64Array(this.a.length * 2);
      b.set(this.a);
      this.a = b;
    }
    this.a[this.n++] = v;
  }
  summary(): LatencySummary {
    const s = this.a.subarray(0, this.n).sort();
    const at = (q: number) => (s.length === 0 ? 0 : s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]!);
    let sum = 0;
    for (const v of s) sum += v;
    return { count: s.length, p50: at(0.5), p99: at(0.99), p999: at(0.999), max: s.length ? s[s.length - 1]! : 0, mean: s.length ? sum / s.length : 0 };
  }
}

class Publisher implements Role {
  readonly kind = 'publisher';
  private sent = 0;
  private stopped = true;
  private idx = 0;
  private waiting = false;
  private readonly batch: PublishBatch;
  private readonly perWrite: number;
  private rateTimer: NodeJS.Timeout | undefined;
  private finish: (() => void) | undefined;
  finished: Promise<void> | undefined;

  constructor(private readonly c: LeanConnection, private readonly spec: PublisherSpec) {
    this.perWrite = spec.confirmWindow > 0 ? Math.min(messagesPerWrite(spec.size), spec.confirmWindow) : messagesPerWrite(spec.size);
    const count = Math.max(this.perWrite, spec.routingKeys.length, spec.confirmWindow);
    this.batch = encodePublishBatch({ exchange: spec.exchange, routingKeys: spec.routingKeys, size: spec.size, persistent: spec.persistent, channel: 1, frameMax: c.frameMax }, count);
    if (spec.total > 0) this.finished = new Promise((r) => (this.finish = r));
    c.onConfirm = () => {
      if (this.waiting && !this.stopped && this.spec.rate === 0) {
        this.waiting = false;
        this.pump();
      }
    };
  }

  static async create(spec: PublisherSpec): Promise<Publisher> {
    const c = await LeanConnection.open(spec.endpoint, 'bench-publisher');
    c.socket.setMaxListeners(0);
    if (spec.confirmWindow > 0) await c.call((w) => encodeConfirmSelect(w, 1, { nowait: false }), Method.ConfirmSelectOk);
    return new Publisher(c, spec);
  }

  /** Starts publishing; a fixed-duration publisher is stopped by the worker at t2, after the snapshot. */
  start(): void {
    this.stopped = false;
    if (this.spec.rate > 0) {
      const t0 = nowMs();
      this.rateTimer = setInterval(() => this.paced(t0), 1);
    } else {
      this.pump();
    }
  }

  stop(): void {
    this.stopped = true;
    if (this.rateTimer) clearInterval(this.rateTimer);
  }

  /** Writes as fast as the socket drains (and the confirm window allows), yielding to the event loop often. */
  private pump(): void {
    const { c, batch, spec } = this;
    const socket = c.socket;
    for (let writes = 0; !this.stopped; writes++) {
      if (c.error) return this.stop();
      if (writes === 16) {
        setImmediate(() => this.pump());
        return;
      }
      let n = this.perWrite;
      if (spec.confirmWindow > 0) {
        n = Math.min(n, spec.confirmWindow - (this.sent - c.confirmed - c.nacked));
        if (n <= 0) {
          this.waiting = true;
          return;
        }
      }
      if (spec.total > 0) n = Math.min(n, spec.total - this.sent);
      n = Math.min(n, batch.count - this.idx);
      if (n <= 0) {
        this.stop();
        void c.flushed().then(() => this.finish?.());
        return;
      }
      const chunk = batch.buf.subarray(batch.offsets[this.idx]!, batch.offsets[this.idx + n]!);
      this.idx = (this.idx + n) % batch.count;
      this.sent += n;
      if (!socket.write(chunk)) {
        socket.once('drain', () => this.pump());
        return;
      }
    }
  }

  /** Fixed rate: every millisecond, sends what the schedule owes, each body stamped with the send time. */
  private paced(t0: number): void {
    const { c, batch } = this;
    if (this.stopped || c.error) return this.stop();
    let owed = Math.floor(((nowMs() - t0) * this.spec.rate) / 1000) - this.sent;
    while (owed > 0) {
      const n = Math.min(owed, batch.count - this.idx);
      const from = batch.offsets[this.idx]!;
      const copy = Buffer.from(batch.buf.subarray(from, batch.offsets[this.idx + n]!));
      const t = nowNs();
      for (let i = 0; i < n; i++) copy.writeBigUInt64BE(t, batch.bodyOffsets[this.idx + i]! - from);
      c.socket.write(copy);
      this.idx = (this.idx + n) % batch.count;
      this.sent += n;
      owed -= n;
    }
  }

  read(): [number, number] {
    return [this.sent, this.c.confirmed];
  }

  counts(): RoleCounts {
    const c = this.c;
    const done = this.stopped && c.socket.writableLength === 0;
    return { kind: this.kind, count: this.sent, confirmed: c.confirmed, nacked: c.nacked, done, blocked: c.blocked, ...(c.error ? { error: c.error.message } : {}) };
  }

  async close(): Promise<void> {
    this.stop();
    await this.c.close();
  }
}

class Consumer implements Role {
  readonly kind = 'consumer';
  private readonly samples = new Samples();
  /** The measurement window in ns; latencies of messages received inside it are recorded. */
  private fromNs = 1n << 62n;
  private toNs = 0n;

  constructor(private readonly c: LeanConnection, spec: ConsumerSpec) {
    if (spec.latency) {
      c.onLatency = (sent) => {
        const now = nowNs();
        if (now >= this.fromNs && now <= this.toNs) this.samples.push(Number(now - sent) / 1000);
      };
    }
  }

  static async create(spec: ConsumerSpec): Promise<Consumer> {
    const c = await LeanConnection.open(spec.endpoint, 'bench-consumer');
    if (spec.prefetch > 0) await c.call((w) => encodeBasicQos(w, 1, { prefetchSize: 0, prefetchCount: spec.prefetch, global: false }), Method.BasicQosOk);
    const consumer = new Consumer(c, spec);
    c.manualAck = !spec.noAck;
    await c.call((w) => encodeBasicConsume(w, 1, { queue: spec.queue, consumerTag: 'bench', noLocal: false, noAck: spec.noAck, exclusive: false, nowait: false, arguments: new Map() }), Method.BasicConsumeOk);
    return consumer;
  }

  start(t1: number, t2: number): void {
    this.fromNs = BigInt(Math.round(t1 * 1e6));
    this.toNs = BigInt(Math.round(t2 * 1e6));
  }

  stop(): void {}

  read(): [number, number] {
    return [this.c.delivered, 0];
  }

  latency(): LatencySummary | undefined {
    return this.c.onLatency ? this.samples.summary() : undefined;
  }

  counts(): RoleCounts {
    const c = this.c;
    return { kind: this.kind, count: c.delivered, confirmed: 0, nacked: 0, done: false, blocked: c.blocked, ...(c.error ? { error: c.error.message } : {}) };
  }

  async cancel(): Promise<void> {
    if (this.c.error) return;
    await this.c.call((w) => encodeBasicCancel(w, 1, { consumerTag: 'bench', nowait: false }), Method.BasicCancelOk);
  }

  async close(): Promise<void> {
    await this.c.close();
  }
}

/** Many idle connections, each with a channel and a consumer: what a connection costs the broker. */
class Swarm implements Role {
  readonly kind = 'swarm';
  private constructor(private readonly conns: LeanConnection[]) {}

  static async create(spec: SwarmSpec): Promise<Swarm> {
    const conns: LeanConnection[] = [];
    let next = 0;
    const opener = async () => {
      while (next < spec.count) {
        next++;
        const c = await LeanConnection.open(spec.endpoint, `bench-swarm-${next}`);
        conns.push(c);
        await c.call((w) => encodeBasicConsume(w, 1, { queue: spec.queue, consumerTag: 'idle', noLocal: false, noAck: false, exclusive: false, nowait: false, arguments: new Map() }), Method.BasicConsumeOk);
      }
    };
    try {
      // A few handshakes in flight at once, as many clients starting together would.
      await Promise.all(Array.from({ length: 16 }, opener));
    } catch (e) {
      for (const c of conns) c.socket.destroy();
      throw e;
    }
    return new Swarm(conns);
  }

  start(): void {}
  stop(): void {}
  read(): [number, number] {
    return [this.conns.length, 0];
  }
  counts(): RoleCounts {
    const bad = this.conns.find((c) => c.error);
    return { kind: this.kind, count: this.conns.filter((c) => !c.error).length, confirmed: 0, nacked: 0, done: true, blocked: false, ...(bad ? { error: bad.error!.message } : {}) };
  }
  async close(): Promise<void> {
    await Promise.all(this.conns.map((c) => c.close()));
  }
}

async function main(): Promise<void> {
  let roles: Role[] = [];
  process.on('message', (m: ToWorker) => {
    void (async () => {
      switch (m.cmd) {
        case 'init': {
          const t0 = nowMs();
          roles = await Promise.all(
            m.roles.map((spec): Promise<Role> => {
              if (spec.kind === 'publisher') return Publisher.create(spec);
              if (spec.kind === 'consumer') return Consumer.create(spec);
              return Swarm.create(spec);
            }),
          );
          send({ ev: 'ready', openMs: nowMs() - t0 });
          return;
        }
        case 'go': {
          for (const r of roles) r.start(m.t1, m.t2);
          // One timer per instant reads every role, so the two snapshots of a role can never be
          // taken out of order, however late a loaded machine runs the timers.
          const now = nowMs();
          let first: { at: number; counts: [number, number][]; cpu: NodeJS.CpuUsage } | undefined;
          setTimeout(() => (first = { at: nowMs(), counts: roles.map((r) => r.read()), cpu: cpuUsage() }), Math.max(0, m.t1 - now));
          setTimeout(() => {
            const at2 = nowMs();
            const counts = roles.map((r) => r.read());
            const f = first ?? { at: at2, counts, cpu: cpuUsage() };
            const used = cpuUsage(f.cpu);
            // Publishers that run for the measurement stop with it; those with a total run on.
            for (const r of roles) if (r.kind === 'publisher' && r.finished === undefined) r.stop();
            const windows = roles.map((r, i): RoleWindow => {
              const w: RoleWindow = { kind: r.kind, at1: f.at, at2, n1: f.counts[i]![0], n2: counts[i]![0], c1: f.counts[i]![1], c2: counts[i]![1] };
              const lat = r.latency?.();
              if (lat !== undefined) w.latency = lat;
              return w;
            });
            const cpu = at2 > f.at ? (used.user + used.system) / 1000 / (at2 - f.at) : 0;
            send({ ev: 'window', roles: windows, cpu });
          }, Math.max(0, m.t2 - now));
          const finishing = roles.map((r) => r.finished).filter((f) => f !== undefined);
          if (finishing.length > 0) void Promise.all(finishing).then(() => send({ ev: 'done' }));
          return;
        }
        case 'poll':
          send({ ev: 'poll', roles: roles.map((r) => r.counts()) });
          return;
        case 'stop':
          for (const r of roles) r.stop();
          return;
        case 'cancel':
          await Promise.all(roles.map((r) => r.cancel?.()));
          send({ ev: 'cancelled' });
          return;
        case 'close':
          await Promise.all(roles.map((r) => r.close().catch(() => undefined)));
          send({ ev: 'closed' });
          process.disconnect();
          return;
      }
    })().catch((e: unknown) => {
      send({ ev: 'error', message: e instanceof Error ? e.message : String(e) });
    });
  });
  process.on('disconnect', () => process.exit(0));
}

void main();
