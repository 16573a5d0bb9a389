/**
 * What a test hook watching message outcomes is told (src/broker/test-hooks.ts). A queue holds one
 * only while a test waits for an outcome in its vhost; otherwise the field is undefined and each
 * settlement pays one check of it, nothing more.
 */
import type { Message } from '../message/message.js';
import type { DeathReason } from './dead-letter.js';

/** The queue a settlement happened in (its name is all a watch needs; no import of queue.ts, which holds the watch). */
interface WatchedQueue {
  readonly name: string;
}

export interface SettlementWatch {
  /** Acknowledged (basic.ack, or delivered with no-ack), or handed back by the client (nack/reject with requeue). */
  settled(q: WatchedQueue, msg: Message, how: 'acked' | 'requeued'): void;
  /** Gone without being consumed: rejected without requeue, expired, dropped over a length limit; dead-lettered when the queue has a DLX. */
  discarded(q: WatchedQueue, msg: Message, reason: DeathReason, deadLettered: boolean): void;
}
