/**
 * Dead-lettering (RabbitMQ docs page "dlx"; rabbit_dead_letter.erl and rabbit_amqqueue_process.erl of
 * 3.10.8): which events dead-letter a message, where it goes (x-dead-letter-exchange, with its own
 * routing keys or x-dead-letter-routing-key), the x-death history RabbitMQ writes, the rule that drops
 * a message going round a cycle of queues without a rejection, and at-most-once delivery with
 * publisher confirms. Every test passes against RabbitMQ 3.10.8 first (later releases' history:
 * test/versions/dead-letter-history.test.ts).
 *
 * Negative checks ("was not dead-lettered") use a sentinel: a later message rejected from the same
 * queue. Dead letters of one queue reach a dead-letter queue in order, so once the sentinel is there,
 * anything dead-lettered before it would be too.
 */
import type { Channel } from 'amqplib';
import { describe, expect, it } from 'vitest';
import { withBroker } from '../helpers/broker.js';
import { withModel } from '../helpers/model.js';
import {
  FIRST_DEATH_KEYS,
  SORTED_DEATH_KEYS,
  count,
  deathTime,
  deaths,
  expectCount,
  getOne,
  headersOf,
  nextMessage,
  publishConfirmed,
  send,
  takeAll,
  text,
} from '../helpers/queues.js';

const fx = withBroker();
const m = withModel(fx);

/** A fanout exchange with one queue bound to it: where a test collects dead letters. */
async function sink(ch: Channel, type: 'fanout' | 'direct' = 'fanout'): Promise<{ dlx: string; dlq: string }> {
  const dlx = m.exchange('dlx');
  const dlq = m.queue('dlq');
  await ch.assertExchange(dlx, type, { durable: false });
  await ch.assertQueue(dlq, { durable: false });
  if (type === 'fanout') await ch.bindQueue(dlq, dlx, '');
  return { dlx, dlq };
}

async function queue(ch: Channel, args: Record<string, unknown>, prefix = 'q'): Promise<string> {
  const q = m.queue(prefix);
  await ch.assertQueue(q, { durable: false, arguments: args });
  return q;
}

/** Rejects (requeue=false) a fresh sentinel message from `q`, to mark the end of its dead letters. */
async function rejectSentinel(ch: Channel, q: string): Promise<void> {
  await send(ch, q, ['sentinel']);
  // Only the sentinel is ready now (callers leave the queue empty before): get it and reject it.
  const s = await getOne(ch, q);
  expect(s.content.toString()).toBe('sentinel');
  ch.reject(s, false);
}

describe('where dead letters go', () => {
  it('x-dead-letter-exchange: a rejected message is republished there with its original routing key', async () => {
    const ch = await fx.channel();
    const { dlx, dlq } = await sink(ch, 'direct');
    const q = await queue(ch, { 'x-dead-letter-exchange': dlx });
    await ch.bindQueue(dlq, dlx, q);
    await send(ch, q, ['m1']);
    ch.reject(await getOne(ch, q), false);
    const dead = await nextMessage(ch, dlq);
    expect(dead.content.toString()).toBe('m1');
    expect(dead.fields).toMatchObject({ exchange: dlx, routingKey: q, redelivered: false });
  });

  it('x-dead-letter-routing-key replaces the routing key', async () => {
    const ch = await fx.channel();
    const { dlx, dlq } = await sink(ch, 'direct');
    await ch.bindQueue(dlq, dlx, 'dead-key');
    const q = await queue(ch, { 'x-dead-letter-exchange': dlx, 'x-dead-letter-routing-key': 'dead-key' });
    await send(ch, q, ['m1']);
    ch.reject(await getOne(ch, q), false);
    const dead = await nextMessage(ch, dlq);
    expect(dead.fields).toMatchObject({ exchange: dlx, routingKey: 'dead-key' });
    // The x-death entry still records the routing key the message was published with.
    expect(deaths(dead)[0]!['routing-keys']).toEqual([q]);
  });

  it('the default exchange can be the dead-letter exchange, with a routing key naming a queue', async () => {
    const ch = await fx.channel();
    const dlq = m.queue('dlq');
    await ch.assertQueue(dlq, { durable: false });
    const q = await queue(ch, { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dlq });
    await send(ch, q, ['m1']);
    ch.reject(await getOne(ch, q), false);
    const dead = await nextMessage(ch, dlq);
    expect(dead.content.toString()).toBe('m1');
    expect(dead.fields).toMatchObject({ exchange: '', routingKey: dlq });
  });

  it('a dead-letter exchange that does not exist drops the message; it is looked up at each dead-lettering', async () => {
    const ch = await fx.channel();
    const dlx = m.exchange('dlx');
    const dlq = m.queue('dlq');
    const q = await queue(ch, { 'x-dead-letter-exchange': dlx });
    await send(ch, q, ['lost']);
    ch.reject(await getOne(ch, q), false);
    await expectCount(ch, q, 0);
    // Declared afterwards, the exchange receives the next dead letter (and only that one).
    await ch.assertExchange(dlx, 'fanout', { durable: false });
    await ch.assertQueue(dlq, { durable: false });
    await ch.bindQueue(dlq, dlx, '');
    await send(ch, q, ['found']);
    ch.reject(await getOne(ch, q), false);
    expect(text(await takeAll(ch, dlq, 1))).toEqual(['found']);
  });

  it('a dead letter the dead-letter exchange routes nowhere is dropped', async () => {
    const ch = await fx.channel();
    const { dlx, dlq } = await sink(ch, 'direct');
    await ch.bindQueue(dlq, dlx, 'only-this');
    const q = await queue(ch, { 'x-dead-letter-exchange': dlx });
    await send(ch, q, ['unroutable']);
    ch.reject(await getOne(ch, q), false);
    await expectCount(ch, q, 0);
    expect(await count(ch, dlq)).toBe(0);
  });

  it('every property but expiration is kept; the body is unchanged', async () => {
    const ch = await fx.channel();
    const { dlx, dlq } = await sink(ch);
    const q = await queue(ch, { 'x-dead-letter-exchange': dlx });
    const props = {
      contentType: 'text/plain',
      contentEncoding: 'identity',
      headers: { 'z-user': 'last', 'a-user': 7 },
      deliveryMode: 2,
      priority: 3,
      correlationId: 'corr',
      replyTo: 'reply-here',
      expiration: '60000',
      messageId: 'id-1',
      timestamp: 1_600_000_000,
      type: 'kind',
      userId: 'guest',
      appId: 'app',
    };
    ch.sendToQueue(q, Buffer.from([0, 1, 2, 255]), props);
    ch.reject(await getOne(ch, q), false);
    const dead = await nextMessage(ch, dlq);
    expect(dead.content).toEqual(Buffer.from([0, 1, 2, 255]));
    const { headers, expiration, ...rest } = dead.properties;
    expect(expiration).toBeUndefined();
    expect(rest).toMatchObject({
      contentType: 'text/plain',
      contentEncoding: 'identity',
      deliveryMode: 2,
      priority: 3,
      correlationId: 'corr',
      replyTo: 'reply-here',
      messageId: 'id-1',
      timestamp: 1_600_000_000,
      type: 'kind',
      userId: 'guest',
      appId: 'app',
    });
    expect(headers).toMatchObject({ 'z-user': 'last', 'a-user': 7 });
  });
});

describe('what dead-letters a message', () => {
  it('basic.reject with requeue=false (reason rejected)', async () => {
    const ch = await fx.channel();
    const { dlx, dlq } = await sink(ch);
    const q = await queue(ch, { 'x-dead-letter-exchange': dlx });
    await send(ch, q, ['m1']);
    ch.reject(await getOne(ch, q), false);
    const dead = await nextMessage(ch, dlq);
    expect(deaths(dead)[0]).toMatchObject({ reason: 'rejected', queue: q });
    expect(await count(ch, q)).toBe(0);
  });

  it('basic.nack with requeue=false, single and multiple, in delivery order', async () => {
    const ch = await fx.channel();
    const { dlx, dlq } = await sink(ch);
    const q = await queue(ch, { 'x-dead-letter-exchange': dlx });
    await send(ch, q, ['m1', 'm2', 'm3', 'm4']);
    const got = [await getOne(ch, q), await getOne(ch, q), await getOne(ch, q), await getOne(ch, q)];
    ch.nack(got[0]!, false, false);
    ch.nack(got[3]!, true, false); // m2, m3 and m4
    const dead = await takeAll(ch, dlq, 4);
    expect(text(dead)).toEqual(['m1', 'm2', 'm3', 'm4']);
    for (const d of dead) expect(deaths(d)[0]).toMatchObject({ reason: 'rejected', queue: q, count: 1 });
  });

  it('a consumer rejecting without requeue dead-letters too', async () => {
    const ch = await fx.channel();
    const { dlx, dlq } = await sink(ch);
    const q = await queue(ch, { 'x-dead-letter-exchange': dlx });
    await ch.consume(q, (msg) => {
      if (msg !== null) ch.nack(msg, false, false);
    });
    await send(ch, q, ['c1', 'c2']);
    expect(text(await takeAll(ch, dlq, 2))).toEqual(['c1', 'c2']);
  });

  it('reject and nack with requeue=true put the message back and do not dead-letter it', async () => {
    const ch = await fx.channel();
    const { dlx, dlq } = await sink(ch);
    const q = await queue(ch, { 'x-dead-letter-exchange': dlx });
    await send(ch, q, ['back']);
    ch.reject(await getOne(ch, q), true);
    ch.nack(await getOne(ch, q), false, true);
    const again = await getOne(ch, q, true);
    expect(again.content.toString()).toBe('back');
    expect(again.fields.redelivered).toBe(true);
    await rejectSentinel(ch, q);
    expect(text(await takeAll(ch, dlq, 1))).toEqual(['sentinel']);
  });

  it('unacknowledged messages of a closed channel are requeued, not dead-lettered', async () => {
    const ch = await fx.channel();
    const { dlx, dlq } = await sink(ch);
    const q = await queue(ch, { 'x-dead-letter-exchange': dlx });
    await send(ch, q, ['held']);
    const conn = await fx.connect();
    const other = await conn.createChannel();
    expect((await getOne(other, q)).content.toString()).toBe('held');
    await other.close();
    expect((await getOne(ch, q, true)).fields.redelivered).toBe(true);
    await rejectSentinel(ch, q);
    expect(text(await takeAll(ch, dlq, 1))).toEqual(['sentinel']);
  });

  it('queue.purge does not dead-letter the purged messages', async () => {
    const ch = await fx.channel();
    const { dlx, dlq } = await sink(ch);
    const q = await queue(ch, { 'x-dead-letter-exchange': dlx });
    await send(ch, q, ['p1', 'p2']);
    expect(await ch.purgeQueue(q)).toEqual({ messageCount: 2 });
    await rejectSentinel(ch, q);
    expect(text(await takeAll(ch, dlq, 1))).toEqual(['sentinel']);
  });

  it('queue.delete does not dead-letter the messages it drops', async () => {
    const ch = await fx.channel();
    const { dlx, dlq } = await sink(ch);
    const q = await queue(ch, { 'x-dead-letter-exchange': dlx });
    await send(ch, q, ['d1', 'd2']);
    expect(await ch.deleteQueue(q)).toEqual({ messageCount: 2 });
    expect(await count(ch, dlq)).toBe(0);
  });

  it('expiry by x-message-ttl (reason expired)', async () => {
    const ch = await fx.channel();
    const { dlx, dlq } = await sink(ch);
    const q = await queue(ch, { 'x-dead-letter-exchange': dlx, 'x-message-ttl': 20 });
    await send(ch, q, ['t1', 't2']);
    const dead = await takeAll(ch, dlq, 2);
    expect(text(dead)).toEqual(['t1', 't2']);
    expect(deaths(dead[0]!)[0]).toMatchObject({ reason: 'expired', queue: q, count: 1 });
    // A queue TTL is not a per-message one: no original-expiration.
    expect(deaths(dead[0]!)[0]).not.toHaveProperty('original-expiration');
    expect(await count(ch, q)).toBe(0);
  });

  it('expiry by the expiration property (reason expired, original-expiration recorded, expiration removed)', async () => {
    const ch = await fx.channel();
    const { dlx, dlq } = await sink(ch);
    const q = await queue(ch, { 'x-dead-letter-exchange': dlx });
    await send(ch, q, ['e1'], { expiration: '20' });
    const dead = await nextMessage(ch, dlq);
    expect(dead.properties.expiration).toBeUndefined();
    expect(deaths(dead)[0]).toMatchObject({ reason: 'expired', queue: q, count: 1, 'original-expiration': '20' });
  });

  it('an expired message is dead-lettered even while a consumer is attached (when it reaches the head)', async () => {
    const ch = await fx.channel();
    const { dlx, dlq } = await sink(ch);
    const q = await queue(ch, { 'x-dead-letter-exchange': dlx, 'x-message-ttl': 30 });
    const consumerCh = await fx.channel();
    await consumerCh.prefetch(1);
    const held: string[] = [];
    await consumerCh.consume(q, (msg) => {
      if (msg !== null) held.push(msg.content.toString());
    });
    // The consumer holds h1 unacknowledged; h2 waits behind it and expires.
    await send(ch, q, ['h1', 'h2']);
    expect(text(await takeAll(ch, dlq, 1))).toEqual(['h2']);
    expect(held).toEqual(['h1']);
  });

  it('x-max-length with drop-head: the oldest messages go (reason maxlen)', async () => {
    const ch = await fx.channel();
    const { dlx, dlq } = await sink(ch);
    const q = await queue(ch, { 'x-dead-letter-exchange': dlx, 'x-max-length': 2 });
    await send(ch, q, ['a', 'b', 'c', 'd']);
    const dead = await takeAll(ch, dlq, 2);
    expect(text(dead)).toEqual(['a', 'b']);
    expect(deaths(dead[0]!)[0]).toMatchObject({ reason: 'maxlen', queue: q, count: 1 });
    expect(await count(ch, q)).toBe(2);
  });

  it('x-overflow reject-publish-dlx: the refused message is dead-lettered (reason maxlen), the queue keeps its own', async () => {
    const ch = await fx.channel();
    const { dlx, dlq } = await sink(ch);
    const q = await queue(ch, { 'x-dead-letter-exchange': dlx, 'x-max-length': 1, 'x-overflow': 'reject-publish-dlx' });
    await send(ch, q, ['kept', 'refused']);
    const dead = await takeAll(ch, dlq, 1);
    expect(text(dead)).toEqual(['refused']);
    expect(deaths(dead[0]!)[0]).toMatchObject({ reason: 'maxlen', queue: q, count: 1, exchange: '', 'routing-keys': [q] });
    expect((await getOne(ch, q, true)).content.toString()).toBe('kept');
  });

  it('x-overflow reject-publish never dead-letters', async () => {
    const ch = await fx.channel();
    const { dlx, dlq } = await sink(ch);
    const q = await queue(ch, { 'x-dead-letter-exchange': dlx, 'x-max-length': 1, 'x-overflow': 'reject-publish' });
    await send(ch, q, ['kept', 'refused']);
    expect((await getOne(ch, q, true)).content.toString()).toBe('kept');
    await rejectSentinel(ch, q);
    expect(text(await takeAll(ch, dlq, 1))).toEqual(['sentinel']);
  });
});

describe('the x-death header', () => {
  it('a first death: one table (count, reason, queue, time, exchange, routing-keys) and the x-first-death headers', async () => {
    const started = Date.now();
    const ch = await fx.channel();
    const { dlx, dlq } = await sink(ch);
    const q = await queue(ch, { 'x-dead-letter-exchange': dlx });
    ch.sendToQueue(q, Buffer.from('m'), { headers: { 'z-user': 1, 'a-user': 'x' } });
    ch.reject(await getOne(ch, q), false);
    const dead = await nextMessage(ch, dlq);
    const d = deaths(dead);
    expect(d).toEqual([{ count: 1, reason: 'rejected', queue: q, time: deathTime(started), exchange: '', 'routing-keys': [q] }]);
    expect(Object.keys(d[0]!)).toEqual(FIRST_DEATH_KEYS);
    const headers = headersOf(dead);
    expect(headers).toEqual({
      'a-user': 'x',
      'x-death': d,
      'x-first-death-exchange': '',
      'x-first-death-queue': q,
      'x-first-death-reason': 'rejected',
      'z-user': 1,
    });
    // The headers table comes out sorted by key (rabbit_misc:set_table_value sorts it).
    expect(Object.keys(headers)).toEqual([...Object.keys(headers)].sort());
  });

  it('records original-expiration when the message had an expiration, whatever the reason', async () => {
    const ch = await fx.channel();
    const { dlx, dlq } = await sink(ch);
    const q = await queue(ch, { 'x-dead-letter-exchange': dlx });
    await send(ch, q, ['m'], { expiration: '60000' });
    ch.reject(await getOne(ch, q), false);
    const dead = await nextMessage(ch, dlq);
    expect(dead.properties.expiration).toBeUndefined();
    const d = deaths(dead);
    expect(d).toEqual([expect.objectContaining({ reason: 'rejected', 'original-expiration': '60000' })]);
    expect(Object.keys(d[0]!)).toEqual([...FIRST_DEATH_KEYS, 'original-expiration']);
  });

  it('routing-keys lists the routing key and the CC keys, not the BCC ones; the dead letter is routed to all of them', async () => {
    const ch = await fx.channel();
    const x = m.exchange('src');
    await ch.assertExchange(x, 'direct', { durable: false });
    const { dlx } = await sink(ch, 'direct');
    const q = await queue(ch, { 'x-dead-letter-exchange': dlx });
    await ch.bindQueue(q, x, 'rk');
    const byKey: Record<string, string> = {};
    for (const key of ['rk', 'cc1', 'bcc1']) {
      byKey[key] = m.queue(`dl-${key}`);
      await ch.assertQueue(byKey[key]!, { durable: false });
      await ch.bindQueue(byKey[key]!, dlx, key);
    }
    ch.publish(x, 'rk', Buffer.from('cc'), { CC: ['cc1'], BCC: ['bcc1'] });
    ch.reject(await getOne(ch, q), false);
    for (const key of ['rk', 'cc1', 'bcc1']) {
      const dead = await nextMessage(ch, byKey[key]!);
      expect(deaths(dead)).toEqual([expect.objectContaining({ exchange: x, 'routing-keys': ['rk', 'cc1'] })]);
      expect(headersOf(dead)['CC']).toEqual(['cc1']);
      expect(headersOf(dead)).not.toHaveProperty('BCC');
      expect(dead.fields.routingKey).toBe('rk');
    }
  });

  it('with x-dead-letter-routing-key the CC header is removed and only that key routes', async () => {
    const ch = await fx.channel();
    const x = m.exchange('src');
    await ch.assertExchange(x, 'direct', { durable: false });
    const { dlx, dlq } = await sink(ch, 'direct');
    await ch.bindQueue(dlq, dlx, 'dead');
    const ccQueue = m.queue('dl-cc');
    await ch.assertQueue(ccQueue, { durable: false });
    await ch.bindQueue(ccQueue, dlx, 'cc1');
    const q = await queue(ch, { 'x-dead-letter-exchange': dlx, 'x-dead-letter-routing-key': 'dead' });
    await ch.bindQueue(q, x, 'rk');
    ch.publish(x, 'rk', Buffer.from('cc'), { CC: ['cc1'] });
    ch.reject(await getOne(ch, q), false);
    const dead = await nextMessage(ch, dlq);
    expect(dead.fields.routingKey).toBe('dead');
    expect(headersOf(dead)).not.toHaveProperty('CC');
    expect(deaths(dead)).toEqual([expect.objectContaining({ 'routing-keys': ['rk', 'cc1'] })]);
    expect(await count(ch, ccQueue)).toBe(0);
  });

  it('a death in a second queue goes in front (keys sorted); x-first-death-* keep the first', async () => {
    const started = Date.now();
    const ch = await fx.channel();
    const { dlx: dlx2, dlq: last } = await sink(ch);
    const dlx1 = m.exchange('dlx1');
    await ch.assertExchange(dlx1, 'direct', { durable: false });
    const q2 = await queue(ch, { 'x-dead-letter-exchange': dlx2, 'x-message-ttl': 10 }, 'q2');
    await ch.bindQueue(q2, dlx1, 'to-q2');
    const q1 = await queue(ch, { 'x-dead-letter-exchange': dlx1, 'x-dead-letter-routing-key': 'to-q2' }, 'q1');
    await send(ch, q1, ['m'], { expiration: '60000' });
    ch.reject(await getOne(ch, q1), false);
    const dead = await nextMessage(ch, last);
    const d = deaths(dead);
    expect(d).toEqual([
      { count: 1, exchange: dlx1, queue: q2, reason: 'expired', 'routing-keys': ['to-q2'], time: deathTime(started) },
      { count: 1, reason: 'rejected', queue: q1, time: deathTime(started), exchange: '', 'routing-keys': [q1], 'original-expiration': '60000' },
    ]);
    // The new table is written sorted; the earlier one keeps its order.
    expect(Object.keys(d[0]!)).toEqual(SORTED_DEATH_KEYS);
    expect(Object.keys(d[1]!)).toEqual([...FIRST_DEATH_KEYS, 'original-expiration']);
    expect(headersOf(dead)).toMatchObject({ 'x-first-death-queue': q1, 'x-first-death-reason': 'rejected', 'x-first-death-exchange': '' });
  });

  it('dying again in the same queue for the same reason increments count and moves that table to the front', async () => {
    const started = Date.now();
    const ch = await fx.channel();
    // q dead-letters into itself through the default exchange: rejections are never a cycle.
    const q = m.queue('self');
    await ch.assertQueue(q, { durable: false, arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': q } });
    await send(ch, q, ['n']);
    ch.reject(await getOne(ch, q), false);
    await expectCount(ch, q, 1);
    const second = await getOne(ch, q);
    expect(deaths(second)).toEqual([{ count: 1, reason: 'rejected', queue: q, time: deathTime(started), exchange: '', 'routing-keys': [q] }]);
    const firstTime = deaths(second)[0]!['time'];
    ch.reject(second, false);
    await expectCount(ch, q, 1);
    const third = await getOne(ch, q, true);
    const d = deaths(third);
    // One table for (q, rejected), count 2, its other fields those of the first death, keys sorted.
    expect(d).toEqual([{ count: 2, exchange: '', queue: q, reason: 'rejected', 'routing-keys': [q], time: firstTime }]);
    expect(Object.keys(d[0]!)).toEqual(SORTED_DEATH_KEYS);
    expect(third.fields).toMatchObject({ exchange: '', routingKey: q });
  });

  it('tables of several (queue, reason) pairs: the latest death first, counts per pair', async () => {
    // A rejects into B; B expires back into A (a cycle with a rejection in it, so nothing is dropped).
    const ch = await fx.channel();
    const a = m.queue('a');
    const b = m.queue('b');
    await ch.assertQueue(b, { durable: false, arguments: { 'x-message-ttl': 10, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': a } });
    await ch.assertQueue(a, { durable: false, arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': b } });
    await send(ch, a, ['m']);
    ch.reject(await getOne(ch, a), false);
    await expectCount(ch, a, 1);
    const back = await getOne(ch, a);
    expect(deaths(back).map((t) => [t['queue'], t['reason'], t['count']])).toEqual([
      [b, 'expired', 1],
      [a, 'rejected', 1],
    ]);
    ch.reject(back, false);
    await expectCount(ch, a, 1);
    const again = await getOne(ch, a, true);
    expect(deaths(again).map((t) => [t['queue'], t['reason'], t['count']])).toEqual([
      [b, 'expired', 2],
      [a, 'rejected', 2],
    ]);
    expect(headersOf(again)).toMatchObject({ 'x-first-death-queue': a, 'x-first-death-reason': 'rejected' });
  });

  it('x-death order: adding a table reverses the older ones (3.10.8 regroups them by queue and reason)', async () => {
    // rabbit_dead_letter:group_by_queue_and_reason/1 folds the existing tables into a new list,
    // reversing it whenever there are two or more; the new death then goes in front.
    const ch = await fx.channel();
    const e = m.queue('e');
    await ch.assertQueue(e, { durable: false });
    const d = await queue(ch, { 'x-message-ttl': 10, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': e }, 'd');
    const c = await queue(ch, { 'x-message-ttl': 10, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': d }, 'c');
    const b = await queue(ch, { 'x-message-ttl': 10, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': c }, 'b');
    const a = await queue(ch, { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': b }, 'a');
    await send(ch, a, ['m']);
    ch.reject(await getOne(ch, a), false);
    const [dead] = await takeAll(ch, e, 1);
    // Deaths in order: a (rejected), b, c, d (expired). [b, a] -> [c, a, b] -> [d, b, a, c].
    expect(deaths(dead!).map((t) => [t['queue'], t['reason']])).toEqual([
      [d, 'expired'],
      [b, 'expired'],
      [a, 'rejected'],
      [c, 'expired'],
    ]);
    expect(headersOf(dead!)).toMatchObject({ 'x-first-death-queue': a, 'x-first-death-reason': 'rejected' });
  });

  it('after two deaths the first-death headers name the first, and there are no x-last-death-* (3.13 added those)', async () => {
    const ch = await fx.channel();
    const { dlx, dlq } = await sink(ch);
    const dlx1 = m.exchange('dlx1');
    await ch.assertExchange(dlx1, 'fanout', { durable: false });
    const q2 = await queue(ch, { 'x-dead-letter-exchange': dlx, 'x-message-ttl': 10 }, 'q2');
    await ch.bindQueue(q2, dlx1, '');
    const q1 = await queue(ch, { 'x-dead-letter-exchange': dlx1 }, 'q1');
    await send(ch, q1, ['m']);
    ch.reject(await getOne(ch, q1), false);
    const dead = await nextMessage(ch, dlq);
    expect(dead.properties.headers).toMatchObject({ 'x-first-death-reason': 'rejected', 'x-first-death-queue': q1, 'x-first-death-exchange': '' });
    expect(Object.keys(dead.properties.headers ?? {}).filter((k) => k.startsWith('x-last-death-'))).toEqual([]);
  });
});

describe('dead-letter cycles', () => {
  it('a queue expiring into itself: the message is dropped, not looped', async () => {
    const ch = await fx.channel();
    const x = m.exchange('loop');
    await ch.assertExchange(x, 'fanout', { durable: false });
    const q = await queue(ch, { 'x-message-ttl': 10, 'x-dead-letter-exchange': x }, 'self');
    const observer = m.queue('observer');
    await ch.assertQueue(observer, { durable: false });
    await ch.bindQueue(q, x, '');
    await ch.bindQueue(observer, x, '');
    await send(ch, q, ['m']);
    // The fanout dead letter reaches the observer (not in the cycle) once, and never q again.
    const seen = await takeAll(ch, observer, 1);
    expect(deaths(seen[0]!).map((t) => [t['queue'], t['reason'], t['count']])).toEqual([[q, 'expired', 1]]);
    expect(await count(ch, q)).toBe(0);
    expect(await count(ch, observer)).toBe(0);
  });

  it('a chain A -> B -> C delivers to C with both deaths recorded', async () => {
    const ch = await fx.channel();
    const c = m.queue('c');
    await ch.assertQueue(c, { durable: false });
    const b = await queue(ch, { 'x-message-ttl': 10, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': c }, 'b');
    const a = await queue(ch, { 'x-message-ttl': 10, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': b }, 'a');
    await send(ch, a, ['m']);
    const [dead] = await takeAll(ch, c, 1);
    expect(deaths(dead!).map((t) => [t['queue'], t['reason'], t['exchange'], t['routing-keys']])).toEqual([
      [b, 'expired', '', [b]],
      [a, 'expired', '', [a]],
    ]);
    expect(headersOf(dead!)).toMatchObject({ 'x-first-death-queue': a, 'x-first-death-reason': 'expired' });
  });

  it('A -> B -> A by expiry: dropped on the way back to A; a queue outside the cycle still gets its copy', async () => {
    const ch = await fx.channel();
    const fromB = m.exchange('from-b');
    await ch.assertExchange(fromB, 'fanout', { durable: false });
    const b = await queue(ch, { 'x-message-ttl': 10, 'x-dead-letter-exchange': fromB }, 'b');
    const a = await queue(ch, { 'x-message-ttl': 10, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': b }, 'a');
    const observer = m.queue('observer');
    await ch.assertQueue(observer, { durable: false });
    await ch.bindQueue(a, fromB, '');
    await ch.bindQueue(observer, fromB, '');
    await send(ch, a, ['m']);
    const [seen] = await takeAll(ch, observer, 1);
    expect(deaths(seen!).map((t) => [t['queue'], t['reason']])).toEqual([
      [b, 'expired'],
      [a, 'expired'],
    ]);
    expect([await count(ch, a), await count(ch, b), await count(ch, observer)]).toEqual([0, 0, 0]);
  });

  it('A -> B -> A with a rejection in A: not a cycle, the message comes back to A', async () => {
    const ch = await fx.channel();
    const a = m.queue('a');
    const b = await queue(ch, { 'x-message-ttl': 10, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': a }, 'b');
    await ch.assertQueue(a, { durable: false, arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': b } });
    await send(ch, a, ['m']);
    ch.reject(await getOne(ch, a), false);
    const [back] = await takeAll(ch, a, 1);
    expect(deaths(back!).map((t) => [t['queue'], t['reason']])).toEqual([
      [b, 'expired'],
      [a, 'rejected'],
    ]);
  });

  it('A -> B -> C -> A by expiry: dropped on the way back to A; the observer of the last hop sees c, a, b', async () => {
    const ch = await fx.channel();
    const fromC = m.exchange('from-c');
    await ch.assertExchange(fromC, 'fanout', { durable: false });
    const observer = m.queue('observer');
    await ch.assertQueue(observer, { durable: false });
    const c = await queue(ch, { 'x-message-ttl': 10, 'x-dead-letter-exchange': fromC }, 'c');
    const b = await queue(ch, { 'x-message-ttl': 10, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': c }, 'b');
    const a = await queue(ch, { 'x-message-ttl': 10, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': b }, 'a');
    await ch.bindQueue(a, fromC, '');
    await ch.bindQueue(observer, fromC, '');
    await send(ch, a, ['m']);
    const [seen] = await takeAll(ch, observer, 1);
    // 3.10.8 reverses the older tables when it adds one (see "x-death order" above): c, a, b.
    expect(deaths(seen!).map((t) => t['queue'])).toEqual([c, a, b]);
    expect([await count(ch, a), await count(ch, b), await count(ch, c), await count(ch, observer)]).toEqual([0, 0, 0, 0]);
  });

  it('A rejects into B, then B -> C -> B by expiry: 3.10.8 keeps it going round, because A\'s rejection lands between', async () => {
    // The cycle rule reads the x-death array as 3.10.8 leaves it. After B and C the array is
    // [c, a(rejected), b]: the tables from c down to b include a rejection, so B takes the message
    // again, and again (a true loop, which the test stops by deleting B).
    const ch = await fx.channel();
    const toB = m.exchange('to-b');
    await ch.assertExchange(toB, 'fanout', { durable: false });
    const observer = m.queue('observer');
    await ch.assertQueue(observer, { durable: false });
    const c = await queue(ch, { 'x-message-ttl': 20, 'x-dead-letter-exchange': toB }, 'c');
    const b = await queue(ch, { 'x-message-ttl': 20, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': c }, 'b');
    await ch.bindQueue(b, toB, '');
    await ch.bindQueue(observer, toB, '');
    const a = await queue(ch, { 'x-dead-letter-exchange': toB }, 'a');
    await send(ch, a, ['m']);
    ch.reject(await getOne(ch, a), false);
    const seen = [await nextMessage(ch, observer), await nextMessage(ch, observer), await nextMessage(ch, observer)];
    await ch.deleteQueue(b);
    const summary = (msg: (typeof seen)[number]) => deaths(msg).map((t) => `${String(t['queue']).slice(0, 1)}:${String(t['reason'])}:${String(t['count'])}`);
    expect(seen.map(summary)).toEqual([
      ['a:rejected:1'],
      ['c:expired:1', 'a:rejected:1', 'b:expired:1'],
      ['c:expired:2', 'a:rejected:1', 'b:expired:2'],
    ]);
  });

  it('a queue dropping its head into itself (max-length): the dropped message is not requeued there', async () => {
    const ch = await fx.channel();
    const x = m.exchange('loop');
    await ch.assertExchange(x, 'fanout', { durable: false });
    const q = await queue(ch, { 'x-max-length': 1, 'x-dead-letter-exchange': x }, 'self');
    const observer = m.queue('observer');
    await ch.assertQueue(observer, { durable: false });
    await ch.bindQueue(q, x, '');
    await ch.bindQueue(observer, x, '');
    await send(ch, q, ['first', 'second']);
    const [seen] = await takeAll(ch, observer, 1);
    expect(seen!.content.toString()).toBe('first');
    expect(deaths(seen!).map((t) => [t['queue'], t['reason']])).toEqual([[q, 'maxlen']]);
    await expectCount(ch, q, 1);
    expect((await getOne(ch, q, true)).content.toString()).toBe('second');
  });
});

describe('publisher confirms (dead-lettering is at most once)', () => {
  it('the publisher is confirmed when the first queue takes the message; dead-lettering later sends nothing more', async () => {
    const ch = await fx.channel();
    const { dlx, dlq } = await sink(ch);
    const q = await queue(ch, { 'x-dead-letter-exchange': dlx, 'x-message-ttl': 20 });
    const cch = await fx.confirmChannel();
    const acks: number[] = [];
    const nacks: number[] = [];
    cch.on('ack', (f: { deliveryTag: number }) => acks.push(f.deliveryTag));
    cch.on('nack', (f: { deliveryTag: number }) => nacks.push(f.deliveryTag));
    expect(await publishConfirmed(cch, '', q, 'm')).toBe('ack');
    await takeAll(ch, dlq, 1);
    await cch.checkQueue(q);
    expect({ acks, nacks }).toEqual({ acks: [1], nacks: [] });
  });

  it('a dead letter its destination refuses (reject-publish, full) is dropped, and nobody is nacked', async () => {
    const ch = await fx.channel();
    const dlx = m.exchange('dlx');
    await ch.assertExchange(dlx, 'fanout', { durable: false });
    const full = await queue(ch, { 'x-max-length': 1, 'x-overflow': 'reject-publish' }, 'full');
    await ch.bindQueue(full, dlx, '');
    await send(ch, full, ['already-there']);
    const q = await queue(ch, { 'x-dead-letter-exchange': dlx });
    const cch = await fx.confirmChannel();
    const nacks: number[] = [];
    cch.on('nack', (f: { deliveryTag: number }) => nacks.push(f.deliveryTag));
    expect(await publishConfirmed(cch, '', q, 'doomed')).toBe('ack');
    cch.reject(await getOne(cch, q), false);
    await expectCount(ch, q, 0);
    expect(text([await getOne(ch, full, true)])).toEqual(['already-there']);
    expect(await count(ch, full)).toBe(0);
    expect(nacks).toEqual([]);
  });

  it('a persistent message dead-lettered from a durable queue to a durable one is confirmed once, by the first', async () => {
    const ch = await fx.channel();
    const dlq = m.queue('dlq');
    await ch.assertQueue(dlq, { durable: true });
    const q = m.queue();
    await ch.assertQueue(q, { durable: true, arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dlq } });
    const cch = await fx.confirmChannel();
    const confirms: string[] = [];
    cch.on('ack', (f: { deliveryTag: number }) => confirms.push(`ack ${f.deliveryTag}`));
    cch.on('nack', (f: { deliveryTag: number }) => confirms.push(`nack ${f.deliveryTag}`));
    expect(await publishConfirmed(cch, '', q, 'durable', { persistent: true })).toBe('ack');
    ch.reject(await getOne(ch, q), false);
    const dead = await nextMessage(ch, dlq);
    expect(dead.properties.deliveryMode).toBe(2);
    await cch.checkQueue(q);
    expect(confirms).toEqual(['ack 1']);
  });
});
