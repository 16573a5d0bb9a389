/**
 * PUBLISH from a client, and the will: into the plugin's exchange through vhost.publish(), the one
 * way a message enters queues, after the basic.publish row of the access table (write on the
 * exchange, topic write on the routing key). As RabbitMQ 3.10 (rabbit_mqtt_processor:
 * process_request(?PUBLISH), amqp_pub/2):
 *
 * - QoS 2 is taken as QoS 1: the client gets a PUBACK (no PUBREC).
 * - a QoS 1 publish is acknowledged once every queue it reached has it (durably, for the durable
 *   queues of persistent sessions): the confirm of the plugin's confirm-mode channel.
 * - a retained publish is routed as any other, then kept for later subscribers (retained.ts).
 */
import type { IPublishPacket } from 'mqtt-packet';
import { authorize } from '../access/method-access.js';
import type { AmqpError } from '../errors.js';
import type { MqttClient, WillMessage } from './client.js';
import { messageFromMqtt } from './messages.js';
import type { Session } from './session.js';
import { mqttTopicToRoutingKey } from './topics.js';

export function handlePublish(client: MqttClient, p: IPublishPacket): void {
  const session = client.session!;
  const qos: 0 | 1 = p.qos === 0 ? 0 : 1;
  const payload = typeof p.payload === 'string' ? Buffer.from(p.payload) : p.payload;
  if (qos === 0) {
    route(session, p.topic, 0, p.dup, payload, undefined);
  } else {
    const tracker = session.trackPublish(p.messageId!);
    route(session, p.topic, 1, p.dup, payload, tracker);
    tracker.stored(undefined);
  }
  if (p.retain) client.service.retained(session.vhost.name).retain(p.topic, { payload, qos });
}

function route(session: Session, topic: string, qos: 0 | 1, dup: boolean, payload: Buffer, tracker: Parameters<Session['vhost']['publish']>[4]): void {
  const vhost = session.vhost;
  const exchangeName = session.exchange;
  const routingKey = mqttTopicToRoutingKey(topic);
  authorize(session.access, 'basic.publish', {
    exchange: exchangeName,
    routingKey,
    exchangeFacts: () => {
      const x = vhost.exchanges.get(exchangeName);
      return x === undefined ? undefined : { type: x.type, internal: x.options.internal };
    },
  });
  const exchange = vhost.exchangeForPublish(exchangeName);
  vhost.publish(exchange, routingKey, undefined, messageFromMqtt(exchangeName, routingKey, qos, dup, payload), tracker, undefined);
}

/**
 * send_will/1: the will is published as a publish of the client's would be, if the user may
 * (otherwise a warning, and nothing), and retained if it asks to be.
 */
export function publishWill(client: MqttClient, will: WillMessage): void {
  const session = client.session;
  if (session === undefined) return;
  try {
    route(session, will.topic, will.qos, false, will.payload, undefined);
  } catch (e) {
    client.log.warn({ clientId: client.clientId, topic: will.topic }, `Could not send last will: ${(e as AmqpError).replyText ?? String(e)}`);
    return;
  }
  if (will.retain) client.service.retained(session.vhost.name).retain(will.topic, { payload: will.payload, qos: will.qos });
}
