/**
 * The message record of a segment file, and its check.
 *
 *   u32 length    bytes after the crc field
 *   u32 crc32     of those bytes (zlib's CRC-32)
 *   u64 seq       the message's position in its queue
 *   u64 time      publish time, ms since the epoch (expiry counts from it across restarts)
 *   u8  flags     bit 0: persistent (delivery-mode 2); transient records are only pages of memory
 *                 bit 1: extra routing keys follow the body
 *   u8  exchange length, exchange
 *   u8  routing key length, routing key
 *   u32 properties length, properties (the content header's flags and list, as published)
 *   u32 body length, body
 *   [u8 count, then count × (u8 length, key)]   the CC and BCC routing keys, when bit 1 is set
 *                 (dead-lettering and delayed messages route with them again)
 *
 * A record that is cut short, zero-filled or fails its CRC ends the readable part of a segment: a
 * crash can only tear the tail of the file being written.
 */
import { crc32 } from 'node:zlib';
import { TWO_32 } from '../protocol/codec-primitives.js';

const RECORD_HEADER = 8;
const FIXED = 8 + 8 + 1 + 1 + 1 + 4 + 4;
const FLAG_PERSISTENT = 1;
const FLAG_EXTRA_KEYS = 2;
/** A record carries at most this many extra routing keys (more are not kept). */
const MAX_EXTRA_KEYS = 255;

export interface RecordFields {
  seq: number;
  time: number;
  persistent: boolean;
  exchange: string;
  routingKey: string;
  properties: Buffer;
  body: Buffer;
  /** Routing keys beyond the first (CC and BCC). */
  extraKeys?: readonly string[] | undefined;
}

export interface DecodedRecord extends RecordFields {
  /** Offset of the record in the segment and its total size. */
  offset: number;
  size: number;
}

/** The encoded size of a record. */
export function recordSize(r: RecordFields): number {
  return RECORD_HEADER + FIXED + Buffer.byteLength(r.exchange) + Buffer.byteLength(r.routingKey) + r.properties.length + r.body.length + extraKeysSize(r.extraKeys);
}

function extraKeysSize(keys: readonly string[] | undefined): number {
  if (keys === undefined || keys.length === 0) return 0;
  let n = 1;
  const count = Math.min(keys.length, MAX_EXTRA_KEYS);
  for (let i = 0; i < count; i++) n += 1 + Buffer.byteLength(keys[i]!);
  return n;
}

/** Encodes a record at `at` of `b`, which has room for recordSize(r) bytes. */
export function writeRecord(b: Buffer, at: number, r: RecordFields): void {
  const ex = Buffer.byteLength(r.exchange);
  const rk = Buffer.byteLength(r.routingKey);
  const keys = r.extraKeys !== undefined && r.extraKeys.length > 0 ? r.extraKeys : undefined;
  const len = FIXED + ex + rk + r.properties.length + r.body.length + extraKeysSize(keys);
  let p = at + RECORD_HEADER;
  b.writeUInt32BE(len, at);
  b.writeUInt32BE(Math.floor(r.seq / TWO_32), p);
  b.writeUInt32BE(r.seq >>> 0, p + 4);
  p += 8;
  b.writeUInt32BE(Math.floor(r.time / TWO_32), p);
  b.writeUInt32BE(r.time >>> 0, p + 4);
  p += 8;
  b[p++] = (r.persistent ? FLAG_PERSISTENT : 0) | (keys !== undefined ? FLAG_EXTRA_KEYS : 0);
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
  p += r.body.copy(b, p);
  if (keys !== undefined) {
    // Routing keys are shortstrs (at most 255 bytes), so one length byte each.
    const count = Math.min(keys.length, MAX_EXTRA_KEYS);
    b[p++] = count;
    for (let i = 0; i < count; i++) {
      const n = b.write(keys[i]!, p + 1, 'utf8');
      b[p] = n;
      p += 1 + n;
    }
  }
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
  const seq = buf.readUInt32BE(p) * TWO_32 + buf.readUInt32BE(p + 4);
  p += 8;
  const time = buf.readUInt32BE(p) * TWO_32 + buf.readUInt32BE(p + 4);
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
  const withKeys = (flags & FLAG_EXTRA_KEYS) !== 0;
  if (withKeys ? p + bodyLen >= end : p + bodyLen !== end) return { kind: 'torn', reason: 'bad body length' };
  const body = buf.subarray(p, p + bodyLen);
  p += bodyLen;
  let extraKeys: string[] | undefined;
  if (withKeys) {
    const count = buf[p++]!;
    extraKeys = [];
    for (let i = 0; i < count; i++) {
      const n = p < end ? buf[p]! : 0;
      if (p + 1 + n > end) return { kind: 'torn', reason: 'bad routing key length' };
      extraKeys.push(buf.toString('utf8', p + 1, p + 1 + n));
      p += 1 + n;
    }
    if (p !== end) return { kind: 'torn', reason: 'bad record length' };
  }
  return {
    kind: 'record',
    record: { seq, time, persistent: (flags & FLAG_PERSISTENT) !== 0, exchange, routingKey, properties, body, extraKeys, offset: base + at, size: RECORD_HEADER + len },
  };
}
