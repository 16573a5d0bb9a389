/**
 * A queue's messages on disk: append-only segment files of message records, each with an
 * acknowledgement log, and once full, an index.
 *
 *   <dir>/0000000001.seg   "WRNSEG01", then message records (records.ts), appended in queue order
 *   <dir>/0000000001.ack   8-byte sequence numbers of that segment's persistent messages that are gone
 *   <dir>/0000000001.idx   a full segment's persistent records without bodies (segment-index.ts)
 *   <dir>/terms.json       written at a clean shutdown (which seqs were delivered), read once at start
 *
 * Writes go through the persister (group commit). A segment is closed for writing at 8 MiB and a new
 * one started; a segment whose every record is dead (acknowledged, dropped, or a transient page that
 * was read back and delivered) is deleted with its log. Recovery reads the head segment and those
 * without a usable index once, skips the records the logs list and the transient ones, and
 * truncates a torn tail; the other segments it knows from their indexes.
 */
import { closeSync, existsSync, fdatasyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync, writeSync, readSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Logger } from 'pino';
import { Message, scanProperties } from '../message/message.js';
import { TWO_32 } from '../protocol/codec-primitives.js';
import { QueueEntry } from '../message/queue-entry.js';
import type { AppendFile, Persister, StoredCallback } from './persister.js';
import type { EntrySet, QueueStore, QueueTerms, RecoveredQueue } from './queue-store.js';
import { readRecord, recordSize, writeRecord, type DecodedRecord, type RecordFields } from './records.js';
import { indexOfSegment, readSegmentIndex, SegmentIndexBuilder } from './segment-index.js';

const MAGIC = Buffer.from('WRNSEG01');
/** A full segment still holding messages this long after its last write is indexed (segment-index.ts). */
const INDEX_DELAY_MS = 1000;

type Annotate = (entry: QueueEntry, publishedAt: number, properties: Buffer) => void;
const DEFAULT_SEGMENT_SIZE = 8 * 1024 * 1024;
/** Reads for loading are merged when records are this close. */
const READ_GAP = 64 * 1024;
const READ_MAX = 4 * 1024 * 1024;

class Segment {
  file: AppendFile | null = null;
  ack: AppendFile | null = null;
  readFd: number | null = null;
  size = 0;
  /** Records not yet dead. */
  live = 0;
  retired = false;
  /** During removeAll: how many of its live records go, how many of those need an acknowledgement. */
  dropping = 0;
  droppingAcked = 0;
  /** During removeAll: the acknowledgements for it, filled in the second pass. */
  dropAcks: Buffer | null = null;
  dropAcksAt = 0;
  /** Writes not yet completed; takes no more records once sealed (full). */
  unstored = 0;
  sealed = false;

  constructor(
    readonly id: number,
    readonly path: string,
    readonly ackPath: string,
  ) {}

  get indexPath(): string {
    return `${this.path.slice(0, -4)}.idx`;
  }
}

export interface SegmentStoreOptions {
  /** Persistent records survive restarts (a durable queue); otherwise files are pages of memory only. */
  durable: boolean;
  /** The broker's last shutdown was clean: terms.json is trustworthy. */
  cleanStart: boolean;
  segmentSize?: number;
  /** How many messages recovery reads back into memory straight away. */
  loadOnRecover?: number;
  /** Index full segments while running (default true); false where segments are soon read anyway. */
  indexFull?: boolean;
}

export class SegmentQueueStore implements QueueStore {
  readonly canPage = true;
  readonly durable: boolean;
  private readonly segments = new Map<number, Segment>();
  private current: Segment | null = null;
  private nextSegmentId = 1;
  private dirReady = false;
  private readonly segmentSize: number;
  /** Background indexing of full segments, one at a time. */
  private indexing: Promise<void> = Promise.resolve();

  constructor(
    readonly dir: string,
    private readonly persister: Persister,
    private readonly log: Logger,
    private readonly options: SegmentStoreOptions,
  ) {
    this.durable = options.durable;
    this.segmentSize = options.segmentSize ?? DEFAULT_SEGMENT_SIZE;
  }

  // ------------------------------------------------------------------------------------------
  // Writing

  write(entry: QueueEntry, publishedAt: number, done: StoredCallback | undefined): void {
    const msg = entry.msg!;
    const seg = this.writableSegment();
    const fields: RecordFields = {
      seq: entry.seq,
      time: publishedAt,
      persistent: entry.persistent && this.durable,
      exchange: msg.exchange,
      routingKey: msg.routingKey,
      properties: msg.properties,
      body: msg.body,
      extraKeys: msg.extraKeys,
    };
    const size = recordSize(fields);
    const offset = seg.file!.appendWith(size, (b, at) => writeRecord(b, at, fields), (err) => {
      if (err === undefined) entry.stored = true;
      else if (this.current === seg) this.current = null; // a failed file takes no more writes
      if (--seg.unstored === 0 && seg.sealed) this.indexLater(seg);
      done?.(err);
    });
    entry.segment = seg;
    entry.offset = offset;
    entry.recordSize = size;
    seg.size += size;
    seg.live++;
    seg.unstored++;
    if (seg.size >= this.segmentSize) {
      this.current = null;
      seg.sealed = true;
    }
  }

  private writableSegment(): Segment {
    const cur = this.current;
    if (cur !== null && cur.file !== null && cur.file.failed === undefined) return cur;
    let newDir = false;
    if (!this.dirReady) {
      newDir = mkdirSync(this.dir, { recursive: true }) !== undefined;
      this.dirReady = true;
    }
    const id = this.nextSegmentId++;
    const seg = new Segment(id, join(this.dir, `${pad(id)}.seg`), join(this.dir, `${pad(id)}.ack`));
    // Opening a file is rare (one per 8 MiB) and must not reorder appends: do it synchronously.
    rmSync(seg.ackPath, { force: true }); // an ack log left by a crash between retire()'s unlinks must not apply to the new segment
    rmSync(seg.indexPath, { force: true }); // nor an index
    const fd = openSync(seg.path, 'w', 0o644);
    seg.file = this.persister.appendFile(seg.path, fd, 0);
    seg.file.needsSync = this.durable;
    if (this.durable) seg.file.syncDirs = newDir ? [this.dir, dirname(this.dir)] : [this.dir];
    seg.file.append(MAGIC);
    seg.size = MAGIC.length;
    this.segments.set(id, seg);
    if (cur !== null && cur.live === 0) this.retire(cur);
    this.current = seg;
    return seg;
  }

  remove(entry: QueueEntry): void {
    const seg = entry.segment as Segment | null;
    if (seg === null) return;
    entry.segment = null;
    if (seg.retired) return;
    seg.live--;
    if (this.durable && entry.persistent) {
      if (seg.ack === null || seg.ack.failed !== undefined) seg.ack = this.openAckLog(seg);
      const b = Buffer.allocUnsafe(8);
      b.writeUInt32BE(Math.floor(entry.seq / TWO_32), 0);
      b.writeUInt32BE(entry.seq >>> 0, 4);
      seg.ack.append(b);
    }
    if (seg.live === 0 && seg !== this.current) this.retire(seg);
  }

  /**
   * A purge. One pass counts, per segment, the records that go. A segment left with none is deleted
   * outright, its files unlinked before this returns, and needs no acknowledgement at all: a queue
   * of millions of messages with no consumer purges with a few unlinks. Only a segment that keeps
   * other live records (unacknowledged deliveries) gets acknowledgements for the purged persistent
   * records in it, filled in a second pass into one buffer per segment and written synchronously.
   * Either way the purge is in the kernel on return, so a kill -9 right after purge-ok cannot bring
   * a purged message back (acknowledgements of single messages go through the persister instead,
   * like RabbitMQ's, and may come back as redeliveries).
   */
  removeAll(entries: EntrySet): void {
    const touched: Segment[] = [];
    const needsAck = (e: QueueEntry) => this.durable && e.persistent;
    entries.forEach((e) => {
      const seg = e.segment as Segment | null;
      if (seg === null || seg.retired) return;
      if (seg.dropping === 0) touched.push(seg);
      seg.dropping++;
      if (needsAck(e)) seg.droppingAcked++;
    });
    if (touched.length === 0) return;
    const keep: Segment[] = [];
    for (const seg of touched) {
      if (seg.dropping === seg.live) {
        if (seg === this.current) this.current = null;
        this.retireNow(seg);
      } else if (seg.droppingAcked > 0) {
        seg.dropAcks = Buffer.allocUnsafe(seg.droppingAcked * 8);
        seg.dropAcksAt = 0;
        keep.push(seg);
      }
    }
    entries.forEach((e) => {
      const seg = e.segment as Segment | null;
      if (seg === null) return;
      e.segment = null;
      const acks = seg.dropAcks;
      if (acks === null || !needsAck(e)) return;
      acks.writeUInt32BE(Math.floor(e.seq / 0x1_0000_0000), seg.dropAcksAt);
      acks.writeUInt32BE(e.seq >>> 0, seg.dropAcksAt + 4);
      seg.dropAcksAt += 8;
    });
    for (const seg of touched) {
      if (!seg.retired) seg.live -= seg.dropping;
      seg.dropping = 0;
      seg.droppingAcked = 0;
    }
    for (const seg of keep) {
      const acks = seg.dropAcks!;
      seg.dropAcks = null;
      this.appendAcksNow(seg, acks);
    }
  }

  /**
   * Appends acknowledgements to a segment's log with one synchronous write (the log is opened for
   * appending, so this and the persister's writes each land whole at the end, in either order). With
   * durability fsync the persister's next round syncs it. If the write fails they go through the
   * persister instead, as single acknowledgements do.
   */
  private appendAcksNow(seg: Segment, acks: Buffer): void {
    if (seg.ack === null || seg.ack.failed !== undefined) seg.ack = this.openAckLog(seg);
    try {
      let done = 0;
      while (done < acks.length) done += writeSync(seg.ack.fd, acks, done, acks.length - done);
      this.persister.syncLater(seg.ack.fd, seg.ackPath);
    } catch (err) {
      this.log.error({ err: (err as Error).message, file: seg.ackPath }, 'could not write the acknowledgements of a purge at once: queued instead');
      seg.ack.append(acks);
    }
  }

  /**
   * Deletes a segment whose records are all dead now: its files are unlinked at once (the data of
   * pending writes and reads stays reachable through their open descriptors), then closed.
   */
  private retireNow(seg: Segment): void {
    seg.retired = true;
    this.segments.delete(seg.id);
    try {
      rmSync(seg.path, { force: true });
      rmSync(seg.ackPath, { force: true });
      rmSync(seg.indexPath, { force: true });
    } catch (err) {
      this.log.error({ err: (err as Error).message, segment: seg.path }, 'could not delete a purged segment');
    }
    void (async () => {
      await seg.file?.close();
      await seg.ack?.close();
      if (seg.readFd !== null) await this.persister.io.close(seg.readFd).catch(() => {});
    })().catch((e) => this.log.error({ err: e, segment: seg.path }, 'could not close a purged segment'));
  }

  /**
   * Opens a segment's acknowledgement log for appending. After a failed write (the disk was full)
   * the failed file is given up and the log reopened, cut back to whole records: the acks of the
   * failed write may come back as redeliveries, later ones are kept.
   */
  private openAckLog(seg: Segment): AppendFile {
    const failed = seg.ack;
    if (failed !== null) {
      failed.close().catch(() => {});
      if (existsSync(seg.ackPath)) {
        const size = statSync(seg.ackPath).size;
        if (size % 8 !== 0) truncateSync(seg.ackPath, size - (size % 8));
      }
    }
    const created = !existsSync(seg.ackPath);
    const fd = openSync(seg.ackPath, 'a', 0o644);
    const log = this.persister.appendFile(seg.ackPath, fd, 0);
    if (created) log.syncDirs = [this.dir];
    return log;
  }

  /** Deletes a segment whose records are all dead, once its pending writes are done. */
  private retire(seg: Segment): void {
    if (seg.retired) return;
    seg.retired = true;
    this.segments.delete(seg.id);
    void (async () => {
      await seg.file?.close();
      await seg.ack?.close();
      if (seg.readFd !== null) await this.persister.io.close(seg.readFd).catch(() => {});
      await this.persister.io.unlink(seg.path);
      await this.persister.io.unlink(seg.ackPath);
      await this.persister.io.unlink(seg.indexPath);
    })().catch((e) => this.log.error({ err: e, segment: seg.path }, 'could not delete a finished segment'));
  }

  // ------------------------------------------------------------------------------------------
  // Reading back

  load(entries: readonly QueueEntry[], done: (err: Error | undefined) => void): void {
    const bySegment = new Map<Segment, QueueEntry[]>();
    for (const e of entries) {
      if (e.msg !== null || e.segment === null) continue;
      const seg = e.segment as Segment;
      let list = bySegment.get(seg);
      if (list === undefined) bySegment.set(seg, (list = []));
      list.push(e);
    }
    if (bySegment.size === 0) {
      queueMicrotask(() => done(undefined));
      return;
    }
    Promise.all([...bySegment].map(([seg, list]) => this.loadFromSegment(seg, list))).then(
      () => done(undefined),
      (err: Error) => {
        this.log.error({ err: err.message, dir: this.dir }, 'reading messages back failed');
        done(err);
      },
    );
  }

  readable(entry: QueueEntry): boolean {
    const seg = entry.segment as Segment | null;
    if (entry.msg !== null) return true;
    if (seg === null || seg.retired) return false;
    return entry.stored || seg.file === null || seg.file.failed === undefined;
  }

  private async loadFromSegment(seg: Segment, entries: QueueEntry[]): Promise<void> {
    // Records not yet in the file are read from the write buffers.
    if (seg.file !== null) {
      entries = entries.filter((e) => {
        if (e.stored) return true;
        const bytes = seg.file!.readUnwritten(e.offset, e.recordSize);
        if (bytes === undefined) return true;
        e.msg = this.messageAt(bytes, 0, seg);
        return false;
      });
    }
    entries.sort((a, b) => a.offset - b.offset);
    if (seg.readFd === null) seg.readFd = await this.persister.io.open(seg.path, 'r');
    let i = 0;
    while (i < entries.length) {
      // Merge neighbouring records into one read.
      const first = entries[i]!;
      let end = first.offset + first.recordSize;
      let j = i + 1;
      while (j < entries.length) {
        const l = entries[j]!;
        if (l.offset - end > READ_GAP || l.offset + l.recordSize - first.offset > READ_MAX) break;
        end = Math.max(end, l.offset + l.recordSize);
        j++;
      }
      const buf = Buffer.allocUnsafe(end - first.offset);
      const n = await this.persister.io.read(seg.readFd, buf, 0, buf.length, first.offset);
      if (n < buf.length) throw new Error(`short read from ${seg.path}`);
      for (let k = i; k < j; k++) {
        const e = entries[k]!;
        if (e.msg !== null || e.segment === null) continue; // removed or loaded meanwhile
        e.msg = this.messageAt(buf, e.offset - first.offset, seg);
      }
      i = j;
    }
  }

  loadSync(entry: QueueEntry): void {
    const seg = entry.segment as Segment | null;
    if (entry.msg !== null || seg === null) return;
    if (!entry.stored && seg.file !== null) {
      const bytes = seg.file.readUnwritten(entry.offset, entry.recordSize);
      if (bytes !== undefined) {
        entry.msg = this.messageAt(bytes, 0, seg);
        return;
      }
    }
    if (seg.readFd === null) seg.readFd = openSync(seg.path, 'r');
    const buf = Buffer.allocUnsafe(entry.recordSize);
    const n = readSync(seg.readFd, buf, 0, entry.recordSize, entry.offset);
    if (n < entry.recordSize) throw new Error(`short read from ${seg.path}`);
    entry.msg = this.messageAt(buf, 0, seg);
  }

  private messageAt(buf: Buffer, at: number, seg: Segment): Message {
    const r = readRecord(buf, at, 0, false);
    if (r.kind !== 'record') throw new Error(`unreadable record in ${seg.path}`);
    return toMessage(r.record, true);
  }

  // ------------------------------------------------------------------------------------------
  // Recovery, shutdown, deletion

  async recover(annotate?: Annotate): Promise<RecoveredQueue> {
    const out: RecoveredQueue = { entries: [], nextSeq: 1, deliveredBelow: 1, loaded: new Map() };
    if (!existsSync(this.dir)) return out;
    this.dirReady = true;
    const termsPath = join(this.dir, 'terms.json');
    let terms: QueueTerms | undefined;
    if (this.options.cleanStart && existsSync(termsPath)) {
      try {
        terms = JSON.parse(readFileSync(termsPath, 'utf8')) as QueueTerms;
      } catch {
        terms = undefined;
      }
    }
    rmSync(termsPath, { force: true });
    const ids = readdirSync(this.dir)
      .filter((f) => /^\d{10}\.seg$/.test(f))
      .map((f) => Number(f.slice(0, 10)))
      .sort((a, b) => a - b);
    const loadLimit = this.options.loadOnRecover ?? 2048;
    let maxSeq = 0;
    const toIndex: Array<{ seg: Segment; index: SegmentIndexBuilder }> = [];
    for (const id of ids) {
      const seg = new Segment(id, join(this.dir, `${pad(id)}.seg`), join(this.dir, `${pad(id)}.ack`));
      this.nextSegmentId = Math.max(this.nextSegmentId, id + 1);
      const acked = this.readAcks(seg);
      // The head of the queue is read whole (its messages are loaded); the rest from indexes if it can be.
      let segMax = out.loaded.size < loadLimit ? undefined : this.recoverFromIndex(seg, acked, out, annotate);
      if (segMax === undefined) {
        const index = new SegmentIndexBuilder();
        segMax = this.recoverByScan(seg, acked, out, annotate, loadLimit, index);
        if (this.durable) toIndex.push({ seg, index });
      }
      if (segMax > maxSeq) maxSeq = segMax;
      this.segments.set(id, seg);
      if (seg.live === 0) this.retire(seg);
      else seg.sealed = true; // new records go to a new segment
    }
    // For a quicker next start (a recovered segment takes no more records, so its index holds).
    if (toIndex.length > 0) setImmediate(() => void this.writeIndexes(toIndex));
    out.entries.sort((a, b) => a.seq - b.seq);
    out.nextSeq = Math.max(maxSeq + 1, terms?.nextSeq ?? 1);
    // After a crash nothing says which messages reached a consumer: count them all as delivered
    // (RabbitMQ's classic queues do the same on a dirty recovery).
    out.deliveredBelow = terms !== undefined ? terms.deliveredBelow : out.nextSeq;
    if (terms !== undefined && Array.isArray(terms.deliveredBelowByPriority)) out.deliveredBelowByPriority = terms.deliveredBelowByPriority;
    return out;
  }

  /** Recovers a segment's entries from its index; undefined if it has none that can be trusted. */
  private recoverFromIndex(seg: Segment, acked: Set<number>, out: RecoveredQueue, annotate: Annotate | undefined): number | undefined {
    if (!this.durable) return undefined;
    let data: Buffer;
    let size: number;
    try {
      data = readFileSync(seg.indexPath);
      size = statSync(seg.path).size;
    } catch {
      return undefined;
    }
    const segMax = readSegmentIndex(data, size, (seq, time, offset, recordSize, bodySize, properties) => {
      if (acked.has(seq)) return;
      const entry = QueueEntry.recovered(seq, bodySize, seg, offset, recordSize, 0);
      annotate?.(entry, time, properties);
      out.entries.push(entry);
      seg.live++;
    });
    if (segMax === undefined) {
      this.log.warn({ segment: seg.path }, 'segment index unusable: reading the segment instead');
      rmSync(seg.indexPath, { force: true });
      return undefined;
    }
    seg.size = size;
    return segMax;
  }

  /** Recovers a segment by reading every record, repairing a torn tail; returns its highest seq. */
  private recoverByScan(seg: Segment, acked: Set<number>, out: RecoveredQueue, annotate: Annotate | undefined, loadLimit: number, index: SegmentIndexBuilder): number {
    const data = readFileSync(seg.path);
    let at = MAGIC.length;
    let maxSeq = 0;
    if (data.length < MAGIC.length || !data.subarray(0, MAGIC.length).equals(MAGIC)) {
      this.log.warn({ segment: seg.path }, 'segment without a valid header: discarded');
      at = data.length;
    }
    while (at < data.length) {
      const r = readRecord(data, at, 0, true);
      if (r.kind !== 'record') {
        const reason = r.kind === 'torn' ? r.reason : 'cut short';
        this.log.warn({ segment: seg.path, offset: at, dropped: data.length - at, reason }, 'repaired a torn segment tail');
        const fd = openSync(seg.path, 'r+');
        ftruncateSync(fd, at);
        fdatasyncSync(fd);
        closeSync(fd);
        break;
      }
      const rec = r.record;
      at += rec.size;
      if (rec.seq > maxSeq) maxSeq = rec.seq;
      if (!this.durable || !rec.persistent) continue;
      index.add(rec.seq, rec.time, rec.offset, rec.size, rec.body.length, rec.properties);
      if (acked.has(rec.seq)) continue;
      const entry = QueueEntry.recovered(rec.seq, rec.body.length, seg, rec.offset, rec.size, 0);
      annotate?.(entry, rec.time, rec.properties);
      out.entries.push(entry);
      if (out.loaded.size < loadLimit) out.loaded.set(rec.seq, toMessage(rec, true));
      seg.live++;
    }
    index.maxSeq = maxSeq;
    seg.size = at;
    return maxSeq;
  }

  /** Writes the indexes of sealed segments (a torn one is detected by its CRC and ignored). */
  private async writeIndexes(list: Array<{ seg: Segment; index: SegmentIndexBuilder }>): Promise<void> {
    for (const { seg, index } of list) {
      const bytes = index.finish(seg.size);
      if (bytes === undefined || seg.retired) continue;
      try {
        await writeFile(seg.indexPath, bytes);
        if (seg.retired) rmSync(seg.indexPath, { force: true });
      } catch (err) {
        this.log.warn({ err: (err as Error).message, segment: seg.path }, 'could not write a segment index');
      }
    }
  }

  /**
   * Indexes a segment that became full, once its writes are done and if it still holds messages a
   * second later (most segments of a queue that keeps up are gone by then): read back, off the
   * publish path, one segment at a time.
   */
  private indexLater(seg: Segment): void {
    if (!this.durable || this.options.indexFull === false || seg.file === null || seg.file.failed !== undefined) return;
    setTimeout(() => {
      this.indexing = this.indexing.then(() => this.indexWritten(seg)).catch((err: Error) => this.log.warn({ err: err.message, segment: seg.path }, 'could not index a segment'));
    }, INDEX_DELAY_MS).unref();
  }

  private async indexWritten(seg: Segment): Promise<void> {
    if (seg.retired || seg.live === 0 || seg.file?.failed !== undefined) return;
    const data = await readFile(seg.path);
    const index = data.length === seg.size ? indexOfSegment(data, MAGIC.length) : undefined;
    if (index !== undefined) await this.writeIndexes([{ seg, index }]);
  }

  private readAcks(seg: Segment): Set<number> {
    const acked = new Set<number>();
    if (!existsSync(seg.ackPath)) return acked;
    const data = readFileSync(seg.ackPath);
    const whole = data.length - (data.length % 8);
    if (whole !== data.length) this.log.warn({ file: seg.ackPath, dropped: data.length - whole }, 'ignored a torn acknowledgement record');
    if (whole !== data.length) truncateSync(seg.ackPath, whole); // later acks are appended: they must start on an 8-byte boundary
    for (let p = 0; p < whole; p += 8) {
      const seq = data.readUInt32BE(p) * TWO_32 + data.readUInt32BE(p + 4);
      if (seq !== 0) acked.add(seq);
    }
    return acked;
  }

  async close(terms: QueueTerms): Promise<void> {
    await this.closeFiles();
    if (this.durable && this.dirReady && existsSync(this.dir)) {
      const path = join(this.dir, 'terms.json');
      writeFileSync(path, JSON.stringify(terms));
      const fd = openSync(path, 'r');
      fdatasyncSync(fd);
      closeSync(fd);
    }
  }

  async destroy(): Promise<void> {
    this.current = null;
    await this.closeFiles();
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async closeFiles(): Promise<void> {
    for (const seg of this.segments.values()) {
      await seg.file?.close();
      await seg.ack?.close();
      if (seg.readFd !== null) await this.persister.io.close(seg.readFd).catch(() => {});
      seg.readFd = null;
    }
  }
}

function toMessage(rec: DecodedRecord, copy: boolean): Message {
  const props = copy ? Buffer.from(rec.properties) : rec.properties;
  const body = copy ? Buffer.from(rec.body) : rec.body;
  const m = new Message(rec.exchange, rec.routingKey, props, body);
  scanProperties(m, props);
  m.publishedAt = rec.time;
  if (rec.extraKeys !== undefined) m.extraKeys = rec.extraKeys;
  return m;
}

const pad = (id: number) => id.toString().padStart(10, '0');
