// The scenario format. A scenario is a short async script that drives one broker through real client
// libraries and records, through the context `t`, everything a client can observe. The same script runs
// against RabbitMQ and against Warren; the two normalised transcripts are compared (compare.ts).
//
//   scenario('declare-passive-missing', async (t) => {
//     const ch = await t.channel();
//     await t.fails(ch.checkQueue(t.n('missing')));
//   });
//
// Rules that keep transcripts deterministic (so RabbitMQ's own transcript is stable run after run):
// - Method replies are recorded in the order the script awaits them.
// - Deliveries, returns and confirms arrive asynchronously; they are buffered per consumer / channel
//   and recorded only when the script takes them (`consumer.take(n)`, `ch.takeReturns(n)`,
//   `ch.waitConfirms()`), or at the end, after a short settle, when nothing took them.
// - A channel or connection closed by the server is recorded by the operation that provoked it, by
//   `ch.closed()` / `conn.closed()`, and in the closing `end` record.
// - Names come from `t.n('q')`: a per-run, per-scenario prefix that normalisation turns into `~`.
import { createHash } from 'node:crypto';
import type { ChannelModel, Channel, ConfirmChannel, ConsumeMessage, GetMessage, Message, Options } from 'amqplib';
import amqp from 'amqplib';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type Event = { [k: string]: Json };

export type ClientName = 'amqplib' | 'amqplib-callback' | 'amqp-client' | 'pika' | 'raw' | 'cross';

export interface Target {
  /** 'rabbitmq' for the reference, 'warren' for the broker under test. */
  name: 'rabbitmq' | 'warren';
  url: string;
  /** Restart keeping durable state (restart scenarios only). */
  restart?: () => Promise<void>;
  /** The management HTTP API (http://host:port), for suites that start their brokers with it. */
  managementUrl?: string;
}

export type Body = (t: Ctx) => Promise<void>;

export interface ScenarioDef {
  id: string;
  area: string;
  client: ClientName;
  body: Body;
  /** For restart scenarios: runs after the broker restarts, in a fresh context with the same prefix. */
  after?: Body;
}

export interface ScenarioOptions {
  client?: ClientName;
}

/** Define the scenarios of one area: `scenarios('queues', 'amqplib', (scenario) => { scenario('x', ...) })`. */
export function scenarios(
  area: string,
  client: ClientName,
  define: (scenario: (name: string, body: Body, opts?: ScenarioOptions) => void) => void,
): ScenarioDef[] {
  const out: ScenarioDef[] = [];
  define((name, body, opts) => out.push({ id: `${area}/${name}`, area, client: opts?.client ?? client, body }));
  return out;
}

/** Restart scenarios: `before` runs, the broker restarts (once for the whole batch), then `after`. */
export function restartScenarios(
  area: string,
  client: ClientName,
  define: (scenario: (name: string, phases: { before: Body; after: Body }, opts?: ScenarioOptions) => void) => void,
): ScenarioDef[] {
  const out: ScenarioDef[] = [];
  define((name, phases, opts) =>
    out.push({ id: `${area}/${name}`, area, client: opts?.client ?? client, body: phases.before, after: phases.after }),
  );
  return out;
}

// ---- errors --------------------------------------------------------------------------------------

export interface AmqpErrorInfo {
  code?: number;
  text?: string;
  classId?: number;
  methodId?: number;
  /** Client-side error text (amqplib's own message) when the broker gave no close frame. */
  client?: string;
}

/** A broker error that was recorded; thrown on so the script stops unless it expected it (t.fails). */
export class RecordedError extends Error {
  constructor(readonly info: AmqpErrorInfo) {
    super(info.text ?? info.client ?? 'error');
  }
}

/** The scenario cannot go on (a timeout, a failed check); recorded, and fatal against RabbitMQ. */
export class ScenarioAbort extends Error {}

const CLOSE_TEXT = /(?:(?:Channel closed by server|Connection closed|Handshake terminated by server): |Operation failed: [A-Za-z]+; )(\d+) \([A-Z_-]+\) with message "(.*)"$/s;

/** What a client sees of an amqplib error: the close frame's fields where amqplib kept them. */
function errorInfo(err: unknown): AmqpErrorInfo {
  const e = err as { message?: string; code?: unknown; classId?: unknown; methodId?: unknown };
  const m = CLOSE_TEXT.exec(e?.message ?? '');
  if (m) {
    const info: AmqpErrorInfo = { code: Number(m[1]), text: m[2] };
    if (typeof e.classId === 'number') info.classId = e.classId;
    if (typeof e.methodId === 'number') info.methodId = e.methodId;
    return info;
  }
  return { client: e?.message ?? String(err) };
}

// ---- rendering what a client sees ------------------------------------------------------------------

export function renderBody(buf: Buffer | null | undefined): Json {
  if (!buf) return null;
  const s = buf.toString('utf8');
  // Control characters make a body binary for the report (they are what this test looks for).
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
  if (buf.length <= 200 && Buffer.from(s, 'utf8').equals(buf) && !/[\u0000-\u0008\u000e-\u001f]/.test(s)) return s;
  return { bytes: buf.length, sha256: createHash('sha256').update(buf).digest('hex').slice(0, 16) };
}

export function renderValue(v: unknown): Json {
  if (v === undefined) return null;
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? v : String(v);
  if (typeof v === 'bigint') return { bigint: v.toString() };
  if (Buffer.isBuffer(v)) return { x: v.toString('hex') };
  if (v instanceof Date) return { date: v.toISOString() };
  if (Array.isArray(v)) return v.map(renderValue);
  if (typeof v === 'object') {
    const out: { [k: string]: Json } = {};
    for (const [k, val] of Object.entries(v as Record<string, unknown>)) if (val !== undefined) out[k] = renderValue(val);
    return out;
  }
  return String(v);
}

function renderMessage(kind: string, label: string, m: Message): Event {
  return {
    [kind]: label,
    fields: renderValue(m.fields),
    props: renderValue(m.properties),
    body: renderBody(m.content),
  };
}

// ---- timing ------------------------------------------------------------------------------------

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
/** How long `take` waits for something that should arrive. */
export const TAKE_TIMEOUT_MS = 2_000;
/** How long the end of a scenario waits for stragglers that nothing took. */
const SETTLE_MS = 30;

async function waitUntil(cond: () => boolean, timeoutMs: number, poll = 2): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) return false;
    await sleep(poll);
  }
  return true;
}

// ---- the context ---------------------------------------------------------------------------------

export interface ConnectOptions {
  /** Label in the transcript; c1, c2, ... by default. */
  label?: string;
  user?: string;
  password?: string;
  vhost?: string;
  heartbeat?: number;
  frameMax?: number;
  channelMax?: number;
  clientProperties?: Record<string, unknown>;
  /** Record the negotiated tune values and server capabilities. */
  recordOpen?: boolean;
}

export class Ctx {
  readonly events: Event[] = [];
  private readonly conns: RConn[] = [];
  private defaultConn: RConn | undefined;
  private connCounter = 0;
  private readonly disposers: Array<() => void | Promise<void>> = [];

  constructor(
    readonly target: Target,
    readonly id: string,
    /** Unique per run and scenario; normalised to `~`. */
    readonly prefix: string,
  ) {}

  get broker(): 'rabbitmq' | 'warren' {
    return this.target.name;
  }

  /** A name unique to this run of this scenario. */
  n(name = ''): string {
    return `${this.prefix}${name}`;
  }

  record(label: string, value: unknown = true): void {
    this.events.push({ [label]: renderValue(value) });
  }

  /** The script's own expectation: fatal against RabbitMQ (the scenario is wrong), recorded against Warren. */
  check(cond: boolean, message: string): void {
    if (!cond) throw new ScenarioAbort(`check failed: ${message}`);
  }

  /** Await an operation that must fail; its error was recorded by the operation. */
  async fails(p: Promise<unknown>): Promise<AmqpErrorInfo> {
    try {
      await p;
    } catch (err) {
      if (err instanceof RecordedError) return err.info;
      throw err;
    }
    throw new ScenarioAbort('expected the operation to fail, it succeeded');
  }

  /** Await an operation whose failure is acceptable (recorded either way). */
  async tryOp<T>(p: Promise<T>): Promise<T | undefined> {
    try {
      return await p;
    } catch (err) {
      if (err instanceof RecordedError) return undefined;
      throw err;
    }
  }

  sleep(ms: number): Promise<void> {
    return sleep(ms);
  }

  /** Run at the end of the scenario (raw sockets, child processes). */
  onTeardown(fn: () => void | Promise<void>): void {
    this.disposers.push(fn);
  }

  url(opts: ConnectOptions = {}): string {
    const u = new URL(this.target.url);
    if (opts.user !== undefined) u.username = encodeURIComponent(opts.user);
    if (opts.password !== undefined) u.password = encodeURIComponent(opts.password);
    if (opts.vhost !== undefined) u.pathname = `/${encodeURIComponent(opts.vhost)}`;
    if (opts.heartbeat !== undefined) u.searchParams.set('heartbeat', String(opts.heartbeat));
    if (opts.frameMax !== undefined) u.searchParams.set('frameMax', String(opts.frameMax));
    if (opts.channelMax !== undefined) u.searchParams.set('channelMax', String(opts.channelMax));
    return u.toString();
  }

  /** Open an amqplib (promise API) connection; failures are recorded (use t.fails to expect one). */
  async connect(opts: ConnectOptions = {}): Promise<RConn> {
    const label = opts.label ?? `c${++this.connCounter}`;
    let model: ChannelModel;
    try {
      model = await amqp.connect(this.url(opts), { clientProperties: opts.clientProperties ?? {}, timeout: 5_000 });
    } catch (err) {
      const info = errorInfo(err);
      this.events.push({ conn: label, op: 'connect', err: renderValue(info) });
      throw new RecordedError(info);
    }
    const conn = new RConn(this, label, model);
    this.conns.push(conn);
    if (opts.recordOpen) {
      const c = model.connection as unknown as { frameMax: number; channelMax: number; heartbeat: number; serverProperties: Record<string, unknown> };
      this.events.push({
        conn: label,
        op: 'connect',
        ok: renderValue({
          frameMax: c.frameMax,
          channelMax: c.channelMax,
          heartbeat: c.heartbeat,
          serverProperties: serverPropertiesView(c.serverProperties),
        }),
      });
    }
    return conn;
  }

  /** The scenario's default connection (opened on first use). */
  async conn(): Promise<RConn> {
    this.defaultConn ??= await this.connect();
    return this.defaultConn;
  }

  async channel(): Promise<RChannel> {
    return (await this.conn()).channel();
  }

  async confirmChannel(): Promise<RChannel> {
    return (await this.conn()).confirmChannel();
  }

  /** Closing: record stragglers and the final state of every connection and channel, then close them. */
  async teardown(): Promise<void> {
    await sleep(SETTLE_MS);
    const end: { [k: string]: Json } = {};
    for (const conn of this.conns) {
      for (const ch of conn.channels) {
        if (ch.state === 'open') await ch.ping();
        ch.flush();
      }
      for (const ch of conn.channels) end[ch.label] = ch.stateView();
      end[conn.label] = conn.stateView();
    }
    if (Object.keys(end).length > 0) this.events.push({ end });
    for (const conn of this.conns) await conn.dispose();
    for (const fn of this.disposers) await fn();
  }
}

/**
 * Server properties: the capabilities table matters to clients; product, version and the rest do not.
 * The `warren` entry (Warren's own version beside the release it imitates) is left out.
 */
function serverPropertiesView(sp: Record<string, unknown>): Json {
  const out: { [k: string]: Json } = {};
  for (const k of Object.keys(sp).sort()) if (k !== 'warren') out[k] = k === 'capabilities' ? renderValue(sp[k]) : '<server>';
  return out;
}

// ---- connections ---------------------------------------------------------------------------------

type CloseState = { state: 'open' } | { state: 'closed'; by: 'client' } | { state: 'closed'; by: 'server'; info: AmqpErrorInfo } | { state: 'closed'; by: 'socket'; info: AmqpErrorInfo };

export class RConn {
  readonly channels: RChannel[] = [];
  private close: CloseState = { state: 'open' };
  private closeFrame: AmqpErrorInfo | undefined;
  private recordedClose = false;

  constructor(
    readonly t: Ctx,
    readonly label: string,
    readonly model: ChannelModel,
  ) {
    model.on('error', () => {});
    // amqplib keeps the connection.close frame's class and method ids to itself; read them off the
    // channel-0 handler so that a client-observable close is recorded in full.
    const internal = model.connection as unknown as { channels: Array<{ channel: { accept: (f: unknown) => void } } | undefined> };
    const ch0 = internal.channels[0]?.channel;
    if (ch0) {
      const accept = ch0.accept.bind(ch0);
      ch0.accept = (f: unknown) => {
        const frame = f as { id?: number; fields?: { replyCode: number; replyText: string; classId: number; methodId: number } };
        if (frame?.id === ((10 << 16) | 50) && frame.fields) {
          const { replyCode, replyText, classId, methodId } = frame.fields;
          this.closeFrame = { code: replyCode, text: replyText, classId, methodId };
        }
        accept(f);
      };
    }
    model.on('close', (err?: unknown) => {
      if (this.close.state !== 'open') return;
      if (this.closeFrame) this.close = { state: 'closed', by: 'server', info: this.closeFrame };
      else if (err) this.close = { state: 'closed', by: 'socket', info: errorInfo(err) };
      else this.close = { state: 'closed', by: 'socket', info: { client: 'connection closed' } };
    });
  }

  get state(): 'open' | 'closed' {
    return this.close.state;
  }

  stateView(): Json {
    const c = this.close;
    if (c.state === 'open') return 'open';
    if (c.by === 'client') return 'closed by client';
    return renderValue({ closedBy: c.by, ...c.info });
  }

  private nextChannelLabel(n: number): string {
    return `${this.label}.ch${n}`;
  }

  async channel(): Promise<RChannel> {
    return this.open(false);
  }

  async confirmChannel(): Promise<RChannel> {
    return this.open(true);
  }

  private async open(confirm: boolean): Promise<RChannel> {
    let ch: Channel | ConfirmChannel;
    try {
      ch = confirm ? await this.model.createConfirmChannel() : await this.model.createChannel();
    } catch (err) {
      const info = errorInfo(err);
      this.t.events.push({ conn: this.label, op: confirm ? 'createConfirmChannel' : 'createChannel', err: renderValue(info) });
      throw new RecordedError(info);
    }
    const num = (ch as unknown as { ch: number }).ch;
    const r = new RChannel(this.t, this, this.nextChannelLabel(num), ch, confirm);
    this.channels.push(r);
    return r;
  }

  /** Wait for the server to close this connection, and record how. */
  async closed(timeoutMs = TAKE_TIMEOUT_MS): Promise<Json> {
    const ok = await waitUntil(() => this.close.state === 'closed', timeoutMs);
    if (!ok) {
      this.t.events.push({ conn: this.label, closed: 'timeout' });
      throw new ScenarioAbort(`connection ${this.label} was not closed by the server`);
    }
    this.recordedClose = true;
    const v = this.stateView();
    this.t.events.push({ conn: this.label, closed: v });
    return v;
  }

  /** Client-initiated close, recorded. */
  async closeConn(): Promise<void> {
    try {
      await this.model.close();
      this.close = { state: 'closed', by: 'client' };
      this.t.events.push({ conn: this.label, op: 'close', ok: true });
    } catch (err) {
      const info = errorInfo(err);
      this.t.events.push({ conn: this.label, op: 'close', err: renderValue(info) });
      throw new RecordedError(info);
    }
  }

  async dispose(): Promise<void> {
    void this.recordedClose;
    if (this.close.state === 'open') {
      this.close = { state: 'closed', by: 'client' };
      await Promise.race([this.model.close().catch(() => {}), sleep(2_000)]);
    }
  }
}

// ---- channels ------------------------------------------------------------------------------------

export class RConsumer {
  readonly items: Array<ConsumeMessage | 'cancelled'> = [];
  private taken = 0;

  /** basic.cancel sent by the script: the queue may be gone (auto-delete), and nothing more can come. */
  cancelledByClient = false;

  constructor(
    readonly ch: RChannel,
    readonly tag: string,
    readonly queue: string,
  ) {}

  get pending(): number {
    return this.items.length - this.taken;
  }

  /** Wait for n deliveries, record them, and return them. */
  async take(n = 1, timeoutMs = TAKE_TIMEOUT_MS): Promise<ConsumeMessage[]> {
    const ok = await waitUntil(() => this.items.length - this.taken >= n || this.items.slice(this.taken).includes('cancelled'), timeoutMs);
    const got = this.items.slice(this.taken, this.taken + n);
    this.taken += got.length;
    const out: ConsumeMessage[] = [];
    for (const m of got) {
      if (m === 'cancelled') this.ch.t.events.push({ cancelled: this.ch.label, consumerTag: this.tag });
      else {
        this.ch.t.events.push(renderMessage('deliver', this.ch.label, m));
        out.push(m);
      }
    }
    if (!ok || out.length < n) {
      this.ch.t.events.push({ deliver: this.ch.label, timeout: `${out.length} of ${n}` });
      throw new ScenarioAbort(`consumer on ${this.ch.label} got ${out.length} of ${n} deliveries`);
    }
    return out;
  }

  /** Wait for the server to cancel this consumer (basic.cancel from the broker), recorded. */
  async cancelled(timeoutMs = TAKE_TIMEOUT_MS): Promise<void> {
    const ok = await waitUntil(() => this.items.includes('cancelled'), timeoutMs);
    this.flush();
    if (!ok) throw new ScenarioAbort(`consumer on ${this.ch.label} was not cancelled by the server`);
  }

  /**
   * Record whatever arrived for this consumer (nothing, when all is well) once the broker has
   * certainly processed everything the script sent before on this channel: a round trip through
   * the consumer's queue (a passive queue.declare, unrecorded). RabbitMQ answers it in order after
   * the channel's earlier publishes, acks and qos changes have reached the queue process, and the
   * deliveries they released go out before the reply; Warren answers in the order it reads. So a
   * delivery that should not happen would be here, however slow the machine. After a cancel (or a
   * server-sent cancel) nothing can come for the consumer and its queue may be gone: a plain
   * round trip on the channel.
   */
  async idle(): Promise<void> {
    const active = !this.cancelledByClient && !this.items.includes('cancelled');
    await this.ch.sync(active ? this.queue : undefined);
    this.flush();
  }

  flush(): void {
    for (const m of this.items.slice(this.taken)) {
      if (m === 'cancelled') this.ch.t.events.push({ cancelled: this.ch.label, consumerTag: this.tag });
      else this.ch.t.events.push(renderMessage('deliver', this.ch.label, m));
    }
    this.taken = this.items.length;
  }
}

type ChState = 'open' | 'closed';

const METHOD = (c: number, m: number) => (c << 16) | m;
/** Methods amqplib has no API for, sent through its own codec (`channel.rpc`). */
const RAW: Record<string, [number, number]> = {
  'tx.select': [METHOD(90, 10), METHOD(90, 11)],
  'tx.commit': [METHOD(90, 20), METHOD(90, 21)],
  'tx.rollback': [METHOD(90, 30), METHOD(90, 31)],
  'confirm.select': [METHOD(85, 10), METHOD(85, 11)],
  'basic.qos': [METHOD(60, 10), METHOD(60, 11)],
  'basic.recover': [METHOD(60, 110), METHOD(60, 111)],
  'channel.flow': [METHOD(20, 20), METHOD(20, 21)],
};

export class RChannel {
  private closeState: CloseState = { state: 'open' };
  readonly consumers = new Map<string, RConsumer>();
  private readonly returns: Message[] = [];
  private returnsTaken = 0;
  private published = 0;
  private readonly confirms = new Map<number, 'ack' | 'nack'>();
  private confirmsRecorded = 0;

  constructor(
    readonly t: Ctx,
    readonly conn: RConn,
    readonly label: string,
    readonly raw: Channel | ConfirmChannel,
    readonly confirm: boolean,
  ) {
    raw.on('error', (err: unknown) => {
      if (this.closeState.state === 'open') this.closeState = { state: 'closed', by: 'server', info: errorInfo(err) };
    });
    raw.on('close', () => {
      if (this.closeState.state === 'open') this.closeState = { state: 'closed', by: 'socket', info: { client: 'channel closed with its connection' } };
    });
    raw.on('return', (m: Message) => this.returns.push(m));
    const settle = (kind: 'ack' | 'nack') => (f: { deliveryTag: number; multiple: boolean }) => {
      if (f.multiple) {
        for (let tag = 1; tag <= f.deliveryTag; tag++) if (!this.confirms.has(tag)) this.confirms.set(tag, kind);
      } else this.confirms.set(f.deliveryTag, kind);
    };
    raw.on('ack', settle('ack'));
    raw.on('nack', settle('nack'));
  }

  get state(): ChState {
    return this.closeState.state;
  }

  stateView(): Json {
    const c = this.closeState;
    if (c.state === 'open') return 'open';
    if (c.by === 'client') return 'closed by client';
    return renderValue({ closedBy: c.by, ...c.info });
  }

  /** Run one operation that awaits a reply, recording its result or error. */
  async op<R>(name: string, args: unknown[], run: () => Promise<R>, view: (r: R) => unknown = (r) => r): Promise<R> {
    try {
      const r = await run();
      this.t.events.push({ ch: this.label, op: name, args: renderValue(args), ok: renderValue(view(r)) });
      return r;
    } catch (err) {
      if (err instanceof ScenarioAbort || err instanceof RecordedError) throw err;
      const info = errorInfo(err);
      this.t.events.push({ ch: this.label, op: name, args: renderValue(args), err: renderValue(info) });
      if (info.code !== undefined && this.closeState.state === 'open') this.closeState = { state: 'closed', by: 'server', info };
      throw new RecordedError(info);
    }
  }

  /** A method without a reply (publish, ack, ...): only a client-side refusal is recorded. */
  private send(name: string, args: unknown[], run: () => unknown): void {
    try {
      run();
    } catch (err) {
      const info = errorInfo(err);
      this.t.events.push({ ch: this.label, op: name, args: renderValue(args), err: renderValue(info) });
      throw new RecordedError(info);
    }
  }

  assertQueue(queue: string, options?: Options.AssertQueue) {
    return this.op('assertQueue', options ? [queue, options] : [queue], () => this.raw.assertQueue(queue, options));
  }
  checkQueue(queue: string) {
    return this.op('checkQueue', [queue], () => this.raw.checkQueue(queue));
  }
  deleteQueue(queue: string, options?: Options.DeleteQueue) {
    return this.op('deleteQueue', options ? [queue, options] : [queue], () => this.raw.deleteQueue(queue, options));
  }
  purgeQueue(queue: string) {
    return this.op('purgeQueue', [queue], () => this.raw.purgeQueue(queue));
  }
  bindQueue(queue: string, source: string, pattern: string, args?: Record<string, unknown>) {
    return this.op('bindQueue', args ? [queue, source, pattern, args] : [queue, source, pattern], () => this.raw.bindQueue(queue, source, pattern, args));
  }
  unbindQueue(queue: string, source: string, pattern: string, args?: Record<string, unknown>) {
    return this.op('unbindQueue', args ? [queue, source, pattern, args] : [queue, source, pattern], () => this.raw.unbindQueue(queue, source, pattern, args));
  }
  assertExchange(exchange: string, type: string, options?: Options.AssertExchange) {
    return this.op('assertExchange', options ? [exchange, type, options] : [exchange, type], () => this.raw.assertExchange(exchange, type, options));
  }
  checkExchange(exchange: string) {
    return this.op('checkExchange', [exchange], () => this.raw.checkExchange(exchange));
  }
  deleteExchange(exchange: string, options?: Options.DeleteExchange) {
    return this.op('deleteExchange', options ? [exchange, options] : [exchange], () => this.raw.deleteExchange(exchange, options));
  }
  bindExchange(dest: string, source: string, pattern: string, args?: Record<string, unknown>) {
    return this.op('bindExchange', args ? [dest, source, pattern, args] : [dest, source, pattern], () => this.raw.bindExchange(dest, source, pattern, args));
  }
  unbindExchange(dest: string, source: string, pattern: string, args?: Record<string, unknown>) {
    return this.op('unbindExchange', args ? [dest, source, pattern, args] : [dest, source, pattern], () => this.raw.unbindExchange(dest, source, pattern, args));
  }
  prefetch(count: number, global?: boolean) {
    return this.op('prefetch', global === undefined ? [count] : [count, global], () => this.raw.prefetch(count, global));
  }
  recover() {
    return this.op('recover', [], () => this.raw.recover());
  }
  /** Any method amqplib has no API for (tx.*, basic.qos with a size, basic.recover requeue=false, ...). */
  rpc(method: keyof typeof RAW, fields: Record<string, unknown> = {}) {
    const [id, expect] = RAW[method]!;
    const rpc = (this.raw as unknown as { rpc: (m: number, f: Record<string, unknown>, e: number) => Promise<unknown> }).rpc.bind(this.raw);
    return this.op(method, Object.keys(fields).length ? [fields] : [], () => rpc(id, fields, expect), () => true);
  }
  txSelect() {
    return this.rpc('tx.select');
  }
  txCommit() {
    return this.rpc('tx.commit');
  }
  txRollback() {
    return this.rpc('tx.rollback');
  }

  /** basic.get; records the message (or `empty`). */
  async get(queue: string, options?: Options.Get): Promise<GetMessage | false> {
    return this.op(
      'get',
      options ? [queue, options] : [queue],
      () => this.raw.get(queue, options),
      (m) => (m === false ? 'empty' : { fields: m.fields, props: m.properties, body: renderBody(m.content) }),
    );
  }

  /** basic.consume; deliveries are buffered on the returned consumer until taken. */
  async consume(queue: string, options?: Options.Consume): Promise<RConsumer> {
    let consumer: RConsumer | undefined;
    const early: Array<ConsumeMessage | 'cancelled'> = [];
    const ok = await this.op(
      'consume',
      options ? [queue, options] : [queue],
      () =>
        this.raw.consume(
          queue,
          (m) => {
            const item = m ?? 'cancelled';
            if (consumer) consumer.items.push(item);
            else early.push(item);
          },
          options,
        ),
    );
    consumer = new RConsumer(this, ok.consumerTag, queue);
    consumer.items.push(...early);
    this.consumers.set(ok.consumerTag, consumer);
    return consumer;
  }

  cancel(consumer: RConsumer | string) {
    const tag = typeof consumer === 'string' ? consumer : consumer.tag;
    const known = this.consumers.get(tag);
    if (known !== undefined) known.cancelledByClient = true;
    return this.op('cancel', [tag], () => this.raw.cancel(tag));
  }

  publish(exchange: string, routingKey: string, body: string | Buffer, options?: Options.Publish): number {
    const content = typeof body === 'string' ? Buffer.from(body) : body;
    this.send('publish', [exchange, routingKey], () => {
      if (this.confirm) (this.raw as ConfirmChannel).publish(exchange, routingKey, content, options ?? {}, () => {});
      else this.raw.publish(exchange, routingKey, content, options);
    });
    return ++this.published;
  }

  sendToQueue(queue: string, body: string | Buffer, options?: Options.Publish): number {
    return this.publish('', queue, body, options);
  }

  ack(m: Message | number, allUpTo = false): void {
    const tag = typeof m === 'number' ? m : m.fields.deliveryTag;
    this.send('ack', [tag, allUpTo], () => this.raw.ack(fake(tag), allUpTo));
  }
  ackAll(): void {
    this.send('ackAll', [], () => this.raw.ackAll());
  }
  nack(m: Message | number, allUpTo = false, requeue = true): void {
    const tag = typeof m === 'number' ? m : m.fields.deliveryTag;
    this.send('nack', [tag, allUpTo, requeue], () => this.raw.nack(fake(tag), allUpTo, requeue));
  }
  nackAll(requeue = true): void {
    this.send('nackAll', [requeue], () => this.raw.nackAll(requeue));
  }
  reject(m: Message | number, requeue = true): void {
    const tag = typeof m === 'number' ? m : m.fields.deliveryTag;
    this.send('reject', [tag, requeue], () => this.raw.reject(fake(tag), requeue));
  }

  /**
   * An unrecorded round trip: when it returns, the broker has taken in everything sent before on this
   * channel. A timed wait for expiry must start here, not when the client wrote the publishes, or a
   * loaded machine makes the broker enqueue them late and the wait too short.
   */
  async processed(): Promise<void> {
    await this.raw.checkExchange('amq.direct');
  }

  /** Wait until every message published on this confirm channel is acked or nacked; record them. */
  async waitConfirms(timeoutMs = TAKE_TIMEOUT_MS): Promise<{ ack: number[]; nack: number[] }> {
    const ok = await waitUntil(() => this.confirms.size >= this.published || this.state === 'closed', timeoutMs);
    const res = this.recordConfirms();
    if (!ok) {
      this.t.events.push({ confirms: this.label, timeout: `${this.confirms.size} of ${this.published}` });
      throw new ScenarioAbort(`confirms on ${this.label}: ${this.confirms.size} of ${this.published}`);
    }
    return res;
  }

  private recordConfirms(): { ack: number[]; nack: number[] } {
    const ack: number[] = [];
    const nack: number[] = [];
    for (const [tag, kind] of [...this.confirms].sort((a, b) => a[0] - b[0])) (kind === 'ack' ? ack : nack).push(tag);
    if (this.confirms.size !== this.confirmsRecorded) {
      this.t.events.push({ confirms: this.label, ack: compressTags(ack), nack: compressTags(nack) });
      this.confirmsRecorded = this.confirms.size;
    }
    return { ack, nack };
  }

  /** Wait for n basic.return messages, record them. */
  async takeReturns(n = 1, timeoutMs = TAKE_TIMEOUT_MS): Promise<Message[]> {
    const ok = await waitUntil(() => this.returns.length - this.returnsTaken >= n, timeoutMs);
    const got = this.returns.slice(this.returnsTaken, this.returnsTaken + n);
    this.returnsTaken += got.length;
    for (const m of got) this.t.events.push(renderMessage('return', this.label, m));
    if (!ok) {
      this.t.events.push({ return: this.label, timeout: `${got.length} of ${n}` });
      throw new ScenarioAbort(`returns on ${this.label}: ${got.length} of ${n}`);
    }
    return got;
  }

  /** Wait for the server to close this channel (an asynchronous error), and record how. */
  async closed(timeoutMs = TAKE_TIMEOUT_MS): Promise<Json> {
    const ok = await waitUntil(() => this.closeState.state === 'closed', timeoutMs);
    if (!ok) {
      this.t.events.push({ ch: this.label, closed: 'timeout' });
      throw new ScenarioAbort(`channel ${this.label} was not closed by the server`);
    }
    const v = this.stateView();
    this.t.events.push({ ch: this.label, closed: v });
    return v;
  }

  /** Client-initiated channel.close, recorded. */
  async close(): Promise<void> {
    await this.op('close', [], () => this.raw.close());
    this.closeState = { state: 'closed', by: 'client' };
  }

  /**
   * A round trip that reveals a close the server already sent (e.g. after an unknown delivery tag)
   * without recording anything else: a passive declare of amq.direct, which every broker answers and
   * which changes nothing. (basic.qos would not do: a per-consumer qos lifts a global prefetch limit
   * in RabbitMQ 3.x and releases deliveries.)
   */
  async ping(): Promise<void> {
    if (this.closeState.state !== 'open' || this.conn.state !== 'open') return;
    const rpc = (this.raw as unknown as { rpc: (m: number, f: Record<string, unknown>, e: number) => Promise<unknown> }).rpc.bind(this.raw);
    try {
      await Promise.race([rpc(METHOD(40, 10), { exchange: 'amq.direct', type: 'direct', passive: true, durable: true, autoDelete: false, internal: false, nowait: false, arguments: {} }, METHOD(40, 11)), sleep(2_000)]);
    } catch (err) {
      const info = errorInfo(err);
      if (this.closeState.state === 'open') this.closeState = { state: 'closed', by: info.code ? 'server' : 'socket', info };
    }
  }

  /**
   * An unrecorded round trip that proves the broker processed everything sent before on this
   * channel: a passive queue.declare of `queue` (in RabbitMQ that also waits for the queue process
   * to handle the channel's earlier messages to it), or without a queue the ping above. Only for a
   * queue that certainly exists: a 404 would close the channel.
   */
  async sync(queue?: string): Promise<void> {
    if (queue === undefined) return this.ping();
    if (this.closeState.state !== 'open' || this.conn.state !== 'open') return;
    await this.passiveDeclare(queue);
  }

  /**
   * Waits, unrecorded, until `queue` holds at least `count` messages (or TAKE_TIMEOUT_MS passed):
   * for work RabbitMQ does asynchronously between queue processes (dead-lettering, quorum queue
   * enqueue), before the step that records the outcome. Warren does it at once: the first look finds it.
   */
  async waitForCount(queue: string, count: number, timeoutMs = TAKE_TIMEOUT_MS): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.closeState.state === 'open' && this.conn.state === 'open') {
      const n = await this.passiveDeclare(queue);
      if (n === undefined || n >= count || Date.now() > deadline) return;
      await sleep(5);
    }
  }

  /** queue.declare passive through amqplib's codec, unrecorded: the message count, or undefined when it failed. */
  private async passiveDeclare(queue: string): Promise<number | undefined> {
    const rpc = (this.raw as unknown as { rpc: (m: number, f: Record<string, unknown>, e: number) => Promise<{ messageCount: number }> }).rpc.bind(this.raw);
    try {
      const ok = await rpc(METHOD(50, 10), { queue, passive: true, durable: true, exclusive: false, autoDelete: false, nowait: false, ticket: 0 }, METHOD(50, 11));
      return ok.messageCount;
    } catch (err) {
      const info = errorInfo(err);
      if (this.closeState.state === 'open') this.closeState = { state: 'closed', by: info.code ? 'server' : 'socket', info };
      return undefined;
    }
  }

  /** Record anything that arrived and was not taken. */
  flush(): void {
    for (const c of this.consumers.values()) c.flush();
    for (const m of this.returns.slice(this.returnsTaken)) this.t.events.push(renderMessage('return', this.label, m));
    this.returnsTaken = this.returns.length;
    if (this.confirm) this.recordConfirms();
  }
}

function fake(tag: number): Message {
  return { fields: { deliveryTag: tag } } as unknown as Message;
}

/** [1,2,3,5] -> "1-3,5": confirms may be coalesced with `multiple` differently, the set is what counts. */
function compressTags(tags: number[]): string {
  const parts: string[] = [];
  let i = 0;
  while (i < tags.length) {
    let j = i;
    while (j + 1 < tags.length && tags[j + 1] === tags[j]! + 1) j++;
    parts.push(i === j ? `${tags[i]}` : `${tags[i]}-${tags[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}
