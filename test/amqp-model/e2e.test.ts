/**
 * Exchange-to-exchange bindings (RabbitMQ docs page "e2e"): exchange.bind/unbind route messages from a
 * source exchange to a destination exchange using the source's type; chains are followed, a queue reached
 * through several paths gets one copy, and cycles do not loop. Checked against RabbitMQ 3.10.8.
 */
import type { Channel, Message } from 'amqplib';
import { describe, expect, it } from 'vitest';
import { withBroker } from '../helpers/broker.js';
import { bodies, drain, expectChannelAlive, expectChannelClosed, sync, withModel } from '../helpers/model.js';

const fx = withBroker();
const m = withModel(fx);

async function exchange(ch: Channel, type: string, options: { autoDelete?: boolean; internal?: boolean } = {}): Promise<string> {
  const x = m.exchange();
  await ch.assertExchange(x, type, { durable: false, ...options });
  return x;
}

async function queueBoundTo(ch: Channel, x: string, key = ''): Promise<string> {
  const q = m.queue();
  await ch.assertQueue(q, { durable: false });
  await ch.bindQueue(q, x, key);
  return q;
}

async function contents(ch: Channel, q: string): Promise<string[]> {
  return bodies(await drain(ch, q));
}

const notFound = (x: string, methodId: number) => ({ code: 404, text: `NOT_FOUND - no exchange '${x}' in vhost '/'`, classId: 40, methodId });

describe('exchange-to-exchange bindings', () => {
  it('route messages from the source to the destination exchange', async () => {
    const ch = await fx.channel();
    const src = await exchange(ch, 'direct');
    const dst = await exchange(ch, 'fanout');
    const q = await queueBoundTo(ch, dst);
    await ch.bindExchange(dst, src, 'k');
    ch.publish(src, 'k', Buffer.from('via-binding'));
    ch.publish(src, 'other', Buffer.from('not-bound'));
    await sync(ch);
    expect(await contents(ch, q)).toEqual(['via-binding']);
  });

  it('match with the source exchange type (a topic source applies patterns to the routing key)', async () => {
    const ch = await fx.channel();
    const src = await exchange(ch, 'topic');
    const dst = await exchange(ch, 'direct');
    const q = await queueBoundTo(ch, dst, 'eu.fr');
    await ch.bindExchange(dst, src, 'eu.*');
    for (const k of ['eu.fr', 'eu.de', 'us.ny', 'eu.fr.paris']) ch.publish(src, k, Buffer.from(k));
    await sync(ch);
    // The destination then applies its own type to the unchanged routing key.
    expect(await contents(ch, q)).toEqual(['eu.fr']);
  });

  it('pass headers-exchange binding arguments on exchange.bind', async () => {
    const ch = await fx.channel();
    const src = await exchange(ch, 'headers');
    const dst = await exchange(ch, 'fanout');
    const q = await queueBoundTo(ch, dst);
    await ch.bindExchange(dst, src, '', { 'x-match': 'any', region: 'eu' });
    ch.publish(src, '', Buffer.from('eu'), { headers: { region: 'eu' } });
    ch.publish(src, '', Buffer.from('us'), { headers: { region: 'us' } });
    await sync(ch);
    expect(await contents(ch, q)).toEqual(['eu']);
  });

  it('follow chains of several exchanges', async () => {
    const ch = await fx.channel();
    const a = await exchange(ch, 'fanout');
    const b = await exchange(ch, 'direct');
    const c = await exchange(ch, 'topic');
    const q = await queueBoundTo(ch, c, '#');
    await ch.bindExchange(b, a, '');
    await ch.bindExchange(c, b, 'k');
    ch.publish(a, 'k', Buffer.from('through-a-b-c'));
    ch.publish(a, 'j', Buffer.from('stops-at-b'));
    await sync(ch);
    expect(await contents(ch, q)).toEqual(['through-a-b-c']);
  });

  it('deliver one copy to a queue reached through several paths', async () => {
    const ch = await fx.channel();
    const top = await exchange(ch, 'fanout');
    const left = await exchange(ch, 'fanout');
    const right = await exchange(ch, 'fanout');
    const q = await queueBoundTo(ch, left);
    await ch.bindQueue(q, right, '');
    await ch.bindQueue(q, top, '');
    await ch.bindExchange(left, top, '');
    await ch.bindExchange(right, top, '');
    await ch.bindExchange(right, left, '');
    ch.publish(top, '', Buffer.from('once'));
    await sync(ch);
    expect(await contents(ch, q)).toEqual(['once']);
  });

  it('do not loop on cycles: each queue gets one copy', async () => {
    const ch = await fx.channel();
    const a = await exchange(ch, 'fanout');
    const b = await exchange(ch, 'fanout');
    const c = await exchange(ch, 'fanout');
    const qa = await queueBoundTo(ch, a);
    const qc = await queueBoundTo(ch, c);
    await ch.bindExchange(b, a, '');
    await ch.bindExchange(c, b, '');
    await ch.bindExchange(a, c, '');
    ch.publish(b, '', Buffer.from('cycle'));
    await sync(ch);
    expect(await contents(ch, qa)).toEqual(['cycle']);
    expect(await contents(ch, qc)).toEqual(['cycle']);
    await expectChannelAlive(ch);
  });

  it('allow an exchange bound to itself, without duplicates', async () => {
    const ch = await fx.channel();
    const a = await exchange(ch, 'fanout');
    const q = await queueBoundTo(ch, a);
    await ch.bindExchange(a, a, '');
    ch.publish(a, '', Buffer.from('self'));
    await sync(ch);
    expect(await contents(ch, q)).toEqual(['self']);
  });

  it('stop routing after exchange.unbind; unbinding what is not bound succeeds', async () => {
    const ch = await fx.channel();
    const src = await exchange(ch, 'direct');
    const dst = await exchange(ch, 'fanout');
    const q = await queueBoundTo(ch, dst);
    await ch.bindExchange(dst, src, 'k');
    ch.publish(src, 'k', Buffer.from('before'));
    await sync(ch);
    await ch.unbindExchange(dst, src, 'k');
    await ch.unbindExchange(dst, src, 'k');
    await ch.unbindExchange(dst, src, 'never-bound');
    ch.publish(src, 'k', Buffer.from('after'));
    await sync(ch);
    expect(await contents(ch, q)).toEqual(['before']);
  });

  it('reach an internal destination exchange (internal only forbids publishing to it directly)', async () => {
    const ch = await fx.channel();
    const src = await exchange(ch, 'fanout');
    const internal = await exchange(ch, 'fanout', { internal: true });
    const q = await queueBoundTo(ch, internal);
    await ch.bindExchange(internal, src, '');
    ch.publish(src, '', Buffer.from('through-internal'));
    await sync(ch);
    expect(await contents(ch, q)).toEqual(['through-internal']);
  });

  it('with a missing source: 404 NOT_FOUND on exchange.bind, other channels carry on', async () => {
    const ch0 = await fx.channel();
    const dst = await exchange(ch0, 'fanout');
    const src = m.exchange('missing');
    const { ch, other } = await m.twoChannels();
    await expectChannelClosed(ch, () => ch.bindExchange(dst, src, ''), notFound(src, 30));
    await expectChannelAlive(other);
  });

  it('with a missing destination: 404 NOT_FOUND on exchange.bind', async () => {
    const ch0 = await fx.channel();
    const src = await exchange(ch0, 'fanout');
    const dst = m.exchange('missing');
    const ch = await fx.channel();
    await expectChannelClosed(ch, () => ch.bindExchange(dst, src, ''), notFound(dst, 30));
  });

  it('exchange.unbind naming missing exchanges succeeds', async () => {
    const ch = await fx.channel();
    const x = await exchange(ch, 'fanout');
    await ch.unbindExchange(m.exchange('missing'), x, '');
    await ch.unbindExchange(x, m.exchange('missing'), '');
    await expectChannelAlive(ch);
  });

  it('are removed when the destination exchange is deleted', async () => {
    const ch = await fx.channel();
    const src = await exchange(ch, 'fanout');
    const dst = m.exchange();
    await ch.assertExchange(dst, 'fanout', { durable: false });
    const q = await queueBoundTo(ch, dst);
    await ch.bindExchange(dst, src, '');
    await ch.deleteExchange(dst);
    await ch.assertExchange(dst, 'fanout', { durable: false });
    await ch.bindQueue(q, dst, '');
    ch.publish(src, '', Buffer.from('old-binding'));
    await sync(ch);
    expect(await contents(ch, q)).toEqual([]);
  });

  it('make an auto-delete source exchange go when its last exchange binding is removed', async () => {
    const ch = await fx.channel();
    const src = await exchange(ch, 'fanout', { autoDelete: true });
    const dst = await exchange(ch, 'fanout');
    await ch.bindExchange(dst, src, '');
    await ch.unbindExchange(dst, src, '');
    await expectChannelClosed(ch, () => ch.checkExchange(src), notFound(src, 10));
  });

  it('make an auto-delete source exchange go when its last destination exchange is deleted', async () => {
    const ch = await fx.channel();
    const src = await exchange(ch, 'fanout', { autoDelete: true });
    const dst = await exchange(ch, 'fanout');
    await ch.bindExchange(dst, src, '');
    await ch.deleteExchange(dst);
    await expectChannelClosed(ch, () => ch.checkExchange(src), notFound(src, 10));
  });

  it('do not count for auto-delete when the exchange is only their destination', async () => {
    const ch = await fx.channel();
    const src = await exchange(ch, 'fanout');
    const dst = await exchange(ch, 'fanout', { autoDelete: true });
    await ch.bindExchange(dst, src, '');
    await ch.unbindExchange(dst, src, '');
    await expect(ch.checkExchange(dst)).resolves.toBeDefined();
  });

  it('route a mandatory message that reaches a queue through them without a return', async () => {
    const ch = await fx.channel();
    const src = await exchange(ch, 'fanout');
    const dst = await exchange(ch, 'fanout');
    const empty = await exchange(ch, 'fanout');
    const q = await queueBoundTo(ch, dst);
    await ch.bindExchange(dst, src, '');
    await ch.bindExchange(empty, src, '');
    const returned: Message[] = [];
    ch.on('return', (msg: Message) => returned.push(msg));
    ch.publish(src, 'k', Buffer.from('routed'), { mandatory: true });
    await sync(ch);
    expect(await contents(ch, q)).toEqual(['routed']);
    expect(returned).toEqual([]);
  });

  it('return a mandatory message whose chain reaches no queue', async () => {
    const ch = await fx.channel();
    const src = await exchange(ch, 'fanout');
    const dst = await exchange(ch, 'fanout');
    await ch.bindExchange(dst, src, '');
    const returned = new Promise<Message>((resolve) => ch.once('return', resolve));
    ch.publish(src, 'k', Buffer.from('dead-end'), { mandatory: true });
    expect((await returned).fields).toMatchObject({ replyCode: 312, replyText: 'NO_ROUTE', exchange: src, routingKey: 'k' });
  });
});
