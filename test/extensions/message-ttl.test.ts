/**
 * Message TTL (RabbitMQ docs page "ttl"; rabbit_amqqueue_process.erl of 3.10.8): x-message-ttl on the
 * queue and the expiration property on the message, the lower of the two winning; expired messages are
 * never delivered (consumers and basic.get alike) and are removed when they reach the head of the
 * queue; TTL 0 means "deliver now or never"; a requeued message keeps its original expiry. Every test
 * but the restart ones passes against RabbitMQ 3.10.8 first; the restart ones run Warren on a data
 * directory.
 */
import amqp, { type Channel, type ChannelModel } from 'amqplib';
import { afterEach, describe, expect, it } from 'vitest';
import { startBroker, type RunningBroker } from '../../src/index.js';
import { useTempDirs } from '../helpers/disk-brokers.js';
import { eventually, sleep, warrenOnly, withBroker } from '../helpers/broker.js';
import { collect, expectChannelAlive, expectChannelClosed, roundTrip, withModel } from '../helpers/model.js';
import { count, expectCount, getOne, publishConfirmed, send, text } from '../helpers/queues.js';

const fx = withBroker();
const m = withModel(fx);

async function queue(ch: Channel, args: Record<string, unknown> = {}): Promise<string> {
  const q = m.queue('ttl');
  await ch.assertQueue(q, { durable: false, arguments: args });
  return q;
}

describe('x-message-ttl', () => {
  it('a message older than the queue TTL is removed and never delivered', async () => {
    const ch = await fx.channel();
    const q = await queue(ch, { 'x-message-ttl': 20 });
    await send(ch, q, ['m1', 'm2']);
    await expectCount(ch, q, 0);
    expect(await ch.get(q, { noAck: true })).toBe(false);
    const late = await collect(ch, q, { noAck: true });
    await roundTrip(ch, q);
    expect(late.messages).toEqual([]);
  });

  it('a message within the queue TTL is delivered, without an expiration property', async () => {
    const ch = await fx.channel();
    const q = await queue(ch, { 'x-message-ttl': 60_000 });
    await send(ch, q, ['m1']);
    expect(await count(ch, q)).toBe(1);
    const msg = await getOne(ch, q, true);
    expect(msg.content.toString()).toBe('m1');
    expect(msg.properties.expiration).toBeUndefined();
  });

  it('x-message-ttl 0: a message no consumer can take at once is dropped on arrival', async () => {
    const ch = await fx.channel();
    const q = await queue(ch, { 'x-message-ttl': 0 });
    await send(ch, q, ['m1', 'm2']);
    expect(await count(ch, q)).toBe(0);
    expect(await ch.get(q, { noAck: true })).toBe(false);
  });

  it('x-message-ttl 0: a consumer that can take the message at once gets it', async () => {
    const ch = await fx.channel();
    const q = await queue(ch, { 'x-message-ttl': 0 });
    const c = await collect(ch, q, { noAck: true });
    await send(ch, q, ['now']);
    expect(text(await c.atLeast(1))).toEqual(['now']);
  });

  it('x-message-ttl 0: a consumer at its prefetch limit cannot take it, so it is dropped', async () => {
    const ch = await fx.channel();
    const q = await queue(ch, { 'x-message-ttl': 0 });
    await ch.prefetch(1);
    const c = await collect(ch, q);
    await send(ch, q, ['taken', 'dropped']);
    const [first] = await c.atLeast(1);
    expect(await count(ch, q)).toBe(0);
    ch.ack(first!);
    await roundTrip(ch, q);
    expect(text(c.messages)).toEqual(['taken']);
  });

  it('an unacknowledged message does not expire while held; it can be acknowledged past its TTL', async () => {
    const ch = await fx.channel();
    const q = await queue(ch, { 'x-message-ttl': 200 });
    await send(ch, q, ['held']);
    const msg = await getOne(ch, q);
    await sleep(300);
    ch.ack(msg);
    await expectChannelAlive(ch);
    expect(await count(ch, q)).toBe(0);
  });

  it('a requeued message keeps its original expiry: past it, it is dropped on requeue, not redelivered', async () => {
    const ch = await fx.channel();
    const q = await queue(ch, { 'x-message-ttl': 200 });
    await send(ch, q, ['old']);
    const msg = await getOne(ch, q);
    await sleep(300);
    ch.nack(msg, false, true);
    await expectCount(ch, q, 0);
    expect(await ch.get(q, { noAck: true })).toBe(false);
  });

  it('a requeued message within its TTL comes back (redelivered) and expires later', async () => {
    const ch = await fx.channel();
    const q = await queue(ch, { 'x-message-ttl': 1000 });
    await send(ch, q, ['m']);
    ch.nack(await getOne(ch, q), false, true);
    const again = await getOne(ch, q);
    expect(again.fields.redelivered).toBe(true);
    ch.nack(again, false, true);
    await expectCount(ch, q, 1);
    await expectCount(ch, q, 0);
  });

  it('a publish that expires on arrival is still confirmed (ack)', async () => {
    const ch = await fx.channel();
    const q = await queue(ch, { 'x-message-ttl': 0 });
    const cch = await fx.confirmChannel();
    expect(await publishConfirmed(cch, '', q, 'gone')).toBe('ack');
    expect(await count(ch, q)).toBe(0);
  });
});

describe('the expiration property', () => {
  it('a message expires after its expiration (milliseconds, as a decimal string)', async () => {
    const ch = await fx.channel();
    const q = await queue(ch);
    await send(ch, q, ['short'], { expiration: '20' });
    await send(ch, q, ['forever']);
    await expectCount(ch, q, 1);
    expect(text([await getOne(ch, q, true)])).toEqual(['forever']);
  });

  it('is delivered with the message as published', async () => {
    const ch = await fx.channel();
    const q = await queue(ch);
    await send(ch, q, ['m'], { expiration: '60000' });
    expect((await getOne(ch, q, true)).properties.expiration).toBe('60000');
  });

  it('a leading plus sign is accepted ("+20")', async () => {
    const ch = await fx.channel();
    const q = await queue(ch);
    await send(ch, q, ['m'], { expiration: '+20' });
    await expectCount(ch, q, 0);
    await expectChannelAlive(ch);
  });

  it('"0": dropped unless a consumer can take the message at once', async () => {
    const ch = await fx.channel();
    const q = await queue(ch);
    await send(ch, q, ['nobody'], { expiration: '0' });
    expect(await count(ch, q)).toBe(0);
    expect(await ch.get(q, { noAck: true })).toBe(false);
    const c = await collect(ch, q, { noAck: true });
    await send(ch, q, ['somebody'], { expiration: '0' });
    const [got] = await c.atLeast(1);
    expect(got!.content.toString()).toBe('somebody');
    expect(got!.properties.expiration).toBe('0');
  });

  it('the lower of x-message-ttl and expiration wins (queue TTL lower)', async () => {
    const ch = await fx.channel();
    const q = await queue(ch, { 'x-message-ttl': 20 });
    await send(ch, q, ['m'], { expiration: '60000' });
    await expectCount(ch, q, 0);
  });

  it('the lower of x-message-ttl and expiration wins (expiration lower)', async () => {
    const ch = await fx.channel();
    const q = await queue(ch, { 'x-message-ttl': 60_000 });
    await send(ch, q, ['short'], { expiration: '20' });
    await send(ch, q, ['long']);
    await expectCount(ch, q, 1);
    expect(text([await getOne(ch, q, true)])).toEqual(['long']);
  });

  const invalid: [string, string][] = [
    ['soon', 'no_integer'],
    ['', 'no_integer'],
    [' 5', 'no_integer'],
    ['-5', '{value_negative,-5}'],
    ['10ms', '{leftover_string,"ms"}'],
    ['1.5', '{leftover_string,".5"}'],
    ['315360000001', '{value_too_large,315360000001}'],
  ];
  for (const [expiration, reason] of invalid) {
    it(`an invalid expiration ${JSON.stringify(expiration)} closes the channel: 406 ${reason}`, async () => {
      const conn = await fx.connect();
      const ch = await conn.createChannel();
      ch.on('error', () => {});
      const q = await queue(ch);
      await expectChannelClosed(ch, () => ch.sendToQueue(q, Buffer.from('m'), { expiration }), {
        code: 406,
        text: `PRECONDITION_FAILED - invalid expiration '${expiration}': ${reason}`,
        classId: 60,
        methodId: 40,
      });
      const other = await conn.createChannel();
      expect(await count(other, q)).toBe(0);
    });
  }

  it('the largest valid expiration (ten years) is accepted', async () => {
    const ch = await fx.channel();
    const q = await queue(ch);
    await send(ch, q, ['m'], { expiration: '315360000000' });
    expect(await count(ch, q)).toBe(1);
  });
});

describe('removal at the head', () => {
  it('an expired message behind a live one stays counted, but is never delivered', async () => {
    const ch = await fx.channel();
    const q = await queue(ch);
    await send(ch, q, ['live'], { expiration: '60000' });
    await send(ch, q, ['dies'], { expiration: '10' });
    await send(ch, q, ['after']);
    await sleep(60);
    expect(await count(ch, q)).toBe(3);
    expect(text([await getOne(ch, q, true), await getOne(ch, q, true)])).toEqual(['live', 'after']);
    expect(await ch.get(q, { noAck: true })).toBe(false);
  });

  it('taking the head removes the expired messages behind it at once (message count)', async () => {
    const ch = await fx.channel();
    const q = await queue(ch);
    await send(ch, q, ['live']);
    await send(ch, q, ['dies1', 'dies2'], { expiration: '10' });
    await send(ch, q, ['after']);
    await sleep(60);
    expect(await count(ch, q)).toBe(4);
    expect(text([await getOne(ch, q, true)])).toEqual(['live']);
    // RabbitMQ's fetch drops the expired messages that became the head before it answers.
    expect(await count(ch, q)).toBe(1);
  });

  it('the expiry of a message that becomes the head through basic.get is timed from then on', async () => {
    const ch = await fx.channel();
    const q = await queue(ch);
    await send(ch, q, ['first']);
    await send(ch, q, ['second'], { expiration: '300' });
    expect(text([await getOne(ch, q, true)])).toEqual(['first']);
    expect(await count(ch, q)).toBe(1);
    // Nothing touches the queue any more: its TTL timer alone removes 'second'.
    await expectCount(ch, q, 0);
  });

  it('a message that becomes the head while the consumer is at its prefetch limit still expires on time', async () => {
    const ch = await fx.channel();
    const q = await queue(ch);
    await send(ch, q, ['first']);
    await send(ch, q, ['second'], { expiration: '300' });
    const consumerCh = await fx.channel();
    await consumerCh.prefetch(1);
    const c = await collect(consumerCh, q);
    await c.atLeast(1);
    await expectCount(ch, q, 0);
    consumerCh.ack(c.messages[0]!);
    await roundTrip(consumerCh, q);
    expect(text(c.messages)).toEqual(['first']);
  });

  it('queue TTL: messages expire in publish order, each on time, while others wait behind them', async () => {
    const ch = await fx.channel();
    const q = await queue(ch, { 'x-message-ttl': 800 });
    await send(ch, q, ['early']);
    await sleep(400);
    await send(ch, q, ['late']);
    await expectCount(ch, q, 1);
    expect(text([await getOne(ch, q, true)])).toEqual(['late']);
  });
});

// ------------------------------------------------------------------------------------------------
// Restarts (Warren only): expiry counts from the original publish, not from the restart.

describe('TTL across a broker restart', () => {
  const tempDir = useTempDirs();
  const running: RunningBroker[] = [];
  const connections: ChannelModel[] = [];
  afterEach(async () => {
    await Promise.all(connections.splice(0).map((c) => c.close().catch(() => {})));
    await Promise.all(running.splice(0).map((b) => b.close().catch(() => {})));
  });
  async function start(dataDir: string): Promise<RunningBroker> {
    const b = await startBroker({ port: 0, dataDir, durability: 'fsync', logLevel: 'silent', rabbitmqVersion: '3.10' });
    running.push(b);
    return b;
  }
  async function open(b: RunningBroker) {
    const c = await amqp.connect(b.url);
    c.on('error', () => {});
    connections.push(c);
    const ch = await c.createConfirmChannel();
    ch.on('error', () => {});
    return ch;
  }
  async function stop(b: RunningBroker): Promise<void> {
    await Promise.all(connections.splice(0).map((c) => c.close().catch(() => {})));
    running.splice(running.indexOf(b), 1);
    await b.close();
  }

  warrenOnly('messages whose TTL ran out while the broker was down are gone after the restart', async () => {
    const dir = tempDir();
    const b = await start(dir);
    const ch = await open(b);
    await ch.assertQueue('ttl-queue', { durable: true, arguments: { 'x-message-ttl': 200 } });
    await ch.assertQueue('ttl-message', { durable: true });
    for (const body of ['a', 'b']) ch.sendToQueue('ttl-queue', Buffer.from(body), { persistent: true });
    ch.sendToQueue('ttl-message', Buffer.from('dies'), { persistent: true, expiration: '200' });
    ch.sendToQueue('ttl-message', Buffer.from('keep'), { persistent: true });
    await ch.waitForConfirms();
    await stop(b);
    await sleep(400);
    const b2 = await start(dir);
    const ch2 = await open(b2);
    expect(await count(ch2, 'ttl-queue')).toBe(0);
    expect(await count(ch2, 'ttl-message')).toBe(1);
    expect(text([await getOne(ch2, 'ttl-message', true)])).toEqual(['keep']);
  });

  warrenOnly('a message keeps only the rest of its TTL after a restart (counted from its original publish)', async () => {
    const TTL = 2400;
    const DOWN = 1200;
    const dir = tempDir();
    const b = await start(dir);
    const ch = await open(b);
    await ch.assertQueue('ttl-queue', { durable: true, arguments: { 'x-message-ttl': TTL } });
    await ch.assertQueue('ttl-message', { durable: true });
    ch.sendToQueue('ttl-queue', Buffer.from('q'), { persistent: true });
    ch.sendToQueue('ttl-message', Buffer.from('m'), { persistent: true, expiration: String(TTL) });
    await ch.waitForConfirms();
    await stop(b);
    await sleep(DOWN);
    const b2 = await start(dir);
    const restarted = Date.now();
    const ch2 = await open(b2);
    expect([await count(ch2, 'ttl-queue'), await count(ch2, 'ttl-message')]).toEqual([1, 1]);
    await eventually(async () => expect([await count(ch2, 'ttl-queue'), await count(ch2, 'ttl-message')]).toEqual([0, 0]), 2 * TTL, 20);
    // Counted from the publish they expire about TTL - DOWN after the restart; counted from the
    // restart they would take the whole TTL. Half way between tells the two apart.
    expect(Date.now() - restarted).toBeLessThan(TTL - DOWN / 2);
  });
});
