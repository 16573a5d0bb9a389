/**
 * Retained messages are kept per vhost on disk, as RabbitMQ's dets store keeps them: after a restart
 * a subscriber still gets the last retained message of its topic, a cleared topic stays cleared,
 * each vhost has its own, a torn record at the end of a log is dropped, and a deleted vhost's
 * messages are gone with it.
 */
import { appendFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { startBroker, type RunningBroker } from '../../src/index.js';
import { useTempDirs } from '../helpers/disk-brokers.js';

const tempDir = useTempDirs();
const clients: MqttClient[] = [];
const brokers: RunningBroker[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true).catch(() => {})));
  for (const b of brokers.splice(0)) await b.close();
});

async function start(dataDir: string): Promise<RunningBroker> {
  const b = await startBroker({ port: 0, mqttPort: 0, dataDir, durability: 'fsync', logLevel: 'silent', rabbitmqVersion: '3.10' });
  brokers.push(b);
  return b;
}

async function client(b: RunningBroker, clientId: string, username = 'guest'): Promise<MqttClient> {
  const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${b.mqttPort}`, { clientId, protocolVersion: 4, reconnectPeriod: 0, username, password: 'guest' });
  clients.push(c);
  return c;
}

async function stop(b: RunningBroker): Promise<void> {
  await Promise.all(clients.splice(0).map((c) => c.endAsync().catch(() => {})));
  brokers.splice(brokers.indexOf(b), 1);
  await b.close();
}

/**
 * What a fresh subscriber to each topic receives first: its retained message (sent after the SUBACK)
 * if there is one, else the marker published after subscribing.
 */
async function retainedOf(b: RunningBroker, topics: string[], username = 'guest'): Promise<string[]> {
  const c = await client(b, `probe-${topics.join('-').replaceAll('/', '_')}`, username);
  const first = new Map<string, string>();
  let markers = 0;
  const done = new Promise<void>((resolve) => {
    c.on('message', (topic, payload, packet) => {
      if (!first.has(topic)) first.set(topic, `${topic}=${payload.toString()}${packet.retain ? ' (retained)' : ''}`);
      if (payload.toString() === 'marker' && ++markers === topics.length) resolve();
    });
  });
  for (const t of topics) {
    await c.subscribeAsync(t, { qos: 1 });
    await c.publishAsync(t, 'marker', { qos: 1 });
  }
  await done;
  return topics.map((t) => first.get(t)!);
}

describe('durable MQTT retained messages', () => {
  it('keeps the last retained message per topic and vhost across a restart, cleared ones stay cleared', async () => {
    const dataDir = tempDir('warren-mqtt-retained-');
    const first = await start(dataDir);
    first.broker.access.putVhost({ name: 'other' });
    first.broker.access.setPermissions('guest', 'other', '.*', '.*', '.*');
    const pub = await client(first, 'retain-pub');
    await pub.publishAsync('r/a', 'first', { qos: 1, retain: true });
    await pub.publishAsync('r/a', 'second', { qos: 1, retain: true });
    await pub.publishAsync('r/b', 'to be cleared', { qos: 0, retain: true });
    await pub.publishAsync('r/b', '', { qos: 1, retain: true });
    const other = await client(first, 'retain-pub-other', 'other:guest');
    await other.publishAsync('r/a', 'in other', { qos: 1, retain: true });
    await stop(first);

    const second = await start(dataDir);
    expect(await retainedOf(second, ['r/a', 'r/b'])).toEqual(['r/a=second (retained)', 'r/b=marker']);
    expect(await retainedOf(second, ['r/a'], 'other:guest')).toEqual(['r/a=in other (retained)']);
  });

  it('drops a torn last record, and forgets the messages of a deleted vhost', async () => {
    const dataDir = tempDir('warren-mqtt-retained-');
    const first = await start(dataDir);
    first.broker.access.putVhost({ name: 'gone' });
    first.broker.access.setPermissions('guest', 'gone', '.*', '.*', '.*');
    const pub = await client(first, 'torn-pub');
    await pub.publishAsync('t/a', 'whole', { qos: 1, retain: true });
    const inGone = await client(first, 'gone-pub', 'gone:guest');
    await inGone.publishAsync('t/a', 'in gone', { qos: 1, retain: true });
    await stop(first);
    const dir = join(dataDir, 'mqtt-retained');
    expect(readdirSync(dir).sort()).toEqual([`${Buffer.from('/').toString('hex')}.log`, `${Buffer.from('gone').toString('hex')}.log`]);
    // Half a record: a topic length and the start of a topic, as a crash mid-write leaves it.
    appendFileSync(join(dir, `${Buffer.from('/').toString('hex')}.log`), Buffer.from([0x00, 0x09, 0x74, 0x2f]));

    const second = await start(dataDir);
    expect(await retainedOf(second, ['t/a'])).toEqual(['t/a=whole (retained)']);
    second.broker.access.deleteVhost('gone');
    await stop(second);
    expect(readdirSync(dir)).toEqual([`${Buffer.from('/').toString('hex')}.log`]);
  });
});
