/**
 * Names on the AMQP side of an MQTT session, exactly as RabbitMQ's MQTT plugin (3.10,
 * deps/rabbitmq_mqtt/src/rabbit_mqtt_util.erl) makes them, so that mixed deployments move unchanged:
 *
 *   MQTT  AMQP  meaning
 *   /     .     topic level separator
 *   +     *     one level
 *   #     #     any number of levels
 *
 * The translation is character by character both ways (string:replace ... all), so an MQTT topic
 * with a '.' in it reaches AMQP as a level separator, and a routing key with a '/' reaches MQTT
 * with one: RabbitMQ does the same.
 */

/** rabbit_mqtt_util's mqtt-to-amqp: '/' to '.', then '+' to '*'. */
export function mqttTopicToRoutingKey(topic: string): string {
  return topic.replaceAll('/', '.').replaceAll('+', '*');
}

/** rabbit_mqtt_util's amqp-to-mqtt: '*' to '+', then '.' to '/'. */
export function routingKeyToMqttTopic(routingKey: string): string {
  return routingKey.replaceAll('*', '+').replaceAll('.', '/');
}

/** The two queues of a client's subscriptions (rabbit_mqtt_util:subcription_queue_name/1, sic). */
export function subscriptionQueueNames(clientId: string): { readonly qos0: string; readonly qos1: string } {
  const base = `mqtt-subscription-${clientId}qos`;
  return { qos0: `${base}0`, qos1: `${base}1` };
}

/**
 * vhost_in_username/1 and get_vhost_username/1: "vhost:user" names a vhost, split at the last
 * colon (re:split(UserBin, ":(?!.*?:)")), so a vhost may hold colons and a user name may not.
 */
export function vhostFromUsername(username: string, defaultVhost: string): { readonly vhost: string; readonly user: string } {
  const i = username.lastIndexOf(':');
  if (i < 0) return { vhost: defaultVhost, user: username };
  return { vhost: username.slice(0, i), user: username.slice(i + 1) };
}
