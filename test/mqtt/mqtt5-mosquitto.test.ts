/**
 * MQTT 5 behaviours the specification leaves no choice on, run against Debian's mosquitto (2.0, on
 * a free port with a config file of its own) and against Warren, and compared: retain handling 0,
 * 1 and 2, retain-as-published, no-local, UNSUBACK reason codes, inbound topic aliases, and a
 * request/reply's response topic and correlation data. Skipped (with the reason) when
 * /usr/sbin/mosquitto is not installed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withMqttBroker } from '../helpers/mqtt.js';

const MOSQUITTO = '/usr/sbin/mosquitto';
const fx = withMqttBroker({ rabbitmqVersion: '4.x' });
let mosquitto: ChildProcess | undefined;
let mosquittoPort = 0;
const dir = mkdtempSync(join(tmpdir(), 'warren-mosquitto-'));

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const a = s.address() as { port: number };
      s.close(() => resolve(a.port));
    });
  });
}

async function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = tcpConnect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

beforeAll(async () => {
  if (!existsSync(MOSQUITTO)) return;
  mosquittoPort = await freePort();
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(conf, `listener ${mosquittoPort} 127.0.0.1\nallow_anonymous true\npersistence false\n`);
  mosquitto = spawn(MOSQUITTO, ['-c', conf], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => mosquitto!.once('exit', () => resolve()));
  // Poll until the port answers (or mosquitto exits): the listener has no event to wait for.
  let up = false;
  while (!up && mosquitto.exitCode === null) {
    up = await portOpen(mosquittoPort);
    if (!up) await Promise.race([exited, new Promise((resolve) => setImmediate(resolve))]);
  }
  if (!up) throw new Error('mosquitto did not start');
});

afterAll(() => {
  mosquitto?.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
});

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setImmediate(resolve));
}

/** One scenario against a broker: what the clients observe, as lines. */
async function scenario(port: number, prefix: string): Promise<string[]> {
  const clients: MqttClient[] = [];
  const lines: string[] = [];
  const connect = async (id: string, properties: Record<string, number> = {}) => {
    const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: `${prefix}${id}`, protocolVersion: 5, reconnectPeriod: 0, username: 'guest', password: 'guest', properties });
    clients.push(c);
    c.on('message', (topic, payload, packet) => lines.push(`${id} got ${topic.slice(prefix.length)}=${payload} retain=${packet.retain} corr=${packet.properties?.correlationData?.toString() ?? '-'} resp=${packet.properties?.responseTopic?.slice(prefix.length) ?? '-'}`));
    c.on('packetreceive', (p) => {
      if (p.cmd === 'suback' || p.cmd === 'unsuback') lines.push(`${id} ${p.cmd} ${JSON.stringify((p as { granted?: number[] }).granted)}`);
      if (p.cmd === 'puback') lines.push(`${id} puback ${p.reasonCode ?? 0}`);
    });
    return c;
  };
  const t = (s: string) => `${prefix}${s}`;
  try {
    const pub = await connect('pub');
    await pub.publishAsync(t('kept'), 'old', { qos: 1, retain: true });
    const sub = await connect('sub');
    await sub.subscribeAsync(t('kept'), { qos: 1, rh: 1 });
    await until(() => lines.some((l) => l.startsWith('sub got')));
    await sub.subscribeAsync(t('kept'), { qos: 1, rh: 1 });
    await sub.subscribeAsync(t('kept'), { qos: 1, rh: 2 });
    await sub.subscribeAsync(t('kept'), { qos: 1, rh: 0 });
    await until(() => lines.filter((l) => l.startsWith('sub got')).length === 2);
    // Live: without retain-as-published the flag is cleared, with it (a fresh filter) kept.
    await pub.publishAsync(t('kept'), 'new', { qos: 1, retain: true });
    await until(() => lines.filter((l) => l.startsWith('sub got')).length === 3);
    await sub.subscribeAsync(t('rap'), { qos: 1, rap: true });
    await pub.publishAsync(t('rap'), 'as published', { qos: 1, retain: true });
    await until(() => lines.filter((l) => l.startsWith('sub got')).length === 4);
    await pub.publishAsync(t('rap'), '', { qos: 1, retain: true });
    await until(() => lines.filter((l) => l.startsWith('sub got')).length === 5);
    await sub.subscribeAsync(t('mine'), { qos: 1, nl: true });
    await sub.publishAsync(t('mine'), 'own', { qos: 1 });
    await pub.publishAsync(t('mine'), 'theirs', { qos: 1, properties: { responseTopic: t('back'), correlationData: Buffer.from('c1') } });
    await until(() => lines.filter((l) => l.startsWith('sub got')).length === 6);
    await sub.unsubscribeAsync([t('mine'), t('never')]);
    await pub.publishAsync(t('alias/one'), 'a1', { qos: 0, properties: { topicAlias: 2 } });
    await sub.subscribeAsync(t('alias/#'), { qos: 0 });
    await pub.publishAsync(t('alias/one'), 'a2', { qos: 1, properties: { topicAlias: 2 } });
    await until(() => lines.filter((l) => l.startsWith('sub got')).length === 7);
    // Clear the retained message for the next run.
    await pub.publishAsync(t('kept'), '', { qos: 1, retain: true });
  } finally {
    await Promise.all(clients.map((c) => c.endAsync(true)));
  }
  // The order within each client counts; the interleaving between clients is the scheduler's.
  return [...lines.filter((l) => l.startsWith('pub')), ...lines.filter((l) => l.startsWith('sub'))];
}

describe('MQTT 5 next to mosquitto', () => {
  it('retain handling, retain-as-published, no-local, UNSUBACK codes, topic aliases and request/reply properties match', async (ctx) => {
    if (mosquitto === undefined) return ctx.skip(`${MOSQUITTO} is not installed`);
    const warren = await scenario(fx.broker.mqttPort!, 'w5-');
    const reference = await scenario(mosquittoPort, 'm5-');
    expect(warren).toEqual(reference);
    expect(warren.filter((l) => l.startsWith('sub got'))).toHaveLength(8);
  });
});
