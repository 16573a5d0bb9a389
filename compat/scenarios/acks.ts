// Acknowledgements: ack, nack, reject, multiple, requeue and the order requeued messages come back in.
import { scenarios, type Ctx } from '../harness/scenario.js';
import { drainBodies } from './helpers.js';

async function setup(t: Ctx, n: number) {
  const ch = await t.channel();
  const q = t.n('q');
  await ch.assertQueue(q, { exclusive: true });
  for (let i = 1; i <= n; i++) ch.sendToQueue(q, `m${i}`);
  return { ch, q };
}

export default scenarios('acks', 'amqplib', (scenario) => {
  scenario('ack-single', async (t) => {
    const { ch, q } = await setup(t, 2);
    const c = await ch.consume(q);
    const [m1] = await c.take(2);
    ch.ack(m1!);
    await ch.checkQueue(q);
  });

  scenario('ack-multiple', async (t) => {
    const { ch, q } = await setup(t, 4);
    const c = await ch.consume(q);
    const ms = await c.take(4);
    ch.ack(ms[2]!, true);
    await ch.cancel(c);
    await ch.recover();
    await ch.sync(q);
    await drainBodies(t, ch, q);
  });

  scenario('ack-all', async (t) => {
    const { ch, q } = await setup(t, 3);
    const c = await ch.consume(q);
    await c.take(3);
    ch.ackAll();
    await ch.cancel(c);
    await ch.recover();
    await drainBodies(t, ch, q);
  });

  scenario('ack-get', async (t) => {
    const { ch, q } = await setup(t, 1);
    const m = await ch.get(q);
    if (m) ch.ack(m);
    await ch.checkQueue(q);
  });

  scenario('nack-requeue-goes-back-to-head', async (t) => {
    const { ch, q } = await setup(t, 3);
    const m1 = await ch.get(q);
    if (m1) ch.nack(m1, false, true);
    await drainBodies(t, ch, q);
  });

  scenario('nack-requeue-redelivered-flag', async (t) => {
    const { ch, q } = await setup(t, 1);
    const c = await ch.consume(q);
    const [m] = await c.take(1);
    ch.nack(m!, false, true);
    const [again] = await c.take(1);
    ch.ack(again!);
  });

  scenario('nack-no-requeue-drops', async (t) => {
    const { ch, q } = await setup(t, 2);
    const m = await ch.get(q);
    if (m) ch.nack(m, false, false);
    await ch.checkQueue(q);
  });

  scenario('nack-multiple-requeue-order', async (t) => {
    const { ch, q } = await setup(t, 5);
    const c = await ch.consume(q);
    const ms = await c.take(5);
    await ch.cancel(c);
    ch.nack(ms[3]!, true, true);
    await ch.sync(q);
    await drainBodies(t, ch, q);
  });

  scenario('nack-all-requeue', async (t) => {
    const { ch, q } = await setup(t, 3);
    const c = await ch.consume(q);
    await c.take(3);
    await ch.cancel(c);
    ch.nackAll(true);
    await ch.sync(q);
    await drainBodies(t, ch, q);
  });

  scenario('requeue-in-reverse-order', async (t) => {
    const { ch, q } = await setup(t, 4);
    const c = await ch.consume(q);
    const ms = await c.take(4);
    await ch.cancel(c);
    for (const m of [...ms].reverse()) ch.nack(m, false, true);
    await ch.sync(q);
    await drainBodies(t, ch, q);
  });

  scenario('requeue-interleaved-with-ready', async (t) => {
    const { ch, q } = await setup(t, 5);
    const m1 = await ch.get(q);
    const m2 = await ch.get(q);
    const m3 = await ch.get(q);
    if (m2) ch.nack(m2, false, true);
    if (m1) ch.nack(m1, false, true);
    if (m3) ch.ack(m3);
    await drainBodies(t, ch, q);
  });

  scenario('requeue-on-channel-close-order', async (t) => {
    const c = await t.conn();
    const a = await c.channel();
    const q = t.n('q');
    await a.assertQueue(q, { exclusive: true });
    for (let i = 1; i <= 5; i++) a.sendToQueue(q, `m${i}`);
    const m1 = await a.get(q);
    await a.get(q);
    await a.get(q);
    if (m1) a.ack(m1);
    await a.close();
    const b = await c.channel();
    const cb = await b.consume(q, { noAck: true });
    await cb.take(4);
  });

  scenario('reject-requeue', async (t) => {
    const { ch, q } = await setup(t, 2);
    const m = await ch.get(q);
    if (m) ch.reject(m, true);
    await drainBodies(t, ch, q);
  });

  scenario('reject-no-requeue', async (t) => {
    const { ch, q } = await setup(t, 2);
    const m = await ch.get(q);
    if (m) ch.reject(m, false);
    await drainBodies(t, ch, q);
  });

  scenario('ack-after-requeue-stale-tag', async (t) => {
    const { ch, q } = await setup(t, 1);
    const m = await ch.get(q);
    if (m) {
      ch.nack(m, false, true);
      ch.ack(m);
    }
    await ch.closed();
  });

  scenario('ack-no-ack-delivery', async (t) => {
    const { ch, q } = await setup(t, 1);
    const m = await ch.get(q, { noAck: true });
    if (m) ch.ack(m);
    await ch.closed();
  });

  scenario('ack-multiple-zero-acks-all', async (t) => {
    const { ch, q } = await setup(t, 3);
    await ch.get(q);
    await ch.get(q);
    ch.ack(0, true);
    await ch.checkQueue(q);
    await ch.recover();
    await drainBodies(t, ch, q);
  });

  scenario('ack-single-zero', async (t) => {
    const { ch, q } = await setup(t, 1);
    await ch.get(q);
    ch.ack(0, false);
    await ch.closed();
  });

  scenario('recover-requeues-unacked', async (t) => {
    const { ch, q } = await setup(t, 3);
    const c = await ch.consume(q);
    await c.take(3);
    await ch.recover();
    await c.take(3);
  });

  scenario('recover-no-requeue', async (t) => {
    const { ch, q } = await setup(t, 2);
    const c = await ch.consume(q);
    await c.take(2);
    await t.tryOp(ch.rpc('basic.recover', { requeue: false }));
    await c.idle();
  });

  scenario('redelivered-flag-on-get-after-requeue', async (t) => {
    const { ch, q } = await setup(t, 1);
    const m = await ch.get(q);
    if (m) ch.nack(m, false, true);
    await ch.get(q, { noAck: true });
  });

  scenario('unacked-counted-out-of-ready', async (t) => {
    const { ch, q } = await setup(t, 3);
    await ch.get(q);
    await ch.checkQueue(q);
    const c = await ch.consume(q);
    await c.take(2);
    await ch.checkQueue(q);
  });
});
