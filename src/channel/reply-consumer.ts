/**
 * A channel's direct reply-to consumer (rabbit_channel's clauses for amq.rabbitmq.reply-to; see
 * src/direct-reply.ts for the mechanism): basic.consume on the pseudo-queue, no-ack only, at most one
 * per channel and not a queue consumer; replies addressed to it are written as deliveries.
 */
import { notFound, preconditionFailed, resourceName } from '../errors.js';
import { REPLY_PREFIX, REPLY_QUEUE, type ReplyReceiver } from '../direct-reply.js';
import type { Message } from '../message/message.js';
import { encodeBasicConsumeOk, encodeBasicDeliver, encodeQueueDeclareOk, type BasicConsume } from '../protocol/generated/methods.js';
import { writeContent } from '../wire/content-frames.js';
import { generateConsumerTag, type Deliveries } from './deliveries.js';
import type { ChannelContext } from './host.js';

export class ReplyConsumer implements ReplyReceiver {
  private current: { readonly tag: string; readonly suffix: string } | undefined;

  constructor(
    private readonly ctx: ChannelContext,
    private readonly deliveries: Deliveries,
  ) {}

  /** The suffix this channel's requests get in their reply-to, if it consumes replies. */
  get suffix(): string | undefined {
    return this.current?.suffix;
  }

  isTag(tag: string): boolean {
    return this.current?.tag === tag;
  }

  consume(m: BasicConsume): void {
    this.deliveries.checkTagFree(m.consumerTag);
    if (!m.noAck) throw preconditionFailed('reply consumer cannot acknowledge');
    if (this.current !== undefined) throw preconditionFailed('reply consumer already set');
    const host = this.ctx.host;
    const tag = m.consumerTag !== '' ? m.consumerTag : generateConsumerTag();
    const suffix = host.vhost.replies.register(this, host.id, this.ctx.number);
    this.current = { tag, suffix };
    if (!m.nowait) encodeBasicConsumeOk(host.out, this.ctx.number, { consumerTag: tag });
    host.out.frameDone();
  }

  cancel(): void {
    if (this.current === undefined) return;
    this.ctx.host.vhost.replies.unregister(this.current.suffix);
    this.current = undefined;
  }

  /**
   * queue.declare of amq.rabbitmq.reply-to or a reply address: always passive. The pseudo-queue and
   * live reply addresses exist (0 messages, 1 consumer); anything else under that name does not.
   * Returns the name declared.
   */
  declare(rawName: string, nowait: boolean): string {
    const host = this.ctx.host;
    const name = rawName.replace(/[\r\n]/g, '');
    const exists = name === REPLY_QUEUE || (name.startsWith(REPLY_PREFIX) && host.vhost.replies.exists(name.slice(REPLY_PREFIX.length)));
    if (!exists) throw notFound(`no ${resourceName('queue', name, host.vhost.name)}`);
    if (!nowait) encodeQueueDeclareOk(host.out, this.ctx.number, { queue: name, messageCount: 0, consumerCount: 1 });
    return name;
  }

  /**
   * A reply for our reply consumer. Like RabbitMQ, it carries the channel's next delivery tag without
   * using it up (nothing acknowledges a no-ack delivery), and is dropped once the channel is closing.
   */
  deliverReply(msg: Message, suffix: string): void {
    const rc = this.current;
    if (rc === undefined || rc.suffix !== suffix || !this.ctx.isOpen) return;
    const host = this.ctx.host;
    encodeBasicDeliver(host.out, this.ctx.number, {
      consumerTag: rc.tag,
      deliveryTag: this.deliveries.peekNextTag,
      redelivered: false,
      exchange: msg.exchange,
      routingKey: msg.routingKey,
    });
    writeContent(host.out, this.ctx.number, msg.properties, msg.bodyPieces ?? msg.body, msg.bodySize, host.frameMax);
    host.out.frameDone();
  }
}
