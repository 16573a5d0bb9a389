/**
 * Codec throughput (not a test): how many frames per second the inbound path decodes and the
 * outbound path encodes, for the shapes that dominate a broker's work.
 *
 *   npm run bench:codec            (compiles bench/ and src/ with tsc to node_modules/.cache, runs)
 *   BENCH_MS=3000 npm run bench:codec
 *
 * Inbound: a socket-sized chunk stream of publishes goes through FrameParser; method frames are
 * decoded with decodeMethod, content headers checked with scanProperties (what the channel does).
 * Outbound: basic.deliver + content header + body frames are written with the Writer, as the
 * channel writes deliveries.
 */
import { Reader, Writer } from '../src/protocol/codec-primitives.js';
import { fv, table } from '../src/protocol/field-table.js';
import { FRAME_BODY, FRAME_HEADER, FRAME_METHOD } from '../src/protocol/generated/constants.js';
import { decodeMethod, encodeBasicDeliver, encodeBasicPublish } from '../src/protocol/generated/methods.js';
import { encodeBasicProperties, type BasicProperties } from '../src/protocol/generated/properties.js';
import { Message, scanProperties } from '../src/message/message.js';
import { FrameParser, type FrameHandler } from '../src/wire/frame-parser.js';

const RUN_MS = Number(process.env.BENCH_MS ?? 1500);
const FRAME_MAX = 131072;
const SOCKET_CHUNK = 65536;

const PROPS: BasicProperties = {
  contentType: 'application/json',
  deliveryMode: 2,
  priority: 1,
  messageId: 'msg-0001',
  headers: table([['x-trace', fv.str('abc123')]]),
};

function publishStream(count: number, body: Buffer): Buffer {
  const w = new Writer(1 << 20);
  for (let i = 0; i < count; i++) {
    encodeBasicPublish(w, 1, { exchange: 'amq.direct', routingKey: 'orders.created' });
    const h = w.frameStart(FRAME_HEADER, 1);
    w.short(60);
    w.short(0);
    w.longlong(body.length);
    encodeBasicProperties(w, PROPS);
    w.frameEnd(h);
    for (let at = 0; at < body.length; at += FRAME_MAX - 8) {
      const b = w.frameStart(FRAME_BODY, 1);
      w.raw(body, at, Math.min(body.length, at + FRAME_MAX - 8));
      w.frameEnd(b);
    }
  }
  return Buffer.from(w.bytes());
}

/** The channel's inbound work per frame, minus routing: decode methods, scan headers, keep bodies. */
class InboundHandler implements FrameHandler {
  frames = 0;
  messages = 0;
  bytes = 0;
  private readonly reader = new Reader();
  private pendingKey = 0;
  onFrame(type: number, _channel: number, payload: Buffer, start: number, end: number): void {
    this.frames++;
    this.bytes += end - start + 8;
    if (type === FRAME_METHOD) {
      this.pendingKey = payload.readUInt32BE(start);
      const m = decodeMethod(this.pendingKey, this.reader.reset(payload, start + 4, end));
      if (m === undefined) throw new Error('unknown method');
    } else if (type === FRAME_HEADER) {
      const props = payload.subarray(start + 12, end);
      scanProperties(new Message('amq.direct', 'orders.created', props, EMPTY), props);
      this.messages++;
    }
  }
  onFatal(explanation: string): void {
    throw new Error(explanation);
  }
}
const EMPTY = Buffer.alloc(0);

function chunks(stream: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < stream.length; at += size) out.push(stream.subarray(at, at + size));
  return out;
}

interface Result {
  name: string;
  frames: number;
  messages: number;
  bytes: number;
  seconds: number;
}

function timed(name: string, round: () => { frames: number; messages: number; bytes: number }): Result {
  // Warm up (JIT), then run whole rounds until the time is up.
  const warmUntil = Date.now() + Math.min(500, RUN_MS / 3);
  while (Date.now() < warmUntil) round();
  let frames = 0;
  let messages = 0;
  let bytes = 0;
  const t0 = process.hrtime.bigint();
  const until = Date.now() + RUN_MS;
  while (Date.now() < until) {
    const r = round();
    frames += r.frames;
    messages += r.messages;
    bytes += r.bytes;
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return { name, frames, messages, bytes, seconds };
}

function inbound(name: string, bodySize: number, count: number): Result {
  const stream = publishStream(count, Buffer.alloc(bodySize, 0x61));
  const pieces = chunks(stream, SOCKET_CHUNK);
  return timed(name, () => {
    const h = new InboundHandler();
    const p = new FrameParser(h, FRAME_MAX);
    for (const c of pieces) p.feed(c);
    if (h.messages !== count) throw new Error(`parsed ${h.messages} of ${count} messages`);
    return h;
  });
}

function outboundDeliver(name: string, bodySize: number, count: number): Result {
  const body = Buffer.alloc(bodySize, 0x62);
  const pw = new Writer(256);
  encodeBasicProperties(pw, PROPS);
  const rawProps = Buffer.from(pw.bytes());
  const w = new Writer(1 << 20);
  let tag = 0;
  return timed(name, () => {
    w.pos = 0;
    let frames = 0;
    for (let i = 0; i < count; i++) {
      encodeBasicDeliver(w, 1, { consumerTag: 'amq.ctag-bench', deliveryTag: ++tag, redelivered: false, exchange: 'amq.direct', routingKey: 'orders.created' });
      const h = w.frameStart(FRAME_HEADER, 1);
      w.short(60);
      w.short(0);
      w.longlong(body.length);
      w.raw(rawProps);
      w.frameEnd(h);
      frames += 2;
      for (let at = 0; at < body.length; at += FRAME_MAX - 8) {
        const b = w.frameStart(FRAME_BODY, 1);
        w.raw(body, at, Math.min(body.length, at + FRAME_MAX - 8));
        w.frameEnd(b);
        frames++;
      }
    }
    return { frames, messages: count, bytes: w.pos };
  });
}

const results = [
  inbound('decode publish, 16 B body (parse + decodeMethod + scanProperties)', 16, 2000),
  inbound('decode publish, 64 KiB body', 65536, 64),
  outboundDeliver('encode basic.deliver + header + 16 B body (Writer)', 16, 2000),
  outboundDeliver('encode basic.deliver + header + 64 KiB body (Writer)', 65536, 64),
];

const fmt = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} k` : n.toFixed(0));
const rows = results.map((r) => [r.name, fmt(r.frames / r.seconds), fmt(r.messages / r.seconds), `${(r.bytes / r.seconds / 1048576).toFixed(0)}`]);
const head = ['scenario', 'frames/s', 'messages/s', 'MiB/s'];
const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
console.log(`Node ${process.version}, ${RUN_MS} ms per scenario, socket chunks of ${SOCKET_CHUNK} bytes, frame_max ${FRAME_MAX}`);
console.log(line(head));
console.log(widths.map((n) => '-'.repeat(n)).join('  '));
for (const r of rows) console.log(line(r));
