/**
 * basic.publish once its content is complete: the checks RabbitMQ makes before routing (write
 * permission, missing or internal exchange, topic permission, malformed properties, direct reply-to,
 * user-id, expiration, delivery mode, CC/BCC), then
 * the vhost's publish path, a basic.return for an unroutable mandatory message, and the confirm.
 * In a transaction the message is routed now and handed over at commit.
 */
import { internalError, notImplemented, preconditionFailed } from '../errors.js';
import { asksForDirectReply, REPLY_PREFIX } from '../direct-reply.js';
import { hasXDeathHeader, renderPublishedHeaders } from '../message/deaths.js';
import { InvalidMessage, Message, expirationError, scanProperties, takeRoutingHeaders } from '../message/message.js';
import { DecodeError } from '../protocol/codec-primitives.js';
import { ReplyCode } from '../protocol/generated/constants.js';
import { encodeBasicReturn, Method, type BasicPublish } from '../protocol/generated/methods.js';
import { writeContent } from '../wire/content-frames.js';
import type { Confirms } from './confirms.js';
import type { ChannelContext } from './host.js';
import type { Transaction } from './transaction.js';
import { MAX_MESSAGE_SIZE_4 } from '../upgrade-warnings.js';

export class Publisher {
  /** 3.13 and later deliver headers in key order (message/deaths.ts). */
  private readonly rendersHeaders: boolean;
  /** 3.13 reads a published x-death back into death records. */
  private readonly recoversDeaths: boolean;
  /** Strict upgrade: still to report a published x-death header on this channel's connection. */
  private watchesXDeath: boolean;
  /** Strict upgrade: a body larger than this is reported (once); Infinity when not watched. */
  private reportAbove: number;
  /** 4.2 and later: a mandatory direct reply is routed, never returned. */
  private readonly replyRouted: boolean;

  constructor(
    private readonly ctx: ChannelContext,
    private readonly confirms: Confirms,
  ) {
    const { personality, upgrade } = ctx.host.release;
    this.rendersHeaders = personality.sortsHeaders;
    this.recoversDeaths = personality.deathModel === '3.13';
    this.watchesXDeath = upgrade?.watches('republished_x_death') ?? false;
    this.reportAbove = upgrade?.watches('message_over_16MiB') ? MAX_MESSAGE_SIZE_4 : Infinity;
    this.replyRouted = personality.replyToCountsAsRouted;
  }

  /**
   * Publishes an assembled basic.publish. `replySuffix` is this channel's direct reply-to address
   * suffix, if it consumes replies; `tx` the transaction in progress, if any.
   */
  publish(method: BasicPublish, properties: Buffer, body: Buffer | readonly Buffer[], replySuffix: string | undefined, tx: Transaction | undefined): void {
    if (method.immediate) throw notImplemented('immediate=true').withMethodOf(Method.BasicPublish);
    const host = this.ctx.host;
    const vhost = host.vhost;
    // The basic.publish row of method-access.ts, inline: this is the hot path. A user whose grant
    // cannot refuse anything (".*" three times, no topic permissions: the default user) pays one
    // comparison here; others a cached decision per exchange (and per routing key on topic exchanges).
    const access = this.ctx.access;
    const restricted = !access.isUnrestricted;
    if (restricted) access.check('exchange', method.exchange, 'write');
    const exchange = vhost.exchangeForPublish(method.exchange);
    if (restricted && exchange.type === 'topic') access.checkTopic(exchange.name, method.routingKey, 'write');
    const msg = this.message(method, properties, body, replySuffix);
    if (tx !== undefined) {
      tx.hold(msg, vhost.route(exchange, method.routingKey, msg, msg.extraKeys), method.mandatory);
      return;
    }
    if (!this.confirms.enabled) {
      const routed = vhost.publish(exchange, method.routingKey, msg.extraKeys, msg, undefined, host.publisher);
      if (routed === 0 && method.mandatory) this.returnUnroutable(msg);
      return;
    }
    // Confirm mode: the ack (or nack) waits for every queue the message reached to have taken it.
    const pending = this.confirms.track();
    const routed = vhost.publish(exchange, method.routingKey, msg.extraKeys, msg, pending, host.publisher);
    // Returns go out before the confirm for the same message (RabbitMQ orders them so).
    if (routed === 0 && method.mandatory) this.returnUnroutable(msg);
    pending.handedOut();
  }

  /** The message of a publish, with RabbitMQ's refusals of malformed or forbidden properties. */
  private message(method: BasicPublish, properties: Buffer, body: Buffer | readonly Buffer[], replySuffix: string | undefined): Message {
    const msg = new Message(method.exchange, method.routingKey, properties, body);
    try {
      scanProperties(msg, properties);
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      // RabbitMQ's channel crashes decoding malformed properties; its reader reports a bare 541.
      this.ctx.log.error(`malformed content properties in basic.publish: ${e.message}`);
      throw internalError('');
    }
    if (asksForDirectReply(msg)) {
      if (replySuffix === undefined) throw preconditionFailed('fast reply consumer does not exist');
      msg.setProperties({ ...msg.decodedProperties, replyTo: REPLY_PREFIX + replySuffix });
    }
    // rabbit_channel:check_user_id_header/2 (users tagged impersonator may claim any user id).
    if (msg.userIdStart >= 0) this.ctx.access.checkUserId(msg.userId!);
    if (msg.expirationStart >= 0) {
      const expiration = msg.expiration!;
      const reason = expirationError(expiration);
      if (reason !== undefined) throw preconditionFailed(`invalid expiration '${expiration}': ${reason}`);
    }
    // RabbitMQ builds the message (refusing a delivery mode other than 1 or 2) before routing it.
    const dm = msg.deliveryMode;
    if (dm !== -1 && dm !== 1 && dm !== 2) throw preconditionFailed(`invalid message: {delivery_mode_unknown,${dm}}`);
    if (msg.hasRoutingHeaders) {
      try {
        const extraKeys = takeRoutingHeaders(msg);
        if (extraKeys.length > 0) msg.extraKeys = extraKeys;
      } catch (e) {
        if (e instanceof InvalidMessage) throw preconditionFailed(`invalid message: ${e.message}`);
        throw e;
      }
    }
    if (msg.hasHeaders && (this.rendersHeaders || this.watchesXDeath)) this.publishedHeaders(msg);
    if (msg.bodySize > this.reportAbove) {
      this.ctx.host.release.upgrade?.used('message_over_16MiB', { bodySize: msg.bodySize });
      this.reportAbove = Infinity;
    }
    return msg;
  }

  /** The headers as the release delivers them, and strict upgrade's look for a published x-death. */
  private publishedHeaders(msg: Message): void {
    const xDeath = this.rendersHeaders ? renderPublishedHeaders(msg, this.recoversDeaths) : hasXDeathHeader(msg);
    msg.publishedXDeath = xDeath;
    if (xDeath && this.watchesXDeath) {
      this.ctx.host.release.upgrade?.used('republished_x_death', { exchange: msg.exchange, routingKey: msg.routingKey });
      this.watchesXDeath = false;
    }
  }

  /**
   * basic.return 312 NO_ROUTE with the content, for an unroutable mandatory publish. A direct reply
   * (the default exchange, an amq.rabbitmq.reply-to.* key) never reaches a queue: until 4.1 it always
   * comes back; since 4.2 it counts as routed and does not.
   */
  returnUnroutable(msg: Message): void {
    if (this.replyRouted && msg.exchange === '' && msg.routingKey.startsWith(REPLY_PREFIX)) return;
    const host = this.ctx.host;
    const out = host.out;
    encodeBasicReturn(out, this.ctx.number, { replyCode: ReplyCode.NO_ROUTE, replyText: 'NO_ROUTE', exchange: msg.exchange, routingKey: msg.routingKey });
    writeContent(out, this.ctx.number, msg.properties, msg.bodyPieces ?? msg.body, msg.bodySize, host.frameMax);
    out.frameDone();
  }
}
