/**
 * The byte level of the load generator: a streaming frame reader that never copies a body, and the
 * encoders that pre-build publish batches, so that the hot loops of publishers, consumers and the
 * null sink do no per-message encoding at all.
 *
 * Frames are read as AMQP 0-9-1 section 4.2.3 lays them out: type octet, channel short, payload size
 * long, payload, 0xCE. Method and content-header frames are small and handed over whole (copied only
 * when a socket chunk splits one); body frames are streamed in pieces as they arrive.
 */
import { Writer } from '../../src/protocol/codec-primitives.js';
import { encodeBasicPublish } from '../../src/protocol/generated/methods.js';
import { encodeBasicProperties, type BasicProperties } from '../../src/protocol/generated/properties.js';

export const FRAME_METHOD = 1;
export const FRAME_HEADER = 2;
export const FRAME_BODY = 3;
export const FRAME_HEARTBEAT = 8;
export const FRAME_END = 0xce;

/** (class id << 16) | method id of the methods the hot paths look at without decoding. */
export const BASIC_PUBLISH = 0x003c0028;
export const BASIC_DELIVER = 0x003c003c;
export const BASIC_ACK = 0x003c0050;
export const BASIC_NACK = 0x003c0078;

export interface FrameSink {
  /** A whole method frame; `buf[start..end)` begins with the class and method ids. Do not keep `buf`. */
  method(channel: number, buf: Buffer, start: number, end: number): void;
  /** A whole content-header frame payload (class, weight, body size, properties). Do not keep `buf`. */
  header(channel: number, buf: Buffer, start: number, end: number): void;
  /** A body frame of `size` payload bytes begins; its payload follows through `body`. */
  bodyStart(channel: number, size: number): void;
  /** The next piece of the current body frame's payload (a slice of a socket chunk, safe to keep). */
  body(buf: Buffer, start: number, end: number): void;
  /** The current body frame ended. */
  bodyEnd(): void;
}

const S_HEADER = 0;
const S_PAYLOAD = 1;
const S_BODY = 2;
const S_END = 3;

export class FrameError extends Error {
  override name = 'FrameError';
}

export class FrameReader {
  private state = S_HEADER;
  private readonly hdr = Buffer.alloc(7);
  private hdrLen = 0;
  private type = 0;
  private channel = 0;
  private size = 0;
  private pending = Buffer.allocUnsafe(4096);
  private pendingLen = 0;
  private bodyLeft = 0;

  constructor(private readonly sink: FrameSink) {}

  push(chunk: Buffer): void {
    const n = chunk.length;
    const sink = this.sink;
    let p = 0;
    while (p < n) {
      switch (this.state) {
        case S_HEADER: {
          if (this.hdrLen === 0 && n - p >= 7) {
            const type = chunk[p]!;
            const channel = (chunk[p + 1]! << 8) | chunk[p + 2]!;
            const size = chunk.readUInt32BE(p + 3);
            if (type === FRAME_BODY) {
              p += 7;
              this.beginBody(channel, size);
              continue;
            }
            if (n - p >= size + 8) {
              // The common case: the whole frame is in this chunk.
              if (chunk[p + 7 + size] !== FRAME_END) throw new FrameError(`frame end octet missing after a type ${type} frame`);
              this.dispatch(type, channel, chunk, p + 7, p + 7 + size);
              p += size + 8;
              continue;
            }
            p += 7;
            this.beginPayload(type, channel, size);
            continue;
          }
          const take = Math.min(7 - this.hdrLen, n - p);
          chunk.copy(this.hdr, this.hdrLen, p, p + take);
          this.hdrLen += take;
          p += take;
          if (this.hdrLen === 7) {
            this.hdrLen = 0;
            const h = this.hdr;
            const type = h[0]!;
            const channel = (h[1]! << 8) | h[2]!;
            const size = h.readUInt32BE(3);
            if (type === FRAME_BODY) this.beginBody(channel, size);
            else this.beginPayload(type, channel, size);
          }
          break;
        }
        case S_PAYLOAD: {
          const take = Math.min(this.size - this.pendingLen, n - p);
          chunk.copy(this.pending, this.pendingLen, p, p + take);
          this.pendingLen += take;
          p += take;
          if (this.pendingLen === this.size) {
            this.dispatch(this.type, this.channel, this.pending, 0, this.size);
            this.state = S_END;
          }
          break;
        }
        case S_BODY: {
          const take = Math.min(this.bodyLeft, n - p);
          sink.body(chunk, p, p + take);
          p += take;
          this.bodyLeft -= take;
          if (this.bodyLeft === 0) this.state = S_END;
          break;
        }
        case S_END: {
          if (chunk[p] !== FRAME_END) throw new FrameError('frame end octet missing');
          p++;
          if (this.type === FRAME_BODY) sink.bodyEnd();
          this.state = S_HEADER;
          break;
        }
      }
    }
  }

  private beginBody(channel: number, size: number): void {
    this.type = FRAME_BODY;
    this.channel = channel;
    this.bodyLeft = size;
    this.sink.bodyStart(channel, size);
    this.state = size === 0 ? S_END : S_BODY;
  }

  private beginPayload(type: number, channel: number, size: number): void {
    if (size > 1 << 20) throw new FrameError(`a type ${type} frame of ${size} bytes: not AMQP`);
    this.type = type;
    this.channel = channel;
    this.size = size;
    if (this.pending.length < size) this.pending = Buffer.allocUnsafe(size);
    this.pendingLen = 0;
    this.state = size === 0 ? S_END : S_PAYLOAD;
    if (size === 0 && type !== FRAME_BODY) this.dispatch(type, channel, this.pending, 0, 0);
  }

  private dispatch(type: number, channel: number, buf: Buffer, start: number, end: number): void {
    if (type === FRAME_METHOD) this.sink.method(channel, buf, start, end);
    else if (type === FRAME_HEADER) this.sink.header(channel, buf, start, end);
    else if (type !== FRAME_HEARTBEAT) throw new FrameError(`unknown frame type ${type}`);
  }
}

/** (class << 16) | method of a method frame payload. */
export function methodKey(buf: Buffer, start: number): number {
  return buf.readUInt32BE(start);
}

/** A 64-bit unsigned integer as a number (delivery tags never pass 2^53). */
export function readU64(buf: Buffer, at: number): number {
  return buf.readUInt32BE(at) * 0x1_0000_0000 + buf.readUInt32BE(at + 4);
}

export function writeU64(buf: Buffer, at: number, v: number): void {
  buf.writeUInt32BE(Math.floor(v / 0x1_0000_0000) >>> 0, at);
  buf.writeUInt32BE(v >>> 0, at + 4);
}

/** A run of complete publishes (method, header and body frames) in one buffer. */
export interface PublishBatch {
  buf: Buffer;
  count: number;
  /** offsets[i] is where message i begins; offsets[count] is the buffer's length. */
  offsets: Uint32Array;
  /** Where message i's body begins (for stamping a send time into its first 8 bytes). */
  bodyOffsets: Uint32Array;
}

export interface PublishShape {
  exchange: string;
  /** Routing keys used in turn, message by message. */
  routingKeys: readonly string[];
  size: number;
  persistent: boolean;
  channel: number;
  frameMax: number;
}

/**
 * Encodes `count` publishes. Bodies are filled with a constant byte and split into body frames no
 * larger than frame_max allows.
 */
export function encodePublishBatch(shape: PublishShape, count: number, keyOffset = 0): PublishBatch {
  const body = Buffer.alloc(shape.size, 0x78);
  const props: BasicProperties = { deliveryMode: shape.persistent ? 2 : 1 };
  const maxBodyFrame = shape.frameMax - 8;
  const w = new Writer(Math.min(count * (shape.size + 96), 1 << 30));
  const offsets = new Uint32Array(count + 1);
  const bodyOffsets = new Uint32Array(count);
  for (let i = 0; i < count; i++) {
    offsets[i] = w.pos;
    const key = shape.routingKeys[(keyOffset + i) % shape.routingKeys.length]!;
    encodeBasicPublish(w, shape.channel, { exchange: shape.exchange, routingKey: key });
    const h = w.frameStart(FRAME_HEADER, shape.channel);
    w.short(60);
    w.short(0);
    w.longlong(shape.size);
    encodeBasicProperties(w, props);
    w.frameEnd(h);
    let first = true;
    for (let at = 0; at < shape.size; at += maxBodyFrame) {
      const b = w.frameStart(FRAME_BODY, shape.channel);
      if (first) bodyOffsets[i] = w.pos;
      first = false;
      w.raw(body, at, Math.min(shape.size, at + maxBodyFrame));
      w.frameEnd(b);
    }
    if (first) bodyOffsets[i] = w.pos;
  }
  offsets[count] = w.pos;
  return { buf: Buffer.from(w.bytes()), count, offsets, bodyOffsets };
}

/** How many messages to put in one socket write so that a write is about `bytes` long. */
export function messagesPerWrite(size: number, bytes = 64 * 1024): number {
  return Math.max(1, Math.floor(bytes / (size + 80)));
}
