/**
 * Where a queue's messages live beyond the queue's own memory. The queue decides what to write
 * (persistent messages of durable queues, for durability; any message beyond its in-memory window,
 * to bound memory) and asks for messages back when they near the head; the store decides how.
 *
 * Two implementations share one contract (test/store/queue-store-contract.test.ts):
 *  - MemoryQueueStore: nothing leaves memory (durability `memory`, the embedded test mode).
 *  - SegmentQueueStore (segment-store.ts): append-only segment files plus acknowledgement logs.
 */
import type { Message } from '../message/message.js';
import type { QueueEntry } from '../message/queue-entry.js';
import type { StoredCallback } from './persister.js';

export interface QueueStore {
  /** Survives a restart (a durable queue on disk). */
  readonly durable: boolean;
  /** Can hold messages outside memory; the queue pages its tail out only if so. */
  readonly canPage: boolean;
  /**
   * Writes the entry's message. `done` runs when it is stored as the durability mode defines it,
   * with an error if it could not be. The entry's record location is set at once.
   */
  write(entry: QueueEntry, publishedAt: number, done: StoredCallback | undefined): void;
  /** Reads back the messages of entries that have none in memory; `done` once they are set. */
  load(entries: readonly QueueEntry[], done: (err: Error | undefined) => void): void;
  /** Reads one entry's message back without waiting (only when a reply cannot wait: basic.get). */
  loadSync(entry: QueueEntry): void;
  /** Whether an entry's record can be read (false when its write failed). */
  readable(entry: QueueEntry): boolean;
  /** The message is gone for good (acknowledged, dropped): its record is dead. */
  remove(entry: QueueEntry): void;
  /**
   * Every one of these messages is gone for good at once (a purge): when this returns the purge is
   * as durable as the store makes anything (in the kernel: a kill -9 does not bring them back), and
   * nothing was allocated per entry. `entries` is walked twice at most.
   */
  removeAll(entries: EntrySet): void;
  /**
   * Recovered contents, in queue order (durable stores after a restart). `annotate` sees each
   * recovered entry with its publish time and properties (the queue derives expiry and priority).
   */
  recover(annotate?: (entry: QueueEntry, publishedAt: number, properties: Buffer) => void): Promise<RecoveredQueue>;
  /** Clean shutdown: everything written, terms saved for an exact recovery. */
  close(terms: QueueTerms): Promise<void>;
  /** The queue was deleted: remove every file. */
  destroy(): Promise<void>;
}

/** Entries the store can walk (a queue's ready list; an array). */
export interface EntrySet {
  forEach(visit: (e: QueueEntry) => void): void;
}

/** What a clean shutdown remembers about a queue (RabbitMQ's queue terms). */
export interface QueueTerms {
  /** Every message with a lower seq was delivered at least once. */
  deliveredBelow: number;
  nextSeq: number;
  /** Priority queues: the same, per priority (index = priority). */
  deliveredBelowByPriority?: number[];
}

export interface RecoveredQueue {
  entries: QueueEntry[];
  nextSeq: number;
  /** Messages whose first delivery happened before the restart get redelivered=true. */
  deliveredBelow: number;
  /** Priority queues after a clean shutdown: the watermark per priority. */
  deliveredBelowByPriority?: number[] | undefined;
  /** Messages read back with the scan (the head of the queue), by seq. */
  loaded: Map<number, Message>;
}

/** Nothing leaves memory: writes complete at once, and there is nothing to read back or recover. */
export class MemoryQueueStore implements QueueStore {
  readonly durable = false;
  readonly canPage = false;

  write(entry: QueueEntry, _publishedAt: number, done: StoredCallback | undefined): void {
    entry.stored = true;
    if (done !== undefined) queueMicrotask(() => done(undefined));
  }

  load(_entries: readonly QueueEntry[], done: (err: Error | undefined) => void): void {
    queueMicrotask(() => done(undefined));
  }

  loadSync(_entry: QueueEntry): void {}

  readable(entry: QueueEntry): boolean {
    return entry.msg !== null;
  }

  remove(_entry: QueueEntry): void {}

  removeAll(_entries: EntrySet): void {}

  async recover(): Promise<RecoveredQueue> {
    return { entries: [], nextSeq: 1, deliveredBelow: 1, loaded: new Map() };
  }

  async close(): Promise<void> {}

  async destroy(): Promise<void> {}
}
