/**
 * Where a publish leaves a message: a queue, or the holding area of a delayed-message exchange
 * (which takes the message now and publishes it again when its delay is over). The vhost's publish
 * path hands every routed message to its targets through this interface, and only there.
 */
import type { Message } from '../message/message.js';
import type { PacingSource } from '../publisher-throttle.js';
import type { StoredCallback } from '../store/persister.js';

/**
 * How a target took a message: enqueued (nothing to wait for), refused (length limit with
 * reject-publish: the publisher gets a nack), or pending (a persistent message in a durable queue:
 * the callback given to publish runs once it is stored).
 */
export type PublishOutcome = 'done' | 'refused' | 'pending';

export interface MessageTarget extends PacingSource {
  readonly kind: 'queue' | 'delayed';
  readonly name: string;
  readonly deleted: boolean;
  /** Routing marks a target as reached with the current routing's number, to skip duplicates. */
  routeMark: number;
  /** Takes the message; `onStored` runs once a durable copy is on disk (when the outcome is 'pending'). */
  publish(msg: Message, onStored?: StoredCallback): PublishOutcome;
}
