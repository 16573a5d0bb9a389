/**
 * A client connection: protocol header, the connection-class handshake (start, secure, tune, open),
 * heartbeats, channel multiplexing, and closing, following RabbitMQ's `rabbit_reader`.
 *
 * States and what may arrive in each:
 *   awaiting-header  the 8-byte protocol header
 *   starting         connection.start-ok
 *   securing         connection.secure-ok (never used by PLAIN or AMQPLAIN, which finish in one step)
 *   tuning           connection.tune-ok
 *   opening          connection.open
 *   running          anything on any channel
 *   closed           we sent connection.close (or close-ok): only close/close-ok are read, then the
 *                    socket is closed
 *
 * Errors before `opening` follow RabbitMQ: an authentication failure is reported with connection.close
 * only to clients advertising `authentication_failure_close`; any other handshake error closes the
 * socket without a word after a pause, so a broken client cannot spin.
 *
 * Publisher blocking follows rabbit_reader's throttle. While a resource alarm is in effect (or the
 * store's back-pressure holds the connection) a running connection is `blocking`: it works as usual
 * until it sends a content frame, then it is `blocked` and its socket is no longer read, right after
 * that frame. connection.blocked goes to clients with the `connection.blocked` capability only when
 * a connection is blocked by an alarm (never for back-pressure alone), once; connection.unblocked
 * when every alarm has cleared. Connections that only consume never block.
 */
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { PaceWaiter, RouteTarget } from './exchange/exchange.js';
import { Channel, type ChannelHost } from './channel.js';
import {
  AmqpError,
  ChannelError,
  ConnectionError,
  channelError,
  commandInvalid,
  frameError,
  internalError,
  notAllowed,
  syntaxError,
  unexpectedFrame,
  connectionForced,
  accessRefused,
  SocketDrop,
} from './errors.js';
import { DecodeError, MalformedUtf8Error, Reader } from './protocol/codec-primitives.js';
import { fv, table, type FieldTable } from './protocol/field-table.js';
import {
  FRAME_BODY,
  FRAME_HEADER,
  FRAME_HEARTBEAT,
  FRAME_METHOD,
  PROTOCOL_HEADER,
} from './protocol/generated/constants.js';
import {
  Method,
  METHOD_INFO,
  decodeMethod,
  encodeConnectionBlocked,
  encodeConnectionClose,
  encodeConnectionCloseOk,
  encodeConnectionOpenOk,
  encodeConnectionStart,
  encodeConnectionTune,
  encodeConnectionUnblocked,
  encodeConnectionUpdateSecretOk,
  methodName,
  type AnyMethod,
  type ConnectionStartOk,
  type ConnectionTuneOk,
} from './protocol/generated/methods.js';
import { FRAME_MIN_SIZE } from './config.js';
import { SASL_MECHANISMS, SASL_MECHANISM_LIST, isLoopbackAddress, type User } from './auth.js';
import type { BrokerContext } from './broker-context.js';
import { FrameParser, erlangBinary, snippet, type FrameHandler } from './wire/frame-parser.js';
import { Outbound } from './wire/outbound.js';
import type { VHost } from './vhost.js';
import type { Pausable } from './flow.js';

/**
 * Input a connection may have processed per event-loop turn before the others get theirs: in
 * practice one socket read (Node reads up to 64 KiB at a time) for a connection that keeps sending.
 */
const INPUT_PER_TURN = 4096;

export type ConnectionState = 'awaiting-header' | 'starting' | 'securing' | 'tuning' | 'opening' | 'running' | 'closed';

/**
 * RabbitMQ's view of a running connection's publishing: `blocking` (an alarm is in effect but the
 * connection has not published since), `blocked` (not read because of an alarm), `flow` (not read
 * because the store is behind).
 */
export type BlockState = 'running' | 'blocking' | 'blocked' | 'flow';

/** Where a stream came from; in-process streams have no addresses and count as loopback. */
export interface PeerInfo {
  remoteAddress?: string | undefined;
  remotePort?: number | undefined;
  localAddress?: string | undefined;
  localPort?: number | undefined;
}

let nextConnectionId = 1;
const reader = new Reader();

export class Connection implements FrameHandler, ChannelHost, Pausable, PaceWaiter {
  readonly id = nextConnectionId++;
  state: ConnectionState = 'awaiting-header';
  log: Logger;
  readonly out: Outbound;
  private readonly parser: FrameParser;
  private headerBuf: Buffer | null = null;

  readonly channels = new Map<number, Channel>();
  channelMax: number;
  frameMax = FRAME_MIN_SIZE;
  heartbeat = 0;
  private capabilities: FieldTable = new Map();
  clientProperties: FieldTable = new Map();
  user: User | undefined;
  private mechanism = '';
  private _vhost: VHost | undefined;

  private bytesIn = 0;
  /** Channels with confirms to send once the current input is processed. */
  private confirmChannels: Channel[] = [];
  private processingInput = false;
  /** A publish arrived in the current batch of input (flow control applies to publishers only). */
  private publishedNow = false;
  private confirmFlushScheduled = false;
  private heartbeatTimers: NodeJS.Timeout[] = [];
  private handshakeTimer: NodeJS.Timeout | undefined;
  private closeTimer: NodeJS.Timeout | undefined;
  private ended = false;

  /** Input processed in the current event-loop turn, and whether the socket waits for the next one. */
  private turnBytes = 0;
  private yielding = false;

  // Publisher blocking: rabbit_reader's #throttle{}.
  /** The socket is not read (rabbit_reader's `blocked` connection state). */
  private blocked = false;
  /** The store's back-pressure holds this connection (it published while the store was behind). */
  private flowHeld = false;
  /** It sent content while there was a reason to block (throttle.should_block). */
  private shouldBlock = false;
  /** connection.blocked was sent, or would have been to a client with the capability. */
  private blockedSent = false;
  private resumeScheduled = false;
  /**
   * The parser's frame handler while an alarm is in effect: after each content frame the connection
   * blocks (rabbit_reader's publish_received). Without alarms frames go straight to the connection.
   */
  private readonly alarmFrames: FrameHandler = {
    onFrame: (type, channel, payload, start, end) => {
      this.onFrame(type, channel, payload, start, end);
      if ((type === FRAME_HEADER || type === FRAME_BODY) && channel !== 0 && this.state === 'running') this.publishReceived();
    },
    onSplitBody: (channel, pieces, size) => {
      this.onSplitBody(channel, pieces, size);
      if (channel !== 0 && this.state === 'running') this.publishReceived();
    },
    onFatal: (explanation) => this.onFatal(explanation),
  };

  /** Called once the connection is gone, whatever the reason. */
  onEnd: (() => void) | undefined;

  constructor(
    private readonly socket: Duplex,
    readonly peer: PeerInfo,
    private readonly broker: BrokerContext,
  ) {
    const config = broker.config;
    this.channelMax = config.channelMax;
    this.log = broker.log.child({
      conn: this.id,
      peer: peer.remoteAddress !== undefined ? `${peer.remoteAddress}:${peer.remotePort}` : 'in-process',
    });
    this.out = new Outbound(socket);
    this.parser = new FrameParser(this, FRAME_MIN_SIZE);

    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err: Error) => {
      this.log.debug({ err: err.message }, 'socket error');
      this.terminate('socket error');
    });
    socket.on('close', () => this.terminate('socket closed'));
    socket.on('end', () => this.terminate('client closed the connection'));
    socket.on('drain', () => this.onDrain());

    this.handshakeTimer = setTimeout(() => {
      if (this.state !== 'running' && this.state !== 'closed') {
        this.log.warn('handshake timeout');
        this.terminate('handshake timeout');
      }
    }, config.handshakeTimeoutMs);
    this.handshakeTimer.unref?.();
  }

  get vhost(): VHost {
    return this._vhost!;
  }

  get consumerTimeoutMs(): number {
    return this.broker.config.consumerTimeoutMs;
  }

  get maxMessageSize(): number {
    return this.broker.config.maxMessageSize;
  }

  get writable(): boolean {
    return !this.out.congested;
  }

  hasCapability(name: string): boolean {
    const v = this.capabilities.get(name);
    return v !== undefined && v.type === 't' && v.value;
  }

  // ------------------------------------------------------------------------------------------
  // Input

  private onData(chunk: Buffer): void {
    if (this.ended) return;
    this.bytesIn += chunk.length;
    this.processInput(chunk);
    this.turnBytes += chunk.length;
    if (this.turnBytes >= INPUT_PER_TURN && !this.yielding && !this.ended) this.yieldTurn();
  }

  /**
   * Fairness between connections. libuv reads a busy socket again and again within one event-loop
   * turn (as long as data keeps coming), so a flooding publisher could have megabytes processed
   * before a consumer's acknowledgement is looked at once, starving every consumer that waits on
   * its prefetch window. After INPUT_PER_TURN bytes (in practice, after each read) the connection
   * pauses until the next turn: each connection gets its share per turn, and an ack waits at most
   * one turn. (RabbitMQ gets the same
   * effect from credit flow between its reader, channel and queue processes.)
   */
  private yieldTurn(): void {
    this.yielding = true;
    this.socket.pause();
    setImmediate(this.endTurn);
  }

  private readonly endTurn = (): void => {
    this.yielding = false;
    this.turnBytes = 0;
    if (!this.blocked && !this.ended && this.pacedOn.size === 0) this.socket.resume();
  };

  /** Parses a chunk from the socket, or (null) the input kept while the connection was blocked. */
  private processInput(chunk: Buffer | null): void {
    this.processingInput = true;
    try {
      if (chunk === null) {
        this.parser.resume();
      } else {
        if (this.state === 'awaiting-header') {
          chunk = this.readProtocolHeader(chunk);
          if (chunk.length === 0) return;
        }
        this.parser.feed(chunk);
      }
      this.flushConfirms();
      if (this.publishedNow) {
        this.publishedNow = false;
        this.broker.publishFlow.published(this);
      }
    } catch (e) {
      this.unexpectedFailure(e);
    } finally {
      this.processingInput = false;
    }
  }

  /** A channel received a publish. */
  published(): void {
    this.publishedNow = true;
  }

  /** Queues this connection waits for (publisher pacing): the socket is not read meanwhile. */
  private readonly pacedOn = new Set<RouteTarget>();

  pacedBy(target: RouteTarget): void {
    if (this.pacedOn.has(target) || target.paceWaiter === undefined) return;
    this.pacedOn.add(target);
    target.paceWaiter(this);
    this.socket.pause();
  }

  paceReleased(target: RouteTarget): void {
    this.pacedOn.delete(target);
    if (this.pacedOn.size === 0 && !this.blocked && !this.ended && !this.yielding) this.socket.resume();
  }

  /** The store is behind and this connection published: block it (no connection.blocked for this). */
  pauseInput(): void {
    if (this.state !== 'running') return;
    this.flowHeld = true;
    this.shouldBlock = true;
    this.maybeBlock();
  }

  /** The store caught up. */
  resumeInput(): void {
    this.flowHeld = false;
    if (this.state === 'running') this.controlThrottle();
  }

  // ------------------------------------------------------------------------------------------
  // Publisher blocking (rabbit_reader's control_throttle, maybe_block, maybe_unblock)

  get blockState(): BlockState {
    if (this.blocked) return this.broker.alarms.any ? 'blocked' : 'flow';
    return this.state === 'running' && (this.broker.alarms.any || this.flowHeld) ? 'blocking' : 'running';
  }

  /** An alarm was set or cleared (the broker tells every connection). */
  alarmsChanged(): void {
    if (this.state === 'running') this.controlThrottle();
  }

  private controlThrottle(): void {
    const alarmed = this.broker.alarms.any;
    this.parser.handler = alarmed ? this.alarmFrames : this;
    if (this.blocked && !alarmed && !this.flowHeld) this.unblock();
    else this.maybeBlock();
  }

  /** A content frame arrived while an alarm is in effect. */
  private publishReceived(): void {
    this.shouldBlock = true;
    this.maybeBlock();
  }

  private maybeBlock(): void {
    if (!this.shouldBlock || !(this.broker.alarms.any || this.flowHeld)) return;
    if (!this.blocked) {
      this.blocked = true;
      this.socket.pause();
      this.log.debug({ reason: this.broker.alarms.any ? this.broker.alarms.blockedReason() : 'flow' }, 'publisher blocked');
    }
    // Frames after the one that blocked are kept for later, in order.
    this.parser.suspend();
    // maybe_send_blocked_or_unblocked: only alarms are reported, once per blocked period.
    if (this.broker.alarms.any && !this.blockedSent) {
      this.blockedSent = true;
      if (this.hasCapability('connection.blocked')) {
        encodeConnectionBlocked(this.out, 0, { reason: this.broker.alarms.blockedReason() });
        this.out.frameDone();
      }
    } else {
      this.maybeSendUnblocked();
    }
  }

  private unblock(): void {
    this.blocked = false;
    this.shouldBlock = false;
    this.log.debug('publisher unblocked');
    this.maybeSendUnblocked();
    this.scheduleResume();
  }

  private maybeSendUnblocked(): void {
    if (!this.blockedSent || this.broker.alarms.any) return;
    this.blockedSent = false;
    if (this.hasCapability('connection.blocked')) {
      encodeConnectionUnblocked(this.out, 0);
      this.out.frameDone();
    }
  }

  /**
   * Reads again: first what was kept while blocked (which may block again), then the socket. Deferred
   * so that an alarm change never runs a connection's input inside another connection's work.
   */
  private scheduleResume(): void {
    if (this.resumeScheduled) return;
    this.resumeScheduled = true;
    queueMicrotask(() => {
      this.resumeScheduled = false;
      if (this.blocked || this.ended) return;
      if (this.parser.isSuspended) this.processInput(null);
      if (!this.blocked && !this.ended && !this.yielding && this.pacedOn.size === 0) this.socket.resume();
    });
  }

  /** Closing: read again whatever blocked the connection, so the close handshake can finish (as RabbitMQ's closing reader). */
  private stopBlocking(): void {
    this.parser.handler = this;
    if (!this.blocked && !this.parser.isSuspended) return;
    this.blocked = false;
    this.scheduleResume();
  }

  get userName(): string {
    return this.user?.name ?? '';
  }

  /**
   * Confirms are sent once per batch of input (or per event-loop turn when they come from elsewhere),
   * so that consecutive confirms coalesce into one basic.ack with multiple=true as in RabbitMQ.
   */
  confirmsPending(channel: Channel): void {
    if (!this.confirmChannels.includes(channel)) this.confirmChannels.push(channel);
    if (!this.processingInput && !this.confirmFlushScheduled) {
      this.confirmFlushScheduled = true;
      queueMicrotask(() => {
        this.confirmFlushScheduled = false;
        this.flushConfirms();
      });
    }
  }

  private flushConfirms(): void {
    if (this.confirmChannels.length === 0) return;
    const channels = this.confirmChannels;
    this.confirmChannels = [];
    for (const ch of channels) ch.flushConfirms();
  }

  /** Consumes the 8-byte protocol header; returns the bytes that follow it. */
  private readProtocolHeader(chunk: Buffer): Buffer {
    const have = this.headerBuf === null ? chunk : Buffer.concat([this.headerBuf, chunk]);
    if (have.length < 8) {
      this.headerBuf = have;
      return Buffer.alloc(0);
    }
    this.headerBuf = null;
    const h = have.subarray(0, 8);
    // 0-9-1, and 0-9 (which RabbitMQ treats as 0-9-1). Anything else gets our header back.
    const is091 = h.equals(PROTOCOL_HEADER);
    const is09 = h[0] === 0x41 && h.toString('latin1', 0, 4) === 'AMQP' && h[4] === 1 && h[5] === 1 && h[6] === 0 && h[7] === 9;
    if (!is091 && !is09) {
      this.log.info({ header: erlangBinary(h) }, 'unsupported protocol header; refusing');
      this.parser.stop();
      this.ended = true;
      this.endSocket(PROTOCOL_HEADER);
      this.cleanup();
      return Buffer.alloc(0);
    }
    this.log.info('accepting AMQP connection');
    this.state = 'starting';
    encodeConnectionStart(this.out, 0, {
      versionMajor: 0,
      versionMinor: 9,
      serverProperties: this.broker.serverProperties(),
      mechanisms: Buffer.from(SASL_MECHANISM_LIST),
      locales: Buffer.from('en_US'),
    });
    this.out.frameDone();
    return have.subarray(8);
  }

  onFrame(type: number, channel: number, payload: Buffer, start: number, end: number): void {
    if (this.state === 'closed') {
      // After our connection.close only close and close-ok on channel 0 matter.
      if (channel === 0 && type === FRAME_METHOD && end - start >= 4) {
        const key = payload.readUInt32BE(start);
        if (key === Method.ConnectionCloseOk) this.terminate('close-ok received');
        else if (key === Method.ConnectionClose) {
          encodeConnectionCloseOk(this.out, 0);
          this.out.frameDone();
        }
      }
      return;
    }
    try {
      if (channel === 0) this.onChannel0Frame(type, payload, start, end);
      else this.onChannelFrame(type, channel, payload, start, end);
    } catch (e) {
      this.handleError(e);
    }
  }

  /** A large body frame as views of the socket chunks it came in: passed on without a copy. */
  onSplitBody(channel: number, pieces: readonly Buffer[], size: number): void {
    const ch = channel === 0 || this.state !== 'running' ? undefined : this.channels.get(channel);
    if (ch === undefined) {
      // Every unusual case (channel 0, closing, a channel not open yet) takes the ordinary path.
      this.onFrame(FRAME_BODY, channel, Buffer.concat(pieces, size), 0, size);
      return;
    }
    try {
      ch.handleSplitBody(pieces, size);
    } catch (e) {
      this.handleError(e);
    }
  }

  onFatal(explanation: string): void {
    // We lost sync with the peer: report, read nothing more, and (as RabbitMQ's fatal_frame_error)
    // close the socket after the silent-close pause, since no close-ok can be read any more.
    this.handleError(frameError(explanation));
    if (this.closeTimer !== undefined) clearTimeout(this.closeTimer);
    this.closeTimer = setTimeout(() => this.terminate('fatal frame error'), this.broker.config.silentCloseDelayMs);
    this.closeTimer.unref?.();
  }

  private onChannel0Frame(type: number, payload: Buffer, start: number, end: number): void {
    switch (type) {
      case FRAME_HEARTBEAT:
        if (end !== start) throw frameError(`type 8, ${snippet(payload, start, end)}: unknown_frame`);
        return;
      case FRAME_METHOD: {
        if (end - start < 4) throw frameError(`type 1, ${snippet(payload, start, end)}: unknown_frame`);
        const key = payload.readUInt32BE(start);
        const m = this.decode(key, payload, start, end);
        this.handleMethod0(m);
        return;
      }
      case FRAME_HEADER:
      case FRAME_BODY:
        if (type === FRAME_HEADER && end - start < 12) throw frameError(`type 2, ${snippet(payload, start, end)}: unknown_frame`);
        throw unexpectedFrame(`type ${type}, ${snippet(payload, start, end)}`);
      default:
        throw frameError(`type ${type}, ${snippet(payload, start, end)}: unknown_frame`);
    }
  }

  private onChannelFrame(type: number, channel: number, payload: Buffer, start: number, end: number): void {
    if (this.state !== 'running') throw unexpectedFrame(`type ${type}, ${snippet(payload, start, end)}`);
    switch (type) {
      case FRAME_METHOD:
        if (end - start < 4) throw frameError(`type 1, ${snippet(payload, start, end)}: unknown_frame`);
        break;
      case FRAME_HEADER:
        if (end - start < 12) throw frameError(`type 2, ${snippet(payload, start, end)}: unknown_frame`);
        break;
      case FRAME_BODY:
        break;
      case FRAME_HEARTBEAT:
        if (end !== start) throw frameError(`type 8, ${snippet(payload, start, end)}: unknown_frame`);
        throw unexpectedFrame(`type 8, ${snippet(payload, start, end)}`);
      default:
        throw frameError(`type ${type}, ${snippet(payload, start, end)}: unknown_frame`);
    }
    let ch = this.channels.get(channel);
    if (ch === undefined) {
      // Like RabbitMQ, a channel comes into being with its first frame; anything but channel.open
      // then fails with "expected 'channel.open'".
      if (this.channels.size >= this.channelMax) {
        throw notAllowed(
          `number of channels opened (${this.channels.size}) has reached the negotiated channel_max (${this.channelMax})`,
        );
      }
      ch = new Channel(this, channel, this.log);
      this.channels.set(channel, ch);
    }
    ch.handleFrame(type, payload, start, end);
  }

  private decode(key: number, payload: Buffer, start: number, end: number): AnyMethod {
    const r = reader.reset(payload, start + 4, end);
    let m: AnyMethod | undefined;
    try {
      m = decodeMethod(key, r);
      if (m !== undefined && r.pos !== end) throw new DecodeError('trailing bytes');
    } catch (e) {
      if (e instanceof MalformedUtf8Error) {
        // On channel 0 RabbitMQ's reader names the method; on other channels the error has none.
        const info = METHOD_INFO.get(key)!;
        throw frameError(e.message).withMethod(info.classId, info.methodId);
      }
      if (!(e instanceof DecodeError)) throw e;
      if (e.insideTable) throw new SocketDrop(`malformed field table in ${methodName(key)}: ${e.message}`);
      const info = METHOD_INFO.get(key)!;
      throw frameError(`cannot decode ${erlangBinary(payload.subarray(start + 4, end))}`).withMethod(info.classId, info.methodId);
    }
    if (m === undefined) throw new SocketDrop(`unknown method ${methodName(key)}`);
    return m;
  }

  // ------------------------------------------------------------------------------------------
  // Channel 0

  private handleMethod0(m: AnyMethod): void {
    const info = METHOD_INFO.get(m.id)!;
    try {
      switch (m.id) {
        case Method.ConnectionStartOk:
          if (this.state !== 'starting') break;
          this.startOk(m);
          return;
        case Method.ConnectionSecureOk:
          // Neither mechanism we offer sends a challenge, so secure-ok is never expected.
          break;
        case Method.ConnectionTuneOk:
          if (this.state !== 'tuning') break;
          this.tuneOk(m);
          return;
        case Method.ConnectionOpen:
          if (this.state !== 'opening') break;
          this.open(m.virtualHost);
          return;
        case Method.ConnectionClose:
          if (this.state !== 'running') break;
          this.clientClose();
          return;
        case Method.ConnectionUpdateSecret:
          if (this.state !== 'running') break;
          // Our users have passwords only; accept the new secret as RabbitMQ's internal backend does.
          encodeConnectionUpdateSecretOk(this.out, 0);
          this.out.frameDone();
          return;
      }
      throw channelError(`unexpected method in connection state ${this.stateName()}`);
    } catch (e) {
      if (e instanceof AmqpError) e.withMethod(info.classId, info.methodId);
      throw e;
    }
  }

  /** RabbitMQ's names for the states, as they appear in its error texts. */
  private stateName(): string {
    return this.state === 'awaiting-header' ? 'pre_init' : this.state;
  }

  private startOk(m: ConnectionStartOk): void {
    this.clientProperties = m.clientProperties;
    const caps = m.clientProperties.get('capabilities');
    this.capabilities = caps !== undefined && caps.type === 'F' ? caps.value : new Map();
    const mechanism = SASL_MECHANISMS.get(m.mechanism);
    if (mechanism === undefined) throw commandInvalid(`unknown authentication mechanism '${m.mechanism}'`);
    this.mechanism = mechanism.name;
    this.state = 'securing';
    const result = mechanism.handleResponse(m.response);
    if (result.kind === 'protocol-error') throw syntaxError(result.explanation);
    const users = this.broker.users;
    const user = users.check(result.username, result.password);
    if (user === undefined) {
      this.authFailure(`user '${result.username}' - invalid credentials`);
      return;
    }
    if (user.loopbackOnly && !isLoopbackAddress(this.peer.localAddress)) {
      this.authFailure(`user '${result.username}' can only connect via localhost`);
      return;
    }
    this.user = user;
    this.log = this.log.child({ user: user.name });
    this.state = 'tuning';
    const c = this.broker.config;
    encodeConnectionTune(this.out, 0, { channelMax: c.channelMax, frameMax: c.frameMax, heartbeat: c.heartbeat });
    this.out.frameDone();
  }

  /**
   * Refused credentials: the log says why, the client only that the login was refused (and only if
   * it advertises authentication_failure_close); then the socket closes after the silent-close pause.
   */
  private authFailure(reason: string): void {
    this.log.error(`${this.mechanism} login refused: ${reason}`);
    if (this.hasCapability('authentication_failure_close')) {
      const e = accessRefused(
        `Login was refused using authentication mechanism ${this.mechanism}. For details see the broker logfile.`,
      );
      encodeConnectionClose(this.out, 0, { replyCode: e.code, replyText: e.replyTextBytes, classId: 0, methodId: 0 });
      this.out.frameDone();
    }
    this.silentClose();
  }

  private tuneOk(m: ConnectionTuneOk): void {
    const c = this.broker.config;
    negotiate('frame_max', FRAME_MIN_SIZE, c.frameMax, m.frameMax);
    negotiate('channel_max', 1, c.channelMax, m.channelMax);
    this.frameMax = m.frameMax;
    this.channelMax = m.channelMax;
    this.heartbeat = m.heartbeat;
    this.parser.setFrameMax(m.frameMax);
    this.startHeartbeats();
    this.state = 'opening';
  }

  private open(vhostName: string): void {
    const vhost = this.broker.vhosts.get(vhostName);
    if (vhost === undefined) throw notAllowed(`vhost ${vhostName} not found`);
    this._vhost = vhost;
    this.state = 'running';
    if (this.handshakeTimer !== undefined) clearTimeout(this.handshakeTimer);
    this.log = this.log.child({ vhost: vhostName });
    encodeConnectionOpenOk(this.out, 0, {});
    this.out.frameDone();
    // rabbit_alarm:register: from now on this connection follows the alarms.
    this.controlThrottle();
    this.log.info(`user '${this.user!.name}' authenticated and granted access to vhost '${vhostName}'`);
  }

  /** connection.close from the client: release everything, confirm, and let the client hang up. */
  private clientClose(): void {
    this.log.info('client closed the connection');
    this.releaseAll();
    this.state = 'closed';
    encodeConnectionCloseOk(this.out, 0);
    this.out.frameDone();
    this.out.flush();
    this.armCloseTimer();
  }

  // ------------------------------------------------------------------------------------------
  // Channels (ChannelHost)

  channelClosed(channel: Channel): void {
    if (this.channels.get(channel.number) === channel) this.channels.delete(channel.number);
  }

  connectionError(error: ConnectionError | SocketDrop): void {
    this.handleError(error);
  }

  // ------------------------------------------------------------------------------------------
  // Heartbeats

  private startHeartbeats(): void {
    const seconds = this.heartbeat;
    if (seconds === 0) return;
    const ms = seconds * 1000;
    // Send when nothing else went out for half an interval (RabbitMQ's rabbit_heartbeat does the same,
    // and always sends at the first check).
    let lastOut = -1;
    let first = true;
    const sender = setInterval(() => {
      if (first || this.out.bytesOut === lastOut) {
        first = false;
        const buf = this.out;
        const start = buf.frameStart(FRAME_HEARTBEAT, 0);
        buf.frameEnd(start);
        buf.flush();
      }
      lastOut = this.out.bytesOut;
    }, ms / 2);
    // Time out after two whole intervals without a byte from the client.
    let lastIn = this.bytesIn;
    let silentChecks = 0;
    const receiver = setInterval(() => {
      if (this.bytesIn !== lastIn || this.blocked) {
        // A blocked connection is not read, so its heartbeats cannot count (RabbitMQ pauses the
        // monitor while blocked).
        lastIn = this.bytesIn;
        silentChecks = 0;
        return;
      }
      if (++silentChecks >= 2) {
        this.log.warn(`missed heartbeats from client, timeout: ${seconds}s`);
        this.terminate('heartbeat timeout');
      }
    }, ms);
    sender.unref?.();
    receiver.unref?.();
    this.heartbeatTimers.push(sender, receiver);
  }

  // ------------------------------------------------------------------------------------------
  // Output back-pressure

  private onDrain(): void {
    if (!this.out.congested) return;
    this.out.congested = false;
    for (const ch of this.channels.values()) ch.wakeConsumers();
  }

  // ------------------------------------------------------------------------------------------
  // Errors and closing

  /** The one place errors on this connection become replies. */
  private handleError(e: unknown): void {
    if (this.state === 'closed' || this.ended) return;
    if (e instanceof SocketDrop) {
      this.log.error(`closing the socket without a reply, as RabbitMQ does: ${e.message}`);
      this.terminate('unparseable input');
      return;
    }
    if (e instanceof ChannelError) {
      // A soft error on channel 0 (or outside any channel) closes the connection, as in RabbitMQ.
      e = new ConnectionError(e.code, e.explanation, e.classId, e.methodId);
    }
    if (!(e instanceof ConnectionError)) {
      this.log.error({ err: e }, 'internal error');
      e = internalError('');
    }
    const err = e as ConnectionError;
    const handshaking = this.state === 'starting' || this.state === 'securing' || this.state === 'tuning';
    if (handshaking) {
      // RabbitMQ says nothing to a client that fails the handshake before connection.open (a refused
      // login aside, see authFailure; refused tune parameters included): it pauses, then closes.
      this.log.error(`handshake error in state ${this.stateName()}: ${err.replyText}`);
      this.silentClose();
      return;
    }
    this.log.error({ code: err.code, classId: err.classId, methodId: err.methodId }, `connection error: ${err.replyText}`);
    this.closeWith(err);
  }

  /** Sends connection.close and waits (bounded) for close-ok; everything the connection held is released now. */
  closeWith(err: ConnectionError): void {
    if (this.state === 'closed' || this.ended) return;
    this.releaseAll();
    this.state = 'closed';
    this.stopBlocking();
    // An internal error carries no explanation in RabbitMQ's reply text.
    const replyText = err.code === 541 && err.explanation === '' ? 'INTERNAL_ERROR' : err.replyTextBytes;
    encodeConnectionClose(this.out, 0, { replyCode: err.code, replyText, classId: err.classId, methodId: err.methodId });
    this.out.frameDone();
    this.out.flush();
    this.armCloseTimer();
  }

  /** Broker shutdown: 320 CONNECTION_FORCED, as RabbitMQ sends when it stops. */
  forceClose(reason: string): void {
    if (this.state !== 'running') {
      this.terminate('broker shutting down');
      return;
    }
    this.closeWith(connectionForced(`broker forced connection closure with reason '${reason}'`));
  }

  /**
   * Bounds the wait for the client to finish closing: the heartbeat interval when that is shorter,
   * else the configured maximum (RabbitMQ: heartbeat timeout, at most 30 s).
   */
  private armCloseTimer(): void {
    if (this.closeTimer !== undefined) return;
    const max = this.broker.config.closeTimeoutMs;
    const ms = this.heartbeat > 0 && this.heartbeat * 1000 < max ? this.heartbeat * 1000 : max;
    this.closeTimer = setTimeout(() => this.terminate('close timeout'), ms);
    this.closeTimer.unref?.();
  }

  /** Stops reading, waits RabbitMQ's silent-close delay, then closes the socket. */
  private silentClose(): void {
    this.parser.stop();
    this.releaseAll();
    this.state = 'closed';
    this.out.flush();
    if (this.closeTimer !== undefined) clearTimeout(this.closeTimer);
    this.closeTimer = setTimeout(() => this.terminate('handshake failed'), this.broker.config.silentCloseDelayMs);
    this.closeTimer.unref?.();
  }

  private unexpectedFailure(e: unknown): void {
    this.log.error({ err: e }, 'unexpected failure processing input');
    try {
      this.handleError(e instanceof AmqpError ? e : internalError(''));
    } catch (again) {
      this.log.error({ err: again }, 'failure while closing');
      this.terminate('internal error');
    }
  }

  /** Releases channels (requeueing their unacknowledged messages) and exclusive queues. */
  private releaseAll(): void {
    for (const ch of this.channels.values()) ch.release();
    this.channels.clear();
    this._vhost?.connectionClosed(this.id);
  }

  /** The end: the socket is closed and everything released. Safe to call more than once. */
  terminate(reason: string): void {
    if (this.ended) return;
    this.ended = true;
    this.log.debug({ reason }, 'connection terminated');
    this.parser.stop();
    try {
      this.releaseAll();
    } catch (e) {
      this.log.error({ err: e }, 'failure releasing connection resources');
    }
    this.state = 'closed';
    this.out.flush();
    this.out.close();
    this.endSocket();
    this.cleanup();
  }

  /**
   * end() lets queued output (a close frame, our protocol header) go out first; the socket is read
   * again so the peer's end is seen, and destroyed if the peer never finishes.
   */
  private endSocket(last?: Buffer): void {
    if (last !== undefined) this.socket.end(last);
    else this.socket.end();
    this.socket.resume();
    if (!this.socket.destroyed) {
      const t = setTimeout(() => this.socket.destroy(), 1000);
      t.unref();
      this.socket.once('close', () => clearTimeout(t));
    }
  }

  private cleanup(): void {
    this.broker.publishFlow.forget(this);
    for (const t of this.heartbeatTimers) clearInterval(t);
    this.heartbeatTimers = [];
    if (this.handshakeTimer !== undefined) clearTimeout(this.handshakeTimer);
    if (this.closeTimer !== undefined) clearTimeout(this.closeTimer);
    const cb = this.onEnd;
    this.onEnd = undefined;
    cb?.();
  }
}

/** RabbitMQ's validate_negotiated_integer_value: the server refuses values outside its range. */
function negotiate(field: 'frame_max' | 'channel_max', min: number, serverValue: number, clientValue: number): void {
  const detail = field === 'channel_max' && clientValue === 0 ? ' (no limit)' : '';
  if (clientValue !== 0 && clientValue < min) {
    throw notAllowed(`negotiated ${field} = ${clientValue}${detail} is lower than the minimum allowed value (${min})`).withMethod(10, 30);
  }
  if (serverValue !== 0 && (clientValue === 0 || clientValue > serverValue)) {
    throw notAllowed(`negotiated ${field} = ${clientValue}${detail} is higher than the maximum allowed value (${serverValue})`).withMethod(10, 30);
  }
}

/** The capabilities table of connection.start: only what Warren implements. */
export function serverCapabilities(implemented: readonly string[]): FieldTable {
  return table(implemented.map((name) => [name, fv.bool(true)] as const));
}
