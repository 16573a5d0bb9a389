/**
 * The null broker: the load generator's ceiling.
 *
 * It speaks just enough AMQP for the lean client (handshake, channel, declares, binds, qos, consume,
 * confirm.select, deletes, close) and then does the least a broker can do with a publish: it swaps the
 * basic.publish method frame for a pre-encoded basic.deliver (with the consumer's tag and a running
 * delivery tag patched in) and forwards the content header and body frames as they came, body bytes
 * as slices of the received socket chunk, never copied unless small. Confirms are acknowledged at
 * the end of each received chunk. Nothing is stored, prefetch is not enforced, acks are discarded.
 *
 * Routing is reduced to what the scenarios need to count right: the default exchange goes to the
 * queue named by the routing key; a fanout exchange to every bound queue; any other exchange to its
 * bound queues in turn (the topic scenario's keys each match exactly one binding, so totals agree).
 * A queue with no consumer counts the message as ready (reported by queue.declare-ok) and drops it.
 *
 * Flow control is a broker's: while any consumer socket's buffer is over its high-water mark, every
 * publishing socket is paused.
 *
 * Run as a process: `node null-sink.js --serve <port>`; it sends {listening: port} over IPC when ready.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { Reader, Writer } from '../../src/protocol/codec-primitives.js';
import { PROTOCOL_HEADER } from '../../src/protocol/generated/constants.js';
import {
  decodeMethod,
  encodeBasicAck,
  encodeBasicCancelOk,
  encodeBasicConsumeOk,
  encodeBasicDeliver,
  encodeBasicQosOk,
  encodeChannelCloseOk,
  encodeChannelOpenOk,
  encodeConfirmSelectOk,
  encodeConnectionCloseOk,
  encodeConnectionOpenOk,
  encodeConnectionStart,
  encodeConnectionTune,
  encodeExchangeDeclareOk,
  encodeExchangeDeleteOk,
  encodeQueueBindOk,
  encodeQueueDeclareOk,
  encodeQueueDeleteOk,
  encodeQueuePurgeOk,
  encodeQueueUnbindOk,
  Method,
} from '../../src/protocol/generated/methods.js';
import { BASIC_ACK, BASIC_PUBLISH, FRAME_BODY, FRAME_END, FRAME_HEADER, FrameReader, methodKey, writeU64, type FrameSink } from './frames.js';

interface SinkQueue {
  consumers: Peer[];
  next: number;
  ready: number;
}

interface SinkExchange {
  type: string;
  queues: string[];
  next: number;
}

/** Small frames are copied into the peer's writer; body pieces at least this long go out as slices. */
const SLICE_MIN = 2048;

/** Copies bytes into a writer without the subarray that Writer.raw makes. */
function copyInto(w: Writer, buf: Uint8Array, start: number, end: number): void {
  const n = end - start;
  w.ensure(n);
  const out = w.buf;
  const at = w.pos;
  // Buffer.copy costs more than a loop for the few bytes of a frame header or a small body.
  if (n < 96) for (let i = 0; i < n; i++) out[at + i] = buf[start + i]!;
  else out.set(buf.subarray(start, end), at);
  w.pos = at + n;
}

/** A short string read from the wire, decoded again only when its bytes change (publishers repeat them). */
class ShortStrCache {
  private bytes = Buffer.alloc(256);
  private len = -1;
  private value = '';
  read(buf: Buffer, at: number): string {
    const n = buf[at]!;
    const bytes = this.bytes;
    let same = n === this.len;
    for (let i = 0; same && i < n; i++) same = bytes[i] === buf[at + 1 + i];
    if (!same) {
      for (let i = 0; i < n; i++) bytes[i] = buf[at + 1 + i]!;
      this.len = n;
      this.value = buf.toString('latin1', at + 1, at + 1 + n);
    }
    return this.value;
  }
}

class Peer implements FrameSink {
  readonly reader = new FrameReader(this);
  private gotHeader = false;
  private headerBuf = Buffer.alloc(0);
  // As a consumer.
  consumerTag = '';
  channel = 1;
  private deliverTemplate = Buffer.alloc(0);
  private tagAt = 0;
  private deliveryTag = 0;
  private out = new Writer(64 * 1024);
  private parts: Buffer[] = [];
  dirty = false;
  congested = false;
  // As a publisher.
  private confirming = false;
  private publishSeq = 0;
  private ackedSeq = 0;
  private readonly exchangeName = new ShortStrCache();
  private readonly routingKey = new ShortStrCache();
  /** Where the frames of the content being received go. */
  private readonly targets: Peer[] = [];

  constructor(readonly socket: Socket, readonly sink: NullSink) {
    socket.on('data', (d: Buffer) => this.onData(d));
    socket.on('error', () => socket.destroy());
    socket.on('close', () => sink.dropPeer(this));
    socket.on('drain', () => {
      if (this.congested) {
        this.congested = false;
        sink.uncongested();
      }
    });
  }

  private onData(d: Buffer): void {
    let p = 0;
    if (!this.gotHeader) {
      this.headerBuf = Buffer.concat([this.headerBuf, d]);
      if (this.headerBuf.length < 8) return;
      if (!this.headerBuf.subarray(0, 8).equals(PROTOCOL_HEADER)) {
        this.socket.end(PROTOCOL_HEADER);
        return;
      }
      this.gotHeader = true;
      const w = new Writer(512);
      encodeConnectionStart(w, 0, {
        versionMajor: 0,
        versionMinor: 9,
        serverProperties: new Map([
          ['product', { type: 'S', value: 'null sink' }],
          ['version', { type: 'S', value: '0' }],
        ]),
        mechanisms: Buffer.from('PLAIN AMQPLAIN'),
        locales: Buffer.from('en_US'),
      });
      this.socket.write(Buffer.from(w.bytes()));
      d = this.headerBuf.subarray(8);
      if (d.length === 0) return;
      p = 0;
    }
    try {
      this.reader.push(p === 0 ? d : d.subarray(p));
    } catch {
      this.socket.destroy();
      return;
    }
    if (this.confirming && this.publishSeq > this.ackedSeq) {
      this.ackedSeq = this.publishSeq;
      this.reply((w) => encodeBasicAck(w, this.channel, { deliveryTag: this.publishSeq, multiple: true }));
    }
    this.sink.flushAll();
  }

  private reply(encode: (w: Writer) => void): void {
    encode(this.out);
    this.markDirty();
  }

  markDirty(): void {
    if (!this.dirty) {
      this.dirty = true;
      this.sink.dirty.push(this);
    }
  }

  flush(): void {
    this.dirty = false;
    if (this.out.pos > 0) {
      this.parts.push(Buffer.from(this.out.bytes()));
      this.out.pos = 0;
    }
    if (this.parts.length === 0) return;
    let ok = true;
    if (this.parts.length === 1) ok = this.socket.write(this.parts[0]!);
    else {
      this.socket.cork();
      for (const b of this.parts) ok = this.socket.write(b);
      this.socket.uncork();
    }
    this.parts = [];
    if (!ok && !this.congested) {
      this.congested = true;
      this.sink.congested();
    }
  }

  /** Appends a piece of the content to forward, as a copy or as a slice. */
  private forward(buf: Buffer, start: number, end: number): void {
    if (end - start < SLICE_MIN) {
      copyInto(this.out, buf, start, end);
    } else {
      if (this.out.pos > 0) {
        this.parts.push(Buffer.from(this.out.bytes()));
        this.out.pos = 0;
      }
      this.parts.push(buf.subarray(start, end));
    }
    this.markDirty();
  }

  private deliver(): void {
    const w = this.out;
    const at = w.pos;
    copyInto(w, this.deliverTemplate, 0, this.deliverTemplate.length);
    writeU64(w.buf, at + this.tagAt, ++this.deliveryTag);
    this.markDirty();
  }

  startConsumer(tag: string, channel: number): void {
    this.consumerTag = tag;
    this.channel = channel;
    const w = new Writer(128);
    encodeBasicDeliver(w, channel, { consumerTag: tag, deliveryTag: 0, redelivered: false, exchange: '', routingKey: '' });
    this.deliverTemplate = Buffer.from(w.bytes());
    this.tagAt = 7 + 4 + 1 + Buffer.byteLength(tag);
  }

  // FrameSink

  method(channel: number, buf: Buffer, start: number, end: number): void {
    const key = methodKey(buf, start);
    if (key === BASIC_PUBLISH) {
      const p = start + 6;
      const exchange = this.exchangeName.read(buf, p);
      const routingKey = this.routingKey.read(buf, p + 1 + buf[p]!);
      this.publishSeq++;
      this.targets.length = 0;
      this.sink.route(exchange, routingKey, this.targets);
      for (const t of this.targets) t.deliver();
      return;
    }
    if (key === BASIC_ACK) return;
    const m = decodeMethod(key, new Reader(buf, start + 4, end));
    if (m === undefined) return;
    const sink = this.sink;
    switch (m.id) {
      case Method.ConnectionStartOk:
        return this.reply((w) => encodeConnectionTune(w, 0, { channelMax: 2047, frameMax: 131072, heartbeat: 0 }));
      case Method.ConnectionTuneOk:
        return;
      case Method.ConnectionOpen:
        return this.reply((w) => encodeConnectionOpenOk(w, 0, {}));
      case Method.ChannelOpen:
        return this.reply((w) => encodeChannelOpenOk(w, channel, {}));
      case Method.ExchangeDeclare:
        if (!sink.exchanges.has(m.exchange)) sink.exchanges.set(m.exchange, { type: m.type, queues: [], next: 0 });
        return m.nowait ? undefined : this.reply((w) => encodeExchangeDeclareOk(w, channel));
      case Method.ExchangeDelete:
        sink.exchanges.delete(m.exchange);
        return m.nowait ? undefined : this.reply((w) => encodeExchangeDeleteOk(w, channel));
      case Method.QueueDeclare: {
        const name = m.queue === '' ? `sink.gen-${++sink.generated}` : m.queue;
        const q = sink.queue(name);
        return m.nowait ? undefined : this.reply((w) => encodeQueueDeclareOk(w, channel, { queue: name, messageCount: q.ready, consumerCount: q.consumers.length }));
      }
      case Method.QueueBind: {
        const x = sink.exchanges.get(m.exchange);
        if (x && !x.queues.includes(m.queue)) x.queues.push(m.queue);
        return m.nowait ? undefined : this.reply((w) => encodeQueueBindOk(w, channel));
      }
      case Method.QueueUnbind:
        return this.reply((w) => encodeQueueUnbindOk(w, channel));
      case Method.QueuePurge: {
        const q = sink.queue(m.queue);
        const n = q.ready;
        q.ready = 0;
        return m.nowait ? undefined : this.reply((w) => encodeQueuePurgeOk(w, channel, { messageCount: n }));
      }
      case Method.QueueDelete: {
        const n = sink.queues.get(m.queue)?.ready ?? 0;
        sink.queues.delete(m.queue);
        return m.nowait ? undefined : this.reply((w) => encodeQueueDeleteOk(w, channel, { messageCount: n }));
      }
      case Method.BasicQos:
        return this.reply((w) => encodeBasicQosOk(w, channel));
      case Method.BasicConsume: {
        const tag = m.consumerTag === '' ? `sink.ctag-${++sink.generated}` : m.consumerTag;
        this.startConsumer(tag, channel);
        sink.queue(m.queue).consumers.push(this);
        return m.nowait ? undefined : this.reply((w) => encodeBasicConsumeOk(w, channel, { consumerTag: tag }));
      }
      case Method.BasicCancel:
        sink.removeConsumer(this);
        return m.nowait ? undefined : this.reply((w) => encodeBasicCancelOk(w, channel, { consumerTag: m.consumerTag }));
      case Method.ConfirmSelect:
        this.confirming = true;
        return m.nowait ? undefined : this.reply((w) => encodeConfirmSelectOk(w, channel));
      case Method.ChannelClose:
        return this.reply((w) => encodeChannelCloseOk(w, channel));
      case Method.ConnectionClose:
        this.reply((w) => encodeConnectionCloseOk(w, 0));
        this.flush();
        this.socket.end();
        return;
    }
  }

  header(_channel: number, buf: Buffer, start: number, end: number): void {
    for (const t of this.targets) {
      const w = t.out;
      const h = w.frameStart(FRAME_HEADER, t.channel);
      copyInto(w, buf, start, end);
      w.frameEnd(h);
      t.markDirty();
    }
  }

  private readonly bodyHeader = Buffer.alloc(7);

  bodyStart(_channel: number, size: number): void {
    if (this.targets.length === 0) return;
    const h = this.bodyHeader;
    h[0] = FRAME_BODY;
    for (const t of this.targets) {
      h.writeUInt16BE(t.channel, 1);
      h.writeUInt32BE(size, 3);
      copyInto(t.out, h, 0, 7);
      t.markDirty();
    }
  }

  body(buf: Buffer, start: number, end: number): void {
    for (const t of this.targets) t.forward(buf, start, end);
  }

  bodyEnd(): void {
    for (const t of this.targets) {
      t.out.octet(FRAME_END);
      t.markDirty();
    }
  }
}

export class NullSink {
  readonly queues = new Map<string, SinkQueue>();
  readonly exchanges = new Map<string, SinkExchange>();
  readonly peers = new Set<Peer>();
  dirty: Peer[] = [];
  generated = 0;
  private congestedCount = 0;
  private readonly server: Server;

  constructor() {
    for (const [name, type] of [['amq.direct', 'direct'], ['amq.fanout', 'fanout'], ['amq.topic', 'topic']] as const) {
      this.exchanges.set(name, { type, queues: [], next: 0 });
    }
    // With Node's default 16 KiB high-water mark, every 64 KiB delivery would read as congestion and
    // pause the publishers until the consumer's buffer emptied: a stall per message.
    this.server = createServer({ highWaterMark: 1 << 20 }, (s) => {
      s.setNoDelay(true);
      this.peers.add(new Peer(s, this));
    });
  }

  listen(port: number, host = '127.0.0.1'): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        const a = this.server.address();
        resolve(typeof a === 'object' && a !== null ? a.port : port);
      });
    });
  }

  queue(name: string): SinkQueue {
    let q = this.queues.get(name);
    if (q === undefined) {
      q = { consumers: [], next: 0, ready: 0 };
      this.queues.set(name, q);
    }
    return q;
  }

  /** Adds to `out` the consumers a publish goes to (at most one per queue). */
  route(exchange: string, routingKey: string, out: Peer[]): void {
    if (exchange === '') return this.toQueue(routingKey, out);
    const x = this.exchanges.get(exchange);
    if (x === undefined || x.queues.length === 0) return;
    if (x.type !== 'fanout') return this.toQueue(x.queues[x.next++ % x.queues.length]!, out);
    for (const name of x.queues) this.toQueue(name, out);
  }

  private toQueue(name: string, out: Peer[]): void {
    const q = this.queues.get(name);
    if (q === undefined) return;
    if (q.consumers.length === 0) q.ready++;
    else out.push(q.consumers[q.next++ % q.consumers.length]!);
  }

  removeConsumer(p: Peer): void {
    for (const q of this.queues.values()) {
      const i = q.consumers.indexOf(p);
      if (i >= 0) q.consumers.splice(i, 1);
    }
  }

  flushAll(): void {
    const d = this.dirty;
    this.dirty = [];
    for (const p of d) p.flush();
  }

  congested(): void {
    if (this.congestedCount++ === 0) for (const p of this.peers) if (p.consumerTag === '') p.socket.pause();
  }

  uncongested(): void {
    if (--this.congestedCount === 0) for (const p of this.peers) if (p.consumerTag === '') p.socket.resume();
  }

  dropPeer(p: Peer): void {
    if (!this.peers.has(p)) return;
    this.peers.delete(p);
    this.removeConsumer(p);
    if (p.congested) {
      p.congested = false;
      this.uncongested();
    }
  }

  close(): Promise<void> {
    for (const p of this.peers) p.socket.destroy();
    return new Promise((r) => this.server.close(() => r()));
  }
}

async function main(): Promise<void> {
  const sink = new NullSink();
  const port = await sink.listen(Number(process.argv[3] ?? 0));
  process.send?.({ listening: port });
  process.on('SIGTERM', () => void sink.close().then(() => process.exit(0)));
  process.on('disconnect', () => void sink.close().then(() => process.exit(0)));
}

if (process.argv[2] === '--serve') {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
