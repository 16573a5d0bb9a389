/**
 * One MQTT client connection: the socket, the packet codec (mqtt-packet), keep-alive, and the one
 * switch that hands each packet to its handler (aedes's layout: connect.ts, publish.ts,
 * subscribe.ts). The AMQP side of the client (its queues, consumers and acknowledgements) is its
 * Session; the broker-wide part (client ids, retained messages) is the MqttService.
 *
 * What closes the connection, as RabbitMQ 3.10's rabbit_mqtt_reader does: a packet that does not
 * parse, or one over the size limit ("MQTT detected framing error"); any packet before CONNECT
 * ("connect_expected"); a refused CONNECT (after its CONNACK); a publish or subscribe the user's
 * permissions refuse; keep-alive running out; another connection taking over the client id;
 * DISCONNECT. Only a socket closed by the peer and keep-alive running out publish the will.
 */
import type { Duplex } from 'node:stream';
import mqttPacket from 'mqtt-packet';
import type { Logger } from 'pino';
import type { PeerInfo } from '../connection/broker-context.js';
import { AmqpError } from '../errors.js';
import type { MqttClient, MqttServiceContext, WillMessage } from './client.js';
import { handleConnect } from './connect.js';
import { handlePublish, publishWill } from './publish.js';
import { handleSubscribe, handleUnsubscribe } from './subscribe.js';
import type { Session } from './session.js';
import { RC, type V5Connection } from './v5.js';

/** Before CONNECT, RabbitMQ 3.12+ accepts packets up to 64 KiB (max_packet_size_unauthenticated). */
const MAX_PACKET_BEFORE_CONNECT = 65536;

let nextMqttConnectionId = 1;

/** Emitted on the stream before a protocol violation closes it (a WebSocket closes with 1002 then). */
export const PROTOCOL_ERROR_EVENT = 'mqtt-protocol-error';

export type MqttPacket = mqttPacket.Packet;

export class MqttConnection implements MqttClient {
  readonly id = nextMqttConnectionId++;
  state: 'awaiting-connect' | 'connected' | 'closed' = 'awaiting-connect';
  protocolVersion: 3 | 4 | 5 = 4;
  /** Set by CONNECT. */
  clientId = '';
  userName: string | undefined;
  vhostName: string | undefined;
  session: Session | undefined;
  will: WillMessage | undefined;
  v5: V5Connection | undefined;
  log: Logger;
  /** False while the socket's buffer is over its high-water mark: consumers wait for 'drain'. */
  writable = true;
  private readonly parser: ReturnType<typeof mqttPacket.parser>;
  private keepAliveMs = 0;
  private lastReceived = 0;
  private keepAliveTimer: NodeJS.Timeout | undefined;
  private paused = false;
  /** Called once, when the connection is gone. */
  onClosed: (() => void) | undefined;

  constructor(
    readonly stream: Duplex,
    readonly peer: PeerInfo,
    readonly service: MqttServiceContext,
  ) {
    this.log = service.log.child({ mqttConnection: this.id, peer: peer.remoteAddress === undefined ? 'in-process' : `${peer.remoteAddress}:${peer.remotePort}` });
    this.parser = mqttPacket.parser({ protocolVersion: 4 });
    this.parser.on('packet', (p: MqttPacket) => this.received(p));
    this.parser.on('error', (e: Error) => this.framingError(e));
    stream.on('data', (chunk: Buffer) => this.data(chunk));
    stream.on('drain', () => {
      this.writable = true;
      this.session?.wakeConsumers();
    });
    stream.on('error', (err) => this.gone(`socket error: ${err.message}`));
    stream.on('close', () => this.gone('socket closed'));
    stream.on('end', () => this.gone('socket closed by the client'));
    if (service.broker.alarms.any) this.alarmsChanged();
  }

  private data(chunk: Buffer): void {
    if (this.state === 'closed') return;
    this.lastReceived = Date.now();
    this.parser.parse(chunk);
    // The parser keeps an incomplete packet's bytes; its declared length is known once the fixed
    // header is in. One over the limit is refused before its bytes pile up.
    // (mqtt-packet's Parser has `packet`, the one being parsed, but its types do not declare it.)
    const length = (this.parser as unknown as { packet: { length: number } }).packet.length;
    if (!this.isClosed() && length > (this.state === 'awaiting-connect' ? MAX_PACKET_BEFORE_CONNECT : this.service.settings.maxPacketSize)) {
      this.protocolError(`MQTT packet of ${length} bytes is over the limit`, RC.PACKET_TOO_LARGE);
    }
  }

  private framingError(e: Error): void {
    if (this.state === 'closed') return;
    this.protocolError(`MQTT detected framing error: ${e.message}`, RC.MALFORMED_PACKET);
  }

  /** Read through a method: the handlers the parser calls may have closed the connection. */
  private isClosed(): boolean {
    return this.state === 'closed';
  }

  /**
   * A protocol violation: logged, the connection closed, no will (rabbit_mqtt_reader's {stop, ...});
   * an MQTT 5 client is told why first (DISCONNECT with the reason code, 0x82 unless given).
   */
  protocolError(reason: string, reasonCode: number = RC.PROTOCOL_ERROR): void {
    this.log.error({ clientId: this.clientId || undefined }, reason);
    this.stream.emit(PROTOCOL_ERROR_EVENT);
    this.disconnect(reasonCode, reason);
  }

  disconnect(reasonCode: number, reason: string): void {
    if (this.v5 !== undefined && this.state === 'connected') this.send({ cmd: 'disconnect', reasonCode });
    this.close(reason);
  }

  /** Every handler runs to completion synchronously, so packets are handled one by one in order. */
  private received(p: MqttPacket): void {
    if (this.state === 'closed') return;
    // A packet over the limit that came whole in one read (the check in data() sees only a partial one).
    if (this.state === 'connected' && (p.length ?? 0) > this.service.settings.maxPacketSize) {
      return this.protocolError(`MQTT packet of ${p.length} bytes is over the limit`, RC.PACKET_TOO_LARGE);
    }
    try {
      this.dispatch(p);
    } catch (e) {
      this.failed(p, e);
    }
  }

  /** The one switch: each packet kind to its handler. */
  private dispatch(p: MqttPacket): void {
    if (this.state === 'awaiting-connect') {
      if (p.cmd !== 'connect') return this.protocolError(`MQTT protocol error: ${p.cmd.toUpperCase()} before CONNECT (connect_expected)`);
      handleConnect(this, p);
      return;
    }
    switch (p.cmd) {
      case 'connect':
        // [MQTT-3.1.0-2]: a second CONNECT is a protocol violation.
        return this.protocolError('MQTT protocol error: a second CONNECT on the connection');
      case 'publish':
        return handlePublish(this, p);
      case 'puback':
        return this.session!.acknowledged(p.messageId!);
      case 'subscribe':
        return handleSubscribe(this, p);
      case 'unsubscribe':
        return handleUnsubscribe(this, p);
      case 'pingreq':
        this.send({ cmd: 'pingresp' });
        return;
      case 'disconnect':
        // MQTT 5: any reason code but 0 (0x04 "disconnect with will message" among them) sends the will.
        if (this.v5 !== undefined && (p.reasonCode ?? 0) > 0) return this.publishWillAndClose(`client sent DISCONNECT (reason code ${p.reasonCode})`);
        this.will = undefined;
        return this.close('client sent DISCONNECT');
      case 'pubrec':
      case 'pubrel':
      case 'pubcomp':
        // QoS 2 flows never start: publishes are downgraded and deliveries are at most QoS 1.
        return;
      default:
        return this.protocolError(`MQTT protocol error: unexpected ${p.cmd.toUpperCase()} from a client`);
    }
  }

  /** A refusal from the broker model (403 on a publish or subscribe) or a bug: log and close. */
  private failed(p: MqttPacket, e: unknown): void {
    if (e instanceof AmqpError) {
      this.log.error({ clientId: this.clientId, packet: p.cmd }, `MQTT ${p.cmd.toUpperCase()} refused: ${e.replyText}`);
      this.disconnect(e.code === 403 ? RC.NOT_AUTHORIZED : RC.UNSPECIFIED_ERROR, e.replyText);
      return;
    }
    this.log.error({ clientId: this.clientId, packet: p.cmd, err: e }, `MQTT ${p.cmd.toUpperCase()} failed`);
    this.disconnect(RC.IMPLEMENTATION_SPECIFIC_ERROR, 'internal error');
  }

  send(packet: Record<string, unknown>): boolean {
    if (this.state === 'closed' || this.stream.destroyed) return false;
    const bytes = mqttPacket.generate(packet as unknown as MqttPacket, { protocolVersion: this.protocolVersion });
    // [MQTT-3.1.2-24]: nothing over the client's Maximum Packet Size is sent; a PUBLISH is dropped.
    if (this.v5 !== undefined && bytes.length > this.v5.maxPacketSizeOut) {
      this.log.debug({ clientId: this.clientId, bytes: bytes.length, max: this.v5.maxPacketSizeOut }, `MQTT ${String(packet.cmd).toUpperCase()} over the client's Maximum Packet Size not sent`);
      return false;
    }
    // The packets of one turn (a batch of deliveries, the PUBACKs of a socket read) leave in one
    // write: corked here, uncorked once the turn's work is done.
    if (!this.corked) {
      this.corked = true;
      this.stream.cork();
      process.nextTick(this.uncork);
    }
    if (!this.stream.write(bytes)) this.writable = false;
    return true;
  }

  private corked = false;
  private readonly uncork = (): void => {
    this.corked = false;
    this.stream.uncork();
  };

  /** CONNECT was accepted: keep-alive starts (1.5 times the client's interval, [MQTT-3.1.2-24]). */
  startKeepAlive(seconds: number): void {
    if (seconds <= 0) return;
    this.keepAliveMs = seconds * 1500;
    this.lastReceived = Date.now();
    this.armKeepAlive(this.keepAliveMs);
  }

  private armKeepAlive(ms: number): void {
    this.keepAliveTimer = setTimeout(() => {
      const idle = Date.now() - this.lastReceived;
      if (idle < this.keepAliveMs) return this.armKeepAlive(this.keepAliveMs - idle);
      this.log.error({ clientId: this.clientId }, 'closing MQTT connection (keepalive timeout)');
      if (this.v5 !== undefined) this.send({ cmd: 'disconnect', reasonCode: RC.KEEP_ALIVE_TIMEOUT });
      this.publishWillAndClose('keepalive timeout');
    }, ms);
    this.keepAliveTimer.unref?.();
  }

  /** Resource alarms: while one is in effect nothing is read from MQTT sockets (rabbit_mqtt_reader). */
  alarmsChanged(): void {
    const block = this.service.broker.alarms.any;
    if (block === this.paused) return;
    this.paused = block;
    if (block) this.stream.pause();
    else this.stream.resume();
  }

  /** The peer went away without DISCONNECT: its will goes out (rabbit_mqtt_reader:network_error). */
  private gone(reason: string): void {
    if (this.state === 'closed') return;
    this.publishWillAndClose(reason);
  }

  private publishWillAndClose(reason: string): void {
    const will = this.will;
    this.will = undefined;
    if (will !== undefined && this.state === 'connected') {
      // MQTT 5's Will Delay Interval: later, unless a connection with the client id comes first.
      if ((will.delaySeconds ?? 0) > 0) this.service.delayWill(this, will);
      else publishWill(this, will);
    }
    this.close(reason);
  }

  /** Closes the connection (no will): its session lets go of its consumers and deliveries. */
  close(reason: string): void {
    if (this.state === 'closed') return;
    const wasConnected = this.state === 'connected';
    this.state = 'closed';
    if (this.keepAliveTimer !== undefined) clearTimeout(this.keepAliveTimer);
    this.session?.close();
    // What was written (a CONNACK with a refusal) goes out first; then the socket goes.
    this.stream.end(() => this.stream.destroy());
    if (wasConnected) this.log.info({ clientId: this.clientId, reason }, 'MQTT connection closed');
    else this.log.debug({ reason }, 'MQTT connection closed');
    this.onClosed?.();
  }
}
