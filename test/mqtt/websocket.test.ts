/**
 * MQTT over WebSocket (web_mqtt's /ws, subprotocol mqtt): mqtt.js over ws://, the same sessions as
 * over TCP (a WebSocket client and a TCP client see each other's publishes), AMQP round trips, and
 * the upgrade refusals and frame rules.
 */
import { once } from 'node:events';
import amqp, { type ChannelModel } from 'amqplib';
import mqtt, { type MqttClient } from 'mqtt';
import mqttPacket from 'mqtt-packet';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { connectPacket, withMqttBroker } from '../helpers/mqtt.js';

const fx = withMqttBroker({ mqttWsPort: 0 });
const opened: (MqttClient | ChannelModel | WebSocket)[] = [];
afterEach(async () => {
  for (const o of opened.splice(0)) {
    if (o instanceof WebSocket) o.terminate();
    else if ('endAsync' in o) await o.endAsync(true).catch(() => {});
    else await o.close().catch(() => {});
  }
});

const wsUrl = () => `ws://127.0.0.1:${fx.broker.mqttWsPort}/ws`;

async function wsClient(clientId: string, protocolVersion: 4 | 5 = 4): Promise<MqttClient> {
  const c = await mqtt.connectAsync(wsUrl(), { clientId, protocolVersion, reconnectPeriod: 0, username: 'guest', password: 'guest' });
  opened.push(c);
  return c;
}

function messages(c: MqttClient): { topic: string; payload: string }[] {
  const got: { topic: string; payload: string }[] = [];
  c.on('message', (topic, payload) => got.push({ topic, payload: payload.toString() }));
  return got;
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setImmediate(resolve));
}

/** A raw WebSocket with the mqtt subprotocol (or the ones given). */
async function rawWs(protocols: string[] = ['mqtt'], path = '/ws'): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${fx.broker.mqttWsPort}${path}`, protocols);
  opened.push(ws);
  ws.on('error', () => {});
  return ws;
}

const gen = (p: Record<string, unknown>) => mqttPacket.generate(p as unknown as mqttPacket.Packet, { protocolVersion: 4 });

describe('MQTT over WebSocket', () => {
  it('serves mqtt.js over ws:// with the mqtt subprotocol, in the same sessions as TCP', async () => {
    const sub = await wsClient('ws-sub');
    const got = messages(sub);
    await sub.subscribeAsync('ws/+/t', { qos: 1 });
    const tcp = await fx.client({ clientId: 'ws-tcp-pub' });
    await tcp.publishAsync('ws/a/t', 'from tcp', { qos: 1 });
    const wsPub = await wsClient('ws-pub');
    await wsPub.publishAsync('ws/b/t', 'from ws', { qos: 0 });
    await until(() => got.length === 2);
    expect(got).toEqual([
      { topic: 'ws/a/t', payload: 'from tcp' },
      { topic: 'ws/b/t', payload: 'from ws' },
    ]);
    expect(fx.broker.broker.vhosts.get('/')!.queues.get('mqtt-subscription-ws-subqos1')?.consumerCount).toBe(1);
  });

  it('round-trips between a WebSocket client and amqplib both ways', async () => {
    const conn = await amqp.connect(fx.broker.url);
    opened.push(conn);
    const ch = await conn.createConfirmChannel();
    const { queue } = await ch.assertQueue('', { exclusive: true });
    await ch.bindQueue(queue, 'amq.topic', 'dev.*.up');
    const device = await wsClient('ws-device');
    await device.subscribeAsync('dev/lamp/down', { qos: 1 });
    const got = messages(device);
    await device.publishAsync('dev/lamp/up', 'hello amqp', { qos: 1 });
    const up = await ch.get(queue, { noAck: true });
    expect(up !== false && { key: up.fields.routingKey, body: up.content.toString(), headers: up.properties.headers }).toEqual({
      key: 'dev.lamp.up',
      body: 'hello amqp',
      headers: { 'x-mqtt-publish-qos': 1, 'x-mqtt-dup': false },
    });
    ch.publish('amq.topic', 'dev.lamp.down', Buffer.from('hello mqtt'));
    await ch.waitForConfirms();
    await until(() => got.length === 1);
    expect(got[0]).toEqual({ topic: 'dev/lamp/down', payload: 'hello mqtt' });
  });

  it('takes packets split over frames and several packets in one frame', async () => {
    const ws = await rawWs();
    await once(ws, 'open');
    expect(ws.protocol).toBe('mqtt');
    const received: mqttPacket.Packet[] = [];
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    parser.on('packet', (p: mqttPacket.Packet) => received.push(p));
    ws.on('message', (d: Buffer) => parser.parse(d));
    const connect = gen(connectPacket({ clientId: 'ws-raw' }));
    ws.send(connect.subarray(0, 3));
    ws.send(connect.subarray(3));
    await until(() => received.length === 1);
    expect(received[0]).toMatchObject({ cmd: 'connack', returnCode: 0 });
    ws.send(Buffer.concat([gen({ cmd: 'subscribe', messageId: 7, subscriptions: [{ topic: 'raw/ws', qos: 0 }] }), gen({ cmd: 'pingreq' })]));
    await until(() => received.length === 3);
    expect(received.slice(1).map((p) => p.cmd)).toEqual(['suback', 'pingresp']);
  });

  it('reads past text frames as RabbitMQ does, and ends a protocol violation with 1002', async () => {
    const ws = await rawWs();
    await once(ws, 'open');
    const received: string[] = [];
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    parser.on('packet', (p: mqttPacket.Packet) => received.push(p.cmd));
    ws.on('message', (d: Buffer) => parser.parse(d));
    const closedWith = once(ws, 'close') as Promise<[number]>;
    // The text frame's CONNECT is not read: the PINGREQ comes before any CONNECT.
    ws.send(gen(connectPacket({ clientId: 'ws-text' })).toString('latin1'));
    ws.send(gen({ cmd: 'pingreq' }));
    const [code] = await closedWith;
    expect({ code, received }).toEqual({ code: 1002, received: [] });
  });

  it('refuses paths other than /ws (404), and no subprotocol, as RabbitMQ 3.10', async () => {
    const wrongPath = await rawWs(['mqtt'], '/mqtt');
    const [, res] = (await once(wrongPath, 'unexpected-response')) as [unknown, { statusCode: number }];
    const noProtocol = await rawWs([]);
    await once(noProtocol, 'open');
    const preferred = await rawWs(['stomp', 'mqtt']);
    await once(preferred, 'open');
    expect([res.statusCode, noProtocol.protocol, preferred.protocol]).toEqual([404, '', 'mqtt']);
  });

  it('accepts the mqttv3.1 subprotocol of MQTT 3.1.0 clients', async () => {
    const c = await mqtt.connectAsync(wsUrl(), { clientId: 'ws-v3', protocolId: 'MQIsdp', protocolVersion: 3, reconnectPeriod: 0 });
    opened.push(c);
    expect(c.connected).toBe(true);
  });
});
