/**
 * The on-disk form of a stream's chunks (a chunk is the messages appended to a stream in one turn of
 * the event loop, as osiris batches the entries its writer receives together into one chunk):
 *
 *   <dir>/<first offset, 20 digits>.seg   "WRNSTR01", then chunks, offsets contiguous across files
 *   chunk   u32 magic "WCHK"
 *           u32 count         messages in the chunk
 *           u64 first offset  the stream offset of its first message
 *           u64 timestamp     ms since the epoch, never decreasing along the stream
 *           u32 data length   bytes of the records that follow
 *           u32 crc32         of those bytes (zlib's CRC-32)
 *           count records     records.ts, seq = the message's offset, time = its publish time
 *
 * A chunk is written whole by one append, and a segment's chunks only once the previous segment's
 * are stored, so a crash can only tear the tail of the last file: recovery (recoverSegment) keeps the
 * whole chunks and truncates the rest.
 */
import { closeSync, fdatasyncSync, fstatSync, ftruncateSync, openSync, readSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { Message, scanProperties } from '../message/message.js';
import { TWO_32 } from '../protocol/codec-primitives.js';
import { readRecord, recordSize, writeRecord, type RecordFields } from './records.js';

export const SEGMENT_MAGIC = Buffer.from('WRNSTR01');
const CHUNK_MAGIC = 0x5743484b; // "WCHK"
const CHUNK_HEADER = 4 + 4 + 8 + 8 + 4 + 4;

/** What the log knows of a chunk: its place in the stream and in its file (the offset and time index). */
interface ChunkInfo {
  readonly first: number;
  readonly count: number;
  readonly timestamp: number;
  /** Position of the chunk header in its segment file, and the chunk's encoded size. */
  readonly position: number;
  readonly size: number;
}

function recordFields(msg: Message, offset: number): RecordFields {
  const pieces = msg.bodyPieces;
  return {
    seq: offset,
    time: msg.publishedAt,
    persistent: msg.persistent,
    exchange: msg.exchange,
    routingKey: msg.routingKey,
    properties: msg.properties,
    body: pieces === undefined ? msg.body : Buffer.concat(pieces),
    extraKeys: msg.extraKeys,
  };
}

/** The encoded size of a chunk of these messages, and a function writing it in place. */
export function encodeChunk(messages: readonly Message[], first: number, timestamp: number): { size: number; fill: (b: Buffer, at: number) => void } {
  const fields = messages.map((m, i) => recordFields(m, first + i));
  let data = 0;
  for (const f of fields) data += recordSize(f);
  const fill = (b: Buffer, at: number) => {
    let p = at + CHUNK_HEADER;
    for (const f of fields) {
      writeRecord(b, p, f);
      p += recordSize(f);
    }
    b.writeUInt32BE(CHUNK_MAGIC, at);
    b.writeUInt32BE(messages.length, at + 4);
    writeU64(b, at + 8, first);
    writeU64(b, at + 16, timestamp);
    b.writeUInt32BE(data, at + 24);
    b.writeUInt32BE(crc32(b.subarray(at + CHUNK_HEADER, at + CHUNK_HEADER + data)), at + 28);
  };
  return { size: CHUNK_HEADER + data, fill };
}

/** The messages of one encoded chunk (`buf` holds exactly the chunk). Throws if it does not parse. */
export function decodeChunk(buf: Buffer): Message[] {
  const count = buf.readUInt32BE(4);
  const out: Message[] = [];
  let at = CHUNK_HEADER;
  for (let i = 0; i < count; i++) {
    const r = readRecord(buf, at, 0, false);
    if (r.kind !== 'record') throw new Error(`stream chunk record ${i} unreadable (${r.kind})`);
    const rec = r.record;
    const m = new Message(rec.exchange, rec.routingKey, Buffer.from(rec.properties), Buffer.from(rec.body));
    scanProperties(m, m.properties);
    m.publishedAt = rec.time;
    if (rec.extraKeys !== undefined) m.extraKeys = rec.extraKeys;
    out.push(m);
    at += rec.size;
  }
  return out;
}

export interface RecoveredSegment {
  chunks: ChunkInfo[];
  /** Bytes of the file that hold whole chunks (the file was truncated there if it held more). */
  size: number;
  /** Why the file was cut, when it was. */
  torn: { at: number; dropped: number; reason: string } | undefined;
}

/**
 * Reads a segment file's chunk index (headers), checking that offsets follow on from `expectedFirst`
 * and, with `verify`, each chunk's CRC (the last segment: only it can have a torn tail, since a
 * segment's chunks are written only once the previous segment's are stored). The file is read one
 * chunk at a time, so memory does not grow with the segment. Anything from the first chunk that fails
 * is cut off the file (and reported): the stream keeps every whole chunk before it.
 */
export function recoverSegment(path: string, expectedFirst: number, verify: boolean): RecoveredSegment {
  const fd = openSync(path, 'r+');
  try {
    const fileSize = fstatSync(fd).size;
    const chunks: ChunkInfo[] = [];
    const header = Buffer.alloc(Math.max(CHUNK_HEADER, SEGMENT_MAGIC.length));
    let at = SEGMENT_MAGIC.length;
    let next = expectedFirst;
    let reason: string | undefined;
    if (readAt(fd, header, SEGMENT_MAGIC.length, 0) < SEGMENT_MAGIC.length || !header.subarray(0, SEGMENT_MAGIC.length).equals(SEGMENT_MAGIC)) {
      reason = 'no segment header';
      at = 0;
    }
    while (reason === undefined && at < fileSize) {
      reason = chunkProblem(fd, header, at, fileSize, next, verify);
      if (reason !== undefined) break;
      const count = header.readUInt32BE(4);
      const size = CHUNK_HEADER + header.readUInt32BE(24);
      chunks.push({ first: next, count, timestamp: readU64(header, 16), position: at, size });
      next += count;
      at += size;
    }
    if (reason === undefined) return { chunks, size: at, torn: undefined };
    ftruncateSync(fd, at);
    fdatasyncSync(fd);
    return { chunks, size: at, torn: { at, dropped: fileSize - at, reason } };
  } finally {
    closeSync(fd);
  }
}

function readAt(fd: number, buf: Buffer, length: number, position: number): number {
  let got = 0;
  while (got < length) {
    const n = readSync(fd, buf, got, length - got, position + got);
    if (n === 0) break;
    got += n;
  }
  return got;
}

/** Why the chunk at `at` is not a whole, intact chunk starting at offset `first`, or undefined; its header is left in `header`. */
function chunkProblem(fd: number, header: Buffer, at: number, fileSize: number, first: number, verify: boolean): string | undefined {
  if (fileSize - at < CHUNK_HEADER || readAt(fd, header, CHUNK_HEADER, at) < CHUNK_HEADER) return 'cut short';
  if (header.readUInt32BE(0) !== CHUNK_MAGIC) return header.readUInt32BE(0) === 0 ? 'zero-filled' : 'bad chunk header';
  const count = header.readUInt32BE(4);
  const length = header.readUInt32BE(24);
  if (count === 0) return 'empty chunk';
  if (readU64(header, 8) !== first) return `offset ${readU64(header, 8)} where ${first} was expected`;
  if (fileSize - at - CHUNK_HEADER < length) return 'cut short';
  if (!verify) return undefined;
  const body = Buffer.allocUnsafe(length);
  if (readAt(fd, body, length, at + CHUNK_HEADER) < length) return 'cut short';
  if (crc32(body) !== header.readUInt32BE(28)) return 'CRC mismatch';
  return undefined;
}

function writeU64(b: Buffer, at: number, n: number): void {
  b.writeUInt32BE(Math.floor(n / TWO_32), at);
  b.writeUInt32BE(n >>> 0, at + 4);
}

function readU64(b: Buffer, at: number): number {
  return b.readUInt32BE(at) * TWO_32 + b.readUInt32BE(at + 4);
}

/** A segment's file name: its first offset, zero-padded so names sort in stream order. */
export const segmentFileName = (first: number) => `${first.toString().padStart(20, '0')}.seg`;
export const SEGMENT_FILE = /^(\d{20})\.seg$/;
