/**
 * SUBSCRIBE and UNSUBSCRIBE (rabbit_mqtt_processor 3.10): each filter becomes a binding of the
 * session's queue for the granted QoS (QoS 2 is granted as 1), SUBACK lists the granted levels in
 * order, and then each filter's retained message, if its topic is exactly the filter, is sent with
 * the retain flag at the lower of the two QoS levels. A refused permission closes the connection
 * without a SUBACK, as the plugin's AMQP channel failing does.
 */
import type { ISubscribePacket, IUnsubscribePacket } from 'mqtt-packet';
import type { MqttClient } from './client.js';
import { routingKeyToMqttTopic } from './topics.js';

export function handleSubscribe(client: MqttClient, p: ISubscribePacket): void {
  const session = client.session!;
  const granted: (0 | 1)[] = [];
  for (const s of p.subscriptions) {
    const qos: 0 | 1 = s.qos === 0 ? 0 : 1;
    session.bind(qos, s.topic);
    granted.push(qos);
  }
  client.send({ cmd: 'suback', messageId: p.messageId, granted });
  const retained = client.service.retained(session.vhost.name);
  for (const s of p.subscriptions) {
    const msg = retained.fetch(s.topic);
    if (msg === undefined) continue;
    const qos = Math.min(s.qos, msg.qos);
    // Not tracked: 3.10 ignores the PUBACK of a retained message.
    client.send({ cmd: 'publish', topic: routingKeyToMqttTopic(s.topic), payload: msg.payload, qos, dup: false, retain: true, ...(qos === 1 ? { messageId: session.takePacketId() } : {}) });
  }
}

export function handleUnsubscribe(client: MqttClient, p: IUnsubscribePacket): void {
  const session = client.session!;
  for (const filter of p.unsubscriptions) session.unbind(filter);
  client.send({ cmd: 'unsuback', messageId: p.messageId });
}
