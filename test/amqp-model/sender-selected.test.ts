/**
 * Sender-selected distribution (RabbitMQ docs page "sender-selected"): the CC and BCC headers (arrays of
 * strings) add routing keys to a message; BCC is removed before the message leaves the broker. Checked
 * against RabbitMQ 3.10.8.
 */
import type { Channel, Message } from 'amqplib';
import { describe, expect, it } from 'vitest';
import { withBroker } from '../helpers/broker.js';
import { bodies, drain, expectChannelAlive, expectChannelClosed, sync, withModel } from '../helpers/model.js';

const fx = withBroker();
const m = withModel(fx);

async function exchange(ch: Channel, type: string, ae?: string): Promise<string> {
  const x = m.exchange();
  await ch.assertExchange(x, type, { durable: false, ...(ae === undefined ? {} : { alternateExchange: ae }) });
  return x;
}

async function boundQueues(ch: Channel, x: string, keys: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const k of keys) {
    const q = m.queue();
    await ch.assertQueue(q, { durable: false });
    await ch.bindQueue(q, x, k);
    out.push(q);
  }
  return out;
}

async function contents(ch: Channel, qs: string[]): Promise<string[][]> {
  const out: string[][] = [];
  for (const q of qs) out.push(bodies(await drain(ch, q)));
  return out;
}

describe('sender-selected distribution', () => {
  it('CC adds routing keys: the message also goes where each CC key routes', async () => {
    const ch = await fx.channel();
    const x = await exchange(ch, 'direct');
    const qs = await boundQueues(ch, x, ['main', 'cc1', 'cc2', 'other']);
    ch.publish(x, 'main', Buffer.from('m'), { CC: ['cc1', 'cc2'] });
    await sync(ch);
    expect(await contents(ch, qs)).toEqual([['m'], ['m'], ['m'], []]);
  });

  it('CC is kept in the delivered headers and the delivered routing key is the original one', async () => {
    const ch = await fx.channel();
    const x = await exchange(ch, 'direct');
    const [q] = await boundQueues(ch, x, ['cc']);
    ch.publish(x, 'main', Buffer.from('m'), { CC: ['cc'], headers: { other: 'kept' } });
    await sync(ch);
    const [msg] = await drain(ch, q!);
    expect(msg!.fields.routingKey).toBe('main');
    expect(msg!.properties.headers).toEqual({ CC: ['cc'], other: 'kept' });
  });

  it('BCC adds routing keys like CC and is removed from the delivered message', async () => {
    const ch = await fx.channel();
    const x = await exchange(ch, 'direct');
    const [main, cc, bcc] = await boundQueues(ch, x, ['main', 'cc', 'bcc']);
    ch.publish(x, 'main', Buffer.from('m'), { CC: ['cc'], BCC: ['bcc'], headers: { other: 'kept' } });
    await sync(ch);
    for (const q of [main!, cc!, bcc!]) {
      const got = await drain(ch, q);
      expect(bodies(got)).toEqual(['m']);
      expect(got[0]!.properties.headers).toEqual({ CC: ['cc'], other: 'kept' });
    }
  });

  it('a queue matched by several of the keys gets one copy', async () => {
    const ch = await fx.channel();
    const x = await exchange(ch, 'direct');
    const [q] = await boundQueues(ch, x, ['a']);
    await ch.bindQueue(q!, x, 'b');
    ch.publish(x, 'a', Buffer.from('once'), { CC: ['a', 'b'], BCC: ['b'] });
    await sync(ch);
    expect(await contents(ch, [q!])).toEqual([['once']]);
  });

  it('topic exchanges match their patterns against the CC keys', async () => {
    const ch = await fx.channel();
    const x = await exchange(ch, 'topic');
    const qs = await boundQueues(ch, x, ['eu.*', 'us.#', 'asia.*']);
    ch.publish(x, 'none', Buffer.from('t'), { CC: ['eu.fr', 'us.ny.nyc'] });
    await sync(ch);
    expect(await contents(ch, qs)).toEqual([['t'], ['t'], []]);
  });

  it('the default exchange delivers to the queues the CC keys name', async () => {
    const ch = await fx.channel();
    const qs = [m.queue(), m.queue(), m.queue()];
    for (const q of qs) await ch.assertQueue(q, { durable: false });
    ch.publish('', qs[0]!, Buffer.from('d'), { CC: [qs[1]!], BCC: ['no-such-queue-' + qs[0]!] });
    await sync(ch);
    expect(await contents(ch, qs)).toEqual([['d'], ['d'], []]);
  });

  it('CC keys are routed through exchange-to-exchange bindings too', async () => {
    const ch = await fx.channel();
    const src = await exchange(ch, 'direct');
    const dst = await exchange(ch, 'direct');
    await ch.bindExchange(dst, src, 'hop');
    const [q] = await boundQueues(ch, dst, ['hop']);
    ch.publish(src, 'main', Buffer.from('e2e'), { CC: ['hop'] });
    await sync(ch);
    expect(await contents(ch, [q!])).toEqual([['e2e']]);
  });

  it('a message routed by a CC key counts as routed: no return, no alternate exchange', async () => {
    const ch = await fx.channel();
    const ae = await exchange(ch, 'fanout');
    const x = await exchange(ch, 'direct', ae);
    const [q] = await boundQueues(ch, x, ['cc']);
    const [aeq] = await boundQueues(ch, ae, ['']);
    const returned: Message[] = [];
    ch.on('return', (r: Message) => returned.push(r));
    ch.publish(x, 'unbound', Buffer.from('via-cc'), { CC: ['cc'], mandatory: true });
    await sync(ch);
    expect(await contents(ch, [q!, aeq!])).toEqual([['via-cc'], []]);
    expect(returned).toEqual([]);
  });

  it('an unroutable mandatory message is returned without its BCC header', async () => {
    const ch = await fx.channel();
    const x = await exchange(ch, 'direct');
    const returned = new Promise<Message>((resolve) => ch.once('return', resolve));
    ch.publish(x, 'nowhere', Buffer.from('r'), { mandatory: true, CC: ['nor-here'], BCC: ['secret'] });
    const r = await returned;
    expect(r.fields).toMatchObject({ replyCode: 312, replyText: 'NO_ROUTE', exchange: x, routingKey: 'nowhere' });
    expect(r.properties.headers).toEqual({ CC: ['nor-here'] });
  });

  it('fanout exchanges deliver one copy per queue whatever the CC keys', async () => {
    const ch = await fx.channel();
    const x = await exchange(ch, 'fanout');
    const qs = await boundQueues(ch, x, ['', '']);
    ch.publish(x, '', Buffer.from('f'), { CC: ['a', 'b', 'c'] });
    await sync(ch);
    expect(await contents(ch, qs)).toEqual([['f'], ['f']]);
  });

  it('the header names are case-sensitive: cc and bcc are ordinary headers', async () => {
    const ch = await fx.channel();
    const x = await exchange(ch, 'direct');
    const [main, cc] = await boundQueues(ch, x, ['main', 'cc']);
    ch.publish(x, 'main', Buffer.from('lower'), { headers: { cc: ['cc'], bcc: ['cc'] } });
    await sync(ch);
    const got = await drain(ch, main!);
    expect(bodies(got)).toEqual(['lower']);
    expect(got[0]!.properties.headers).toEqual({ cc: ['cc'], bcc: ['cc'] });
    expect(await contents(ch, [cc!])).toEqual([[]]);
  });

  it('array elements that are not strings are ignored', async () => {
    const ch = await fx.channel();
    const x = await exchange(ch, 'direct');
    const [main, cc] = await boundQueues(ch, x, ['main', 'cc']);
    ch.publish(x, 'main', Buffer.from('mixed'), { headers: { CC: [7, 'cc', true] } });
    await sync(ch);
    expect(await contents(ch, [main!, cc!])).toEqual([['mixed'], ['mixed']]);
  });

  it('a CC header that is not an array: 406 invalid message, closing only the channel', async () => {
    const ch0 = await fx.channel();
    const x = await exchange(ch0, 'direct');
    const [main] = await boundQueues(ch0, x, ['main']);
    const { ch, other } = await m.twoChannels();
    await expectChannelClosed(ch, () => ch.publish(x, 'main', Buffer.from('bad'), { headers: { CC: 'cc' } }), {
      code: 406,
      text: 'PRECONDITION_FAILED - invalid message: {unacceptable_type_in_header,"CC",longstr}',
      classId: 60,
      methodId: 40,
    });
    await expectChannelAlive(other);
    expect(await contents(ch0, [main!])).toEqual([[]]);
  });

  it('a BCC header that is not an array: 406 invalid message naming BCC and the type', async () => {
    const ch0 = await fx.channel();
    const x = await exchange(ch0, 'direct');
    const ch = await fx.channel();
    await expectChannelClosed(ch, () => ch.publish(x, 'main', Buffer.from('bad'), { headers: { BCC: 42 } }), {
      code: 406,
      text: 'PRECONDITION_FAILED - invalid message: {unacceptable_type_in_header,"BCC",byte}',
      classId: 60,
      methodId: 40,
    });
  });
});
