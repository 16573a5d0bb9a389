// Transactions: publishes and acks held until commit, dropped on rollback, and the errors around them.
import { scenarios } from '../harness/scenario.js';
import { drainBodies } from './helpers.js';

export default scenarios('tx', 'amqplib', (scenario) => {
  scenario('commit-publishes', async (t) => {
    const ch = await t.channel();
    const q = t.n('q');
    await ch.assertQueue(q, { exclusive: true });
    await ch.txSelect();
    ch.sendToQueue(q, 'a');
    ch.sendToQueue(q, 'b');
    await ch.checkQueue(q);
    await ch.txCommit();
    await ch.checkQueue(q);
    await drainBodies(t, ch, q);
  });

  scenario('rollback-publishes', async (t) => {
    const ch = await t.channel();
    const q = t.n('q');
    await ch.assertQueue(q, { exclusive: true });
    await ch.txSelect();
    ch.sendToQueue(q, 'a');
    await ch.txRollback();
    await ch.checkQueue(q);
    ch.sendToQueue(q, 'b');
    await ch.txCommit();
    await drainBodies(t, ch, q);
  });

  scenario('commit-acks', async (t) => {
    const ch = await t.channel();
    const q = t.n('q');
    await ch.assertQueue(q, { exclusive: true });
    ch.sendToQueue(q, 'a');
    ch.sendToQueue(q, 'b');
    await ch.txSelect();
    const m = await ch.get(q);
    if (m) ch.ack(m);
    await ch.checkQueue(q);
    await ch.txCommit();
    await ch.recover();
    await drainBodies(t, ch, q);
  });

  scenario('rollback-acks', async (t) => {
    const ch = await t.channel();
    const q = t.n('q');
    await ch.assertQueue(q, { exclusive: true });
    ch.sendToQueue(q, 'a');
    await ch.txSelect();
    const m = await ch.get(q);
    if (m) ch.ack(m);
    await ch.txRollback();
    await ch.checkQueue(q);
    await ch.recover();
    await drainBodies(t, ch, q);
  });

  scenario('rollback-then-ack-again', async (t) => {
    const ch = await t.channel();
    const q = t.n('q');
    await ch.assertQueue(q, { exclusive: true });
    ch.sendToQueue(q, 'a');
    await ch.txSelect();
    const m = await ch.get(q);
    if (m) ch.ack(m);
    await ch.txRollback();
    if (m) ch.ack(m);
    await ch.txCommit();
    await ch.checkQueue(q);
  });

  scenario('commit-nack-requeue', async (t) => {
    const ch = await t.channel();
    const q = t.n('q');
    await ch.assertQueue(q, { exclusive: true });
    ch.sendToQueue(q, 'a');
    ch.sendToQueue(q, 'b');
    await ch.txSelect();
    const m = await ch.get(q);
    if (m) ch.nack(m, false, true);
    await ch.txCommit();
    await drainBodies(t, ch, q);
  });

  scenario('commit-without-select', async (t) => {
    const ch = await t.channel();
    await t.fails(ch.txCommit());
  });

  scenario('rollback-without-select', async (t) => {
    const ch = await t.channel();
    await t.fails(ch.txRollback());
  });

  scenario('select-twice', async (t) => {
    const ch = await t.channel();
    await ch.txSelect();
    await ch.txSelect();
    await ch.txCommit();
  });

  scenario('empty-commit-and-rollback', async (t) => {
    const ch = await t.channel();
    await ch.txSelect();
    await ch.txCommit();
    await ch.txRollback();
    await ch.txCommit();
  });

  scenario('mandatory-return-on-commit', async (t) => {
    const ch = await t.channel();
    await ch.txSelect();
    ch.publish('', t.n('missing'), 'bounce', { mandatory: true });
    await ch.txCommit();
    await ch.takeReturns(1);
  });

  scenario('publish-to-missing-exchange-in-tx', async (t) => {
    const ch = await t.channel();
    await ch.txSelect();
    ch.publish(t.n('missing'), 'k', 'm');
    await t.fails(ch.txCommit());
  });

  scenario('many-commits', async (t) => {
    const ch = await t.channel();
    const q = t.n('q');
    await ch.assertQueue(q, { exclusive: true });
    await ch.txSelect();
    for (let i = 0; i < 5; i++) {
      ch.sendToQueue(q, `m${i}`);
      if (i % 2 === 0) await ch.txCommit();
      else await ch.txRollback();
    }
    await drainBodies(t, ch, q);
  });

  scenario('uncommitted-lost-on-close', async (t) => {
    const c = await t.conn();
    const a = await c.channel();
    const q = t.n('q');
    await a.assertQueue(q, { exclusive: true });
    await a.txSelect();
    a.sendToQueue(q, 'never');
    await a.close();
    const b = await c.channel();
    await b.checkQueue(q);
  });

  scenario('commit-publish-to-two-queues', async (t) => {
    const ch = await t.channel();
    const x = t.n('x');
    await ch.assertExchange(x, 'fanout', { durable: false });
    const q1 = t.n('q1');
    const q2 = t.n('q2');
    for (const q of [q1, q2]) {
      await ch.assertQueue(q, { exclusive: true });
      await ch.bindQueue(q, x, '');
    }
    await ch.txSelect();
    ch.publish(x, '', 'both');
    await ch.txCommit();
    await drainBodies(t, ch, q1, 'q1');
    await drainBodies(t, ch, q2, 'q2');
    await ch.deleteExchange(x);
  });
});
