/**
 * MQTT and AMQP 0-9-1 on the same exchanges and queues (RabbitMQ's mapping): a device publishes
 * home/kitchen/temp and an amqplib consumer bound to amq.topic with home.*.temp receives it, and
 * back; the properties each side sees are those RabbitMQ 3.10.8 gives.
 */
import amqp, { type ChannelModel } from 'amqplib';
import { afterEach, describe, expect, it } from 'vitest';
import { closed, nextMessage, withMqttBroker } from '../helpers/mqtt.js';

const fx = withMqttBroker();
const amqpConnections: ChannelModel[] = [];
afterEach(async () => {
  await Promise.all(amqpConnections.splice(0).map((c) => c.close().catch(() => {})));
});
async function amqpChannel() {
  const c = await amqp.connect(fx.broker.url);
  amqpConnections.push(c);
  return c.createConfirmChannel();
}

describe('MQTT and AMQP together', () => {
  it('delivers an MQTT publish to an AMQP queue bound to amq.topic, with the plugin headers', async () => {
    const ch = await amqpChannel();
    const { queue } = await ch.assertQueue('', { exclusive: true });
    await ch.bindQueue(queue, 'amq.topic', 'home.*.temp');
    const mqttPub = await fx.client({ clientId: 'x-pub' });
    await mqttPub.publishAsync('home/kitchen/temp', '21.5', { qos: 1 });
    await mqttPub.publishAsync('home/hall/temp', '19', { qos: 0 });
    const one = await ch.get(queue, { noAck: true });
    const two = await ch.get(queue, { noAck: true });
    if (one === false || two === false) throw new Error('the MQTT publishes did not reach the queue');
    expect(one.fields).toMatchObject({ exchange: 'amq.topic', routingKey: 'home.kitchen.temp' });
    expect(one.content.toString()).toBe('21.5');
    expect(one.properties.deliveryMode).toBe(2);
    expect(one.properties.headers).toEqual({ 'x-mqtt-publish-qos': 1, 'x-mqtt-dup': false });
    expect(two.fields.routingKey).toBe('home.hall.temp');
    expect(two.properties.deliveryMode).toBe(1);
    expect(two.properties.headers).toEqual({ 'x-mqtt-publish-qos': 0, 'x-mqtt-dup': false });
  });

  it('delivers an AMQP publish to amq.topic to MQTT subscribers: QoS 1 unless x-mqtt-publish-qos says 0', async () => {
    const sub = await fx.client({ clientId: 'x-sub' });
    await sub.subscribeAsync('home/+/temp', { qos: 1 });
    const ch = await amqpChannel();
    ch.publish('amq.topic', 'home.kitchen.temp', Buffer.from('from amqp'));
    ch.publish('amq.topic', 'home.hall.temp', Buffer.from('qos0'), { headers: { 'x-mqtt-publish-qos': { '!': 'byte', value: 0 } } });
    await ch.waitForConfirms();
    expect(await nextMessage(sub)).toEqual({ topic: 'home/kitchen/temp', payload: 'from amqp', qos: 1, retain: false, dup: false });
    expect(await nextMessage(sub)).toMatchObject({ topic: 'home/hall/temp', payload: 'qos0', qos: 0 });
  });

  it("names the subscription queues as RabbitMQ does; a persistent session's QoS 1 queue is durable", async () => {
    const persistent = await fx.client({ clientId: 'x-names', clean: false });
    await persistent.subscribeAsync('n/a', { qos: 1 });
    await persistent.subscribeAsync('n/b', { qos: 0 });
    const q1 = fx.broker.broker.vhosts.get('/')!.queues.get('mqtt-subscription-x-namesqos1')!;
    const q0 = fx.broker.broker.vhosts.get('/')!.queues.get('mqtt-subscription-x-namesqos0')!;
    expect({ durable: q1.options.durable, autoDelete: q1.options.autoDelete }).toEqual({ durable: true, autoDelete: false });
    expect({ durable: q0.options.durable, autoDelete: q0.options.autoDelete }).toEqual({ durable: false, autoDelete: true });
    const ch = await amqpChannel();
    expect(await ch.checkQueue('mqtt-subscription-x-namesqos1')).toMatchObject({ consumerCount: 1 });
    // The socket closes once the broker has handled the DISCONNECT (its session is gone by then).
    const gone = closed(persistent);
    await persistent.endAsync();
    await gone;
    // The QoS 0 queue goes with its consumer; the QoS 1 queue of a persistent session stays.
    expect(await ch.checkQueue('mqtt-subscription-x-namesqos1')).toMatchObject({ consumerCount: 0 });
    expect(fx.broker.broker.vhosts.get('/')!.queues.has('mqtt-subscription-x-namesqos0')).toBe(false);
  });

  it('round-trips a request from AMQP to an MQTT device and its reply back', async () => {
    const device = await fx.client({ clientId: 'x-device' });
    await device.subscribeAsync('cmd/lamp', { qos: 1 });
    const ch = await amqpChannel();
    const { queue } = await ch.assertQueue('', { exclusive: true });
    await ch.bindQueue(queue, 'amq.topic', 'reply.lamp');
    ch.publish('amq.topic', 'cmd.lamp', Buffer.from('on'));
    const cmd = await nextMessage(device);
    await device.publishAsync('reply/lamp', `${cmd.payload}:done`, { qos: 1 });
    const reply = await ch.get(queue, { noAck: true });
    expect(reply !== false && reply.content.toString()).toBe('on:done');
  });
});
