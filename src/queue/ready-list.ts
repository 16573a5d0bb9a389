/**
 * The messages of a queue that are ready for delivery, in delivery order, and which of them are kept
 * in memory.
 *
 * Order: messages arrive with increasing sequence numbers and are delivered from the head. A requeued
 * message (nack/reject with requeue, recover, a channel closed with unacknowledged deliveries) goes
 * back to its original position, as RabbitMQ does. Every message still waiting was published after
 * every message already delivered, so requeued messages always sort before all never-delivered ones:
 * they are kept in a small sorted list in front of the main FIFO.
 *
 * Memory: only the head of the FIFO, the "loaded zone" (up to `windowCount` messages and
 * `windowBytes` bytes), is meant to hold message bodies. Entries behind it may be paged out by the
 * queue once their record is on disk, and are read back into the zone as it empties; once paged out
 * they are not even objects any more (packed-entries.ts). Requeued entries were delivered, so they
 * are in memory already.
 */
import { Deque } from '../util/deque.js';
import type { QueueEntry } from '../message/queue-entry.js';
import { noteReleased } from '../util/idle-gc.js';
import { PACKED_ENTRY_BYTES, PackedEntries } from './packed-entries.js';

/** The ready list of a queue: FIFO (ReadyList) or by priority (PriorityReadyList). */
export interface Ready extends Iterable<QueueEntry> {
  readonly length: number;
  readonly byteSize: number;
  readonly wantsRefill: boolean;
  push(e: QueueEntry): boolean;
  requeue(e: QueueEntry): void;
  /** Quorum queues: a returned entry joins the line of returns served before everything else. */
  returnToFront(e: QueueEntry): void;
  /** Quorum queues without a delivery limit: a returned entry goes to the back, like a new one. */
  returnToBack(e: QueueEntry): void;
  peek(): QueueEntry | undefined;
  shift(): QueueEntry | undefined;
  inZone(e: QueueEntry): boolean;
  extendZone(): QueueEntry[];
  /** Calls `visit` on every entry without allocating (in no particular order across lists). */
  forEach(visit: (e: QueueEntry) => void): void;
  /**
   * Drops every entry at once (purge, delete): O(1), the backing arrays go whole. The entries are not
   * touched (their `ready` flag stays set): what may still refer to one afterwards is a store callback
   * in flight (a page-out, a read-back), which at most drops the dropped entry's message early.
   */
  clear(): void;
}

/**
 * Up to 16,384 messages (and 8 MiB of bodies) stay in memory at the head. For small messages the
 * entry, which stays in memory anyway, outweighs the body, so paging them out would save little and
 * cost a write and a read each; large ones hit the byte limit first.
 */
const DEFAULT_WINDOW_COUNT = 16384;
const DEFAULT_WINDOW_BYTES = 8 * 1024 * 1024;

/** Roughly what one ready entry holds besides its body: the entry, its message, two buffer views. */
const ENTRY_BYTES = 400;

/**
 * The main FIFO is three runs, in order: `zone` (the loaded zone, objects), `packed` (settled entries
 * behind it, as typed-array slots: see packed-entries.ts) and `behind` (the newest entries behind
 * the zone, objects until their page-out or write completes; then they move to `packed`, oldest first).
 * New entries join the zone while nothing waits behind it and the window has room.
 */
export class ReadyList implements Ready {
  /** Quorum queues' returned entries, in the order they came back; served first. */
  private readonly returns = new Deque<QueueEntry>(4);
  /** Requeued entries, ascending by sequence number; all precede the main FIFO. */
  private readonly requeued = new Deque<QueueEntry>(16);
  private readonly zone = new Deque<QueueEntry>(16);
  private readonly packed = new PackedEntries();
  private readonly behind = new Deque<QueueEntry>(16);
  private bytes = 0;
  private zoneBytes = 0;

  constructor(
    private readonly windowCount = DEFAULT_WINDOW_COUNT,
    private readonly windowBytes = DEFAULT_WINDOW_BYTES,
  ) {}

  get length(): number {
    return this.returns.length + this.requeued.length + this.zone.length + this.packed.length + this.behind.length;
  }

  /** Sum of body sizes of the ready messages. */
  get byteSize(): number {
    return this.bytes;
  }

  /** Entries of the main FIFO behind the loaded zone. */
  private get behindZone(): number {
    return this.packed.length + this.behind.length;
  }

  /** Appends an entry; returns true if it joined the loaded zone (false: it may be paged out). */
  push(e: QueueEntry): boolean {
    e.ready = true;
    this.bytes += e.bodySize;
    if (this.behindZone === 0) {
      const n = this.zone.length;
      // An entry bigger than the whole window still gets in when the zone is empty.
      if (n === 0 || (n < this.windowCount && this.zoneBytes + e.bodySize <= this.windowBytes)) {
        this.zone.push(e);
        this.zoneBytes += e.bodySize;
        return true;
      }
    }
    this.behind.push(e);
    this.packSettled();
    return false;
  }

  /**
   * Moves the entries at the front of `behind` whose record is settled into `packed`. Called as
   * entries arrive: each is packed once, so this is O(1) per entry over time. An entry that never
   * settles (its page-out failed: it stays in memory) holds the ones after it back as objects.
   */
  private packSettled(): void {
    const behind = this.behind;
    for (let e = behind.peek(); e !== undefined && PackedEntries.settled(e); e = behind.peek()) {
      behind.shift();
      this.packed.push(e);
    }
  }

  /** The next entry behind the zone, as an object, taken off its run. */
  private takeBehind(): QueueEntry | undefined {
    return this.packed.length > 0 ? this.packed.shift() : this.behind.shift();
  }

  /** Puts a previously delivered entry back at its original position. */
  requeue(e: QueueEntry): void {
    e.ready = true;
    this.bytes += e.bodySize;
    const r = this.requeued;
    const last = r.peekLast();
    if (last === undefined || last.seq < e.seq) {
      r.push(e);
      return;
    }
    let lo = 0;
    let hi = r.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (r.at(mid)!.seq < e.seq) lo = mid + 1;
      else hi = mid;
    }
    r.insert(lo, e);
  }

  returnToFront(e: QueueEntry): void {
    e.ready = true;
    this.bytes += e.bodySize;
    this.returns.push(e);
  }

  returnToBack(e: QueueEntry): void {
    // Behind newer entries now: the sequence order of the FIFO no longer holds after it, which only
    // `inZone` relies on (and nothing asks it about quorum queues' entries).
    e.ready = true;
    this.bytes += e.bodySize;
    if (this.behindZone === 0) {
      this.zone.push(e);
      this.zoneBytes += e.bodySize;
    } else {
      this.behind.push(e);
    }
  }

  peek(): QueueEntry | undefined {
    if (this.returns.length > 0) return this.returns.peek();
    if (this.requeued.length > 0) return this.requeued.peek();
    if (this.zone.length === 0) {
      // The head must be the same object until it is shifted: it joins the (empty) zone.
      const e = this.takeBehind();
      if (e === undefined) return undefined;
      this.zone.push(e);
      this.zoneBytes += e.bodySize;
    }
    return this.zone.peek();
  }

  shift(): QueueEntry | undefined {
    let e: QueueEntry | undefined;
    if (this.returns.length > 0) {
      e = this.returns.shift();
    } else if (this.requeued.length > 0) {
      e = this.requeued.shift();
    } else {
      e = this.zone.shift();
      if (e !== undefined) this.zoneBytes -= e.bodySize;
      else e = this.takeBehind();
    }
    if (e !== undefined) {
      this.bytes -= e.bodySize;
      e.ready = false;
    }
    return e;
  }

  /** Whether a ready entry is in the loaded zone (and so must keep its message in memory). */
  inZone(e: QueueEntry): boolean {
    if (!e.ready) return false;
    const last = this.zone.peekLast();
    return last !== undefined && e.seq <= last.seq;
  }

  /** The zone is less than half full while entries wait behind it: time to read some back. */
  get wantsRefill(): boolean {
    return this.behindZone > 0 && (this.zone.length < this.windowCount / 2 || this.zoneBytes < this.windowBytes / 2);
  }

  /**
   * Grows the loaded zone over the entries behind it (up to the window) and returns those now in the
   * zone; the caller reads back the ones without a message.
   */
  extendZone(): QueueEntry[] {
    const added: QueueEntry[] = [];
    while (this.behindZone > 0 && this.zone.length < this.windowCount) {
      const bodySize = this.packed.length > 0 ? this.packed.peekBodySize()! : this.behind.peek()!.bodySize;
      if (this.zoneBytes + bodySize > this.windowBytes && this.zone.length > 0) break;
      const e = this.takeBehind()!;
      this.zone.push(e);
      this.zoneBytes += e.bodySize;
      added.push(e);
    }
    return added;
  }

  forEach(visit: (e: QueueEntry) => void): void {
    this.returns.forEach(visit);
    this.requeued.forEach(visit);
    this.zone.forEach(visit);
    this.packed.forEach(visit);
    this.behind.forEach(visit);
  }

  clear(): void {
    // Millions of entries may go here at once: the idle collector is told, so that the memory is
    // given back soon even if nothing allocates afterwards.
    noteReleased((this.length - this.packed.length) * ENTRY_BYTES + this.packed.length * PACKED_ENTRY_BYTES + this.bytes);
    this.returns.clear();
    this.requeued.clear();
    this.zone.clear();
    this.packed.clear();
    this.behind.clear();
    this.bytes = 0;
    this.zoneBytes = 0;
  }

  /** Every entry in delivery order; packed ones as objects made for the occasion. */
  *[Symbol.iterator](): IterableIterator<QueueEntry> {
    yield* this.returns;
    yield* this.requeued;
    yield* this.zone;
    yield* this.packed.entries();
    yield* this.behind;
  }
}
