/**
 * Exchanges and routing (RabbitMQ docs page "exchanges"): the four exchange types, the default exchange,
 * the pre-declared amq.* exchanges, exchange.declare/delete with their flags and equivalence checks,
 * queue bindings, and what basic.publish does with messages that cannot be routed. Every expectation was
 * checked against RabbitMQ 3.10.8 (WARREN_TEST_REFERENCE_URL); reply texts are RabbitMQ's, verbatim.
 */
import type { Channel } from 'amqplib';
import { describe, expect, it } from 'vitest';
import * as M from '../../src/protocol/generated/methods.js';
import { eventually, withBroker } from '../helpers/broker.js';
import {
  bodies,
  drain,
  expectChannelAlive,
  expectChannelClosed,
  expectConnectionAlive,
  expectConnectionClosed,
  rawPublish,
  sync,
  withModel,
} from '../helpers/model.js';

const fx = withBroker();
const m = withModel(fx);

/** Declares `n` auto-named queues (deleted after the test). */
async function queues(ch: Channel, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const q = m.queue();
    await ch.assertQueue(q, { durable: false });
    out.push(q);
  }
  return out;
}

/** Publishes then waits (same channel round trip) so the messages are enqueued before the caller looks. */
async function publishAll(ch: Channel, exchange: string, msgs: [routingKey: string, body: string, headers?: Record<string, unknown>][]): Promise<void> {
  for (const [rk, body, headers] of msgs) ch.publish(exchange, rk, Buffer.from(body), headers === undefined ? {} : { headers });
  await sync(ch);
}

async function contents(ch: Channel, qs: string[]): Promise<string[][]> {
  const out: string[][] = [];
  for (const q of qs) out.push(bodies(await drain(ch, q)));
  return out;
}

describe('direct exchanges', () => {
  it('deliver a message to every queue bound with exactly its routing key', async () => {
    const ch = await fx.channel();
    const x = m.exchange();
    await ch.assertExchange(x, 'direct', { durable: false });
    const [a, b, c] = await queues(ch, 3);
    await ch.bindQueue(a!, x, 'red');
    await ch.bindQueue(b!, x, 'red');
    await ch.bindQueue(c!, x, 'green');
    await publishAll(ch, x, [
      ['red', 'r1'],
      ['green', 'g1'],
      ['blue', 'b1'],
      ['Red', 'R1'],
      ['red.x', 'rx'],
    ]);
    expect(await contents(ch, [a!, b!, c!])).toEqual([['r1'], ['r1'], ['g1']]);
  });

  it('give a queue bound with several keys one copy of each message matching any of them', async () => {
    const ch = await fx.channel();
    const x = m.exchange();
    await ch.assertExchange(x, 'direct', { durable: false });
    const [q] = await queues(ch, 1);
    await ch.bindQueue(q!, x, 'a');
    await ch.bindQueue(q!, x, 'b');
    await publishAll(ch, x, [
      ['a', '1'],
      ['b', '2'],
      ['c', '3'],
    ]);
    expect(await contents(ch, [q!])).toEqual([['1', '2']]);
  });

  it('match the empty routing key only to bindings with the empty key', async () => {
    const ch = await fx.channel();
    const x = m.exchange();
    await ch.assertExchange(x, 'direct', { durable: false });
    const [empty, other] = await queues(ch, 2);
    await ch.bindQueue(empty!, x, '');
    await ch.bindQueue(other!, x, 'k');
    await publishAll(ch, x, [
      ['', 'e'],
      ['k', 'k'],
    ]);
    expect(await contents(ch, [empty!, other!])).toEqual([['e'], ['k']]);
  });
});

describe('fanout exchanges', () => {
  it('deliver a copy to every bound queue whatever the routing and binding keys', async () => {
    const ch = await fx.channel();
    const x = m.exchange();
    await ch.assertExchange(x, 'fanout', { durable: false });
    const [a, b] = await queues(ch, 2);
    await ch.bindQueue(a!, x, '');
    await ch.bindQueue(b!, x, 'ignored');
    await publishAll(ch, x, [
      ['', '1'],
      ['anything', '2'],
    ]);
    expect(await contents(ch, [a!, b!])).toEqual([
      ['1', '2'],
      ['1', '2'],
    ]);
  });

  it('deliver one copy to a queue bound twice (a message reaches each queue at most once)', async () => {
    const ch = await fx.channel();
    const x = m.exchange();
    await ch.assertExchange(x, 'fanout', { durable: false });
    const [q] = await queues(ch, 1);
    await ch.bindQueue(q!, x, 'one');
    await ch.bindQueue(q!, x, 'two');
    await publishAll(ch, x, [['k', 'once']]);
    expect(await contents(ch, [q!])).toEqual([['once']]);
  });
});

describe('topic exchanges', () => {
  it('match * to exactly one word and # to zero or more (the full table is in topic-matching)', async () => {
    const ch = await fx.channel();
    const x = m.exchange();
    await ch.assertExchange(x, 'topic', { durable: false });
    const [star, hash] = await queues(ch, 2);
    await ch.bindQueue(star!, x, 'stock.*.nyse');
    await ch.bindQueue(hash!, x, 'stock.#');
    await publishAll(ch, x, [
      ['stock.ibm.nyse', '1'],
      ['stock.nyse', '2'],
      ['stock.a.b.nyse', '3'],
      ['stock', '4'],
      ['bond.ibm.nyse', '5'],
    ]);
    expect(await contents(ch, [star!, hash!])).toEqual([['1'], ['1', '2', '3', '4']]);
  });

  it('deliver one copy to a queue whose several patterns match the same key', async () => {
    const ch = await fx.channel();
    const x = m.exchange();
    await ch.assertExchange(x, 'topic', { durable: false });
    const [q] = await queues(ch, 1);
    await ch.bindQueue(q!, x, 'a.*');
    await ch.bindQueue(q!, x, '*.b');
    await ch.bindQueue(q!, x, '#');
    await publishAll(ch, x, [['a.b', 'one']]);
    expect(await contents(ch, [q!])).toEqual([['one']]);
  });
});

describe('headers exchanges', () => {
  async function headersSetup(bindings: Record<string, unknown>[]) {
    const ch = await fx.channel();
    const x = m.exchange();
    await ch.assertExchange(x, 'headers', { durable: false });
    const qs = await queues(ch, bindings.length);
    for (let i = 0; i < bindings.length; i++) await ch.bindQueue(qs[i]!, x, '', bindings[i]);
    return { ch, x, qs };
  }

  it('x-match=all routes when every binding header is present with an equal value', async () => {
    const { ch, x, qs } = await headersSetup([{ 'x-match': 'all', format: 'pdf', type: 'report' }]);
    await publishAll(ch, x, [
      ['', 'both', { format: 'pdf', type: 'report' }],
      ['', 'both+extra', { format: 'pdf', type: 'report', other: 1 }],
      ['', 'one', { format: 'pdf' }],
      ['', 'wrong-value', { format: 'pdf', type: 'log' }],
      ['', 'none'],
    ]);
    expect(await contents(ch, qs)).toEqual([['both', 'both+extra']]);
  });

  it('x-match omitted means all', async () => {
    const { ch, x, qs } = await headersSetup([{ format: 'pdf', type: 'report' }]);
    await publishAll(ch, x, [
      ['', 'both', { format: 'pdf', type: 'report' }],
      ['', 'one', { format: 'pdf' }],
    ]);
    expect(await contents(ch, qs)).toEqual([['both']]);
  });

  it('x-match=any routes when at least one binding header is present with an equal value', async () => {
    const { ch, x, qs } = await headersSetup([{ 'x-match': 'any', format: 'pdf', type: 'report' }]);
    await publishAll(ch, x, [
      ['', 'both', { format: 'pdf', type: 'report' }],
      ['', 'format', { format: 'pdf' }],
      ['', 'type', { type: 'report', format: 'zip' }],
      ['', 'neither', { format: 'zip', type: 'log' }],
      ['', 'none'],
    ]);
    expect(await contents(ch, qs)).toEqual([['both', 'format', 'type']]);
  });

  it('all and any ignore binding arguments starting with x-; all-with-x and any-with-x compare them', async () => {
    const { ch, x, qs } = await headersSetup([
      { 'x-match': 'all', 'x-tenant': 'a', k: 'v' },
      { 'x-match': 'all-with-x', 'x-tenant': 'a', k: 'v' },
      { 'x-match': 'any', 'x-tenant': 'a' },
      { 'x-match': 'any-with-x', 'x-tenant': 'a' },
    ]);
    await publishAll(ch, x, [
      ['', 'k-only', { k: 'v' }],
      ['', 'k+tenant', { k: 'v', 'x-tenant': 'a' }],
      ['', 'tenant-only', { 'x-tenant': 'a' }],
      ['', 'other-tenant', { k: 'v', 'x-tenant': 'b' }],
    ]);
    expect(await contents(ch, qs)).toEqual([
      ['k-only', 'k+tenant', 'other-tenant'],
      ['k+tenant'],
      [],
      ['k+tenant', 'tenant-only'],
    ]);
  });

  it('a binding with no header arguments matches every message with all and none with any', async () => {
    const { ch, x, qs } = await headersSetup([{ 'x-match': 'all' }, { 'x-match': 'any' }, {}]);
    await publishAll(ch, x, [
      ['', 'plain'],
      ['', 'with-headers', { a: 1 }],
    ]);
    expect(await contents(ch, qs)).toEqual([['plain', 'with-headers'], [], ['plain', 'with-headers']]);
  });

  it('a void binding value matches the presence of the header, whatever its value', async () => {
    const { ch, x, qs } = await headersSetup([{ 'x-match': 'all', present: null }]);
    await publishAll(ch, x, [
      ['', 'string', { present: 'yes' }],
      ['', 'number', { present: 7 }],
      ['', 'absent', { other: 'yes' }],
    ]);
    expect(await contents(ch, qs)).toEqual([['string', 'number']]);
  });

  it('compares numbers by value, not by field type (a byte 1 matches a long 1), but not with strings', async () => {
    const { ch, x, qs } = await headersSetup([{ 'x-match': 'all', n: 1 }]);
    await publishAll(ch, x, [
      ['', 'byte', { n: 1 }],
      ['', 'long', { n: { '!': 'long', value: 1 } }],
      ['', 'string', { n: '1' }],
      ['', 'two', { n: 2 }],
    ]);
    expect(await contents(ch, qs)).toEqual([['byte', 'long']]);
  });

  it('ignores the routing key', async () => {
    const { ch, x, qs } = await headersSetup([{ 'x-match': 'any', a: 'b' }]);
    await publishAll(ch, x, [
      ['anything', '1', { a: 'b' }],
      ['', '2', { a: 'b' }],
    ]);
    expect(await contents(ch, qs)).toEqual([['1', '2']]);
  });

  it('refuses a binding with an unknown x-match value: 406 on queue.bind, closing only that channel', async () => {
    const ch0 = await fx.channel();
    const x = m.exchange();
    await ch0.assertExchange(x, 'headers', { durable: false });
    const [q] = await queues(ch0, 1);
    const { ch, other } = await m.twoChannels();
    await expectChannelClosed(ch, () => ch.bindQueue(q!, x, '', { 'x-match': 'some' }), {
      code: 406,
      text: 'PRECONDITION_FAILED - Invalid x-match field value <<"some">>; expected all, any, all-with-x, or any-with-x',
      classId: 50,
      methodId: 20,
    });
    await expectChannelAlive(other);
    await expectChannelAlive(ch0);
  });

  it('refuses a binding whose x-match is not a string: 406 naming the field type', async () => {
    const ch0 = await fx.channel();
    const x = m.exchange();
    await ch0.assertExchange(x, 'headers', { durable: false });
    const [q] = await queues(ch0, 1);
    const ch = await fx.channel();
    await expectChannelClosed(ch, () => ch.bindQueue(q!, x, '', { 'x-match': 1 }), {
      code: 406,
      text: 'PRECONDITION_FAILED - Invalid x-match field type byte (value 1); expected longstr',
      classId: 50,
      methodId: 20,
    });
  });

  it('refuses an exchange-to-exchange binding with an unknown x-match value: 406 on exchange.bind', async () => {
    const ch0 = await fx.channel();
    const src = m.exchange();
    const dst = m.exchange();
    await ch0.assertExchange(src, 'headers', { durable: false });
    await ch0.assertExchange(dst, 'fanout', { durable: false });
    const ch = await fx.channel();
    await expectChannelClosed(ch, () => ch.bindExchange(dst, src, '', { 'x-match': 'ALL' }), {
      code: 406,
      text: 'PRECONDITION_FAILED - Invalid x-match field value <<"ALL">>; expected all, any, all-with-x, or any-with-x',
      classId: 40,
      methodId: 30,
    });
  });

  it('unbinds only the binding whose arguments are the same as given', async () => {
    const { ch, x, qs } = await headersSetup([{ 'x-match': 'any', a: '1' }]);
    const q = qs[0]!;
    await ch.unbindQueue(q, x, '', { 'x-match': 'any', a: '2' });
    await publishAll(ch, x, [['', 'still-bound', { a: '1' }]]);
    expect(await contents(ch, [q])).toEqual([['still-bound']]);
    await ch.unbindQueue(q, x, '', { 'x-match': 'any', a: '1' });
    await publishAll(ch, x, [['', 'unbound', { a: '1' }]]);
    expect(await contents(ch, [q])).toEqual([[]]);
  });
});

describe('the default exchange', () => {
  it('routes to the queue named by the routing key (every queue is bound to it by its name)', async () => {
    const ch = await fx.channel();
    const [a, b] = await queues(ch, 2);
    await publishAll(ch, '', [
      [a!, 'to-a'],
      [b!, 'to-b'],
      ['no-such-queue-' + a!, 'nowhere'],
    ]);
    expect(await contents(ch, [a!, b!])).toEqual([['to-a'], ['to-b']]);
  });

  it('cannot be bound to: 403 ACCESS_REFUSED on queue.bind', async () => {
    const ch0 = await fx.channel();
    const [q] = await queues(ch0, 1);
    const { ch, other } = await m.twoChannels();
    await expectChannelClosed(ch, () => ch.bindQueue(q!, '', q!), {
      code: 403,
      text: 'ACCESS_REFUSED - operation not permitted on the default exchange',
      classId: 50,
      methodId: 20,
    });
    await expectChannelAlive(other);
  });

  it('cannot be unbound from: 403 ACCESS_REFUSED on queue.unbind', async () => {
    const ch0 = await fx.channel();
    const [q] = await queues(ch0, 1);
    const ch = await fx.channel();
    await expectChannelClosed(ch, () => ch.unbindQueue(q!, '', q!), {
      code: 403,
      text: 'ACCESS_REFUSED - operation not permitted on the default exchange',
      classId: 50,
      methodId: 50,
    });
  });

  it('cannot be deleted: 403 ACCESS_REFUSED on exchange.delete', async () => {
    const ch = await fx.channel();
    await expectChannelClosed(ch, () => ch.deleteExchange(''), {
      code: 403,
      text: 'ACCESS_REFUSED - operation not permitted on the default exchange',
      classId: 40,
      methodId: 20,
    });
  });

  it('cannot be declared, not even passively: 403 ACCESS_REFUSED on exchange.declare', async () => {
    const ch = await fx.channel();
    await expectChannelClosed(ch, () => ch.assertExchange('', 'direct'), {
      code: 403,
      text: 'ACCESS_REFUSED - operation not permitted on the default exchange',
      classId: 40,
      methodId: 10,
    });
    const ch2 = await fx.channel();
    await expectChannelClosed(ch2, () => ch2.checkExchange(''), {
      code: 403,
      text: 'ACCESS_REFUSED - operation not permitted on the default exchange',
      classId: 40,
      methodId: 10,
    });
  });

  it('cannot take part in an exchange-to-exchange binding, as source or destination: 403', async () => {
    const ch0 = await fx.channel();
    const x = m.exchange();
    await ch0.assertExchange(x, 'fanout', { durable: false });
    const ch = await fx.channel();
    await expectChannelClosed(ch, () => ch.bindExchange(x, '', 'k'), {
      code: 403,
      text: 'ACCESS_REFUSED - operation not permitted on the default exchange',
      classId: 40,
      methodId: 30,
    });
    const ch2 = await fx.channel();
    await expectChannelClosed(ch2, () => ch2.bindExchange('', x, 'k'), {
      code: 403,
      text: 'ACCESS_REFUSED - operation not permitted on the default exchange',
      classId: 40,
      methodId: 30,
    });
  });
});

describe('the pre-declared exchanges', () => {
  const predeclared = [
    ['amq.direct', 'direct'],
    ['amq.fanout', 'fanout'],
    ['amq.topic', 'topic'],
    ['amq.headers', 'headers'],
    ['amq.match', 'headers'],
  ] as const;

  it.each(predeclared)('%s exists as a durable %s exchange (re-declaring it equivalently is allowed)', async (name, type) => {
    const ch = await fx.channel();
    await ch.checkExchange(name);
    await expect(ch.assertExchange(name, type, { durable: true })).resolves.toMatchObject({ exchange: name });
  });

  it.each(predeclared)('%s refuses a re-declare with another type: 406 inequivalent arg', async (name, type) => {
    const ch = await fx.channel();
    const other = type === 'fanout' ? 'direct' : 'fanout';
    await expectChannelClosed(ch, () => ch.assertExchange(name, other, { durable: true }), {
      code: 406,
      text: `PRECONDITION_FAILED - inequivalent arg 'type' for exchange '${name}' in vhost '/': received '${other}' but current is '${type}'`,
      classId: 40,
      methodId: 10,
    });
  });

  it('route like any exchange of their type', async () => {
    const ch = await fx.channel();
    const [d, f, t, h] = await queues(ch, 4);
    await ch.bindQueue(d!, 'amq.direct', d!);
    await ch.bindQueue(f!, 'amq.fanout', '');
    await ch.bindQueue(t!, 'amq.topic', `${t!}.#`);
    await ch.bindQueue(h!, 'amq.match', '', { 'x-match': 'all', to: h! });
    ch.publish('amq.direct', d!, Buffer.from('direct'));
    ch.publish('amq.fanout', '', Buffer.from(`fanout-${f!}`));
    ch.publish('amq.topic', `${t!}.a.b`, Buffer.from('topic'));
    ch.publish('amq.match', '', Buffer.from('headers'), { headers: { to: h! } });
    await sync(ch);
    const [dm, fm, tm, hm] = await contents(ch, [d!, f!, t!, h!]);
    expect(dm).toEqual(['direct']);
    // amq.fanout is shared with other users of the reference broker: their messages may land here too
    expect(fm).toContain(`fanout-${f!}`);
    expect(tm).toEqual(['topic']);
    expect(hm).toEqual(['headers']);
    await ch.unbindQueue(f!, 'amq.fanout', '');
  });

  it('refuses to create a new exchange with the reserved amq. prefix: 403 ACCESS_REFUSED', async () => {
    const name = `amq.${m.exchange('custom')}`;
    const { ch, other } = await m.twoChannels();
    await expectChannelClosed(ch, () => ch.assertExchange(name, 'direct'), {
      code: 403,
      text: `ACCESS_REFUSED - exchange name '${name}' contains reserved prefix 'amq.*'`,
      classId: 40,
      methodId: 10,
    });
    await expectChannelAlive(other);
    const ch2 = await fx.channel();
    await expectChannelClosed(ch2, () => ch2.checkExchange(name), {
      code: 404,
      text: `NOT_FOUND - no exchange '${name}' in vhost '/'`,
      classId: 40,
      methodId: 10,
    });
  });

  it('refuses to delete an amq. exchange: 403 ACCESS_REFUSED, and it still exists', async () => {
    const { ch, other } = await m.twoChannels();
    await expectChannelClosed(ch, () => ch.deleteExchange('amq.direct'), {
      code: 403,
      text: "ACCESS_REFUSED - deletion of system exchange 'amq.direct' in vhost '/' not allowed",
      classId: 40,
      methodId: 20,
    });
    await other.checkExchange('amq.direct');
  });

  it('refuses to delete any amq. name, even one that does not exist: 403 ACCESS_REFUSED', async () => {
    const ch = await fx.channel();
    await expectChannelClosed(ch, () => ch.deleteExchange('amq.no-such-exchange'), {
      code: 403,
      text: "ACCESS_REFUSED - deletion of system exchange 'amq.no-such-exchange' in vhost '/' not allowed",
      classId: 40,
      methodId: 20,
    });
  });
});

describe('exchange.declare', () => {
  it('creates an exchange that a passive declare then finds', async () => {
    const ch = await fx.channel();
    const x = m.exchange();
    expect(await ch.assertExchange(x, 'topic', { durable: false })).toEqual({ exchange: x });
    await ch.checkExchange(x);
  });

  it('passive on a missing exchange: 404 NOT_FOUND, closing only that channel', async () => {
    const x = m.exchange('missing');
    const { conn, ch, other } = await m.twoChannels();
    await expectChannelClosed(ch, () => ch.checkExchange(x), {
      code: 404,
      text: `NOT_FOUND - no exchange '${x}' in vhost '/'`,
      classId: 40,
      methodId: 10,
    });
    await expectChannelAlive(other);
    await expectConnectionAlive(conn);
  });

  it('passive ignores the type and flags given', async () => {
    const ch = await fx.channel();
    const x = m.exchange();
    await ch.assertExchange(x, 'fanout', { durable: false });
    const raw = await m.raw();
    await raw.openChannel(1);
    raw.sendEncoded((w) => M.encodeExchangeDeclare(w, 1, { exchange: x, type: 'topic', passive: true, durable: true, autoDelete: true, internal: true }));
    expect(await raw.method('exchange.declare-ok', 1)).toBeDefined();
    expect(raw.closeMethod()).toBeUndefined();
  });

  it('re-declaring with the same type and flags is a no-op', async () => {
    const ch = await fx.channel();
    const x = m.exchange();
    await ch.assertExchange(x, 'direct', { durable: true, autoDelete: false, arguments: { 'alternate-exchange': 'ae' } });
    await expect(ch.assertExchange(x, 'direct', { durable: true, autoDelete: false, arguments: { 'alternate-exchange': 'ae' } })).resolves.toMatchObject({ exchange: x });
  });

  it.each([
    ['type', { type: 'fanout' }, "received 'fanout' but current is 'direct'"],
    ['durable', { durable: true }, "received 'true' but current is 'false'"],
    ['auto_delete', { autoDelete: true }, "received 'true' but current is 'false'"],
    ['internal', { internal: true }, "received 'true' but current is 'false'"],
  ] as const)('re-declaring with a different %s: 406 PRECONDITION_FAILED inequivalent arg', async (arg, change, detail) => {
    const ch0 = await fx.channel();
    const x = m.exchange();
    await ch0.assertExchange(x, 'direct', { durable: false, autoDelete: false, internal: false });
    const { ch, other } = await m.twoChannels();
    const opts = { durable: false, autoDelete: false, internal: false, ...change };
    const type = 'type' in change ? change.type : 'direct';
    await expectChannelClosed(ch, () => ch.assertExchange(x, type, opts), {
      code: 406,
      text: `PRECONDITION_FAILED - inequivalent arg '${arg}' for exchange '${x}' in vhost '/': ${detail}`,
      classId: 40,
      methodId: 10,
    });
    await expectChannelAlive(other);
    await ch0.checkExchange(x);
  });

  it('compares the type before the flags (the first difference is the one reported)', async () => {
    const ch0 = await fx.channel();
    const x = m.exchange();
    await ch0.assertExchange(x, 'direct', { durable: false });
    const ch = await fx.channel();
    await expectChannelClosed(ch, () => ch.assertExchange(x, 'topic', { durable: true, autoDelete: true }), {
      code: 406,
      text: `PRECONDITION_FAILED - inequivalent arg 'type' for exchange '${x}' in vhost '/': received 'topic' but current is 'direct'`,
      classId: 40,
      methodId: 10,
    });
  });

  it('compares only the alternate-exchange argument: other arguments may differ', async () => {
    const ch = await fx.channel();
    const x = m.exchange();
    await ch.assertExchange(x, 'direct', { durable: false, arguments: { 'x-custom': 'a' } });
    await ch.assertExchange(x, 'direct', { durable: false, arguments: { 'x-custom': 'b', other: 1 } });
    await expect(ch.assertExchange(x, 'direct', { durable: false })).resolves.toMatchObject({ exchange: x });
  });

  it('an unknown type: 503 COMMAND_INVALID closes the connection, other connections carry on', async () => {
    const bystander = await fx.connect();
    const conn = await fx.connect();
    const ch = await conn.createChannel();
    ch.on('error', () => {});
    const x = m.exchange();
    await expectConnectionClosed(conn, () => ch.assertExchange(x, 'bogus'), {
      code: 503,
      text: "COMMAND_INVALID - unknown exchange type 'bogus'",
    });
    await expectConnectionAlive(bystander);
  });

  it('an unknown type is refused with class 40 method 10 in connection.close', async () => {
    const raw = await m.raw();
    await raw.openChannel(1);
    raw.sendEncoded((w) => M.encodeExchangeDeclare(w, 1, { exchange: m.exchange(), type: 'x-no-such-type' }));
    expect(await raw.waitForClose()).toEqual({
      name: 'connection.close',
      channel: 0,
      replyCode: 503,
      replyText: "COMMAND_INVALID - unknown exchange type 'x-no-such-type'",
      classId: 40,
      methodId: 10,
    });
  });

  it('checks the type even when the exchange exists: 503 for an unknown type on re-declare', async () => {
    const ch0 = await fx.channel();
    const x = m.exchange();
    await ch0.assertExchange(x, 'direct', { durable: false });
    const conn = await fx.connect();
    const ch = await conn.createChannel();
    ch.on('error', () => {});
    await expectConnectionClosed(conn, () => ch.assertExchange(x, 'nonsense', { durable: false }), {
      code: 503,
      text: "COMMAND_INVALID - unknown exchange type 'nonsense'",
    });
  });

  it('with nowait sends no declare-ok, and the exchange exists', async () => {
    const x = m.exchange();
    const raw = await m.raw();
    await raw.openChannel(1);
    raw.sendEncoded((w) => M.encodeExchangeDeclare(w, 1, { exchange: x, type: 'fanout', nowait: true }));
    raw.sendEncoded((w) => M.encodeExchangeDeclare(w, 1, { exchange: x, passive: true }));
    expect(await raw.method('exchange.declare-ok', 1)).toBeDefined();
    expect(raw.frames.filter((f) => f.type === 'method' && f.name === 'exchange.declare-ok')).toHaveLength(1);
  });
});

describe('auto-delete exchanges', () => {
  it('are not deleted before their first binding', async () => {
    const ch = await fx.channel();
    const x = m.exchange();
    await ch.assertExchange(x, 'fanout', { durable: false, autoDelete: true });
    await expect(ch.checkExchange(x)).resolves.toBeDefined();
  });

  it('are deleted when their last queue binding is removed', async () => {
    const ch = await fx.channel();
    const x = m.exchange();
    await ch.assertExchange(x, 'direct', { durable: false, autoDelete: true });
    const [a, b] = await queues(ch, 2);
    await ch.bindQueue(a!, x, 'k');
    await ch.bindQueue(b!, x, 'k');
    await ch.unbindQueue(a!, x, 'k');
    await ch.checkExchange(x);
    await ch.unbindQueue(b!, x, 'k');
    await expectChannelClosed(ch, () => ch.checkExchange(x), {
      code: 404,
      text: `NOT_FOUND - no exchange '${x}' in vhost '/'`,
      classId: 40,
      methodId: 10,
    });
  });

  it('are deleted when the last queue bound to them is deleted', async () => {
    const ch = await fx.channel();
    const x = m.exchange();
    await ch.assertExchange(x, 'fanout', { durable: false, autoDelete: true });
    const [q] = await queues(ch, 1);
    await ch.bindQueue(q!, x, '');
    await ch.deleteQueue(q!);
    await expectChannelClosed(ch, () => ch.checkExchange(x), {
      code: 404,
      text: `NOT_FOUND - no exchange '${x}' in vhost '/'`,
      classId: 40,
      methodId: 10,
    });
  });
});

describe('internal exchanges', () => {
  it('cannot be published to: 403 ACCESS_REFUSED closes the channel, others carry on', async () => {
    const ch0 = await fx.channel();
    const x = m.exchange();
    await ch0.assertExchange(x, 'fanout', { durable: false, internal: true });
    const { ch, other } = await m.twoChannels();
    await expectChannelClosed(ch, () => ch.publish(x, '', Buffer.from('no')), {
      code: 403,
      text: `ACCESS_REFUSED - cannot publish to internal exchange '${x}' in vhost '/'`,
      classId: 60,
      methodId: 40,
    });
    await expectChannelAlive(other);
  });
});

describe('exchange.delete', () => {
  it('deletes the exchange and its bindings', async () => {
    const ch = await fx.channel();
    const x = m.exchange();
    await ch.assertExchange(x, 'fanout', { durable: false });
    const [q] = await queues(ch, 1);
    await ch.bindQueue(q!, x, '');
    await ch.deleteExchange(x);
    // Re-created, it has no bindings left.
    await ch.assertExchange(x, 'fanout', { durable: false });
    await publishAll(ch, x, [['', 'after']]);
    expect(await contents(ch, [q!])).toEqual([[]]);
  });

  it('of a missing exchange succeeds (delete-ok)', async () => {
    const ch = await fx.channel();
    await ch.deleteExchange(m.exchange('missing'));
    await expectChannelAlive(ch);
  });

  it('with if-unused refuses an exchange that has bindings: 406, and it survives', async () => {
    const ch0 = await fx.channel();
    const x = m.exchange();
    await ch0.assertExchange(x, 'direct', { durable: false });
    const [q] = await queues(ch0, 1);
    await ch0.bindQueue(q!, x, 'k');
    const { ch, other } = await m.twoChannels();
    await expectChannelClosed(ch, () => ch.deleteExchange(x, { ifUnused: true }), {
      code: 406,
      text: `PRECONDITION_FAILED - exchange '${x}' in vhost '/' in use`,
      classId: 40,
      methodId: 20,
    });
    await expectChannelAlive(other);
    await other.checkExchange(x);
  });

  it('with if-unused deletes an exchange without bindings', async () => {
    const ch = await fx.channel();
    const x = m.exchange();
    await ch.assertExchange(x, 'direct', { durable: false });
    await ch.deleteExchange(x, { ifUnused: true });
    await expectChannelClosed(ch, () => ch.checkExchange(x), {
      code: 404,
      text: `NOT_FOUND - no exchange '${x}' in vhost '/'`,
      classId: 40,
      methodId: 10,
    });
  });

  it('with if-unused counts only bindings where the exchange is the source', async () => {
    const ch = await fx.channel();
    const src = m.exchange();
    const dst = m.exchange();
    await ch.assertExchange(src, 'fanout', { durable: false });
    await ch.assertExchange(dst, 'fanout', { durable: false });
    await ch.bindExchange(dst, src, '');
    await ch.deleteExchange(dst, { ifUnused: true });
    await expectChannelClosed(ch, () => ch.checkExchange(dst), {
      code: 404,
      text: `NOT_FOUND - no exchange '${dst}' in vhost '/'`,
      classId: 40,
      methodId: 10,
    });
  });
});

describe('queue bindings', () => {
  it('to a missing exchange: 404 NOT_FOUND on queue.bind', async () => {
    const ch0 = await fx.channel();
    const [q] = await queues(ch0, 1);
    const x = m.exchange('missing');
    const { ch, other } = await m.twoChannels();
    await expectChannelClosed(ch, () => ch.bindQueue(q!, x, 'k'), {
      code: 404,
      text: `NOT_FOUND - no exchange '${x}' in vhost '/'`,
      classId: 50,
      methodId: 20,
    });
    await expectChannelAlive(other);
  });

  it('of a missing queue: 404 NOT_FOUND on queue.bind', async () => {
    const ch0 = await fx.channel();
    const x = m.exchange();
    await ch0.assertExchange(x, 'direct', { durable: false });
    const q = m.queue('missing');
    const ch = await fx.channel();
    await expectChannelClosed(ch, () => ch.bindQueue(q, x, 'k'), {
      code: 404,
      text: `NOT_FOUND - no queue '${q}' in vhost '/'`,
      classId: 50,
      methodId: 20,
    });
  });

  it('are idempotent: binding twice with the same key and arguments gives one binding', async () => {
    const ch = await fx.channel();
    const x = m.exchange();
    await ch.assertExchange(x, 'direct', { durable: false });
    const [q] = await queues(ch, 1);
    await ch.bindQueue(q!, x, 'k');
    await ch.bindQueue(q!, x, 'k');
    await ch.unbindQueue(q!, x, 'k');
    await publishAll(ch, x, [['k', 'after-unbind']]);
    expect(await contents(ch, [q!])).toEqual([[]]);
  });

  it('queue.unbind stops the routing; unbinding a binding that does not exist succeeds', async () => {
    const ch = await fx.channel();
    const x = m.exchange();
    await ch.assertExchange(x, 'direct', { durable: false });
    const [q] = await queues(ch, 1);
    await ch.bindQueue(q!, x, 'k');
    await publishAll(ch, x, [['k', 'bound']]);
    await ch.unbindQueue(q!, x, 'k');
    await ch.unbindQueue(q!, x, 'k');
    await ch.unbindQueue(q!, x, 'never-bound');
    await publishAll(ch, x, [['k', 'unbound']]);
    expect(await contents(ch, [q!])).toEqual([['bound']]);
  });

  it('queue.unbind naming a missing queue or exchange succeeds (RabbitMQ ignores it)', async () => {
    const ch = await fx.channel();
    const x = m.exchange();
    await ch.assertExchange(x, 'direct', { durable: false });
    const [q] = await queues(ch, 1);
    await ch.unbindQueue(m.queue('missing'), x, 'k');
    await ch.unbindQueue(q!, m.exchange('missing'), 'k');
    await expectChannelAlive(ch);
  });

  it('deleting a queue removes its bindings', async () => {
    const ch = await fx.channel();
    const x = m.exchange();
    await ch.assertExchange(x, 'direct', { durable: false });
    const [q] = await queues(ch, 1);
    await ch.bindQueue(q!, x, 'k');
    await ch.deleteQueue(q!);
    await ch.assertQueue(q!, { durable: false });
    await publishAll(ch, x, [['k', 'after']]);
    expect(await contents(ch, [q!])).toEqual([[]]);
  });
});

describe('basic.publish routing outcomes', () => {
  it('to a missing exchange: 404 NOT_FOUND closes the channel, others carry on', async () => {
    const x = m.exchange('missing');
    const { conn, ch, other } = await m.twoChannels();
    await expectChannelClosed(ch, () => ch.publish(x, 'k', Buffer.from('lost')), {
      code: 404,
      text: `NOT_FOUND - no exchange '${x}' in vhost '/'`,
      classId: 60,
      methodId: 40,
    });
    await expectChannelAlive(other);
    await expectConnectionAlive(conn);
  });

  it('an unroutable message without mandatory is dropped silently', async () => {
    const ch = await fx.channel();
    const x = m.exchange();
    await ch.assertExchange(x, 'direct', { durable: false });
    const returned: unknown[] = [];
    ch.on('return', (msg) => returned.push(msg));
    ch.publish(x, 'nobody', Buffer.from('dropped'));
    ch.publish('', m.queue('missing'), Buffer.from('dropped'));
    await sync(ch);
    expect(returned).toEqual([]);
    await expectChannelAlive(ch);
  });

  it('an unroutable mandatory message comes back in basic.return 312 NO_ROUTE with its content', async () => {
    const ch = await fx.channel();
    const x = m.exchange();
    await ch.assertExchange(x, 'direct', { durable: false });
    const returned = new Promise<import('amqplib').Message>((resolve) => ch.once('return', resolve));
    ch.publish(x, 'nobody', Buffer.from('come back'), { mandatory: true, contentType: 'text/plain', headers: { h: 'v' }, messageId: 'm1' });
    const msg = await returned;
    expect(msg.fields).toMatchObject({ replyCode: 312, replyText: 'NO_ROUTE', exchange: x, routingKey: 'nobody' });
    expect(msg.content.toString()).toBe('come back');
    expect(msg.properties).toMatchObject({ contentType: 'text/plain', headers: { h: 'v' }, messageId: 'm1' });
    await expectChannelAlive(ch);
  });

  it('a mandatory message to the default exchange naming no queue is returned', async () => {
    const ch = await fx.channel();
    const q = m.queue('missing');
    const returned = new Promise<import('amqplib').Message>((resolve) => ch.once('return', resolve));
    ch.publish('', q, Buffer.from('x'), { mandatory: true });
    expect((await returned).fields).toMatchObject({ replyCode: 312, replyText: 'NO_ROUTE', exchange: '', routingKey: q });
  });

  it('a routed mandatory message is not returned', async () => {
    const ch = await fx.channel();
    const [q] = await queues(ch, 1);
    const returned: unknown[] = [];
    ch.on('return', (msg) => returned.push(msg));
    ch.publish('', q!, Buffer.from('routed'), { mandatory: true });
    await sync(ch);
    await eventually(async () => expect((await ch.checkQueue(q!)).messageCount).toBe(1));
    expect(returned).toEqual([]);
  });

  it('immediate=true: 540 NOT_IMPLEMENTED closes the connection (class 60, method 40), others carry on', async () => {
    const bystander = await fx.channel();
    const ch0 = await fx.channel();
    const [q] = await queues(ch0, 1);
    const raw = await m.raw();
    await raw.openChannel(1);
    rawPublish(raw, 1, { routingKey: q!, immediate: true }, 'now');
    expect(await raw.waitForClose()).toEqual({
      name: 'connection.close',
      channel: 0,
      replyCode: 540,
      replyText: 'NOT_IMPLEMENTED - immediate=true',
      classId: 60,
      methodId: 40,
    });
    await expectChannelAlive(bystander);
    expect((await ch0.checkQueue(q!)).messageCount).toBe(0);
  });
});
