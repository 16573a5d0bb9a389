/**
 * The default exchange: every queue is bound to it by its own name, and it cannot be bound
 * explicitly. A routing key naming a direct reply-to address goes to the requesting channel, not to
 * a queue (and, as in RabbitMQ, does not count as routed).
 */
import { REPLY_PREFIX, type DirectReplies } from '../direct-reply.js';
import type { Message } from '../message/message.js';
import type { Queue } from '../queue/queue.js';
import { DirectExchange } from './direct.js';
import type { RouteSink } from './exchange.js';

export class DefaultExchange extends DirectExchange {
  constructor(
    private readonly queues: ReadonlyMap<string, Queue>,
    vhost: string,
    private readonly replies: DirectReplies,
  ) {
    super('', vhost, { durable: true, autoDelete: false, internal: false, arguments: new Map() });
  }

  override route(msg: Message, routingKey: string, sink: RouteSink): void {
    const q = this.queues.get(routingKey);
    if (q !== undefined) sink.add(q);
    else if (routingKey.startsWith(REPLY_PREFIX)) this.replies.deliver(routingKey, msg);
  }
}
