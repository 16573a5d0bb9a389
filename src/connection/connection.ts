/**
 * A client connection (RabbitMQ's rabbit_reader): reading the socket fairly, the protocol header,
 * channel 0 (the handshake in handshake.ts, heartbeats in heartbeat.ts), channel multiplexing, and
 * closing. Publisher back-pressure is decided by its PublisherThrottle (src/publisher-throttle.ts);
 * the connection only stops and starts reading when told.
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
 */
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { AccessDatabase, AccessGrant, AuthenticatedUser } from '../access/access-database.js';
import { checkUserChannelLimit } from '../access/permissions.js';
import { Channel } from '../channel/channel.js';
import type { ChannelHost, ConfirmSender, ReleaseContext } from '../channel/host.js';
import { FRAME_MIN_SIZE } from '../config.js';
import { AmqpError, type ConnectionError, SocketDrop, channelError, connectionForced, frameError, internalError, notAllowed, unexpectedFrame } from '../errors.js';
import { FRAME_BODY, FRAME_METHOD } from '../protocol/generated/constants.js';
import { Method, encodeConnectionCloseOk, encodeConnectionUpdateSecretOk, type AnyMethod } from '../protocol/generated/methods.js';
import type { PublisherThrottle } from '../publisher-throttle.js';
import type { VHost } from '../vhost.js';
import { erlangBinary, snippet } from '../wire/frame-parser.js';
import { checkFrame, decodeMethodFrame } from '../wire/method-frames.js';
import { Outbound } from '../wire/outbound.js';
import type { BrokerContext, PeerInfo } from './broker-context.js';
import { Handshake } from './handshake.js';
import { Heartbeats, type HeartbeatPeer } from './heartbeat.js';
import { HeaderCollector, isAmqp08Header, judgeProtocolHeader } from './protocol-header.js';
import { SocketInput, type InputSink } from './socket-input.js';
import { BlockNotices } from './block-notices.js';
import { SocketClosing, asConnectionError, writeConnectionClose } from './closing.js';

export type ConnectionState = 'awaiting-header' | 'starting' | 'securing' | 'tuning' | 'opening' | 'running' | 'closed';

let nextConnectionId = 1;

export class Connection implements InputSink, ChannelHost, HeartbeatPeer {
  readonly id = nextConnectionId++;
  /** When the socket was accepted (ms since the epoch; the management API's connected_at). */
  readonly connectedAt = Date.now();
  state: ConnectionState = 'awaiting-header';
  log: Logger;
  readonly out: Outbound;
  private readonly input: SocketInput;
  private readonly handshake: Handshake;
  private readonly heartbeats = new Heartbeats();
  private readonly header = new HeaderCollector();
  /** The client sent an AMQP 0-8 header and got 3.x's 0-8 connection.start (Warren goes no further). */
  private amqp08 = false;
  /** The RabbitMQ release imitated, for this connection's channels. */
  readonly release: ReleaseContext;

  readonly channels = new Map<number, Channel>();
  /**
   * Channels the client closed: frames it sent on them after channel.close (before it saw close-ok)
   * are dropped, as RabbitMQ's closing channel drops them, until channel.open reuses the number.
   */
  private readonly closedByClient = new Set<number>();
  channelMax: number;
  frameMax = FRAME_MIN_SIZE;
  heartbeat = 0;
  private _user: AuthenticatedUser | undefined;
  private _vhost: VHost | undefined;
  private _grant: AccessGrant | undefined;

  /** Channels with confirms to send once the current input is processed. */
  private confirmChannels: ConfirmSender[] = [];
  private confirmFlushScheduled = false;
  private handshakeTimer: NodeJS.Timeout | undefined;
  private readonly closing: SocketClosing;
  ended = false;

  /** Called once the connection is gone, whatever the reason. */
  onEnd: (() => void) | undefined;

  constructor(
    socket: Duplex,
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
    this.closing = new SocketClosing(socket, config, (reason) => this.terminate(reason));
    this.handshake = new Handshake(this.out, broker, peer);
    this.input = new SocketInput(socket, this, new BlockNotices(this.out, this.handshake, () => this.log), broker.alarms, broker.storeBacklog);
    this.release = { personality: broker.personality, deprecatedFeatures: broker.deprecatedFeatures, upgrade: broker.upgradeWarnings?.forConnection(() => this.log) };
    // Before tune-ok, frames may be as large as the release's minimum frame_max (4.1: 8192).
    this.frameMax = broker.personality.frameMinSize;
    this.input.parser.setFrameMax(this.frameMax);

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

  /** The vhost's name once connection.open succeeded ('' before). */
  get vhostName(): string {
    return this._vhost?.name ?? '';
  }

  /** What the user may do in the vhost (set at connection.open). */
  get grant(): AccessGrant {
    return this._grant!;
  }

  /** The user the connection logged in as (set at start-ok): a snapshot, tags included. */
  get user(): AuthenticatedUser {
    return this._user!;
  }

  get accessDatabase(): AccessDatabase {
    return this.broker.access;
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

  get userName(): string {
    return this._user?.name ?? '';
  }

  get publisher(): PublisherThrottle {
    return this.input.throttle;
  }

  /** RabbitMQ's view of the connection's publishing: running, blocking, blocked, or flow. */
  get blockState(): 'running' | 'blocking' | 'blocked' | 'flow' {
    return this.input.throttle.state;
  }

  get inputBlocked(): boolean {
    return this.input.throttle.isBlocked;
  }

  get bytesIn(): number {
    return this.input.bytesIn;
  }

  get clientProperties() {
    return this.handshake.clientProperties;
  }

  hasCapability(name: string): boolean {
    return this.handshake.hasCapability(name);
  }

  // ------------------------------------------------------------------------------------------
  // Input (InputSink: the socket input feeds the parser, which calls onFrame)

  beforeFrames(chunk: Buffer): Buffer {
    return this.state === 'awaiting-header' ? this.readProtocolHeader(chunk) : chunk;
  }

  inputProcessed(): void {
    this.flushConfirms();
  }

  inputFailed(e: unknown): void {
    this.unexpectedFailure(e);
  }

  /** A channel received a publish. */
  published(): void {
    this.input.published();
  }

  // ------------------------------------------------------------------------------------------
  // Alarms

  /** An alarm was set or cleared (the broker tells every connection). */
  alarmsChanged(): void {
    this.input.throttle.alarmsChanged();
  }

  // ------------------------------------------------------------------------------------------
  // Confirms

  /**
   * Confirms are sent once per batch of input (or per event-loop turn when they come from elsewhere),
   * so that consecutive confirms coalesce into one basic.ack with multiple=true as in RabbitMQ.
   */
  confirmsPending(channel: ConfirmSender): void {
    if (!this.confirmChannels.includes(channel)) this.confirmChannels.push(channel);
    if (!this.input.processing && !this.confirmFlushScheduled) {
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

  // ------------------------------------------------------------------------------------------
  // Frames

  /** Consumes the 8-byte protocol header; returns the bytes that follow it. */
  private readProtocolHeader(chunk: Buffer): Buffer {
    const got = this.header.take(chunk);
    if (got === undefined) return Buffer.alloc(0);
    const h = got.header;
    const verdict = judgeProtocolHeader(h, this.broker.personality);
    if ('refuse' in verdict) {
      this.log.info({ header: erlangBinary(h) }, 'unsupported protocol header; refusing');
      if (isAmqp08Header(h)) this.release.upgrade?.used('amqp_0_8');
      this.input.stop();
      this.ended = true;
      this.closing.endSocket(verdict.refuse);
      this.cleanup();
      return Buffer.alloc(0);
    }
    this.log.info('accepting AMQP connection');
    this.state = 'starting';
    if (verdict.accept === '0-8') {
      this.amqp08 = true;
      this.release.upgrade?.used('amqp_0_8');
    }
    this.handshake.start(verdict.accept);
    return got.rest;
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
    this.closing.terminateAfterPause('fatal frame error');
  }

  private onChannel0Frame(type: number, payload: Buffer, start: number, end: number): void {
    checkFrame(type, 0, payload, start, end);
    if (type === FRAME_METHOD) this.handleMethod0(decodeMethodFrame(payload, start, end, true));
  }

  private onChannelFrame(type: number, channel: number, payload: Buffer, start: number, end: number): void {
    if (this.state !== 'running') throw unexpectedFrame(`type ${type}, ${snippet(payload, start, end)}`);
    checkFrame(type, channel, payload, start, end);
    let ch = this.channels.get(channel);
    if (ch === undefined && this.closedByClient.size > 0 && this.closedByClient.has(channel)) {
      if (type !== FRAME_METHOD || payload.readUInt32BE(start) !== Method.ChannelOpen) {
        this.log.debug({ channel, frameType: type }, 'dropped a frame sent on a channel after closing it');
        return;
      }
      this.closedByClient.delete(channel);
    }
    if (ch === undefined) {
      // Like RabbitMQ, a channel comes into being with its first frame; anything but channel.open
      // then fails with "expected 'channel.open'".
      if (this.channels.size >= this.channelMax) {
        throw notAllowed(`number of channels opened (${this.channels.size}) has reached the negotiated channel_max (${this.channelMax})`);
      }
      // The user's max-channels, over all of its connections (rabbit_reader:create_channel/2).
      const db = this.broker.access;
      if (db.user(this.userName)?.limits['max-channels'] !== undefined) checkUserChannelLimit(db, this.userName, this.broker.userChannelCount(this.userName));
      ch = new Channel(this, channel, this.log);
      this.channels.set(channel, ch);
    }
    ch.handleFrame(type, payload, start, end);
  }

  // ------------------------------------------------------------------------------------------
  // Channel 0

  private handleMethod0(m: AnyMethod): void {
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
      if (e instanceof AmqpError) e.withMethodOf(m.id);
      throw e;
    }
  }

  /** RabbitMQ's names for the states, as they appear in its error texts. */
  private stateName(): string {
    return this.state === 'awaiting-header' ? 'pre_init' : this.state;
  }

  private startOk(m: Parameters<Handshake['startOk']>[0]): void {
    if (this.amqp08) {
      // RabbitMQ 3.x would go on in 0-8; Warren implements 0-9-1 only and stops here, as for any
      // failed handshake: no reply, the socket closed after the pause.
      this.log.error('AMQP 0-8 client: Warren does not implement AMQP 0-8 beyond connection.start; closing');
      this.silentClose();
      return;
    }
    this.state = 'securing';
    const login = this.handshake.startOk(m);
    if ('refused' in login) {
      this.handshake.reportRefusedLogin(login.refused, this.log);
      this.silentClose();
      return;
    }
    this._user = login.user;
    this.log = this.log.child({ user: login.user.name });
    this.state = 'tuning';
  }

  private tuneOk(m: Parameters<Handshake['tuneOk']>[0]): void {
    const t = this.handshake.tuneOk(m);
    if (t.frameMax !== 0 && t.frameMax < 8192) this.release.upgrade?.used('frame_max_below_8192', { frameMax: t.frameMax });
    this.frameMax = t.frameMax;
    this.channelMax = t.channelMax;
    this.heartbeat = t.heartbeat;
    this.input.parser.setFrameMax(t.frameMax);
    this.heartbeats.start(this, t.heartbeat);
    this.state = 'opening';
  }

  private open(vhostName: string): void {
    const { vhost, grant } = this.handshake.open(vhostName, this.user);
    this._vhost = vhost;
    this._grant = grant;
    this.state = 'running';
    if (this.handshakeTimer !== undefined) clearTimeout(this.handshakeTimer);
    this.log = this.log.child({ vhost: vhostName });
    this.input.throttle.start();
    this.log.info(`user '${this.user.name}' authenticated and granted access to vhost '${vhostName}'`);
  }

  heartbeatTimeout(seconds: number): void {
    this.log.warn(`missed heartbeats from client, timeout: ${seconds}s`);
    this.terminate('heartbeat timeout');
  }

  /**
   * connection.close from the client: the confirms owed go out first (as RabbitMQ's channels send
   * theirs before they stop), then everything is released, close-ok sent, and the client hangs up.
   */
  private clientClose(): void {
    this.log.info('client closed the connection');
    this.flushConfirms();
    this.releaseAll();
    this.state = 'closed';
    encodeConnectionCloseOk(this.out, 0);
    this.out.frameDone();
    this.out.flush();
    this.closing.awaitClientClose(this.heartbeat);
  }

  // ------------------------------------------------------------------------------------------
  // Channels (ChannelHost)

  channelClosed(number: number): void {
    this.channels.delete(number);
  }

  channelClosedByClient(number: number): void {
    this.channels.delete(number);
    this.closedByClient.add(number);
  }

  connectionError(error: ConnectionError | SocketDrop): void {
    this.handleError(error);
  }

  // ------------------------------------------------------------------------------------------
  // Output back-pressure

  private onDrain(): void {
    if (!this.out.congested) return;
    this.out.congested = false;
    for (const ch of this.channels.values()) ch.deliveries.wakeConsumers();
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
    const err = asConnectionError(e, this.log);
    const handshaking = this.state === 'starting' || this.state === 'securing' || this.state === 'tuning';
    if (handshaking) {
      // RabbitMQ says nothing to a client that fails the handshake before connection.open (a refused
      // login aside, see authFailure; refused tune parameters included): it pauses, then closes.
      this.log.error(`handshake error in state ${this.stateName()}: ${err.replyText}`);
      this.silentClose();
      return;
    }
    this.log.error({ code: err.code, classId: err.classId, methodId: err.methodId, detail: err.detail }, `connection error: ${err.replyText}`);
    this.closeWith(err);
  }

  /** Sends connection.close and waits (bounded) for close-ok; everything the connection held is released now. */
  closeWith(err: ConnectionError): void {
    if (this.state === 'closed' || this.ended) return;
    this.releaseAll();
    this.state = 'closed';
    this.input.throttle.stop();
    writeConnectionClose(this.out, err);
    this.out.flush();
    this.closing.awaitClientClose(this.heartbeat);
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
   * Its user or vhost was deleted: 320 CONNECTION_FORCED with `text`. A connection not open yet is
   * left alone (RabbitMQ tracks connections from connection.open; this one's open will be refused).
   */
  closeForced(text: string): void {
    if (this.state !== 'running') return;
    this.log.warn(`closing the connection: ${text}`);
    this.closeWith(connectionForced(text));
  }

  /** Stops reading, waits RabbitMQ's silent-close delay, then closes the socket. */
  private silentClose(): void {
    this.input.stop();
    this.releaseAll();
    this.state = 'closed';
    this.out.flush();
    this.closing.terminateAfterPause('handshake failed');
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

  /**
   * Releases channels (requeueing their unacknowledged messages) and exclusive queues. The channels
   * are closed for good: a confirm whose store completes later writes nothing.
   */
  private releaseAll(): void {
    for (const ch of this.channels.values()) {
      ch.release();
      ch.state = 'closed';
    }
    this.channels.clear();
    this._vhost?.connectionClosed(this.id);
  }

  /** The end: the socket is closed and everything released. Safe to call more than once. */
  terminate(reason: string): void {
    if (this.ended) return;
    this.ended = true;
    this.log.debug({ reason }, 'connection terminated');
    this.input.stop();
    try {
      this.releaseAll();
    } catch (e) {
      this.log.error({ err: e }, 'failure releasing connection resources');
    }
    this.state = 'closed';
    this.out.flush();
    this.out.close();
    this.closing.endSocket();
    this.cleanup();
  }

  private cleanup(): void {
    this.input.throttle.stop();
    this.heartbeats.stop();
    if (this.handshakeTimer !== undefined) clearTimeout(this.handshakeTimer);
    this.closing.stop();
    const cb = this.onEnd;
    this.onEnd = undefined;
    cb?.();
  }
}
