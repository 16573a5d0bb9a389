/**
 * Content frames out: a content header and its body frames (split to the negotiated frame_max, large
 * bodies passed by reference instead of copied), and the frames of one basic.deliver (method,
 * content header, body) written in a single pass.
 *
 * This is the broker's hottest encoder: every message goes through it once per consumer. The
 * generated `encodeBasicDeliver` encodes the consumer tag, exchange and routing key from strings on
 * every call; here they arrive already encoded as short strings (the consumer tag once per consumer,
 * exchange and routing key once per run of messages with the same route, see RouteBytesCache), and
 * the three frames get one bounds check. The bytes are identical to the generated encoders' (a unit
 * test compares them).
 */
import { EncodeError, TWO_32, type Writer } from '../protocol/codec-primitives.js';
import { ClassId, FRAME_BODY, FRAME_END, FRAME_HEADER, FRAME_METHOD } from '../protocol/generated/constants.js';
import { Method } from '../protocol/generated/methods.js';
import { FRAME_OVERHEAD } from './frame-parser.js';
import { BODY_BY_REFERENCE, type Outbound } from './outbound.js';
const DELIVER_METHOD_ID = Method.BasicDeliver & 0xffff;

/** A string as an AMQP shortstr: length octet, then its UTF-8 bytes. */
export function encodeShortstr(s: string): Buffer {
  const n = Buffer.byteLength(s, 'utf8');
  if (n > 255) throw new EncodeError(`shortstr longer than 255 bytes (${n})`);
  const b = Buffer.allocUnsafe(1 + n);
  b[0] = n;
  b.write(s, 1, 'utf8');
  return b;
}

/**
 * Exchange and routing key of the last message delivered, as two consecutive shortstrs. Consumers
 * mostly see long runs of messages with the same route, so one entry is enough; comparing two short
 * strings is much cheaper than encoding them again.
 */
export class RouteBytesCache {
  private exchange = '';
  private routingKey = '';
  private bytes: Buffer = Buffer.from([0, 0]);

  get(exchange: string, routingKey: string): Buffer {
    if (exchange === this.exchange && routingKey === this.routingKey) return this.bytes;
    const ex = encodeShortstr(exchange);
    const rk = encodeShortstr(routingKey);
    this.bytes = Buffer.concat([ex, rk], ex.length + rk.length);
    this.exchange = exchange;
    this.routingKey = routingKey;
    return this.bytes;
  }
}

/**
 * Writes basic.deliver and the content header for a body of `bodySize` bytes, and then `inlineBody`
 * as one body frame when given (the caller passes small bodies; large ones it writes itself, split
 * into frames or passed by reference).
 */
export function writeDeliveryFrames(
  w: Writer,
  channel: number,
  consumerTag: Buffer,
  deliveryTag: number,
  redelivered: boolean,
  route: Buffer,
  properties: Buffer,
  bodySize: number,
  inlineBody: Buffer | undefined,
): void {
  const methodSize = 4 + consumerTag.length + 8 + 1 + route.length;
  const headerSize = 12 + properties.length;
  const inline = inlineBody !== undefined && inlineBody.length > 0;
  w.ensure(8 + methodSize + 8 + headerSize + (inline ? 8 + bodySize : 0));
  const buf = w.buf;
  let p = w.pos;
  const ch1 = channel >>> 8;
  const ch2 = channel & 0xff;

  buf[p] = FRAME_METHOD;
  buf[p + 1] = ch1;
  buf[p + 2] = ch2;
  buf.writeUInt32BE(methodSize, p + 3);
  buf[p + 7] = 0;
  buf[p + 8] = ClassId.Basic;
  buf[p + 9] = 0;
  buf[p + 10] = DELIVER_METHOD_ID;
  p += 11;
  buf.set(consumerTag, p);
  p += consumerTag.length;
  writeUint64(buf, p, deliveryTag);
  buf[p + 8] = redelivered ? 1 : 0;
  p += 9;
  buf.set(route, p);
  p += route.length;
  buf[p++] = FRAME_END;

  buf[p] = FRAME_HEADER;
  buf[p + 1] = ch1;
  buf[p + 2] = ch2;
  buf.writeUInt32BE(headerSize, p + 3);
  buf[p + 7] = 0;
  buf[p + 8] = ClassId.Basic;
  buf[p + 9] = 0; // weight
  buf[p + 10] = 0;
  writeUint64(buf, p + 11, bodySize);
  p += 19;
  buf.set(properties, p);
  p += properties.length;
  buf[p++] = FRAME_END;

  if (inline) {
    buf[p] = FRAME_BODY;
    buf[p + 1] = ch1;
    buf[p + 2] = ch2;
    buf.writeUInt32BE(bodySize, p + 3);
    p += 7;
    buf.set(inlineBody, p);
    p += bodySize;
    buf[p++] = FRAME_END;
  }
  w.pos = p;
  w.resetBits();
}

function writeUint64(buf: Buffer, p: number, v: number): void {
  const hi = Math.floor(v / TWO_32);
  const lo = v >>> 0;
  buf[p] = hi >>> 24;
  buf[p + 1] = hi >>> 16;
  buf[p + 2] = hi >>> 8;
  buf[p + 3] = hi;
  buf[p + 4] = lo >>> 24;
  buf[p + 5] = lo >>> 16;
  buf[p + 6] = lo >>> 8;
  buf[p + 7] = lo;
}

/**
 * One basic.deliver with its content: small bodies go in the same pass as the method and header,
 * large ones by reference, and bodies too large for one frame of `frameMax` bytes as several.
 */
export function writeDelivery(
  out: Outbound,
  channel: number,
  consumerTag: Buffer,
  deliveryTag: number,
  redelivered: boolean,
  route: Buffer,
  properties: Buffer,
  body: Buffer | readonly Buffer[],
  bodySize: number,
  frameMax: number,
): void {
  const maxPayload = frameMax - FRAME_OVERHEAD;
  const inline = !Array.isArray(body) && bodySize < BODY_BY_REFERENCE && bodySize <= maxPayload ? (body as Buffer) : undefined;
  writeDeliveryFrames(out, channel, consumerTag, deliveryTag, redelivered, route, properties, bodySize, inline);
  if (inline === undefined && bodySize > 0) writeBody(out, channel, body, bodySize, maxPayload);
}

/** A content header (class basic) and the body frames after it, split to fit `frameMax`. */
export function writeContent(out: Outbound, channel: number, properties: Buffer, body: Buffer | readonly Buffer[], bodySize: number, frameMax: number): void {
  const maxPayload = frameMax - FRAME_OVERHEAD;
  const start = out.frameStart(FRAME_HEADER, channel);
  out.short(ClassId.Basic);
  out.short(0);
  out.longlong(bodySize);
  out.raw(properties);
  out.frameEnd(start);
  if (bodySize > 0) writeBody(out, channel, body, bodySize, maxPayload);
}

/** A body as frames of at most `maxPayload` bytes; pieces that fit in one frame are passed as they are. */
function writeBody(out: Outbound, channel: number, body: Buffer | readonly Buffer[], bodySize: number, maxPayload: number): void {
  if (Array.isArray(body)) {
    if (bodySize <= maxPayload) {
      writeBodyPieces(out, channel, body as readonly Buffer[], bodySize);
      return;
    }
    body = Buffer.concat(body as readonly Buffer[], bodySize);
  }
  const whole = body as Buffer;
  for (let off = 0; off < whole.length; off += maxPayload) writeBodyFrame(out, channel, whole, off, Math.min(maxPayload, whole.length - off));
}

function writeBodyFrame(out: Outbound, channel: number, body: Buffer, off: number, n: number): void {
  if (n >= BODY_BY_REFERENCE) {
    // Large bodies are not copied: header bytes into the slab, the body by reference, then frame-end.
    writeBodyPieces(out, channel, [off === 0 && n === body.length ? body : body.subarray(off, off + n)], n);
    return;
  }
  const start = out.frameStart(FRAME_BODY, channel);
  out.raw(body, off, off + n);
  out.frameEnd(start);
}

/** One body frame whose payload is written by reference: a large body, or the pieces a split one arrived in. */
function writeBodyPieces(out: Outbound, channel: number, pieces: readonly Buffer[], size: number): void {
  out.ensure(7);
  const p = out.pos;
  const buf = out.buf;
  buf[p] = FRAME_BODY;
  buf[p + 1] = channel >>> 8;
  buf[p + 2] = channel;
  buf.writeUInt32BE(size, p + 3);
  out.pos = p + 7;
  for (const piece of pieces) out.writeByReference(piece);
  out.octet(FRAME_END);
}
