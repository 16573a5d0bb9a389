/**
 * The message record of a segment file, and its check.
 *
 *   u32 length    bytes after the crc field
 *   u32 crc32     of those bytes (zlib's CRC-32)
 *   u64 seq       the message's position in its queue
 *   u64 time      publish time, ms since the epoch (expiry counts from it across restarts)
 *   u8  flags     bit 0: persistent (delivery-mode 2); transient records are only pages of memory
 *   u8  exchange length, exchange
 *   u8  routing key length, routing key
 *   u32 properties length, properties (the content header's flags and list, as published)
 *   u32 body length, body
 *
 * A record that is cut short, zero-filled or fails its CRC ends the readable part of a segment: a
 * crash can only tear the tail of the file being written.
 */
import { crc32 } from 'node:zlib';

export const RECORD_HEADER = 8;
const FIXED = 8 + 8 + 1 + 1 + 1 + 4 + 4;
export const FLAG_PERSISTENT = 1;

export interface RecordFields {
  seq: number;
  time: number;
  persistent: boolean;
  exchange: string;
  routingKey: string;
  properties: Buffer;
  body: Buffer;
}

export interface DecodedRecord extends RecordFields {
  /** Offset of the record in the segment and its total size. */
  offset: number;
  size: number;
}

/** The encoded size of a record. */
export function recordSize(r: RecordFields): number {
  return RECORD_HEADER + FIXED + Buffer.byteLength(r.exchange) + Buffer.byteLength(r.routingKey) + r.properties.length + r.body.length;
}

/** Encodes a record into one buffer. */
export function encodeRecord(r: RecordFields): Buffer {
  const b = Buffer.allocUnsafe(recordSize(r));
  writeRecord(b, 0, r);
  return b;
}

/** Encodes a record at `at` of `b`, which has room for recordSize(r) bytes. */
export function writeRecord(b: Buffer, at: number, r: RecordFields): void {
  const ex = Buffer.byteLength(r.exchange);
  const rk = Buffer.byteLength(r.routingKey);
  const len = FIXED + ex + rk + r.properties.length + r.body.length;
  let p = at + RECORD_HEADER;
  b.writeUInt32BE(len, at);
  b.writeUInt32BE(Math.floor(r.seq / 0x1_0000_0000), p);
  b.writeUInt32BE(r.seq >>> 0, p + 4);
  p += 8;
  b.writeUInt32BE(Math.floor(r.time / 0x1_0000_0000), p);
  b.writeUInt32BE(r.time >>> 0, p + 4);
  p += 8;
  b[p++] = r.persistent ? FLAG_PERSISTENT : 0;
  b[p++] = ex;
  p += b.write(r.exchange, p, 'utf8');
  b[p++] = rk;
  p += b.write(r.routingKey, p, 'utf8');
  b.writeUInt32BE(r.properties.length, p);
  p += 4;
  r.properties.copy(b, p);
  p += r.properties.length;
  b.writeUInt32BE(r.body.length, p);
  p += 4;
  r.body.copy(b, p);
  b.writeUInt32BE(crc32(b.subarray(at + RECORD_HEADER, at + RECORD_HEADER + len)), at + 4);
}

export type ReadResult =
  | { kind: 'record'; record: DecodedRecord }
  /** Not enough bytes in the buffer for the record: read more. */
  | { kind: 'incomplete'; need: number }
  /** Damaged or empty from here on (zero fill, bad length, bad CRC). */
  | { kind: 'torn'; reason: string };

/**
 * Reads the record at `offset` of `buf` (which holds the file's bytes from `base`). `verify` checks
 * the CRC; without it only the structure is checked.
 */
export function readRecord(buf: Buffer, at: number, base: number, verify: boolean): ReadResult {
  if (buf.length - at < RECORD_HEADER) return { kind: 'incomplete', need: RECORD_HEADER };
  const len = buf.readUInt32BE(at);
  if (len === 0) return { kind: 'torn', reason: 'zero-filled' };
  if (len < FIXED) return { kind: 'torn', reason: `impossible record length ${len}` };
  if (buf.length - at < RECORD_HEADER + len) return { kind: 'incomplete', need: RECORD_HEADER + len };
  const start = at + RECORD_HEADER;
  const end = start + len;
  if (verify && crc32(buf.subarray(start, end)) !== buf.readUInt32BE(at + 4)) return { kind: 'torn', reason: 'CRC mismatch' };
  let p = start;
  const seq = buf.readUInt32BE(p) * 0x1_0000_0000 + buf.readUInt32BE(p + 4);
  p += 8;
  const time = buf.readUInt32BE(p) * 0x1_0000_0000 + buf.readUInt32BE(p + 4);
  p += 8;
  const flags = buf[p++]!;
  const exLen = buf[p++]!;
  if (p + exLen > end) return { kind: 'torn', reason: 'bad exchange length' };
  const exchange = buf.toString('utf8', p, p + exLen);
  p += exLen;
  const rkLen = buf[p++]!;
  if (p + rkLen + 4 > end) return { kind: 'torn', reason: 'bad routing key length' };
  const routingKey = buf.toString('utf8', p, p + rkLen);
  p += rkLen;
  const propLen = buf.readUInt32BE(p);
  p += 4;
  if (p + propLen + 4 > end) return { kind: 'torn', reason: 'bad properties length' };
  const properties = buf.subarray(p, p + propLen);
  p += propLen;
  const bodyLen = buf.readUInt32BE(p);
  p += 4;
  if (p + bodyLen !== end) return { kind: 'torn', reason: 'bad body length' };
  const body = buf.subarray(p, p + bodyLen);
  return {
    kind: 'record',
    record: { seq, time, persistent: (flags & FLAG_PERSISTENT) !== 0, exchange, routingKey, properties, body, offset: base + at, size: RECORD_HEADER + len },
  };
}
