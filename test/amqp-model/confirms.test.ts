/**
 * Publisher confirms (RabbitMQ docs page "confirms", publisher side): confirm.select, sequence numbers from
 * 1, basic.ack (with multiple when several are confirmed together), basic.nack when a queue refuses a
 * message, confirms for unroutable messages right after their basic.return, and the mutual exclusion of
 * confirm and tx modes. Checked against RabbitMQ 3.10.8.
 */
import type { Channel, ConfirmChannel } from 'amqplib';
import { describe, expect, it } from 'vitest';
import * as M from '../../src/protocol/generated/methods.js';
import { eventually, withBroker } from '../helpers/broker.js';
import type { RawClient, ReceivedFrame } from '../helpers/raw-client.js';
import { bodies, confirmSelect, drain, expectChannelAlive, expectChannelClosed, rawPublish, sync, txSelect, withModel } from '../helpers/model.js';

const fx = withBroker();
const m = withModel(fx);

interface Confirm {
  kind: 'ack' | 'nack';
  deliveryTag: number;
  multiple: boolean;
}

/** Records the confirms a channel receives, in order. */
function recordConfirms(ch: Channel): Confirm[] {
  const out: Confirm[] = [];
  ch.on('ack', (f: { deliveryTag: number; multiple: boolean }) => out.push({ kind: 'ack', deliveryTag: f.deliveryTag, multiple: f.multiple }));
  ch.on('nack', (f: { deliveryTag: number; multiple: boolean }) => out.push({ kind: 'nack', deliveryTag: f.deliveryTag, multiple: f.multiple }));
  return out;
}

/** Expands confirms (multiple=true covers every unconfirmed tag up to it) into one outcome per sequence number. */
function outcomes(confirms: readonly Confirm[]): Map<number, 'ack' | 'nack'> {
  const out = new Map<number, 'ack' | 'nack'>();
  let covered = 0;
  for (const c of confirms) {
    expect(c.deliveryTag).toBeGreaterThan(covered === 0 ? 0 : Math.min(covered, c.deliveryTag - 1));
    if (c.multiple) {
      for (let t = 1; t <= c.deliveryTag; t++) if (!out.has(t)) out.set(t, c.kind);
    } else {
      expect(out.has(c.deliveryTag)).toBe(false);
      out.set(c.deliveryTag, c.kind);
    }
    covered = Math.max(covered, c.deliveryTag);
  }
  return out;
}

function rawConfirms(raw: RawClient, channel = 1): Confirm[] {
  const out: Confirm[] = [];
  for (const f of raw.frames) {
    if (f.type !== 'method' || f.channel !== channel) continue;
    if (f.method.id === M.Method.BasicAck) out.push({ kind: 'ack', deliveryTag: Number(f.method.deliveryTag), multiple: f.method.multiple });
    if (f.method.id === M.Method.BasicNack) out.push({ kind: 'nack', deliveryTag: Number(f.method.deliveryTag), multiple: f.method.multiple });
  }
  return out;
}

const methodNames = (frames: readonly ReceivedFrame[], channel = 1) => frames.filter((f) => f.type === 'method' && f.channel === channel).map((f) => (f.type === 'method' ? f.name : ''));

async function confirmedRaw(): Promise<RawClient> {
  const raw = await m.raw();
  await raw.openChannel(1);
  raw.sendEncoded((w) => M.encodeConfirmSelect(w, 1, {}));
  expect(await raw.method('confirm.select-ok', 1)).toBeDefined();
  return raw;
}

async function queue(ch: Channel, args?: Record<string, unknown>): Promise<string> {
  const q = m.queue();
  await ch.assertQueue(q, { durable: false, ...(args === undefined ? {} : { arguments: args }) });
  return q;
}

describe('confirm.select', () => {
  it('is answered with select-ok and puts the channel in confirm mode', async () => {
    const ch = await fx.channel();
    expect(await confirmSelect(ch)).toEqual({});
    const confirms = recordConfirms(ch);
    ch.sendToQueue(m.queue('nowhere'), Buffer.from('x'));
    await eventually(() => expect(confirms).toEqual([{ kind: 'ack', deliveryTag: 1, multiple: false }]));
  });

  it('with nowait sends no select-ok, and publishes are confirmed', async () => {
    const raw = await m.raw();
    await raw.openChannel(1);
    raw.sendEncoded((w) => M.encodeConfirmSelect(w, 1, { nowait: true }));
    rawPublish(raw, 1, { routingKey: m.queue('nowhere') }, 'x');
    expect(await raw.method('basic.ack', 1)).toMatchObject({ deliveryTag: 1, multiple: false });
    expect(methodNames(raw.frames)).not.toContain('confirm.select-ok');
  });

  it('twice is allowed', async () => {
    const ch = await fx.channel();
    await confirmSelect(ch);
    await confirmSelect(ch);
    await expectChannelAlive(ch);
  });

  it('on a transactional channel: 406 PRECONDITION_FAILED, closing only that channel', async () => {
    const { ch, other } = await m.twoChannels();
    await txSelect(ch);
    await expectChannelClosed(ch, () => confirmSelect(ch), {
      code: 406,
      text: 'PRECONDITION_FAILED - cannot switch from tx to confirm mode',
      classId: 85,
      methodId: 10,
    });
    await expectChannelAlive(other);
  });

  it('makes tx.select refused: 406 PRECONDITION_FAILED, closing only that channel', async () => {
    const { ch, other } = await m.twoChannels();
    await confirmSelect(ch);
    await expectChannelClosed(ch, () => txSelect(ch), {
      code: 406,
      text: 'PRECONDITION_FAILED - cannot switch from confirm to tx mode',
      classId: 90,
      methodId: 10,
    });
    await expectChannelAlive(other);
  });
});

describe('sequence numbers', () => {
  it('start at 1 and count every publish on the channel; each message is confirmed once', async () => {
    const ch = await fx.confirmChannel();
    const confirms = recordConfirms(ch);
    const q = await queue(ch);
    for (let i = 0; i < 10; i++) ch.sendToQueue(q, Buffer.from(`m${i}`));
    await ch.waitForConfirms();
    const got = outcomes(confirms);
    expect([...got.keys()].sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect([...got.values()].every((k) => k === 'ack')).toBe(true);
  });

  it('do not count publishes made before confirm.select', async () => {
    const raw = await m.raw();
    await raw.openChannel(1);
    const q = m.queue('nowhere');
    rawPublish(raw, 1, { routingKey: q }, 'before-1');
    rawPublish(raw, 1, { routingKey: q }, 'before-2');
    raw.sendEncoded((w) => M.encodeConfirmSelect(w, 1, {}));
    await raw.method('confirm.select-ok', 1);
    rawPublish(raw, 1, { routingKey: q }, 'after');
    expect(await raw.method('basic.ack', 1)).toMatchObject({ deliveryTag: 1 });
  });

  it('are per channel: each confirm channel starts at 1', async () => {
    const conn = await fx.connect();
    const a = await conn.createConfirmChannel();
    const b = await conn.createConfirmChannel();
    const ca = recordConfirms(a);
    const cb = recordConfirms(b);
    const q = await queue(a);
    a.sendToQueue(q, Buffer.from('a1'));
    a.sendToQueue(q, Buffer.from('a2'));
    b.sendToQueue(q, Buffer.from('b1'));
    await a.waitForConfirms();
    await b.waitForConfirms();
    expect([...outcomes(ca).keys()]).toEqual([1, 2]);
    expect(cb).toEqual([{ kind: 'ack', deliveryTag: 1, multiple: false }]);
  });

  it('are acknowledged with multiple=true when several are confirmed together, covering each once in order', async () => {
    const ch = await fx.channel();
    const q = await queue(ch);
    const raw = await confirmedRaw();
    const n = 200;
    // One write: the broker reads them in one go, the queue confirms them as it enqueues them, and the
    // channel coalesces the confirms that are waiting when it sends (RabbitMQ's noreply_coalesce).
    const socket = raw.socket as unknown as { cork(): void; uncork(): void };
    socket.cork();
    for (let i = 0; i < n; i++) rawPublish(raw, 1, { routingKey: q }, `m${i}`);
    socket.uncork();
    await raw.waitFor(() => {
      const c = rawConfirms(raw);
      return c.length > 0 && c[c.length - 1]!.deliveryTag === n ? true : undefined;
    });
    const confirms = rawConfirms(raw);
    const tags = confirms.map((c) => c.deliveryTag);
    expect(tags).toEqual([...tags].sort((a, b) => a - b));
    expect(outcomes(confirms).size).toBe(n);
    expect(confirms.some((c) => c.multiple)).toBe(true);
    expect(confirms.length).toBeLessThan(n);
  });
});

describe('basic.ack', () => {
  it('confirms a message routed to several queues exactly once', async () => {
    const ch = await fx.confirmChannel();
    const confirms = recordConfirms(ch);
    const x = m.exchange();
    await ch.assertExchange(x, 'fanout', { durable: false });
    for (let i = 0; i < 3; i++) await ch.bindQueue(await queue(ch), x, '');
    ch.publish(x, '', Buffer.from('everywhere'));
    await ch.waitForConfirms();
    expect(confirms).toEqual([{ kind: 'ack', deliveryTag: 1, multiple: false }]);
  });

  it('confirms an unroutable message that was not mandatory', async () => {
    const ch = await fx.confirmChannel();
    const confirms = recordConfirms(ch);
    const x = m.exchange();
    await ch.assertExchange(x, 'direct', { durable: false });
    await new Promise<void>((resolve, reject) => ch.publish(x, 'nobody', Buffer.from('dropped'), {}, (err) => (err ? reject(err) : resolve())));
    expect(confirms).toEqual([{ kind: 'ack', deliveryTag: 1, multiple: false }]);
  });

  it('for an unroutable mandatory message comes right after its basic.return', async () => {
    const raw = await confirmedRaw();
    const q = m.queue('nowhere');
    rawPublish(raw, 1, { routingKey: q, mandatory: true }, 'back');
    await raw.method('basic.ack', 1);
    const names = methodNames(raw.frames);
    expect(names.slice(names.indexOf('basic.return'))).toEqual(['basic.return', 'basic.ack']);
    expect(raw.frames.find((f) => f.type === 'method' && f.name === 'basic.return')).toMatchObject({
      method: { replyCode: 312, replyText: 'NO_ROUTE', exchange: '', routingKey: q },
    });
  });

  it('amqplib sees the return before the confirm of the same message', async () => {
    const ch = await fx.confirmChannel();
    const events: string[] = [];
    ch.on('return', () => events.push('return'));
    ch.on('ack', () => events.push('ack'));
    const ch0 = await fx.channel();
    const q = await queue(ch0);
    ch.sendToQueue(m.queue('nowhere'), Buffer.from('1'), { mandatory: true });
    ch.sendToQueue(q, Buffer.from('2'), { mandatory: true });
    await ch.waitForConfirms();
    expect(events[0]).toBe('return');
    expect(events.filter((e) => e === 'return')).toHaveLength(1);
  });
});

describe('basic.nack', () => {
  it('is sent for a message a queue refuses (x-overflow reject-publish at x-max-length)', async () => {
    const ch = await fx.confirmChannel();
    const confirms = recordConfirms(ch);
    const q = await queue(ch, { 'x-max-length': 1, 'x-overflow': 'reject-publish' });
    ch.sendToQueue(q, Buffer.from('kept'));
    ch.sendToQueue(q, Buffer.from('refused'));
    await ch.waitForConfirms().catch(() => {});
    await eventually(() => expect(outcomes(confirms).size).toBe(2));
    expect(outcomes(confirms)).toEqual(
      new Map([
        [1, 'ack'],
        [2, 'nack'],
      ]),
    );
    expect(bodies(await drain(ch, q))).toEqual(['kept']);
  });

  it('is reported to amqplib publish callbacks as an error', async () => {
    const ch: ConfirmChannel = await fx.confirmChannel();
    const q = await queue(ch, { 'x-max-length': 0, 'x-overflow': 'reject-publish' });
    const result = await new Promise<unknown>((resolve) => ch.sendToQueue(q, Buffer.from('no room'), {}, (err) => resolve(err)));
    expect(result).toBeInstanceOf(Error);
  });

  it('is sent when any of the queues a message is routed to refuses it', async () => {
    const ch = await fx.confirmChannel();
    const confirms = recordConfirms(ch);
    const x = m.exchange();
    await ch.assertExchange(x, 'fanout', { durable: false });
    const open = await queue(ch);
    const full = await queue(ch, { 'x-max-length': 0, 'x-overflow': 'reject-publish' });
    await ch.bindQueue(open, x, '');
    await ch.bindQueue(full, x, '');
    ch.publish(x, '', Buffer.from('partly'));
    await ch.waitForConfirms().catch(() => {});
    // RabbitMQ sends a lone nack with multiple=true when no lower sequence number is outstanding
    // (rabbit_channel:coalesce_and_send); a lone ack is sent with multiple=false.
    await eventually(() => expect(confirms).toEqual([{ kind: 'nack', deliveryTag: 1, multiple: true }]));
    await sync(ch);
    expect(bodies(await drain(ch, open))).toEqual(['partly']);
  });
});
