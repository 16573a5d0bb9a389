/**
 * The lean AMQP 0-9-1 client of the load generator: one connection, one channel (number 1), the
 * handshake and synchronous methods through Warren's generated codec, and hot paths that touch only
 * the bytes they need:
 *
 * - a consumer reads the delivery tag out of basic.deliver, the body size out of the content header,
 *   and (when measuring latency) the first 8 body bytes; bodies are never copied;
 * - manual acks go out as one basic.ack(multiple) per socket chunk, after the chunk's deliveries;
 * - publisher confirms are counted from basic.ack/nack with or without `multiple`.
 *
 * Publishing itself is the caller's business: it writes pre-encoded batches to `socket`.
 */
import { connect, type NetConnectOpts, type Socket } from 'node:net';
import { Reader, Writer } from '../../src/protocol/codec-primitives.js';
import type { FieldTable } from '../../src/protocol/field-table.js';
import { PROTOCOL_HEADER } from '../../src/protocol/generated/constants.js';
import {
  decodeMethod,
  encodeBasicAck,
  encodeChannelOpen,
  encodeConnectionClose,
  encodeConnectionCloseOk,
  encodeConnectionOpen,
  encodeConnectionStartOk,
  encodeConnectionTuneOk,
  Method,
  methodName,
  type AnyMethod,
  type ConnectionStart,
  type ConnectionTune,
} from '../../src/protocol/generated/methods.js';
import { BASIC_ACK, BASIC_DELIVER, BASIC_NACK, FrameReader, methodKey, readU64, type FrameSink } from './frames.js';

export interface Endpoint {
  host: string;
  port: number;
  user?: string;
  password?: string;
  vhost?: string;
}

export const CHANNEL = 1;

/** The current time on the monotonic clock every process on the machine shares, in nanoseconds. */
export function nowNs(): bigint {
  return process.hrtime.bigint();
}

/** The same clock in milliseconds (as a double, enough for scheduling). */
export function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

interface PendingCall {
  expect: number;
  resolve: (m: AnyMethod) => void;
  reject: (e: Error) => void;
}

export class BrokerClosedError extends Error {
  override name = 'BrokerClosedError';
}

export class LeanConnection implements FrameSink {
  readonly socket: Socket;
  serverProperties: FieldTable = new Map();
  frameMax = 131072;
  /** Set once the broker closed the connection or channel, or the socket failed. */
  error: Error | undefined;
  private readonly reader = new FrameReader(this);
  private readonly calls: PendingCall[] = [];
  private handshakeWaiter: { resolve: (m: AnyMethod) => void; reject: (e: Error) => void } | undefined;
  private closed = false;
  private closeWaiters: (() => void)[] = [];

  // Consumer state (channel 1).
  /** Deliveries fully received (body complete). */
  delivered = 0;
  /** Manual acks: send basic.ack(multiple) for the last tag at the end of each socket chunk. */
  manualAck = false;
  private lastTag = 0;
  private ackedTag = 0;
  private bodyLeft = 0;
  private inMessage = false;
  /** When set, called with the 8 first body bytes of each delivery read as a send time in ns. */
  onLatency: ((sentNs: bigint) => void) | undefined;
  private readonly stamp = Buffer.alloc(8);
  private stampLen = 8;

  // Publisher-confirm state (channel 1).
  confirmed = 0;
  nacked = 0;
  private confirmedUpTo = 0;
  private readonly singles = new Set<number>();
  onConfirm: (() => void) | undefined;
  /** connection.blocked from the broker (RabbitMQ's resource alarms). */
  blocked = false;

  private readonly ackWriter = new Writer(64);

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (e) => this.fail(e));
    socket.on('close', () => {
      this.closed = true;
      this.fail(new BrokerClosedError('socket closed'));
      for (const w of this.closeWaiters) w();
    });
  }

  static async open(ep: Endpoint, name = 'warren-bench'): Promise<LeanConnection> {
    // A deeper write buffer than Node's 16 KiB keeps a 64 KiB-message publisher from waiting for a
    // 'drain' after every write.
    // (Node 20 takes the option; @types/node does not list it.)
    const socket = connect({ host: ep.host, port: ep.port, noDelay: true, highWaterMark: 256 * 1024 } as NetConnectOpts);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const c = new LeanConnection(socket);
    try {
      await c.handshake(ep, name);
    } catch (e) {
      socket.destroy();
      throw e;
    }
    return c;
  }

  private nextHandshakeMethod(): Promise<AnyMethod> {
    return new Promise((resolve, reject) => {
      if (this.error) return reject(this.error);
      this.handshakeWaiter = { resolve, reject };
    });
  }

  private async handshake(ep: Endpoint, name: string): Promise<void> {
    this.socket.write(PROTOCOL_HEADER);
    const start = (await this.nextHandshakeMethod()) as ConnectionStart;
    if (start.id !== Method.ConnectionStart) throw new Error(`expected connection.start, got ${methodName(start.id)}`);
    this.serverProperties = start.serverProperties;
    const w = new Writer(512);
    encodeConnectionStartOk(w, 0, {
      clientProperties: new Map([['connection_name', { type: 'S', value: name }]]),
      mechanism: 'PLAIN',
      response: Buffer.from(`\0${ep.user ?? 'guest'}\0${ep.password ?? 'guest'}`),
      locale: 'en_US',
    });
    this.socket.write(Buffer.from(w.bytes()));
    const tune = (await this.nextHandshakeMethod()) as ConnectionTune;
    if (tune.id !== Method.ConnectionTune) throw new Error(`expected connection.tune, got ${methodName(tune.id)}`);
    this.frameMax = tune.frameMax === 0 ? 131072 : Math.min(tune.frameMax, 131072);
    const x = new Writer(256);
    encodeConnectionTuneOk(x, 0, { channelMax: tune.channelMax === 0 ? 2047 : tune.channelMax, frameMax: this.frameMax, heartbeat: 0 });
    this.socket.write(Buffer.from(x.bytes()));
    await this.call((y) => encodeConnectionOpen(y, 0, { virtualHost: ep.vhost ?? '/' }), Method.ConnectionOpenOk);
    await this.call((y) => encodeChannelOpen(y, CHANNEL, {}), Method.ChannelOpenOk);
  }

  /** Sends one synchronous method and resolves with its reply. Calls may be pipelined. */
  call(encode: (w: Writer) => void, expect: number): Promise<AnyMethod> {
    return new Promise((resolve, reject) => {
      if (this.error) return reject(this.error);
      const w = new Writer(256);
      encode(w);
      this.calls.push({ expect, resolve, reject });
      this.socket.write(Buffer.from(w.bytes()));
    });
  }

  /** Writes frames that need no reply. */
  send(encode: (w: Writer) => void): void {
    const w = new Writer(256);
    encode(w);
    this.socket.write(Buffer.from(w.bytes()));
  }

  productVersion(): string {
    const get = (k: string) => {
      const v = this.serverProperties.get(k);
      return v && (v.type === 'S' || v.type === 'x') ? v.value.toString() : '?';
    };
    return `${get('product')} ${get('version')}${this.serverProperties.has('platform') ? ` (${get('platform')})` : ''}`;
  }

  /** Closes politely (connection.close, wait for close-ok up to 2 s), then destroys the socket. */
  async close(): Promise<void> {
    if (this.closed) return;
    const done = new Promise<void>((r) => this.closeWaiters.push(r));
    if (!this.error) {
      try {
        await Promise.race([
          this.call((w) => encodeConnectionClose(w, 0, { replyCode: 200, replyText: 'bye', classId: 0, methodId: 0 }), Method.ConnectionCloseOk),
          new Promise((r) => setTimeout(r, 2000)),
        ]);
      } catch {
        // Closed under us: nothing more to do.
      }
    }
    this.socket.destroy();
    await done;
  }

  private fail(e: Error): void {
    if (this.error) return;
    this.error = e;
    const calls = this.calls.splice(0);
    for (const c of calls) c.reject(e);
    const h = this.handshakeWaiter;
    this.handshakeWaiter = undefined;
    h?.reject(e);
  }

  private onData(chunk: Buffer): void {
    try {
      this.reader.push(chunk);
    } catch (e) {
      this.fail(e as Error);
      this.socket.destroy();
      return;
    }
    if (this.manualAck && this.lastTag > this.ackedTag) {
      this.ackedTag = this.lastTag;
      const w = this.ackWriter;
      w.pos = 0;
      encodeBasicAck(w, CHANNEL, { deliveryTag: this.lastTag, multiple: true });
      this.socket.write(Buffer.from(w.bytes()));
    }
  }

  // FrameSink

  method(channel: number, buf: Buffer, start: number, end: number): void {
    const key = methodKey(buf, start);
    if (key === BASIC_DELIVER) {
      const ctagLen = buf[start + 4]!;
      this.lastTag = readU64(buf, start + 5 + ctagLen);
      this.inMessage = true;
      return;
    }
    if (key === BASIC_ACK || key === BASIC_NACK) {
      const tag = readU64(buf, start + 4);
      const multiple = (buf[start + 12]! & 1) === 1;
      this.confirm(tag, multiple, key === BASIC_NACK);
      return;
    }
    const m = decodeMethod(key, new Reader(buf, start + 4, end));
    if (m === undefined) return;
    if (this.handshakeWaiter && (m.id === Method.ConnectionStart || m.id === Method.ConnectionTune)) {
      const w = this.handshakeWaiter;
      this.handshakeWaiter = undefined;
      w.resolve(m);
      return;
    }
    switch (m.id) {
      case Method.ConnectionClose: {
        this.send((w) => encodeConnectionCloseOk(w, 0));
        this.fail(new BrokerClosedError(`connection closed by the broker: ${m.replyCode} ${m.replyText}`));
        return;
      }
      case Method.ChannelClose:
        this.fail(new BrokerClosedError(`channel ${channel} closed by the broker: ${m.replyCode} ${m.replyText}`));
        return;
      case Method.ConnectionBlocked:
        this.blocked = true;
        return;
      case Method.ConnectionUnblocked:
        this.blocked = false;
        return;
      case Method.BasicCancel:
        this.fail(new BrokerClosedError('consumer cancelled by the broker'));
        return;
    }
    const c = this.calls[0];
    if (c === undefined) return;
    if (c.expect !== m.id) {
      this.fail(new Error(`expected ${methodName(c.expect)}, got ${methodName(m.id)}`));
      return;
    }
    this.calls.shift();
    c.resolve(m);
  }

  header(_channel: number, buf: Buffer, start: number): void {
    this.bodyLeft = readU64(buf, start + 4);
    this.stampLen = this.onLatency ? 0 : 8;
    if (this.bodyLeft === 0) this.complete();
  }

  bodyStart(): void {}

  body(buf: Buffer, start: number, end: number): void {
    if (this.stampLen < 8) {
      const take = Math.min(8 - this.stampLen, end - start);
      buf.copy(this.stamp, this.stampLen, start, start + take);
      this.stampLen += take;
    }
    this.bodyLeft -= end - start;
    if (this.bodyLeft === 0) this.complete();
  }

  bodyEnd(): void {}

  private complete(): void {
    if (!this.inMessage) return;
    this.inMessage = false;
    this.delivered++;
    if (this.onLatency && this.stampLen === 8) this.onLatency(this.stamp.readBigUInt64BE(0));
  }

  private confirm(tag: number, multiple: boolean, nack: boolean): void {
    let n = 0;
    if (multiple) {
      if (tag > this.confirmedUpTo) {
        n = tag - this.confirmedUpTo;
        for (const t of this.singles) if (t <= tag) {
          this.singles.delete(t);
          n--;
        }
        this.confirmedUpTo = tag;
      }
    } else if (tag > this.confirmedUpTo && !this.singles.has(tag)) {
      n = 1;
      this.singles.add(tag);
      while (this.singles.has(this.confirmedUpTo + 1)) this.singles.delete(++this.confirmedUpTo);
    }
    if (nack) this.nacked += n;
    else this.confirmed += n;
    this.onConfirm?.();
  }

  /** Resolves when every byte given to the socket has been handed to the kernel. */
  flushed(): Promise<void> {
    if (this.socket.writableLength === 0 || this.error) return Promise.resolve();
    return new Promise((r) => {
      const check = () => {
        if (this.socket.writableLength === 0 || this.error) r();
        else setTimeout(check, 5);
      };
      check();
    });
  }
}
