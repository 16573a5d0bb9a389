/**
 * Consumer prefetch (RabbitMQ docs page "consumer-prefetch"): basic.qos with global=false limits each
 * consumer created afterwards on the channel; global=true limits the channel as a whole; both limits apply
 * independently; 0 means no limit; prefetch-size is refused. Checked against RabbitMQ 3.10.8.
 *
 * 4.x refuses global qos by default for new deployments (a deliberate later change); 3.10.8 honours it,
 * and so do these tests.
 */
import type { Channel } from 'amqplib';
import { describe, expect, it } from 'vitest';
import * as M from '../../src/protocol/generated/methods.js';
import { withBroker } from '../helpers/broker.js';
import { basicQos, bodies, collect, expectConnectionAlive, expectConnectionClosed, openChannel, roundTrip, sync, withModel } from '../helpers/model.js';

const fx = withBroker();
const m = withModel(fx);

async function queueWith(ch: Channel, n: number): Promise<string> {
  const q = m.queue();
  await ch.assertQueue(q, { durable: false });
  await publish(ch, q, n);
  return q;
}

async function publish(ch: Channel, q: string, n: number, from = 1): Promise<void> {
  for (let i = from; i < from + n; i++) ch.sendToQueue(q, Buffer.from(`m${i}`));
  await sync(ch);
}


describe('basic.qos with global=false (per consumer)', () => {
  it('limits a consumer to prefetch-count unacknowledged messages', async () => {
    const ch = await fx.channel();
    const q = await queueWith(ch, 5);
    await ch.prefetch(2, false);
    const c = await collect(ch, q);
    await c.atLeast(2);
    await roundTrip(ch, q);
    expect(bodies(c.messages)).toEqual(['m1', 'm2']);
  });

  it('gives each consumer on the channel its own limit', async () => {
    const ch = await fx.channel();
    const q1 = await queueWith(ch, 5);
    const q2 = await queueWith(ch, 5);
    await ch.prefetch(2);
    const a = await collect(ch, q1);
    const b = await collect(ch, q2);
    await a.atLeast(2);
    await b.atLeast(2);
    await roundTrip(ch, q1, q2);
    expect([a.messages.length, b.messages.length]).toEqual([2, 2]);
  });

  it('applies to consumers created after it; earlier consumers keep the limit they started with', async () => {
    const ch = await fx.channel();
    const q1 = await queueWith(ch, 5);
    const q2 = await queueWith(ch, 5);
    const q3 = await queueWith(ch, 5);
    const unlimited = await collect(ch, q1);
    await ch.prefetch(1);
    const one = await collect(ch, q2);
    await ch.prefetch(3);
    const three = await collect(ch, q3);
    await unlimited.atLeast(5);
    await three.atLeast(3);
    await roundTrip(ch, q1, q2, q3);
    expect([unlimited.messages.length, one.messages.length, three.messages.length]).toEqual([5, 1, 3]);
  });

  it('delivers the next message as soon as one is acknowledged', async () => {
    const ch = await fx.channel();
    const q = await queueWith(ch, 4);
    await ch.prefetch(2);
    const c = await collect(ch, q);
    await c.atLeast(2);
    ch.ack(c.messages[0]!);
    await c.atLeast(3);
    await roundTrip(ch, q);
    expect(bodies(c.messages)).toEqual(['m1', 'm2', 'm3']);
    ch.ack(c.messages[2]!, true);
    await c.atLeast(4);
    expect(bodies(c.messages)).toEqual(['m1', 'm2', 'm3', 'm4']);
  });

  it('counts requeued messages as settled: a nack with requeue frees the slot', async () => {
    const ch = await fx.channel();
    const q = await queueWith(ch, 2);
    await ch.prefetch(1);
    const c = await collect(ch, q);
    await c.atLeast(1);
    ch.nack(c.messages[0]!, false, true);
    await c.atLeast(2);
    expect(c.messages.map((x) => [x.content.toString(), x.fields.redelivered])).toEqual([
      ['m1', false],
      ['m1', true],
    ]);
  });

  it('0 means no limit', async () => {
    const ch = await fx.channel();
    const q = await queueWith(ch, 6);
    await ch.prefetch(2);
    await ch.prefetch(0);
    const c = await collect(ch, q);
    await c.atLeast(6);
  });

  it('does not apply to no-ack consumers', async () => {
    const ch = await fx.channel();
    const q = await queueWith(ch, 5);
    await ch.prefetch(1);
    const c = await collect(ch, q, { noAck: true });
    await c.atLeast(5);
  });

  it('does not limit basic.get', async () => {
    const ch = await fx.channel();
    const q = await queueWith(ch, 3);
    await ch.prefetch(1);
    const c = await collect(ch, q);
    await c.atLeast(1);
    const got = await ch.get(q, { noAck: false });
    expect(got && got.content.toString()).toBe('m2');
  });
});

describe('basic.qos with global=true (per channel)', () => {
  it('limits the unacknowledged messages of all consumers of the channel together', async () => {
    const ch = await fx.channel();
    const q1 = await queueWith(ch, 5);
    const q2 = await queueWith(ch, 5);
    await ch.prefetch(3, true);
    const a = await collect(ch, q1);
    const b = await collect(ch, q2);
    await a.atLeast(3);
    await roundTrip(ch, q1, q2);
    // a took the whole budget before b existed
    expect([a.messages.length, b.messages.length]).toEqual([3, 0]);
    ch.ack(a.messages[0]!);
    ch.ack(a.messages[1]!);
    await roundTrip(ch, q1, q2);
    expect(a.messages.length + b.messages.length).toBe(5);
  });

  it('is independent of the per-channel counts of other channels', async () => {
    const conn = await fx.connect();
    const ch1 = await openChannel(conn);
    const ch2 = await openChannel(conn);
    const q = await queueWith(ch1, 6);
    await ch1.prefetch(2, true);
    await ch2.prefetch(2, true);
    const a = await collect(ch1, q);
    const b = await collect(ch2, q);
    await a.atLeast(2);
    await b.atLeast(2);
    await roundTrip(ch1, q);
    await roundTrip(ch2, q);
    expect([a.messages.length, b.messages.length]).toEqual([2, 2]);
  });

  it('raising the limit lets more messages flow at once', async () => {
    const ch = await fx.channel();
    const q = await queueWith(ch, 5);
    await ch.prefetch(1, true);
    const c = await collect(ch, q);
    await c.atLeast(1);
    await ch.prefetch(3, true);
    await c.atLeast(3);
    await roundTrip(ch, q);
    expect(c.messages.length).toBe(3);
  });

  it('global=true with 0 removes the channel limit', async () => {
    const ch = await fx.channel();
    const q = await queueWith(ch, 4);
    await ch.prefetch(1, true);
    const c = await collect(ch, q);
    await c.atLeast(1);
    await ch.prefetch(0, true);
    await c.atLeast(4);
  });
});

describe('per-consumer and per-channel limits together', () => {
  it('are both enforced: each consumer at most its own limit, the channel at most its own', async () => {
    const ch = await fx.channel();
    const qs = [await queueWith(ch, 5), await queueWith(ch, 5), await queueWith(ch, 5)];
    await ch.prefetch(2, false);
    await ch.prefetch(5, true);
    const cs = [];
    for (const q of qs) cs.push(await collect(ch, q));
    await cs[0]!.atLeast(2);
    await cs[1]!.atLeast(2);
    await cs[2]!.atLeast(1);
    await roundTrip(ch, ...qs);
    expect(cs.map((c) => c.messages.length)).toEqual([2, 2, 1]);
  });

  it('setting global=false after global=true removes the channel limit (RabbitMQ resets it)', async () => {
    const ch = await fx.channel();
    const q1 = await queueWith(ch, 5);
    const q2 = await queueWith(ch, 5);
    await ch.prefetch(1, true);
    await ch.prefetch(2, false);
    const a = await collect(ch, q1);
    const b = await collect(ch, q2);
    await a.atLeast(2);
    await b.atLeast(2);
    await roundTrip(ch, q1, q2);
    expect([a.messages.length, b.messages.length]).toEqual([2, 2]);
  });
});

describe('prefetch-size', () => {
  it('other than 0: 540 NOT_IMPLEMENTED closes the connection (class 60, method 10)', async () => {
    const bystander = await fx.connect();
    const raw = await m.raw();
    await raw.openChannel(1);
    raw.sendEncoded((w) => M.encodeBasicQos(w, 1, { prefetchSize: 1000, prefetchCount: 10, global: false }));
    expect(await raw.waitForClose()).toEqual({
      name: 'connection.close',
      channel: 0,
      replyCode: 540,
      replyText: 'NOT_IMPLEMENTED - prefetch_size!=0 (1000)',
      classId: 60,
      methodId: 10,
    });
    await expectConnectionAlive(bystander);
  });

  it('other than 0 closes an amqplib connection with 540', async () => {
    const conn = await fx.connect();
    const ch = await openChannel(conn);
    await expectConnectionClosed(conn, () => basicQos(ch, 1, 0, true), {
      code: 540,
      text: 'NOT_IMPLEMENTED - prefetch_size!=0 (1)',
    });
  });
});
