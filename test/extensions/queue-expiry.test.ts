/**
 * Queue expiry (RabbitMQ docs page "ttl", section "Queue TTL"; rabbit_amqqueue_process.erl of 3.10.8):
 * a queue declared with x-expires is deleted once it has gone unused for that many milliseconds.
 * Unused means no consumers; the interval starts again on basic.get (even an empty one) and on every
 * queue.declare of the queue, passive or not. Publishing does not count as use. Invalid values are
 * refused with RabbitMQ's texts. Every test passes against RabbitMQ 3.10.8 first.
 */
import type { Channel } from 'amqplib';
import { describe, expect, it } from 'vitest';
import { eventually, sleep, withBroker } from '../helpers/broker.js';
import { expectChannelClosed, openChannel, withModel } from '../helpers/model.js';
import { count, getOne, send } from '../helpers/queues.js';

const fx = withBroker();
const m = withModel(fx);

/**
 * Whether the queue exists, on a throwaway channel (a 404 closes it). Not by passive declare, which
 * would restart the interval: by queue.bind to amq.direct, which RabbitMQ answers with bind-ok for an
 * existing queue and 404 for a missing one without involving the queue process (queue.unbind would
 * not do: 3.10.8 answers unbind-ok for a missing queue).
 */
async function exists(q: string): Promise<boolean> {
  const conn = await fx.connect();
  const ch = await openChannel(conn);
  try {
    await ch.bindQueue(q, 'amq.direct', 'existence-probe');
    return true;
  } catch {
    return false;
  } finally {
    await conn.close().catch(() => {});
  }
}

async function expectDeleted(q: string, timeoutMs = 3000): Promise<void> {
  await eventually(async () => expect(await exists(q)).toBe(false), timeoutMs, 20);
}

/**
 * Keeps `q` in use with `poke` every `everyMs` for `forMs`, checking after each that it is still there
 * (without declaring it: a passive declare would reset the timer by itself).
 */
async function keepAlive(poke: () => Promise<unknown>, forMs: number, everyMs: number): Promise<void> {
  const until = Date.now() + forMs;
  while (Date.now() < until) {
    await poke();
    await sleep(everyMs);
  }
}

async function queue(ch: Channel, expires: number, extra: Record<string, unknown> = {}): Promise<string> {
  const q = m.queue('expires');
  await ch.assertQueue(q, { durable: false, arguments: { 'x-expires': expires, ...extra } });
  return q;
}

describe('x-expires', () => {
  it('a queue nobody uses is deleted after the interval', async () => {
    const ch = await fx.channel();
    const q = await queue(ch, 50);
    await expectDeleted(q);
  });

  it('messages in it do not keep it: it is deleted with them', async () => {
    const ch = await fx.channel();
    const q = await queue(ch, 80);
    await send(ch, q, ['m1', 'm2']);
    await expectDeleted(q);
    // Declared again, it is a new, empty queue.
    expect(await ch.assertQueue(q, { durable: false, arguments: { 'x-expires': 60_000 } })).toEqual({ queue: q, messageCount: 0, consumerCount: 0 });
  });

  it('publishing to it does not count as use', async () => {
    const ch = await fx.channel();
    const q = await queue(ch, 150);
    const started = Date.now();
    // Publishes every 20 ms through the default exchange (a publish to a missing queue is dropped).
    while (Date.now() - started < 1200 && (await exists(q))) {
      ch.sendToQueue(q, Buffer.from('m'));
      await sleep(20);
    }
    await expectDeleted(q, 100);
  });

  it('a consumer keeps it; once the last consumer is cancelled the interval starts', async () => {
    const ch = await fx.channel();
    const q = await queue(ch, 60);
    const { consumerTag } = await ch.consume(q, () => {});
    await sleep(250);
    expect(await exists(q)).toBe(true);
    await ch.cancel(consumerTag);
    await expectDeleted(q);
  });

  it('a consumer whose channel closes no longer keeps it', async () => {
    const ch = await fx.channel();
    const q = await queue(ch, 60);
    const conn = await fx.connect();
    const consumerCh = await conn.createChannel();
    await consumerCh.consume(q, () => {});
    await sleep(200);
    expect(await exists(q)).toBe(true);
    await consumerCh.close();
    await expectDeleted(q);
  });

  it('basic.get resets the interval, also when the queue is empty', async () => {
    const ch = await fx.channel();
    const q = await queue(ch, 400);
    await send(ch, q, ['m1']);
    let gets = 0;
    await keepAlive(
      async () => {
        await ch.get(q, { noAck: true });
        gets++;
      },
      1000,
      60,
    );
    expect(gets).toBeGreaterThan(5);
    expect(await exists(q)).toBe(true);
    await expectDeleted(q);
  });

  it('queue.declare resets the interval', async () => {
    const ch = await fx.channel();
    const q = await queue(ch, 400);
    await keepAlive(() => ch.assertQueue(q, { durable: false, arguments: { 'x-expires': 400 } }), 1000, 60);
    expect(await exists(q)).toBe(true);
    await expectDeleted(q);
  });

  it('a passive queue.declare resets the interval too', async () => {
    const ch = await fx.channel();
    const q = await queue(ch, 400);
    await keepAlive(() => ch.checkQueue(q), 1000, 60);
    await expectDeleted(q);
  });

  it('a redeclare with a different x-expires is refused (inequivalent arg) and the queue keeps its own', async () => {
    const ch = await fx.channel();
    const q = await queue(ch, 100);
    await expectChannelClosed(ch, () => ch.assertQueue(q, { durable: false, arguments: { 'x-expires': 60_000 } }), {
      code: 406,
      text: `PRECONDITION_FAILED - inequivalent arg 'x-expires' for queue '${q}' in vhost '/': received '60000' but current is '100'`,
      classId: 50,
      methodId: 10,
    });
    await expectDeleted(q);
  });

  it('an expiring queue drops its messages without dead-lettering them', async () => {
    const ch = await fx.channel();
    const dlq = m.queue('dlq');
    await ch.assertQueue(dlq, { durable: false });
    const q = await queue(ch, 80, { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dlq });
    await send(ch, q, ['m1']);
    await expectDeleted(q);
    expect(await count(ch, dlq)).toBe(0);
  });

  it('unacknowledged messages do not keep it: with no consumer it expires while a basic.get message is held', async () => {
    const ch = await fx.channel();
    const q = await queue(ch, 100);
    await send(ch, q, ['held']);
    await getOne(ch, q);
    await expectDeleted(q);
  });
});

describe('invalid x-expires', () => {
  const cases: [string, unknown, string][] = [
    ['zero', 0, '{value_zero,0}'],
    ['negative', -1, '{value_negative,-1}'],
    ['a string', '1000', '"expected integer, got longstr"'],
    ['a double', 1.5, '"expected integer, got double"'],
    ['a boolean', true, '"expected integer, got bool"'],
    ['above ten years', 315_360_000_001, '{value_too_large,315360000001}'],
  ];
  for (const [what, value, reason] of cases) {
    it(`${what}: 406 invalid arg ... ${reason}`, async () => {
      const ch = await fx.channel();
      const q = m.queue('bad');
      await expectChannelClosed(ch, () => ch.assertQueue(q, { durable: false, arguments: { 'x-expires': value } }), {
        code: 406,
        text: `PRECONDITION_FAILED - invalid arg 'x-expires' for queue '${q}' in vhost '/': ${reason}`,
        classId: 50,
        methodId: 10,
      });
      expect(await exists(q)).toBe(false);
    });
  }

  it('ten years exactly is accepted', async () => {
    const ch = await fx.channel();
    const q = await queue(ch, 315_360_000_000);
    expect(await exists(q)).toBe(true);
  });
});
