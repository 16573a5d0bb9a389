/**
 * paho-mqtt, the Eclipse client (Debian's python3-paho-mqtt, driven by paho-client.py), for MQTT
 * 3.1.1 and 3.1: connect, subscribe, publish at each QoS, a retained message for a later client.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
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
