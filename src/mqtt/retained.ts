/**
 * Retained messages of one vhost (rabbit_mqtt_retainer): the last retained PUBLISH per topic,
 * replaced by the next one and cleared by one with an empty payload. RabbitMQ 3.10 looks a
 * subscription's filter up as a key (rabbit_mqtt_retainer:fetch/2), so a retained message reaches
 * a subscription whose filter is its exact topic, never one with wildcards. Both the topic and the
 * filter are keyed after the plugin's amqp-to-mqtt translation ('.' reads as '/', '*' as '+').
 *
 * With a data directory they are also written to its retained store (retained-store.ts), per vhost
 * as RabbitMQ's dets store keeps them, and so survive a restart.
 */
import type { RetainedStore } from './retained-store.js';
import { routingKeyToMqttTopic } from './topics.js';

export interface RetainedMessage {
  readonly payload: Buffer;
  readonly qos: 0 | 1;
}

export class RetainedMessages {
  private readonly byTopic: Map<string, RetainedMessage>;

  constructor(
    private readonly vhost: string,
    private readonly store: RetainedStore | undefined,
  ) {
    this.byTopic = store?.open(vhost, () => this.byTopic) ?? new Map();
  }

  /** hand_off_to_retainer/4 */
  retain(topic: string, message: RetainedMessage): void {
    const key = routingKeyToMqttTopic(topic);
    const replaced = this.byTopic.get(key);
    if (message.payload.length === 0) {
      if (replaced === undefined) return;
      this.byTopic.delete(key);
      this.store?.append(this.vhost, key, undefined, replaced);
    } else {
      this.byTopic.set(key, message);
      this.store?.append(this.vhost, key, message, replaced);
    }
  }

  fetch(filter: string): RetainedMessage | undefined {
    return this.byTopic.get(routingKeyToMqttTopic(filter));
  }

  get size(): number {
    return this.byTopic.size;
  }
}
