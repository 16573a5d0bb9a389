// Channel lifecycle and channel-level errors: which close which, with what code and ids.
import { scenarios } from '../harness/scenario.js';

export default scenarios('channels', 'amqplib', (scenario) => {
  scenario('open-close', async (t) => {
    const ch = await t.channel();
    await ch.close();
  });

  scenario('error-closes-only-that-channel', async (t) => {
    const a = await t.channel();
    const b = await t.channel();
    await t.fails(a.checkQueue(t.n('missing')));
    await b.assertQueue(t.n('q'), { exclusive: true });
  });

  scenario('operation-after-server-close', async (t) => {
    const a = await t.channel();
    await t.fails(a.checkQueue(t.n('missing')));
    await t.fails(a.assertQueue(t.n('q')));
  });

  scenario('reopen-after-error', async (t) => {
    const c = await t.conn();
    const a = await c.channel();
    await t.fails(a.checkExchange(t.n('missing')));
    const b = await c.channel();
    await b.assertQueue(t.n('q'), { exclusive: true });
  });

  scenario('ack-unknown-delivery-tag', async (t) => {
    const ch = await t.channel();
    ch.ack(42);
    await ch.closed();
  });

  scenario('ack-twice', async (t) => {
    const ch = await t.channel();
    const q = t.n('q');
    await ch.assertQueue(q, { exclusive: true });
    ch.sendToQueue(q, 'm');
    const m = await ch.get(q);
    t.check(m !== false, 'message');
    if (m) {
      ch.ack(m);
      ch.ack(m);
    }
    await ch.closed();
  });

  scenario('nack-unknown-delivery-tag', async (t) => {
    const ch = await t.channel();
    ch.nack(7, false, true);
    await ch.closed();
  });

  scenario('reject-unknown-delivery-tag', async (t) => {
    const ch = await t.channel();
    ch.reject(3, false);
    await ch.closed();
  });

  scenario('ack-multiple-unknown', async (t) => {
    const ch = await t.channel();
    ch.ack(5, true);
    await ch.closed();
  });

  scenario('ack-all-with-nothing-outstanding', async (t) => {
    const ch = await t.channel();
    ch.ackAll();
    await ch.assertQueue(t.n('q'), { exclusive: true });
  });

  scenario('nack-all-with-nothing-outstanding', async (t) => {
    const ch = await t.channel();
    ch.nackAll(true);
    await ch.assertQueue(t.n('q'), { exclusive: true });
  });

  scenario('publish-to-missing-exchange', async (t) => {
    const ch = await t.channel();
    ch.publish(t.n('missing'), 'rk', 'm');
    await ch.closed();
  });

  scenario('publish-to-missing-exchange-other-channel-unaffected', async (t) => {
    const a = await t.channel();
    const b = await t.channel();
    a.publish(t.n('missing'), 'rk', 'm');
    await a.closed();
    await b.assertQueue(t.n('q'), { exclusive: true });
  });

  scenario('channel-flow-active', async (t) => {
    const ch = await t.channel();
    await ch.rpc('channel.flow', { active: true });
  });

  scenario('channel-flow-inactive', async (t) => {
    const ch = await t.channel();
    await t.tryOp(ch.rpc('channel.flow', { active: false }));
  });

  scenario('ack-on-other-channel', async (t) => {
    const a = await t.channel();
    const b = await t.channel();
    const q = t.n('q');
    await a.assertQueue(q, { exclusive: true });
    a.sendToQueue(q, 'm');
    const m = await a.get(q);
    if (m) b.ack(m);
    await b.closed();
    await a.checkQueue(q);
  });

  scenario('unacked-requeued-when-channel-closes', async (t) => {
    const c = await t.conn();
    const a = await c.channel();
    const q = t.n('q');
    await a.assertQueue(q, { exclusive: true });
    a.sendToQueue(q, 'm1');
    a.sendToQueue(q, 'm2');
    await a.get(q);
    await a.close();
    const b = await c.channel();
    await b.checkQueue(q);
    await b.get(q, { noAck: true });
    await b.get(q, { noAck: true });
  });
});
