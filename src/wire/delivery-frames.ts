/**
 * The frames of one basic.deliver (method, content header, body) written in a single pass.
 *
 * This is the broker's hottest encoder: every message goes through it once per consumer. The
 * generated `encodeBasicDeliver` encodes the consumer tag, exchange and routing key from strings on
 * every call; here they arrive already encoded as short strings (the consumer tag once per consumer,
 * exchange and routing key once per run of messages with the same route, see RouteBytesCache), and
 * the three frames get one bounds check. The bytes are identical to the generated encoders' (a unit
 * test compares them).
 */
import type { Writer } from '../protocol/codec-primitives.js';
import { EncodeError } from '../protocol/codec-primitives.js';

const FRAME_METHOD = 1;
const FRAME_HEADER = 2;
const FRAME_BODY = 3;
const FRAME_END = 0xce;
const CLASS_BASIC = 60;
const METHOD_DELIVER = 60;
const TWO_32 = 0x1_0000_0000;

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
  buf[p + 8] = CLASS_BASIC;
  buf[p + 9] = 0;
  buf[p + 10] = METHOD_DELIVER;
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
  buf[p + 8] = CLASS_BASIC;
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
