/**
 * Message ordering and redelivery (RabbitMQ docs page "semantics", "Message ordering guarantees"):
 * a queue is FIFO; a message that is requeued (nack/reject with requeue, basic.recover, its channel or
 * connection closing with it unacknowledged) goes back to its original position and is redelivered with
 * redelivered=true; messages never delivered keep redelivered=false. Checked against RabbitMQ 3.10.8.
 */
import type { Channel, GetMessage } from 'amqplib';
import { describe, expect, it } from 'vitest';
import * as M from '../../src/protocol/generated/methods.js';
import { eventually, withBroker } from '../helpers/broker.js';
import { collect, openChannel, sync, withModel } from '../helpers/model.js';

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

async function get(ch: Channel, q: string): Promise<GetMessage> {
  const msg = await ch.get(q, { noAck: false });
  if (msg === false) throw new Error('queue empty');
  return msg;
}

/** The queue's content in order, as [body, redelivered], taken with no-ack gets. */
async function contents(ch: Channel, q: string): Promise<[string, boolean][]> {
  const out: [string, boolean][] = [];
  for (let msg = await ch.get(q, { noAck: true }); msg !== false; msg = await ch.get(q, { noAck: true })) out.push([msg.content.toString(), msg.fields.redelivered]);
  return out;
}

async function readyCount(q: string, n: number): Promise<void> {
  const ch = await fx.channel();
  await eventually(async () => expect((await ch.checkQueue(q)).messageCount).toBe(n));
}

describe('FIFO', () => {
  it('delivers messages in the order they were published (basic.get)', async () => {
    const ch = await fx.channel();
    const q = await queueWith(ch, 20);
    const got = await contents(ch, q);
    expect(got.map(([b]) => b)).toEqual(Array.from({ length: 20 }, (_, i) => `m${i + 1}`));
    expect(got.every(([, r]) => !r)).toBe(true);
  });

  it('delivers messages in the order they were published (consumer)', async () => {
    const ch = await fx.channel();
    const q = await queueWith(ch, 10);
    const c = await collect(ch, q, { noAck: true });
    await publish(ch, q, 10, 11);
    const got = await c.atLeast(20);
    expect(got.map((x) => x.content.toString())).toEqual(Array.from({ length: 20 }, (_, i) => `m${i + 1}`));
  });

  it('keeps the order of messages routed through an exchange', async () => {
    const ch = await fx.channel();
    const x = m.exchange();
    await ch.assertExchange(x, 'topic', { durable: false });
    const q = await queueWith(ch, 0);
    await ch.bindQueue(q, x, '#');
    for (let i = 1; i <= 10; i++) ch.publish(x, `k.${i}`, Buffer.from(`m${i}`));
    await sync(ch);
    expect((await contents(ch, q)).map(([b]) => b)).toEqual(Array.from({ length: 10 }, (_, i) => `m${i + 1}`));
  });
});

describe('requeued messages go back to their original position', () => {
  it('nack with requeue: the message is first again, redelivered=true; the others are not', async () => {
    const ch = await fx.channel();
    const q = await queueWith(ch, 3);
    const first = await get(ch, q);
    ch.nack(first, false, true);
    expect(await contents(ch, q)).toEqual([
      ['m1', true],
      ['m2', false],
      ['m3', false],
    ]);
  });

  it('messages requeued in any order regain their original relative positions', async () => {
    const ch = await fx.channel();
    const q = await queueWith(ch, 6);
    const [a, b, c, d] = [await get(ch, q), await get(ch, q), await get(ch, q), await get(ch, q)];
    ch.nack(d, false, true);
    ch.reject(b, true);
    await sync(ch);
    // m1 and m3 are still unacknowledged: m2 and m4 sit in front of m5 and m6, in their order.
    expect(await ch.checkQueue(q)).toMatchObject({ messageCount: 4 });
    ch.nack(c, false, true);
    ch.nack(a, false, true);
    expect(await contents(ch, q)).toEqual([
      ['m1', true],
      ['m2', true],
      ['m3', true],
      ['m4', true],
      ['m5', false],
      ['m6', false],
    ]);
  });

  it('nack with multiple and requeue restores the original order', async () => {
    const ch = await fx.channel();
    const q = await queueWith(ch, 4);
    const c = await collect(ch, q);
    const msgs = await c.atLeast(4);
    await ch.cancel(c.tag);
    ch.nack(msgs[2]!, true, true);
    expect(await contents(ch, q)).toEqual([
      ['m1', true],
      ['m2', true],
      ['m3', true],
    ]);
    ch.nack(msgs[3]!, false, true);
    expect(await contents(ch, q)).toEqual([['m4', true]]);
  });

  it('a requeued message goes ahead of messages published after it was delivered', async () => {
    const ch = await fx.channel();
    const q = await queueWith(ch, 1);
    const first = await get(ch, q);
    await publish(ch, q, 2, 2);
    ch.reject(first, true);
    expect(await contents(ch, q)).toEqual([
      ['m1', true],
      ['m2', false],
      ['m3', false],
    ]);
  });

  it('basic.recover requeues every unacknowledged message of the channel in its original position', async () => {
    const ch = await fx.channel();
    const q = await queueWith(ch, 5);
    await get(ch, q);
    const second = await get(ch, q);
    await get(ch, q);
    ch.ack(second);
    await ch.recover();
    expect(await contents(ch, q)).toEqual([
      ['m1', true],
      ['m3', true],
      ['m4', false],
      ['m5', false],
    ]);
  });

  it('closing a channel requeues its unacknowledged messages in their original positions', async () => {
    const ch0 = await fx.channel();
    const q = await queueWith(ch0, 5);
    const ch = await fx.channel();
    await ch.prefetch(3);
    const c = await collect(ch, q);
    const msgs = await c.atLeast(3);
    ch.ack(msgs[1]!);
    // The freed slot brings m4; m5 is never delivered.
    await c.atLeast(4);
    await ch.close();
    await readyCount(q, 4);
    expect(await contents(ch0, q)).toEqual([
      ['m1', true],
      ['m3', true],
      ['m4', true],
      ['m5', false],
    ]);
  });

  it('closing a connection requeues the unacknowledged messages of all its channels', async () => {
    const ch0 = await fx.channel();
    const q = await queueWith(ch0, 4);
    const conn = await fx.connect();
    const a = await openChannel(conn);
    const b = await openChannel(conn);
    await get(a, q);
    await get(b, q);
    await get(a, q);
    await conn.close();
    await readyCount(q, 4);
    expect(await contents(ch0, q)).toEqual([
      ['m1', true],
      ['m2', true],
      ['m3', true],
      ['m4', false],
    ]);
  });

  it('a connection that drops without closing has its unacknowledged messages requeued', async () => {
    const ch0 = await fx.channel();
    const q = await queueWith(ch0, 3);
    const raw = await m.raw();
    await raw.openChannel(1);
    raw.sendEncoded((w) => M.encodeBasicGet(w, 1, { queue: q, noAck: false }));
    raw.sendEncoded((w) => M.encodeBasicGet(w, 1, { queue: q, noAck: false }));
    await raw.waitFor((fs) => fs.filter((f) => f.type === 'method' && f.name === 'basic.get-ok').length === 2 || undefined);
    raw.destroy();
    await readyCount(q, 3);
    expect(await contents(ch0, q)).toEqual([
      ['m1', true],
      ['m2', true],
      ['m3', false],
    ]);
  });

  it('a channel closed by an error requeues its unacknowledged messages too', async () => {
    const ch0 = await fx.channel();
    const q = await queueWith(ch0, 2);
    const ch = await fx.channel();
    await get(ch, q);
    const closed = new Promise<void>((r) => ch.once('close', () => r()));
    ch.ack({ fields: { deliveryTag: 99 } } as unknown as GetMessage);
    await closed;
    await readyCount(q, 2);
    expect(await contents(ch0, q)).toEqual([
      ['m1', true],
      ['m2', false],
    ]);
  });

  it('cancelling a consumer does not requeue its unacknowledged messages', async () => {
    const ch = await fx.channel();
    const q = await queueWith(ch, 2);
    const c = await collect(ch, q);
    await c.atLeast(2);
    await ch.cancel(c.tag);
    expect(await ch.checkQueue(q)).toMatchObject({ messageCount: 0 });
    ch.ack(c.messages[0]!);
    ch.nack(c.messages[1]!, false, true);
    expect(await contents(ch, q)).toEqual([['m2', true]]);
  });

  it('a requeued message is delivered to a consumer with redelivered=true', async () => {
    const ch = await fx.channel();
    const q = await queueWith(ch, 2);
    const first = await get(ch, q);
    ch.nack(first, false, true);
    const c = await collect(ch, q, { noAck: true });
    const got = await c.atLeast(2);
    expect(got.map((x) => [x.content.toString(), x.fields.redelivered])).toEqual([
      ['m1', true],
      ['m2', false],
    ]);
  });
});
