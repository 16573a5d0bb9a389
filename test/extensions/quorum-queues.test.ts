/**
 * Quorum queues (RabbitMQ docs page "quorum-queues") as a single node emulates them: x-queue-type
 * quorum with its declaration rules (durable, not exclusive, not auto-delete, never server-named), its
 * arguments and type kept for equivalence checks, x-delivery-count on redeliveries and on every
 * basic.get, x-delivery-limit dead-lettering with reason delivery_limit (3.10.8 does not validate the
 * limit: a negative one is accepted and dead-letters at the first return), where returned messages go
 * (rabbit_fifo in 3.10.8: to the back of the queue without a delivery limit, to the front with one),
 * global qos and single-active-consumer basic.get refused. Checked against RabbitMQ 3.10.8, where
 * quorum queues are real Raft queues: publishes go through confirms and counts are awaited, because a
 * quorum queue applies commands asynchronously.
 */
import type { Channel, ConfirmChannel, ConsumeMessage, Message } from 'amqplib';
import { describe, expect, it } from 'vitest';
import { eventually, withBroker } from '../helpers/broker.js';
import {
  basicQos,
  bodies,
  collect,
  drain,
  expectChannelAlive,
  expectChannelClosed,
  expectConnectionClosed,
  openChannel,
  roundTrip,
  withModel,
  type ExpectedClose,
} from '../helpers/model.js';

const fx = withBroker();
const m = withModel(fx);


const QUORUM = { 'x-queue-type': 'quorum' };

async function quorumQueue(ch: Channel, args: Record<string, unknown> = {}): Promise<string> {
  const q = m.queue('qq');
  await ch.assertQueue(q, { durable: true, arguments: { ...QUORUM, ...args } });
  return q;
}

/** Publishes with confirms: once confirmed, a quorum queue has the messages. */
async function publish(ch: ConfirmChannel, q: string, msgs: readonly string[], headers?: Record<string, unknown>): Promise<void> {
  for (const b of msgs) ch.sendToQueue(q, Buffer.from(b), headers === undefined ? {} : { headers });
  await ch.waitForConfirms();
}

async function readyCount(ch: Channel, q: string): Promise<number> {
  return (await ch.checkQueue(q)).messageCount;
}

/** Waits until the queue holds `n` ready messages (returns reach a quorum queue asynchronously). */
async function untilReady(ch: Channel, q: string, n: number): Promise<void> {
  await eventually(async () => expect(await readyCount(ch, q)).toBe(n), 5000);
}

async function getOne(ch: Channel, q: string): Promise<Message> {
  const msg = await ch.get(q, { noAck: false });
  if (msg === false) throw new Error(`queue ${q} is empty`);
  return msg;
}

const deliveryCount = (msg: Message | ConsumeMessage): unknown => (msg.properties.headers ?? {})['x-delivery-count'];

const precondition = (text: string, classId = 50, methodId = 10): ExpectedClose => ({ code: 406, text: `PRECONDITION_FAILED - ${text}`, classId, methodId });

describe('declaring a quorum queue', () => {
  it('creates a durable queue; declare-ok counts its messages', async () => {
    const ch = await fx.confirmChannel();
    const q = m.queue('qq');
    expect(await ch.assertQueue(q, { durable: true, arguments: QUORUM })).toEqual({ queue: q, messageCount: 0, consumerCount: 0 });
    await publish(ch, q, ['a', 'b']);
    await untilReady(ch, q, 2);
    expect(await ch.assertQueue(q, { durable: true, arguments: QUORUM })).toEqual({ queue: q, messageCount: 2, consumerCount: 0 });
  });

  it('must be durable: 406 invalid property non-durable', async () => {
    const { ch, other } = await m.twoChannels();
    const q = m.queue('qq');
    await expectChannelClosed(ch, () => ch.assertQueue(q, { durable: false, arguments: QUORUM }), precondition(`invalid property 'non-durable' for queue '${q}' in vhost '/'`));
    await expectChannelAlive(other);
  });

  it('cannot be exclusive: 406 invalid property exclusive-owner', async () => {
    const ch = await fx.channel();
    const q = m.queue('qq');
    await expectChannelClosed(ch, () => ch.assertQueue(q, { durable: true, exclusive: true, arguments: QUORUM }), precondition(`invalid property 'exclusive-owner' for queue '${q}' in vhost '/'`));
  });

  it('cannot be auto-delete: 406 invalid property auto-delete', async () => {
    const ch = await fx.channel();
    const q = m.queue('qq');
    await expectChannelClosed(ch, () => ch.assertQueue(q, { durable: true, autoDelete: true, arguments: QUORUM }), precondition(`invalid property 'auto-delete' for queue '${q}' in vhost '/'`));
  });

  it('checks auto-delete first, then exclusive, then durability', async () => {
    const ch1 = await fx.channel();
    const q1 = m.queue('qq');
    await expectChannelClosed(
      ch1,
      () => ch1.assertQueue(q1, { durable: false, exclusive: true, autoDelete: true, arguments: QUORUM }),
      precondition(`invalid property 'auto-delete' for queue '${q1}' in vhost '/'`),
    );
    const ch2 = await fx.channel();
    const q2 = m.queue('qq');
    await expectChannelClosed(ch2, () => ch2.assertQueue(q2, { durable: false, exclusive: true, arguments: QUORUM }), precondition(`invalid property 'exclusive-owner' for queue '${q2}' in vhost '/'`));
  });

  it('cannot be server-named: 406 Cannot declare a server-named queue', async () => {
    const ch = await fx.channel();
    await expectChannelClosed(ch, () => ch.assertQueue('', { durable: true, arguments: QUORUM }), precondition('Cannot declare a server-named queue for type rabbit_quorum_queue'));
  });

  it('refuses classic-queue arguments such as x-max-priority and x-queue-mode', async () => {
    const ch1 = await fx.channel();
    const q1 = m.queue('qq');
    await expectChannelClosed(
      ch1,
      () => ch1.assertQueue(q1, { durable: true, arguments: { ...QUORUM, 'x-max-priority': 5 } }),
      precondition(`invalid arg 'x-max-priority' for queue '${q1}' in vhost '/' of queue type rabbit_quorum_queue`),
    );
    const ch2 = await fx.channel();
    const q2 = m.queue('qq');
    await expectChannelClosed(
      ch2,
      () => ch2.assertQueue(q2, { durable: true, arguments: { ...QUORUM, 'x-queue-mode': 'lazy' } }),
      precondition(`invalid arg 'x-queue-mode' for queue '${q2}' in vhost '/' of queue type rabbit_quorum_queue`),
    );
  });

  it('x-delivery-limit is not validated (3.10.8): a negative limit is accepted and dead-letters at the first return', async () => {
    const ch = await fx.confirmChannel();
    const dlq = m.queue('dlq');
    await ch.assertQueue(dlq, { durable: false });
    const q = await quorumQueue(ch, { 'x-delivery-limit': -1, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dlq });
    await publish(ch, q, ['m']);
    const msg = await getOne(ch, q);
    expect(deliveryCount(msg)).toBe(0);
    ch.nack(msg, false, true);
    await untilReady(ch, dlq, 1);
    expect(await readyCount(ch, q)).toBe(0);
  });

  it('redeclared with the same type and arguments: declare-ok', async () => {
    const ch = await fx.channel();
    const q = await quorumQueue(ch, { 'x-delivery-limit': 3 });
    expect(await ch.assertQueue(q, { durable: true, arguments: { ...QUORUM, 'x-delivery-limit': 3 } })).toMatchObject({ queue: q });
    expect(await ch.checkQueue(q)).toMatchObject({ queue: q, messageCount: 0 });
  });

  it('keeps its type for equivalence: redeclared without x-queue-type, 406 inequivalent arg', async () => {
    const ch = await fx.channel();
    const q = await quorumQueue(ch);
    await expectChannelClosed(
      ch,
      () => ch.assertQueue(q, { durable: true }),
      precondition(`inequivalent arg 'x-queue-type' for queue '${q}' in vhost '/': received none but current is the value 'quorum' of type 'longstr'`),
    );
  });

  it("keeps its type for equivalence: redeclared as x-queue-type classic, 406 received 'classic' but current is 'quorum'", async () => {
    const ch = await fx.channel();
    const q = await quorumQueue(ch);
    await expectChannelClosed(
      ch,
      () => ch.assertQueue(q, { durable: true, arguments: { 'x-queue-type': 'classic' } }),
      precondition(`inequivalent arg 'x-queue-type' for queue '${q}' in vhost '/': received 'classic' but current is 'quorum'`),
    );
  });

  it('a changed x-delivery-limit is inequivalent', async () => {
    const ch = await fx.channel();
    const q = await quorumQueue(ch, { 'x-delivery-limit': 3 });
    await expectChannelClosed(
      ch,
      () => ch.assertQueue(q, { durable: true, arguments: { ...QUORUM, 'x-delivery-limit': 4 } }),
      precondition(`inequivalent arg 'x-delivery-limit' for queue '${q}' in vhost '/': received '4' but current is '3'`),
    );
  });
});

describe('x-delivery-count', () => {
  it('is absent on the first delivery to a consumer; each redelivery carries the number of earlier deliveries', async () => {
    const pub = await fx.confirmChannel();
    const q = await quorumQueue(pub);
    await publish(pub, q, ['m']);
    const ch = await fx.channel();
    const seen: { count: unknown; redelivered: boolean }[] = [];
    await ch.consume(q, (msg) => {
      if (msg === null) return;
      seen.push({ count: deliveryCount(msg), redelivered: msg.fields.redelivered });
      if (seen.length < 3) ch.nack(msg, false, true);
      else ch.ack(msg);
    });
    await eventually(() => expect(seen.length).toBe(3), 5000);
    expect(seen).toEqual([
      { count: undefined, redelivered: false },
      { count: 1, redelivered: true },
      { count: 2, redelivered: true },
    ]);
    await untilReady(pub, q, 0);
  });

  it('is on every basic.get-ok, 0 included, beside the publisher\'s own headers', async () => {
    const ch = await fx.confirmChannel();
    const q = await quorumQueue(ch);
    await publish(ch, q, ['m'], { app: 'kept' });
    const first = await getOne(ch, q);
    expect(first.properties.headers).toEqual({ app: 'kept', 'x-delivery-count': 0 });
    expect(first.fields.redelivered).toBe(false);
    ch.nack(first, false, true);
    await untilReady(ch, q, 1);
    const second = await getOne(ch, q);
    expect(second.properties.headers).toEqual({ app: 'kept', 'x-delivery-count': 1 });
    expect(second.fields.redelivered).toBe(true);
    ch.ack(second);
    await untilReady(ch, q, 0);
  });

  it('counts a delivery returned because its channel closed', async () => {
    const pub = await fx.confirmChannel();
    const q = await quorumQueue(pub);
    await publish(pub, q, ['m']);
    const conn = await fx.connect();
    const ch = await openChannel(conn);
    await getOne(ch, q);
    await ch.close();
    await untilReady(pub, q, 1);
    const again = await getOne(pub, q);
    expect(deliveryCount(again)).toBe(1);
    expect(again.fields.redelivered).toBe(true);
  });

  it('is not on the messages of a classic queue', async () => {
    const ch = await fx.confirmChannel();
    const q = m.queue('classic');
    await ch.assertQueue(q, { durable: false });
    await publish(ch, q, ['m']);
    const first = await getOne(ch, q);
    ch.nack(first, false, true);
    const again = await getOne(ch, q);
    expect(again.fields.redelivered).toBe(true);
    expect(deliveryCount(again)).toBeUndefined();
  });
});

describe('x-delivery-limit', () => {
  async function withDeadLetterQueue(ch: ConfirmChannel, limit: number): Promise<{ q: string; dlq: string }> {
    const dlq = m.queue('dlq');
    await ch.assertQueue(dlq, { durable: false });
    const q = await quorumQueue(ch, { 'x-delivery-limit': limit, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dlq });
    return { q, dlq };
  }

  it('dead-letters a message returned more times than the limit, with reason delivery_limit', async () => {
    const ch = await fx.confirmChannel();
    const { q, dlq } = await withDeadLetterQueue(ch, 1);
    await publish(ch, q, ['m'], { app: 1 });
    // Limit 1: delivered twice (delivery counts 0 and 1); the second return is one too many.
    for (const expected of [0, 1]) {
      const msg = await getOne(ch, q);
      expect(deliveryCount(msg)).toBe(expected);
      ch.nack(msg, false, true);
      if (expected === 0) await untilReady(ch, q, 1);
    }
    await untilReady(ch, dlq, 1);
    expect(await readyCount(ch, q)).toBe(0);
    const dead = await getOne(ch, dlq);
    expect(dead.content.toString()).toBe('m');
    expect(dead.fields).toMatchObject({ exchange: '', routingKey: dlq, redelivered: false });
    const headers = dead.properties.headers!;
    // The dead-lettered copy has the publisher's headers and x-death, not x-delivery-count. (Warren also
    // writes x-last-death-*, as RabbitMQ 3.13 does: a documented difference, left out here.)
    expect(Object.keys(headers).filter((k) => !k.startsWith('x-last-death-')).sort()).toEqual(['app', 'x-death', 'x-first-death-exchange', 'x-first-death-queue', 'x-first-death-reason']);
    expect(headers['x-first-death-reason']).toBe('delivery_limit');
    expect(headers['x-first-death-queue']).toBe(q);
    expect(headers['x-first-death-exchange']).toBe('');
    const [death] = headers['x-death'] as unknown as Array<Record<string, unknown>>;
    expect(death).toMatchObject({ count: 1, reason: 'delivery_limit', queue: q, exchange: '', 'routing-keys': [q] });
  });

  it('limit 0: the first return dead-letters', async () => {
    const ch = await fx.confirmChannel();
    const { q, dlq } = await withDeadLetterQueue(ch, 0);
    await publish(ch, q, ['m']);
    ch.nack(await getOne(ch, q), false, true);
    await untilReady(ch, dlq, 1);
    expect(await readyCount(ch, q)).toBe(0);
  });

  it('counts the deliveries of a consumer that keeps requeueing: limit + 1 deliveries, then dead-lettered', async () => {
    const ch = await fx.confirmChannel();
    const { q, dlq } = await withDeadLetterQueue(ch, 2);
    await publish(ch, q, ['m']);
    const cch = await fx.channel();
    const counts: unknown[] = [];
    await cch.consume(q, (msg) => {
      if (msg === null) return;
      counts.push(deliveryCount(msg));
      cch.nack(msg, false, true);
    });
    await untilReady(ch, dlq, 1);
    expect(counts).toEqual([undefined, 1, 2]);
    expect(await readyCount(ch, q)).toBe(0);
  });

  it('counts returns from closed channels', async () => {
    const ch = await fx.confirmChannel();
    const { q, dlq } = await withDeadLetterQueue(ch, 1);
    await publish(ch, q, ['m']);
    for (let i = 0; i < 2; i++) {
      const conn = await fx.connect();
      const other = await openChannel(conn);
      await getOne(other, q);
      await conn.close();
      if (i === 0) await untilReady(ch, q, 1);
    }
    await untilReady(ch, dlq, 1);
    expect(await readyCount(ch, q)).toBe(0);
  });

  it('without a dead-letter exchange the message is dropped', async () => {
    const ch = await fx.confirmChannel();
    const q = await quorumQueue(ch, { 'x-delivery-limit': 0 });
    await publish(ch, q, ['m', 'n']);
    ch.nack(await getOne(ch, q), false, true);
    await untilReady(ch, q, 1);
    expect(bodies(await drain(ch, q))).toEqual(['n']);
  });

  it('a message rejected without requeue is dead-lettered with reason rejected, whatever its count', async () => {
    const ch = await fx.confirmChannel();
    const { q, dlq } = await withDeadLetterQueue(ch, 5);
    await publish(ch, q, ['m']);
    ch.nack(await getOne(ch, q), false, false);
    await untilReady(ch, dlq, 1);
    const dead = await getOne(ch, dlq);
    expect(dead.properties.headers!['x-first-death-reason']).toBe('rejected');
  });
});

describe('where returned messages go (rabbit_fifo, 3.10.8)', () => {
  // rabbit_fifo appends a message nacked with requeue to the back when there is no delivery limit (a
  // requeue command), and puts it at the front, in return order, when there is one; messages of a
  // channel that closes join that front line too.
  it('without a delivery limit, a nacked message goes to the back of the queue', async () => {
    const ch = await fx.confirmChannel();
    const q = await quorumQueue(ch);
    await publish(ch, q, ['m1', 'm2', 'm3', 'm4']);
    const g1 = await getOne(ch, q);
    const g2 = await getOne(ch, q);
    ch.nack(g2, false, true);
    ch.nack(g1, false, true);
    await untilReady(ch, q, 4);
    const rest = await drain(ch, q);
    expect(bodies(rest)).toEqual(['m3', 'm4', 'm2', 'm1']);
    expect(rest.map((r) => r.fields.redelivered)).toEqual([false, false, true, true]);
  });

  it('with a delivery limit, nacked messages go to the front, in the order they were returned', async () => {
    const ch = await fx.confirmChannel();
    const q = await quorumQueue(ch, { 'x-delivery-limit': 5 });
    await publish(ch, q, ['m1', 'm2', 'm3', 'm4']);
    const g1 = await getOne(ch, q);
    const g2 = await getOne(ch, q);
    ch.nack(g2, false, true);
    ch.nack(g1, false, true);
    await untilReady(ch, q, 4);
    expect(bodies(await drain(ch, q))).toEqual(['m2', 'm1', 'm3', 'm4']);
  });

  it('messages returned by a closed channel go to the front, in delivery order', async () => {
    const ch = await fx.confirmChannel();
    const q = await quorumQueue(ch);
    await publish(ch, q, ['m1', 'm2', 'm3', 'm4']);
    const conn = await fx.connect();
    const other = await openChannel(conn);
    await getOne(other, q);
    await getOne(other, q);
    await other.close();
    await untilReady(ch, q, 4);
    const rest = await drain(ch, q);
    expect(bodies(rest)).toEqual(['m1', 'm2', 'm3', 'm4']);
    expect(rest.map(deliveryCount)).toEqual([1, 1, 0, 0]);
  });
  it('returns form one line at the front: messages of a channel closed later come after those returned earlier', async () => {
    const ch = await fx.confirmChannel();
    const q = await quorumQueue(ch);
    await publish(ch, q, ['m1', 'm2', 'm3', 'm4']);
    const connB = await fx.connect();
    const b = await openChannel(connB);
    const connC = await fx.connect();
    const c = await openChannel(connC);
    await getOne(b, q);
    await getOne(b, q);
    await getOne(c, q);
    await c.close();
    await untilReady(ch, q, 2);
    await b.close();
    await untilReady(ch, q, 4);
    expect(bodies(await drain(ch, q))).toEqual(['m3', 'm1', 'm2', 'm4']);
  });
});

describe('consumers and qos', () => {
  it('basic.consume on a channel with global qos: 540 NOT_IMPLEMENTED, does not support global qos', async () => {
    const conn = await fx.connect();
    const ch = await openChannel(conn);
    const q = await quorumQueue(ch);
    await basicQos(ch, 0, 5, true);
    await expectConnectionClosed(conn, () => ch.consume(q, () => {}), {
      code: 540,
      text: `NOT_IMPLEMENTED - queue '${q}' in vhost '/' does not support global qos`,
    });
  });

  it('per-consumer prefetch applies', async () => {
    const pub = await fx.confirmChannel();
    const q = await quorumQueue(pub);
    await publish(pub, q, ['m1', 'm2', 'm3', 'm4', 'm5']);
    const ch = await fx.channel();
    await ch.prefetch(2);
    const c = await collect(ch, q);
    await c.atLeast(2, 5000);
    await roundTrip(ch, q);
    expect(bodies(c.messages)).toEqual(['m1', 'm2']);
    ch.ack(c.messages[1]!, true);
    await c.atLeast(4, 5000);
    await roundTrip(ch, q);
    expect(bodies(c.messages)).toEqual(['m1', 'm2', 'm3', 'm4']);
  });

  it('single active consumer: only the first consumer receives; the next takes over when it is cancelled', async () => {
    const pub = await fx.confirmChannel();
    const q = await quorumQueue(pub, { 'x-single-active-consumer': true });
    const ch = await fx.channel();
    const a = await collect(ch, q, { noAck: true });
    const b = await collect(ch, q, { noAck: true });
    await publish(pub, q, ['m1', 'm2', 'm3']);
    await a.atLeast(3, 5000);
    await ch.cancel(a.tag);
    await publish(pub, q, ['m4']);
    await b.atLeast(1, 5000);
    expect(bodies(a.messages)).toEqual(['m1', 'm2', 'm3']);
    expect(bodies(b.messages)).toEqual(['m4']);
  });

  it('basic.get on a single-active-consumer quorum queue: 405 RESOURCE_LOCKED', async () => {
    const { ch, other } = await m.twoChannels();
    const q = await quorumQueue(ch, { 'x-single-active-consumer': true });
    await expectChannelClosed(ch, () => ch.get(q), {
      code: 405,
      text: `RESOURCE_LOCKED - cannot obtain access to locked queue '${q}' in vhost '/'. basic.get operations are not supported by quorum queues with single active consumer`,
      classId: 60,
      methodId: 70,
    });
    await expectChannelAlive(other);
  });
});
