// Priority queues (x-max-priority): order, capping, default priority, requeue within a priority.
import { scenarios } from '../harness/scenario.js';
import { drainBodies } from './helpers.js';

export default scenarios('priority', 'amqplib', (scenario) => {
  scenario('higher-first', async (t) => {
    const ch = await t.channel();
    const q = t.n('q');
    await ch.assertQueue(q, { exclusive: true, maxPriority: 10 });
    for (const p of [1, 5, 3, 10, 0, 7]) ch.sendToQueue(q, `p${p}`, { priority: p });
    await drainBodies(t, ch, q);
  });

  scenario('fifo-within-priority', async (t) => {
    const ch = await t.channel();
    const q = t.n('q');
    await ch.assertQueue(q, { exclusive: true, maxPriority: 5 });
    for (const [b, p] of [['a', 2], ['b', 2], ['c', 4], ['d', 2], ['e', 4]] as const) ch.sendToQueue(q, b, { priority: p });
    await drainBodies(t, ch, q);
  });

  scenario('above-max-capped', async (t) => {
    const ch = await t.channel();
    const q = t.n('q');
    await ch.assertQueue(q, { exclusive: true, maxPriority: 3 });
    ch.sendToQueue(q, 'p3', { priority: 3 });
    ch.sendToQueue(q, 'p9', { priority: 9 });
    ch.sendToQueue(q, 'p2', { priority: 2 });
    await drainBodies(t, ch, q);
  });

  scenario('missing-priority-is-zero', async (t) => {
    const ch = await t.channel();
    const q = t.n('q');
    await ch.assertQueue(q, { exclusive: true, maxPriority: 3 });
    ch.sendToQueue(q, 'none');
    ch.sendToQueue(q, 'p0', { priority: 0 });
    ch.sendToQueue(q, 'p1', { priority: 1 });
    await drainBodies(t, ch, q);
  });

  scenario('non-priority-queue-ignores-priority', async (t) => {
    const ch = await t.channel();
    const q = t.n('q');
    await ch.assertQueue(q, { exclusive: true });
    for (const p of [1, 9, 5]) ch.sendToQueue(q, `p${p}`, { priority: p });
    await drainBodies(t, ch, q);
  });

  scenario('requeue-keeps-priority-order', async (t) => {
    const ch = await t.channel();
    const q = t.n('q');
    await ch.assertQueue(q, { exclusive: true, maxPriority: 5 });
    ch.sendToQueue(q, 'low', { priority: 1 });
    ch.sendToQueue(q, 'high', { priority: 5 });
    const m = await ch.get(q);
    ch.sendToQueue(q, 'high2', { priority: 5 });
    if (m) ch.nack(m, false, true);
    await drainBodies(t, ch, q);
  });

  scenario('consumer-gets-priority-order', async (t) => {
    const ch = await t.channel();
    const q = t.n('q');
    await ch.assertQueue(q, { exclusive: true, maxPriority: 10 });
    for (const p of [1, 8, 4]) ch.sendToQueue(q, `p${p}`, { priority: p });
    await ch.prefetch(1);
    const c = await ch.consume(q);
    for (let i = 0; i < 3; i++) {
      const [m] = await c.take(1);
      ch.ack(m!);
    }
  });

  scenario('max-priority-255', async (t) => {
    const ch = await t.channel();
    const q = t.n('q');
    await ch.assertQueue(q, { exclusive: true, maxPriority: 255 });
    ch.sendToQueue(q, 'p200', { priority: 200 });
    ch.sendToQueue(q, 'p255', { priority: 255 });
    await drainBodies(t, ch, q);
  });

  scenario('max-priority-zero', async (t) => {
    const ch = await t.channel();
    const q = t.n('q');
    await t.tryOp(ch.assertQueue(q, { exclusive: true, maxPriority: 0 }));
  });

  scenario('priority-with-max-length', async (t) => {
    const ch = await t.channel();
    const q = t.n('q');
    await ch.assertQueue(q, { exclusive: true, maxPriority: 5, maxLength: 2 });
    ch.sendToQueue(q, 'low1', { priority: 1 });
    ch.sendToQueue(q, 'high', { priority: 5 });
    ch.sendToQueue(q, 'low2', { priority: 1 });
    await drainBodies(t, ch, q);
  });
});
