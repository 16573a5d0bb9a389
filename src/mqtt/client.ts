/**
 * What the packet handlers see of a connection and of the MQTT service: interfaces only, so that
 * the connection (which dispatches to the handlers) and the handlers do not import each other.
 */
import type { Logger } from 'pino';
import type { Broker } from '../broker.js';
import type { PeerInfo } from '../connection/broker-context.js';
import type { RetainedMessages } from './retained.js';
import type { Session } from './session.js';
import type { PublishProperties, V5Connection } from './v5.js';

/** The plugin's settings (rabbitmq_mqtt's application environment, mqtt.* in rabbitmq.conf). */
export interface MqttSettings {
  /** mqtt.allow_anonymous: a CONNECT without credentials logs in as defaultUser (RabbitMQ: true). */
  readonly allowAnonymous: boolean;
  readonly defaultUser: string;
  readonly defaultPass: string;
  /** mqtt.vhost: the vhost of a user name without "vhost:". */
  readonly vhost: string;
  /** mqtt.exchange: where publishes go and subscriptions are bound. */
  readonly exchange: string;
  /** mqtt.prefetch: unacknowledged QoS 1 deliveries per subscriber. */
  readonly prefetch: number;
  /** mqtt.ssl_cert_login: a verified TLS client certificate logs its user in without a password. */
  readonly sslCertLogin: boolean;
  /** mqtt.max_packet_size_authenticated: the largest packet a logged-in client may send (MQTT 5 announces it). */
  readonly maxPacketSize: number;
}


/** A will as CONNECT gave it. */
export interface WillMessage {
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: 0 | 1;
  readonly retain: boolean;
  /** MQTT 5: the will's properties and its Will Delay Interval in seconds. */
  readonly properties?: PublishProperties | undefined;
  readonly delaySeconds?: number;
}

/** The broker-wide part: settings, client ids, retained messages. */
export interface MqttServiceContext {
  readonly broker: Broker;
  readonly log: Logger;
  readonly settings: MqttSettings;
  /** Records `client` as the holder of its client id; an earlier holder is closed (takeover). */
  claimClientId(client: MqttClient): void;
  retained(vhost: string): RetainedMessages;
  /** MQTT 5: publishes `will` after its Will Delay Interval unless the client id connects again. */
  delayWill(client: MqttClient, will: WillMessage): void;
  /** Messages published with the retain flag (MQTT 5's retain-as-published looks them up). */
  readonly publishedRetained: WeakSet<object>;
}

/** One client connection, as its handlers and its session use it. */
export interface MqttClient {
  readonly id: number;
  state: 'awaiting-connect' | 'connected' | 'closed';
  protocolVersion: 3 | 4 | 5;
  clientId: string;
  userName: string | undefined;
  vhostName: string | undefined;
  session: Session | undefined;
  will: WillMessage | undefined;
  /** MQTT 5 only. */
  v5: V5Connection | undefined;
  log: Logger;
  readonly peer: PeerInfo;
  /** False while the socket's buffer is full. */
  readonly writable: boolean;
  readonly service: MqttServiceContext;
  /** False when the packet was not sent (closed, or over the MQTT 5 client's Maximum Packet Size). */
  send(packet: Record<string, unknown>): boolean;
  close(reason: string): void;
  /** MQTT 5: a DISCONNECT with the reason code first; then, either version, the connection closed. */
  disconnect(reasonCode: number, reason: string): void;
  protocolError(reason: string, reasonCode?: number): void;
  startKeepAlive(seconds: number): void;
}
