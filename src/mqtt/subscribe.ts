/**
 * SUBSCRIBE and UNSUBSCRIBE (rabbit_mqtt_processor 3.10): each filter becomes a binding of the
 * session's queue for the granted QoS (QoS 2 is granted as 1), SUBACK lists the granted levels in
 * order, and then each filter's retained message, if its topic is exactly the filter, is sent with
 * the retain flag at the lower of the two QoS levels. A refused permission closes the connection
 * without a SUBACK, as the plugin's AMQP channel failing does.
 *
 * MQTT 5 (as RabbitMQ 3.13 and 4.x): the subscription options no-local and retain-as-published are
 * kept per filter with the SUBSCRIBE's Subscription Identifier (session.ts applies them to
 * deliveries); retain handling 0 sends the retained message at every SUBSCRIBE, 1 only when the
 * subscription is new, 2 never. Shared subscriptions ($share/...) get 0x9E (RabbitMQ 4.x has none).
 * UNSUBACK has 0x11 for a filter that was not subscribed.
 */
import type { ISubscribePacket, IUnsubscribePacket } from 'mqtt-packet';
import type { MqttClient } from './client.js';
import { routingKeyToMqttTopic } from './topics.js';
import { RC } from './v5.js';

export function handleSubscribe(client: MqttClient, p: ISubscribePacket): void {
  const session = client.session!;
  const v5 = client.v5 !== undefined;
  const identifier = v5 ? (p.properties?.subscriptionIdentifier as number | undefined) : undefined;
  const granted: number[] = [];
  const retainedFor: { filter: string; qos: 0 | 1 }[] = [];
  for (const s of p.subscriptions) {
    if (v5 && s.topic.startsWith('$share/')) {
      granted.push(RC.SHARED_SUBSCRIPTIONS_NOT_SUPPORTED);
      continue;
    }
    const qos: 0 | 1 = s.qos === 0 ? 0 : 1;
    const existed = session.subscriptions.has(s.topic);
    session.bind(qos, s.topic);
    granted.push(qos);
    if (v5) {
      if (s.nl === true || s.rap === true || identifier !== undefined) session.options.set(s.topic, { noLocal: s.nl === true, retainAsPublished: s.rap === true, identifier });
      else session.options.delete(s.topic);
    }
    const handling = v5 ? (s.rh ?? 0) : 0;
    if (handling === 0 || (handling === 1 && !existed)) retainedFor.push({ filter: s.topic, qos });
  }
  client.send({ cmd: 'suback', messageId: p.messageId, granted });
  const retained = client.service.retained(session.vhost.name);
  for (const { filter, qos: subscribed } of retainedFor) {
    const msg = retained.fetch(filter);
    if (msg === undefined) continue;
    const qos = Math.min(subscribed, msg.qos);
    // Not tracked: 3.10 ignores the PUBACK of a retained message.
    client.send({
      cmd: 'publish',
      topic: routingKeyToMqttTopic(filter),
      payload: msg.payload,
      qos,
      dup: false,
      retain: true,
      ...(qos === 1 ? { messageId: session.takePacketId() } : {}),
      ...(identifier !== undefined ? { properties: { subscriptionIdentifier: identifier } } : {}),
    });
  }
}

export function handleUnsubscribe(client: MqttClient, p: IUnsubscribePacket): void {
  const session = client.session!;
  const reasonCodes: number[] = [];
  for (const filter of p.unsubscriptions) {
    reasonCodes.push(session.subscriptions.has(filter) ? RC.SUCCESS : RC.NO_SUBSCRIPTION_EXISTED);
    session.unbind(filter);
    session.options.delete(filter);
  }
  if (client.v5 !== undefined) client.send({ cmd: 'unsuback', messageId: p.messageId, granted: reasonCodes });
  else client.send({ cmd: 'unsuback', messageId: p.messageId });
}
