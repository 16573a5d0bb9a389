/**
 * A vhost's dead-lettering: a message a queue lets go (rejected, expired, over its length, over its
 * delivery limit) is republished to the queue's dead-letter exchange, as rabbit_dead_letter does.
 */
import type { Logger } from 'pino';
import type { Exchange } from '../exchange/exchange.js';
import type { Message } from '../message/message.js';
import type { DeathModel } from '../personality.js';
import { deadLetterMessage, isDeadLetterCycle, type DeathReason } from '../queue/dead-letter.js';
import type { Queue } from '../queue/queue.js';
import type { MessageTarget } from '../queue/target.js';

/** What dead-lettering needs of its vhost: the exchanges, routing and the hand-over to queues. */
export interface DeadLetterRouting {
  readonly exchanges: ReadonlyMap<string, Exchange>;
  readonly log: Logger;
  route(x: Exchange, routingKey: string, msg: Message, extraKeys: readonly string[] | undefined): MessageTarget[];
  enqueue(targets: readonly MessageTarget[], msg: Message, tracker: undefined, publisher: undefined): number;
}

export class DeadLetters {
  private readonly pending: { q: Queue; msg: Message; reason: DeathReason }[] = [];
  private running = false;

  constructor(
    private readonly vhost: DeadLetterRouting,
    private readonly deathModel: DeathModel,
  ) {}

  /**
   * Republishes a message a queue let go to its dead-letter exchange. Dead letters are processed one
   * after another from a list, so a chain of queues dead-lettering into each other never recurses.
   * At most once: there is no confirm, and a destination that refuses the message drops it.
   */
  deadLetter(q: Queue, msg: Message, reason: DeathReason): void {
    this.pending.push({ q, msg, reason });
    if (this.running) return;
    this.running = true;
    try {
      for (let item = this.pending.shift(); item !== undefined; item = this.pending.shift()) this.deadLetterOne(item.q, item.msg, item.reason);
    } finally {
      this.running = false;
    }
  }

  private deadLetterOne(q: Queue, msg: Message, reason: DeathReason): void {
    const dlxName = q.deadLetterExchange!;
    const x = this.vhost.exchanges.get(dlxName);
    if (x === undefined) return; // a missing dead-letter exchange drops the message, as in RabbitMQ
    const { message, routingKeys } = deadLetterMessage(msg, reason, q.name, dlxName, q.deadLetterRoutingKey, Date.now(), this.deathModel);
    let targets = this.vhost.route(x, routingKeys[0]!, message, routingKeys.length > 1 ? routingKeys.slice(1) : undefined);
    const headers = reason === 'rejected' ? undefined : message.decodedProperties.headers;
    if (headers !== undefined) {
      targets = targets.filter((target) => {
        if (target.kind !== 'queue' || !isDeadLetterCycle(target.name, headers)) return true;
        this.vhost.log.warn({ queue: target.name, from: q.name, reason }, 'message dropped: dead-letter cycle without a rejection');
        return false;
      });
    }
    this.vhost.enqueue(targets, message, undefined, undefined);
  }
}
