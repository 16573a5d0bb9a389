/**
 * Direct reply-to (RabbitMQ's docs page "direct-reply-to"): RPC replies without a reply queue.
 *
 * A client consumes the pseudo-queue `amq.rabbitmq.reply-to` (no-ack only, one such consumer per
 * channel) and publishes requests with reply-to `amq.rabbitmq.reply-to`; the broker rewrites that to
 * `amq.rabbitmq.reply-to.<suffix>`, a name for the requesting channel. A reply published to the
 * default exchange with that name as routing key goes straight to the channel, and is dropped if the
 * channel or its reply consumer is gone. As in RabbitMQ, such a reply does not count as routed to a
 * queue: a mandatory reply comes back as a basic.return even when delivered, and it is confirmed at once.
 *
 * The suffix, like RabbitMQ's, is "<channel part>.<key>", the key random, so that a reply address
 * cannot be guessed. Registration is broker-wide: a reply may come from any vhost, as in RabbitMQ.
 */
import { randomBytes } from 'node:crypto';
import type { Message } from './message/message.js';

export const REPLY_QUEUE = 'amq.rabbitmq.reply-to';
export const REPLY_PREFIX = 'amq.rabbitmq.reply-to.';

/** A channel with a reply consumer, as the registry sees it. */
export interface ReplyReceiver {
  /** Delivers a reply to the channel's reply consumer (dropped if the channel is closing). */
  deliverReply(msg: Message, suffix: string): void;
}

export class DirectReplies {
  private readonly bySuffix = new Map<string, ReplyReceiver>();

  /** Registers a channel's reply consumer; returns the suffix its requests' reply-to will carry. */
  register(receiver: ReplyReceiver, connectionId: number, channel: number): string {
    const who = Buffer.allocUnsafe(6);
    who.writeUInt32BE(connectionId >>> 0, 0);
    who.writeUInt16BE(channel, 4);
    const suffix = `${who.toString('base64')}.${randomBytes(16).toString('base64')}`;
    this.bySuffix.set(suffix, receiver);
    return suffix;
  }

  unregister(suffix: string): void {
    this.bySuffix.delete(suffix);
  }

  /** Whether `amq.rabbitmq.reply-to.<suffix>` names a live reply consumer (queue.declare's answer). */
  exists(suffix: string): boolean {
    return this.bySuffix.has(suffix);
  }

  /** Routes a reply published with routing key `amq.rabbitmq.reply-to.<suffix>`. */
  deliver(routingKey: string, msg: Message): void {
    const suffix = routingKey.slice(REPLY_PREFIX.length);
    this.bySuffix.get(suffix)?.deliverReply(msg, suffix);
  }
}

/** Whether a message's reply-to is exactly `amq.rabbitmq.reply-to` (checked on every publish: no string made). */
export function asksForDirectReply(msg: Message): boolean {
  const s = msg.replyToStart;
  if (s < 0 || msg.replyToEnd - s !== REPLY_QUEUE.length) return false;
  return msg.properties.toString('latin1', s, msg.replyToEnd) === REPLY_QUEUE;
}
