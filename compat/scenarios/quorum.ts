// Quorum queues as a client sees them on a single node: declare rules, delivery counting, limits.
import { scenarios } from '../harness/scenario.js';
import { drainBodies } from './helpers.js';

const QQ = { 'x-queue-type': 'quorum' };

export default scenarios('quorum', 'amqplib', (scenario) => {
  scenario('declare-and-get', async (t) => {
    const ch = await t.channel();
    const q = t.n('q');
    await ch.assertQueue(q, { durable: true, arguments: QQ });
    ch.sendToQueue(q, 'm');
    await ch.waitForCount(q, 1);
    await ch.checkQueue(q);
    await ch.get(q, { noAck: true });
    await ch.deleteQueue(q);
  });

  scenario('declare-non-durable-refused', async (t) => {
    const ch = await t.channel();
    await t.fails(ch.assertQueue(t.n('q'), { durable: false, arguments: QQ }));
  });

  scenario('declare-exclusive-refused', async (t) => {
    const ch = await t.channel();
    await t.fails(ch.assertQueue(t.n('q'), { durable: true, exclusive: true, arguments: QQ }));
  });

  scenario('declare-auto-delete-refused', async (t) => {
    const ch = await t.channel();
    await t.fails(ch.assertQueue(t.n('q'), { durable: true, autoDelete: true, arguments: QQ }));
  });

  scenario('declare-max-priority-refused', async (t) => {
    const ch = await t.channel();
    await t.tryOp(ch.assertQueue(t.n('q'), { durable: true, arguments: { ...QQ, 'x-max-priority': 5 } }));
  });

  // rabbit_queue_location:queue_leader_locators/0 takes the deprecated locators too.
  scenario('leader-locator-values', async (t) => {
    for (const locator of ['client-local', 'balanced', 'random', 'least-leaders', 'min-masters', 'nearest']) {
      const ch = await t.channel();
      const q = t.n(`q-${locator}`);
      const ok = await t.tryOp(ch.assertQueue(q, { durable: true, arguments: { ...QQ, 'x-queue-leader-locator': locator } }));
      if (ok !== undefined) await ch.deleteQueue(q);
    }
  });

  scenario('redeclare-as-classic-refused', async (t) => {
    const c = await t.conn();
    const ch = await c.channel();
    const q = t.n('q');
    await ch.assertQueue(q, { durable: true, arguments: QQ });
    await t.fails(ch.assertQueue(q, { durable: true }));
    const ch2 = await c.channel();
    await ch2.deleteQueue(q);
  });

  scenario('delivery-count-header', async (t) => {
    const ch = await t.channel();
    const q = t.n('q');
    await ch.assertQueue(q, { durable: true, arguments: QQ });
    ch.sendToQueue(q, 'm');
    const c = await ch.consume(q);
    const [m1] = await c.take(1);
    ch.nack(m1!, false, true);
    const [m2] = await c.take(1);
    ch.nack(m2!, false, true);
    const [m3] = await c.take(1);
    ch.ack(m3!);
    await ch.cancel(c);
    await ch.deleteQueue(q);
  });

  scenario('delivery-limit-drops', async (t) => {
    const ch = await t.channel();
    const q = t.n('q');
    await ch.assertQueue(q, { durable: true, arguments: { ...QQ, 'x-delivery-limit': 1 } });
    ch.sendToQueue(q, 'm');
    const c = await ch.consume(q);
    const [m1] = await c.take(1);
    ch.nack(m1!, false, true);
    const [m2] = await c.take(1);
    ch.nack(m2!, false, true);
    await c.idle();
    await ch.cancel(c);
    await ch.checkQueue(q);
    await ch.deleteQueue(q);
  });

  scenario('max-length-drop-head', async (t) => {
    const ch = await t.confirmChannel();
    const q = t.n('q');
    await ch.assertQueue(q, { durable: true, arguments: { ...QQ, 'x-max-length': 2 } });
    for (const b of ['a', 'b', 'c']) ch.sendToQueue(q, b);
    await ch.waitConfirms();
    await drainBodies(t, ch, q);
    await ch.deleteQueue(q);
  });

  scenario('global-qos-refused-for-quorum', async (t) => {
    const ch = await t.channel();
    const q = t.n('q');
    await ch.assertQueue(q, { durable: true, arguments: QQ });
    await ch.prefetch(1, true);
    await t.tryOp(ch.consume(q));
    const other = await t.connect();
    const ch2 = await other.channel();
    await ch2.deleteQueue(q);
  });

  scenario('confirms', async (t) => {
    const ch = await t.confirmChannel();
    const q = t.n('q');
    await ch.assertQueue(q, { durable: true, arguments: QQ });
    for (let i = 0; i < 5; i++) ch.sendToQueue(q, `m${i}`);
    await ch.waitConfirms();
    await drainBodies(t, ch, q);
    await ch.deleteQueue(q);
  });
});
