/**
 * Queue entries that wait far behind the loaded zone, packed into typed arrays instead of one object
 * each: a FIFO of settled entries (message paged out, record on disk), 40 bytes apiece, none of them
 * a JavaScript object.
 *
 * Why: a queue that only grows (a flood with no consumer) kept one QueueEntry object per message on
 * the heap, about 110 bytes with its slot, so 7 million 16-byte messages were close to a gigabyte,
 * and every major garbage collection marked every one of them (issue 19: pauses of 0.4 s and more,
 * which every other client of the broker waited through). Typed arrays are off the heap and hold no
 * pointers: the collector never looks inside.
 *
 * Entries come back as objects when they are needed (the zone extends over them, or one is at the
 * head): a new QueueEntry with the same fields. Nothing else may hold a packed entry's old object,
 * which is why only settled entries are packed: no store write or page-out is pending for them.
 */
import { Deque } from '../util/deque.js';
import { QueueEntry } from '../message/queue-entry.js';

/** What one packed entry takes (the typed-array columns below). */
export const PACKED_ENTRY_BYTES = 40;
/**
 * Chunks start at 4,096 entries (160 KB) and double as the run grows, up to 1,048,576 (40 MiB).
 * Small runs stay small; and the big chunks of a huge run are above glibc's largest mmap threshold
 * (32 MiB), so they are mapped on their own and unmapped when freed: deleting a queue of 7 million
 * gives their memory back to the system. (Chunks of 160 KB come from malloc's heap once its dynamic
 * threshold has risen, where freed memory stays with the process: 7M entries in 4,096-entry chunks
 * left RSS 200 MB above the baseline after the delete.)
 */
const FIRST_CHUNK = 4096;
const LARGEST_CHUNK = 1 << 20;
/** Flags: persistent in bit 0, the priority in bits 1 to 8, deliveries above (QueueEntry keeps 20 bits). */
const PRIORITY_SHIFT = 1;
const DELIVERIES_SHIFT = 9;

class Chunk {
  readonly capacity: number;
  readonly seq: Float64Array;
  readonly expiresAt: Float64Array;
  readonly offset: Float64Array;
  readonly recordSize: Uint32Array;
  readonly bodySize: Uint32Array;
  readonly flags: Uint32Array;
  /** Index into PackedEntries' segment table. */
  readonly segment: Uint32Array;
  head = 0;
  tail = 0;

  constructor(n: number) {
    // One allocation per chunk, 40 bytes per entry: the three 8-byte columns first (alignment).
    this.capacity = n;
    const b = new ArrayBuffer(n * PACKED_ENTRY_BYTES);
    this.seq = new Float64Array(b, 0, n);
    this.expiresAt = new Float64Array(b, n * 8, n);
    this.offset = new Float64Array(b, n * 16, n);
    this.recordSize = new Uint32Array(b, n * 24, n);
    this.bodySize = new Uint32Array(b, n * 28, n);
    this.flags = new Uint32Array(b, n * 32, n);
    this.segment = new Uint32Array(b, n * 36, n);
  }
}

export class PackedEntries {
  private readonly chunks = new Deque<Chunk>(4);
  /** An emptied first-size chunk kept for the next one (a queue whose backlog comes and goes). */
  private spare: Chunk | undefined;
  private nextChunk = FIRST_CHUNK;
  private count = 0;
  /** The store segments packed entries point at (few: one per 8 MiB of records), with use counts. */
  private readonly segmentIndex = new Map<object, number>();
  private readonly segments: (object | undefined)[] = [];
  private readonly segmentUses: number[] = [];
  private readonly freeIndices: number[] = [];
  private lastSegment: object | undefined;
  private lastSegmentIndex = 0;

  get length(): number {
    return this.count;
  }

  /** Whether an entry may be packed: message out of memory, record written, nothing pending on it. */
  static settled(e: QueueEntry): boolean {
    return e.msg === null && e.stored && e.segment !== null;
  }

  /** Appends a settled entry (its object can then be dropped). */
  push(e: QueueEntry): void {
    let c = this.chunks.peekLast();
    if (c === undefined || c.tail === c.capacity) {
      if (this.spare !== undefined && this.spare.capacity === this.nextChunk) {
        c = this.spare;
        this.spare = undefined;
      } else {
        c = new Chunk(this.nextChunk);
      }
      this.nextChunk = Math.min(this.nextChunk * 2, LARGEST_CHUNK);
      c.head = c.tail = 0;
      this.chunks.push(c);
    }
    const i = c.tail++;
    c.seq[i] = e.seq;
    c.expiresAt[i] = e.expiresAt;
    c.offset[i] = e.offset;
    c.recordSize[i] = e.recordSize;
    c.bodySize[i] = e.bodySize;
    c.flags[i] = (e.persistent ? 1 : 0) | (e.priority << PRIORITY_SHIFT) | (e.deliveries << DELIVERIES_SHIFT);
    c.segment[i] = this.segmentRef(e.segment!);
    this.count++;
  }

  /** The oldest entry's body size, without taking it out. */
  peekBodySize(): number | undefined {
    const c = this.chunks.peek();
    return c === undefined ? undefined : c.bodySize[c.head];
  }

  /** Removes the oldest entry and gives it back as an object (ready, as it was). */
  shift(): QueueEntry | undefined {
    const c = this.chunks.peek();
    if (c === undefined) return undefined;
    const i = c.head++;
    const e = this.entryAt(c, i);
    this.segmentUnref(c.segment[i]!);
    this.count--;
    if (c.head === c.tail) {
      this.chunks.shift();
      if (c.capacity === FIRST_CHUNK) this.spare = c;
      // Emptied: the next run starts small again.
      if (this.count === 0) this.nextChunk = FIRST_CHUNK;
    }
    return e;
  }

  /**
   * Visits every packed entry, oldest first, without an object each: `visit` sees one temporary
   * QueueEntry filled in turn with each entry's fields (what a store's removeAll reads); changes it
   * makes to that object are not kept.
   */
  forEach(visit: (e: QueueEntry) => void): void {
    const views = [new QueueEntry(null, 0, 0, false), new QueueEntry(null, 0, 0, true)];
    this.chunks.forEach((c) => {
      for (let i = c.head; i < c.tail; i++) {
        const f = c.flags[i]!;
        const v = views[f & 1]!;
        fill(v, c, i, this.segments[c.segment[i]!]!);
        visit(v);
      }
    });
  }

  /** Each packed entry as an object of its own (for iteration; not on any hot path). */
  *entries(): IterableIterator<QueueEntry> {
    for (const c of this.chunks) for (let i = c.head; i < c.tail; i++) yield this.entryAt(c, i);
  }

  clear(): void {
    this.chunks.clear();
    this.spare = undefined;
    this.nextChunk = FIRST_CHUNK;
    this.count = 0;
    this.segmentIndex.clear();
    this.segments.length = 0;
    this.segmentUses.length = 0;
    this.freeIndices.length = 0;
    this.lastSegment = undefined;
  }

  private entryAt(c: Chunk, i: number): QueueEntry {
    const e = new QueueEntry(null, c.seq[i]!, c.bodySize[i]!, (c.flags[i]! & 1) === 1);
    fill(e, c, i, this.segments[c.segment[i]!]!);
    e.ready = true;
    return e;
  }

  private segmentRef(seg: object): number {
    // Consecutive entries are nearly always in the same segment: skip the map for those.
    if (seg === this.lastSegment) {
      this.segmentUses[this.lastSegmentIndex]!++;
      return this.lastSegmentIndex;
    }
    let i = this.segmentIndex.get(seg);
    if (i === undefined) {
      i = this.freeIndices.pop() ?? this.segments.length;
      this.segments[i] = seg;
      this.segmentUses[i] = 0;
      this.segmentIndex.set(seg, i);
    }
    this.segmentUses[i]!++;
    this.lastSegment = seg;
    this.lastSegmentIndex = i;
    return i;
  }

  private segmentUnref(i: number): void {
    if (--this.segmentUses[i]! > 0) return;
    if (this.segments[i] === this.lastSegment) this.lastSegment = undefined;
    this.segmentIndex.delete(this.segments[i]!);
    this.segments[i] = undefined;
    this.freeIndices.push(i);
  }
}

/** Sets an entry object's fields from a packed slot (seq and bodySize too: views are reused). */
function fill(e: QueueEntry, c: Chunk, i: number, segment: object): void {
  const f = c.flags[i]!;
  (e as { seq: number }).seq = c.seq[i]!;
  (e as { bodySize: number }).bodySize = c.bodySize[i]!;
  e.expiresAt = c.expiresAt[i]!;
  e.offset = c.offset[i]!;
  e.recordSize = c.recordSize[i]!;
  e.segment = segment;
  e.stored = true;
  e.priority = (f >>> PRIORITY_SHIFT) & 0xff;
  e.deliveries = f >>> DELIVERIES_SHIFT;
}
