/**
 * A stream's log (RabbitMQ's osiris log, on one node): messages at increasing offsets from 0, grouped
 * into chunks (the messages appended in one turn of the event loop), chunks grouped into segments.
 *
 *  - Index: every chunk's first offset, timestamp and file position are kept in order, so a consumer
 *    starting at an offset or a time finds its chunk by binary search, never by scanning.
 *  - Memory: on disk, a chunk's messages stay in memory only while it is among the newest
 *    RESIDENT_BYTES of the stream (consumers at the tail read them from there); an older chunk is read
 *    back from its file when a consumer reaches it, one chunk at a time, so memory does not grow with
 *    the stream.
 *  - Durability: a chunk is one append through the persister (group commit), and each message's
 *    callback runs once the chunk is stored as the durability mode defines it (its confirm).
 *  - Retention (x-max-length-bytes, x-max-age): as osiris does, evaluated when a segment is full and a
 *    new one starts, removing whole segments, oldest first, never the one being written.
 *  - Without files (durability `memory`) the same structure keeps every message in memory.
 *
 * Chunk encoding and the torn-tail repair are in stream-chunks.ts.
 */
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Logger } from 'pino';
import type { Message } from '../message/message.js';
import type { AppendFile, Persister, StoredCallback } from './persister.js';
import { SEGMENT_FILE, SEGMENT_MAGIC, decodeChunk, encodeChunk, recoverSegment, segmentFileName } from './stream-chunks.js';

/** Newest bytes of a stream kept in memory for consumers at the tail (disk streams only). */
const RESIDENT_BYTES = 8 * 1024 * 1024;
/** What a message in memory costs beyond its properties and body (its objects), for the resident budget. */
const MESSAGE_OVERHEAD = 256;
/** A chunk is closed early at this many messages or bytes (osiris batches at most so much). */
const CHUNK_MAX_MESSAGES = 4096;
const CHUNK_MAX_BYTES = 1024 * 1024;
/** RabbitMQ's default x-stream-max-segment-size-bytes (500 MB). */
export const DEFAULT_SEGMENT_BYTES = 500_000_000;

export interface StreamLimits {
  /** x-max-length-bytes: the stream's size beyond which its oldest segments go. */
  readonly maxBytes: number | undefined;
  /** x-max-age in ms: segments whose newest chunk is older go. */
  readonly maxAgeMs: number | undefined;
  /** x-stream-max-segment-size-bytes. */
  readonly segmentBytes: number;
}

/** Where a disk stream keeps its files. */
export interface StreamFiles {
  readonly dir: string;
  readonly persister: Persister;
  readonly log: Logger;
  /** The newest bytes kept in memory (RESIDENT_BYTES unless a test sets it). */
  readonly residentBytes?: number;
}

export class StreamChunk {
  /** Messages in offset order; null while only on disk. */
  messages: Message[] | null;
  count = 0;
  /** What its messages cost in memory: properties, bodies and MESSAGE_OVERHEAD each (the resident budget). */
  bytes = 0;
  /** Encoded size and position in its segment file, once written (disk streams). */
  size = 0;
  position = 0;
  /** Still taking messages (the current turn's chunk). */
  open = true;
  /**
   * Stream filtering: the filter values of its messages, and whether one has none. A chunk read back
   * at start-up has no such record (undefined): it may match any filter, and is read (filtering is
   * probabilistic: a consumer re-checks each message's x-stream-filter-value).
   */
  filterValues: Set<string> | undefined;
  unfiltered = false;
  constructor(
    readonly first: number,
    readonly timestamp: number,
    readonly segment: StreamSegment,
    messages: Message[] | null,
  ) {
    this.messages = messages;
  }

  /** Whether a consumer filtering on `values` may want a message of this chunk (false: skip it unread). */
  mayMatch(values: ReadonlySet<string>, matchUnfiltered: boolean): boolean {
    const own = this.filterValues;
    if (own === undefined || (matchUnfiltered && this.unfiltered)) return true;
    for (const v of values) if (own.has(v)) return true;
    return false;
  }
}

class StreamSegment {
  readonly chunks: StreamChunk[] = [];
  /** Bytes in the segment (its file's size on disk; the encoded size of its chunks in memory). */
  bytes = SEGMENT_MAGIC.length;
  file: AppendFile | null = null;
  readFd: number | null = null;
  /** Chunks handed to its file and not yet stored. */
  unstored = 0;
  constructor(
    readonly first: number,
    readonly path: string | undefined,
  ) {}
}

export class StreamLog {
  private readonly segments: StreamSegment[] = [];
  /** Every chunk of the stream in offset order (the offset and timestamp index). */
  private readonly chunks: StreamChunk[] = [];
  /** Chunks whose messages are in memory and on disk: the oldest leave memory first. */
  private readonly resident: StreamChunk[] = [];
  private residentBytes = 0;
  private openChunk: StreamChunk | null = null;
  private openCallbacks: StoredCallback[] = [];
  private sealScheduled = false;
  /**
   * Sealed chunks waiting for their write. A new segment's first chunk waits until the previous
   * segment's chunks are stored: the persister writes files in parallel, and a crash must never keep
   * a later file's chunk while cutting an earlier one's (offsets would no longer be contiguous).
   */
  private readonly writes: { chunk: StreamChunk; size: number; fill: (b: Buffer, at: number) => void; callbacks: StoredCallback[] }[] = [];
  private writingSegment: StreamSegment | undefined;
  private nextOffset = 0;
  /** Offsets below this are in stored chunks: consumers read only these (a kill -9 loses none of them). */
  private committedOffset = 0;
  private dirReady = false;
  private destroyed = false;
  /** Called once a chunk was cut off: retention removed segments (consumers in them move on). */
  onRetention: ((removedBelow: number) => void) | undefined;
  /** Called when more of the stream is stored and can be read. */
  onCommitted: (() => void) | undefined;

  constructor(
    private readonly files: StreamFiles | undefined,
    public limits: StreamLimits,
    /** The clock chunk timestamps and x-max-age read (a test's own clock). */
    private readonly now: () => number = Date.now,
  ) {
    this.residentBudget = files?.residentBytes ?? RESIDENT_BYTES;
  }

  private readonly residentBudget: number;

  /** Bytes of written chunks held in memory (bounded by the resident budget, whatever the stream's size). */
  get residentSize(): number {
    return this.residentBytes;
  }

  /** The stream's directory on disk (undefined in memory). */
  get directory(): string | undefined {
    return this.files?.dir;
  }

  /** Confirms wait for the disk. */
  get durable(): boolean {
    return this.files !== undefined;
  }

  /** The first offset still in the stream (the next one when it is empty). */
  get first(): number {
    return this.chunks.length > 0 ? this.chunks[0]!.first : this.nextOffset;
  }

  /** The offset after the last stored message: consumers read below it. */
  get committed(): number {
    return this.committedOffset;
  }

  /** The offset the next message gets. */
  get next(): number {
    return this.nextOffset;
  }

  get messageCount(): number {
    return Math.max(0, this.committedOffset - this.first);
  }

  /** Bytes of the stream's segments (on disk; encoded, in memory), and how many segments there are. */
  get size(): { bytes: number; segments: number } {
    let bytes = 0;
    for (const s of this.segments) bytes += s.bytes;
    return { bytes, segments: this.segments.length };
  }

  /** The first offset of the last stored chunk (RabbitMQ's "last"), undefined when none is stored. */
  get lastChunkFirst(): number | undefined {
    return this.committedOffset > this.first ? this.chunkFor(this.committedOffset - 1)?.first : undefined;
  }

  /**
   * Appends a message; returns its offset. `done` runs once its chunk is stored. `filterValue` is its
   * x-stream-filter-value (null: none), or undefined when the stream does not filter.
   */
  append(msg: Message, done: StoredCallback | undefined, filterValue?: string | null): number {
    let chunk = this.openChunk;
    if (chunk !== null && (chunk.count >= CHUNK_MAX_MESSAGES || chunk.bytes >= CHUNK_MAX_BYTES)) {
      this.seal();
      chunk = null;
    }
    if (chunk === null) chunk = this.startChunk();
    const offset = this.nextOffset++;
    chunk.messages!.push(msg);
    chunk.count++;
    chunk.bytes += msg.properties.length + msg.bodySize + MESSAGE_OVERHEAD;
    if (filterValue === null) chunk.unfiltered = true;
    else if (filterValue !== undefined) (chunk.filterValues ??= new Set()).add(filterValue);
    if (done !== undefined) this.openCallbacks.push(done);
    if (!this.sealScheduled) {
      this.sealScheduled = true;
      // Everything appended in this turn of the event loop goes into one chunk.
      setImmediate(() => {
        this.sealScheduled = false;
        this.seal();
      });
    }
    return offset;
  }

  private startChunk(): StreamChunk {
    const last = this.chunks[this.chunks.length - 1];
    // Timestamps never decrease along the stream, so the timestamp index can be searched.
    const timestamp = Math.max(this.now(), last?.timestamp ?? 0);
    const seg = this.writableSegment();
    const chunk = new StreamChunk(this.nextOffset, timestamp, seg, []);
    chunk.filterValues = new Set();
    seg.chunks.push(chunk);
    this.chunks.push(chunk);
    this.openChunk = chunk;
    return chunk;
  }

  private writableSegment(): StreamSegment {
    const cur = this.segments[this.segments.length - 1];
    if (cur !== undefined && (cur.chunks.length === 0 || cur.bytes < this.limits.segmentBytes) && cur.file?.failed === undefined) return cur;
    const seg = this.newSegment(this.nextOffset);
    this.segments.push(seg);
    if (cur !== undefined) this.applyRetention();
    return seg;
  }

  private newSegment(first: number): StreamSegment {
    const files = this.files;
    if (files === undefined || this.destroyed) return new StreamSegment(first, undefined);
    let created = false;
    if (!this.dirReady) {
      created = mkdirSync(files.dir, { recursive: true }) !== undefined;
      this.dirReady = true;
    }
    const seg = new StreamSegment(first, join(files.dir, segmentFileName(first)));
    // Opening a file is rare (one per segment) and must not reorder appends: done synchronously.
    const fd = openSync(seg.path!, 'w', 0o644);
    seg.file = files.persister.appendFile(seg.path!, fd, 0);
    seg.file.syncDirs = created ? [files.dir, dirname(files.dir), dirname(dirname(files.dir))] : [files.dir];
    seg.file.append(SEGMENT_MAGIC);
    return seg;
  }

  /** Closes the open chunk: it is written with one append and its messages confirmed once stored. */
  private seal(): void {
    const chunk = this.openChunk;
    if (chunk === null) return;
    this.openChunk = null;
    chunk.open = false;
    const callbacks = this.openCallbacks;
    this.openCallbacks = [];
    const seg = chunk.segment;
    const { size, fill } = encodeChunk(chunk.messages!, chunk.first, chunk.timestamp);
    chunk.size = size;
    chunk.position = seg.bytes;
    seg.bytes += size;
    if (seg.file === null) {
      queueMicrotask(() => this.stored(chunk, callbacks, undefined));
      return;
    }
    this.writes.push({ chunk, size, fill, callbacks });
    this.startWrites();
  }

  /** Hands waiting chunks to their files, in order, never a new segment's before the last one is stored. */
  private startWrites(): void {
    while (this.writes.length > 0) {
      const w = this.writes[0]!;
      const seg = w.chunk.segment;
      const previous = this.writingSegment;
      if (previous !== undefined && previous !== seg && previous.unstored > 0) return;
      this.writes.shift();
      this.writingSegment = seg;
      seg.unstored++;
      seg.file!.appendWith(w.size, w.fill, (err) => {
        seg.unstored--;
        this.stored(w.chunk, w.callbacks, err);
        this.startWrites();
      });
    }
  }

  /**
   * A chunk's write completed: its publishers hear so, and consumers may read it. (One that failed
   * is nacked and stays readable from memory until a restart; the segment after it starts a new file.)
   */
  private stored(chunk: StreamChunk, callbacks: readonly StoredCallback[], err: Error | undefined): void {
    for (const cb of callbacks) cb(err);
    if (this.destroyed) return;
    if (err === undefined && this.files !== undefined) this.makeResident(chunk);
    const end = chunk.first + chunk.count;
    if (end > this.committedOffset) {
      this.committedOffset = end;
      this.onCommitted?.();
    }
  }

  /** A written chunk joins the resident window; the oldest resident chunks leave memory. */
  private makeResident(chunk: StreamChunk): void {
    if (chunk.messages === null) return;
    this.resident.push(chunk);
    this.residentBytes += chunk.bytes;
    while (this.residentBytes > this.residentBudget && this.resident.length > 1) {
      const old = this.resident.shift()!;
      this.residentBytes -= old.bytes;
      old.messages = null;
    }
  }

  /**
   * osiris's retention: while the stream is over x-max-length-bytes, or its oldest segment's newest
   * chunk is older than x-max-age, the oldest segment goes (never the one being written).
   */
  private applyRetention(): void {
    const { maxBytes, maxAgeMs } = this.limits;
    if (maxBytes === undefined && maxAgeMs === undefined) return;
    let total = 0;
    for (const s of this.segments) total += s.bytes;
    const now = this.now();
    let removed = 0;
    while (this.segments.length > 1) {
      const oldest = this.segments[0]!;
      const newest = oldest.chunks[oldest.chunks.length - 1];
      const tooBig = maxBytes !== undefined && total > maxBytes;
      const tooOld = maxAgeMs !== undefined && newest !== undefined && newest.timestamp < now - maxAgeMs;
      if (!tooBig && !tooOld) break;
      this.segments.shift();
      total -= oldest.bytes;
      removed += oldest.chunks.length;
      this.removeSegmentFiles(oldest);
    }
    if (removed === 0) return;
    const gone = this.chunks.splice(0, removed);
    for (const c of gone) c.messages = null;
    this.dropResident(gone[gone.length - 1]!.first);
    this.onRetention?.(this.first);
  }

  private dropResident(throughFirst: number): void {
    while (this.resident.length > 0 && this.resident[0]!.first <= throughFirst) this.residentBytes -= this.resident.shift()!.bytes;
  }

  private removeSegmentFiles(seg: StreamSegment): void {
    if (seg.readFd !== null) closeSync(seg.readFd);
    seg.readFd = null;
    const file = seg.file;
    if (file === null || seg.path === undefined) return;
    const path = seg.path;
    void file.close().then(
      () => rmSync(path, { force: true }),
      () => rmSync(path, { force: true }),
    );
  }

  // ------------------------------------------------------------------------------------------
  // Reading

  /** The chunk holding `offset`, or the first one after it (offsets below the stream's first). */
  chunkFor(offset: number): StreamChunk | undefined {
    const cs = this.chunks;
    let lo = 0;
    let hi = cs.length - 1;
    let found: StreamChunk | undefined;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const c = cs[mid]!;
      if (c.first + c.count <= offset) lo = mid + 1;
      else {
        found = c;
        hi = mid - 1;
      }
    }
    return found;
  }

  /** The first chunk with a timestamp at or after `ms` (osiris's {timestamp, T} offset spec). */
  chunkAtTime(ms: number): StreamChunk | undefined {
    const cs = this.chunks;
    let lo = 0;
    let hi = cs.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cs[mid]!.timestamp < ms) lo = mid + 1;
      else hi = mid;
    }
    return cs[lo];
  }

  /**
   * A chunk's messages: from memory when resident, else read back from its file (synchronously: one
   * chunk, at most about CHUNK_MAX_BYTES, and the reader keeps it only while it delivers from it).
   */
  messagesOf(chunk: StreamChunk): Message[] {
    if (chunk.messages !== null) return chunk.messages;
    const seg = chunk.segment;
    if (seg.path === undefined) throw new Error(`stream chunk at offset ${chunk.first} is gone`);
    const unwritten = seg.file?.readUnwritten(chunk.position, chunk.size);
    if (unwritten !== undefined) return decodeChunk(unwritten);
    seg.readFd ??= openSync(seg.path, 'r');
    const buf = Buffer.allocUnsafe(chunk.size);
    let got = 0;
    while (got < chunk.size) {
      const n = readSync(seg.readFd, buf, got, chunk.size - got, chunk.position + got);
      if (n === 0) throw new Error(`stream segment ${seg.path} ends inside the chunk at offset ${chunk.first}`);
      got += n;
    }
    return decodeChunk(buf);
  }

  // ------------------------------------------------------------------------------------------
  // Restart, deletion

  /** Reads the index back from the segment files; a torn tail is cut off and logged. */
  recover(): number {
    const files = this.files;
    if (files === undefined || !existsSync(files.dir)) return 0;
    this.dirReady = true;
    const names = readdirSync(files.dir).filter((f) => SEGMENT_FILE.test(f)).sort();
    let expected: number | undefined;
    for (const [i, name] of names.entries()) {
      const path = join(files.dir, name);
      const first = Number(SEGMENT_FILE.exec(name)![1]);
      // Only the file being written can have a torn tail (the last, or the one before a last file that
      // holds only its header): their chunks' CRCs are checked, reading them whole.
      const r = recoverSegment(path, first, i >= names.length - 2);
      if (expected !== undefined && first !== expected) {
        if (r.chunks.length === 0) {
          // Only its header reached the disk (the chunk before it was cut): it never held anything.
          rmSync(path, { force: true });
          continue;
        }
        // A chunk lost to a write error (its publishers were nacked): the offsets after it are kept.
        files.log.warn({ segment: path, expected }, 'stream segment does not follow on from the one before: a gap in the offsets');
      }
      if (r.torn !== undefined) files.log.warn({ segment: path, offset: r.torn.at, dropped: r.torn.dropped, reason: r.torn.reason }, 'repaired a torn stream segment tail');
      const seg = new StreamSegment(first, path);
      seg.bytes = r.size;
      for (const info of r.chunks) {
        const c = new StreamChunk(info.first, info.timestamp, seg, null);
        c.count = info.count;
        c.size = info.size;
        c.position = info.position;
        c.open = false;
        seg.chunks.push(c);
        this.chunks.push(c);
      }
      this.segments.push(seg);
      expected = first + r.chunks.reduce((n, c) => n + c.count, 0);
    }
    this.nextOffset = expected ?? 0;
    this.committedOffset = this.nextOffset;
    this.reopenLast();
    return this.messageCount;
  }

  /** The last recovered segment takes appends again (from its size). */
  private reopenLast(): void {
    const seg = this.segments[this.segments.length - 1];
    if (seg === undefined || seg.path === undefined) return;
    const fd = openSync(seg.path, 'r+');
    seg.file = this.files!.persister.appendFile(seg.path, fd, seg.bytes);
    if (seg.bytes < SEGMENT_MAGIC.length) {
      // Its header was torn too: the file was cut to nothing, and starts again.
      seg.file.append(SEGMENT_MAGIC);
      seg.bytes = SEGMENT_MAGIC.length;
    }
  }

  /** The stream was deleted: its files go (the queue's directory is removed by its store). */
  destroy(): void {
    this.destroyed = true;
    this.openChunk = null;
    for (const s of this.segments) {
      if (s.readFd !== null) closeSync(s.readFd);
      s.readFd = null;
      void s.file?.close();
    }
    this.segments.length = 0;
    this.chunks.length = 0;
    this.resident.length = 0;
  }
}
