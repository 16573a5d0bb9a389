/**
 * Streams over AMQP 0-9-1 (RabbitMQ docs page "streams", rabbit_stream_queue of 3.10.8): declaration
 * rules and refused arguments, consumers' checks (manual acks and a prefetch), x-stream-offset of each
 * kind, the x-stream-offset header, acknowledgements that only give credit back, what streams refuse
 * (basic.get, nack/reject, purge, recover), many consumers at their own offsets. Every text was
 * recorded against RabbitMQ 3.10.8; the tests that look at exact credit are Warren's (RabbitMQ hands a
 * consumer whole chunks, so its deliveries beyond the prefetch depend on how publishes were batched).
 */
import type { Channel, ConfirmChannel, ConsumeMessage } from 'amqplib';
import { describe, expect, it } from 'vitest';
import { warrenOnly, withBroker } from '../helpers/broker.js';
import { bodies, collect, expectChannelAlive, expectChannelClosed, expectConnectionClosed, openChannel, roundTrip, withModel } from '../helpers/model.js';

const fx = withBroker();
const m = withModel(fx);

const STREAM = { 'x-queue-type': 'stream' };
const precondition = (text: string) => ({ code: 406, text: `PRECONDITION_FAILED - ${text}`, classId: 50, methodId: 10 });
const consumeFailed = (text: string) => ({ code: 406, text: `PRECONDITION_FAILED - ${text}`, classId: 60, methodId: 20 });

async function stream(ch: Channel, args: Record<string, unknown> = {}): Promise<string> {
  const q = m.queue('stream');
  await ch.assertQueue(q, { durable: true, arguments: { ...STREAM, ...args } });
  return q;
}

/** Publishes one message at a time, each confirmed before the next: each is a chunk of its own. */
async function publishEach(ch: ConfirmChannel, q: string, msgs: readonly string[]): Promise<void> {
  for (const b of msgs) {
    ch.sendToQueue(q, Buffer.from(b));
    await ch.waitForConfirms();
  }
}

/** A consumer with prefetch 100 that acks what it gets, starting at `offset` (omitted: no argument). */
async function reader(ch: Channel, q: string, offset?: unknown) {
  await ch.prefetch(100);
  const got: ConsumeMessage[] = [];
  const args = offset === undefined ? {} : { 'x-stream-offset': offset };
  await ch.consume(q, (msg) => {
    if (msg === null) return;
    got.push(msg);
    ch.ack(msg);
  }, { arguments: args });
  return got;
}

async function until(got: readonly unknown[], n: number): Promise<void> {
  const deadline = Date.now() + 5000;
  while (got.length < n) {
    if (Date.now() > deadline) throw new Error(`only ${got.length} of ${n} deliveries arrived`);
    await new Promise((r) => setImmediate(r));
  }
}

describe('declaring a stream', () => {
  it('is accepted durable with its arguments; the declare-ok counts nothing yet', async () => {
    const ch = await fx.channel();
    const q = m.queue('stream');
    const ok = await ch.assertQueue(q, {
      durable: true,
      arguments: { ...STREAM, 'x-max-length-bytes': 1_000_000, 'x-max-age': '7D', 'x-stream-max-segment-size-bytes': 100_000, 'x-initial-cluster-size': 1 },
    });
    expect(ok).toEqual({ queue: q, messageCount: 0, consumerCount: 0 });
  });

  it.each([
    ['non-durable', { durable: false }],
    ['exclusive-owner', { durable: true, exclusive: true }],
    ['auto-delete', { durable: true, autoDelete: true }],
    ['auto-delete', { durable: true, exclusive: true, autoDelete: true }],
    ['exclusive-owner', { durable: false, exclusive: true }],
  ])("refuses the property '%s' (%o)", async (property, flags) => {
    const ch = await fx.channel();
    const q = m.queue('stream');
    await expectChannelClosed(ch, () => ch.assertQueue(q, { ...flags, arguments: STREAM }), precondition(`invalid property '${property}' for queue '${q}' in vhost '/'`));
  });

  it.each([
    ['x-max-length', 10],
    ['x-message-ttl', 1000],
    ['x-expires', 1000],
    ['x-dead-letter-exchange', 'dlx'],
    ['x-dead-letter-routing-key', 'k'],
    ['x-max-priority', 5],
    ['x-overflow', 'reject-publish'],
    ['x-single-active-consumer', true],
    ['x-queue-mode', 'lazy'],
    ['x-delivery-limit', 3],
    ['x-quorum-initial-group-size', 3],
  ])('refuses %s as an argument of another queue type', async (key, value) => {
    const ch = await fx.channel();
    const q = m.queue('stream');
    await expectChannelClosed(
      ch,
      () => ch.assertQueue(q, { durable: true, arguments: { ...STREAM, [key]: value } }),
      precondition(`invalid arg '${key}' for queue '${q}' in vhost '/' of queue type rabbit_stream_queue`),
    );
  });

  it.each([
    ['x-max-age', '1d', 'invalid_max_age'],
    ['x-max-age', '10', 'invalid_max_age'],
    ['x-max-age', '0s', 'invalid_max_age'],
    ['x-max-age', '1.5h', 'invalid_max_age'],
    ['x-max-age', 5, '{unacceptable_type,byte}'],
    ['x-max-length-bytes', -1, '{value_negative,-1}'],
    ['x-stream-max-segment-size-bytes', 'a', '"expected integer, got longstr"'],
    ['x-initial-cluster-size', 0, '{value_zero,0}'],
  ])('refuses %s %o: %s', async (key, value, reason) => {
    const ch = await fx.channel();
    const q = m.queue('stream');
    await expectChannelClosed(ch, () => ch.assertQueue(q, { durable: true, arguments: { ...STREAM, [key]: value } }), precondition(`invalid arg '${key}' for queue '${q}' in vhost '/': ${reason}`));
  });

  it.each(['2Y', '3M', '1D', '4h', '5m', '10s', '01h'])('accepts x-max-age %s', async (age) => {
    const ch = await fx.channel();
    const q = await stream(ch, { 'x-max-age': age });
    expect((await ch.checkQueue(q)).queue).toBe(q);
  });

  it('an x-max-age without digits closes the connection with a bare 541, as 3.10.8 crashes on it', async () => {
    const conn = await fx.connect();
    const ch = await openChannel(conn);
    await expectConnectionClosed(conn, () => ch.assertQueue(m.queue('stream'), { durable: true, arguments: { ...STREAM, 'x-max-age': 'x' } }), { code: 541, text: 'INTERNAL_ERROR' });
  });

  it('a redeclaration with another x-max-age is inequivalent; the same one is fine', async () => {
    const ch = await fx.channel();
    const q = await stream(ch, { 'x-max-age': '1h' });
    await ch.assertQueue(q, { durable: true, arguments: { ...STREAM, 'x-max-age': '1h' } });
    await expectChannelClosed(
      ch,
      () => ch.assertQueue(q, { durable: true, arguments: { ...STREAM, 'x-max-age': '2h' } }),
      precondition(`inequivalent arg 'x-max-age' for queue '${q}' in vhost '/': received '2h' but current is '1h'`),
    );
  });
});

describe('consuming from a stream', () => {
  it('needs manual acknowledgement and a prefetch count', async () => {
    const setup = await fx.channel();
    const q = await stream(setup);
    const where = `queue '${q}' in vhost '/'`;
    const a = await fx.channel();
    await expectChannelClosed(a, () => a.consume(q, () => {}, { noAck: true }), consumeFailed(`consumer prefetch count is not set for '${where}'`));
    const b = await fx.channel();
    await expectChannelClosed(b, () => b.consume(q, () => {}, { noAck: false }), consumeFailed(`consumer prefetch count is not set for '${where}'`));
  });

  it('refuses x-priority, after checking x-stream-offset', async () => {
    const setup = await fx.channel();
    const q = await stream(setup);
    const a = await fx.channel();
    await a.prefetch(1);
    await expectChannelClosed(a, () => a.consume(q, () => {}, { arguments: { 'x-priority': 1 } }), consumeFailed(`invalid arg 'x-priority' for queue '${q}' in vhost '/' of queue type rabbit_stream_queue`));
    const b = await fx.channel();
    await expectChannelClosed(
      b,
      () => b.consume(q, () => {}, { noAck: true, arguments: { 'x-priority': 1, 'x-stream-offset': '5' } }),
      consumeFailed(`invalid arg 'x-stream-offset' for queue '${q}' in vhost '/': {invalid_stream_offset_arg,{longstr,<<"5">>}}`),
    );
  });

  it.each(['5', '0s', '1.5h', '1hh'])('refuses the offset string %s with invalid_stream_offset_arg', async (offset) => {
    const setup = await fx.channel();
    const q = await stream(setup);
    const ch = await fx.channel();
    await ch.prefetch(10);
    await expectChannelClosed(
      ch,
      () => ch.consume(q, () => {}, { arguments: { 'x-stream-offset': offset } }),
      consumeFailed(`invalid arg 'x-stream-offset' for queue '${q}' in vhost '/': {invalid_stream_offset_arg,{longstr,<<"${offset}">>}}`),
    );
  });

  it.each([['foo'], ['First'], [true], [2.5]])('an offset of %o crashes 3.10.8: the connection closes with a bare 541, the stream is unchanged', async (offset) => {
    const pub = await fx.confirmChannel();
    const q = await stream(pub);
    await publishEach(pub, q, ['a']);
    const conn = await fx.connect();
    const ch = await openChannel(conn);
    await ch.prefetch(10);
    await expectConnectionClosed(conn, () => ch.consume(q, () => {}, { arguments: { 'x-stream-offset': offset } }), { code: 541, text: 'INTERNAL_ERROR' });
    const got = await reader(await fx.channel(), q, 'first');
    await until(got, 1);
    expect(bodies(got)).toEqual(['a']);
  });
});

describe('x-stream-offset', () => {
  async function filled(): Promise<{ pub: ConfirmChannel; q: string }> {
    const pub = await fx.confirmChannel();
    const q = await stream(pub);
    await publishEach(pub, q, ['m0', 'm1', 'm2', 'm3']);
    return { pub, q };
  }

  it.each([
    ['first', 'first', ['m0', 'm1', 'm2', 'm3']],
    ['last (the last chunk)', 'last', ['m3']],
    ['an absolute offset', 2, ['m2', 'm3']],
    ['a negative offset (the first)', -5, ['m0', 'm1', 'm2', 'm3']],
    ['an interval back from now', '1h', ['m0', 'm1', 'm2', 'm3']],
    ['a timestamp in the past', { '!': 'timestamp', value: Math.floor(Date.now() / 1000) - 3600 }, ['m0', 'm1', 'm2', 'm3']],
  ])('%s', async (_what, offset, expected) => {
    const { q } = await filled();
    const got = await reader(await fx.channel(), q, offset);
    await until(got, expected.length);
    expect(bodies(got)).toEqual(expected);
  });

  it.each([
    ['next', 'next'],
    ['no argument (next)', undefined],
    ['a timestamp in the future', { '!': 'timestamp', value: Math.floor(Date.now() / 1000) + 3600 }],
  ])('%s: only what is published afterwards', async (_what, offset) => {
    const { pub, q } = await filled();
    const got = await reader(await fx.channel(), q, offset);
    await publishEach(pub, q, ['new']);
    await until(got, 1);
    expect(bodies(got)).toEqual(['new']);
    expect(got[0]!.properties.headers).toEqual({ 'x-stream-offset': 4 });
  });

  it('an offset beyond the end waits until the stream reaches it', async () => {
    const { pub, q } = await filled();
    const got = await reader(await fx.channel(), q, 5);
    await publishEach(pub, q, ['m4', 'm5']);
    await until(got, 1);
    expect(bodies(got)).toEqual(['m5']);
  });

  it('each delivery carries its offset in the x-stream-offset header, next to the publisher\'s headers', async () => {
    const pub = await fx.confirmChannel();
    const q = await stream(pub);
    pub.sendToQueue(q, Buffer.from('a'), { headers: { zz: 1, aa: 'x' } });
    pub.sendToQueue(q, Buffer.from('b'));
    await pub.waitForConfirms();
    const got = await reader(await fx.channel(), q, 'first');
    await until(got, 2);
    expect(got.map((g) => g.properties.headers)).toEqual([{ aa: 'x', 'x-stream-offset': 0, zz: 1 }, { 'x-stream-offset': 1 }]);
    expect(got.map((g) => g.fields.redelivered)).toEqual([false, false]);
  });
});

describe('acknowledgements and what streams refuse', () => {
  warrenOnly('an ack gives credit back and removes nothing: a second consumer reads everything again', async () => {
    const pub = await fx.confirmChannel();
    const q = await stream(pub);
    await publishEach(pub, q, ['a', 'b', 'c']);
    const ch = await fx.channel();
    await ch.prefetch(2);
    const c = await collect(ch, q, { arguments: { 'x-stream-offset': 'first' } });
    await c.atLeast(2);
    await roundTrip(ch, q);
    expect(bodies(c.messages)).toEqual(['a', 'b']);
    ch.ack(c.messages[0]!);
    await c.atLeast(3);
    expect(bodies(c.messages)).toEqual(['a', 'b', 'c']);
    const again = await reader(await fx.channel(), q, 'first');
    await until(again, 3);
    expect(bodies(again)).toEqual(['a', 'b', 'c']);
    expect((await pub.checkQueue(q)).messageCount).toBe(3);
  });

  it.each([
    ['basic.get', (ch: Channel, q: string) => ch.get(q), (q: string) => `NOT_IMPLEMENTED - basic.get not supported by stream queues queue '${q}' in vhost '/'`, 540],
    ['queue.purge', (ch: Channel, q: string) => ch.purgeQueue(q), (q: string) => `NOT_IMPLEMENTED - queue.purge not supported by stream queues queue '${q}' in vhost '/'`, 540],
  ])('%s closes the connection', async (_what, op, text, code) => {
    const setup = await fx.channel();
    const q = await stream(setup);
    const conn = await fx.connect();
    const ch = await openChannel(conn);
    await expectConnectionClosed(conn, () => op(ch, q), { code, text: text(q) });
  });

  it.each([
    ['nack with requeue', (ch: Channel, msg: ConsumeMessage) => ch.nack(msg, false, true)],
    ['nack without requeue', (ch: Channel, msg: ConsumeMessage) => ch.nack(msg, false, false)],
    ['reject', (ch: Channel, msg: ConsumeMessage) => ch.reject(msg, false)],
  ])('%s closes the connection with 540', async (_what, settle) => {
    const pub = await fx.confirmChannel();
    const q = await stream(pub);
    await publishEach(pub, q, ['a']);
    const conn = await fx.connect();
    const ch = await openChannel(conn);
    await ch.prefetch(10);
    const c = await collect(ch, q, { arguments: { 'x-stream-offset': 'first' } });
    const [msg] = await c.atLeast(1);
    await expectConnectionClosed(conn, () => settle(ch, msg!), {
      code: 540,
      text: `NOT_IMPLEMENTED - basic.nack and basic.reject not supported by stream queues queue '${q}' in vhost '/'`,
    });
  });

  it('basic.recover with stream deliveries unacknowledged closes the connection with a bare 541', async () => {
    const pub = await fx.confirmChannel();
    const q = await stream(pub);
    await publishEach(pub, q, ['a']);
    const conn = await fx.connect();
    const ch = await openChannel(conn);
    await ch.prefetch(10);
    const c = await collect(ch, q, { arguments: { 'x-stream-offset': 'first' } });
    await c.atLeast(1);
    await expectConnectionClosed(conn, () => ch.recover(), { code: 541, text: 'INTERNAL_ERROR' });
  });
});

describe('many consumers', () => {
  it('each reads at its own offset, on one channel or several', async () => {
    const pub = await fx.confirmChannel();
    const q = await stream(pub);
    await publishEach(pub, q, ['m0', 'm1', 'm2']);
    const ch = await fx.channel();
    const a = await reader(ch, q, 'first');
    const b = await reader(ch, q, 1);
    const c = await reader(await fx.channel(), q, 'last');
    await until(a, 3);
    await until(b, 2);
    await until(c, 1);
    expect([bodies(a), bodies(b), bodies(c)]).toEqual([['m0', 'm1', 'm2'], ['m1', 'm2'], ['m2']]);
  });

  warrenOnly('a consumer that never acks holds back neither the publisher nor a faster consumer', async () => {
    const pub = await fx.confirmChannel();
    const q = await stream(pub);
    const slowCh = await fx.channel();
    await slowCh.prefetch(1);
    const slow = await collect(slowCh, q, { arguments: { 'x-stream-offset': 'first' } });
    const fast = await reader(await fx.channel(), q, 'first');
    const msgs = Array.from({ length: 200 }, (_, i) => `m${i}`);
    for (const b of msgs) pub.sendToQueue(q, Buffer.from(b));
    await pub.waitForConfirms();
    await until(fast, 200);
    await roundTrip(slowCh, q);
    expect(bodies(fast)).toEqual(msgs);
    expect(bodies(slow.messages)).toEqual(['m0']);
    await expectChannelAlive(slowCh);
  });

  it('a publish through a fanout exchange reaches the stream and a classic queue alike', async () => {
    const pub = await fx.confirmChannel();
    const q = await stream(pub);
    const classic = m.queue('classic');
    await pub.assertQueue(classic, { exclusive: true });
    const x = m.exchange('fan');
    await pub.assertExchange(x, 'fanout', { autoDelete: true });
    await pub.bindQueue(q, x, '');
    await pub.bindQueue(classic, x, '');
    pub.publish(x, 'rk', Buffer.from('both'));
    await pub.waitForConfirms();
    const got = await reader(await fx.channel(), q, 'first');
    await until(got, 1);
    expect(got[0]!.fields.exchange).toBe(x);
    expect(got[0]!.fields.routingKey).toBe('rk');
    expect((await pub.checkQueue(classic)).messageCount).toBe(1);
  });
});
