/**
 * MQTT messages as AMQP messages and back, as RabbitMQ 3.10's MQTT plugin maps them
 * (rabbit_mqtt_processor: amqp_pub/2, amqp_callback/2, delivery_qos/3, delivery_dup/1):
 *
 * - an MQTT PUBLISH becomes a basic.publish to the plugin's exchange with the topic translated
 *   (topics.ts), delivery-mode 1 for QoS 0 and 2 for QoS 1, and the headers x-mqtt-publish-qos
 *   (byte) and x-mqtt-dup (bool), in that order. No other property is set.
 * - a delivery from a subscription queue becomes a PUBLISH whose QoS is 0 from the QoS 0 queue and,
 *   from the QoS 1 queue, the x-mqtt-publish-qos header capped at 1 (1 when absent: AMQP publishes
 *   count as QoS 1, whatever their delivery mode); DUP is the redelivered flag or x-mqtt-dup.
 */
import { Writer } from '../protocol/codec-primitives.js';
import { fv } from '../protocol/field-table.js';
import { encodeBasicProperties } from '../protocol/generated/properties.js';
import { Message, scanProperties } from '../message/message.js';
import { routingKeyToMqttTopic } from './topics.js';
import { amqpPropertiesFromV5, carriesProperties, type PublishProperties, v5PropertiesFromAmqp } from './v5.js';

/** The four property lists an MQTT publish can have, encoded once: [qos][dup]. */
const PUBLISH_PROPERTIES: readonly (readonly [Buffer, Buffer])[] = [0, 1].map((qos) => {
  const one = (dup: boolean) => {
    const w = new Writer(64);
    encodeBasicProperties(w, {
      headers: new Map([
        ['x-mqtt-publish-qos', { type: 'b', value: qos }],
        ['x-mqtt-dup', fv.bool(dup)],
      ]),
      deliveryMode: qos === 0 ? 1 : 2,
    });
    return Buffer.from(w.bytes());
  };
  return [one(false), one(true)] as const;
});

function mqttProperties(p: Buffer): { qos: 0 | 1; dup: boolean } | undefined {
  for (const qos of [0, 1] as const) {
    const pair = PUBLISH_PROPERTIES[qos]!;
    if (p === pair[0]) return { qos, dup: false };
    if (p === pair[1]) return { qos, dup: true };
  }
  return undefined;
}

/** The AMQP message of an MQTT publish (QoS already downgraded to 0 or 1), with MQTT 5's properties mapped. */
export function messageFromMqtt(exchange: string, routingKey: string, qos: 0 | 1, dup: boolean, payload: Buffer, v5?: PublishProperties): Message {
  const properties = carriesProperties(v5) ? amqpPropertiesFromV5(qos, dup, v5) : PUBLISH_PROPERTIES[qos]![dup ? 1 : 0]!;
  const msg = new Message(exchange, routingKey, properties, payload);
  scanProperties(msg, properties);
  return msg;
}

/** What an MQTT subscriber is sent for a delivery from one of its queues. */
export interface MqttDelivery {
  readonly topic: string;
  readonly qos: 0 | 1;
  readonly dup: boolean;
  readonly payload: Buffer;
}

/**
 * The PUBLISH for a delivery, from the QoS 0 queue (`fromQos1` false) or the QoS 1 queue, or
 * undefined when RabbitMQ sends nothing: a duplicate that would go out at QoS 0 is dropped (and,
 * from the QoS 1 queue, acknowledged) by amqp_callback/2's first two clauses.
 */
export function deliveryToMqtt(msg: Message, redelivered: boolean, fromQos1: boolean): MqttDelivery | undefined {
  let publishedQos: number | undefined;
  let dupHeader = false;
  const known = mqttProperties(msg.properties);
  if (known !== undefined) {
    // Published over MQTT here: the properties are one of the four above, nothing to decode.
    publishedQos = known.qos;
    dupHeader = known.dup;
  } else if (msg.hasHeaders) {
    const headers = msg.decodedProperties.headers;
    const d = headers?.get('x-mqtt-dup');
    dupHeader = d?.type === 't' && d.value;
    const q = headers?.get('x-mqtt-publish-qos');
    if (q?.type === 'b') publishedQos = q.value;
  }
  const dup = redelivered || dupHeader;
  let qos: 0 | 1 = 0;
  if (fromQos1) qos = publishedQos === undefined ? 1 : publishedQos >= 1 ? 1 : 0;
  if (dup && qos === 0) return undefined;
  return { topic: routingKeyToMqttTopic(msg.routingKey), qos, dup, payload: msg.body };
}

/** The MQTT 5 PUBLISH properties of a delivery (none for the shared lists of MQTT publishes without properties). */
export function v5DeliveryProperties(msg: Message): PublishProperties | undefined {
  if (mqttProperties(msg.properties) !== undefined) return undefined;
  return v5PropertiesFromAmqp(msg.decodedProperties);
}
