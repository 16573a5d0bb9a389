/**
 * Retained messages of one vhost (rabbit_mqtt_retainer): the last retained PUBLISH per topic,
 * replaced by the next one and cleared by one with an empty payload. RabbitMQ 3.10 looks a
 * subscription's filter up as a key (rabbit_mqtt_retainer:fetch/2), so a retained message reaches
 * a subscription whose filter is its exact topic, never one with wildcards. Both the topic and the
 * filter are keyed after the plugin's amqp-to-mqtt translation ('.' reads as '/', '*' as '+').
 *
 * Held in memory: they do not survive a restart (RabbitMQ's default store, dets, keeps them).
 */
import { routingKeyToMqttTopic } from './topics.js';

export interface RetainedMessage {
  readonly payload: Buffer;
  readonly qos: 0 | 1;
}

export class RetainedMessages {
  private readonly byTopic = new Map<string, RetainedMessage>();

  /** hand_off_to_retainer/4 */
  retain(topic: string, message: RetainedMessage): void {
    const key = routingKeyToMqttTopic(topic);
    if (message.payload.length === 0) this.byTopic.delete(key);
    else this.byTopic.set(key, message);
  }

  fetch(filter: string): RetainedMessage | undefined {
    return this.byTopic.get(routingKeyToMqttTopic(filter));
  }

  get size(): number {
    return this.byTopic.size;
  }
}
