import type { Message } from '../message.js';

/** One message's place in one queue (a message routed to several queues has an entry in each). */
export class QueueEntry {
  /** Times this entry has been handed to a consumer or basic.get before; > 0 means a redelivery. */
  deliveries = 0;

  constructor(
    readonly msg: Message,
    /** Position in the queue: increasing in publish order, used to requeue in place. */
    readonly seq: number,
  ) {}

  get redelivered(): boolean {
    return this.deliveries > 0;
  }
}
