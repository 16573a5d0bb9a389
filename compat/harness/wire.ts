// A byte-level AMQP 0-9-1 client for what no client library will send: odd protocol headers, bad
// frames, out-of-order methods, exact field-table type tags. Methods are encoded and decoded from the
// machine-readable spec (spec/amqp-rabbitmq-0.9.1.json), independently of Warren's own codec.
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { renderValue, ScenarioAbort, sleep, TAKE_TIMEOUT_MS, type Ctx, type Json } from './scenario.js';

interface SpecArg {
  name: string;
  type?: string;
  domain?: string;
}
interface SpecMethod {
  id: number;
  name: string;
  arguments: SpecArg[];
}
interface SpecClass {
  id: number;
  name: string;
  methods: SpecMethod[];
  properties?: SpecArg[];
}
interface Spec {
  domains: Array<[string, string]>;
  classes: SpecClass[];
}

const spec = JSON.parse(readFileSync(fileURLToPath(new URL('../../spec/amqp-rabbitmq-0.9.1.json', import.meta.url)), 'utf8')) as Spec;
// RabbitMQ's framing also has basic.credit, credit-ok and credit-drained (its credit extension).
const creditExtension = JSON.parse(readFileSync(fileURLToPath(new URL('../../spec/credit_extension.json', import.meta.url)), 'utf8')) as Spec;
for (const ext of creditExtension.classes) spec.classes.find((c) => c.id === ext.id)!.methods.push(...ext.methods);
const domains = new Map(spec.domains);
const argType = (a: SpecArg): string => a.type ?? domains.get(a.domain!) ?? 'shortstr';
const byName = new Map<string, { cls: SpecClass; m: SpecMethod }>();
const byId = new Map<number, { cls: SpecClass; m: SpecMethod }>();
for (const cls of spec.classes) {
  for (const m of cls.methods) {
    byName.set(`${cls.name}.${m.name}`, { cls, m });
    byId.set((cls.id << 16) | m.id, { cls, m });
  }
}

/** A field-table value with its explicit type tag: ['I', 5], ['S', 'text'], ['F', {...}], ['A', [...]]. */
type Tagged = [string, unknown];
export type Table = Record<string, Tagged>;

// ---- encoding ------------------------------------------------------------------------------------

class Writer {
  private parts: Buffer[] = [];
  private bits: number[] = [];
  private flushBits(): void {
    if (this.bits.length === 0) return;
    let byte = 0;
    this.bits.forEach((b, i) => (byte |= b << i));
    this.parts.push(Buffer.from([byte]));
    this.bits = [];
  }
  bit(v: boolean): void {
    this.bits.push(v ? 1 : 0);
    if (this.bits.length === 8) this.flushBits();
  }
  raw(b: Buffer): void {
    this.flushBits();
    this.parts.push(b);
  }
  u8(v: number) {
    const b = Buffer.alloc(1);
    b.writeUInt8(v);
    this.raw(b);
  }
  u16(v: number) {
    const b = Buffer.alloc(2);
    b.writeUInt16BE(v);
    this.raw(b);
  }
  u32(v: number) {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(v);
    this.raw(b);
  }
  u64(v: number | bigint) {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(BigInt(v));
    this.raw(b);
  }
  shortstr(s: string) {
    const b = Buffer.from(s);
    this.u8(b.length);
    this.raw(b);
  }
  longstr(s: string | Buffer) {
    const b = Buffer.isBuffer(s) ? s : Buffer.from(s);
    this.u32(b.length);
    this.raw(b);
  }
  table(t: Table) {
    this.raw(encodeTable(t));
  }
  done(): Buffer {
    this.flushBits();
    return Buffer.concat(this.parts);
  }
}

function encodeValue(w: Writer, [tag, v]: Tagged): void {
  w.raw(Buffer.from(tag));
  const b = (n: number, f: (buf: Buffer) => void) => {
    const buf = Buffer.alloc(n);
    f(buf);
    w.raw(buf);
  };
  switch (tag) {
    case 't': return w.u8(v ? 1 : 0);
    case 'b': return b(1, (x) => x.writeInt8(v as number));
    case 'B': return w.u8(v as number);
    case 's': return b(2, (x) => x.writeInt16BE(v as number));
    case 'u': return w.u16(v as number);
    case 'I': return b(4, (x) => x.writeInt32BE(v as number));
    case 'i': return w.u32(v as number);
    case 'l': return b(8, (x) => x.writeBigInt64BE(BigInt(v as number)));
    case 'L': return w.u64(v as number);
    case 'f': return b(4, (x) => x.writeFloatBE(v as number));
    case 'd': return b(8, (x) => x.writeDoubleBE(v as number));
    case 'D': {
      const [places, digits] = v as [number, number];
      w.u8(places);
      return b(4, (x) => x.writeInt32BE(digits));
    }
    case 'S': return w.longstr(v as string);
    case 'x': return w.longstr(Buffer.from(v as string, 'hex'));
    case 'T': return w.u64(v as number);
    case 'F': return w.table(v as Table);
    case 'A': {
      const inner = new Writer();
      for (const item of v as Tagged[]) encodeValue(inner, item);
      return w.longstr(inner.done());
    }
    case 'V': return;
    default: throw new Error(`unknown field tag ${tag}`);
  }
}

export function encodeTable(t: Table): Buffer {
  const w = new Writer();
  for (const [k, v] of Object.entries(t)) {
    w.shortstr(k);
    encodeValue(w, v);
  }
  const body = w.done();
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  return Buffer.concat([len, body]);
}

/** Encode a method frame payload; missing fields take zero values. */
export function encodeMethod(name: string, fields: Record<string, unknown> = {}): Buffer {
  const def = byName.get(name);
  if (!def) throw new Error(`unknown method ${name}`);
  const w = new Writer();
  w.u16(def.cls.id);
  w.u16(def.m.id);
  for (const a of def.m.arguments) {
    const v = fields[a.name];
    switch (argType(a)) {
      case 'bit': w.bit(!!v); break;
      case 'octet': w.u8((v as number) ?? 0); break;
      case 'short': w.u16((v as number) ?? 0); break;
      case 'long': w.u32((v as number) ?? 0); break;
      case 'longlong': case 'timestamp': w.u64((v as number) ?? 0); break;
      case 'shortstr': w.shortstr((v as string) ?? ''); break;
      case 'longstr': w.longstr((v as string | Buffer) ?? ''); break;
      case 'table': w.table((v as Table) ?? {}); break;
      default: throw new Error(`type ${argType(a)}`);
    }
  }
  return w.done();
}

export function frame(type: number, channel: number, payload: Buffer, end = 0xce): Buffer {
  const h = Buffer.alloc(7);
  h.writeUInt8(type, 0);
  h.writeUInt16BE(channel, 1);
  h.writeUInt32BE(payload.length, 3);
  return Buffer.concat([h, payload, Buffer.from([end])]);
}

/** Content header payload for basic: class 60, body size, property flags and properties. */
export function contentHeader(bodySize: number, props: { headers?: Table; contentType?: string; deliveryMode?: number } = {}): Buffer {
  const w = new Writer();
  w.u16(60);
  w.u16(0);
  w.u64(bodySize);
  let flags = 0;
  if (props.contentType !== undefined) flags |= 1 << 15;
  if (props.headers !== undefined) flags |= 1 << 13;
  if (props.deliveryMode !== undefined) flags |= 1 << 12;
  w.u16(flags);
  if (props.contentType !== undefined) w.shortstr(props.contentType);
  if (props.headers !== undefined) w.table(props.headers);
  if (props.deliveryMode !== undefined) w.u8(props.deliveryMode);
  return w.done();
}

// ---- decoding ------------------------------------------------------------------------------------

class Reader {
  off = 0;
  private bitByte = 0;
  private bitPos = 8;
  constructor(readonly buf: Buffer) {}
  private align() {
    this.bitPos = 8;
  }
  u8() { this.align(); return this.buf.readUInt8(this.off++); }
  u16() { this.align(); const v = this.buf.readUInt16BE(this.off); this.off += 2; return v; }
  u32() { this.align(); const v = this.buf.readUInt32BE(this.off); this.off += 4; return v; }
  u64() { this.align(); const v = this.buf.readBigUInt64BE(this.off); this.off += 8; return Number(v); }
  bit() {
    if (this.bitPos === 8) {
      this.bitByte = this.buf.readUInt8(this.off++);
      this.bitPos = 0;
    }
    return ((this.bitByte >> this.bitPos++) & 1) === 1;
  }
  bytes(n: number) { this.align(); const b = this.buf.subarray(this.off, this.off + n); this.off += n; return b; }
  shortstr() { return this.bytes(this.u8()).toString('utf8'); }
  longstr() { return this.bytes(this.u32()); }
  table(): Record<string, Json> {
    const r = new Reader(this.longstr());
    const out: Record<string, Json> = {};
    while (r.off < r.buf.length) {
      const k = r.shortstr();
      out[k] = r.value();
    }
    return out;
  }
  /** A field value as [tag, value]: the tag is what is being compared. */
  value(): Json {
    const tag = String.fromCharCode(this.u8());
    const v = ((): Json => {
      switch (tag) {
        case 't': return this.u8() !== 0;
        case 'b': { const v = this.buf.readInt8(this.off); this.off += 1; return v; }
        case 'B': return this.u8();
        case 's': { const v = this.buf.readInt16BE(this.off); this.off += 2; return v; }
        case 'u': return this.u16();
        case 'I': { const v = this.buf.readInt32BE(this.off); this.off += 4; return v; }
        case 'i': return this.u32();
        case 'l': { const v = this.buf.readBigInt64BE(this.off); this.off += 8; return v.toString(); }
        case 'L': { const v = this.buf.readBigUInt64BE(this.off); this.off += 8; return v.toString(); }
        case 'f': { const v = this.buf.readFloatBE(this.off); this.off += 4; return v; }
        case 'd': { const v = this.buf.readDoubleBE(this.off); this.off += 8; return v; }
        case 'D': { const p = this.u8(); const d = this.buf.readInt32BE(this.off); this.off += 4; return [p, d]; }
        case 'S': return this.longstr().toString('utf8');
        case 'x': return this.longstr().toString('hex');
        case 'T': return this.u64();
        case 'F': return this.table();
        case 'A': {
          const r = new Reader(this.longstr());
          const out: Json[] = [];
          while (r.off < r.buf.length) out.push(r.value());
          return out;
        }
        case 'V': return null;
        default: throw new Error(`unknown field tag ${JSON.stringify(tag)}`);
      }
    })();
    return [tag, v];
  }
}

export interface Frame {
  type: number;
  channel: number;
  payload: Buffer;
  end: number;
}

function decodeMethod(payload: Buffer): { name: string; fields: Record<string, Json> } {
  const r = new Reader(payload);
  const id = (r.u16() << 16) | r.u16();
  const def = byId.get(id);
  if (!def) return { name: `unknown(${id >> 16},${id & 0xffff})`, fields: {} };
  const fields: Record<string, Json> = {};
  for (const a of def.m.arguments) {
    switch (argType(a)) {
      case 'bit': fields[a.name] = r.bit(); break;
      case 'octet': fields[a.name] = r.u8(); break;
      case 'short': fields[a.name] = r.u16(); break;
      case 'long': fields[a.name] = r.u32(); break;
      case 'longlong': case 'timestamp': fields[a.name] = r.u64(); break;
      case 'shortstr': fields[a.name] = r.shortstr(); break;
      case 'longstr': fields[a.name] = r.longstr().toString('utf8'); break;
      case 'table': fields[a.name] = r.table(); break;
    }
  }
  return { name: `${def.cls.name}.${def.m.name}`, fields };
}

const PROPS = ['content-type', 'content-encoding', 'headers', 'delivery-mode', 'priority', 'correlation-id', 'reply-to', 'expiration', 'message-id', 'timestamp', 'type', 'user-id', 'app-id', 'cluster-id'];
const PROP_TYPES = ['shortstr', 'shortstr', 'table', 'octet', 'octet', 'shortstr', 'shortstr', 'shortstr', 'shortstr', 'timestamp', 'shortstr', 'shortstr', 'shortstr', 'shortstr'];

function decodeHeader(payload: Buffer): Record<string, Json> {
  const r = new Reader(payload);
  const cls = r.u16();
  r.u16();
  const size = r.u64();
  const flags = r.u16();
  const props: Record<string, Json> = {};
  PROPS.forEach((p, i) => {
    if (!(flags & (1 << (15 - i)))) return;
    const t = PROP_TYPES[i];
    props[p] = t === 'shortstr' ? r.shortstr() : t === 'table' ? r.table() : t === 'octet' ? r.u8() : r.u64();
  });
  return { class: cls, bodySize: size, props };
}

// ---- the connection ------------------------------------------------------------------------------

export class RawConn {
  private buf = Buffer.alloc(0);
  private frames: Frame[] = [];
  private ended = false;
  private headerReply: Buffer | undefined;
  private readonly socket: net.Socket;
  private expectHeader = true;

  private constructor(
    readonly t: Ctx,
    socket: net.Socket,
  ) {
    this.socket = socket;
    socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.parse();
    });
    socket.on('close', () => (this.ended = true));
    socket.on('error', () => (this.ended = true));
  }

  static async open(t: Ctx): Promise<RawConn> {
    const u = new URL(t.target.url);
    const socket = net.connect({ host: u.hostname, port: Number(u.port || 5672) });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new RawConn(t, socket);
  }

  private parse(): void {
    // A server that rejects the protocol header answers with its own 8-byte header.
    if (this.expectHeader && this.buf.length >= 8 && this.buf.subarray(0, 4).toString() === 'AMQP') {
      this.headerReply = this.buf.subarray(0, 8);
      this.buf = this.buf.subarray(8);
    }
    if (this.buf.length > 0) this.expectHeader = false;
    while (this.buf.length >= 8) {
      const size = this.buf.readUInt32BE(3);
      if (this.buf.length < 8 + size) return;
      this.frames.push({ type: this.buf[0]!, channel: this.buf.readUInt16BE(1), payload: this.buf.subarray(7, 7 + size), end: this.buf[7 + size]! });
      this.buf = this.buf.subarray(8 + size);
    }
  }

  write(b: Buffer): void {
    if (!this.ended) this.socket.write(b);
  }

  header(bytes: Buffer | string = Buffer.from([65, 77, 81, 80, 0, 0, 9, 1])): void {
    this.write(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes);
  }

  method(channel: number, name: string, fields: Record<string, unknown> = {}): void {
    this.write(frame(1, channel, encodeMethod(name, fields)));
  }

  /** Wait for the next frame (or the end of the socket) and record it. */
  async recv(timeoutMs = TAKE_TIMEOUT_MS): Promise<{ name: string; fields: Record<string, Json>; channel: number } | undefined> {
    const deadline = Date.now() + timeoutMs;
    while (this.frames.length === 0 && !this.ended && Date.now() < deadline) await sleep(2);
    const f = this.frames.shift();
    if (!f) {
      if (this.ended) {
        this.t.events.push({ recv: 'socket closed' });
        return undefined;
      }
      this.t.events.push({ recv: 'timeout' });
      throw new ScenarioAbort('raw: no frame from the server');
    }
    if (f.type === 1) {
      const m = decodeMethod(f.payload);
      this.t.events.push({ recv: m.name, ch: f.channel, fields: viewFields(m.name, m.fields) });
      return { ...m, channel: f.channel };
    }
    if (f.type === 2) this.t.events.push({ recv: 'header', ch: f.channel, ...decodeHeader(f.payload) } as { [k: string]: Json });
    else if (f.type === 3) this.t.events.push({ recv: 'body', ch: f.channel, body: renderValue(f.payload.toString('utf8')) });
    else this.t.events.push({ recv: `frame type ${f.type}`, ch: f.channel, size: f.payload.length });
    return { name: `frame-${f.type}`, fields: {}, channel: f.channel };
  }

  /** Receive until a method with this name arrives (recording everything on the way). */
  async until(name: string, max = 10): Promise<{ name: string; fields: Record<string, Json>; channel: number }> {
    for (let i = 0; i < max; i++) {
      const m = await this.recv();
      if (!m) throw new ScenarioAbort(`raw: socket closed before ${name}`);
      if (m.name === name) return m;
    }
    throw new ScenarioAbort(`raw: no ${name}`);
  }

  /** Record what the server said about the protocol header, and whether it closed the socket. */
  async headerRejected(timeoutMs = TAKE_TIMEOUT_MS): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.ended && Date.now() < deadline) await sleep(2);
    this.t.events.push({ protocolHeader: this.headerReply ? [...this.headerReply] : null, socket: this.ended ? 'closed' : 'open', frames: this.frames.length });
  }

  /**
   * Record every frame until the server closes the socket, answering connection.close. RabbitMQ
   * closes a failed handshake only after a silent delay of several seconds, and may leave the socket
   * open after connection.close-ok; after `timeoutMs` without a frame the socket is recorded as open.
   */
  async closedBy(timeoutMs = 5_000): Promise<void> {
    for (;;) {
      const deadline = Date.now() + timeoutMs;
      while (this.frames.length === 0 && !this.ended && Date.now() < deadline) await sleep(2);
      if (this.frames.length === 0) {
        this.t.events.push({ socket: this.ended ? 'closed' : 'open' });
        return;
      }
      const m = await this.recv();
      if (m?.name === 'connection.close') this.method(0, 'connection.close-ok');
    }
  }

  /** Full handshake with the given tune-ok values; records start (summarised), tune and open-ok. */
  async handshake(opts: { frameMax?: number; channelMax?: number; heartbeat?: number; vhost?: string; user?: string; password?: string } = {}): Promise<{ frameMax: number; channelMax: number }> {
    this.header();
    const start = await this.until('connection.start');
    void start;
    const u = new URL(this.t.target.url);
    const user = opts.user ?? decodeURIComponent(u.username || 'guest');
    const pass = opts.password ?? decodeURIComponent(u.password || 'guest');
    this.method(0, 'connection.start-ok', { 'client-properties': { product: ['S', 'warren-compat-raw'] }, mechanism: 'PLAIN', response: `\0${user}\0${pass}`, locale: 'en_US' });
    const tune = await this.until('connection.tune');
    const frameMax = opts.frameMax ?? (tune.fields['frame-max'] as number);
    const channelMax = opts.channelMax ?? (tune.fields['channel-max'] as number);
    this.method(0, 'connection.tune-ok', { 'channel-max': channelMax, 'frame-max': frameMax, heartbeat: opts.heartbeat ?? 0 });
    this.method(0, 'connection.open', { 'virtual-host': opts.vhost ?? '/' });
    return { frameMax, channelMax };
  }

  async openChannel(ch: number): Promise<void> {
    this.method(ch, 'channel.open');
    await this.until('channel.open-ok');
  }

  close(): void {
    this.socket.destroy();
  }
}

/**
 * connection.start carries server properties: keep their keys and capabilities, not versions. The
 * `warren` entry (Warren's own version beside the release it imitates) is left out.
 */
function viewFields(name: string, fields: Record<string, Json>): Json {
  if (name !== 'connection.start') return fields;
  const sp = fields['server-properties'] as Record<string, Json>;
  const out: Record<string, Json> = {};
  for (const k of Object.keys(sp).sort()) if (k !== 'warren') out[k] = k === 'capabilities' ? sp[k]! : '<server>';
  return { ...fields, 'server-properties': out };
}
