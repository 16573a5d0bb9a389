/**
 * A channel: content assembly for publishes, the commands of the channel-level classes, consumers,
 * delivery tags, acknowledgements and prefetch.
 *
 * States (RabbitMQ's rabbit_channel): `starting` until channel.open, `open`, and `closing` once the
 * server has sent channel.close and waits for close-ok; while closing, every command but channel.close
 * and channel.close-ok is dropped, as the spec requires.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import {
  AmqpError,
  ChannelError,
  ConnectionError,
  accessRefused,
  channelError,
  frameError,
  notAllowed,
  notFound,
  notImplemented,
  resourceLocked,
  resourceName,
  commandInvalid,
  SocketDrop,
  preconditionFailed,
  unexpectedFrame,
  internalError,
} from './errors.js';
import { InvalidMessage, Message, expirationError, scanProperties, takeRoutingHeaders } from './message.js';
import { checkConsumeArguments } from './queue/arguments.js';
import { DecodeError, MalformedUtf8Error, Reader } from './protocol/codec-primitives.js';
import type { FieldTable } from './protocol/field-table.js';
import { integerValue } from './protocol/field-table.js';
import {
  Method,
  decodeMethod,
  encodeBasicCancel,
  encodeBasicCancelOk,
  encodeBasicConsumeOk,
  encodeBasicDeliver,
  encodeBasicGetEmpty,
  encodeBasicGetOk,
  encodeBasicQosOk,
  encodeBasicRecoverOk,
  encodeChannelClose,
  encodeChannelCloseOk,
  encodeChannelFlowOk,
  encodeChannelOpenOk,
  encodeAccessRequestOk,
  encodeBasicAck,
  encodeBasicNack,
  encodeBasicReturn,
  encodeConfirmSelectOk,
  encodeExchangeBindOk,
  encodeExchangeDeclareOk,
  encodeExchangeDeleteOk,
  encodeExchangeUnbindOk,
  encodeQueueBindOk,
  encodeQueueDeclareOk,
  encodeQueueDeleteOk,
  encodeQueuePurgeOk,
  encodeQueueUnbindOk,
  encodeTxCommitOk,
  encodeTxRollbackOk,
  encodeTxSelectOk,
  methodName,
  METHOD_INFO,
  type AnyMethod,
  type BasicConsume,
  type BasicPublish,
} from './protocol/generated/methods.js';
import { ClassId, FRAME_BODY, FRAME_HEADER, FRAME_METHOD, ReplyCode } from './protocol/generated/constants.js';
import type { Consumer } from './delivery.js';
import { REPLY_PREFIX, REPLY_QUEUE, asksForDirectReply, type ReplyReceiver } from './direct-reply.js';
import type { RouteTarget } from './exchange/exchange.js';
import type { Queue } from './queue/queue.js';
import type { QueueEntry } from './queue/queue-entry.js';
import { Deque } from './util/deque.js';
import type { VHost } from './vhost.js';
import { erlangBinary, FRAME_OVERHEAD } from './wire/frame-parser.js';
import { BODY_BY_REFERENCE, type Outbound } from './wire/outbound.js';
import { RouteBytesCache, encodeShortstr, writeDeliveryFrames } from './wire/delivery-frames.js';

/** What a channel needs from its connection. */
export interface ChannelHost {
  readonly id: number;
  readonly out: Outbound;
  readonly vhost: VHost;
  readonly frameMax: number;
  readonly maxMessageSize: number;
  /** consumer_timeout in ms (0: off): an acknowledgement overdue this long closes the channel. */
  readonly consumerTimeoutMs: number;
  /** Client capability flags from connection.start-ok. */
  hasCapability(name: string): boolean;
  /** The authenticated user (publishes with a user-id property must carry it). */
  readonly userName: string;
  /** The channel has confirms to send once the current batch of input is processed. */
  confirmsPending(channel: Channel): void;
  /** A publish arrived (publishers are paused while the store catches up). */
  published(): void;
  /** A queue this connection published to asks its publishers to wait (publisher pacing). */
  pacedBy(target: RouteTarget): void;
  /** Whether the socket can take more output now (false while congested). */
  readonly writable: boolean;
  /** The channel has finished closing (close-ok exchanged): forget it. */
  channelClosed(channel: Channel): void;
  /** Escalates a hard error raised on this channel to the connection. */
  connectionError(error: ConnectionError | SocketDrop): void;
}

export type ChannelState = 'starting' | 'open' | 'closing';

/** A delivery waiting for acknowledgement. */
interface Unacked {
  readonly tag: number;
  readonly queue: Queue;
  readonly entry: QueueEntry;
  /** The consumer it was delivered to, or undefined for basic.get. */
  readonly consumer: ChannelConsumer | undefined;
  /** When it was delivered (ms since the epoch), kept only while consumer_timeout is on. */
  readonly deliveredAt: number;
}

interface TxPublish {
  readonly msg: Message;
  /** Routed at publish time, as RabbitMQ does; enqueued at commit. */
  readonly queues: RouteTarget[];
  readonly mandatory: boolean;
}

/** A publish (or a commit) waiting for its queues: `pending` counts the outstanding stores. */
interface PendingConfirm {
  readonly seq: number;
  pending: number;
  refused: boolean;
}

interface TxSettlement {
  readonly kind: 'ack' | 'requeue' | 'reject';
  readonly items: Unacked[];
}

/** Content assembly for basic.publish (rabbit_command_assembler's states). */
const enum Assembly {
  Method,
  Header,
  Body,
}

const reader = new Reader();

export class Channel implements ReplyReceiver {
  state: ChannelState = 'starting';
  readonly log: Logger;

  private assembly = Assembly.Method;
  private contentMethod: AnyMethod | undefined;
  private publishProperties: Buffer | undefined;
  private body: Buffer | undefined;
  private bodyReceived = 0;
  private bodyExpected = 0;
  /** Set when the announced body is larger than allowed: its frames are read and dropped. */
  private bodyTooLarge = false;

  private nextDeliveryTag = 1;
  /** Exchange and routing key of the latest delivery, encoded (see RouteBytesCache). */
  private readonly routeBytes = new RouteBytesCache();
  private readonly unacked = new Deque<Unacked>(64);
  readonly consumers = new Map<string, ChannelConsumer>();
  /** basic.qos global=false: the prefetch each new consumer gets. */
  consumerPrefetch = 0;
  /** basic.qos global=true: limit on unacknowledged consumer deliveries across the channel. */
  private globalPrefetch = 0;
  /** Unacknowledged consumer deliveries (not basic.get), for the channel-wide limit. */
  globalUnacked = 0;
  private lastDeclaredQueue = '';
  private confirmMode = false;
  /** Sequence number of the next publish in confirm mode (from 1). */
  private publishSeq = 1;
  /** Confirmed publish numbers not yet acknowledged to the client. */
  private readonly confirmed: number[] = [];
  /** Refused publish numbers not yet nacked to the client. */
  private readonly nacked: number[] = [];
  /** Transaction in progress (tx.select): publishes and settlements held until commit. */
  private tx: { publishes: TxPublish[]; settlements: TxSettlement[] } | undefined;
  /** Publishes waiting for their queues to store them (confirm mode), oldest first. */
  private readonly unconfirmed = new Map<number, PendingConfirm>();
  /** A tx.commit waiting for its persistent messages to be stored. */
  private committing: PendingConfirm | undefined;
  /** The direct reply-to consumer (basic.consume on amq.rabbitmq.reply-to), at most one per channel. */
  private replyConsumer: { readonly tag: string; readonly suffix: string } | undefined;
  /** consumer_timeout: fires when the oldest unacknowledged delivery may be overdue. */
  private ackTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly host: ChannelHost,
    readonly number: number,
    parentLog: Logger,
  ) {
    this.log = parentLog.child({ channel: number });
  }

  // ------------------------------------------------------------------------------------------
  // Frames in

  handleFrame(type: number, payload: Buffer, start: number, end: number): void {
    try {
      switch (this.assembly) {
        case Assembly.Method:
          if (type !== FRAME_METHOD) {
            throw unexpectedFrame('expected method frame, got non method frame instead');
          }
          this.handleMethodFrame(payload, start, end);
          return;
        case Assembly.Header:
          this.handleHeaderFrame(type, payload, start, end);
          return;
        case Assembly.Body:
          if (type !== FRAME_BODY) {
            throw unexpectedFrame('expected content body, got non content body frame instead').withMethod(
              ClassId.Basic,
              40,
            );
          }
          this.handleBodyFrame(payload, start, end);
          return;
      }
    } catch (e) {
      this.fail(e);
    }
  }

  /**
   * A large body frame that arrived as views of several socket chunks. When it is the whole body,
   * the message keeps the views (no copy); anything else is assembled and handled as usual.
   */
  handleSplitBody(pieces: readonly Buffer[], size: number): void {
    if (this.assembly === Assembly.Body && !this.bodyTooLarge && this.body === undefined && this.bodyReceived + size === this.bodyExpected) {
      this.bodyReceived = this.bodyExpected;
      try {
        this.completePublish(pieces);
      } catch (e) {
        this.fail(e);
      }
      return;
    }
    this.handleFrame(FRAME_BODY, Buffer.concat(pieces, size), 0, size);
  }

  private handleMethodFrame(payload: Buffer, start: number, end: number): void {
    const key = payload.readUInt32BE(start);
    const r = reader.reset(payload, start + 4, end);
    let m: AnyMethod | undefined;
    try {
      m = decodeMethod(key, r);
      if (m !== undefined && r.pos !== end) throw new DecodeError('trailing bytes');
    } catch (e) {
      if (e instanceof MalformedUtf8Error) throw frameError(e.message);
      if (!(e instanceof DecodeError)) throw e;
      if (e.insideTable) throw new SocketDrop(`malformed field table in ${methodName(key)}: ${e.message}`);
      const info = METHOD_INFO.get(key)!;
      throw frameError(`cannot decode ${erlangBinary(payload.subarray(start + 4, end))}`).withMethod(
        info.classId,
        info.methodId,
      );
    }
    if (m === undefined) throw new SocketDrop(`unknown method ${methodName(key)}`);
    if (METHOD_INFO.get(key)!.hasContent) {
      // The content is assembled before the command is looked at, as RabbitMQ's assembler does; a
      // content-bearing method the client may not send is refused once its content is complete.
      this.contentMethod = m;
      this.assembly = Assembly.Header;
      return;
    }
    this.dispatch(m);
  }

  private handleHeaderFrame(type: number, payload: Buffer, start: number, end: number): void {
    if (type !== FRAME_HEADER) {
      throw unexpectedFrame(`expected content header for class 60, got non content header frame instead`).withMethod(
        ClassId.Basic,
        40,
      );
    }
    const classId = payload.readUInt16BE(start);
    const weight = payload.readUInt16BE(start + 2);
    if (weight !== 0) {
      throw unexpectedFrame(`expected content header for class 60, got non content header frame instead`).withMethod(
        ClassId.Basic,
        40,
      );
    }
    if (classId !== ClassId.Basic) {
      throw unexpectedFrame(`expected content header for class 60, got one for class ${classId} instead`).withMethod(
        ClassId.Basic,
        40,
      );
    }
    const hi = payload.readUInt32BE(start + 4);
    const lo = payload.readUInt32BE(start + 8);
    const size = hi * 0x1_0000_0000 + lo;
    this.publishProperties = payload.subarray(start + 12, end);
    this.bodyTooLarge = size > this.host.maxMessageSize;
    this.bodyExpected = size;
    this.bodyReceived = 0;
    this.body = undefined;
    if (size === 0) {
      this.completePublish(EMPTY);
      return;
    }
    this.assembly = Assembly.Body;
  }

  private handleBodyFrame(payload: Buffer, start: number, end: number): void {
    const n = end - start;
    const received = this.bodyReceived + n;
    if (!this.bodyTooLarge && received <= this.bodyExpected) {
      if (received === this.bodyExpected && this.body === undefined) {
        // The whole body in one frame (the common case): keep a view of the frame, no copy.
        this.bodyReceived = received;
        this.completePublish(payload.subarray(start, end));
        return;
      }
      if (this.body === undefined) this.body = Buffer.allocUnsafe(this.bodyExpected);
      payload.copy(this.body, this.bodyReceived, start, end);
    }
    this.bodyReceived = received;
    // More body than announced: like RabbitMQ, keep waiting; the next non-body frame is an error.
    if (received === this.bodyExpected) this.completePublish(this.body ?? EMPTY);
  }

  private completePublish(body: Buffer | readonly Buffer[]): void {
    const method = this.contentMethod!;
    const properties = this.publishProperties!;
    this.assembly = Assembly.Method;
    this.contentMethod = undefined;
    this.publishProperties = undefined;
    this.body = undefined;
    if (method.id !== Method.BasicPublish) {
      this.dispatch(method);
      return;
    }
    if (this.state !== 'open') {
      // Dropped while closing; before channel.open it is the usual "expected 'channel.open'".
      if (this.state === 'starting') this.dispatch(method);
      return;
    }
    if (this.bodyTooLarge) {
      this.bodyTooLarge = false;
      throw preconditionFailed(
        `message size ${this.bodyExpected} is larger than configured max size ${this.host.maxMessageSize}`,
      ).withMethod(ClassId.Basic, 40);
    }
    this.host.published();
    try {
      this.publish(method, properties, body);
    } catch (e) {
      // A bare 541 names no method, like RabbitMQ's reply to a crashed channel.
      if (e instanceof AmqpError && e.code !== ReplyCode.INTERNAL_ERROR) e.withMethod(ClassId.Basic, 40);
      throw e;
    }
  }

  // ------------------------------------------------------------------------------------------
  // Commands

  private dispatch(m: AnyMethod): void {
    const info = METHOD_INFO.get(m.id)!;
    if (this.state === 'closing' && m.id !== Method.ChannelOpen) {
      if (m.id === Method.ChannelCloseOk) {
        this.finishClose();
      } else if (m.id === Method.ChannelClose) {
        encodeChannelCloseOk(this.host.out, this.number);
        this.host.out.frameDone();
      }
      return;
    }
    try {
      if (m.id === Method.ChannelOpen) {
        if (this.state !== 'starting') throw channelError("second 'channel.open' seen");
        this.state = 'open';
        encodeChannelOpenOk(this.host.out, this.number, {});
        this.host.out.frameDone();
        return;
      }
      if (this.state === 'starting') throw channelError("expected 'channel.open'");
      if (!info.serverReceives) throw commandInvalid('unimplemented method');
      this.handleMethod(m);
    } catch (e) {
      if (e instanceof AmqpError) e.withMethod(info.classId, info.methodId);
      throw e;
    }
  }

  private handleMethod(m: AnyMethod): void {
    const out = this.host.out;
    const ch = this.number;
    const vhost = this.host.vhost;
    const conn = this.host.id;
    if (this.committing !== undefined) throw channelError("unexpected command while processing 'tx.commit'");
    switch (m.id) {
      case Method.BasicAck:
        this.ack(m.deliveryTag, m.multiple);
        return;
      case Method.BasicPublish:
        // Reached only with the content assembled (see completePublish); never a bare method.
        return;
      case Method.ChannelClose:
        this.clientClose();
        return;
      case Method.ChannelCloseOk:
        // A close-ok we did not ask for: RabbitMQ ignores it on an open channel.
        return;
      case Method.ChannelFlow:
        if (!m.active) throw notImplemented('active=false');
        encodeChannelFlowOk(out, ch, { active: true });
        break;
      case Method.AccessRequest:
        encodeAccessRequestOk(out, ch, { ticket: 1 });
        break;
      case Method.ExchangeDeclare:
        vhost.declareExchange({
          name: m.exchange,
          type: m.type,
          passive: m.passive,
          durable: m.durable,
          autoDelete: m.autoDelete,
          internal: m.internal,
          arguments: m.arguments,
        });
        if (!m.nowait) encodeExchangeDeclareOk(out, ch);
        break;
      case Method.ExchangeDelete:
        vhost.deleteExchange(m.exchange, m.ifUnused);
        if (!m.nowait) encodeExchangeDeleteOk(out, ch);
        break;
      case Method.ExchangeBind:
        vhost.bind(m.source, 'exchange', m.destination, m.routingKey, m.arguments, conn);
        if (!m.nowait) encodeExchangeBindOk(out, ch);
        break;
      case Method.ExchangeUnbind:
        vhost.unbind(m.source, 'exchange', m.destination, m.routingKey, m.arguments, conn);
        if (!m.nowait) encodeExchangeUnbindOk(out, ch);
        break;
      case Method.QueueDeclare: {
        if (m.queue.startsWith(REPLY_QUEUE)) {
          this.declareReplyQueue(m.queue, m.nowait);
          break;
        }
        const q = vhost.declareQueue({
          name: m.queue,
          passive: m.passive,
          durable: m.durable,
          exclusive: m.exclusive,
          autoDelete: m.autoDelete,
          arguments: m.arguments,
          connectionId: conn,
        });
        this.lastDeclaredQueue = q.name;
        if (!m.nowait) {
          encodeQueueDeclareOk(out, ch, { queue: q.name, messageCount: q.messageCount, consumerCount: q.consumerCount });
        }
        break;
      }
      case Method.QueueBind: {
        const queue = this.queueNameOrLast(m.queue);
        const key = m.queue === '' && m.routingKey === '' ? queue : m.routingKey;
        vhost.bind(m.exchange, 'queue', queue, key, m.arguments, conn);
        if (!m.nowait) encodeQueueBindOk(out, ch);
        break;
      }
      case Method.QueueUnbind: {
        const queue = this.queueNameOrLast(m.queue);
        const key = m.queue === '' && m.routingKey === '' ? queue : m.routingKey;
        vhost.unbind(m.exchange, 'queue', queue, key, m.arguments, conn);
        encodeQueueUnbindOk(out, ch);
        break;
      }
      case Method.QueuePurge: {
        const n = vhost.purgeQueue(this.queueNameOrLast(m.queue), conn);
        if (!m.nowait) encodeQueuePurgeOk(out, ch, { messageCount: n });
        break;
      }
      case Method.QueueDelete: {
        const n = vhost.deleteQueueCommand(this.queueNameOrLast(m.queue), m.ifUnused, m.ifEmpty, conn);
        if (!m.nowait) encodeQueueDeleteOk(out, ch, { messageCount: n });
        break;
      }
      case Method.BasicQos:
        this.qos(m.prefetchSize, m.prefetchCount, m.global);
        encodeBasicQosOk(out, ch);
        break;
      case Method.BasicConsume:
        if (m.queue === REPLY_QUEUE) this.consumeReplies(m);
        else this.consume(m);
        return;
      case Method.BasicCancel:
        if (this.replyConsumer?.tag === m.consumerTag) this.cancelReplies();
        else this.cancel(m.consumerTag);
        if (!m.nowait) encodeBasicCancelOk(out, ch, { consumerTag: m.consumerTag });
        break;
      case Method.BasicGet:
        this.get(this.queueNameOrLast(m.queue), m.noAck);
        return;
      case Method.BasicReject:
        this.reject(m.deliveryTag, false, m.requeue);
        return;
      case Method.BasicNack:
        this.reject(m.deliveryTag, m.multiple, m.requeue);
        return;
      case Method.BasicRecover:
      case Method.BasicRecoverAsync:
        if (!m.requeue) throw notImplemented('requeue=false');
        this.requeueAll();
        if (m.id === Method.BasicRecover) encodeBasicRecoverOk(out, ch);
        break;
      case Method.ConfirmSelect:
        if (this.tx !== undefined) throw preconditionFailed('cannot switch from tx to confirm mode');
        this.confirmMode = true;
        if (!m.nowait) encodeConfirmSelectOk(out, ch);
        break;
      case Method.TxSelect:
        if (this.confirmMode) throw preconditionFailed('cannot switch from confirm to tx mode');
        this.tx ??= { publishes: [], settlements: [] };
        encodeTxSelectOk(out, ch);
        break;
      case Method.TxCommit:
        if (this.tx === undefined) throw preconditionFailed('channel is not transactional');
        this.commit();
        return;
      case Method.TxRollback:
        if (this.tx === undefined) throw preconditionFailed('channel is not transactional');
        this.rollback();
        encodeTxRollbackOk(out, ch);
        break;
      default:
        throw commandInvalid('unimplemented method');
    }
    out.frameDone();
  }

  private queueNameOrLast(name: string): string {
    if (name !== '') return name;
    if (this.lastDeclaredQueue === '') throw notFound('no previously declared queue');
    return this.lastDeclaredQueue;
  }

  // ------------------------------------------------------------------------------------------
  // Publishing, returns, confirms and transactions

  private publish(method: BasicPublish, properties: Buffer, body: Buffer | readonly Buffer[]): void {
    if (method.immediate) throw notImplemented('immediate=true').withMethod(ClassId.Basic, 40);
    const vhost = this.host.vhost;
    const exchange = vhost.exchangeForPublish(method.exchange);
    const msg = new Message(method.exchange, method.routingKey, properties, body);
    try {
      scanProperties(msg, properties);
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      // RabbitMQ's channel crashes decoding malformed properties; its reader reports a bare 541.
      this.log.error(`malformed content properties in basic.publish: ${e.message}`);
      throw internalError('');
    }
    if (asksForDirectReply(msg)) {
      if (this.replyConsumer === undefined) throw preconditionFailed('fast reply consumer does not exist');
      msg.setProperties({ ...msg.decodedProperties, replyTo: REPLY_PREFIX + this.replyConsumer.suffix });
    }
    if (msg.userIdStart >= 0) {
      const claimed = msg.userId!;
      if (claimed !== this.host.userName) {
        throw preconditionFailed(`user_id property set to '${claimed}' but authenticated user was '${this.host.userName}'`);
      }
    }
    if (msg.expirationStart >= 0) {
      const expiration = msg.expiration!;
      const reason = expirationError(expiration);
      if (reason !== undefined) throw preconditionFailed(`invalid expiration '${expiration}': ${reason}`);
    }
    // RabbitMQ builds the message (refusing a delivery mode other than 1 or 2) before routing it.
    const dm = msg.deliveryMode;
    if (dm !== -1 && dm !== 1 && dm !== 2) throw preconditionFailed(`invalid message: {delivery_mode_unknown,${dm}}`);
    let extraKeys: string[] | undefined;
    if (msg.hasRoutingHeaders) {
      try {
        extraKeys = takeRoutingHeaders(msg);
        if (extraKeys.length > 0) msg.extraKeys = extraKeys;
      } catch (e) {
        if (e instanceof InvalidMessage) throw preconditionFailed(`invalid message: ${e.message}`);
        throw e;
      }
    }
    const seq = this.confirmMode ? this.publishSeq++ : 0;
    const routed = vhost.route(exchange, method.routingKey, msg, extraKeys);
    if (this.tx !== undefined) {
      this.tx.publishes.push({ msg, queues: routed.slice(), mandatory: method.mandatory });
      return;
    }
    const n = routed.length;
    msg.publishedAt = Date.now();
    if (seq === 0) {
      for (let i = 0; i < n; i++) {
        const t = routed[i]!;
        t.publish(msg);
        if (t.overPace) this.host.pacedBy(t);
      }
      if (n === 0 && method.mandatory) this.writeReturn(msg);
      return;
    }
    // Confirm mode: the ack (or nack) waits for every queue the message reached to have taken it.
    const p: PendingConfirm = { seq, pending: 1, refused: false };
    this.unconfirmed.set(seq, p);
    const stored = (err: Error | undefined) => this.settleConfirm(p, err !== undefined);
    for (let i = 0; i < n; i++) {
      const t = routed[i]!;
      const outcome = t.publish(msg, stored);
      if (t.overPace) this.host.pacedBy(t);
      if (outcome === 'refused') p.refused = true;
      else if (outcome === 'pending') p.pending++;
    }
    // Returns go out before the confirm for the same message (RabbitMQ orders them so).
    if (n === 0 && method.mandatory) this.writeReturn(msg);
    this.settleConfirm(p, false);
  }

  /** One queue (or the publish itself) is done with a message; the last one decides ack or nack. */
  private settleConfirm(p: PendingConfirm, failed: boolean): void {
    if (failed) p.refused = true;
    if (--p.pending > 0) return;
    if (p === this.committing) {
      this.completeCommit(p);
      return;
    }
    this.unconfirmed.delete(p.seq);
    if (p.refused) this.nack(p.seq);
    else this.confirm(p.seq);
  }

  /** basic.return 312 NO_ROUTE with the content, for an unroutable mandatory publish. */
  private writeReturn(msg: Message): void {
    const out = this.host.out;
    encodeBasicReturn(out, this.number, { replyCode: 312, replyText: 'NO_ROUTE', exchange: msg.exchange, routingKey: msg.routingKey });
    this.writeContent(out, msg);
    out.frameDone();
  }

  /** Records a publish as confirmed; the acks go out, coalesced, when the current batch of input is done. */
  private confirm(seq: number): void {
    this.confirmed.push(seq);
    this.host.confirmsPending(this);
  }

  /** Records a publish a queue refused; the nack goes out with the next batch of confirms. */
  private nack(seq: number): void {
    this.nacked.push(seq);
    this.host.confirmsPending(this);
  }

  /** Sends the confirms and nacks gathered since the last call (RabbitMQ's send_confirms_and_nacks). */
  flushConfirms(): void {
    const confirmed = this.confirmed;
    const nacked = this.nacked;
    if ((confirmed.length === 0 && nacked.length === 0) || this.state !== 'open') {
      confirmed.length = 0;
      nacked.length = 0;
      return;
    }
    const out = this.host.out;
    if (confirmed.length === 1) {
      encodeBasicAck(out, this.number, { deliveryTag: confirmed[0]!, multiple: false });
    } else if (confirmed.length > 1) {
      this.coalesce(confirmed, nacked, (tag, multiple) => encodeBasicAck(out, this.number, { deliveryTag: tag, multiple }));
    }
    if (nacked.length > 0) {
      this.coalesce(nacked, confirmed, (tag, multiple) => encodeBasicNack(out, this.number, { deliveryTag: tag, multiple, requeue: false }));
    }
    confirmed.length = 0;
    nacked.length = 0;
    out.frameDone();
  }

  /**
   * RabbitMQ's coalesce_and_send: the numbers below both the oldest publish still awaiting its
   * outcome and the lowest number of the opposite kind go out as one frame with multiple=true (for
   * the highest of them); the rest one by one.
   */
  private coalesce(tags: number[], opposite: readonly number[], send: (tag: number, multiple: boolean) => void): void {
    tags.sort((a, b) => a - b);
    let cutoff = this.oldestUnconfirmed() ?? tags[tags.length - 1]! + 1;
    for (const t of opposite) if (t < cutoff) cutoff = t;
    let i = 0;
    while (i < tags.length && tags[i]! < cutoff) i++;
    if (i > 0) send(tags[i - 1]!, true);
    for (; i < tags.length; i++) send(tags[i]!, false);
  }

  /** The lowest publish number still waiting for its queues. */
  private oldestUnconfirmed(): number | undefined {
    for (const seq of this.unconfirmed.keys()) return seq;
    return undefined;
  }

  /**
   * tx.commit: the held publishes are enqueued and the held settlements applied; commit-ok follows
   * once every persistent message of the transaction is stored. If a queue refused a publish (or a
   * write failed), RabbitMQ fails the commit with 406 "partial tx completion" (the rest stays done).
   */
  private commit(): void {
    const tx = this.tx!;
    const publishes = tx.publishes;
    const settlements = tx.settlements;
    this.tx = { publishes: [], settlements: [] };
    const p: PendingConfirm = { seq: 0, pending: 1, refused: false };
    this.committing = p;
    const stored = (err: Error | undefined) => this.settleConfirm(p, err !== undefined);
    const now = Date.now();
    for (const pub of publishes) {
      pub.msg.publishedAt = now;
      let n = 0;
      for (const q of pub.queues) {
        if (q.deleted) continue;
        const outcome = q.publish(pub.msg, stored);
        if (outcome === 'refused') p.refused = true;
        else if (outcome === 'pending') p.pending++;
        n++;
      }
      if (n === 0 && pub.mandatory) this.writeReturn(pub.msg);
    }
    for (const s of settlements) {
      if (s.kind === 'requeue') this.requeueEntries(s.items);
      else if (s.kind === 'reject') for (const u of s.items) u.queue.reject(u.entry);
      else for (const u of s.items) u.queue.ack(u.entry);
      this.released(s.items);
    }
    this.settleConfirm(p, false);
  }

  private completeCommit(p: PendingConfirm): void {
    this.committing = undefined;
    if (this.state !== 'open') return;
    if (p.refused) {
      this.fail(preconditionFailed('partial tx completion').withMethod(90, 20));
      return;
    }
    encodeTxCommitOk(this.host.out, this.number);
    this.host.out.frameDone();
  }

  /** tx.rollback: publishes are dropped; acknowledgements undone (the deliveries are unacked again). */
  private rollback(): void {
    const tx = this.tx!;
    const back = tx.settlements.flatMap((s) => s.items);
    this.tx = { publishes: [], settlements: [] };
    if (back.length === 0) return;
    const merged = [...this.unacked, ...back].sort((a, b) => a.tag - b.tag);
    this.unacked.clear();
    for (const u of merged) this.unacked.push(u);
  }

  // ------------------------------------------------------------------------------------------
  // Consumers and deliveries

  private consume(m: BasicConsume): void {
    const queueName = this.queueNameOrLast(m.queue);
    if (m.consumerTag !== '' && this.consumers.has(m.consumerTag)) {
      throw notAllowed(`attempt to reuse consumer tag '${m.consumerTag}'`);
    }
    const queue = this.host.vhost.getQueue(queueName, this.host.id);
    checkConsumeArguments(queue.name, queue.vhost, m.arguments);
    if (queue.type === 'quorum' && this.globalPrefetch > 0) {
      throw notImplemented(`${resourceName('queue', queue.name, queue.vhost)} does not support global qos`);
    }
    if (queue.consumeRefusal(m.exclusive) !== undefined) {
      throw accessRefused(`queue '${queue.name}' in vhost '${queue.vhost}' in exclusive use`);
    }
    const tag = m.consumerTag !== '' ? m.consumerTag : generateConsumerTag();
    const consumer = new ChannelConsumer(this, queue, tag, m.noAck, m.exclusive, consumerPriority(m.arguments), this.consumerPrefetch);
    this.consumers.set(tag, consumer);
    // consume-ok goes out before any delivery to the new consumer.
    if (!m.nowait) encodeBasicConsumeOk(this.host.out, this.number, { consumerTag: tag });
    queue.addConsumer(consumer);
    this.host.out.frameDone();
  }

  /**
   * basic.consume on amq.rabbitmq.reply-to (rabbit_channel's clause for it): no-ack only, one per
   * channel, and not a queue consumer (it is not in the channel's consumer table).
   */
  private consumeReplies(m: BasicConsume): void {
    if (m.consumerTag !== '' && this.consumers.has(m.consumerTag)) throw notAllowed(`attempt to reuse consumer tag '${m.consumerTag}'`);
    if (!m.noAck) throw preconditionFailed('reply consumer cannot acknowledge');
    if (this.replyConsumer !== undefined) throw preconditionFailed('reply consumer already set');
    const tag = m.consumerTag !== '' ? m.consumerTag : generateConsumerTag();
    const suffix = this.host.vhost.replies.register(this, this.host.id, this.number);
    this.replyConsumer = { tag, suffix };
    if (!m.nowait) encodeBasicConsumeOk(this.host.out, this.number, { consumerTag: tag });
    this.host.out.frameDone();
  }

  private cancelReplies(): void {
    if (this.replyConsumer === undefined) return;
    this.host.vhost.replies.unregister(this.replyConsumer.suffix);
    this.replyConsumer = undefined;
  }

  /**
   * queue.declare of amq.rabbitmq.reply-to or a reply address: always passive. The pseudo-queue and
   * live reply addresses exist (0 messages, 1 consumer); anything else under that name does not.
   */
  private declareReplyQueue(rawName: string, nowait: boolean): void {
    const name = rawName.replace(/[\r\n]/g, '');
    const exists = name === REPLY_QUEUE || (name.startsWith(REPLY_PREFIX) && this.host.vhost.replies.exists(name.slice(REPLY_PREFIX.length)));
    if (!exists) throw notFound(`no ${resourceName('queue', name, this.host.vhost.name)}`);
    this.lastDeclaredQueue = name;
    if (!nowait) encodeQueueDeclareOk(this.host.out, this.number, { queue: name, messageCount: 0, consumerCount: 1 });
  }

  /**
   * A reply for our reply consumer. Like RabbitMQ, it carries the channel's next delivery tag without
   * using it up (nothing acknowledges a no-ack delivery), and is dropped once the channel is closing.
   */
  deliverReply(msg: Message, suffix: string): void {
    const rc = this.replyConsumer;
    if (rc === undefined || rc.suffix !== suffix || this.state !== 'open') return;
    const out = this.host.out;
    encodeBasicDeliver(out, this.number, {
      consumerTag: rc.tag,
      deliveryTag: this.nextDeliveryTag,
      redelivered: false,
      exchange: msg.exchange,
      routingKey: msg.routingKey,
    });
    this.writeContent(out, msg);
    out.frameDone();
  }

  private cancel(tag: string): void {
    const c = this.consumers.get(tag);
    if (c === undefined) return; // the spec says to ignore an unknown tag
    this.consumers.delete(tag);
    c.queue.removeConsumer(c);
  }

  /** Writes basic.deliver and the content for one entry. Called by the queue through the consumer. */
  deliver(c: ChannelConsumer, queue: Queue, entry: QueueEntry): void {
    const tag = this.nextDeliveryTag++;
    if (!c.noAck) {
      this.unacked.push({ tag, queue, entry, consumer: c, deliveredAt: this.deliveryTime() });
      c.unacked++;
      this.globalUnacked++;
    }
    const msg = queue.type === 'quorum' && entry.deliveries > 0 ? withDeliveryCount(entry.msg!, entry.deliveries) : entry.msg!;
    const out = this.host.out;
    const size = msg.bodySize;
    const pieces = msg.bodyPieces;
    const maxPayload = this.host.frameMax - FRAME_OVERHEAD;
    const route = this.routeBytes.get(msg.exchange, msg.routingKey);
    // Small bodies are copied in with the frames; large ones are written by reference.
    const inline = pieces === undefined && size < BODY_BY_REFERENCE && size <= maxPayload ? msg.body : undefined;
    writeDeliveryFrames(out, this.number, c.tagBytes, tag, entry.deliveries > 0, route, msg.properties, size, inline);
    if (inline === undefined && size > 0) {
      if (pieces !== undefined && size <= maxPayload) writeBodyPieces(out, this.number, pieces, size);
      else writeBodyFrames(out, this.number, msg.body, maxPayload);
    }
    out.frameDone();
  }

  private get(queueName: string, noAck: boolean): void {
    const queue = this.host.vhost.getQueue(queueName, this.host.id);
    if (queue.type === 'quorum' && queue.singleActiveConsumer) {
      throw resourceLocked(
        `cannot obtain access to locked ${resourceName('queue', queue.name, queue.vhost)}. basic.get operations are not supported by quorum queues with single active consumer`,
      );
    }
    const out = this.host.out;
    const entry = queue.get(noAck);
    if (entry === undefined) {
      encodeBasicGetEmpty(out, this.number, {});
      out.frameDone();
      return;
    }
    const tag = this.nextDeliveryTag++;
    if (!noAck) this.unacked.push({ tag, queue, entry, consumer: undefined, deliveredAt: this.deliveryTime() });
    // Quorum queues put x-delivery-count on every basic.get, 0 included (rabbit_fifo_client:dequeue).
    const msg = queue.type === 'quorum' ? withDeliveryCount(entry.msg!, entry.deliveries) : entry.msg!;
    encodeBasicGetOk(out, this.number, {
      deliveryTag: tag,
      redelivered: entry.deliveries > 0,
      exchange: msg.exchange,
      routingKey: msg.routingKey,
      messageCount: queue.messageCount,
    });
    queue.markDelivered(entry);
    this.writeContent(out, msg);
    out.frameDone();
  }

  /** Content header and body frames for a message, bodies split to fit the negotiated frame_max. */
  private writeContent(out: Outbound, msg: Message): void {
    const ch = this.number;
    const props = msg.properties;
    const body = msg.body;
    const size = body.length;
    const start = out.frameStart(FRAME_HEADER, ch);
    out.short(ClassId.Basic);
    out.short(0);
    out.longlong(size);
    out.raw(props);
    out.frameEnd(start);
    writeBodyFrames(out, ch, body, this.host.frameMax - FRAME_OVERHEAD);
  }

  // ------------------------------------------------------------------------------------------
  // Delivery acknowledgement timeout (consumer_timeout)

  /** The delivery time for a new unacknowledged delivery (0 when the timeout is off: no clock read). */
  private deliveryTime(): number {
    const timeout = this.host.consumerTimeoutMs;
    if (timeout === 0) return 0;
    const now = Date.now();
    if (this.ackTimer === undefined) this.armAckTimer(now + timeout);
    return now;
  }

  private armAckTimer(at: number): void {
    this.ackTimer = setTimeout(() => this.checkAckTimeout(), Math.max(0, at - Date.now()) + 1);
    this.ackTimer.unref?.();
  }

  /**
   * RabbitMQ's evaluate_consumer_timeout: if the oldest unacknowledged delivery (basic.get ones too)
   * is older than the timeout, the channel is closed with 406 and no method, and everything it had
   * unacknowledged goes back to its queues. Otherwise the check is due again when that delivery is.
   */
  private checkAckTimeout(): void {
    this.ackTimer = undefined;
    const oldest = this.unacked.peek();
    if (oldest === undefined || this.state !== 'open') return;
    const timeout = this.host.consumerTimeoutMs;
    if (oldest.deliveredAt + timeout >= Date.now()) {
      this.armAckTimer(oldest.deliveredAt + timeout);
      return;
    }
    const tag = oldest.consumer?.tag ?? 'basic.get';
    this.log.warn({ consumerTag: tag, timeoutMs: timeout }, 'consumer timed out waiting for a delivery acknowledgement');
    this.fail(
      preconditionFailed(
        `delivery acknowledgement on channel ${this.number} timed out. Timeout value used: ${timeout} ms. This timeout value can be configured, see consumers doc guide to learn more`,
      ),
    );
  }

  // ------------------------------------------------------------------------------------------
  // Acknowledgements

  private ack(deliveryTag: number, multiple: boolean): void {
    const settled = this.collect(deliveryTag, multiple);
    if (this.tx !== undefined) {
      this.tx.settlements.push({ kind: 'ack', items: settled });
      return;
    }
    for (const u of settled) u.queue.ack(u.entry);
    this.released(settled);
  }

  private reject(deliveryTag: number, multiple: boolean, requeue: boolean): void {
    const settled = this.collect(deliveryTag, multiple);
    if (this.tx !== undefined) {
      this.tx.settlements.push({ kind: requeue ? 'requeue' : 'reject', items: settled });
      return;
    }
    if (requeue) {
      this.requeueEntries(settled);
    } else {
      // Rejected for good: dead-lettered with reason rejected where the queue has a DLX.
      for (const u of settled) u.queue.reject(u.entry);
    }
    this.released(settled);
  }

  /** basic.recover with requeue: every unacknowledged delivery goes back to its queue. */
  private requeueAll(): void {
    const all = this.unacked.toArray();
    this.unacked.clear();
    this.requeueEntries(all);
    this.released(all);
  }

  private requeueEntries(settled: readonly Unacked[], how: 'returned' | 'released' = 'returned'): void {
    // Group by queue so each queue re-delivers once, after all its entries are back in place.
    const byQueue = new Map<Queue, QueueEntry[]>();
    for (const u of settled) {
      let list = byQueue.get(u.queue);
      if (list === undefined) byQueue.set(u.queue, (list = []));
      list.push(u.entry);
    }
    for (const [q, entries] of byQueue) q.requeue(entries, how);
  }

  /**
   * The unacked deliveries an ack/nack/reject refers to, removed from the unacked list. As in
   * RabbitMQ's collect_acks: tag 0 with multiple means all; an unknown tag is a 406 and settles nothing.
   */
  private collect(deliveryTag: number, multiple: boolean): Unacked[] {
    const un = this.unacked;
    if (multiple && deliveryTag === 0) {
      const all = un.toArray();
      un.clear();
      return all;
    }
    const first = un.peek();
    if (first !== undefined && first.tag === deliveryTag) {
      un.shift();
      return [first];
    }
    const i = this.indexOfTag(deliveryTag);
    if (i < 0) throw preconditionFailed(`unknown delivery tag ${deliveryTag}`);
    if (!multiple) return [un.removeAt(i)!];
    const out: Unacked[] = [];
    for (let k = 0; k <= i; k++) out.push(un.shift()!);
    return out;
  }

  /** Binary search: tags in the unacked list are strictly increasing. */
  private indexOfTag(tag: number): number {
    const un = this.unacked;
    let lo = 0;
    let hi = un.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const t = un.at(mid)!.tag;
      if (t === tag) return mid;
      if (t < tag) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  /** Prefetch windows reopened by settled deliveries: wake the consumers that can take more. */
  private released(settled: readonly Unacked[]): void {
    let globalFreed = false;
    const woken = new Set<ChannelConsumer>();
    let lastQueue: Queue | undefined;
    for (const u of settled) {
      const c = u.consumer;
      if (c === undefined) continue;
      if (u.queue !== lastQueue) {
        lastQueue = u.queue;
        lastQueue.consumersSettled();
      }
      c.unacked--;
      this.globalUnacked--;
      globalFreed = true;
      if (!c.active && !c.cancelled) woken.add(c);
    }
    if (globalFreed && this.globalPrefetch > 0) {
      for (const c of this.consumers.values()) if (!c.active) woken.add(c);
    }
    for (const c of woken) if (c.hasCredit()) c.queue.consumerHasCredit(c);
  }

  private qos(prefetchSize: number, prefetchCount: number, global: boolean): void {
    if (prefetchSize !== 0) throw notImplemented(`prefetch_size!=0 (${prefetchSize})`);
    if (global) {
      this.globalPrefetch = prefetchCount;
    } else {
      // RabbitMQ 3.x: a per-consumer qos also lifts the channel-wide limit.
      this.consumerPrefetch = prefetchCount;
      this.globalPrefetch = 0;
    }
    this.wakeConsumers();
  }

  /** Offers every idle consumer to its queue again (limits raised, socket drained). */
  wakeConsumers(): void {
    for (const c of this.consumers.values()) if (!c.active && c.hasCredit()) c.queue.consumerHasCredit(c);
  }

  /** Whether the channel-wide prefetch window has room. */
  globalWindowOpen(): boolean {
    return this.globalPrefetch === 0 || this.globalUnacked < this.globalPrefetch;
  }

  // ------------------------------------------------------------------------------------------
  // Closing

  /** The client sent channel.close: release everything, answer close-ok, and go away. */
  private clientClose(): void {
    this.release();
    encodeChannelCloseOk(this.host.out, this.number);
    this.host.out.frameDone();
    this.host.channelClosed(this);
  }

  /** A soft error: send channel.close and wait for close-ok, dropping other commands meanwhile. */
  private closeWithError(e: ChannelError): void {
    this.log.error({ code: e.code, classId: e.classId, methodId: e.methodId }, `channel error: ${e.replyText}`);
    this.release();
    this.state = 'closing';
    encodeChannelClose(this.host.out, this.number, {
      replyCode: e.code,
      replyText: e.replyTextBytes,
      classId: e.classId,
      methodId: e.methodId,
    });
    this.host.out.frameDone();
  }

  private finishClose(): void {
    this.host.channelClosed(this);
  }

  /** Error from a command: soft ones close the channel, hard ones (or any on a broken path) the connection. */
  private fail(e: unknown): void {
    if (e instanceof ChannelError) {
      this.closeWithError(e);
      return;
    }
    if (e instanceof ConnectionError || e instanceof SocketDrop) {
      this.host.connectionError(e);
      return;
    }
    throw e;
  }

  /**
   * Gives back everything the channel holds: consumers are cancelled and unacknowledged deliveries
   * requeued in their original order. Called on close and when the connection goes away.
   */
  release(): void {
    this.cancelReplies();
    if (this.ackTimer !== undefined) clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
    if (this.tx !== undefined) {
      // Uncommitted acks and rejects never happened: those deliveries are requeued below.
      this.rollback();
      this.tx = undefined;
    }
    for (const c of this.consumers.values()) {
      c.cancelled = true;
      c.queue.removeConsumer(c);
    }
    this.consumers.clear();
    if (this.unacked.length > 0) {
      const all = this.unacked.toArray();
      this.unacked.clear();
      for (const u of all) if (u.consumer !== undefined) u.consumer.unacked--;
      this.globalUnacked = 0;
      this.requeueEntries(all, 'released');
    }
  }

  /** The queue of one of our consumers was deleted: forget the consumer, tell the client if it cares. */
  consumerCancelledByQueue(c: ChannelConsumer): void {
    if (this.consumers.get(c.tag) !== c) return;
    this.consumers.delete(c.tag);
    c.cancelled = true;
    if (this.state === 'open' && this.host.hasCapability('consumer_cancel_notify')) {
      encodeBasicCancel(this.host.out, this.number, { consumerTag: c.tag, nowait: true });
      this.host.out.frameDone();
    }
  }
}

const EMPTY = Buffer.alloc(0);

export class ChannelConsumer implements Consumer {
  active = false;
  cancelled = false;
  unacked = 0;

  constructor(
    readonly channel: Channel,
    readonly queue: Queue,
    readonly tag: string,
    readonly noAck: boolean,
    readonly exclusive: boolean,
    readonly priority: number,
    /** Per-consumer prefetch captured at basic.consume (0 = unlimited). */
    readonly prefetch: number,
  ) {
    this.tagBytes = encodeShortstr(tag);
  }

  /** The tag as a shortstr, encoded once for every basic.deliver. */
  readonly tagBytes: Buffer;

  hasCredit(): boolean {
    const ch = this.channel;
    if (!ch.host.writable || ch.state !== 'open') return false;
    if (this.noAck) return true;
    return (this.prefetch === 0 || this.unacked < this.prefetch) && ch.globalWindowOpen();
  }

  deliver(queue: Queue, entry: QueueEntry): void {
    this.channel.deliver(this, queue, entry);
  }

  cancelledByQueue(): void {
    this.channel.consumerCancelledByQueue(this);
  }
}

/** One body frame whose payload is written by reference: a large body, or the pieces a split one arrived in. */
function writeBodyPieces(out: Outbound, ch: number, pieces: readonly Buffer[], size: number): void {
  out.ensure(7);
  const p = out.pos;
  const buf = out.buf;
  buf[p] = FRAME_BODY;
  buf[p + 1] = ch >>> 8;
  buf[p + 2] = ch;
  buf.writeUInt32BE(size, p + 3);
  out.pos = p + 7;
  for (const piece of pieces) out.writeByReference(piece);
  out.octet(0xce);
}

/** A body as frames of at most `maxPayload` bytes (none for an empty body). */
function writeBodyFrames(out: Outbound, ch: number, body: Buffer, maxPayload: number): void {
  for (let off = 0; off < body.length; off += maxPayload) writeBodyFrame(out, ch, body, off, Math.min(maxPayload, body.length - off));
}

function writeBodyFrame(out: Outbound, ch: number, body: Buffer, off: number, n: number): void {
  if (n >= BODY_BY_REFERENCE) {
    // Large bodies are not copied: header bytes into the slab, the body by reference, then frame-end.
    writeBodyPieces(out, ch, [off === 0 && n === body.length ? body : body.subarray(off, off + n)], n);
    return;
  }
  const start = out.frameStart(FRAME_BODY, ch);
  out.raw(body, off, off + n);
  out.frameEnd(start);
}

/**
 * A quorum queue's redelivery carries x-delivery-count, the number of earlier deliveries (RabbitMQ's
 * rabbit_fifo_client adds it with set_table_value, so the headers come out sorted by key).
 */
function withDeliveryCount(msg: Message, count: number): Message {
  const props = msg.decodedProperties;
  const headers = new Map(props.headers ?? []);
  headers.set('x-delivery-count', { type: 'l', value: count });
  const sorted = new Map([...headers].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  const copy = new Message(msg.exchange, msg.routingKey, msg.properties, msg.bodyPieces ?? msg.body);
  copy.setProperties({ ...props, headers: sorted });
  return copy;
}

function consumerPriority(args: FieldTable): number {
  return integerValue(args.get('x-priority')) ?? 0;
}

/** Consumer tags look like RabbitMQ's: "amq.ctag-" and 22 URL-safe base64 characters. */
function generateConsumerTag(): string {
  return `amq.ctag-${randomBytes(16).toString('base64url').slice(0, 22)}`;
}

