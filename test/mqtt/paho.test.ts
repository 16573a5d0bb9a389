/**
 * paho-mqtt, the Eclipse client (Debian's python3-paho-mqtt, driven by paho-client.py), for MQTT
 * 3.1.1 and 3.1: connect, subscribe, publish at each QoS, a retained message for a later client.
 * And its MQTTv5 client (paho5-client.py) against the 4.x personality: a request with MQTT 5
 * properties answered by an amqplib service through reply_to and correlation_id.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import amqp from 'amqplib';
import { describe, expect, it } from 'vitest';
import { withMqttBroker } from '../helpers/mqtt.js';

const run = promisify(execFile);
const fx = withMqttBroker();

describe('paho-mqtt', () => {
  for (const protocol of ['MQTTv311', 'MQTTv31']) {
    it(`works over ${protocol}`, async () => {
      const script = new URL('./paho-client.py', import.meta.url).pathname;
      const { stdout } = await run('/usr/bin/python3', [script, String(fx.broker.mqttPort), protocol], { timeout: 30_000 });
      const seen = JSON.parse(stdout);
      expect(seen.connack).toBe(0);
      expect(seen.granted).toEqual([1]);
      expect(seen.messages.slice(0, 3)).toEqual([
        { topic: 'paho/q0', payload: 'm0', qos: 0, retain: false },
        { topic: 'paho/q1', payload: 'm1', qos: 1, retain: false },
        // QoS 2 is taken as QoS 1, as RabbitMQ 3.10 does
        { topic: 'paho/q2', payload: 'm2', qos: 1, retain: false },
      ]);
      expect(seen.retained).toEqual({ topic: 'paho/kept', payload: 'retained', retain: true });
    });
  }
});

const fx5 = withMqttBroker({ rabbitmqVersion: '4.x' });

describe('paho-mqtt MQTTv5', () => {
  it('gets an answer from an AMQP service through response topic, correlation data and user properties', async () => {
    const conn = await amqp.connect(fx5.broker.url);
    try {
      const ch = await conn.createChannel();
      const { queue } = await ch.assertQueue('', { exclusive: true });
      await ch.bindQueue(queue, 'amq.topic', 'paho5.req');
      const requests: Record<string, unknown>[] = [];
      await ch.consume(queue, (m) => {
        if (m === null) return;
        requests.push({ replyTo: m.properties.replyTo, correlationId: m.properties.correlationId, contentType: m.properties.contentType, from: m.properties.headers?.from });
        ch.publish('amq.topic', m.properties.replyTo, Buffer.from(`answer to ${m.content}`), { correlationId: m.properties.correlationId, contentType: 'text/plain', headers: { served: 'amqp' } });
        ch.ack(m);
      });
      const script = new URL('./paho5-client.py', import.meta.url).pathname;
      const { stdout } = await run('/usr/bin/python3', [script, String(fx5.broker.mqttPort)], { timeout: 30_000 });
      const seen = JSON.parse(stdout);
      expect(seen.connack).toEqual({ reason: 0, maximumQoS: 1, topicAliasMaximum: 16 });
      expect(seen.granted).toEqual([1]);
      expect(requests).toEqual([{ replyTo: 'paho5.resp', correlationId: 'corr-42', contentType: 'text/plain', from: 'paho' }]);
      expect(seen.reply).toEqual({ topic: 'paho5/resp', payload: 'answer to question', correlation: 'corr-42', contentType: 'text/plain', user: [['served', 'amqp']] });
    } finally {
      await conn.close();
    }
  });
});
