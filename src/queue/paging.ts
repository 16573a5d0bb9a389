/**
 * A queue's paging: entries behind the loaded zone of its ready list may have their bodies on disk
 * only; as the zone moves forward they are read back, and entries whose record never reached the
 * disk are dropped rather than stalling the queue.
 */
import type { QueueEntry } from '../message/queue-entry.js';
import type { QueueStore } from '../store/queue-store.js';
import type { Ready } from './ready-list.js';

/** What paging reads of its queue (the store is set by the vhost after the queue is made). */
interface PagedQueue {
  readonly name: string;
  readonly deleted: boolean;
  readonly store: QueueStore;
  readonly log: { error(obj: object, msg: string): void; warn(obj: object, msg: string): void } | undefined;
}

export class Paging {
  /** A read back is under way. */
  loading = false;

  constructor(
    private readonly queue: PagedQueue,
    private readonly ready: Ready,
    /** Messages were read back (or dropped as unreadable) in a queue still there: expire and deliver. */
    private readonly readBack: () => void,
  ) {}

  /** A page write finished: the body can go if the message still waits behind the loaded zone. */
  written(e: QueueEntry, err: Error | undefined): void {
    if (err !== undefined) {
      this.queue.log?.warn({ queue: this.queue.name, err: err.message }, 'could not page a message out to disk: it stays in memory');
      return;
    }
    if (e.ready && e.msg !== null && !this.ready.inZone(e)) e.msg = null;
  }

  /** Grows the loaded zone and reads back the paged-out messages that entered it. */
  refill(): void {
    if (this.loading) return;
    const toRead = this.ready.extendZone().filter((e) => e.msg === null);
    if (toRead.length === 0) {
      // Everything in the zone is in memory; the head (if paged) will be read with the next extension.
      const head = this.ready.peek();
      if (head === undefined || head.msg !== null) return;
      toRead.push(head);
    }
    this.loading = true;
    this.queue.store.load(toRead, (err) => {
      this.loading = false;
      if (err !== undefined) {
        this.queue.log?.error({ err: err.message, queue: this.queue.name }, 'could not read messages back from disk');
        this.dropUnreadable();
      }
      if (this.queue.deleted) return;
      this.readBack();
    });
  }

  /**
   * Entries at the head that could not be read back (their record never reached the disk: the
   * write failed, and the publisher was nacked if it asked for confirms) are dropped, with a log
   * line, rather than stalling the queue.
   */
  dropUnreadable(): void {
    const store = this.queue.store;
    for (let e = this.ready.peek(); e !== undefined && e.msg === null; e = this.ready.peek()) {
      if (store.readable(e)) break;
      this.ready.shift();
      store.remove(e);
      this.queue.log?.error({ queue: this.queue.name, seq: e.seq }, 'message lost: its record could not be written to disk');
    }
  }
}
