/**
 * Server-side offset tracking for stream consumers (Warren's extension behind the consume argument
 * x-stream-automatic-offset-tracking, LavinMQ's name; store/stream-offsets.ts): a consumer's acks
 * store its offset under its consumer tag, and a consumer with that tag resumes after it. RabbitMQ
 * 3.10.8 ignores the argument (it offers offset tracking over its stream protocol only), so these
 * tests are Warren's own.
 */
import type { Channel, ConsumeMessage } from 'amqplib';
import { describe, expect } from 'vitest';
import type { StreamQueue } from '../../src/queue/stream-queue.js';
import { eventually, uniqueName, warrenOnly as it, withBroker } from '../helpers/broker.js';

const fx = withBroker();
const TRACK = 'x-stream-automatic-offset-tracking';

async function streamOf(n: number): Promise<string> {
  const q = uniqueName('tracked');
  const ch = await fx.confirmChannel();
  await ch.assertQueue(q, { durable: true, arguments: { 'x-queue-type': 'stream' } });
  for (let i = 0; i < n; i++) ch.sendToQueue(q, Buffer.from(`m${i}`));
  await ch.waitForConfirms();
  return q;
}

/** A consumer that acks the first `ack` deliveries one by one and holds the rest; resolves once it has `want`. */
async function consume(ch: Channel, q: string, tag: string, args: Record<string, unknown>, want: number, ack = want) {
  await ch.prefetch(100);
  const got: ConsumeMessage[] = [];
  await ch.consume(q, (m) => {
    if (m === null) return;
    got.push(m);
    if (got.length <= ack) ch.ack(m);
  }, { consumerTag: tag, arguments: args });
  await eventually(() => expect(got.length).toBeGreaterThanOrEqual(want));
  return got.map((m) => m.properties.headers!['x-stream-offset'] as number);
}

const stream = (q: string) => fx.broker.broker.vhosts.get('/')!.queues.get(q) as StreamQueue;

describe('x-stream-automatic-offset-tracking', () => {
  it('stores the last acknowledged offset under the consumer tag, and resumes after it', async () => {
    const q = await streamOf(10);
    const a = await fx.channel();
    expect((await consume(a, q, 'billing', { [TRACK]: true, 'x-stream-offset': 'first' }, 10, 4)).slice(0, 4)).toEqual([0, 1, 2, 3]);
    await eventually(() => expect(stream(q).trackedOffset('billing')).toBe(3));
    await a.close();
    // Same tag on a new channel: from 4, whatever x-stream-offset says (it applies to a tag with nothing stored).
    const b = await fx.channel();
    expect(await consume(b, q, 'billing', { [TRACK]: true, 'x-stream-offset': 'first' }, 6)).toEqual([4, 5, 6, 7, 8, 9]);
    await eventually(() => expect(stream(q).trackedOffset('billing')).toBe(9));
  });

  it('keeps each tag apart, and leaves consumers without the argument untracked', async () => {
    const q = await streamOf(5);
    const ch = await fx.channel();
    await consume(ch, q, 'one', { [TRACK]: true, 'x-stream-offset': 'first' }, 5, 2);
    await consume(ch, q, 'two', { [TRACK]: true, 'x-stream-offset': 3 }, 2);
    await consume(ch, q, 'plain', { 'x-stream-offset': 'first' }, 5);
    await eventually(() => expect([stream(q).trackedOffset('one'), stream(q).trackedOffset('two')]).toEqual([1, 4]));
    expect(stream(q).trackedOffset('plain')).toBeUndefined();
  });

  it('counts acks made after the consumer was cancelled', async () => {
    const q = await streamOf(3);
    const ch = await fx.channel();
    await ch.prefetch(10);
    const held: ConsumeMessage[] = [];
    await ch.consume(q, (m) => m && held.push(m), { consumerTag: 'late', arguments: { [TRACK]: true, 'x-stream-offset': 'first' } });
    await eventually(() => expect(held.length).toBe(3));
    await ch.cancel('late');
    ch.ack(held[2]!, true);
    await eventually(() => expect(stream(q).trackedOffset('late')).toBe(2));
  });

  it('tracks nothing for a value other than true or a consumer without its own tag (RabbitMQ ignores the argument)', async () => {
    const q = await streamOf(2);
    const ch = await fx.channel();
    await consume(ch, q, 'yes-string', { [TRACK]: 'yes', 'x-stream-offset': 'first' }, 2);
    await consume(ch, q, 'off', { [TRACK]: false, 'x-stream-offset': 'first' }, 2);
    await ch.prefetch(10);
    const got: ConsumeMessage[] = [];
    const { consumerTag } = await ch.consume(q, (m) => {
      if (m === null) return;
      got.push(m);
      ch.ack(m);
    }, { arguments: { [TRACK]: true, 'x-stream-offset': 'first' } });
    await eventually(() => expect(got.length).toBe(2));
    await ch.cancel(consumerTag);
    for (const tag of ['yes-string', 'off', consumerTag]) expect(stream(q).trackedOffset(tag)).toBeUndefined();
    const tracking = await fx.channel();
    await consume(tracking, q, 'on', { [TRACK]: true, 'x-stream-offset': 'first' }, 2);
    await eventually(() => expect(stream(q).trackedOffset('on')).toBe(1));
  });
});
