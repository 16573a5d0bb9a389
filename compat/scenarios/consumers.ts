// Consumers: delivery, cancel, tags, exclusivity, round-robin, priorities, single active consumer,
// server-initiated cancel, redelivery on close, basic.get.
import { scenarios } from '../harness/scenario.js';
import { drainBodies } from './helpers.js';

export default scenarios('consumers', 'amqplib', (scenario) => {
  scenario('consume-no-ack', async (t) => {
    const ch = await t.channel();
    const q = t.n('q');
    await ch.assertQueue(q, { exclusive: true });
    const c = await ch.consume(q, { noAck: true });
    for (const b of ['1', '2', '3']) ch.sendToQueue(q, b);
    await c.take(3);
    await ch.checkQueue(q);
  });

  scenario('consume-ack', async (t) => {
    const ch = await t.channel();
    const q = t.n('q');
    await ch.assertQueue(q, { exclusive: true });
    for (const b of ['1', '2']) ch.sendToQueue(q, b);
    const c = await ch.consume(q);
    const ms = await c.take(2);
    await ch.checkQueue(q);
    for (const m of ms) ch.ack(m);
    await ch.checkQueue(q);
  });

  scenario('consume-existing-messages-in-order', async (t) => {
    const ch = await t.channel();
    const q = t.n('q');
    await ch.assertQueue(q, { exclusive: true });
    for (let i = 0; i < 10; i++) ch.sendToQueue(q, `m${i}`);
    const c = await ch.consume(q, { noAck: true });
    await c.take(10);
  });

  scenario('consume-custom-tag', async (t) => {
    const ch = await t.channel();
    const q = t.n('q');
    await ch.assertQueue(q, { exclusive: true });
    const c = await ch.consume(q, { consumerTag: t.n('my-tag'), noAck: true });
    ch.sendToQueue(q, 'm');
    await c.take(1);
    await ch.cancel(c);
  });

  scenario('consume-duplicate-tag', async (t) => {
    const ch = await t.channel();
    const q = t.n('q');
    await ch.assertQueue(q, { exclusive: true });
    await ch.consume(q, { consumerTag: 'dup' });
    await t.fails(ch.consume(q, { consumerTag: 'dup' }));
  });

  scenario('consume-same-tag-other-channel', async (t) => {
    const c = await t.conn();
    const a = await c.channel();
    const b = await c.channel();
    const q = t.n('q');
    await a.assertQueue(q, { exclusive: true });
    await a.consume(q, { consumerTag: 'same' });
    await b.consume(q, { consumerTag: 'same' });
  });

  scenario('consume-missing-queue', async (t) => {
    const ch = await t.channel();
    await t.fails(ch.consume(t.n('missing')));
  });

  scenario('cancel-stops-delivery', async (t) => {
    const ch = await t.channel();
    const q = t.n('q');
    await ch.assertQueue(q, { exclusive: true });
    const c = await ch.consume(q, { noAck: true });
    ch.sendToQueue(q, 'before');
    await c.take(1);
    await ch.cancel(c);
    ch.sendToQueue(q, 'after');
    await c.idle();
    await ch.checkQueue(q);
  });

  scenario('cancel-unknown-tag', async (t) => {
    const ch = await t.channel();
    await t.tryOp(ch.cancel('no-such-consumer'));
    await ch.assertQueue(t.n('q'), { exclusive: true });
  });

  scenario('cancel-keeps-unacked', async (t) => {
    const ch = await t.channel();
    const q = t.n('q');
    await ch.assertQueue(q, { exclusive: true });
    ch.sendToQueue(q, 'm');
    const c = await ch.consume(q);
    const [m] = await c.take(1);
    await ch.cancel(c);
    await ch.checkQueue(q);
    ch.ack(m!);
    await ch.checkQueue(q);
  });

  scenario('round-robin-two-consumers', async (t) => {
    const ch = await t.channel();
    const q = t.n('q');
    await ch.assertQueue(q, { exclusive: true });
    const a = await ch.consume(q, { noAck: true });
    const b = await ch.consume(q, { noAck: true });
    for (let i = 0; i < 6; i++) ch.sendToQueue(q, `m${i}`);
    await a.take(3);
    await b.take(3);
  });

  scenario('exclusive-consumer-blocks-others', async (t) => {
    const c = await t.conn();
    const a = await c.channel();
    const b = await c.channel();
    const q = t.n('q');
    await a.assertQueue(q, { exclusive: true });
    await a.consume(q, { exclusive: true });
    await t.fails(b.consume(q));
  });

  scenario('exclusive-consumer-refused-when-consumers-exist', async (t) => {
    const c = await t.conn();
    const a = await c.channel();
    const b = await c.channel();
    const q = t.n('q');
    await a.assertQueue(q, { exclusive: true });
    await a.consume(q);
    await t.fails(b.consume(q, { exclusive: true }));
  });

  scenario('consumer-priority', async (t) => {
    const ch = await t.channel();
    const q = t.n('q');
    await ch.assertQueue(q, { exclusive: true });
    const low = await ch.consume(q, { noAck: true, priority: 1 });
    const high = await ch.consume(q, { noAck: true, priority: 10 });
    for (let i = 0; i < 4; i++) ch.sendToQueue(q, `m${i}`);
    await high.take(4);
    await low.idle();
  });

  scenario('consumer-priority-blocked-by-prefetch', async (t) => {
    const c = await t.conn();
    const a = await c.channel();
    const b = await c.channel();
    const q = t.n('q');
    await a.assertQueue(q, { exclusive: true });
    await a.prefetch(1);
    const high = await a.consume(q, { priority: 10 });
    const low = await b.consume(q, { noAck: true, priority: 1 });
    for (let i = 0; i < 3; i++) a.sendToQueue(q, `m${i}`);
    await high.take(1);
    await low.take(2);
  });

  scenario('consumer-priority-invalid', async (t) => {
    const ch = await t.channel();
    const q = t.n('q');
    await ch.assertQueue(q, { exclusive: true });
    await t.tryOp(ch.consume(q, { arguments: { 'x-priority': 'high' } }));
  });

  scenario('single-active-consumer', async (t) => {
    const ch = await t.channel();
    const q = t.n('q');
    await ch.assertQueue(q, { exclusive: true, arguments: { 'x-single-active-consumer': true } });
    const first = await ch.consume(q, { noAck: true });
    const second = await ch.consume(q, { noAck: true });
    for (let i = 0; i < 3; i++) ch.sendToQueue(q, `m${i}`);
    await first.take(3);
    await second.idle();
    await ch.cancel(first);
    ch.sendToQueue(q, 'after-cancel');
    await second.take(1);
  });

  scenario('single-active-consumer-declare-ok-counts', async (t) => {
    const ch = await t.channel();
    const q = t.n('q');
    await ch.assertQueue(q, { exclusive: true, arguments: { 'x-single-active-consumer': true } });
    await ch.consume(q);
    await ch.consume(q);
    await ch.checkQueue(q);
  });

  scenario('redelivered-after-channel-close', async (t) => {
    const c = await t.conn();
    const a = await c.channel();
    const q = t.n('q');
    await a.assertQueue(q, { exclusive: true });
    for (const b of ['1', '2']) a.sendToQueue(q, b);
    const ca = await a.consume(q);
    await ca.take(2);
    await a.close();
    const b = await c.channel();
    const cb = await b.consume(q, { noAck: true });
    await cb.take(2);
  });

  scenario('redelivered-after-connection-close', async (t) => {
    const c1 = await t.connect();
    const c2 = await t.connect();
    const a = await c1.channel();
    const q = t.n('q');
    await a.assertQueue(q, { durable: false, autoDelete: false });
    a.sendToQueue(q, 'm');
    const ca = await a.consume(q);
    await ca.take(1);
    await c1.closeConn();
    const b = await c2.channel();
    const cb = await b.consume(q, { noAck: true });
    await cb.take(1);
    await b.deleteQueue(q);
  });

  scenario('get-empty', async (t) => {
    const ch = await t.channel();
    const q = t.n('q');
    await ch.assertQueue(q, { exclusive: true });
    await ch.get(q);
  });

  scenario('get-message-count', async (t) => {
    const ch = await t.channel();
    const q = t.n('q');
    await ch.assertQueue(q, { exclusive: true });
    for (const b of ['a', 'b', 'c']) ch.sendToQueue(q, b);
    await ch.get(q, { noAck: true });
    await ch.get(q);
    await ch.get(q, { noAck: true });
    await ch.get(q);
  });

  scenario('get-missing-queue', async (t) => {
    const ch = await t.channel();
    await t.fails(ch.get(t.n('missing')));
  });

  scenario('get-and-consume-share-delivery-tags', async (t) => {
    const ch = await t.channel();
    const q = t.n('q');
    await ch.assertQueue(q, { exclusive: true });
    for (const b of ['a', 'b', 'c']) ch.sendToQueue(q, b);
    await ch.get(q);
    const c = await ch.consume(q);
    await c.take(2);
  });

  scenario('server-cancel-on-queue-delete', async (t) => {
    const c = await t.conn();
    const a = await c.channel();
    const b = await c.channel();
    const q = t.n('q');
    await a.assertQueue(q, { durable: false });
    const consumer = await a.consume(q, { noAck: true });
    await b.deleteQueue(q);
    await consumer.cancelled();
    await a.assertQueue(t.n('still-open'), { exclusive: true });
  });

  scenario('consumers-on-two-channels', async (t) => {
    const c = await t.conn();
    const a = await c.channel();
    const b = await c.channel();
    const qa = t.n('qa');
    const qb = t.n('qb');
    await a.assertQueue(qa, { exclusive: true });
    await b.assertQueue(qb, { exclusive: true });
    const ca = await a.consume(qa, { noAck: true });
    const cb = await b.consume(qb, { noAck: true });
    a.sendToQueue(qb, 'to-b');
    b.sendToQueue(qa, 'to-a');
    await ca.take(1);
    await cb.take(1);
  });

  scenario('consume-no-local-ignored', async (t) => {
    const ch = await t.channel();
    const q = t.n('q');
    await ch.assertQueue(q, { exclusive: true });
    const c = await ch.consume(q, { noAck: true, noLocal: true });
    ch.sendToQueue(q, 'own');
    await c.take(1);
  });

  scenario('consume-arguments-unknown', async (t) => {
    const ch = await t.channel();
    const q = t.n('q');
    await ch.assertQueue(q, { exclusive: true });
    const c = await ch.consume(q, { noAck: true, arguments: { 'x-unknown': 1 } });
    ch.sendToQueue(q, 'm');
    await c.take(1);
  });

  scenario('delivery-tags-per-channel', async (t) => {
    const c = await t.conn();
    const a = await c.channel();
    const b = await c.channel();
    const q = t.n('q');
    await a.assertQueue(q, { exclusive: true });
    for (let i = 0; i < 4; i++) a.sendToQueue(q, `m${i}`);
    await a.get(q);
    await b.get(q);
    await a.get(q);
    await b.get(q);
    await drainBodies(t, a, q);
  });
});
