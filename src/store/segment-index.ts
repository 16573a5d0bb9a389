/**
 * A sealed segment's index (`<id>.idx` beside `<id>.seg`): what recovery needs of each persistent
 * record, without its body, so that a start with a million messages reads megabytes instead of
 * gigabytes (issue 18: under 1 s to listening with 1,000,000 x 1 KiB in 10 queues).
 *
 *   "WRNIDX01"
 *   u32 count, u32 crc32 of the entries, f64 highest seq in the segment (transient records too),
 *   f64 size of the segment file it describes
 *   count x (f64 seq, f64 time, u32 offset, u32 record size, u32 body size, u16 properties length,
 *            properties)
 *
 * Written only for a segment that takes no more records (full, or recovered: new writes go to a
 * new segment) and whose every write completed, so it never describes bytes that are not in the
 * file. It is trusted only if its CRC holds and the segment still has the size it names; anything
 * else (a torn index, a segment repaired since) falls back to reading the segment, as before.
 * Acknowledgements stay in the `.ack` log: an index never changes once written.
 */
import { crc32 } from 'node:zlib';
import { readRecord } from './records.js';

const MAGIC = Buffer.from('WRNIDX01');
const HEADER = MAGIC.length + 4 + 4 + 8 + 8;
const FIXED = 8 + 8 + 4 + 4 + 4 + 2;

/** Accumulates a segment's index entries into one growing buffer. */
export class SegmentIndexBuilder {
  private buf = Buffer.allocUnsafe(16 * 1024);
  private at = HEADER;
  private count = 0;
  /** A record's properties do not fit the index's u16 length: the segment is read whole instead. */
  private unindexable = false;
  maxSeq = 0;

  add(seq: number, time: number, offset: number, size: number, bodySize: number, properties: Buffer): void {
    if (properties.length > 0xffff) this.unindexable = true;
    if (this.unindexable) return;
    const need = FIXED + properties.length;
    if (this.at + need > this.buf.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + need));
      this.buf.copy(grown, 0, 0, this.at);
      this.buf = grown;
    }
    const b = this.buf;
    let p = this.at;
    p = b.writeDoubleBE(seq, p);
    p = b.writeDoubleBE(time, p);
    p = b.writeUInt32BE(offset, p);
    p = b.writeUInt32BE(size, p);
    p = b.writeUInt32BE(bodySize, p);
    p = b.writeUInt16BE(properties.length, p);
    p += properties.copy(b, p);
    this.at = p;
    this.count++;
  }

  /** The index file's bytes, for a segment file of `segmentBytes`. */
  finish(segmentBytes: number): Buffer | undefined {
    if (this.unindexable) return undefined;
    const b = this.buf.subarray(0, this.at);
    MAGIC.copy(b, 0);
    let p = b.writeUInt32BE(this.count, MAGIC.length);
    p = b.writeUInt32BE(crc32(b.subarray(HEADER)), p);
    p = b.writeDoubleBE(this.maxSeq, p);
    b.writeDoubleBE(segmentBytes, p);
    return b;
  }
}

export type IndexVisitor = (seq: number, time: number, offset: number, size: number, bodySize: number, properties: Buffer) => void;

/**
 * Visits the entries of an index for a segment file of `segmentBytes`, and returns the segment's
 * highest seq; undefined (and nothing visited) if the index cannot be trusted.
 */
export function readSegmentIndex(data: Buffer, segmentBytes: number, visit: IndexVisitor): number | undefined {
  if (data.length < HEADER || !data.subarray(0, MAGIC.length).equals(MAGIC)) return undefined;
  const count = data.readUInt32BE(MAGIC.length);
  if (crc32(data.subarray(HEADER)) !== data.readUInt32BE(MAGIC.length + 4)) return undefined;
  const maxSeq = data.readDoubleBE(MAGIC.length + 8);
  if (data.readDoubleBE(MAGIC.length + 16) !== segmentBytes) return undefined;
  // Check the layout first, so that a bad index visits nothing.
  let p = HEADER;
  for (let i = 0; i < count; i++) {
    if (p + FIXED > data.length) return undefined;
    p += FIXED + data.readUInt16BE(p + FIXED - 2);
  }
  if (p !== data.length) return undefined;
  p = HEADER;
  for (let i = 0; i < count; i++) {
    const propsLen = data.readUInt16BE(p + 28);
    const props = data.subarray(p + FIXED, p + FIXED + propsLen);
    visit(data.readDoubleBE(p), data.readDoubleBE(p + 8), data.readUInt32BE(p + 16), data.readUInt32BE(p + 20), data.readUInt32BE(p + 24), props);
    p += FIXED + propsLen;
  }
  return maxSeq;
}

/** The index of a segment file's bytes (records from `from` on), or undefined if a record is unreadable. */
export function indexOfSegment(data: Buffer, from: number): SegmentIndexBuilder | undefined {
  const index = new SegmentIndexBuilder();
  for (let at = from; at < data.length; ) {
    const r = readRecord(data, at, 0, false);
    if (r.kind !== 'record') return undefined; // not for bytes the store wrote itself
    const rec = r.record;
    at += rec.size;
    if (rec.seq > index.maxSeq) index.maxSeq = rec.seq;
    if (rec.persistent) index.add(rec.seq, rec.time, rec.offset, rec.size, rec.body.length, rec.properties);
  }
  return index;
}
