/**
 * A channel: the commands of the channel-level classes, dispatched from a table keyed by the
 * generated codec's method keys, with its parts doing the work: content assembly (content.ts),
 * publishing and confirms (publisher.ts, confirms.ts), transactions (transaction.ts), consumers and
 * acknowledgements (deliveries.ts), direct reply-to (reply-consumer.ts).
 *
 * States (RabbitMQ's rabbit_channel): `starting` until channel.open; `open`; `closing` once the
 * server has sent channel.close and waits for close-ok (every command but channel.close and
 * channel.close-ok is dropped meanwhile, as the spec requires); `closed` once close-ok went out
 * (nothing more is written on it).
 */
import type { Logger } from 'pino';
import { authorize, type AccessMethod, type AccessSubject, type ExchangeFacts } from '../access/method-access.js';
import { ChannelAccess, checkVhostQueueLimit } from '../access/permissions.js';
import {
  AmqpError,
  ChannelError,
  ConnectionError,
  SocketDrop,
  accessRefused,
  channelError,
  commandInvalid,
  notFound,
  notImplemented,
  preconditionFailed,
  unexpectedFrame,
} from '../errors.js';
import { REPLY_PREFIX, REPLY_QUEUE } from '../direct-reply.js';
import type { FieldValue } from '../protocol/field-table.js';
import { FRAME_METHOD, ReplyCode } from '../protocol/generated/constants.js';
import {
  METHOD_INFO,
  Method,
  encodeAccessRequestOk,
  encodeBasicCancelOk,
  encodeBasicQosOk,
  encodeBasicRecoverOk,
  encodeChannelClose,
  encodeChannelCloseOk,
  encodeChannelFlowOk,
  encodeChannelOpenOk,
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
  type AnyMethod,
  type BasicPublish,
} from '../protocol/generated/methods.js';
import { stripCrLf } from '../vhost.js';
import { decodeMethodFrame } from '../wire/method-frames.js';
import { Confirms, PendingPublish } from './confirms.js';
import { ContentAssembler } from './content.js';
import { Deliveries, type Settlement } from './deliveries.js';
import type { ChannelContext, ChannelHost } from './host.js';
import { Publisher } from './publisher.js';
import { ReplyConsumer } from './reply-consumer.js';
import { Transaction } from './transaction.js';

export type ChannelState = 'starting' | 'open' | 'closing' | 'closed';

type MethodKey = AnyMethod['id'];
type MethodOf<K extends MethodKey> = Extract<AnyMethod, { id: K }>;
/** A command handler: the channel is open and the method is one a client may send. */
type Handler<K extends MethodKey> = (ch: Channel, m: MethodOf<K>) => void;

export class Channel implements ChannelContext {
  state: ChannelState = 'starting';
  readonly log: Logger;
  readonly content: ContentAssembler;
  readonly deliveries: Deliveries;
  readonly confirms: Confirms;
  readonly publisher: Publisher;
  readonly replies: ReplyConsumer;
  readonly access: ChannelAccess;
  /** tx.select was received: publishes and settlements are held until commit. */
  tx: Transaction | undefined;
  /** A tx.commit waiting for its persistent messages to be stored. */
  committing: PendingPublish | undefined;
  /** The name queue commands default to (RabbitMQ's most recently declared queue). */
  lastDeclaredQueue = '';

  constructor(
    readonly host: ChannelHost,
    readonly number: number,
    parentLog: Logger,
  ) {
    this.log = parentLog.child({ channel: number });
    this.access = new ChannelAccess(host.grant, host.user);
    this.content = new ContentAssembler(host.maxMessageSize);
    this.deliveries = new Deliveries(this);
    this.confirms = new Confirms(this);
    this.publisher = new Publisher(this, this.confirms);
    this.replies = new ReplyConsumer(this, this.deliveries);
  }

  get isOpen(): boolean {
    return this.state === 'open';
  }

  // ------------------------------------------------------------------------------------------
  // Frames in

  handleFrame(type: number, payload: Buffer, start: number, end: number): void {
    const content = this.content;
    try {
      if (content.expectingMethod) {
        if (type !== FRAME_METHOD) throw unexpectedFrame('expected method frame, got non method frame instead');
        this.handleMethodFrame(payload, start, end);
      } else if (content.expectingHeader ? content.header(type, payload, start, end) : content.bodyFrame(type, payload, start, end)) {
        this.contentComplete();
      }
    } catch (e) {
      this.fail(e);
    }
  }

  /** A large body frame that arrived as views of several socket chunks (see ContentAssembler.splitBody). */
  handleSplitBody(pieces: readonly Buffer[], size: number): void {
    try {
      if (this.content.splitBody(pieces, size)) this.contentComplete();
    } catch (e) {
      this.fail(e);
    }
  }

  private handleMethodFrame(payload: Buffer, start: number, end: number): void {
    const m = decodeMethodFrame(payload, start, end, false);
    if (METHOD_INFO.get(m.id)!.hasContent) {
      // The content is assembled before the command is looked at, as RabbitMQ's assembler does; a
      // content-bearing method the client may not send is refused once its content is complete.
      this.content.begin(m);
      return;
    }
    this.dispatch(m);
  }

  private contentComplete(): void {
    const content = this.content;
    const method = content.method!;
    const properties = content.properties;
    const body = content.body;
    content.reset();
    if (method.id !== Method.BasicPublish || this.state !== 'open') {
      // Dropped while closing; anything else gets the usual answer ("expected 'channel.open'"...).
      if (this.state !== 'closing' && this.state !== 'closed') this.dispatch(method);
      return;
    }
    content.checkSize();
    this.host.published();
    try {
      this.publisher.publish(method as BasicPublish, properties, body, this.replies.suffix, this.tx);
    } catch (e) {
      // A bare 541 names no method, like RabbitMQ's reply to a crashed channel.
      if (e instanceof AmqpError && e.code !== ReplyCode.INTERNAL_ERROR) e.withMethodOf(Method.BasicPublish);
      throw e;
    }
  }

  // ------------------------------------------------------------------------------------------
  // Commands

  private dispatch(m: AnyMethod): void {
    const info = METHOD_INFO.get(m.id)!;
    if ((this.state === 'closing' || this.state === 'closed') && m.id !== Method.ChannelOpen) {
      this.whileClosing(m);
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
      if (this.committing !== undefined) throw channelError("unexpected command while processing 'tx.commit'");
      const handler = HANDLERS[m.id] as Handler<MethodKey> | undefined;
      if (handler === undefined) throw commandInvalid('unimplemented method');
      handler(this, m);
    } catch (e) {
      // A bare 541 (RabbitMQ's channel crashed on the input) names no method.
      if (e instanceof AmqpError && !(e.code === ReplyCode.INTERNAL_ERROR && e.explanation === '')) e.withMethodOf(m.id);
      throw e;
    }
  }

  /** While closing only channel.close (answered) and channel.close-ok (which ends it) matter. */
  private whileClosing(m: AnyMethod): void {
    if (this.state !== 'closing') return;
    if (m.id === Method.ChannelCloseOk) {
      this.state = 'closed';
      this.host.channelClosed(this.number);
    } else if (m.id === Method.ChannelClose) {
      encodeChannelCloseOk(this.host.out, this.number);
      this.host.out.frameDone();
    }
  }

  /** Writes a reply and ends the frame batch; `nowait` replies are left out. */
  reply(write: () => void, nowait = false): void {
    if (!nowait) write();
    this.host.out.frameDone();
  }

  /** 4.3 refuses bindings to direct reply-to addresses (personality.ts, refusesReplyToBindings). */
  refuseReplyToBinding(queue: string): void {
    if (this.host.release.personality.refusesReplyToBindings && queue.startsWith(REPLY_PREFIX)) {
      throw accessRefused('cannot bind or unbind to a volatile (direct reply-to) queue');
    }
  }

  /** The access-control row of `method` (method-access.ts) for this channel's user. */
  authorize(method: AccessMethod, subject: AccessSubject): void {
    authorize(this.access, method, subject);
  }

  /** What the access steps need to know of an exchange (undefined when it does not exist). */
  exchangeFacts(name: string): ExchangeFacts | undefined {
    const x = this.host.vhost.exchanges.get(name);
    return x === undefined ? undefined : { type: x.type, internal: x.options.internal };
  }

  /** The four binding methods: rabbit_channel:binding_action/10's checks, on the stripped names. */
  authorizeBinding(method: AccessMethod, source: string, destKind: 'queue' | 'exchange', destination: string, routingKey: string): void {
    const sourceName = stripCrLf(source);
    this.authorize(method, {
      destination: { kind: destKind, name: stripCrLf(destination) },
      source: sourceName,
      routingKey,
      exchangeFacts: () => this.exchangeFacts(sourceName),
    });
  }

  queueNameOrLast(name: string): string {
    if (name !== '') return name;
    if (this.lastDeclaredQueue === '') throw notFound('no previously declared queue');
    return this.lastDeclaredQueue;
  }

  settle(how: Settlement, deliveryTag: number, multiple: boolean): void {
    const settled = this.deliveries.collect(deliveryTag, multiple);
    if (this.tx !== undefined) this.tx.holdSettlement(how, settled);
    else this.deliveries.settle(how, settled);
  }

  commit(): void {
    const { publishes, settlements } = this.tx!.takeAll();
    const p = new PendingPublish(0, (done) => this.completeCommit(done));
    this.committing = p;
    const vhost = this.host.vhost;
    for (const pub of publishes) {
      const n = vhost.enqueue(pub.targets, pub.msg, p, undefined);
      if (n === 0 && pub.mandatory) this.publisher.returnUnroutable(pub.msg);
    }
    for (const s of settlements) this.deliveries.settle(s.how, s.items);
    p.handedOut();
  }

  private completeCommit(p: PendingPublish): void {
    this.committing = undefined;
    if (this.state !== 'open') return;
    if (p.refused) {
      this.fail(preconditionFailed('partial tx completion').withMethodOf(Method.TxCommit));
      return;
    }
    encodeTxCommitOk(this.host.out, this.number);
    this.host.out.frameDone();
  }

  rollback(): void {
    this.deliveries.restore(this.tx!.rollback());
  }

  // ------------------------------------------------------------------------------------------
  // Closing

  /**
   * The client sent channel.close: release everything and answer close-ok, after every confirm the
   * channel owes (RabbitMQ sends the pending basic.acks first); nothing is written on it afterwards.
   */
  clientClose(): void {
    this.release();
    this.confirms.flushConfirms();
    this.state = 'closed';
    encodeChannelCloseOk(this.host.out, this.number);
    this.host.out.frameDone();
    this.host.channelClosedByClient(this.number);
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

  /** Error from a command: soft ones close the channel, hard ones (or any on a broken path) the connection. */
  fail(e: unknown): void {
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
   * Gives back everything the channel holds: uncommitted work is rolled back, consumers cancelled
   * and unacknowledged deliveries requeued in their original order. Called on close and when the
   * connection goes away.
   */
  release(): void {
    this.replies.cancel();
    if (this.tx !== undefined) {
      // Uncommitted acks and rejects never happened: those deliveries are requeued below.
      this.rollback();
      this.tx = undefined;
    }
    this.deliveries.release();
  }
}

/** The commands a client may send on an open channel, by method key. */
const HANDLERS: { [K in MethodKey]?: Handler<K> } = {
  // channel.close-ok has no handler: on an open channel RabbitMQ answers it, like any command it
  // does not expect, with 503 "unimplemented method".
  [Method.ChannelClose]: (ch) => ch.clientClose(),
  [Method.ChannelFlow]: (ch, m) => {
    if (!m.active) throw notImplemented('active=false');
    ch.reply(() => encodeChannelFlowOk(ch.host.out, ch.number, { active: true }));
  },
  [Method.AccessRequest]: (ch) => ch.reply(() => encodeAccessRequestOk(ch.host.out, ch.number, { ticket: 1 })),

  // Access control (method-access.ts): each command runs its row where rabbit_channel checks, on
  // the names as rabbit_channel has them then (CR and LF stripped, '' expanded to the last queue).
  [Method.ExchangeDeclare]: (ch, m) => {
    ch.host.vhost.declareExchange({
      name: m.exchange,
      type: m.type,
      passive: m.passive,
      durable: m.durable,
      autoDelete: m.autoDelete,
      internal: m.internal,
      arguments: m.arguments,
      authorize: (name) =>
        ch.authorize('exchange.declare', {
          exchange: name,
          alternateExchange: longstr(m.arguments.get('alternate-exchange')),
          exists: () => ch.host.vhost.exchanges.has(name),
        }),
    });
    ch.reply(() => encodeExchangeDeclareOk(ch.host.out, ch.number), m.nowait);
  },
  [Method.ExchangeDelete]: (ch, m) => {
    ch.authorize('exchange.delete', { exchange: stripCrLf(m.exchange) });
    ch.host.vhost.deleteExchange(m.exchange, m.ifUnused);
    ch.reply(() => encodeExchangeDeleteOk(ch.host.out, ch.number), m.nowait);
  },
  [Method.ExchangeBind]: (ch, m) => {
    ch.authorizeBinding('exchange.bind', m.source, 'exchange', m.destination, m.routingKey);
    ch.host.vhost.bind(m.source, 'exchange', m.destination, m.routingKey, m.arguments, ch.host.id);
    ch.reply(() => encodeExchangeBindOk(ch.host.out, ch.number), m.nowait);
  },
  [Method.ExchangeUnbind]: (ch, m) => {
    ch.authorizeBinding('exchange.unbind', m.source, 'exchange', m.destination, m.routingKey);
    ch.host.vhost.unbind(m.source, 'exchange', m.destination, m.routingKey, m.arguments, ch.host.id);
    ch.reply(() => encodeExchangeUnbindOk(ch.host.out, ch.number), m.nowait);
  },

  [Method.QueueDeclare]: (ch, m) => {
    if (m.queue.startsWith(REPLY_QUEUE)) {
      ch.lastDeclaredQueue = ch.replies.declare(m.queue, m.nowait);
      ch.host.out.frameDone();
      return;
    }
    ch.host.release.upgrade?.queueDeclare(m);
    const vhost = ch.host.vhost;
    const q = vhost.declareQueue({
      name: m.queue,
      passive: m.passive,
      durable: m.durable,
      exclusive: m.exclusive,
      autoDelete: m.autoDelete,
      arguments: m.arguments,
      connectionId: ch.host.id,
      authorize: (name, serverNamed) =>
        ch.authorize('queue.declare', {
          queue: name,
          serverNamed,
          deadLetterExchange: longstr(m.arguments.get('x-dead-letter-exchange')),
          exists: () => vhost.queues.has(name),
          hooks: { 'vhost-queue-limit': () => checkVhostQueueLimit(ch.host.accessDatabase, vhost.name, name, vhost.queues.size) },
        }),
    });
    ch.lastDeclaredQueue = q.name;
    ch.reply(() => encodeQueueDeclareOk(ch.host.out, ch.number, { queue: q.name, messageCount: q.messageCount, consumerCount: q.consumerCount }), m.nowait);
  },
  [Method.QueueBind]: (ch, m) => {
    const queue = ch.queueNameOrLast(m.queue);
    ch.refuseReplyToBinding(queue);
    const key = m.queue === '' && m.routingKey === '' ? queue : m.routingKey;
    ch.authorizeBinding('queue.bind', m.exchange, 'queue', queue, key);
    ch.host.vhost.bind(m.exchange, 'queue', queue, key, m.arguments, ch.host.id);
    ch.reply(() => encodeQueueBindOk(ch.host.out, ch.number), m.nowait);
  },
  [Method.QueueUnbind]: (ch, m) => {
    const queue = ch.queueNameOrLast(m.queue);
    ch.refuseReplyToBinding(queue);
    const key = m.queue === '' && m.routingKey === '' ? queue : m.routingKey;
    ch.authorizeBinding('queue.unbind', m.exchange, 'queue', queue, key);
    ch.host.vhost.unbind(m.exchange, 'queue', queue, key, m.arguments, ch.host.id);
    ch.reply(() => encodeQueueUnbindOk(ch.host.out, ch.number));
  },
  [Method.QueuePurge]: (ch, m) => {
    const queue = ch.queueNameOrLast(stripCrLf(m.queue));
    ch.authorize('queue.purge', { queue });
    const n = ch.host.vhost.purgeQueue(queue, ch.host.id);
    ch.reply(() => encodeQueuePurgeOk(ch.host.out, ch.number, { messageCount: n }), m.nowait);
  },
  [Method.QueueDelete]: (ch, m) => {
    const queue = ch.queueNameOrLast(stripCrLf(m.queue));
    ch.authorize('queue.delete', { queue });
    const n = ch.host.vhost.deleteQueueCommand(queue, m.ifUnused, m.ifEmpty, ch.host.id);
    ch.reply(() => encodeQueueDeleteOk(ch.host.out, ch.number, { messageCount: n }), m.nowait);
  },

  [Method.BasicQos]: (ch, m) => {
    ch.deliveries.qos(m.prefetchSize, m.prefetchCount, m.global);
    ch.reply(() => encodeBasicQosOk(ch.host.out, ch.number));
  },
  [Method.BasicConsume]: (ch, m) => {
    if (m.queue === REPLY_QUEUE) {
      ch.replies.consume(m);
      return;
    }
    // rabbit_channel looks for the consumer tag first, then checks read on the queue.
    ch.deliveries.checkTagFree(m.consumerTag);
    const queue = ch.queueNameOrLast(stripCrLf(m.queue));
    ch.authorize('basic.consume', { queue });
    ch.deliveries.consume(m, queue);
  },
  [Method.BasicCancel]: (ch, m) => {
    if (ch.replies.isTag(m.consumerTag)) ch.replies.cancel();
    else ch.deliveries.cancel(m.consumerTag);
    ch.reply(() => encodeBasicCancelOk(ch.host.out, ch.number, { consumerTag: m.consumerTag }), m.nowait);
  },
  [Method.BasicGet]: (ch, m) => {
    const queue = ch.queueNameOrLast(stripCrLf(m.queue));
    ch.authorize('basic.get', { queue });
    ch.deliveries.get(queue, m.noAck);
  },
  [Method.BasicCredit]: (ch, m) => ch.deliveries.credit(m.consumerTag),
  [Method.BasicAck]: (ch, m) => ch.settle('ack', m.deliveryTag, m.multiple),
  [Method.BasicReject]: (ch, m) => ch.settle(m.requeue ? 'requeue' : 'reject', m.deliveryTag, false),
  [Method.BasicNack]: (ch, m) => ch.settle(m.requeue ? 'requeue' : 'reject', m.deliveryTag, m.multiple),
  [Method.BasicRecover]: (ch, m) => {
    if (!m.requeue) throw notImplemented('requeue=false');
    ch.deliveries.recover();
    ch.reply(() => encodeBasicRecoverOk(ch.host.out, ch.number));
  },
  [Method.BasicRecoverAsync]: (ch, m) => {
    if (!m.requeue) throw notImplemented('requeue=false');
    ch.deliveries.recover();
    ch.host.out.frameDone();
  },

  [Method.ConfirmSelect]: (ch, m) => {
    if (ch.tx !== undefined) throw preconditionFailed('cannot switch from tx to confirm mode');
    ch.confirms.enabled = true;
    ch.reply(() => encodeConfirmSelectOk(ch.host.out, ch.number), m.nowait);
  },
  [Method.TxSelect]: (ch) => {
    if (ch.confirms.enabled) throw preconditionFailed('cannot switch from confirm to tx mode');
    ch.tx ??= new Transaction();
    ch.reply(() => encodeTxSelectOk(ch.host.out, ch.number));
  },
  [Method.TxCommit]: (ch) => {
    if (ch.tx === undefined) throw preconditionFailed('channel is not transactional');
    ch.commit();
  },
  [Method.TxRollback]: (ch) => {
    if (ch.tx === undefined) throw preconditionFailed('channel is not transactional');
    ch.rollback();
    ch.reply(() => encodeTxRollbackOk(ch.host.out, ch.number));
  },
};

/** An argument's text when it is a longstr (what rabbit_misc:r_arg/4 takes as a name), else undefined. */
function longstr(v: FieldValue | undefined): string | undefined {
  if (v === undefined || v.type !== 'S') return undefined;
  return typeof v.value === 'string' ? v.value : v.value.toString('utf8');
}
