/**
 * Consumers and acknowledgements (RabbitMQ docs pages "consumers" and "confirms", consumer side):
 * basic.consume/cancel/get, consumer tags, exclusive consumers, round-robin delivery, consumer priorities,
 * single active consumer, delivery tags and basic.ack/nack/reject/recover, server-sent basic.cancel when a
 * queue is deleted, and channel.flow. Checked against RabbitMQ 3.10.8; reply texts are RabbitMQ's.
 */
import type { Channel } from 'amqplib';
import { describe, expect, it } from 'vitest';
import * as M from '../../src/protocol/generated/methods.js';
import { eventually, withBroker } from '../helpers/broker.js';
import {
  basicRecover,
  bodies,
  channelFlow,
  collect,
  expectChannelAlive,
  expectChannelClosed,
  expectConnectionAlive,
  expectConnectionClosed,
  openChannel,
  rawPublish,
  roundTrip,
  sync,
  tagged,
  withModel,
  type ExpectedClose,
} from '../helpers/model.js';

const fx = withBroker();
const m = withModel(fx);

async function queueWith(ch: Channel, n: number, options: { arguments?: Record<string, unknown> } = {}): Promise<string> {
  const q = m.queue();
  await ch.assertQueue(q, { durable: false, ...options });
  await publish(ch, q, n);
  return q;
}

async function publish(ch: Channel, q: string, n: number, from = 1): Promise<void> {
  for (let i = from; i < from + n; i++) ch.sendToQueue(q, Buffer.from(`m${i}`));
  await sync(ch);
}

const unknownTag = (tag: number, methodId: number): ExpectedClose => ({
  code: 406,
  text: `PRECONDITION_FAILED - unknown delivery tag ${tag}`,
  classId: 60,
  methodId,
});

async function ready(ch: Channel, q: string): Promise<number> {
  return (await ch.checkQueue(q)).messageCount;
}

describe('basic.consume', () => {
  it('generates a consumer tag amq.ctag-... when the client gives none', async () => {
    const ch = await fx.channel();
    const q = await queueWith(ch, 0);
    const a = await ch.consume(q, () => {});
    const b = await ch.consume(q, () => {});
    expect(a.consumerTag).toMatch(/^amq\.ctag-[A-Za-z0-9_-]{22}$/);
    expect(b.consumerTag).not.toBe(a.consumerTag);
  });

  it("uses the client's consumer tag, which deliveries carry", async () => {
    const ch = await fx.channel();
    const q = await queueWith(ch, 1);
    const c = await collect(ch, q, { consumerTag: 'my-tag', noAck: true });
    expect(c.tag).toBe('my-tag');
    const [msg] = await c.atLeast(1);
    expect(msg!.fields).toMatchObject({ consumerTag: 'my-tag', deliveryTag: 1, redelivered: false, exchange: '', routingKey: q });
    expect(msg!.content.toString()).toBe('m1');
  });

  it('allows the same consumer tag on different channels', async () => {
    const conn = await fx.connect();
    const ch1 = await openChannel(conn);
    const ch2 = await openChannel(conn);
    const q = await queueWith(ch1, 0);
    await ch1.consume(q, () => {}, { consumerTag: 'shared' });
    await ch2.consume(q, () => {}, { consumerTag: 'shared' });
    expect(await ch1.checkQueue(q)).toMatchObject({ consumerCount: 2 });
  });

  it('a consumer tag reused on the same channel: 530 NOT_ALLOWED closes the connection, others carry on', async () => {
    const bystander = await fx.connect();
    const conn = await fx.connect();
    const ch = await openChannel(conn);
    const q = await queueWith(ch, 0);
    await ch.consume(q, () => {}, { consumerTag: 'dup' });
    await expectConnectionClosed(conn, () => ch.consume(q, () => {}, { consumerTag: 'dup' }), {
      code: 530,
      text: "NOT_ALLOWED - attempt to reuse consumer tag 'dup'",
    });
    await expectConnectionAlive(bystander);
  });

  it('a consumer tag reused on the same channel is refused with class 60 method 20 in connection.close', async () => {
    const ch = await fx.channel();
    const q = await queueWith(ch, 0);
    const raw = await m.raw();
    await raw.openChannel(1);
    raw.sendEncoded((w) => M.encodeBasicConsume(w, 1, { queue: q, consumerTag: 'dup' }));
    await raw.method('basic.consume-ok', 1);
    raw.sendEncoded((w) => M.encodeBasicConsume(w, 1, { queue: q, consumerTag: 'dup' }));
    expect(await raw.waitForClose()).toEqual({
      name: 'connection.close',
      channel: 0,
      replyCode: 530,
      replyText: "NOT_ALLOWED - attempt to reuse consumer tag 'dup'",
      classId: 60,
      methodId: 20,
    });
  });

  it('from a missing queue: 404 NOT_FOUND closes the channel', async () => {
    const q = m.queue('missing');
    const { ch, other } = await m.twoChannels();
    await expectChannelClosed(ch, () => ch.consume(q, () => {}), {
      code: 404,
      text: `NOT_FOUND - no queue '${q}' in vhost '/'`,
      classId: 60,
      methodId: 20,
    });
    await expectChannelAlive(other);
  });

  it('with nowait sends no consume-ok but delivers', async () => {
    const ch = await fx.channel();
    const q = await queueWith(ch, 1);
    const raw = await m.raw();
    await raw.openChannel(1);
    raw.sendEncoded((w) => M.encodeBasicConsume(w, 1, { queue: q, consumerTag: 'quiet', noAck: true, nowait: true }));
    const deliver = await raw.method('basic.deliver', 1);
    expect(deliver).toMatchObject({ consumerTag: 'quiet', deliveryTag: 1 });
    expect(raw.frames.some((f) => f.type === 'method' && f.name === 'basic.consume-ok')).toBe(false);
  });

  it('delivers the messages already in the queue, in order', async () => {
    const ch = await fx.channel();
    const q = await queueWith(ch, 5);
    const c = await collect(ch, q, { noAck: true });
    expect(bodies(await c.atLeast(5))).toEqual(['m1', 'm2', 'm3', 'm4', 'm5']);
  });

  it('round-robins messages among the consumers of a queue', async () => {
    const conn = await fx.connect();
    const chs = [await openChannel(conn), await openChannel(conn), await openChannel(conn)];
    const q = await queueWith(chs[0]!, 0);
    const cs: Awaited<ReturnType<typeof collect>>[] = [];
    for (const ch of chs) cs.push(await collect(ch, q, { noAck: true }));
    const pub = await fx.channel();
    await publish(pub, q, 9);
    await eventually(() => expect(cs.reduce((n, c) => n + c.messages.length, 0)).toBe(9));
    expect(cs.map((c) => bodies(c.messages))).toEqual([
      ['m1', 'm4', 'm7'],
      ['m2', 'm5', 'm8'],
      ['m3', 'm6', 'm9'],
    ]);
  });
});

describe('basic.cancel', () => {
  it('stops deliveries to the consumer; cancel-ok echoes the tag', async () => {
    const ch = await fx.channel();
    const q = await queueWith(ch, 1);
    const c = await collect(ch, q, { noAck: true });
    await c.atLeast(1);
    expect(await ch.cancel(c.tag)).toEqual({ consumerTag: c.tag });
    await publish(ch, q, 1, 2);
    await roundTrip(ch, q);
    expect(bodies(c.messages)).toEqual(['m1']);
    expect(await ch.checkQueue(q)).toEqual({ queue: q, messageCount: 1, consumerCount: 0 });
  });

  it('of an unknown consumer tag is answered with cancel-ok', async () => {
    const ch = await fx.channel();
    expect(await ch.cancel('never-existed')).toEqual({ consumerTag: 'never-existed' });
    await expectChannelAlive(ch);
  });

  it('frees the consumer tag for reuse on the channel', async () => {
    const ch = await fx.channel();
    const q = await queueWith(ch, 0);
    await ch.consume(q, () => {}, { consumerTag: 'again' });
    await ch.cancel('again');
    await ch.consume(q, () => {}, { consumerTag: 'again' });
    expect(await ch.checkQueue(q)).toMatchObject({ consumerCount: 1 });
  });
});

describe('exclusive consumers', () => {
  it('get every message of the queue', async () => {
    const ch = await fx.channel();
    const q = await queueWith(ch, 3);
    const c = await collect(ch, q, { exclusive: true, noAck: true });
    expect(bodies(await c.atLeast(3))).toEqual(['m1', 'm2', 'm3']);
  });

  it('cannot be added to a queue that has consumers: 403 ACCESS_REFUSED', async () => {
    const ch0 = await fx.channel();
    const q = await queueWith(ch0, 0);
    await ch0.consume(q, () => {});
    const { ch, other } = await m.twoChannels();
    await expectChannelClosed(ch, () => ch.consume(q, () => {}, { exclusive: true }), {
      code: 403,
      text: `ACCESS_REFUSED - queue '${q}' in vhost '/' in exclusive use`,
      classId: 60,
      methodId: 20,
    });
    await expectChannelAlive(other);
  });

  it('keep other consumers off the queue: 403 ACCESS_REFUSED, until cancelled', async () => {
    const ch0 = await fx.channel();
    const q = await queueWith(ch0, 0);
    const { consumerTag } = await ch0.consume(q, () => {}, { exclusive: true });
    const ch = await fx.channel();
    await expectChannelClosed(ch, () => ch.consume(q, () => {}), {
      code: 403,
      text: `ACCESS_REFUSED - queue '${q}' in vhost '/' in exclusive use`,
      classId: 60,
      methodId: 20,
    });
    await ch0.cancel(consumerTag);
    const ch2 = await fx.channel();
    await ch2.consume(q, () => {});
  });

  it('do not stop basic.get on the queue', async () => {
    const ch = await fx.channel();
    const q = await queueWith(ch, 0);
    await ch.prefetch(1);
    await ch.consume(q, () => {}, { exclusive: true });
    await publish(ch, q, 2);
    const other = await fx.channel();
    const got = await eventually(async () => {
      const msg = await other.get(q, { noAck: true });
      if (msg === false) throw new Error('empty');
      return msg;
    });
    expect(got.content.toString()).toBe('m2');
  });
});

describe('basic.get', () => {
  it('returns the head message; get-ok carries the number of messages left', async () => {
    const ch = await fx.channel();
    const q = await queueWith(ch, 3);
    const msg = await ch.get(q, { noAck: true });
    if (msg === false) throw new Error('get-empty');
    expect(msg.content.toString()).toBe('m1');
    expect(msg.fields).toMatchObject({ deliveryTag: 1, redelivered: false, exchange: '', routingKey: q, messageCount: 2 });
    const last = [await ch.get(q, { noAck: true }), await ch.get(q, { noAck: true })];
    expect(last.map((x) => x && x.fields.messageCount)).toEqual([1, 0]);
  });

  it('answers get-empty when the queue has no ready message', async () => {
    const ch = await fx.channel();
    const q = await queueWith(ch, 1);
    const held = await ch.get(q, { noAck: false });
    expect(held).not.toBe(false);
    expect(await ch.get(q, { noAck: false })).toBe(false);
  });

  it('from a missing queue: 404 NOT_FOUND closes the channel', async () => {
    const q = m.queue('missing');
    const ch = await fx.channel();
    await expectChannelClosed(ch, () => ch.get(q), {
      code: 404,
      text: `NOT_FOUND - no queue '${q}' in vhost '/'`,
      classId: 60,
      methodId: 70,
    });
  });
});

describe('delivery tags', () => {
  it('start at 1 on each channel and count every delivery and get-ok of the channel', async () => {
    const conn = await fx.connect();
    const ch1 = await openChannel(conn);
    const ch2 = await openChannel(conn);
    const q1 = await queueWith(ch1, 2);
    const q2 = await queueWith(ch1, 2);
    const q3 = await queueWith(ch1, 1);
    const g1 = await ch1.get(q1, { noAck: false });
    const c = await collect(ch1, q2, { noAck: false });
    await c.atLeast(2);
    const g2 = await ch1.get(q1, { noAck: true });
    const other = await ch2.get(q3, { noAck: false });
    expect(g1 && g1.fields.deliveryTag).toBe(1);
    expect(c.messages.map((x) => x.fields.deliveryTag)).toEqual([2, 3]);
    expect(g2 && g2.fields.deliveryTag).toBe(4);
    expect(other && other.fields.deliveryTag).toBe(1);
  });

  it('do not restart when a consumer is cancelled and another created', async () => {
    const ch = await fx.channel();
    const q = await queueWith(ch, 2);
    const a = await collect(ch, q, { noAck: true });
    await a.atLeast(2);
    await ch.cancel(a.tag);
    await publish(ch, q, 1, 3);
    const b = await collect(ch, q, { noAck: true });
    const [msg] = await b.atLeast(1);
    expect(msg!.fields.deliveryTag).toBe(3);
  });
});

describe('basic.ack', () => {
  it('removes the message for good (it does not come back when the channel closes)', async () => {
    const ch0 = await fx.channel();
    const q = await queueWith(ch0, 2);
    const ch = await fx.channel();
    const msg = await ch.get(q);
    if (msg === false) throw new Error('empty');
    ch.ack(msg);
    await sync(ch);
    await ch.close();
    expect(await ready(ch0, q)).toBe(1);
  });

  it('with multiple acknowledges every outstanding tag up to and including the given one', async () => {
    const ch0 = await fx.channel();
    const q = await queueWith(ch0, 4);
    const ch = await fx.channel();
    const c = await collect(ch, q);
    const msgs = await c.atLeast(4);
    ch.ack(msgs[2]!, true);
    await sync(ch);
    await ch.close();
    const rest = [];
    for (let msg = await ch0.get(q, { noAck: true }); msg !== false; msg = await ch0.get(q, { noAck: true })) rest.push(msg.content.toString());
    expect(rest).toEqual(['m4']);
  });

  it('with multiple and tag 0 acknowledges everything outstanding', async () => {
    const ch0 = await fx.channel();
    const q = await queueWith(ch0, 3);
    const ch = await fx.channel();
    const c = await collect(ch, q);
    await c.atLeast(3);
    ch.ackAll();
    await sync(ch);
    await ch.close();
    expect(await ready(ch0, q)).toBe(0);
  });

  it('of an unknown tag: 406 PRECONDITION_FAILED closes the channel; its unacked messages are requeued', async () => {
    const ch0 = await fx.channel();
    const q = await queueWith(ch0, 2);
    const { ch, other } = await m.twoChannels();
    const c = await collect(ch, q);
    await c.atLeast(2);
    await expectChannelClosed(ch, () => ch.ack(tagged(5)), unknownTag(5, 80));
    await expectChannelAlive(other);
    await eventually(async () => expect(await ready(ch0, q)).toBe(2));
  });

  it('twice: the second is for an unknown tag (406)', async () => {
    const ch0 = await fx.channel();
    const q = await queueWith(ch0, 1);
    const ch = await fx.channel();
    const msg = await ch.get(q);
    if (msg === false) throw new Error('empty');
    ch.ack(msg);
    await expectChannelClosed(ch, () => ch.ack(msg), unknownTag(1, 80));
  });

  it('of tag 0 without multiple: 406 unknown delivery tag 0', async () => {
    const ch0 = await fx.channel();
    const q = await queueWith(ch0, 1);
    const ch = await fx.channel();
    await ch.get(q);
    await expectChannelClosed(ch, () => ch.ack(tagged(0)), unknownTag(0, 80));
  });

  it('with multiple beyond the last tag: 406, and nothing is acknowledged', async () => {
    const ch0 = await fx.channel();
    const q = await queueWith(ch0, 2);
    const ch = await fx.channel();
    const c = await collect(ch, q);
    await c.atLeast(2);
    await expectChannelClosed(ch, () => ch.ack(tagged(7), true), unknownTag(7, 80));
    await eventually(async () => expect(await ready(ch0, q)).toBe(2));
  });

  it('of a tag from another channel: 406 unknown delivery tag', async () => {
    const conn = await fx.connect();
    const ch1 = await openChannel(conn);
    const ch2 = await openChannel(conn);
    const q = await queueWith(ch1, 1);
    const msg = await ch1.get(q);
    if (msg === false) throw new Error('empty');
    await expectChannelClosed(ch2, () => ch2.ack(msg), unknownTag(1, 80));
    await expectChannelAlive(ch1);
    ch1.ack(msg);
    await sync(ch1);
    expect(await ready(ch1, q)).toBe(0);
  });

  it('of a no-ack delivery: 406 unknown delivery tag', async () => {
    const ch0 = await fx.channel();
    const q = await queueWith(ch0, 1);
    const ch = await fx.channel();
    const msg = await ch.get(q, { noAck: true });
    if (msg === false) throw new Error('empty');
    await expectChannelClosed(ch, () => ch.ack(msg), unknownTag(1, 80));
  });
});

describe('basic.nack and basic.reject', () => {
  it('nack with requeue puts the message back; it is redelivered with redelivered=true', async () => {
    const ch = await fx.channel();
    const q = await queueWith(ch, 1);
    const msg = await ch.get(q);
    if (msg === false) throw new Error('empty');
    ch.nack(msg, false, true);
    const again = await ch.get(q);
    if (again === false) throw new Error('not requeued');
    expect([again.content.toString(), again.fields.redelivered, again.fields.deliveryTag]).toEqual(['m1', true, 2]);
  });

  it('nack without requeue discards the message', async () => {
    const ch = await fx.channel();
    const q = await queueWith(ch, 1);
    const msg = await ch.get(q);
    if (msg === false) throw new Error('empty');
    ch.nack(msg, false, false);
    await sync(ch);
    expect(await ch.get(q)).toBe(false);
    await ch.close();
    const ch2 = await fx.channel();
    expect(await ready(ch2, q)).toBe(0);
  });

  it('nack with multiple settles every outstanding tag up to the given one', async () => {
    const ch = await fx.channel();
    const q = await queueWith(ch, 4);
    const c = await collect(ch, q);
    const msgs = await c.atLeast(4);
    await ch.cancel(c.tag);
    ch.nack(msgs[1]!, true, false);
    ch.nack(msgs[3]!, false, true);
    await sync(ch);
    expect(await ready(ch, q)).toBe(1);
    const back = await ch.get(q, { noAck: true });
    expect(back && back.content.toString()).toBe('m4');
  });

  it('nack with multiple and tag 0 requeues everything outstanding', async () => {
    const ch = await fx.channel();
    const q = await queueWith(ch, 3);
    const c = await collect(ch, q);
    await c.atLeast(3);
    await ch.cancel(c.tag);
    ch.nackAll(true);
    await sync(ch);
    expect(await ready(ch, q)).toBe(3);
  });

  it('reject with requeue puts the message back; without, discards it', async () => {
    const ch = await fx.channel();
    const q = await queueWith(ch, 2);
    const a = await ch.get(q);
    const b = await ch.get(q);
    if (a === false || b === false) throw new Error('empty');
    ch.reject(a, true);
    ch.reject(b, false);
    await sync(ch);
    const left = await ch.get(q, { noAck: true });
    expect(left && [left.content.toString(), left.fields.redelivered]).toEqual(['m1', true]);
    expect(await ch.get(q)).toBe(false);
  });

  it('nack of an unknown tag: 406 on basic.nack (class 60, method 120)', async () => {
    const { ch, other } = await m.twoChannels();
    await expectChannelClosed(ch, () => ch.nack(tagged(3)), unknownTag(3, 120));
    await expectChannelAlive(other);
  });

  it('reject of an unknown tag: 406 on basic.reject (class 60, method 90)', async () => {
    const ch = await fx.channel();
    await expectChannelClosed(ch, () => ch.reject(tagged(42)), unknownTag(42, 90));
  });
});

describe('basic.recover', () => {
  it('with requeue=true redelivers every unacknowledged message of the channel with redelivered=true', async () => {
    const ch = await fx.channel();
    const q = await queueWith(ch, 2);
    const c = await collect(ch, q);
    await c.atLeast(2);
    expect(c.messages.map((x) => x.fields.redelivered)).toEqual([false, false]);
    await ch.recover();
    const all = await c.atLeast(4);
    expect(all.slice(2).map((x) => [x.content.toString(), x.fields.redelivered])).toEqual([
      ['m1', true],
      ['m2', true],
    ]);
    expect(all.slice(2).map((x) => x.fields.deliveryTag)).toEqual([3, 4]);
  });

  it('with requeue=false: 540 NOT_IMPLEMENTED closes the connection', async () => {
    const bystander = await fx.connect();
    const conn = await fx.connect();
    const ch = await openChannel(conn);
    await expectConnectionClosed(conn, () => basicRecover(ch, false), { code: 540, text: 'NOT_IMPLEMENTED - requeue=false' });
    await expectConnectionAlive(bystander);
  });

  it('with requeue=false is refused with class 60 method 110 (basic.recover-async: 100)', async () => {
    const raw = await m.raw();
    await raw.openChannel(1);
    raw.sendEncoded((w) => M.encodeBasicRecover(w, 1, { requeue: false }));
    expect(await raw.waitForClose()).toEqual({
      name: 'connection.close',
      channel: 0,
      replyCode: 540,
      replyText: 'NOT_IMPLEMENTED - requeue=false',
      classId: 60,
      methodId: 110,
    });
    const raw2 = await m.raw();
    await raw2.openChannel(1);
    raw2.sendEncoded((w) => M.encodeBasicRecoverAsync(w, 1, { requeue: false }));
    expect(await raw2.waitForClose()).toMatchObject({ replyCode: 540, replyText: 'NOT_IMPLEMENTED - requeue=false', classId: 60, methodId: 100 });
  });
});

describe('no-local', () => {
  it('is ignored (a RabbitMQ deviation): a consumer receives what its own connection publishes', async () => {
    const ch = await fx.channel();
    const q = await queueWith(ch, 0);
    const raw = await m.raw();
    await raw.openChannel(1);
    raw.sendEncoded((w) => M.encodeBasicConsume(w, 1, { queue: q, consumerTag: 'local', noLocal: true, noAck: true }));
    await raw.method('basic.consume-ok', 1);
    rawPublish(raw, 1, { routingKey: q }, 'mine');
    expect(await raw.method('basic.deliver', 1)).toMatchObject({ consumerTag: 'local', routingKey: q });
  });
});

describe('no-ack consumers', () => {
  it('remove messages on delivery: closing the channel requeues nothing', async () => {
    const ch0 = await fx.channel();
    const q = await queueWith(ch0, 3);
    const ch = await fx.channel();
    const c = await collect(ch, q, { noAck: true });
    await c.atLeast(3);
    await ch.close();
    expect(await ready(ch0, q)).toBe(0);
  });
});

describe('consumer priorities (x-priority)', () => {
  it('deliver to the highest-priority consumer while it can take messages', async () => {
    const ch = await fx.channel();
    const q = await queueWith(ch, 0);
    const low = await collect(ch, q, { noAck: true, priority: 1 });
    const high = await collect(ch, q, { noAck: true, priority: 10 });
    const none = await collect(ch, q, { noAck: true });
    await publish(ch, q, 5);
    await high.atLeast(5);
    await roundTrip(ch, q);
    expect(bodies(high.messages)).toEqual(['m1', 'm2', 'm3', 'm4', 'm5']);
    expect([low.messages.length, none.messages.length]).toEqual([0, 0]);
  });

  it('deliver to lower priorities when the higher ones are at their prefetch limit', async () => {
    const conn = await fx.connect();
    const highCh = await openChannel(conn);
    const lowCh = await openChannel(conn);
    await highCh.prefetch(2);
    const q = await queueWith(highCh, 0);
    const high = await collect(highCh, q, { priority: 5 });
    const low = await collect(lowCh, q, { priority: -3 });
    await publish(highCh, q, 5);
    await low.atLeast(3);
    expect(bodies(high.messages)).toEqual(['m1', 'm2']);
    expect(bodies(low.messages)).toEqual(['m3', 'm4', 'm5']);
    // Capacity freed at the higher priority goes to it again.
    highCh.ack(high.messages[0]!);
    await publish(highCh, q, 1, 6);
    await high.atLeast(3);
    expect(bodies(high.messages)).toEqual(['m1', 'm2', 'm6']);
  });

  it('round-robin among consumers of the same priority', async () => {
    const ch = await fx.channel();
    const q = await queueWith(ch, 0);
    const low = await collect(ch, q, { noAck: true, priority: 1 });
    const a = await collect(ch, q, { noAck: true, priority: 2 });
    const b = await collect(ch, q, { noAck: true, priority: 2 });
    await publish(ch, q, 4);
    await eventually(() => expect(a.messages.length + b.messages.length).toBe(4));
    expect([bodies(a.messages), bodies(b.messages), bodies(low.messages)]).toEqual([['m1', 'm3'], ['m2', 'm4'], []]);
  });

  it('an x-priority that is not an integer: 406 PRECONDITION_FAILED', async () => {
    const ch0 = await fx.channel();
    const q = await queueWith(ch0, 0);
    const ch = await fx.channel();
    await expectChannelClosed(ch, () => ch.consume(q, () => {}, { arguments: { 'x-priority': 'high' } }), {
      code: 406,
      text: `PRECONDITION_FAILED - invalid arg 'x-priority' for queue '${q}' in vhost '/': "expected integer, got longstr"`,
      classId: 60,
      methodId: 20,
    });
  });
});

describe('single active consumer (x-single-active-consumer)', () => {
  async function sacQueue(ch: Channel, n = 0): Promise<string> {
    return queueWith(ch, n, { arguments: { 'x-single-active-consumer': true } });
  }

  it('delivers only to the first consumer; the others wait', async () => {
    const ch = await fx.channel();
    const q = await sacQueue(ch);
    const first = await collect(ch, q, { noAck: true });
    const second = await collect(ch, q, { noAck: true });
    await publish(ch, q, 4);
    await first.atLeast(4);
    await roundTrip(ch, q);
    expect(second.messages).toEqual([]);
    expect(await ch.checkQueue(q)).toMatchObject({ consumerCount: 2 });
  });

  it('hands over to the next consumer, in order of registration, when the active one is cancelled', async () => {
    const ch = await fx.channel();
    const q = await sacQueue(ch);
    const first = await collect(ch, q, { noAck: true });
    const second = await collect(ch, q, { noAck: true });
    const third = await collect(ch, q, { noAck: true });
    await ch.cancel(first.tag);
    await publish(ch, q, 2);
    await second.atLeast(2);
    await ch.cancel(second.tag);
    await publish(ch, q, 1, 3);
    await third.atLeast(1);
    expect([bodies(first.messages), bodies(second.messages), bodies(third.messages)]).toEqual([[], ['m1', 'm2'], ['m3']]);
  });

  it('hands over to the highest-priority waiting consumer', async () => {
    const ch = await fx.channel();
    const q = await sacQueue(ch);
    const first = await collect(ch, q, { noAck: true });
    const low = await collect(ch, q, { noAck: true, priority: 1 });
    const high = await collect(ch, q, { noAck: true, priority: 9 });
    await ch.cancel(first.tag);
    await publish(ch, q, 2);
    await high.atLeast(2);
    expect(low.messages).toEqual([]);
  });

  it('does not let a later, higher-priority consumer take over from the active one', async () => {
    // Classic queues in 3.10 (and still in 4.x) keep the active consumer until it goes.
    const ch = await fx.channel();
    const q = await sacQueue(ch);
    const first = await collect(ch, q, { noAck: true, priority: 0 });
    const high = await collect(ch, q, { noAck: true, priority: 10 });
    await publish(ch, q, 2);
    await first.atLeast(2);
    await roundTrip(ch, q);
    expect(high.messages).toEqual([]);
  });

  it("requeues the active consumer's unacknowledged messages when its channel closes, for the next one", async () => {
    const ch0 = await fx.channel();
    const q = await sacQueue(ch0, 3);
    const activeCh = await fx.channel();
    const active = await collect(activeCh, q);
    await active.atLeast(3);
    const nextCh = await fx.channel();
    const next = await collect(nextCh, q);
    await activeCh.close();
    const got = await next.atLeast(3);
    expect(got.map((x) => [x.content.toString(), x.fields.redelivered])).toEqual([
      ['m1', true],
      ['m2', true],
      ['m3', true],
    ]);
  });

  it('keeps the messages the cancelled active consumer has not acknowledged with its channel', async () => {
    const ch = await fx.channel();
    const q = await sacQueue(ch, 2);
    const first = await collect(ch, q);
    await first.atLeast(2);
    const second = await collect(ch, q);
    await ch.cancel(first.tag);
    await roundTrip(ch, q);
    expect(second.messages).toEqual([]);
    ch.ack(first.messages[1]!, true);
    await publish(ch, q, 1, 3);
    expect(bodies(await second.atLeast(1))).toEqual(['m3']);
  });

  it('refuses an exclusive consumer: 403 ACCESS_REFUSED', async () => {
    const ch0 = await fx.channel();
    const q = await sacQueue(ch0);
    const ch = await fx.channel();
    await expectChannelClosed(ch, () => ch.consume(q, () => {}, { exclusive: true }), {
      code: 403,
      text: `ACCESS_REFUSED - queue '${q}' in vhost '/' in exclusive use`,
      classId: 60,
      methodId: 20,
    });
  });
});

describe('queue deleted under its consumers', () => {
  it('sends basic.cancel to clients advertising consumer_cancel_notify; the channel stays open', async () => {
    const ch = await fx.channel();
    const q = await queueWith(ch, 0);
    const c = await collect(ch, q);
    const other = await fx.channel();
    await other.deleteQueue(q);
    await eventually(() => expect(c.cancelled).toBe(true));
    await expectChannelAlive(ch);
  });

  it('accepts acknowledgements of messages from the deleted queue', async () => {
    const ch = await fx.channel();
    const q = await queueWith(ch, 2);
    const c = await collect(ch, q);
    await c.atLeast(2);
    const other = await fx.channel();
    await other.deleteQueue(q);
    await eventually(() => expect(c.cancelled).toBe(true));
    ch.ack(c.messages[0]!);
    ch.nack(c.messages[1]!, false, true);
    await expectChannelAlive(ch);
  });

  it('basic.cancel names the consumer tag, with nowait set', async () => {
    const ch = await fx.channel();
    const q = await queueWith(ch, 0);
    const raw = await m.raw();
    await raw.openChannel(1);
    raw.sendEncoded((w) => M.encodeBasicConsume(w, 1, { queue: q, consumerTag: 'doomed' }));
    await raw.method('basic.consume-ok', 1);
    await ch.deleteQueue(q);
    expect(await raw.method('basic.cancel', 1)).toMatchObject({ consumerTag: 'doomed', nowait: true });
    // The tag is free again on that channel.
    const q2 = await queueWith(ch, 0);
    raw.sendEncoded((w) => M.encodeBasicConsume(w, 1, { queue: q2, consumerTag: 'doomed' }));
    await raw.waitFor((fs) => fs.filter((f) => f.type === 'method' && f.name === 'basic.consume-ok').length === 2 || undefined);
    expect(raw.closeMethod()).toBeUndefined();
  });

  it('sends nothing to clients without the capability', async () => {
    const ch = await fx.channel();
    const q = await queueWith(ch, 0);
    const raw = await m.raw({ capabilities: { publisher_confirms: true } });
    await raw.openChannel(1);
    raw.sendEncoded((w) => M.encodeBasicConsume(w, 1, { queue: q, consumerTag: 'silent' }));
    await raw.method('basic.consume-ok', 1);
    await ch.deleteQueue(q);
    raw.sendEncoded((w) => M.encodeExchangeDeclare(w, 1, { exchange: 'amq.direct', passive: true }));
    await raw.method('exchange.declare-ok', 1);
    expect(raw.frames.some((f) => f.type === 'method' && f.name === 'basic.cancel')).toBe(false);
  });
});

describe('channel.flow', () => {
  it('active=true is acknowledged with flow-ok active=true', async () => {
    const ch = await fx.channel();
    expect(await channelFlow(ch, true)).toEqual({ active: true });
    await expectChannelAlive(ch);
  });

  it('active=false: 540 NOT_IMPLEMENTED closes the connection (class 20, method 20)', async () => {
    const bystander = await fx.connect();
    const raw = await m.raw();
    await raw.openChannel(1);
    raw.sendEncoded((w) => M.encodeChannelFlow(w, 1, { active: false }));
    expect(await raw.waitForClose()).toEqual({
      name: 'connection.close',
      channel: 0,
      replyCode: 540,
      replyText: 'NOT_IMPLEMENTED - active=false',
      classId: 20,
      methodId: 20,
    });
    await expectConnectionAlive(bystander);
  });
});
