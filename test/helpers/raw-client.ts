/**
 * A raw AMQP peer for tests: sends arbitrary bytes and frames (valid or not) and records every frame
 * the broker sends back, decoded, plus the moment the socket closes. Runs over TCP, so the same probe
 * can be pointed at RabbitMQ to learn the reference behaviour.
 */
import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import { Reader, Writer } from '../../src/protocol/codec-primitives.js';
import { fv, table, type FieldTable } from '../../src/protocol/field-table.js';
import { PROTOCOL_HEADER } from '../../src/protocol/generated/constants.js';
import {
  Method,
  decodeMethod,
  encodeMethod,
  methodName,
  encodeConnectionStartOk,
  encodeConnectionTuneOk,
  encodeConnectionOpen,
  encodeChannelOpen,
  type AnyMethod,
} from '../../src/protocol/generated/methods.js';
import { decodeBasicProperties, encodeBasicProperties, type BasicProperties } from '../../src/protocol/generated/properties.js';

export type ReceivedFrame =
  | { type: 'method'; channel: number; name: string; method: AnyMethod }
  | { type: 'header'; channel: number; classId: number; bodySize: number; properties: BasicProperties; payload: Buffer }
  | { type: 'body'; channel: number; payload: Buffer }
  | { type: 'heartbeat'; channel: number }
  | { type: 'raw'; channel: number; frameType: number; payload: Buffer };

export interface HandshakeOptions {
  user?: string;
  password?: string;
  vhost?: string;
  mechanism?: string;
  frameMax?: number;
  channelMax?: number;
  heartbeat?: number;
  capabilities?: Record<string, boolean>;
}

export class RawClient {
  readonly frames: ReceivedFrame[] = [];
  rawBytes = Buffer.alloc(0);
  closed = false;
  closedAt = 0;
  private buf = Buffer.alloc(0);
  private headerSeen = false;
  private waiters: (() => void)[] = [];
  frameMax = 131072;

  private constructor(readonly socket: Duplex) {
    socket.on('data', (d: Buffer) => this.onData(d));
    socket.on('close', () => {
      this.closed = true;
      this.closedAt = Date.now();
      this.wake();
    });
    socket.on('error', () => {});
  }

  static connect(port: number, host = '127.0.0.1'): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = connect(port, host, () => resolve(new RawClient(s)));
      s.once('error', reject);
    });
  }

  /** A client over any stream (for example one end of an in-process pair). */
  static fromStream(stream: Duplex): RawClient {
    return new RawClient(stream);
  }

  /** Expect the server to send frames (not a protocol header) first; set false to read a header. */
  expectHeader(): void {
    this.headerSeen = false;
  }

  private onData(d: Buffer): void {
    this.rawBytes = Buffer.concat([this.rawBytes, d]);
    this.buf = Buffer.concat([this.buf, d]);
    for (;;) {
      if (this.buf.length >= 4 && this.buf.toString('latin1', 0, 4) === 'AMQP' && !this.headerSeen) {
        // A protocol header sent back (refused version).
        if (this.buf.length < 8) return;
        this.frames.push({ type: 'raw', channel: -1, frameType: -1, payload: this.buf.subarray(0, 8) });
        this.buf = this.buf.subarray(8);
        continue;
      }
      if (this.buf.length < 7) break;
      const size = this.buf.readUInt32BE(3);
      if (this.buf.length < size + 8) break;
      const type = this.buf[0]!;
      const channel = this.buf.readUInt16BE(1);
      const payload = Buffer.from(this.buf.subarray(7, 7 + size));
      this.buf = this.buf.subarray(size + 8);
      this.frames.push(decodeFrame(type, channel, payload));
    }
    this.wake();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  send(bytes: Buffer | Uint8Array): void {
    this.socket.write(bytes);
  }

  sendMethod(channel: number, m: AnyMethod): void {
    const w = new Writer();
    encodeMethod(w, channel, m);
    this.send(Buffer.from(w.bytes()));
  }

  /** Sends a frame with an arbitrary type, channel and payload (and optionally a wrong frame-end). */
  sendFrame(type: number, channel: number, payload: Buffer, frameEnd = 0xce): void {
    const b = Buffer.alloc(8 + payload.length);
    b[0] = type;
    b.writeUInt16BE(channel, 1);
    b.writeUInt32BE(payload.length, 3);
    payload.copy(b, 7);
    b[7 + payload.length] = frameEnd;
    this.send(b);
  }

  /** A method frame from an encoder callback. */
  sendEncoded(encode: (w: Writer) => void): void {
    const w = new Writer();
    encode(w);
    this.send(Buffer.from(w.bytes()));
  }

  sendHeader(channel: number, bodySize: number, props: BasicProperties = {}, classId = 60, weight = 0): void {
    const w = new Writer();
    w.short(classId);
    w.short(weight);
    w.longlong(bodySize);
    encodeBasicProperties(w, props);
    this.sendFrame(2, channel, Buffer.from(w.bytes()));
  }

  sendBody(channel: number, body: Buffer): void {
    this.sendFrame(3, channel, body);
  }

  /** Waits until `pred` holds over the frames received, or the socket closes, or the timeout passes. */
  async waitFor<T>(pred: (frames: ReceivedFrame[]) => T | undefined, timeoutMs = 5000): Promise<T | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = pred(this.frames);
      if (v !== undefined && v !== false) return v ?? undefined;
      if (this.closed) return pred(this.frames);
      const left = deadline - Date.now();
      if (left <= 0) return undefined;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** The next method frame with the given name (optionally on a channel), waiting for it. */
  async method(name: string, channel?: number, timeoutMs = 5000): Promise<AnyMethod | undefined> {
    // Stops early when the broker closes the connection: the awaited method will not come.
    const f = await this.waitFor((fs) => {
      const hit = fs.find((f) => f.type === 'method' && f.name === name && (channel === undefined || f.channel === channel));
      if (hit !== undefined) return hit;
      return fs.some((f) => f.type === 'method' && f.name === 'connection.close') ? null : undefined;
    }, timeoutMs);
    return f?.type === 'method' ? f.method : undefined;
  }

  async waitClosed(timeoutMs = 5000): Promise<boolean> {
    await this.waitFor(() => (this.closed ? true : undefined), timeoutMs);
    return this.closed;
  }

  /** Header, start-ok, tune-ok and open; resolves after open-ok. */
  async handshake(o: HandshakeOptions = {}): Promise<void> {
    this.send(PROTOCOL_HEADER);
    const start = await this.method('connection.start');
    if (start === undefined) throw new Error('no connection.start');
    const caps = o.capabilities ?? { authentication_failure_close: true, consumer_cancel_notify: true, 'basic.nack': true, publisher_confirms: true };
    const clientProperties: FieldTable = table([
      ['product', fv.str('warren-raw-test')],
      ['capabilities', fv.table(table(Object.entries(caps).map(([k, v]) => [k, fv.bool(v)] as const)))],
    ]);
    const mech = o.mechanism ?? 'PLAIN';
    const response = Buffer.from(`\u0000${o.user ?? 'guest'}\u0000${o.password ?? 'guest'}`);
    this.sendEncoded((w) => encodeConnectionStartOk(w, 0, { clientProperties, mechanism: mech, response, locale: 'en_US' }));
    const tune = await this.method('connection.tune');
    if (tune === undefined || tune.id !== Method.ConnectionTune) return;
    this.frameMax = o.frameMax ?? tune.frameMax;
    this.sendEncoded((w) =>
      encodeConnectionTuneOk(w, 0, {
        channelMax: o.channelMax ?? tune.channelMax,
        frameMax: this.frameMax,
        heartbeat: o.heartbeat ?? 0,
      }),
    );
    this.sendEncoded((w) => encodeConnectionOpen(w, 0, { virtualHost: o.vhost ?? '/' }));
    await this.method('connection.open-ok');
  }

  async openChannel(channel: number): Promise<void> {
    this.sendEncoded((w) => encodeChannelOpen(w, channel, {}));
    await this.waitFor((fs) => fs.some((f) => f.type === 'method' && f.name === 'channel.open-ok' && f.channel === channel) || undefined);
  }

  /** The close (channel.close or connection.close) the broker sent, if any. */
  closeMethod(): { name: string; channel: number; replyCode: number; replyText: string; classId: number; methodId: number } | undefined {
    for (const f of this.frames) {
      if (f.type === 'method' && (f.method.id === Method.ConnectionClose || f.method.id === Method.ChannelClose)) {
        const m = f.method;
        return { name: f.name, channel: f.channel, replyCode: m.replyCode, replyText: m.replyText, classId: m.classId, methodId: m.methodId };
      }
    }
    return undefined;
  }

  async waitForClose(timeoutMs = 5000) {
    await this.waitFor(() => this.closeMethod(), timeoutMs);
    return this.closeMethod();
  }

  destroy(): void {
    this.socket.destroy();
  }
}

function decodeFrame(type: number, channel: number, payload: Buffer): ReceivedFrame {
  try {
    if (type === 1) {
      const key = payload.readUInt32BE(0);
      const m = decodeMethod(key, new Reader(payload, 4));
      if (m !== undefined) return { type: 'method', channel, name: methodName(key), method: m };
    } else if (type === 2) {
      const r = new Reader(payload, 12);
      return {
        type: 'header',
        channel,
        classId: payload.readUInt16BE(0),
        bodySize: Number(payload.readBigUInt64BE(4)),
        properties: decodeBasicProperties(r),
        payload,
      };
    } else if (type === 3) {
      return { type: 'body', channel, payload };
    } else if (type === 8) {
      return { type: 'heartbeat', channel };
    }
  } catch {
    // fall through to raw
  }
  return { type: 'raw', channel, frameType: type, payload };
}
