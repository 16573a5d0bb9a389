/**
 * The ready messages of a priority queue (x-max-priority): one ReadyList per priority, delivered
 * highest first and in order within a priority, as RabbitMQ's rabbit_priority_queue does. A message
 * without a priority is filed at 0, one above the maximum at the maximum.
 */
import type { QueueEntry } from '../message/queue-entry.js';
import { ReadyList, type Ready } from './ready-list.js';

export class PriorityReadyList implements Ready {
  /** Index = priority. */
  private readonly levels: ReadyList[] = [];
  private count = 0;
  private bytes = 0;

  constructor(readonly maxPriority: number) {
    // Each level gets a share of the in-memory window, so a queue's memory does not grow with its
    // number of priorities.
    const share = Math.max(64, Math.floor(2048 / (maxPriority + 1)));
    for (let p = 0; p <= maxPriority; p++) this.levels.push(new ReadyList(share, Math.max(256 * 1024, Math.floor((8 * 1024 * 1024) / (maxPriority + 1)))));
  }

  get length(): number {
    return this.count;
  }

  get byteSize(): number {
    return this.bytes;
  }

  get wantsRefill(): boolean {
    return this.levels.some((l) => l.wantsRefill);
  }

  push(e: QueueEntry): boolean {
    this.count++;
    this.bytes += e.bodySize;
    return this.levels[e.priority]!.push(e);
  }

  requeue(e: QueueEntry): void {
    this.count++;
    this.bytes += e.bodySize;
    this.levels[e.priority]!.requeue(e);
  }

  returnToFront(e: QueueEntry): void {
    this.count++;
    this.bytes += e.bodySize;
    this.levels[e.priority]!.returnToFront(e);
  }

  returnToBack(e: QueueEntry): void {
    this.count++;
    this.bytes += e.bodySize;
    this.levels[e.priority]!.returnToBack(e);
  }

  private top(): ReadyList | undefined {
    for (let p = this.levels.length - 1; p >= 0; p--) if (this.levels[p]!.length > 0) return this.levels[p];
    return undefined;
  }

  peek(): QueueEntry | undefined {
    return this.top()?.peek();
  }

  shift(): QueueEntry | undefined {
    const e = this.top()?.shift();
    if (e !== undefined) {
      this.count--;
      this.bytes -= e.bodySize;
    }
    return e;
  }

  inZone(e: QueueEntry): boolean {
    return this.levels[e.priority]!.inZone(e);
  }

  extendZone(): QueueEntry[] {
    const out: QueueEntry[] = [];
    for (let p = this.levels.length - 1; p >= 0; p--) out.push(...this.levels[p]!.extendZone());
    return out;
  }

  forEach(visit: (e: QueueEntry) => void): void {
    for (const level of this.levels) level.forEach(visit);
  }

  clear(): void {
    for (const level of this.levels) level.clear();
    this.count = 0;
    this.bytes = 0;
  }

  *[Symbol.iterator](): IterableIterator<QueueEntry> {
    for (let p = this.levels.length - 1; p >= 0; p--) yield* this.levels[p]!;
  }
}
