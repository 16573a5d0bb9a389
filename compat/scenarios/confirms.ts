// Publisher confirms: ack sets, returns before acks, interactions with tx, errors on confirm channels.
import { scenarios } from '../harness/scenario.js';
import { drainBodies } from './helpers.js';

export default scenarios('confirms', 'amqplib', (scenario) => {
  scenario('ack-routed', async (t) => {
    const ch = await t.confirmChannel();
    const q = t.n('q');
    await ch.assertQueue(q, { exclusive: true });
    for (let i = 0; i < 5; i++) ch.sendToQueue(q, `m${i}`);
    await ch.waitConfirms();
  });

  scenario('ack-unroutable', async (t) => {
    const ch = await t.confirmChannel();
    const x = t.n('x');
    await ch.assertExchange(x, 'direct', { durable: false });
    ch.publish(x, 'nowhere', 'dropped');
    await ch.waitConfirms();
    await ch.deleteExchange(x);
  });

  scenario('mandatory-return-then-ack', async (t) => {
    const ch = await t.confirmChannel();
    ch.publish('', t.n('missing'), 'bounce', { mandatory: true });
    await ch.takeReturns(1);
    await ch.waitConfirms();
  });

  scenario('ack-persistent-durable-queue', async (t) => {
    const ch = await t.confirmChannel();
    const q = t.n('q');
    await ch.assertQueue(q, { durable: true });
    for (let i = 0; i < 3; i++) ch.sendToQueue(q, `p${i}`, { persistent: true });
    await ch.waitConfirms();
    await ch.deleteQueue(q);
  });

  scenario('ack-fanout-many-queues', async (t) => {
    const ch = await t.confirmChannel();
    const x = t.n('x');
    await ch.assertExchange(x, 'fanout', { durable: false });
    for (let i = 0; i < 4; i++) {
      const q = t.n(`q${i}`);
      await ch.assertQueue(q, { exclusive: true });
      await ch.bindQueue(q, x, '');
    }
    ch.publish(x, '', 'to-all');
    ch.publish(x, '', 'to-all-again');
    await ch.waitConfirms();
    await ch.deleteExchange(x);
  });

  scenario('tags-continue-across-batches', async (t) => {
    const ch = await t.confirmChannel();
    const q = t.n('q');
    await ch.assertQueue(q, { exclusive: true });
    ch.sendToQueue(q, 'a');
    ch.sendToQueue(q, 'b');
    await ch.waitConfirms();
    ch.sendToQueue(q, 'c');
    await ch.waitConfirms();
  });

  scenario('select-twice', async (t) => {
    const ch = await t.confirmChannel();
    await ch.rpc('confirm.select', { nowait: false });
    const q = t.n('q');
    await ch.assertQueue(q, { exclusive: true });
    ch.sendToQueue(q, 'm');
    await ch.waitConfirms();
  });

  scenario('publish-to-missing-exchange', async (t) => {
    const ch = await t.confirmChannel();
    ch.publish(t.n('missing'), 'k', 'm');
    await ch.closed();
  });

  scenario('confirm-on-tx-channel', async (t) => {
    const ch = await t.channel();
    await ch.txSelect();
    await t.fails(ch.rpc('confirm.select', { nowait: false }));
  });

  scenario('tx-on-confirm-channel', async (t) => {
    const ch = await t.confirmChannel();
    await t.fails(ch.txSelect());
  });

  scenario('many-messages', async (t) => {
    const ch = await t.confirmChannel();
    const q = t.n('q');
    await ch.assertQueue(q, { exclusive: true });
    for (let i = 0; i < 500; i++) ch.sendToQueue(q, `m${i}`);
    await ch.waitConfirms(10_000);
    await ch.checkQueue(q);
  });

  scenario('confirm-and-consume-same-channel', async (t) => {
    const ch = await t.confirmChannel();
    const q = t.n('q');
    await ch.assertQueue(q, { exclusive: true });
    const c = await ch.consume(q);
    ch.sendToQueue(q, 'm1');
    ch.sendToQueue(q, 'm2');
    await ch.waitConfirms();
    const ms = await c.take(2);
    ch.ack(ms[1]!, true);
    await drainBodies(t, ch, q);
  });

  scenario('internal-exchange-on-confirm-channel', async (t) => {
    const ch = await t.confirmChannel();
    const x = t.n('x');
    await ch.assertExchange(x, 'fanout', { durable: false, internal: true });
    ch.publish(x, '', 'm');
    await ch.closed();
    await (await t.channel()).deleteExchange(x);
  });
});
