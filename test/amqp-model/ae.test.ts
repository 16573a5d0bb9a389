/**
 * Alternate exchanges (RabbitMQ docs page "ae"): the `alternate-exchange` argument of exchange.declare
 * names where messages go that the exchange cannot route. Checked against RabbitMQ 3.10.8.
 */
import type { Channel, Message } from 'amqplib';
import { describe, expect, it } from 'vitest';
import { withBroker } from '../helpers/broker.js';
import { bodies, drain, expectChannelAlive, expectChannelClosed, sync, withModel } from '../helpers/model.js';

const fx = withBroker();
const m = withModel(fx);

async function exchange(ch: Channel, type: string, ae?: string, options: { internal?: boolean; name?: string } = {}): Promise<string> {
  const x = options.name ?? m.exchange();
  await ch.assertExchange(x, type, { durable: false, internal: options.internal ?? false, ...(ae === undefined ? {} : { alternateExchange: ae }) });
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

function collectReturns(ch: Channel): Message[] {
  const returned: Message[] = [];
  ch.on('return', (msg: Message) => returned.push(msg));
  return returned;
}

describe('alternate exchanges', () => {
  it('receive the messages the exchange cannot route, and only those', async () => {
    const ch = await fx.channel();
    const ae = await exchange(ch, 'fanout');
    const x = await exchange(ch, 'direct', ae);
    const routed = await queueBoundTo(ch, x, 'known');
    const unrouted = await queueBoundTo(ch, ae);
    ch.publish(x, 'known', Buffer.from('routed'));
    ch.publish(x, 'unknown', Buffer.from('alternate'));
    await sync(ch);
    expect(await contents(ch, routed)).toEqual(['routed']);
    expect(await contents(ch, unrouted)).toEqual(['alternate']);
  });

  it('are used by an exchange that has no bindings at all', async () => {
    const ch = await fx.channel();
    const ae = await exchange(ch, 'fanout');
    const x = await exchange(ch, 'topic', ae);
    const q = await queueBoundTo(ch, ae);
    ch.publish(x, 'a.b', Buffer.from('to-ae'));
    await sync(ch);
    expect(await contents(ch, q)).toEqual(['to-ae']);
  });

  it('route with the original routing key and keep the message intact', async () => {
    const ch = await fx.channel();
    const ae = await exchange(ch, 'direct');
    const x = await exchange(ch, 'direct', ae);
    const q = await queueBoundTo(ch, ae, 'orig');
    ch.publish(x, 'orig', Buffer.from('body'), { headers: { h: 1 }, messageId: 'id-1' });
    ch.publish(x, 'other', Buffer.from('lost'));
    await sync(ch);
    const got = await drain(ch, q);
    expect(bodies(got)).toEqual(['body']);
    expect(got[0]!.fields).toMatchObject({ exchange: x, routingKey: 'orig' });
    expect(got[0]!.properties).toMatchObject({ headers: { h: 1 }, messageId: 'id-1' });
  });

  it('chain: the alternate exchange of the alternate exchange is used in turn', async () => {
    const ch = await fx.channel();
    const last = await exchange(ch, 'fanout');
    const middle = await exchange(ch, 'direct', last);
    const x = await exchange(ch, 'direct', middle);
    const q = await queueBoundTo(ch, last);
    ch.publish(x, 'k', Buffer.from('two-hops'));
    await sync(ch);
    expect(await contents(ch, q)).toEqual(['two-hops']);
  });

  it('cycles between alternate exchanges do not loop; the message is dropped', async () => {
    const ch = await fx.channel();
    const a = m.exchange();
    const b = m.exchange();
    await exchange(ch, 'direct', b, { name: a });
    await exchange(ch, 'direct', a, { name: b });
    const returned = collectReturns(ch);
    ch.publish(a, 'k', Buffer.from('cycle'), { mandatory: true });
    await sync(ch);
    await expectChannelAlive(ch);
    expect(returned.map((r) => (r.fields as unknown as { replyCode: number }).replyCode)).toEqual([312]);
  });

  it('naming an exchange that does not exist is not an error: the message is dropped', async () => {
    const ch = await fx.channel();
    const x = await exchange(ch, 'direct', m.exchange('missing'));
    ch.publish(x, 'k', Buffer.from('dropped'));
    await sync(ch);
    await expectChannelAlive(ch);
  });

  it('can be created after the exchange that names it', async () => {
    const ch = await fx.channel();
    const aeName = m.exchange();
    const x = await exchange(ch, 'direct', aeName);
    await exchange(ch, 'fanout', undefined, { name: aeName });
    const q = await queueBoundTo(ch, aeName);
    ch.publish(x, 'k', Buffer.from('late-ae'));
    await sync(ch);
    expect(await contents(ch, q)).toEqual(['late-ae']);
  });

  it('can be internal', async () => {
    const ch = await fx.channel();
    const ae = await exchange(ch, 'fanout', undefined, { internal: true });
    const x = await exchange(ch, 'direct', ae);
    const q = await queueBoundTo(ch, ae);
    ch.publish(x, 'k', Buffer.from('internal-ae'));
    await sync(ch);
    expect(await contents(ch, q)).toEqual(['internal-ae']);
  });

  it('of an exchange reached through an exchange-to-exchange binding are used when it routes nowhere', async () => {
    const ch = await fx.channel();
    const ae = await exchange(ch, 'fanout');
    const inner = await exchange(ch, 'direct', ae);
    const outer = await exchange(ch, 'fanout');
    await ch.bindExchange(inner, outer, '');
    const q = await queueBoundTo(ch, ae);
    ch.publish(outer, 'k', Buffer.from('inner-ae'));
    await sync(ch);
    expect(await contents(ch, q)).toEqual(['inner-ae']);
  });

  it('make a mandatory message routed through them count as routed (no basic.return)', async () => {
    const ch = await fx.channel();
    const ae = await exchange(ch, 'fanout');
    const x = await exchange(ch, 'direct', ae);
    const q = await queueBoundTo(ch, ae);
    const returned = collectReturns(ch);
    ch.publish(x, 'k', Buffer.from('saved'), { mandatory: true });
    await sync(ch);
    expect(await contents(ch, q)).toEqual(['saved']);
    expect(returned).toEqual([]);
  });

  it('that route nowhere either: a mandatory message is returned with its original exchange and key', async () => {
    const ch = await fx.channel();
    const ae = await exchange(ch, 'direct');
    const x = await exchange(ch, 'direct', ae);
    const returned = new Promise<Message>((resolve) => ch.once('return', resolve));
    ch.publish(x, 'k', Buffer.from('nowhere'), { mandatory: true });
    const r = await returned;
    expect(r.fields).toMatchObject({ replyCode: 312, replyText: 'NO_ROUTE', exchange: x, routingKey: 'k' });
    expect(r.content.toString()).toBe('nowhere');
  });

  it('re-declaring with a different alternate exchange: 406 inequivalent arg', async () => {
    const ch0 = await fx.channel();
    const x = m.exchange();
    await ch0.assertExchange(x, 'direct', { durable: false, alternateExchange: 'ae-one' });
    const { ch, other } = await m.twoChannels();
    await expectChannelClosed(ch, () => ch.assertExchange(x, 'direct', { durable: false, alternateExchange: 'ae-two' }), {
      code: 406,
      text: `PRECONDITION_FAILED - inequivalent arg 'alternate-exchange' for exchange '${x}' in vhost '/': received 'ae-two' but current is 'ae-one'`,
      classId: 40,
      methodId: 10,
    });
    await expectChannelAlive(other);
  });

  it('re-declaring without the alternate exchange it was declared with: 406 inequivalent arg', async () => {
    const ch0 = await fx.channel();
    const x = m.exchange();
    await ch0.assertExchange(x, 'direct', { durable: false, alternateExchange: 'ae-one' });
    const ch = await fx.channel();
    await expectChannelClosed(ch, () => ch.assertExchange(x, 'direct', { durable: false }), {
      code: 406,
      text: `PRECONDITION_FAILED - inequivalent arg 'alternate-exchange' for exchange '${x}' in vhost '/': received none but current is the value 'ae-one' of type 'longstr'`,
      classId: 40,
      methodId: 10,
    });
  });

  it('re-declaring with an alternate exchange it was declared without: 406 inequivalent arg', async () => {
    const ch0 = await fx.channel();
    const x = m.exchange();
    await ch0.assertExchange(x, 'direct', { durable: false });
    const ch = await fx.channel();
    await expectChannelClosed(ch, () => ch.assertExchange(x, 'direct', { durable: false, alternateExchange: 'ae-new' }), {
      code: 406,
      text: `PRECONDITION_FAILED - inequivalent arg 'alternate-exchange' for exchange '${x}' in vhost '/': received the value 'ae-new' of type 'longstr' but current is none`,
      classId: 40,
      methodId: 10,
    });
  });

  it('an alternate-exchange argument that is not a string: 406 invalid type', async () => {
    const x = m.exchange();
    const ch = await fx.channel();
    await expectChannelClosed(ch, () => ch.assertExchange(x, 'direct', { durable: false, arguments: { 'alternate-exchange': 5 } }), {
      code: 406,
      text: `PRECONDITION_FAILED - invalid type 'byte' for arg 'alternate-exchange' in exchange '${x}' in vhost '/'`,
      classId: 40,
      methodId: 10,
    });
  });
});
