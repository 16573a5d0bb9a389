/**
 * A persistent MQTT session across a broker restart: its QoS 1 queue is durable, its bindings are
 * recorded, and QoS 1 publishes are persistent (delivery mode 2), so after a clean restart the
 * client finds its session (session present) and the messages published while it was away.
 */
import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';
import { startBroker } from '../../src/index.js';
import { useTempDirs } from '../helpers/disk-brokers.js';

const tempDir = useTempDirs();

function connect(port: number, clientId: string) {
  return mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId, clean: false, protocolVersion: 4, reconnectPeriod: 0 });
}

describe('MQTT persistent sessions and restarts', () => {
  it('keeps the subscription and the QoS 1 messages of a persistent session across a restart', async () => {
    const dataDir = tempDir('warren-mqtt-');
    const options = { port: 0, mqttPort: 0, dataDir, durability: 'fsync' as const, logLevel: 'silent' as const, rabbitmqVersion: '3.10' as const };
    const first = await startBroker(options);
    const sub = await connect(first.mqttPort!, 'restart-sub');
    await sub.subscribeAsync('restart/t', { qos: 1 });
    // Closed by the broker once it has handled the DISCONNECT: the subscriber is gone by then.
    const gone = new Promise<void>((resolve) => sub.once('close', () => resolve()));
    await sub.endAsync();
    await gone;
    const pub = await connect(first.mqttPort!, 'restart-pub');
    // The PUBACK comes once the message is on disk (the durable queue's fsync).
    await pub.publishAsync('restart/t', 'survives', { qos: 1 });
    await pub.endAsync();
    await first.close();

    const second = await startBroker(options);
    try {
      const messages: string[] = [];
      const again = mqtt.connect(`mqtt://127.0.0.1:${second.mqttPort}`, { clientId: 'restart-sub', clean: false, protocolVersion: 4, reconnectPeriod: 0 });
      const got = new Promise<void>((resolve) => {
        again.on('message', (_t, payload) => {
          messages.push(payload.toString());
          resolve();
        });
      });
      const connack = await new Promise<{ sessionPresent: boolean }>((resolve) => again.once('connect', resolve));
      expect(connack.sessionPresent).toBe(true);
      await got;
      expect(messages).toEqual(['survives']);
      await again.endAsync();
    } finally {
      await second.close();
    }
  });
});
