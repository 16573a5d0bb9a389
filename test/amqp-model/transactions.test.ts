/**
 * Transactions (AMQP tx class as RabbitMQ implements it; docs page "semantics", "Transactions"): tx.select
 * makes a channel transactional; publishes and acknowledgements (ack, nack, reject) take effect at
 * tx.commit and are discarded by tx.rollback; a new transaction starts after each. Checked against
 * RabbitMQ 3.10.8.
 */
import type { Channel, GetMessage } from 'amqplib';
import { describe, expect, it } from 'vitest';
import * as M from '../../src/protocol/generated/methods.js';
import { eventually, withBroker } from '../helpers/broker.js';
import {
  bodies,
  drain,
  expectChannelAlive,
  expectChannelClosed,
  rawPublish,
  sync,
  tagged,
  txCommit,
  txRollback,
  txSelect,
  withModel,
} from '../helpers/model.js';

const fx = withBroker();
const m = withModel(fx);

async function queueWith(ch: Channel, n: number, args?: Record<string, unknown>): Promise<string> {
  const q = m.queue();
  await ch.assertQueue(q, { durable: false, ...(args === undefined ? {} : { arguments: args }) });
  for (let i = 1; i <= n; i++) ch.sendToQueue(q, Buffer.from(`m${i}`));
  await sync(ch);
  return q;
}

async function ready(q: string): Promise<number> {
  const ch = await fx.channel();
  return (await ch.checkQueue(q)).messageCount;
}

async function get(ch: Channel, q: string): Promise<GetMessage> {
  const msg = await ch.get(q, { noAck: false });
  if (msg === false) throw new Error('queue empty');
  return msg;
}

async function txChannel(): Promise<Channel> {
  const ch = await fx.channel();
  expect(await txSelect(ch)).toEqual({});
  return ch;
}

describe('tx.select', () => {
  it('is answered with select-ok, and may be repeated', async () => {
    const ch = await txChannel();
    expect(await txSelect(ch)).toEqual({});
    expect(await txCommit(ch)).toEqual({});
  });
});

describe('publishes in a transaction', () => {
  it('are not routed before tx.commit, and are after it, in order', async () => {
    const ch0 = await fx.channel();
    const q = await queueWith(ch0, 0);
    const ch = await txChannel();
    for (let i = 1; i <= 3; i++) ch.sendToQueue(q, Buffer.from(`t${i}`));
    await sync(ch);
    expect(await ready(q)).toBe(0);
    await txCommit(ch);
    expect(await ready(q)).toBe(3);
    expect(bodies(await drain(ch0, q))).toEqual(['t1', 't2', 't3']);
  });

  it('are discarded by tx.rollback', async () => {
    const ch0 = await fx.channel();
    const q = await queueWith(ch0, 0);
    const ch = await txChannel();
    ch.sendToQueue(q, Buffer.from('rolled-back'));
    expect(await txRollback(ch)).toEqual({});
    await txCommit(ch);
    expect(await ready(q)).toBe(0);
  });

  it('are discarded when the channel closes before tx.commit', async () => {
    const ch0 = await fx.channel();
    const q = await queueWith(ch0, 0);
    const ch = await txChannel();
    ch.sendToQueue(q, Buffer.from('never'));
    await sync(ch);
    await ch.close();
    expect(await ready(q)).toBe(0);
  });

  it('each commit starts a new transaction: later publishes wait for the next commit', async () => {
    const ch0 = await fx.channel();
    const q = await queueWith(ch0, 0);
    const ch = await txChannel();
    ch.sendToQueue(q, Buffer.from('first'));
    await txCommit(ch);
    ch.sendToQueue(q, Buffer.from('second'));
    await sync(ch);
    expect(await ready(q)).toBe(1);
    await txRollback(ch);
    ch.sendToQueue(q, Buffer.from('third'));
    await txCommit(ch);
    expect(bodies(await drain(ch0, q))).toEqual(['first', 'third']);
  });

  it('to a missing exchange close the channel at once (404), not at commit', async () => {
    const x = m.exchange('missing');
    const ch = await txChannel();
    await expectChannelClosed(ch, () => ch.publish(x, 'k', Buffer.from('x')), {
      code: 404,
      text: `NOT_FOUND - no exchange '${x}' in vhost '/'`,
      classId: 60,
      methodId: 40,
    });
  });

  it('unroutable and mandatory: basic.return comes at commit, before commit-ok', async () => {
    const raw = await m.raw();
    await raw.openChannel(1);
    raw.sendEncoded((w) => M.encodeTxSelect(w, 1));
    await raw.method('tx.select-ok', 1);
    rawPublish(raw, 1, { routingKey: m.queue('nowhere'), mandatory: true }, 'back');
    raw.sendEncoded((w) => M.encodeExchangeDeclare(w, 1, { exchange: 'amq.direct', passive: true }));
    await raw.method('exchange.declare-ok', 1);
    expect(raw.frames.some((f) => f.type === 'method' && f.name === 'basic.return')).toBe(false);
    raw.sendEncoded((w) => M.encodeTxCommit(w, 1));
    await raw.method('tx.commit-ok', 1);
    const names = raw.frames.filter((f) => f.type === 'method' && f.channel === 1).map((f) => (f.type === 'method' ? f.name : ''));
    expect(names.slice(-2)).toEqual(['basic.return', 'tx.commit-ok']);
  });

  it('refused by a queue make tx.commit fail: 406 partial tx completion closes the channel', async () => {
    const ch0 = await fx.channel();
    const q = await queueWith(ch0, 0, { 'x-max-length': 0, 'x-overflow': 'reject-publish' });
    const { ch, other } = await m.twoChannels();
    await txSelect(ch);
    ch.sendToQueue(q, Buffer.from('refused'));
    await expectChannelClosed(ch, () => txCommit(ch), {
      code: 406,
      text: 'PRECONDITION_FAILED - partial tx completion',
      classId: 90,
      methodId: 20,
    });
    await expectChannelAlive(other);
  });
});

describe('acknowledgements in a transaction', () => {
  it('basic.ack takes effect at commit', async () => {
    const ch0 = await fx.channel();
    const q = await queueWith(ch0, 2);
    const ch = await txChannel();
    const a = await get(ch, q);
    ch.ack(a);
    await txCommit(ch);
    await ch.close();
    await eventually(async () => expect(await ready(q)).toBe(1));
    expect(bodies(await drain(ch0, q))).toEqual(['m2']);
  });

  it('an uncommitted basic.ack leaves the message unacknowledged (requeued when the channel closes)', async () => {
    const ch0 = await fx.channel();
    const q = await queueWith(ch0, 1);
    const ch = await txChannel();
    ch.ack(await get(ch, q));
    await sync(ch);
    await ch.close();
    await eventually(async () => expect(await ready(q)).toBe(1));
    const back = await ch0.get(q, { noAck: true });
    expect(back && [back.content.toString(), back.fields.redelivered]).toEqual(['m1', true]);
  });

  it('tx.rollback forgets the acks but keeps the messages unacknowledged (not requeued)', async () => {
    const ch0 = await fx.channel();
    const q = await queueWith(ch0, 2);
    const ch = await txChannel();
    const a = await get(ch, q);
    ch.ack(a);
    await txRollback(ch);
    expect(await ready(q)).toBe(1);
    // The delivery is still outstanding on the channel: it can be acknowledged again.
    ch.ack(a);
    await txCommit(ch);
    await ch.close();
    await eventually(async () => expect(await ready(q)).toBe(1));
    expect(bodies(await drain(ch0, q))).toEqual(['m2']);
  });

  it('basic.reject and basic.nack with requeue take effect at commit', async () => {
    const ch0 = await fx.channel();
    const q = await queueWith(ch0, 3);
    const ch = await txChannel();
    const [a, b, c] = [await get(ch, q), await get(ch, q), await get(ch, q)];
    ch.reject(a, true);
    ch.nack(b, false, true);
    ch.nack(c, false, false);
    await sync(ch);
    expect(await ready(q)).toBe(0);
    await txCommit(ch);
    await eventually(async () => expect(await ready(q)).toBe(2));
    const back = await drain(ch0, q);
    expect(back.map((x) => [x.content.toString(), x.fields.redelivered])).toEqual([
      ['m1', true],
      ['m2', true],
    ]);
  });

  it('an ack of an unknown delivery tag closes the channel at once (406), not at commit', async () => {
    const ch = await txChannel();
    await expectChannelClosed(ch, () => ch.ack(tagged(9)), {
      code: 406,
      text: 'PRECONDITION_FAILED - unknown delivery tag 9',
      classId: 60,
      methodId: 80,
    });
  });

  it('an ack already made in the open transaction cannot be repeated (406 unknown delivery tag)', async () => {
    const ch0 = await fx.channel();
    const q = await queueWith(ch0, 1);
    const ch = await txChannel();
    const a = await get(ch, q);
    ch.ack(a);
    await expectChannelClosed(ch, () => ch.ack(a), {
      code: 406,
      text: 'PRECONDITION_FAILED - unknown delivery tag 1',
      classId: 60,
      methodId: 80,
    });
  });

  it('publishes and acks of one transaction are committed together', async () => {
    const ch0 = await fx.channel();
    const src = await queueWith(ch0, 1);
    const dst = await queueWith(ch0, 0);
    const ch = await txChannel();
    const msg = await get(ch, src);
    ch.sendToQueue(dst, msg.content);
    ch.ack(msg);
    await sync(ch);
    expect([await ready(src), await ready(dst)]).toEqual([0, 0]);
    await txCommit(ch);
    await ch.close();
    await eventually(async () => expect([await ready(src), await ready(dst)]).toEqual([0, 1]));
  });
});

describe('tx.commit and tx.rollback outside a transaction', () => {
  it('tx.commit: 406 channel is not transactional, closing only that channel', async () => {
    const { ch, other } = await m.twoChannels();
    await expectChannelClosed(ch, () => txCommit(ch), {
      code: 406,
      text: 'PRECONDITION_FAILED - channel is not transactional',
      classId: 90,
      methodId: 20,
    });
    await expectChannelAlive(other);
  });

  it('tx.rollback: 406 channel is not transactional', async () => {
    const ch = await fx.channel();
    await expectChannelClosed(ch, () => txRollback(ch), {
      code: 406,
      text: 'PRECONDITION_FAILED - channel is not transactional',
      classId: 90,
      methodId: 30,
    });
  });
});
