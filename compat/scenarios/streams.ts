// Streams over AMQP 0-9-1 (x-queue-type stream): declaration rules and refused arguments, consumer
// checks, x-stream-offset of each kind, many consumers at their own offsets, what streams refuse, and
// retention by size. Messages are published one at a time, each confirmed before the next, so each is
// a chunk of its own on RabbitMQ too ("last" is then the last message). Counts in queue.declare-ok are
// left out after publishing: RabbitMQ's come from its stats, updated every few seconds.
import { scenarios, type Ctx, type RChannel } from '../harness/scenario.js';

const STREAM = { 'x-queue-type': 'stream' };

async function streamWith(t: Ctx, ch: RChannel, bodies: readonly string[], args: Record<string, unknown> = {}): Promise<string> {
  const q = t.n('s');
  await ch.assertQueue(q, { durable: true, arguments: { ...STREAM, ...args } });
  for (const b of bodies) {
    ch.sendToQueue(q, b);
    await ch.waitConfirms();
  }
  return q;
}

/** A consumer with prefetch 10 from `offset`; takes `n` deliveries, acking each, then checks nothing more came. */
async function readFrom(t: Ctx, q: string, offset: unknown, n: number): Promise<void> {
  const ch = await t.channel();
  await ch.prefetch(10);
  const c = await ch.consume(q, { arguments: { 'x-stream-offset': offset } });
  for (const m of await c.take(n)) ch.ack(m);
  await c.idle();
  // Cancelled before the stream goes: whether a deleted stream's consumer hears of it before the
  // scenario ends is a race on RabbitMQ.
  await ch.cancel(c);
  await ch.deleteQueue(q);
}

const FOUR = ['m0', 'm1', 'm2', 'm3'];

export default scenarios('streams', 'amqplib', (scenario) => {
  scenario('declare-with-arguments', async (t) => {
    const ch = await t.channel();
    const q = t.n('s');
    await ch.assertQueue(q, {
      durable: true,
      arguments: { ...STREAM, 'x-max-length-bytes': 1_000_000, 'x-max-age': '7D', 'x-stream-max-segment-size-bytes': 100_000, 'x-initial-cluster-size': 1 },
    });
    await ch.assertQueue(q, {
      durable: true,
      arguments: { ...STREAM, 'x-max-length-bytes': 1_000_000, 'x-max-age': '7D', 'x-stream-max-segment-size-bytes': 100_000, 'x-initial-cluster-size': 1 },
    });
    await ch.deleteQueue(q);
  });

  for (const [name, flags] of [
    ['non-durable', { durable: false }],
    ['exclusive', { durable: true, exclusive: true }],
    ['auto-delete', { durable: true, autoDelete: true }],
    ['exclusive-auto-delete', { durable: true, exclusive: true, autoDelete: true }],
  ] as const) {
    scenario(`declare-${name}-refused`, async (t) => {
      const ch = await t.channel();
      await t.fails(ch.assertQueue(t.n('s'), { ...flags, arguments: STREAM }));
    });
  }

  scenario('declare-refused-arguments', async (t) => {
    const c = await t.conn();
    for (const [key, value] of [
      ['x-max-length', 10],
      ['x-message-ttl', 1000],
      ['x-expires', 1000],
      ['x-dead-letter-exchange', 'dlx'],
      ['x-max-priority', 5],
      ['x-overflow', 'reject-publish'],
      ['x-single-active-consumer', true],
      ['x-delivery-limit', 3],
    ] as const) {
      const ch = await c.channel();
      await t.fails(ch.assertQueue(t.n('s'), { durable: true, arguments: { ...STREAM, [key]: value } }));
    }
  });

  scenario('declare-bad-values', async (t) => {
    const c = await t.conn();
    for (const [key, value] of [
      ['x-max-age', '1d'],
      ['x-max-age', '10'],
      ['x-max-age', '0s'],
      ['x-max-age', 5],
      ['x-max-length-bytes', -1],
      ['x-stream-max-segment-size-bytes', 'a'],
      ['x-initial-cluster-size', 0],
    ] as const) {
      const ch = await c.channel();
      await t.fails(ch.assertQueue(t.n('s'), { durable: true, arguments: { ...STREAM, [key]: value } }));
    }
  });

  scenario('declare-max-age-without-digits', async (t) => {
    const ch = await t.channel();
    await t.fails(ch.assertQueue(t.n('s'), { durable: true, arguments: { ...STREAM, 'x-max-age': 'x' } }));
  });

  scenario('redeclare-other-max-age', async (t) => {
    const ch = await t.channel();
    const q = t.n('s');
    await ch.assertQueue(q, { durable: true, arguments: { ...STREAM, 'x-max-age': '1h' } });
    await t.fails(ch.assertQueue(q, { durable: true, arguments: { ...STREAM, 'x-max-age': '2h' } }));
    const again = await t.channel();
    await again.deleteQueue(q);
  });

  scenario('consume-needs-prefetch-and-manual-ack', async (t) => {
    const setup = await t.channel();
    const q = t.n('s');
    await setup.assertQueue(q, { durable: true, arguments: STREAM });
    const a = await t.channel();
    await t.fails(a.consume(q, { noAck: true }));
    const b = await t.channel();
    await t.fails(b.consume(q));
    const c = await t.channel();
    await c.prefetch(1);
    await t.fails(c.consume(q, { arguments: { 'x-priority': 1 } }));
    await setup.deleteQueue(q);
  });

  scenario('offset-strings-refused', async (t) => {
    const setup = await t.channel();
    const q = t.n('s');
    await setup.assertQueue(q, { durable: true, arguments: STREAM });
    for (const offset of ['5', '0s', '1.5h']) {
      const ch = await t.channel();
      await ch.prefetch(1);
      await t.fails(ch.consume(q, { arguments: { 'x-stream-offset': offset } }));
    }
    await setup.deleteQueue(q);
  });

  scenario('offset-unparsable-closes-connection', async (t) => {
    const setup = await t.channel();
    const q = t.n('s');
    await setup.assertQueue(q, { durable: true, arguments: STREAM });
    const other = await t.connect({ label: 'c2' });
    const ch = await other.channel();
    await ch.prefetch(1);
    await t.fails(ch.consume(q, { arguments: { 'x-stream-offset': 'foo' } }));
    await setup.deleteQueue(q);
  });

  for (const [name, offset, n] of [
    ['first', 'first', 4],
    ['last', 'last', 1],
    ['absolute', 2, 2],
    ['negative', -3, 4],
    ['interval', '1h', 4],
    ['timestamp-past', { '!': 'timestamp', value: 1_000_000_000 }, 4],
  ] as const) {
    scenario(`offset-${name}`, async (t) => {
      const q = await streamWith(t, await t.confirmChannel(), FOUR);
      await readFrom(t, q, offset, n);
    });
  }

  for (const [name, offset] of [
    ['next', 'next'],
    ['timestamp-future', { '!': 'timestamp', value: 4_000_000_000 }],
    ['beyond-end', 5],
  ] as const) {
    scenario(`offset-${name}-waits-for-new`, async (t) => {
      const pub = await t.confirmChannel();
      const q = await streamWith(t, pub, FOUR);
      const ch = await t.channel();
      await ch.prefetch(10);
      const c = await ch.consume(q, { arguments: { 'x-stream-offset': offset } });
      await c.idle();
      for (const b of ['m4', 'm5']) {
        pub.sendToQueue(q, b);
        await pub.waitConfirms();
      }
      for (const m of await c.take(offset === 5 ? 1 : 2)) ch.ack(m);
      await c.idle();
      await ch.cancel(c);
      await pub.deleteQueue(q);
    });
  }

  scenario('headers-kept-with-offset', async (t) => {
    const pub = await t.confirmChannel();
    const q = t.n('s');
    await pub.assertQueue(q, { durable: true, arguments: STREAM });
    pub.sendToQueue(q, 'h', { headers: { zz: 1, aa: 'x' }, contentType: 'text/plain' });
    await pub.waitConfirms();
    await readFrom(t, q, 'first', 1);
  });

  scenario('many-consumers-own-offsets', async (t) => {
    const q = await streamWith(t, await t.confirmChannel(), FOUR);
    const ch = await t.channel();
    await ch.prefetch(10);
    const a = await ch.consume(q, { arguments: { 'x-stream-offset': 'first' } });
    const b = await ch.consume(q, { arguments: { 'x-stream-offset': 2 } });
    const other = await t.channel();
    await other.prefetch(10);
    const c = await other.consume(q, { arguments: { 'x-stream-offset': 'last' } });
    await a.take(4);
    await b.take(2);
    await c.take(1);
    ch.ackAll();
    other.ackAll();
    await a.idle();
    await c.idle();
    for (const x of [a, b]) await ch.cancel(x);
    await other.cancel(c);
    await ch.deleteQueue(q);
  });

  scenario('ack-only-gives-credit', async (t) => {
    const q = await streamWith(t, await t.confirmChannel(), ['a', 'b']);
    const ch = await t.channel();
    await ch.prefetch(10);
    const c = await ch.consume(q, { arguments: { 'x-stream-offset': 'first' } });
    for (const m of await c.take(2)) ch.ack(m);
    await c.idle();
    await ch.cancel(c);
    // A second consumer reads the same messages: nothing was removed.
    await readFrom(t, q, 'first', 2);
  });

  scenario('basic-get-refused', async (t) => {
    const q = await streamWith(t, await t.confirmChannel(), ['a']);
    const other = await t.connect({ label: 'c2' });
    const ch = await other.channel();
    await t.fails(ch.get(q));
    const setup = await t.channel();
    await setup.deleteQueue(q);
  });

  scenario('purge-refused', async (t) => {
    const q = await streamWith(t, await t.confirmChannel(), ['a']);
    const other = await t.connect({ label: 'c2' });
    const ch = await other.channel();
    await t.fails(ch.purgeQueue(q));
    const setup = await t.channel();
    await setup.deleteQueue(q);
  });

  scenario('nack-refused', async (t) => {
    const q = await streamWith(t, await t.confirmChannel(), ['a']);
    const other = await t.connect({ label: 'c2' });
    const ch = await other.channel();
    await ch.prefetch(1);
    const c = await ch.consume(q, { arguments: { 'x-stream-offset': 'first' } });
    const [m] = await c.take(1);
    ch.nack(m!, false, true);
    await other.closed();
    const setup = await t.channel();
    await setup.deleteQueue(q);
  });

  // osiris removes whole segments when it starts a new one; the exact first offset left depends on
  // how each broker counts a segment's bytes, so the scenario records what a client relies on.
  scenario('retention-by-size', async (t) => {
    const pub = await t.confirmChannel();
    const bodies = Array.from({ length: 60 }, (_, i) => `m${i}`.padEnd(100, '.'));
    const q = await streamWith(t, pub, bodies, { 'x-max-length-bytes': 3000, 'x-stream-max-segment-size-bytes': 1000 });
    const ch = await t.channel();
    await ch.prefetch(100);
    const seen: string[] = [];
    let first = -1;
    // The newest message is always kept: the consumer is done when it arrives (or after a timeout).
    let newest!: () => void;
    const gotNewest = new Promise<void>((r) => (newest = r));
    const c = await ch.raw.consume(q, (m) => {
      if (m === null) return;
      if (first < 0) first = m.properties.headers?.['x-stream-offset'] as number;
      seen.push(m.content.toString());
      ch.raw.ack(m);
      if (seen[seen.length - 1] === bodies[59]) newest();
    }, { arguments: { 'x-stream-offset': 'first' } });
    await Promise.race([gotNewest, t.sleep(5000)]);
    t.record('newest kept', seen[seen.length - 1] === bodies[59]);
    t.record('oldest removed', first > 0 && !seen.includes(bodies[0]!));
    t.record('kept in order', seen.every((b, i) => i === 0 || Number(b.slice(1).split('.')[0]) === Number(seen[i - 1]!.slice(1).split('.')[0]) + 1));
    t.record('some kept, not all', seen.length >= 1 && seen.length < 60);
    await ch.raw.cancel(c.consumerTag);
    await pub.deleteQueue(q);
  });
});
