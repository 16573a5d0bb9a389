/**
 * MQTT 5.0 as RabbitMQ's native MQTT 5 (3.13 and 4.x, rabbitmq.com/docs/mqtt) maps it: reason
 * codes, the CONNACK's properties, and PUBLISH properties to AMQP 0-9-1 properties and back.
 *
 *   MQTT 5 PUBLISH property      AMQP 0-9-1
 *   Message Expiry Interval (s)  expiration (ms): a per-message TTL
 *   Content Type                 content_type
 *   Correlation Data             correlation_id (UTF-8 of at most 255 bytes), else header x-correlation-id
 *   Response Topic               reply_to (the topic as a routing key: '/' to '.')
 *   User Property                headers (string values; a repeated name: an array of them)
 *
 * Only publishes that carry properties get AMQP properties built for them; the MQTT 3 path and
 * MQTT 5 publishes without properties keep the four shared property lists of messages.ts.
 */
import { Writer } from '../protocol/codec-primitives.js';
import type { FieldTable, FieldValue } from '../protocol/field-table.js';
import { type BasicProperties, encodeBasicProperties } from '../protocol/generated/properties.js';
import { mqttTopicToRoutingKey, routingKeyToMqttTopic } from './topics.js';

export const RC = {
  SUCCESS: 0x00,
  NO_MATCHING_SUBSCRIBERS: 0x10,
  NO_SUBSCRIPTION_EXISTED: 0x11,
  DISCONNECT_WITH_WILL: 0x04,
  UNSPECIFIED_ERROR: 0x80,
  MALFORMED_PACKET: 0x81,
  PROTOCOL_ERROR: 0x82,
  IMPLEMENTATION_SPECIFIC_ERROR: 0x83,
  UNSUPPORTED_PROTOCOL_VERSION: 0x84,
  CLIENT_IDENTIFIER_NOT_VALID: 0x85,
  BAD_USER_NAME_OR_PASSWORD: 0x86,
  NOT_AUTHORIZED: 0x87,
  SERVER_UNAVAILABLE: 0x88,
  SERVER_SHUTTING_DOWN: 0x8b,
  KEEP_ALIVE_TIMEOUT: 0x8d,
  SESSION_TAKEN_OVER: 0x8e,
  TOPIC_NAME_INVALID: 0x90,
  RECEIVE_MAXIMUM_EXCEEDED: 0x93,
  TOPIC_ALIAS_INVALID: 0x94,
  PACKET_TOO_LARGE: 0x95,
  QUOTA_EXCEEDED: 0x97,
  QOS_NOT_SUPPORTED: 0x9b,
  SHARED_SUBSCRIPTIONS_NOT_SUPPORTED: 0x9e,
} as const;

/** mqtt.topic_alias_maximum's default: aliases a client may use towards the broker. */
export const TOPIC_ALIAS_MAXIMUM = 16;
/** mqtt.max_session_expiry_interval_seconds' default (one day); 0xFFFFFFFF means "never" and is capped. */
export const MAX_SESSION_EXPIRY_SECONDS = 86400;

/** The v3 return code of a refusal as its v5 reason code (connect_reason_code_to_return_code/1, inverted). */
export function connectReasonCode(v3ReturnCode: number, quota: boolean): number {
  if (quota) return RC.QUOTA_EXCEEDED;
  switch (v3ReturnCode) {
    case 2:
      return RC.CLIENT_IDENTIFIER_NOT_VALID;
    case 4:
      return RC.BAD_USER_NAME_OR_PASSWORD;
    case 5:
      return RC.NOT_AUTHORIZED;
    default:
      return RC.SERVER_UNAVAILABLE;
  }
}

/** What an MQTT 5 client announced in CONNECT, and the topic aliases of both directions. */
export interface V5Connection {
  /** Maximum Packet Size: nothing larger is sent to the client. */
  readonly maxPacketSizeOut: number;
  /** Topic Alias Maximum: aliases the broker may use towards the client. */
  readonly topicAliasMaxOut: number;
  readonly aliasesIn: Map<number, string>;
  readonly aliasesOut: Map<string, number>;
}

/** PUBLISH properties as mqtt-packet gives them. */
export interface PublishProperties {
  payloadFormatIndicator?: boolean;
  messageExpiryInterval?: number;
  topicAlias?: number;
  responseTopic?: string;
  correlationData?: Buffer;
  userProperties?: Record<string, string | string[]>;
  subscriptionIdentifier?: number | number[];
  contentType?: string;
}

/** Whether the publish has properties that reach AMQP (a topic alias alone does not). */
export function carriesProperties(p: PublishProperties | undefined): p is PublishProperties {
  if (p === undefined) return false;
  return p.messageExpiryInterval !== undefined || p.contentType !== undefined || p.correlationData !== undefined || p.responseTopic !== undefined || p.userProperties !== undefined;
}

function isShortUtf8(b: Buffer): boolean {
  if (b.length > 255) return false;
  const s = b.toString('utf8');
  return Buffer.byteLength(s) === b.length && !s.includes('\ufffd');
}

/** The AMQP properties of an MQTT 5 publish with properties (the plugin headers first). */
export function amqpPropertiesFromV5(qos: 0 | 1, dup: boolean, p: PublishProperties): Buffer {
  const headers: FieldTable = new Map<string, FieldValue>([
    ['x-mqtt-publish-qos', { type: 'b', value: qos }],
    ['x-mqtt-dup', { type: 't', value: dup }],
  ]);
  const props: BasicProperties = { headers, deliveryMode: qos === 0 ? 1 : 2 };
  if (p.contentType !== undefined && Buffer.byteLength(p.contentType) <= 255) props.contentType = p.contentType;
  if (p.messageExpiryInterval !== undefined) props.expiration = String(Math.min(p.messageExpiryInterval, 0xffffffff) * 1000);
  if (p.responseTopic !== undefined) props.replyTo = mqttTopicToRoutingKey(p.responseTopic);
  if (p.correlationData !== undefined) {
    if (isShortUtf8(p.correlationData)) props.correlationId = p.correlationData.toString('utf8');
    else headers.set('x-correlation-id', { type: 'x', value: p.correlationData });
  }
  for (const [name, value] of Object.entries(p.userProperties ?? {})) {
    if (name.startsWith('x-mqtt-')) continue;
    headers.set(name, Array.isArray(value) ? { type: 'A', value: value.map((v) => ({ type: 'S', value: v })) } : { type: 'S', value });
  }
  const w = new Writer(128);
  encodeBasicProperties(w, props);
  return Buffer.from(w.bytes());
}

function text(v: FieldValue): string | undefined {
  switch (v.type) {
    case 'S':
      return Buffer.isBuffer(v.value) ? v.value.toString('utf8') : v.value;
    case 'b':
    case 'B':
    case 's':
    case 'u':
    case 'I':
    case 'i':
    case 'l':
    case 'f':
    case 'd':
    case 't':
      return String(v.value);
    default:
      return undefined;
  }
}

/** The MQTT 5 PUBLISH properties of a delivery from its AMQP properties (the reverse mapping). */
export function v5PropertiesFromAmqp(props: BasicProperties): PublishProperties | undefined {
  const out: PublishProperties = {};
  let any = false;
  if (props.contentType !== undefined) {
    out.contentType = props.contentType;
    any = true;
  }
  if (props.correlationId !== undefined) {
    out.correlationData = Buffer.from(props.correlationId, 'utf8');
    any = true;
  }
  if (props.replyTo !== undefined) {
    out.responseTopic = routingKeyToMqttTopic(props.replyTo);
    any = true;
  }
  if (props.expiration !== undefined && /^\d+$/.test(props.expiration)) {
    out.messageExpiryInterval = Math.ceil(Number(props.expiration) / 1000);
    any = true;
  }
  const userProperties: Record<string, string | string[]> = {};
  let users = false;
  for (const [name, v] of props.headers ?? []) {
    if (name === 'x-mqtt-publish-qos' || name === 'x-mqtt-dup') continue;
    if (name === 'x-correlation-id' && v.type === 'x') {
      out.correlationData = v.value as Buffer;
      any = true;
      continue;
    }
    if (v.type === 'A') {
      const values = (v.value as FieldValue[]).map(text).filter((s): s is string => s !== undefined);
      if (values.length > 0) userProperties[name] = values;
      users ||= values.length > 0;
      continue;
    }
    const s = text(v);
    if (s === undefined) continue;
    userProperties[name] = s;
    users = true;
  }
  if (users) {
    out.userProperties = userProperties;
    any = true;
  }
  return any ? out : undefined;
}

/** Whether an MQTT topic matches a topic filter ('+' one level, '#' the rest; '$' topics only explicitly). */
export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  if (t[0]?.startsWith('$') && (f[0] === '+' || f[0] === '#')) return false;
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}
