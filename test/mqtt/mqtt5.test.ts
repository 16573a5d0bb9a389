/**
 * MQTT 5.0 with mqtt.js (protocolVersion 5) and raw packets, as RabbitMQ's native MQTT 5 (3.13,
 * 4.x) maps it: CONNACK properties and reason codes, PUBLISH properties to AMQP properties and back
 * (amqplib on the other side), topic aliases both ways, subscription options, Receive Maximum,
 * Maximum Packet Size both ways, DISCONNECT reason codes and will delay.
 */
import amqp, { type ChannelModel } from 'amqplib';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type mqttPacket from 'mqtt-packet';
import { afterEach, describe, expect, it } from 'vitest';
import { connectPacket, rawPeer, withMqttBroker } from '../helpers/mqtt.js';

const fx = withMqttBroker({ rabbitmqVersion: '4.x', mqttMaxPacketSize: 4096 });
const opened: (MqttClient | ChannelModel)[] = [];
afterEach(async () => {
  for (const o of opened.splice(0)) {
    if ('endAsync' in o) await o.endAsync(true).catch(() => {});
    else await o.close().catch(() => {});
  }
});

interface Received {
  topic: string;
  payload: string;
  packet: mqttPacket.IPublishPacket;
}

async function v5(clientId: string, o: IClientOptions = {}): Promise<{ c: MqttClient; got: Received[]; connack: mqttPacket.IConnackPacket }> {
  const c = mqtt.connect(fx.mqttUrl, { clientId, protocolVersion: 5, reconnectPeriod: 0, username: 'guest', password: 'guest', ...o });
  opened.push(c);
  const got: Received[] = [];
  c.on('message', (topic, payload, packet) => got.push({ topic, payload: payload.toString(), packet }));
  c.on('error', () => {});
  const connack = await new Promise<mqttPacket.IConnackPacket>((resolve, reject) => {
    c.once('connect', resolve);
    c.once('close', () => reject(new Error('closed before CONNACK')));
  });
  return { c, got, connack };
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setImmediate(resolve));
}

async function amqpChannel() {
  const conn = await amqp.connect(fx.broker.url);
  opened.push(conn);
  return conn.createConfirmChannel();
}

describe('MQTT 5 CONNECT and CONNACK', () => {
  it("answers with RabbitMQ's CONNACK properties, and assigns an id to an empty one", async () => {
    const { connack } = await v5('', { clean: true });
    expect(connack.reasonCode).toBe(0);
    expect(connack.properties).toMatchObject({ maximumQoS: 1, topicAliasMaximum: 16, maximumPacketSize: 4096, sharedSubscriptionAvailable: false, sessionExpiryInterval: 0 });
    expect(connack.properties?.assignedClientIdentifier).toMatch(/^.{22}$/);
  });

  it('refuses with MQTT 5 reason codes: 0x86 bad credentials, 0x87 not authorised, 0x97 over a connection limit', async () => {
    const refusal = (o: IClientOptions) =>
      new Promise<number>((resolve) => {
        const c = mqtt.connect(fx.mqttUrl, { protocolVersion: 5, reconnectPeriod: 0, ...o });
        opened.push(c);
        c.on('error', (e) => resolve((e as { code?: number }).code ?? -1));
        c.on('connect', () => resolve(0));
      });
    const db = fx.broker.broker.access;
    db.putUser({ name: 'v5-noperm', password: 'pw', tags: [] });
    db.putVhost({ name: 'v5-limited', limits: { 'max-connections': 0 } });
    db.setPermissions('guest', 'v5-limited', '.*', '.*', '.*');
    expect(await refusal({ clientId: 'r1', username: 'guest', password: 'wrong' })).toBe(0x86);
    expect(await refusal({ clientId: 'r2', username: 'v5-noperm', password: 'pw' })).toBe(0x87);
    expect(await refusal({ clientId: 'r3', username: 'v5-limited:guest', password: 'guest' })).toBe(0x97);
  });

  it('keeps a session with a Session Expiry Interval: session present, its queue expiring after it', async () => {
    const first = await v5('v5-expiry', { clean: true, properties: { sessionExpiryInterval: 60 } });
    await first.c.subscribeAsync('exp/t', { qos: 1 });
    await first.c.endAsync();
    const q = fx.broker.broker.vhosts.get('/')!.queues.get('mqtt-subscription-v5-expiryqos1')!;
    expect(q.options.arguments.get('x-expires')).toMatchObject({ value: 60_000 });
    const again = await v5('v5-expiry', { clean: false, properties: { sessionExpiryInterval: 60 } });
    expect(again.connack.sessionPresent).toBe(true);
    const gone = await v5('v5-expiry', { clean: true });
    expect(gone.connack.sessionPresent).toBe(false);
  });
});

describe('MQTT 5 properties across AMQP', () => {
  it('maps message expiry, content type, correlation data, response topic and user properties to AMQP', async () => {
    const ch = await amqpChannel();
    const { queue } = await ch.assertQueue('', { exclusive: true });
    await ch.bindQueue(queue, 'amq.topic', 'p5.req');
    const { c } = await v5('v5-props-pub');
    await c.publishAsync('p5/req', 'ping', {
      qos: 1,
      properties: { messageExpiryInterval: 30, contentType: 'text/plain', correlationData: Buffer.from('abc-1'), responseTopic: 'p5/reply/x', userProperties: { a: '1', b: ['x', 'y'] } },
    });
    const m = await ch.get(queue, { noAck: true });
    if (m === false) throw new Error('not routed');
    expect(m.properties).toMatchObject({ expiration: '30000', contentType: 'text/plain', correlationId: 'abc-1', replyTo: 'p5.reply.x' });
    expect(m.properties.headers).toEqual({ 'x-mqtt-publish-qos': 1, 'x-mqtt-dup': false, a: '1', b: ['x', 'y'] });
  });

  it('round-trips a request from MQTT 5 to an AMQP service and its reply by response topic and correlation data', async () => {
    const ch = await amqpChannel();
    const { queue } = await ch.assertQueue('', { exclusive: true });
    await ch.bindQueue(queue, 'amq.topic', 'svc.echo');
    await ch.consume(queue, (m) => {
      if (m === null) return;
      ch.publish('amq.topic', m.properties.replyTo, Buffer.from(`echo:${m.content}`), { correlationId: m.properties.correlationId, contentType: 'text/plain', headers: { served: 'yes' } });
    });
    const { c, got } = await v5('v5-requester');
    await c.subscribeAsync('resp/v5-requester', { qos: 1 });
    await c.publishAsync('svc/echo', 'hello', { qos: 1, properties: { responseTopic: 'resp/v5-requester', correlationData: Buffer.from('req-7') } });
    await until(() => got.length === 1);
    expect(got[0]!.payload).toBe('echo:hello');
    expect(got[0]!.packet.properties).toMatchObject({ correlationData: Buffer.from('req-7'), contentType: 'text/plain', userProperties: { served: 'yes' } });
  });

  it('answers PUBACK 0x10 (no matching subscribers) for an unroutable QoS 1 publish', async () => {
    const { c } = await v5('v5-nomatch');
    const reason = new Promise<number | undefined>((resolve) => c.on('packetreceive', (p) => p.cmd === 'puback' && resolve(p.reasonCode)));
    await c.publishAsync('nobody/here', 'x', { qos: 1 }).catch(() => {});
    expect(await reason).toBe(0x10);
  });
});

describe('MQTT 5 topic aliases and subscription options', () => {
  it('takes inbound topic aliases and uses outbound ones up to the limit the client announced', async () => {
    const sub = await v5('v5-alias-sub', { properties: { topicAliasMaximum: 1 } });
    const aliases: (number | undefined)[] = [];
    sub.c.on('packetreceive', (p) => p.cmd === 'publish' && aliases.push(p.properties?.topicAlias));
    await sub.c.subscribeAsync('al/#', { qos: 0 });
    const peer = rawPeer(await fx.raw(), 5);
    peer.send(connectPacket({ clientId: 'v5-alias-pub', protocolVersion: 5 }));
    expect(await peer.next()).toMatchObject({ cmd: 'connack', reasonCode: 0 });
    peer.send({ cmd: 'publish', topic: 'al/one', payload: Buffer.from('1'), qos: 0, properties: { topicAlias: 3 } });
    peer.send({ cmd: 'publish', topic: '', payload: Buffer.from('2'), qos: 0, properties: { topicAlias: 3 } });
    peer.send({ cmd: 'publish', topic: 'al/two', payload: Buffer.from('3'), qos: 0 });
    await until(() => sub.got.length === 3);
    expect(sub.got.map((g) => `${g.topic}=${g.payload}`)).toEqual(['al/one=1', 'al/one=2', 'al/two=3']);
    // One alias allowed: the first topic gets it, the second goes by name.
    expect(aliases).toEqual([1, 1, undefined]);
    // An alias over the 16 announced: DISCONNECT 0x94.
    peer.send({ cmd: 'publish', topic: 'al/x', payload: Buffer.from('4'), qos: 0, properties: { topicAlias: 17 } });
    expect(await peer.next()).toMatchObject({ cmd: 'disconnect', reasonCode: 0x94 });
    await peer.closed;
  });

  it('no-local, retain-as-published and retain handling 0, 1 and 2', async () => {
    const pub = await v5('v5-opts-pub');
    await pub.c.publishAsync('opt/kept', 'retained', { qos: 1, retain: true });
    const s = await v5('v5-opts-sub');
    const subacks: number[][] = [];
    s.c.on('packetreceive', (p) => p.cmd === 'suback' && subacks.push(p.granted as number[]));
    await s.c.subscribeAsync('opt/kept', { qos: 1, rh: 1 });
    await until(() => s.got.length === 1);
    await s.c.subscribeAsync('opt/kept', { qos: 1, rh: 1 });
    await s.c.subscribeAsync('opt/kept', { qos: 1, rh: 2 });
    await s.c.subscribeAsync('opt/kept', { qos: 1, rh: 0, rap: true });
    await until(() => s.got.length === 2);
    expect(s.got.map((g) => `${g.payload} retain=${g.packet.retain}`)).toEqual(['retained retain=true', 'retained retain=true']);
    // Retain-as-published: a retained publish arriving live keeps its flag.
    await pub.c.publishAsync('opt/kept', 'live retained', { qos: 1, retain: true });
    await until(() => s.got.length === 3);
    expect(s.got[2]!.packet.retain).toBe(true);
    // No-local: the subscriber's own publish on a no-local filter is not delivered to it.
    await s.c.subscribeAsync('opt/mine', { qos: 1, nl: true });
    await s.c.publishAsync('opt/mine', 'own', { qos: 1 });
    await pub.c.publishAsync('opt/mine', 'theirs', { qos: 1 });
    await until(() => s.got.length === 4);
    expect(s.got[3]!.payload).toBe('theirs');
    expect(subacks).toEqual([[1], [1], [1], [1], [1]]);
  });

  it('sends Subscription Identifiers back with the deliveries (and retained messages) of their filters', async () => {
    const pub = await v5('v5-subid-pub');
    await pub.c.publishAsync('sid/kept', 'r', { qos: 1, retain: true });
    const s = await v5('v5-subid');
    await s.c.subscribeAsync('sid/kept', { qos: 1, properties: { subscriptionIdentifier: 7 } });
    // Retained messages go to exact filters only (as RabbitMQ): sid/# gets none.
    await s.c.subscribeAsync('sid/#', { qos: 1, properties: { subscriptionIdentifier: 9 } });
    await until(() => s.got.length === 1);
    await pub.c.publishAsync('sid/other', 'o', { qos: 1 });
    await until(() => s.got.length === 2);
    await pub.c.publishAsync('sid/kept', 'both', { qos: 1 });
    await until(() => s.got.length === 3);
    expect(s.got.map((g) => `${g.payload}:${JSON.stringify(g.packet.properties?.subscriptionIdentifier)}`)).toEqual(['r:7', 'o:9', 'both:[7,9]']);
    await pub.c.publishAsync('sid/kept', '', { qos: 1, retain: true });
  });

  it('refuses shared subscriptions (0x9E) and answers UNSUBACK 0x11 for an unknown filter', async () => {
    const { c } = await v5('v5-shared');
    const suback = new Promise<number[]>((resolve) => c.on('packetreceive', (p) => p.cmd === 'suback' && resolve(p.granted as number[])));
    await c.subscribeAsync('$share/g/t', { qos: 1 }).catch(() => {});
    expect(await suback).toEqual([0x9e]);
    const unsuback = new Promise<number[]>((resolve) => c.on('packetreceive', (p) => p.cmd === 'unsuback' && resolve((p as unknown as { granted: number[] }).granted)));
    await c.subscribeAsync('known/t', { qos: 0 });
    await c.unsubscribeAsync(['known/t', 'unknown/t']);
    expect(await unsuback).toEqual([0x00, 0x11]);
  });
});

describe('MQTT 5 flow control and limits', () => {
  it('sends at most Receive Maximum unacknowledged QoS 1 deliveries', async () => {
    const peer = rawPeer(await fx.raw(), 5);
    peer.send(connectPacket({ clientId: 'v5-recvmax', protocolVersion: 5, properties: { receiveMaximum: 2 } }));
    expect(await peer.next()).toMatchObject({ cmd: 'connack', reasonCode: 0 });
    peer.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'rm/t', qos: 1 }] });
    expect(await peer.next()).toMatchObject({ cmd: 'suback' });
    const { c } = await v5('v5-recvmax-pub');
    for (let i = 0; i < 4; i++) await c.publishAsync('rm/t', `m${i}`, { qos: 1 });
    const first = [await peer.next(), await peer.next()] as mqttPacket.IPublishPacket[];
    expect(first.map((p) => p.payload.toString())).toEqual(['m0', 'm1']);
    // Nothing more until a PUBACK: a PINGREQ's answer comes before any third delivery.
    peer.send({ cmd: 'pingreq' });
    expect((await peer.next()).cmd).toBe('pingresp');
    peer.send({ cmd: 'puback', messageId: first[0]!.messageId });
    expect(((await peer.next()) as mqttPacket.IPublishPacket).payload.toString()).toBe('m2');
  });

  it('refuses an incoming packet over Maximum Packet Size with DISCONNECT 0x95', async () => {
    const peer = rawPeer(await fx.raw(), 5);
    peer.send(connectPacket({ clientId: 'v5-big-in', protocolVersion: 5 }));
    expect(await peer.next()).toMatchObject({ cmd: 'connack', reasonCode: 0 });
    peer.send({ cmd: 'publish', topic: 'big/in', payload: Buffer.alloc(5000), qos: 0 });
    expect(await peer.next()).toMatchObject({ cmd: 'disconnect', reasonCode: 0x95 });
    await peer.closed;
  });

  it("never sends a packet over the client's Maximum Packet Size: a large delivery is dropped, a small one follows", async () => {
    const sub = await v5('v5-big-out', { properties: { maximumPacketSize: 200 } });
    await sub.c.subscribeAsync('big/out', { qos: 1 });
    const { c } = await v5('v5-big-pub');
    await c.publishAsync('big/out', 'x'.repeat(500), { qos: 1 });
    await c.publishAsync('big/out', 'small', { qos: 1 });
    await until(() => sub.got.length === 1);
    expect(sub.got.map((g) => g.payload)).toEqual(['small']);
  });

  it('refuses a QoS 2 publish with DISCONNECT 0x9B (Maximum QoS is 1)', async () => {
    const peer = rawPeer(await fx.raw(), 5);
    peer.send(connectPacket({ clientId: 'v5-qos2', protocolVersion: 5 }));
    await peer.next();
    peer.send({ cmd: 'publish', topic: 'q2', payload: Buffer.from('x'), qos: 2, messageId: 5 });
    expect(await peer.next()).toMatchObject({ cmd: 'disconnect', reasonCode: 0x9b });
  });
});

describe('MQTT 5 DISCONNECT and wills', () => {
  it('sends the will after DISCONNECT 0x04, not after DISCONNECT 0x00', async () => {
    const watcher = await v5('v5-will-watch');
    await watcher.c.subscribeAsync('will/+', { qos: 1 });
    const quiet = await v5('v5-will-quiet', { will: { topic: 'will/quiet', payload: Buffer.from('quiet'), qos: 1, retain: false } });
    await quiet.c.endAsync(false, { reasonCode: 0 });
    const loud = await v5('v5-will-loud', { will: { topic: 'will/loud', payload: Buffer.from('loud'), qos: 1, retain: false } });
    await loud.c.endAsync(false, { reasonCode: 0x04 });
    await until(() => watcher.got.length === 1);
    expect(watcher.got.map((g) => g.payload)).toEqual(['loud']);
  });

  it('holds a will for its Will Delay Interval and drops it when the client id connects again', async () => {
    const watcher = await v5('v5-delay-watch');
    await watcher.c.subscribeAsync('delayed/+', { qos: 1 });
    const will = (topic: string) => ({ topic, payload: Buffer.from(topic), qos: 1 as const, retain: false, properties: { willDelayInterval: 1 } });
    const resumed = await v5('v5-delay-back', { properties: { sessionExpiryInterval: 60 }, will: will('delayed/back') });
    resumed.c.stream.destroy();
    await until(() => !resumed.c.connected);
    await v5('v5-delay-back', { clean: false, properties: { sessionExpiryInterval: 60 } });
    const gone = await v5('v5-delay-gone', { properties: { sessionExpiryInterval: 60 }, will: will('delayed/gone') });
    gone.c.stream.destroy();
    await until(() => watcher.got.length === 1);
    expect(watcher.got.map((g) => g.payload)).toEqual(['delayed/gone']);
  });

  it('tells a taken-over MQTT 5 client with DISCONNECT 0x8E', async () => {
    const old = await v5('v5-takeover');
    const reason = new Promise<number | undefined>((resolve) => old.c.on('packetreceive', (p) => p.cmd === 'disconnect' && resolve(p.reasonCode)));
    await v5('v5-takeover');
    expect(await reason).toBe(0x8e);
  });
});
