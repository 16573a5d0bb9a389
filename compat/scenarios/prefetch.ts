// basic.qos: per-consumer and per-channel (global) prefetch counts as RabbitMQ applies them.
import { scenarios, type Ctx } from '../harness/scenario.js';

async function setup(t: Ctx, n: number) {
  const ch = await t.channel();
  const q = t.n('q');
  await ch.assertQueue(q, { exclusive: true });
  for (let i = 1; i <= n; i++) ch.sendToQueue(q, `m${i}`);
  return { ch, q };
}

export default scenarios('prefetch', 'amqplib', (scenario) => {
  scenario('count-one', async (t) => {
    const { ch, q } = await setup(t, 3);
    await ch.prefetch(1);
    const c = await ch.consume(q);
    const [m1] = await c.take(1);
    await c.idle();
    ch.ack(m1!);
    const [m2] = await c.take(1);
    await c.idle();
    ch.ack(m2!);
    await c.take(1);
  });

  scenario('count-two', async (t) => {
    const { ch, q } = await setup(t, 5);
    await ch.prefetch(2);
    const c = await ch.consume(q);
    const ms = await c.take(2);
    await c.idle();
    ch.ack(ms[1]!, true);
    await c.take(2);
  });

  scenario('count-zero-unlimited', async (t) => {
    const { ch, q } = await setup(t, 20);
    await ch.prefetch(0);
    const c = await ch.consume(q);
    await c.take(20);
  });

  scenario('count-no-ack-ignores-prefetch', async (t) => {
    const { ch, q } = await setup(t, 5);
    await ch.prefetch(1);
    const c = await ch.consume(q, { noAck: true });
    await c.take(5);
  });

  scenario('count-get-ignores-prefetch', async (t) => {
    const { ch, q } = await setup(t, 3);
    await ch.prefetch(1);
    await ch.get(q);
    await ch.get(q);
    await ch.get(q);
  });

  scenario('count-applies-to-later-consumers-only', async (t) => {
    const ch = await t.channel();
    const q1 = t.n('q1');
    const q2 = t.n('q2');
    await ch.assertQueue(q1, { exclusive: true });
    await ch.assertQueue(q2, { exclusive: true });
    for (let i = 1; i <= 3; i++) {
      ch.sendToQueue(q1, `a${i}`);
      ch.sendToQueue(q2, `b${i}`);
    }
    const unlimited = await ch.consume(q1);
    await ch.prefetch(1);
    const limited = await ch.consume(q2);
    await unlimited.take(3);
    await limited.take(1);
    await limited.idle();
  });

  scenario('count-per-consumer-on-one-channel', async (t) => {
    const ch = await t.channel();
    const q = t.n('q');
    await ch.assertQueue(q, { exclusive: true });
    await ch.prefetch(1);
    const a = await ch.consume(q);
    const b = await ch.consume(q);
    for (let i = 1; i <= 4; i++) ch.sendToQueue(q, `m${i}`);
    await a.take(1);
    await b.take(1);
    await a.idle();
    await b.idle();
  });

  scenario('count-raised-releases-more', async (t) => {
    const { ch, q } = await setup(t, 4);
    await ch.prefetch(1);
    const c = await ch.consume(q);
    await c.take(1);
    await ch.prefetch(3);
    await c.idle();
    const q2 = t.n('q2');
    await ch.assertQueue(q2, { exclusive: true });
    ch.sendToQueue(q2, 'x');
    const c2 = await ch.consume(q2);
    await c2.take(1);
  });

  scenario('count-nack-requeue-redelivers', async (t) => {
    const { ch, q } = await setup(t, 2);
    await ch.prefetch(1);
    const c = await ch.consume(q);
    const [m] = await c.take(1);
    ch.nack(m!, false, true);
    const [again] = await c.take(1);
    ch.ack(again!);
    await c.take(1);
  });

  scenario('count-reject-drop-frees-slot', async (t) => {
    const { ch, q } = await setup(t, 2);
    await ch.prefetch(1);
    const c = await ch.consume(q);
    const [m] = await c.take(1);
    ch.reject(m!, false);
    await c.take(1);
  });

  scenario('global-qos-shared-by-consumers', async (t) => {
    const ch = await t.channel();
    const q = t.n('q');
    await ch.assertQueue(q, { exclusive: true });
    await ch.prefetch(2, true);
    const a = await ch.consume(q);
    const b = await ch.consume(q);
    for (let i = 1; i <= 6; i++) ch.sendToQueue(q, `m${i}`);
    await a.take(1);
    await b.take(1);
    await a.idle();
    await b.idle();
  });

  scenario('global-and-consumer-limits-combined', async (t) => {
    const ch = await t.channel();
    const q = t.n('q');
    await ch.assertQueue(q, { exclusive: true });
    await ch.prefetch(3, true);
    await ch.prefetch(1, false);
    const a = await ch.consume(q);
    const b = await ch.consume(q);
    for (let i = 1; i <= 6; i++) ch.sendToQueue(q, `m${i}`);
    await a.take(1);
    await b.take(1);
    await a.idle();
  });

  scenario('prefetch-size-not-implemented', async (t) => {
    const ch = await t.channel();
    await t.tryOp(ch.rpc('basic.qos', { prefetchSize: 1000, prefetchCount: 0, global: false }));
  });

  scenario('count-max-value', async (t) => {
    const { ch, q } = await setup(t, 3);
    await ch.prefetch(65535);
    const c = await ch.consume(q);
    await c.take(3);
  });
});
