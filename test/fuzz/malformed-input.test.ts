/**
 * Malformed input over TCP: thousands of client sessions, each a valid session (handshake, channels,
 * declares, publishes with content, consumers, acks, transactions, confirms) mutated at the byte and
 * frame level (bytes, sizes, types, channels and method ids changed, frames duplicated, dropped,
 * swapped, cut short, padded, garbage inserted, the stream truncated) and sent in random chunks.
 *
 * Every session must end, within a bound, in one of: connection.close with a known reply code, a
 * channel.close with a soft-error code, the broker closing the socket (handshake failures, refused
 * protocol headers, unparseable frames), or the connection still open after its input was used up
 * (then the test closes it and counts it). A session that does none of these is a hang: failure.
 *
 * Meanwhile a well-behaved amqplib client keeps doing publish/consume round trips, the broker's
 * heap stays bounded, and every connection is gone at the end.
 *
 *   WARREN_FUZZ_SESSIONS=20000 WARREN_FUZZ_SEED=1234 npx vitest run --project unit test/fuzz
 *
 * Sessions are reproducible from (seed, index), timing aside; a failure prints both.
 */
import amqp from 'amqplib';
import { connect, type Socket } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type RunningBroker } from '../../src/index.js';
import { Reader, Writer } from '../../src/protocol/codec-primitives.js';
import { fv, table } from '../../src/protocol/field-table.js';
import { FRAME_BODY, FRAME_HEADER, PROTOCOL_HEADER, REPLY_CODE_INFO } from '../../src/protocol/generated/constants.js';
import * as M from '../../src/protocol/generated/methods.js';
import { encodeBasicProperties, type BasicProperties } from '../../src/protocol/generated/properties.js';

const SESSIONS = Number(process.env.WARREN_FUZZ_SESSIONS ?? 2000);
const SEED = Number(process.env.WARREN_FUZZ_SEED ?? 0x5eed_0002);
/** Runs this one session only (with its seed), to replay a failure. */
const ONLY = process.env.WARREN_FUZZ_ONLY === undefined ? undefined : Number(process.env.WARREN_FUZZ_ONLY);
const CONCURRENCY = Number(process.env.WARREN_FUZZ_CONCURRENCY ?? 48);
const HANDSHAKE_TIMEOUT_MS = 800;
const CLOSE_TIMEOUT_MS = 300;
/** Longest a session may take to reach an outcome after its last byte is sent: beyond it, a hang. */
const OUTCOME_BOUND_MS = HANDSHAKE_TIMEOUT_MS + CLOSE_TIMEOUT_MS + 3000;
/** After open-ok and all input sent, this long without a frame from the broker means "open". */
const QUIET_MS = 150;

// ---------------------------------------------------------------------------------------------
// Deterministic randomness: one generator per session, from (seed, index).

class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 1;
  }
  /** mulberry32 */
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }
}

// ---------------------------------------------------------------------------------------------
// Seed sessions: what well-behaved clients send. A step is a frame (or the protocol header), or a
// pause that lets the broker act before the next step (a delivery before its ack).

type Step = Buffer | 'pause';

function enc(f: (w: Writer) => void): Buffer {
  const w = new Writer(256);
  f(w);
  return Buffer.from(w.bytes());
}

function handshake(frameMax: number, heartbeat = 0): Step[] {
  const clientProperties = table([
    ['product', fv.str('warren-fuzz')],
    ['capabilities', fv.table(table([['publisher_confirms', fv.bool(true)], ['consumer_cancel_notify', fv.bool(true)], ['basic.nack', fv.bool(true)]]))],
  ]);
  return [
    PROTOCOL_HEADER,
    enc((w) => M.encodeConnectionStartOk(w, 0, { clientProperties, mechanism: 'PLAIN', response: Buffer.from('\0guest\0guest'), locale: 'en_US' })),
    enc((w) => M.encodeConnectionTuneOk(w, 0, { channelMax: 16, frameMax, heartbeat })),
    enc((w) => M.encodeConnectionOpen(w, 0, { virtualHost: '/' })),
  ];
}

function content(channel: number, body: Buffer, frameMax: number, props: BasicProperties): Buffer[] {
  const header = enc((w) => {
    const s = w.frameStart(FRAME_HEADER, channel);
    w.short(60);
    w.short(0);
    w.longlong(body.length);
    encodeBasicProperties(w, props);
    w.frameEnd(s);
  });
  const out = [header];
  for (let at = 0; at < body.length; at += frameMax - 8) {
    out.push(enc((w) => {
      const s = w.frameStart(FRAME_BODY, channel);
      w.raw(body, at, Math.min(body.length, at + frameMax - 8));
      w.frameEnd(s);
    }));
  }
  return out;
}

function publish(channel: number, exchange: string, routingKey: string, body: Buffer, frameMax: number, mandatory = false): Buffer[] {
  const props: BasicProperties = {
    contentType: 'text/plain',
    deliveryMode: 2,
    priority: 3,
    headers: table([['x-fuzz', fv.int(1)], ['list', fv.array([fv.str('a'), fv.long(2)])]]),
    messageId: 'm-1',
    timestamp: 1700000000,
    expiration: '60000',
  };
  return [enc((w) => M.encodeBasicPublish(w, channel, { exchange, routingKey, mandatory })), ...content(channel, body, frameMax, props)];
}

const closeConnection = enc((w) => M.encodeConnectionClose(w, 0, { replyCode: 200, replyText: 'bye', classId: 0, methodId: 0 }));
const heartbeat = enc((w) => w.frameEnd(w.frameStart(8, 0)));

function seeds(q: string): Step[][] {
  const big = 4096;
  const small = Buffer.from('hello, fuzzing world: 32 bytes!!');
  return [
    // Publish, consume, ack, cancel, close everything.
    [
      ...handshake(131072),
      enc((w) => M.encodeChannelOpen(w, 1, {})),
      enc((w) => M.encodeQueueDeclare(w, 1, { queue: q, exclusive: true, arguments: table([['x-max-length', fv.int(10)], ['x-message-ttl', fv.int(60000)]]) })),
      ...publish(1, '', q, small, 131072, true),
      enc((w) => M.encodeBasicConsume(w, 1, { queue: q, consumerTag: 'c1' })),
      'pause',
      enc((w) => M.encodeBasicAck(w, 1, { deliveryTag: 1 })),
      enc((w) => M.encodeBasicCancel(w, 1, { consumerTag: 'c1' })),
      enc((w) => M.encodeChannelClose(w, 1, { replyCode: 200, replyText: 'done', classId: 0, methodId: 0 })),
      'pause',
      closeConnection,
    ],
    // Small frame_max: a body over several frames; confirms, get, nack, qos, recover.
    [
      ...handshake(big),
      enc((w) => M.encodeChannelOpen(w, 1, {})),
      enc((w) => M.encodeConfirmSelect(w, 1, {})),
      enc((w) => M.encodeQueueDeclare(w, 1, { queue: q, autoDelete: true, exclusive: true })),
      ...publish(1, '', q, Buffer.alloc(10_000, 0x61), big),
      'pause',
      enc((w) => M.encodeBasicGet(w, 1, { queue: q })),
      'pause',
      enc((w) => M.encodeBasicNack(w, 1, { deliveryTag: 1, requeue: true })),
      enc((w) => M.encodeBasicQos(w, 1, { prefetchCount: 5 })),
      enc((w) => M.encodeBasicRecover(w, 1, { requeue: true })),
      heartbeat,
      closeConnection,
    ],
    // Exchanges and bindings, transactions.
    [
      ...handshake(131072),
      enc((w) => M.encodeChannelOpen(w, 2, {})),
      enc((w) => M.encodeExchangeDeclare(w, 2, { exchange: `${q}.x`, type: 'topic', autoDelete: true })),
      enc((w) => M.encodeQueueDeclare(w, 2, { queue: q, exclusive: true })),
      enc((w) => M.encodeQueueBind(w, 2, { queue: q, exchange: `${q}.x`, routingKey: 'a.#' })),
      enc((w) => M.encodeTxSelect(w, 2)),
      ...publish(2, `${q}.x`, 'a.b', small, 131072),
      enc((w) => M.encodeTxCommit(w, 2)),
      ...publish(2, `${q}.x`, 'a.c', Buffer.alloc(0), 131072),
      enc((w) => M.encodeTxRollback(w, 2)),
      enc((w) => M.encodeExchangeBind(w, 2, { destination: 'amq.topic', source: `${q}.x`, routingKey: '#' })),
      enc((w) => M.encodeExchangeUnbind(w, 2, { destination: 'amq.topic', source: `${q}.x`, routingKey: '#' })),
      enc((w) => M.encodeQueueUnbind(w, 2, { queue: q, exchange: `${q}.x`, routingKey: 'a.#' })),
      enc((w) => M.encodeQueuePurge(w, 2, { queue: q })),
      enc((w) => M.encodeQueueDelete(w, 2, { queue: q })),
      enc((w) => M.encodeExchangeDelete(w, 2, { exchange: `${q}.x` })),
      closeConnection,
    ],
    // Two channels interleaved, flow control, heartbeats, one channel closed early.
    [
      ...handshake(8192, 0),
      enc((w) => M.encodeChannelOpen(w, 1, {})),
      enc((w) => M.encodeChannelOpen(w, 3, {})),
      heartbeat,
      enc((w) => M.encodeQueueDeclare(w, 3, { queue: q, exclusive: true })),
      enc((w) => M.encodeBasicConsume(w, 1, { queue: q, noAck: true, consumerTag: 'c3' })),
      ...publish(3, '', q, Buffer.alloc(9000, 0x62), 8192),
      ...publish(1, 'amq.direct', 'nowhere', small, 8192, true),
      // active=false is refused by RabbitMQ (540, flow control by the client is not implemented).
      enc((w) => M.encodeChannelFlow(w, 3, { active: true })),
      'pause',
      enc((w) => M.encodeChannelClose(w, 3, { replyCode: 200, replyText: '', classId: 0, methodId: 0 })),
      heartbeat,
      enc((w) => M.encodeBasicGet(w, 1, { queue: q, noAck: true })),
      'pause',
      closeConnection,
    ],
  ];
}

// ---------------------------------------------------------------------------------------------
// Mutations

const METHOD_KEYS = [...M.METHOD_INFO.keys()];
const INTERESTING_OCTETS = [0, 1, 2, 3, 4, 7, 8, 0x7f, 0x80, 0xce, 0xfe, 0xff];
const INTERESTING_SIZES = [0, 1, 3, 4, 7, 8, 11, 12, 4087, 4088, 4089, 4096, 4097, 131072, 131073, 0x7fffffff, 0xffffffff];

/** Steps that are frames: not pauses, not the protocol header, not inserted garbage. */
function frameIndexes(steps: Step[]): number[] {
  return steps.flatMap((s, i) => (s !== 'pause' && s !== PROTOCOL_HEADER && s.length >= 8 && s[s.length - 1] === 0xce ? [i] : []));
}

type Mutation = (rng: Rng, steps: Step[]) => string;

const MUTATIONS: Record<string, Mutation> = {
  flipByte(rng, steps) {
    const i = rng.pick(frameIndexes(steps));
    const f = Buffer.from(steps[i] as Buffer);
    const at = rng.int(f.length);
    f[at] = f[at]! ^ (1 << rng.int(8));
    steps[i] = f;
    return `flip frame ${i} byte ${at}`;
  },
  setByte(rng, steps) {
    const i = rng.pick(frameIndexes(steps));
    const f = Buffer.from(steps[i] as Buffer);
    const at = rng.int(f.length);
    f[at] = rng.chance(0.5) ? rng.pick(INTERESTING_OCTETS) : rng.int(256);
    steps[i] = f;
    return `set frame ${i} byte ${at}`;
  },
  frameSize(rng, steps) {
    const i = rng.pick(frameIndexes(steps));
    const f = Buffer.from(steps[i] as Buffer);
    const size = f.readUInt32BE(3);
    const next = rng.chance(0.5) ? rng.pick(INTERESTING_SIZES) : Math.max(0, size + rng.range(-3, 3));
    f.writeUInt32BE(next >>> 0, 3);
    steps[i] = f;
    return `frame ${i} size ${size} -> ${next}`;
  },
  frameType(rng, steps) {
    const i = rng.pick(frameIndexes(steps));
    const f = Buffer.from(steps[i] as Buffer);
    f[0] = rng.chance(0.7) ? rng.pick([0, 1, 2, 3, 4, 8, 9, 65, 206, 255]) : rng.int(256);
    steps[i] = f;
    return `frame ${i} type -> ${f[0]}`;
  },
  frameChannel(rng, steps) {
    const i = rng.pick(frameIndexes(steps));
    const f = Buffer.from(steps[i] as Buffer);
    const ch = rng.pick([0, 1, 2, 3, 15, 16, 17, 2047, 2048, 65535, rng.int(65536)]);
    f.writeUInt16BE(ch, 1);
    steps[i] = f;
    return `frame ${i} channel -> ${ch}`;
  },
  methodId(rng, steps) {
    const methods = frameIndexes(steps).filter((i) => (steps[i] as Buffer)[0] === 1 && (steps[i] as Buffer).length >= 12);
    if (methods.length === 0) return 'methodId (none)';
    const i = rng.pick(methods);
    const f = Buffer.from(steps[i] as Buffer);
    const key = rng.chance(0.8) ? rng.pick(METHOD_KEYS) : rng.int(2 ** 32);
    f.writeUInt32BE(key >>> 0, 7);
    steps[i] = f;
    return `frame ${i} method -> ${M.methodName(key >>> 0)}`;
  },
  cutPayload(rng, steps) {
    // A consistent frame whose payload is shorter than its method or header needs.
    const i = rng.pick(frameIndexes(steps));
    const f = steps[i] as Buffer;
    const size = f.length - 8;
    const keep = rng.int(size + 1);
    const g = Buffer.concat([f.subarray(0, 7 + keep), Buffer.from([0xce])]);
    g.writeUInt32BE(keep, 3);
    steps[i] = g;
    return `frame ${i} payload cut to ${keep}`;
  },
  padPayload(rng, steps) {
    const i = rng.pick(frameIndexes(steps));
    const f = steps[i] as Buffer;
    const size = f.length - 8;
    const extra = rng.bytes(rng.range(1, 16));
    const g = Buffer.concat([f.subarray(0, 7 + size), extra, Buffer.from([0xce])]);
    g.writeUInt32BE(size + extra.length, 3);
    steps[i] = g;
    return `frame ${i} padded by ${extra.length}`;
  },
  duplicate(rng, steps) {
    const i = rng.pick(frameIndexes(steps));
    steps.splice(i, 0, steps[i]!);
    return `frame ${i} duplicated`;
  },
  drop(rng, steps) {
    const i = rng.pick(frameIndexes(steps));
    steps.splice(i, 1);
    return `frame ${i} dropped`;
  },
  swap(rng, steps) {
    const xs = frameIndexes(steps);
    const a = rng.pick(xs);
    const b = rng.pick(xs);
    [steps[a], steps[b]] = [steps[b]!, steps[a]!];
    return `frames ${a} and ${b} swapped`;
  },
  garbage(rng, steps) {
    const at = rng.int(steps.length + 1);
    steps.splice(at, 0, rng.bytes(rng.range(1, 40)));
    return `garbage before step ${at}`;
  },
  header(rng, steps) {
    const h = Buffer.from(PROTOCOL_HEADER);
    h[rng.int(8)] = rng.int(256);
    steps[0] = h;
    return `protocol header -> ${h.toString('hex')}`;
  },
  bodySize(rng, steps) {
    const headers = frameIndexes(steps).filter((i) => (steps[i] as Buffer)[0] === 2 && (steps[i] as Buffer).length >= 20);
    if (headers.length === 0) return 'bodySize (none)';
    const i = rng.pick(headers);
    const f = Buffer.from(steps[i] as Buffer);
    const size = rng.pick([0n, 1n, 31n, 33n, 10_001n, 2n ** 32n, 2n ** 63n, BigInt(rng.int(100_000))]);
    f.writeBigUInt64BE(size, 11);
    steps[i] = f;
    return `frame ${i} body size -> ${size}`;
  },
};
const MUTATION_NAMES = Object.keys(MUTATIONS);

/** The session's bytes: a seed, mutated, then cut into chunks with the pauses kept. */
function buildSession(seed: number, index: number): { chunks: (Buffer | 'pause')[]; description: string[] } {
  const rng = new Rng(seed ^ Math.imul(index + 1, 0x9e3779b1));
  const q = `fuzz-${index}`;
  const steps = [...rng.pick(seeds(q))];
  const description: string[] = [];
  const n = rng.chance(0.08) ? 0 : rng.range(1, 3);
  for (let k = 0; k < n; k++) description.push(MUTATIONS[rng.pick(MUTATION_NAMES)]!(rng, steps));
  // Truncate the whole stream sometimes.
  const total = steps.reduce((n, s) => n + (s === 'pause' ? 0 : s.length), 0);
  let truncateAt = total;
  if (rng.chance(0.12)) {
    truncateAt = rng.int(total);
    description.push(`truncated at ${truncateAt}/${total}`);
  }
  // Re-split into chunks, keeping the pause positions, with random chunk sizes.
  const chunks: (Buffer | 'pause')[] = [];
  let sent = 0;
  const maxChunk = rng.pick([1, 3, 16, 200, 5000, 1 << 20]);
  for (const s of steps) {
    if (s === 'pause') {
      chunks.push('pause');
      continue;
    }
    let at = 0;
    while (at < s.length && sent < truncateAt) {
      const n = Math.min(s.length - at, truncateAt - sent, rng.range(1, maxChunk));
      chunks.push(s.subarray(at, at + n));
      at += n;
      sent += n;
    }
  }
  return { chunks, description };
}

// ---------------------------------------------------------------------------------------------
// One session over TCP

type Outcome =
  | { kind: 'connection.close'; code: number; text: string }
  | { kind: 'channel.close'; code: number; text: string }
  | { kind: 'socket-close'; headerRefused: boolean }
  | { kind: 'open' }
  | { kind: 'close-ok' }
  | { kind: 'hang'; detail: string };

class FuzzClient {
  private buf: Buffer = Buffer.alloc(0);
  headerRefused = false;
  openOk = false;
  /** The broker confirmed the session's own connection.close. */
  closeOk = false;
  connectionClose: { code: number; text: string } | undefined;
  channelClose: { code: number; text: string } | undefined;
  closed = false;
  lastFrameAt = Date.now();
  /** What the broker sent, for failure reports. */
  readonly received: string[] = [];
  private waiters: (() => void)[] = [];

  constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => this.onData(d));
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => {});
  }

  private onData(d: Buffer): void {
    this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
    for (;;) {
      if (this.buf.length >= 8 && this.buf.toString('latin1', 0, 4) === 'AMQP') {
        this.headerRefused = true;
        this.buf = this.buf.subarray(8);
        continue;
      }
      if (this.buf.length < 7) break;
      const size = this.buf.readUInt32BE(3);
      if (this.buf.length < size + 8) break;
      const type = this.buf[0]!;
      const channel = this.buf.readUInt16BE(1);
      const payload = this.buf.subarray(7, 7 + size);
      this.buf = this.buf.subarray(size + 8);
      if (type !== 8) this.lastFrameAt = Date.now();
      if (type === 1 && size >= 4) this.onMethod(channel, payload);
    }
    this.wake();
  }

  private onMethod(channel: number, payload: Buffer): void {
    const key = payload.readUInt32BE(0);
    let m: M.AnyMethod | undefined;
    try {
      m = M.decodeMethod(key, new Reader(payload, 4));
    } catch {
      return;
    }
    if (m === undefined) return;
    this.received.push(`${channel}:${M.methodName(m.id)}${'replyCode' in m ? ` ${m.replyCode}` : ''}`);
    if (m.id === M.Method.ConnectionOpenOk) this.openOk = true;
    else if (m.id === M.Method.ConnectionCloseOk) this.closeOk = true;
    else if (m.id === M.Method.ConnectionClose) this.connectionClose ??= { code: m.replyCode, text: m.replyText };
    else if (m.id === M.Method.ChannelClose) this.channelClose ??= { code: m.replyCode, text: m.replyText };
    // A well-behaved client answers a channel.close; the session ends with it anyway.
    void channel;
  }

  private wake(): void {
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w();
  }

  /** Resolves on the next event or after `ms`. */
  tick(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.waiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  write(b: Buffer): void {
    if (!this.closed && !this.socket.destroyed) this.socket.write(b);
  }

  /** Waits for the socket to close; false if it does not within `ms`. */
  async waitClosed(ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (!this.closed && Date.now() < deadline) await this.tick(deadline - Date.now());
    return this.closed;
  }
}

async function runSession(port: number, seed: number, index: number): Promise<{ outcome: Outcome; description: string[] }> {
  const { chunks, description } = buildSession(seed, index);
  const rng = new Rng(seed + index * 7919);
  const socket = await new Promise<Socket>((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
  socket.setNoDelay(true);
  const c = new FuzzClient(socket);
  try {
    for (const chunk of chunks) {
      if (c.closed || c.connectionClose || c.channelClose) break;
      if (chunk === 'pause') {
        await c.tick(15);
        continue;
      }
      c.write(chunk);
      if (rng.chance(0.05)) await c.tick(rng.range(1, 5));
    }
    const sentAt = Date.now();
    for (;;) {
      if (c.connectionClose) {
        // Answer close-ok half the time; either way the broker must close the socket itself.
        if (rng.chance(0.5)) c.write(enc((w) => M.encodeConnectionCloseOk(w, 0)));
        if (!(await c.waitClosed(CLOSE_TIMEOUT_MS + 2000))) {
          return { outcome: { kind: 'hang', detail: `socket still open after connection.close ${c.connectionClose.code}` }, description };
        }
        return { outcome: { kind: 'connection.close', ...c.connectionClose }, description };
      }
      if (c.channelClose) {
        const outcome: Outcome = { kind: 'channel.close', ...c.channelClose };
        c.channelClose = undefined;
        const problem = await closeOpenSession(c, rng);
        if (problem) return { outcome: { kind: 'hang', detail: `after channel.close ${outcome.code}: ${problem} (received ${c.received.join(', ')})` }, description };
        return { outcome, description };
      }
      if (c.closed) return { outcome: { kind: 'socket-close', headerRefused: c.headerRefused }, description };
      // The session's own connection.close was confirmed: the client hangs up, as clients do.
      if (c.closeOk) return { outcome: { kind: 'close-ok' }, description };
      const now = Date.now();
      if (c.openOk && now - Math.max(sentAt, c.lastFrameAt) >= QUIET_MS) {
        const problem = await closeOpenSession(c, rng);
        if (problem) return { outcome: { kind: 'hang', detail: `left open: ${problem} (received ${c.received.join(', ')})` }, description };
        return { outcome: { kind: 'open' }, description };
      }
      if (now - sentAt > OUTCOME_BOUND_MS) {
        return { outcome: { kind: 'hang', detail: `no outcome ${OUTCOME_BOUND_MS} ms after the last byte (open-ok: ${c.openOk})` }, description };
      }
      await c.tick(QUIET_MS / 3);
    }
  } finally {
    socket.destroy();
  }
}

/** Enough zero octets to complete any partial frame (frame_max is at most 131072) and then some. */
const FLUSH = Buffer.alloc(131072 + 16);

/**
 * Ends a session the broker left open, in one of three ways: dropping the socket; connection.close
 * (answered by close-ok, or by the broker's own connection.close if it was busy with a broken
 * stream); or a flush of zero octets. Zeros complete whatever partial frame the broker is waiting
 * for and then fail its frame-end check (or, from a frame boundary, form a frame whose end octet is
 * 0), so the broker must close the connection: its reaction is checkable even when the mutated
 * stream left it in the middle of a frame, where a connection.close would only be read as more
 * payload. Returns a description of what went wrong, or undefined.
 */
async function closeOpenSession(c: FuzzClient, rng: Rng): Promise<string | undefined> {
  const how = rng.int(3);
  // Already closing at the client's request (a connection.close later in the stream): hang up.
  if (how === 0 || c.closeOk) return undefined;
  if (how === 1) {
    c.write(closeConnection);
    const deadline = Date.now() + 500;
    while (!c.closed && !c.connectionClose && Date.now() < deadline) await c.tick(deadline - Date.now());
    if (c.closed) return undefined;
    if (c.connectionClose) {
      c.write(enc((w) => M.encodeConnectionCloseOk(w, 0)));
      return (await c.waitClosed(CLOSE_TIMEOUT_MS + 2000)) ? undefined : 'socket still open after close-ok';
    }
    // No answer: the close was swallowed by a partial frame. Flush.
  }
  c.write(FLUSH);
  const deadline = Date.now() + CLOSE_TIMEOUT_MS + 3000;
  while (!c.closed && Date.now() < deadline) await c.tick(deadline - Date.now());
  if (!c.closed) return `socket still open after the zero flush (connection.close: ${JSON.stringify(c.connectionClose)})`;
  // The zeros themselves give 501, but what was still queued before them may fail first (any
  // connection error, or input RabbitMQ answers by closing the socket silently).
  const code = c.connectionClose?.code;
  if (code !== undefined && (!REPLY_CODE_INFO.has(code) || code === 200)) return `zero flush answered with unknown code ${code}`;
  return undefined;
}

// ---------------------------------------------------------------------------------------------

let running: RunningBroker;
const internalErrors: string[] = [];

function commonText(t: Map<string, number> | undefined): string {
  if (t === undefined) return '';
  const [text, n] = [...t].sort((a, b) => b[1] - a[1])[0]!;
  return `  (most often, ${n}x: '${text.length > 100 ? `${text.slice(0, 100)}...` : text}')`;
}

function forceGc(): () => void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) return g;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

beforeAll(async () => {
  // Errors logged by the broker are kept: an "internal error" means an exception nobody expected.
  const sink = {
    write(line: string) {
      if (line.includes('internal error') || line.includes('unexpected failure')) internalErrors.push(line);
    },
  };
  running = await startBroker({
    port: 0,
    rabbitmqVersion: '3.10',
    logger: pino({ level: 'error' }, sink),
    silentCloseDelayMs: 20,
    handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS,
    closeTimeoutMs: CLOSE_TIMEOUT_MS,
  });
});

afterAll(async () => {
  await running?.close();
});

describe('malformed input', () => {
  it(`${SESSIONS} mutated sessions (seed ${SEED}) each end within a bound; a good client is unaffected`, async () => {
    const gc = forceGc();
    const port = running.port;

    // The well-behaved client: publish and consume round trips until the fuzzing is over.
    const conn = await amqp.connect(running.url);
    let goodClientError: Error | undefined;
    conn.on('error', (e: Error) => {
      goodClientError = e;
    });
    const ch = await conn.createChannel();
    ch.on('error', (e: Error) => {
      goodClientError = e;
    });
    const { queue } = await ch.assertQueue('', { exclusive: true });
    const waiting = new Map<string, () => void>();
    await ch.consume(queue, (msg) => {
      if (msg === null) return;
      ch.ack(msg);
      waiting.get(msg.content.toString())?.();
    });
    let roundTrips = 0;
    let stop = false;
    const roundTripLoop = (async () => {
      while (!stop) {
        const id = `rt-${roundTrips}`;
        const got = new Promise<boolean>((resolve) => {
          const t = setTimeout(() => resolve(false), 10_000);
          waiting.set(id, () => {
            clearTimeout(t);
            resolve(true);
          });
        });
        ch.sendToQueue(queue, Buffer.from(id), { headers: { n: roundTrips } });
        if (!(await got)) {
          throw new Error(`seed ${SEED}: round trip ${id} did not complete within 10 s (${goodClientError?.message ?? 'no client error'}; broker: ${internalErrors.join('\n')})`);
        }
        waiting.delete(id);
        roundTrips++;
        await new Promise((r) => setTimeout(r, 5));
      }
    })();

    // Baseline memory once the broker and the good client are warm.
    for (let i = 0; i < 20; i++) await runSession(port, SEED, SESSIONS + i);
    gc();
    const before = process.memoryUsage();

    const outcomes = new Map<string, number>();
    /** Reply texts per outcome, for the report (the most frequent one is shown). */
    const texts = new Map<string, Map<string, number>>();
    const failures: string[] = [];
    const indexes = ONLY === undefined ? [...Array(SESSIONS).keys()] : [ONLY];
    let next = 0;
    const worker = async () => {
      while (next < indexes.length) {
        const index = indexes[next++]!;
        let session: Awaited<ReturnType<typeof runSession>>;
        try {
          session = await runSession(port, SEED, index);
        } catch (e) {
          failures.push(`session ${index} (seed ${SEED}): the test itself failed: ${(e as Error).stack}`);
          continue;
        }
        const { outcome, description } = session;
        let key: string;
        switch (outcome.kind) {
          case 'connection.close':
            key = `connection.close ${outcome.code}`;
            if (!REPLY_CODE_INFO.has(outcome.code) || outcome.code === 200) {
              failures.push(`session ${index} (seed ${SEED}): unknown reply code ${outcome.code} '${outcome.text}' after ${description.join('; ')}`);
            }
            break;
          case 'channel.close':
            key = `channel.close ${outcome.code}`;
            if (REPLY_CODE_INFO.get(outcome.code)?.errorClass !== 'soft') {
              failures.push(`session ${index} (seed ${SEED}): channel.close with non-soft code ${outcome.code} '${outcome.text}' after ${description.join('; ')}`);
            }
            break;
          case 'socket-close':
            key = outcome.headerRefused ? 'socket closed (protocol header refused)' : 'socket closed by the broker';
            break;
          case 'open':
            key = 'left open by the broker, closed by the test';
            break;
          case 'close-ok':
            key = "the session's own connection.close confirmed";
            break;
          case 'hang':
            key = 'HANG';
            failures.push(`session ${index} (seed ${SEED}): ${outcome.detail} after ${description.join('; ')}`);
            break;
        }
        outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
        if (outcome.kind === 'connection.close' || outcome.kind === 'channel.close') {
          const t = texts.get(key) ?? new Map<string, number>();
          t.set(outcome.text, (t.get(outcome.text) ?? 0) + 1);
          texts.set(key, t);
        }
      }
    };
    const started = Date.now();
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    const elapsed = Date.now() - started;

    stop = true;
    await roundTripLoop;
    await conn.close();

    // Every connection is gone (the sockets are closed; the broker may take a moment to notice).
    const deadline = Date.now() + 5000;
    while (running.broker.connections.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    // A terminated connection stays reachable for a second from its socket-destroy timer (and with
    // it its 256 KiB output slab): let those timers run before measuring.
    await new Promise((r) => setTimeout(r, 1500));
    gc();
    const after = process.memoryUsage();
    const mb = (n: number) => Math.round(n / 1024 / 1024);
    const report = [
      `fuzz: ${SESSIONS} sessions, seed ${SEED}, concurrency ${CONCURRENCY}, ${elapsed} ms, ${roundTrips} good-client round trips`,
      ...[...outcomes].sort((a, b) => b[1] - a[1]).map(([k, n]) => `  ${String(n).padStart(6)}  ${k}${commonText(texts.get(k))}`),
      `  heap ${mb(before.heapUsed)} -> ${mb(after.heapUsed)} MB, array buffers ${mb(before.arrayBuffers)} -> ${mb(after.arrayBuffers)} MB`,
      `  queues left in vhost '/': ${running.broker.vhosts.get('/')?.queues.size}`,
      `  unexpected internal errors logged: ${internalErrors.length}`,
    ].join('\n');
    console.log(report);

    expect(failures.slice(0, 20), `seed ${SEED}\n${report}`).toEqual([]);
    expect(running.broker.connections.size, `seed ${SEED}`).toBe(0);
    expect(roundTrips, `seed ${SEED}`).toBeGreaterThan(0);
    // Generous: a leak of per-connection state (a 256 KiB output slab each) would exceed it quickly.
    expect(after.heapUsed - before.heapUsed, `seed ${SEED}: heap growth`).toBeLessThan(64 * 1024 * 1024);
    expect(after.arrayBuffers - before.arrayBuffers, `seed ${SEED}: buffer growth`).toBeLessThan(64 * 1024 * 1024);
    expect(internalErrors.slice(0, 5), `seed ${SEED}: exceptions the broker did not expect`).toEqual([]);
  }, Math.max(120_000, 60_000 + SESSIONS * 20));
});
