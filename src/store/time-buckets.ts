/**
 * The store of a delayed exchange's held messages, bucketed by due time, so that releasing a burst
 * of messages reads the disk in order instead of jumping through it.
 *
 * Held messages arrive in publish order but leave in due order. In one append-only store (as a
 * queue's) a million messages coming due over five seconds were read back one record at a time in
 * random places: 20 s after the last due time. Here each bucket is its own small store (a directory
 * holding one segment) covering a span of due times:
 *
 *   <root>/<start>-<width>-<n>/0000000001.seg   records due in [start, start + width), at most one segment
 *   <root>/<start>-<width>-<n>/0000000001.ack   as in any queue store (segment-store.ts)
 *   <root>/0000000001.seg ...                   the single store of earlier versions, still read
 *
 * A bucket's width follows the delay (about an eighth of it, a power of two of at least
 * MIN_WIDTH ms), so far-off messages share wide buckets and few files are open. When a bucket is
 * full (its segment reached the segment size), later messages for its span go to a bucket of half
 * the width, down to MIN_WIDTH, where a full bucket is followed by another of the same span. So a
 * bucket holds at most a segment of records due close together, and when one of them comes due the
 * whole bucket can be read in one or two sequential reads (`withBucketMates`).
 *
 * Durability is each bucket's store's: every record and acknowledgement is written as in a queue's
 * segments, and recovery reads every bucket found (a kill -9 leaves only complete buckets and torn
 * tails, repaired as in a queue). A bucket whose every message was released is deleted as a whole,
 * which needs no acknowledgement to be read back.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Logger } from 'pino';
import type { QueueEntry } from '../message/queue-entry.js';
import type { StoredCallback } from './persister.js';
import type { EntrySet, QueueStore, QueueTerms, RecoveredQueue } from './queue-store.js';

/** The narrowest bucket, in ms of due times. */
const MIN_WIDTH = 64;
/** The widest bucket (about 18.6 hours). */
const MAX_WIDTH = 2 ** 26;
const BUCKET_DIR = /^(\d+)-(\d+)-(\d+)$/;
const LEGACY_SEGMENT = /^\d{10}\.seg$/;

/** Makes the store of one bucket, in `dir`; `loadOnRecover` messages are read back by its recovery. */
export type BucketStoreFactory = (dir: string) => QueueStore;

class Bucket {
  /** Every entry written to it (released ones too, until the bucket goes). */
  readonly entries: QueueEntry[] = [];
  /** The store's segments holding its records (one, or more after a failed write). */
  readonly segments: object[] = [];
  bytes = 0;
  live = 0;
  /** Takes no more writes (its segment is full, or it was recovered). */
  full = false;
  /** The latest due time of its messages. */
  lastDue = 0;
  /** A timer will look at it again when its span is over. */
  recheck = false;
  /** Its unread messages were read back in one go already (withBucketMates). */
  readAhead = false;

  constructor(
    readonly key: string,
    readonly store: QueueStore,
    /** Due times it takes: [start, end). */
    readonly start: number,
    readonly end: number,
    /** The whole-directory store of earlier versions: its directory is the root, never removed alone. */
    readonly legacy = false,
  ) {}
}

export class TimeBucketedStore implements QueueStore {
  readonly canPage = true;
  /** Writable buckets by span (`start/width`); a full one stays to send later writes narrower. */
  private readonly open = new Map<string, Bucket>();
  private readonly buckets = new Set<Bucket>();
  /** Which bucket a segment (an entry's `segment`) belongs to. */
  private readonly owners = new Map<object, Bucket>();
  private nextBucket = 1;
  private rootReady = false;

  constructor(
    readonly root: string,
    readonly durable: boolean,
    /** A bucket is full at this many bytes (the bucket stores' segment size). */
    private readonly bucketBytes: number,
    private readonly log: Logger,
    private readonly makeStore: BucketStoreFactory,
  ) {}

  write(entry: QueueEntry, dueAt: number, done: StoredCallback | undefined): void {
    const b = this.bucketFor(dueAt, Date.now());
    b.store.write(entry, dueAt, done);
    const seg = entry.segment;
    if (seg !== null && b.segments.at(-1) !== seg) {
      b.segments.push(seg);
      this.owners.set(seg, b);
    }
    b.entries.push(entry);
    b.live++;
    b.bytes += entry.recordSize;
    if (b.bytes >= this.bucketBytes) b.full = true;
    if (dueAt > b.lastDue) b.lastDue = dueAt;
  }

  /** The bucket a message due at `dueAt` goes to (created if need be). */
  private bucketFor(dueAt: number, now: number): Bucket {
    let width = MIN_WIDTH;
    const wanted = Math.max(0, dueAt - now) / 8;
    while (width < wanted && width < MAX_WIDTH) width *= 2;
    for (;;) {
      const start = Math.floor(dueAt / width) * width;
      const key = `${start}/${width}`;
      const b = this.open.get(key);
      if (b !== undefined && !b.full) return b;
      if (b === undefined || width === MIN_WIDTH) return this.create(key, start, width);
      width /= 2;
    }
  }

  private create(key: string, start: number, width: number): Bucket {
    this.ensureRoot();
    const dir = join(this.root, `${start}-${width}-${this.nextBucket++}`);
    const b = new Bucket(key, this.makeStore(dir), start, start + width);
    this.open.set(key, b);
    this.buckets.add(b);
    return b;
  }

  /**
   * The root directory exists, and (durable) its own entry is synced: a bucket's store syncs its
   * directory and the root, not the root's parent.
   */
  private ensureRoot(): void {
    if (this.rootReady) return;
    this.rootReady = true;
    const created = mkdirSync(this.root, { recursive: true });
    if (created === undefined || !this.durable) return;
    for (let d = dirname(this.root); ; d = dirname(d)) {
      syncDir(d);
      if (d === dirname(created) || d === dirname(d)) break;
    }
  }

  private ownerOf(entry: QueueEntry): Bucket | undefined {
    const seg = entry.segment;
    return seg === null ? undefined : this.owners.get(seg);
  }

  /**
   * `entries` (due now, to be read back) and every other unread message of the buckets they are in,
   * for buckets whose messages are all due by `horizon`: reading a bucket whole is one sequential
   * read, where reading only the due ones is a read per message. Far-off buckets are not read early.
   */
  withBucketMates(entries: readonly QueueEntry[], horizon: number): QueueEntry[] {
    const seen = new Set<Bucket>();
    const asked = new Set(entries);
    const out = entries.slice();
    for (const e of entries) {
      const b = this.ownerOf(e);
      if (b === undefined || seen.has(b)) continue;
      seen.add(b);
      if (b.lastDue > horizon || b.readAhead) continue;
      // Once: a later batch would walk the same entries again for nothing (what was paged out since
      // comes back with its own batch).
      b.readAhead = true;
      for (const m of b.entries) if (m.msg === null && m.segment !== null && !asked.has(m)) out.push(m);
    }
    return out;
  }

  load(entries: readonly QueueEntry[], done: (err: Error | undefined) => void): void {
    const byBucket = this.group(entries);
    if (byBucket.size === 0) {
      queueMicrotask(() => done(undefined));
      return;
    }
    let pending = byBucket.size;
    let failure: Error | undefined;
    for (const [b, list] of byBucket) {
      b.store.load(list, (err) => {
        failure ??= err;
        if (--pending === 0) done(failure);
      });
    }
  }

  private group(entries: Iterable<QueueEntry> | EntrySet): Map<Bucket, QueueEntry[]> {
    const byBucket = new Map<Bucket, QueueEntry[]>();
    const visit = (e: QueueEntry) => {
      const b = this.ownerOf(e);
      if (b === undefined) return;
      let list = byBucket.get(b);
      if (list === undefined) byBucket.set(b, (list = []));
      list.push(e);
    };
    if (Symbol.iterator in entries) for (const e of entries) visit(e);
    else entries.forEach(visit);
    return byBucket;
  }

  loadSync(entry: QueueEntry): void {
    this.ownerOf(entry)?.store.loadSync(entry);
  }

  readable(entry: QueueEntry): boolean {
    if (entry.msg !== null) return true;
    const b = this.ownerOf(entry);
    return b !== undefined && b.store.readable(entry);
  }

  remove(entry: QueueEntry): void {
    const b = this.ownerOf(entry);
    if (b === undefined) return;
    b.store.remove(entry);
    b.live--;
    this.dropIfDone(b);
  }

  removeAll(entries: EntrySet): void {
    for (const [b, list] of this.group(entries)) {
      b.store.removeAll(list);
      b.live -= list.length;
      this.dropIfDone(b);
    }
  }

  /** Deletes a bucket once every message of it was released and no more can come to it. */
  private dropIfDone(b: Bucket): void {
    if (b.live > 0 || !this.buckets.has(b)) return;
    const now = Date.now();
    if (!(b.full || b.legacy || b.end <= now)) {
      // Released before its span is over: more may come to it until then, so look again at the end.
      if (b.recheck) return;
      b.recheck = true;
      setTimeout(() => {
        b.recheck = false;
        this.dropIfDone(b);
      }, b.end - now + 1).unref();
      return;
    }
    this.buckets.delete(b);
    if (this.open.get(b.key) === b) this.open.delete(b.key);
    for (const s of b.segments) this.owners.delete(s);
    if (b.legacy) return; // its segments retire themselves; the root holds the buckets too
    b.store.destroy().catch((err: Error) => this.log.error({ err: err.message, dir: this.root }, 'could not remove a released bucket of delayed messages'));
  }

  async recover(annotate?: (entry: QueueEntry, publishedAt: number, properties: Buffer) => void): Promise<RecoveredQueue> {
    const out: RecoveredQueue = { entries: [], nextSeq: 1, deliveredBelow: 1, loaded: new Map() };
    if (!existsSync(this.root)) return out;
    this.rootReady = true;
    const names = readdirSync(this.root);
    const found: Bucket[] = [];
    if (names.some((f) => LEGACY_SEGMENT.test(f))) found.push(new Bucket('legacy', this.makeStore(this.root), 0, 0, true));
    for (const name of names) {
      const m = BUCKET_DIR.exec(name);
      if (m === null) continue;
      const start = Number(m[1]);
      this.nextBucket = Math.max(this.nextBucket, Number(m[3]) + 1);
      found.push(new Bucket(`recovered:${name}`, this.makeStore(join(this.root, name)), start, start + Number(m[2])));
    }
    for (const b of found) {
      b.full = true;
      const r = await b.store.recover((e, dueAt, properties) => {
        if (dueAt > b.lastDue) b.lastDue = dueAt;
        annotate?.(e, dueAt, properties);
      });
      out.nextSeq = Math.max(out.nextSeq, r.nextSeq);
      for (const [seq, msg] of r.loaded) out.loaded.set(seq, msg);
      for (const e of r.entries) {
        const seg = e.segment!;
        if (b.segments.at(-1) !== seg) {
          b.segments.push(seg);
          this.owners.set(seg, b);
        }
        b.entries.push(e);
        out.entries.push(e);
      }
      b.live = r.entries.length;
      this.buckets.add(b);
      if (b.live === 0 && !b.legacy) this.dropIfDone(b);
    }
    return out;
  }

  async close(terms: QueueTerms): Promise<void> {
    const open = [...this.buckets];
    this.buckets.clear(); // no bucket is dropped after this
    for (const b of open) await b.store.close(terms);
  }

  async destroy(): Promise<void> {
    for (const b of this.buckets) await b.store.destroy();
    this.buckets.clear();
    this.open.clear();
    this.owners.clear();
    rmSync(this.root, { recursive: true, force: true });
  }
}

function syncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
