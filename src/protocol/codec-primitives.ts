/**
 * Byte-level reading and writing of the AMQP domain types (octet, short, long, longlong, shortstr,
 * longstr, bit, timestamp, table). The generated per-method codecs are written in terms of these.
 *
 * Reader: a cursor over one frame payload. Every read checks against the payload end (not the
 * Buffer's length: payloads are views into larger socket chunks), and an overrun throws DecodeError,
 * which the connection turns into the AMQP error RabbitMQ gives for an undecodable frame.
 *
 * Writer: an append-only byte sink that grows on demand. The connection's outbound buffer extends it.
 */
import { isUtf8 } from 'node:buffer';
import type { Decimal, FieldTable, FieldValue } from './field-table.js';
import { FRAME_END } from './generated/constants.js';

/** RabbitMQ's FRAME_ERROR "Malformed UTF-8 in shortstr" for a method's short string. */
export class MalformedUtf8Error extends Error {
  override name = 'MalformedUtf8Error';
}

export class DecodeError extends Error {
  override name = 'DecodeError';
  /**
   * True when the bytes that failed lie inside a field table whose length was fine. RabbitMQ's method
   * decoder matches the table as opaque bytes and parses it afterwards, so only the first kind of
   * failure is a FRAME_ERROR "cannot decode"; a broken table crashes its reader instead.
   */
  insideTable = false;
}

/** 2^32: the high half of a 64-bit integer is read and written as a multiple of it. */
export const TWO_32 = 0x1_0000_0000;

export class Reader {
  buf: Buffer;
  pos: number;
  end: number;
  /** Pending bit-packed octet: consecutive `bit` fields share one octet (spec 4.2.5.2). */
  private bitByte = 0;
  private bitIndex = 8;

  constructor(buf: Buffer = Buffer.alloc(0), pos = 0, end = buf.length) {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
  }

  reset(buf: Buffer, pos: number, end: number): this {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
    this.bitIndex = 8;
    return this;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  private need(n: number): number {
    const p = this.pos;
    if (p + n > this.end) throw new DecodeError(`truncated: needed ${n} bytes at offset ${p}, have ${this.end - p}`);
    this.pos = p + n;
    this.bitIndex = 8;
    return p;
  }

  octet(): number {
    return this.buf[this.need(1)]!;
  }

  short(): number {
    const p = this.need(2);
    return (this.buf[p]! << 8) | this.buf[p + 1]!;
  }

  long(): number {
    const p = this.need(4);
    return this.buf.readUInt32BE(p);
  }

  /** Unsigned 64-bit as a number; exact up to 2^53, which no delivery tag or count reaches. */
  longlong(): number {
    const p = this.need(8);
    return this.buf.readUInt32BE(p) * TWO_32 + this.buf.readUInt32BE(p + 4);
  }

  /** The property's full unsigned 64 bits: a number up to 2^53, else a bigint (re-encodes exactly). */
  timestamp(): number | bigint {
    return narrow(this.buf.readBigUInt64BE(this.need(8)));
  }

  bit(): boolean {
    if (this.bitIndex > 7) {
      const p = this.pos;
      if (p + 1 > this.end) throw new DecodeError(`truncated: needed 1 byte at offset ${p}`);
      this.pos = p + 1;
      this.bitByte = this.buf[p]!;
      this.bitIndex = 0;
    }
    return ((this.bitByte >> this.bitIndex++) & 1) === 1;
  }

  shortstr(): string {
    const len = this.octet();
    const p = this.need(len);
    return len === 0 ? '' : this.buf.toString('utf8', p, p + len);
  }

  /** A short string that must be valid UTF-8 (method arguments, as RabbitMQ asserts). */
  shortstrUtf8(): string {
    const len = this.octet();
    const p = this.need(len);
    if (len === 0) return '';
    const bytes = this.buf.subarray(p, p + len);
    for (let i = 0; i < len; i++) {
      // ASCII is the common case; only strings with high bytes need the full check.
      if (bytes[i]! > 0x7f) {
        if (!isUtf8(bytes)) throw new MalformedUtf8Error('Malformed UTF-8 in shortstr');
        break;
      }
    }
    return bytes.toString('utf8');
  }

  longstrBytes(): Buffer {
    const len = this.long();
    const p = this.need(len);
    return this.buf.subarray(p, p + len);
  }

  longstr(): Buffer {
    return Buffer.from(this.longstrBytes());
  }

  table(): FieldTable {
    const len = this.long();
    const start = this.need(len);
    const out: FieldTable = new Map();
    this.nestedEntries(out, start, start + len);
    return out;
  }

  /** Skips a table without decoding it, returning the byte range of its entries. */
  skipTable(): { start: number; end: number } {
    const len = this.long();
    const start = this.need(len);
    return { start, end: start + len };
  }

  fieldValue(): FieldValue {
    const tag = this.octet();
    if (tag === 0x46 /* F */ || tag === 0x41 /* A */) {
      const len = this.long();
      const start = this.need(len);
      const v = emptyContainer(tag);
      this.nestedEntries(v.value, start, start + len);
      return v;
    }
    return this.scalarValue(tag);
  }

  /**
   * Reads the entries of `root` (a table or an array whose entries span [start, end)) and of every
   * table and array inside them. Nesting is followed with an explicit stack, not recursion: RabbitMQ's
   * parser recurses on Erlang's growable stack and so decodes any depth that fits in a frame (18,000
   * tables, 26,000 arrays in 128 KiB), where a recursive reader here ran out of call stack at about
   * 3,000. Each open container's end bounds the reads inside it, as `end` does for the whole payload.
   */
  private nestedEntries(root: FieldTable | FieldValue[], start: number, end: number): void {
    const payloadEnd = this.end;
    const open: (FieldTable | FieldValue[])[] = [root];
    const ends: number[] = [end];
    let container = root;
    this.pos = start;
    this.end = end;
    try {
      for (;;) {
        if (this.pos >= this.end) {
          // Every read inside stops at `end`, so the container's entries ended exactly there.
          open.pop();
          ends.pop();
          if (open.length === 0) break;
          container = open[open.length - 1]!;
          this.end = ends[ends.length - 1]!;
          continue;
        }
        const key = container instanceof Map ? this.shortstr() : undefined;
        const tag = this.octet();
        let value: FieldValue;
        let child: FieldTable | FieldValue[] | undefined;
        if (tag === 0x46 /* F */ || tag === 0x41 /* A */) {
          const len = this.long();
          const childStart = this.need(len);
          value = emptyContainer(tag);
          child = value.value;
          this.pos = childStart;
          open.push(child);
          ends.push(childStart + len);
        } else {
          value = this.scalarValue(tag);
        }
        if (key !== undefined) (container as FieldTable).set(key, value);
        else (container as FieldValue[]).push(value);
        if (child !== undefined) {
          container = child;
          this.end = ends[ends.length - 1]!;
        }
      }
    } catch (e) {
      // A table's length was fine but its contents are not (see DecodeError.insideTable).
      if (e instanceof DecodeError && open.some((c) => c instanceof Map)) e.insideTable = true;
      throw e;
    } finally {
      this.end = payloadEnd;
    }
    this.pos = end;
  }

  /** A field value that is neither a table nor an array, its tag already read. */
  private scalarValue(tag: number): FieldValue {
    const buf = this.buf;
    switch (tag) {
      case 0x74 /* t */:
        return { type: 't', value: this.octet() !== 0 };
      case 0x62 /* b */:
        return { type: 'b', value: buf.readInt8(this.need(1)) };
      case 0x42 /* B */:
        return { type: 'B', value: this.octet() };
      case 0x73 /* s */:
        return { type: 's', value: buf.readInt16BE(this.need(2)) };
      case 0x75 /* u */:
        return { type: 'u', value: this.short() };
      case 0x49 /* I */:
        return { type: 'I', value: buf.readInt32BE(this.need(4)) };
      case 0x69 /* i */:
        return { type: 'i', value: this.long() };
      case 0x6c /* l */:
      case 0x4c /* L: RabbitMQ reads it as a signed 64-bit integer too (see rabbit_binary_parser) */:
        return { type: 'l', value: narrow(buf.readBigInt64BE(this.need(8))) };
      case 0x66 /* f */:
        return { type: 'f', value: buf.readFloatBE(this.need(4)) };
      case 0x64 /* d */:
        return { type: 'd', value: buf.readDoubleBE(this.need(8)) };
      case 0x44 /* D */: {
        // RabbitMQ reads the decimal's value as unsigned (rabbit_binary_parser); so do we.
        const scale = this.octet();
        const value = this.long();
        const d: Decimal = { scale, value };
        return { type: 'D', value: d };
      }
      case 0x53 /* S */: {
        const bytes = this.longstrBytes();
        return { type: 'S', value: isUtf8(bytes) ? bytes.toString('utf8') : Buffer.from(bytes) };
      }
      case 0x78 /* x */:
        return { type: 'x', value: Buffer.from(this.longstrBytes()) };
      case 0x54 /* T */:
        return { type: 'T', value: narrow(buf.readBigUInt64BE(this.need(8))) };
      case 0x56 /* V */:
        return { type: 'V', value: null };
      default:
        throw new DecodeError(`unknown field type tag 0x${tag.toString(16).padStart(2, '0')}`);
    }
  }
}

function emptyContainer(tag: number): Extract<FieldValue, { type: 'F' | 'A' }> {
  return tag === 0x46 ? { type: 'F', value: new Map() } : { type: 'A', value: [] };
}

function narrow(v: bigint): number | bigint {
  return v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : v;
}

export class EncodeError extends Error {
  override name = 'EncodeError';
}

export class Writer {
  buf: Buffer;
  pos = 0;
  private bitStart = -1;
  private bitIndex = 8;

  constructor(initialCapacity = 4096) {
    this.buf = Buffer.allocUnsafe(initialCapacity);
  }

  /** Makes room for n more bytes. Subclasses decide how (grow in place, or start a new slab). */
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.pos + n) cap *= 2;
    const next = Buffer.allocUnsafe(cap);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** The bytes written so far (a view, valid until the next write that grows the buffer). */
  bytes(): Buffer {
    return this.buf.subarray(0, this.pos);
  }

  octet(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v;
    this.bitIndex = 8;
  }

  short(v: number): void {
    this.ensure(2);
    const p = this.pos;
    this.buf[p] = v >>> 8;
    this.buf[p + 1] = v;
    this.pos = p + 2;
    this.bitIndex = 8;
  }

  long(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32BE(v >>> 0, this.pos);
    this.pos += 4;
    this.bitIndex = 8;
  }

  longlong(v: number | bigint): void {
    this.ensure(8);
    if (typeof v === 'bigint') {
      this.buf.writeBigUInt64BE(BigInt.asUintN(64, v), this.pos);
    } else {
      this.buf.writeUInt32BE(Math.floor(v / TWO_32) >>> 0, this.pos);
      this.buf.writeUInt32BE(v >>> 0, this.pos + 4);
    }
    this.pos += 8;
    this.bitIndex = 8;
  }

  timestamp(v: number | bigint): void {
    this.longlong(v);
  }

  bit(v: boolean): void {
    if (this.bitIndex > 7) {
      this.ensure(1);
      this.bitStart = this.pos;
      this.buf[this.pos++] = 0;
      this.bitIndex = 0;
    }
    if (v) this.buf[this.bitStart] = this.buf[this.bitStart]! | (1 << this.bitIndex);
    this.bitIndex++;
  }

  shortstr(s: string | Buffer): void {
    if (typeof s !== 'string') {
      if (s.length > 255) throw new EncodeError(`shortstr longer than 255 bytes (${s.length})`);
      this.ensure(1 + s.length);
      this.buf[this.pos] = s.length;
      this.buf.set(s, this.pos + 1);
      this.pos += 1 + s.length;
      this.bitIndex = 8;
      return;
    }
    this.ensure(1 + s.length * 3);
    const p = this.pos;
    let n: number;
    if (s.length < 64 && isAscii(s)) {
      // Short ASCII names (queue, exchange, routing key, consumer tag) are the common case;
      // writing them inline avoids a call into the UTF-8 encoder per frame.
      n = s.length;
      const buf = this.buf;
      for (let i = 0; i < n; i++) buf[p + 1 + i] = s.charCodeAt(i);
    } else {
      n = this.buf.write(s, p + 1, 'utf8');
    }
    if (n > 255) throw new EncodeError(`shortstr longer than 255 bytes (${n})`);
    this.buf[p] = n;
    this.pos = p + 1 + n;
    this.bitIndex = 8;
  }

  longstr(v: string | Buffer | Uint8Array): void {
    if (typeof v === 'string') {
      const n = Buffer.byteLength(v, 'utf8');
      this.ensure(4 + n);
      this.buf.writeUInt32BE(n, this.pos);
      this.buf.write(v, this.pos + 4, 'utf8');
      this.pos += 4 + n;
    } else {
      this.ensure(4 + v.length);
      this.buf.writeUInt32BE(v.length, this.pos);
      this.buf.set(v, this.pos + 4);
      this.pos += 4 + v.length;
    }
    this.bitIndex = 8;
  }

  raw(v: Uint8Array, start = 0, end = v.length): void {
    const n = end - start;
    this.ensure(n);
    this.buf.set(start === 0 && end === v.length ? v : v.subarray(start, end), this.pos);
    this.pos += n;
    this.bitIndex = 8;
  }

  table(t: FieldTable | undefined): void {
    this.ensure(4);
    const lenAt = this.pos;
    this.pos += 4;
    if (t !== undefined && t.size > 0) this.nestedEntries(t);
    this.buf.writeUInt32BE(this.pos - lenAt - 4, lenAt);
    this.bitIndex = 8;
  }

  fieldValue(v: FieldValue): void {
    if (v.type === 'F' || v.type === 'A') {
      this.ensure(5);
      this.buf[this.pos] = v.type.charCodeAt(0);
      const lenAt = this.pos + 1;
      this.pos += 5;
      this.nestedEntries(v.value);
      this.buf.writeUInt32BE(this.pos - lenAt - 4, lenAt);
      this.bitIndex = 8;
      return;
    }
    this.scalarValue(v);
  }

  /**
   * Writes the entries of `root` and of every table and array inside them, following nesting with an
   * explicit stack (as Reader does, so that whatever decodes re-encodes: a header 18,000 tables deep
   * that dead-lettering rewrites). Each open container remembers where its length prefix is, patched
   * once its last entry is written.
   */
  private nestedEntries(root: FieldTable | FieldValue[]): void {
    // Per open container: an iterator over a table's entries, or an array and the next index.
    const open: (Iterator<[string, FieldValue]> | FieldValue[])[] = [root instanceof Map ? root.entries() : root];
    const next: number[] = [0];
    const lenAts: number[] = [-1];
    for (;;) {
      const top = open.length - 1;
      const c = open[top]!;
      let v: FieldValue;
      if (Array.isArray(c)) {
        const i = next[top]!;
        if (i < c.length) {
          v = c[i]!;
          next[top] = i + 1;
        } else {
          if (this.closeNested(open, next, lenAts)) return;
          continue;
        }
      } else {
        const r = c.next();
        if (r.done === true) {
          if (this.closeNested(open, next, lenAts)) return;
          continue;
        }
        this.shortstr(r.value[0]);
        v = r.value[1];
      }
      if (v.type === 'F' || v.type === 'A') {
        this.ensure(5);
        this.buf[this.pos] = v.type.charCodeAt(0);
        lenAts.push(this.pos + 1);
        this.pos += 5;
        open.push(v.type === 'F' ? v.value.entries() : v.value);
        next.push(0);
      } else {
        this.scalarValue(v);
      }
    }
  }

  /** Ends the innermost open container of nestedEntries: true when that was the root. */
  private closeNested(open: unknown[], next: number[], lenAts: number[]): boolean {
    open.pop();
    next.pop();
    const lenAt = lenAts.pop()!;
    if (open.length === 0) return true;
    this.buf.writeUInt32BE(this.pos - lenAt - 4, lenAt);
    return false;
  }

  /** A field value that is neither a table nor an array. */
  private scalarValue(v: Exclude<FieldValue, { type: 'F' | 'A' }>): void {
    this.ensure(9);
    const tagAt = this.pos++;
    this.buf[tagAt] = v.type.charCodeAt(0);
    switch (v.type) {
      case 't':
        this.buf[this.pos++] = v.value ? 1 : 0;
        break;
      case 'b':
        this.buf.writeInt8(v.value, this.pos);
        this.pos += 1;
        break;
      case 'B':
        this.buf.writeUInt8(v.value, this.pos);
        this.pos += 1;
        break;
      case 's':
        this.buf.writeInt16BE(v.value, this.pos);
        this.pos += 2;
        break;
      case 'u':
        this.buf.writeUInt16BE(v.value, this.pos);
        this.pos += 2;
        break;
      case 'I':
        this.buf.writeInt32BE(v.value, this.pos);
        this.pos += 4;
        break;
      case 'i':
        this.buf.writeUInt32BE(v.value, this.pos);
        this.pos += 4;
        break;
      case 'l':
        this.buf.writeBigInt64BE(BigInt(v.value), this.pos);
        this.pos += 8;
        break;
      case 'T':
        this.buf.writeBigUInt64BE(BigInt(v.value), this.pos);
        this.pos += 8;
        break;
      case 'f':
        this.buf.writeFloatBE(v.value, this.pos);
        this.pos += 4;
        break;
      case 'd':
        this.buf.writeDoubleBE(v.value, this.pos);
        this.pos += 8;
        break;
      case 'D':
        this.buf[this.pos] = v.value.scale;
        this.buf.writeUInt32BE(v.value.value >>> 0, this.pos + 1);
        this.pos += 5;
        break;
      case 'S':
      case 'x':
        this.longstr(v.value);
        break;
      case 'V':
        break;
    }
    this.bitIndex = 8;
  }

  /** Begins a frame: type, channel, and a size to be patched by frameEnd. Returns the frame start. */
  frameStart(type: number, channel: number): number {
    this.ensure(7);
    const p = this.pos;
    const buf = this.buf;
    buf[p] = type;
    buf[p + 1] = channel >>> 8;
    buf[p + 2] = channel;
    this.pos = p + 7;
    this.bitIndex = 8;
    return p;
  }

  /** Ends a run of bits: for code that writes into `buf` directly and then sets `pos`. */
  resetBits(): void {
    this.bitIndex = 8;
  }

  /** Patches the payload size of the frame begun at `start` and writes the frame-end octet. */
  frameEnd(start: number): void {
    this.ensure(1);
    this.buf.writeUInt32BE(this.pos - start - 7, start + 3);
    this.buf[this.pos++] = FRAME_END;
    this.bitIndex = 8;
  }
}

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}
