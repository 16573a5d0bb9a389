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
import { type PublishProperties, RC, TOPIC_ALIAS_MAXIMUM } from './v5.js';

export function handlePublish(client: MqttClient, p: IPublishPacket): void {
  const session = client.session!;
  const v5 = client.v5;
  let topic = p.topic;
  const props = p.properties as PublishProperties | undefined;
  if (v5 !== undefined) {
    // MQTT 5 announces Maximum QoS 1: a QoS 2 publish is refused (0x9B), not downgraded.
    if (p.qos === 2) return client.disconnect(RC.QOS_NOT_SUPPORTED, 'MQTT 5 PUBLISH with QoS 2');
    const resolved = resolveTopicAlias(v5.aliasesIn, topic, props?.topicAlias);
    if (typeof resolved === 'number') return client.protocolError(`MQTT protocol error: topic alias ${props?.topicAlias} ${resolved === RC.TOPIC_ALIAS_INVALID ? 'out of range' : 'unknown'}`, resolved);
    topic = resolved;
  }
  const qos: 0 | 1 = p.qos === 0 ? 0 : 1;
  const payload = typeof p.payload === 'string' ? Buffer.from(p.payload) : p.payload;
  const retained = p.retain === true;
  if (qos === 0) {
    route(session, topic, 0, p.dup, payload, undefined, props, retained);
  } else {
    const tracker = session.trackPublish(p.messageId!);
    if (route(session, topic, 1, p.dup, payload, tracker, props, retained) === 0 && v5 !== undefined) tracker.unroutable = true;
    tracker.stored(undefined);
  }
  if (retained) client.service.retained(session.vhost.name).retain(topic, { payload, qos });
}

/**
 * process_topic_alias_inbound/2: an alias (1 to the Topic Alias Maximum announced) with a topic sets
 * it; without one (an empty topic) it names the topic set before. The topic, or the reason code.
 */
function resolveTopicAlias(aliases: Map<number, string>, topic: string, alias: number | undefined): string | number {
  if (alias === undefined) return topic === '' ? RC.PROTOCOL_ERROR : topic;
  if (alias < 1 || alias > TOPIC_ALIAS_MAXIMUM) return RC.TOPIC_ALIAS_INVALID;
  if (topic !== '') {
    aliases.set(alias, topic);
    return topic;
  }
  return aliases.get(alias) ?? RC.PROTOCOL_ERROR;
}

function route(session: Session, topic: string, qos: 0 | 1, dup: boolean, payload: Buffer, tracker: Parameters<Session['vhost']['publish']>[4], props: PublishProperties | undefined, retained: boolean): number {
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
  const msg = messageFromMqtt(exchangeName, routingKey, qos, dup, payload, props);
  // MQTT 5's no-local and retain-as-published look these up (only the v5 sessions that need them).
  if (session.client.v5 !== undefined && session.options.size > 0) session.ownPublishes.add(msg);
  if (retained) session.client.service.publishedRetained.add(msg);
  return vhost.publish(exchange, routingKey, undefined, msg, tracker, undefined);
}

/**
 * send_will/1: the will is published as a publish of the client's would be, if the user may
 * (otherwise a warning, and nothing), and retained if it asks to be.
 */
export function publishWill(client: MqttClient, will: WillMessage): void {
  const session = client.session;
  if (session === undefined) return;
  try {
    route(session, will.topic, will.qos, false, will.payload, undefined, will.properties, will.retain);
  } catch (e) {
    client.log.warn({ clientId: client.clientId, topic: will.topic }, `Could not send last will: ${(e as AmqpError).replyText ?? String(e)}`);
    return;
  }
  if (will.retain) client.service.retained(session.vhost.name).retain(will.topic, { payload: will.payload, qos: will.qos });
}
