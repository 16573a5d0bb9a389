// Dead-lettering: reasons, routing keys, x-death entries and counting, cycles.
import { scenarios, type Ctx } from '../harness/scenario.js';
import { drainBodies } from './helpers.js';

/** A queue dead-lettering into exchange `dlx` (fanout) bound to queue `dead`. */
async function setup(t: Ctx, args: Record<string, unknown> = {}, dlxType = 'fanout') {
  const ch = await t.channel();
  const dlx = t.n('dlx');
  const q = t.n('q');
  const dead = t.n('dead');
  await ch.assertExchange(dlx, dlxType, { durable: false });
  await ch.assertQueue(dead, { exclusive: true });
  await ch.bindQueue(dead, dlx, dlxType === 'fanout' ? '' : '#');
  await ch.assertQueue(q, { exclusive: true, arguments: { 'x-dead-letter-exchange': dlx, ...args } });
  return { ch, q, dead, dlx };
}

export default scenarios('dlx', 'amqplib', (scenario) => {
  scenario('reject-dead-letters', async (t) => {
    const { ch, q, dead, dlx } = await setup(t);
    ch.sendToQueue(q, 'm', { headers: { keep: 'me' }, messageId: 'id1' });
    const m = await ch.get(q);
    if (m) ch.reject(m, false);
    await ch.waitForCount(dead, 1);
    await ch.get(dead, { noAck: true });
    await ch.deleteExchange(dlx);
  });

  scenario('nack-dead-letters', async (t) => {
    const { ch, q, dead, dlx } = await setup(t);
    ch.sendToQueue(q, 'm');
    const m = await ch.get(q);
    if (m) ch.nack(m, false, false);
    await ch.waitForCount(dead, 1);
    await ch.get(dead, { noAck: true });
    await ch.deleteExchange(dlx);
  });

  scenario('nack-multiple-dead-letters-in-order', async (t) => {
    const { ch, q, dead, dlx } = await setup(t);
    for (const b of ['a', 'b', 'c']) ch.sendToQueue(q, b);
    await ch.get(q);
    await ch.get(q);
    const m3 = await ch.get(q);
    if (m3) ch.nack(m3, true, false);
    await ch.waitForCount(dead, 3);
    await drainBodies(t, ch, dead);
    await ch.deleteExchange(dlx);
  });

  scenario('requeue-does-not-dead-letter', async (t) => {
    const { ch, q, dead, dlx } = await setup(t);
    ch.sendToQueue(q, 'm');
    const m = await ch.get(q);
    if (m) ch.nack(m, false, true);
    await ch.checkQueue(dead);
    await ch.checkQueue(q);
    await ch.deleteExchange(dlx);
  });

  scenario('expired-dead-letters', async (t) => {
    const { ch, q, dead, dlx } = await setup(t, { 'x-message-ttl': 20 });
    ch.sendToQueue(q, 'm');
    const c = await ch.consume(dead, { noAck: true });
    await c.take(1);
    await ch.deleteExchange(dlx);
  });

  scenario('per-message-expiration-dead-letters', async (t) => {
    const { ch, q, dead, dlx } = await setup(t);
    ch.sendToQueue(q, 'm', { expiration: '20' });
    const c = await ch.consume(dead, { noAck: true });
    await c.take(1);
    await ch.deleteExchange(dlx);
  });

  scenario('max-length-dead-letters-head', async (t) => {
    const { ch, q, dead, dlx } = await setup(t, { 'x-max-length': 2 });
    for (const b of ['a', 'b', 'c', 'd']) ch.sendToQueue(q, b);
    // RabbitMQ dead-letters dropped heads asynchronously, from one queue process to another.
    await ch.waitForCount(dead, 2);
    await drainBodies(t, ch, dead, 'dead');
    await drainBodies(t, ch, q, 'live');
    await ch.deleteExchange(dlx);
  });

  scenario('dead-letter-routing-key', async (t) => {
    const { ch, q, dead, dlx } = await setup(t, { 'x-dead-letter-routing-key': 'new.key' }, 'topic');
    ch.sendToQueue(q, 'm');
    const m = await ch.get(q);
    if (m) ch.reject(m, false);
    await ch.waitForCount(dead, 1);
    await ch.get(dead, { noAck: true });
    await ch.deleteExchange(dlx);
  });

  scenario('dead-letter-keeps-original-routing-key', async (t) => {
    const ch = await t.channel();
    const dlx = t.n('dlx');
    const q = t.n('q');
    const dead = t.n('dead');
    await ch.assertExchange(dlx, 'direct', { durable: false });
    await ch.assertQueue(dead, { exclusive: true });
    await ch.bindQueue(dead, dlx, 'orig');
    await ch.assertQueue(q, { exclusive: true, arguments: { 'x-dead-letter-exchange': dlx } });
    await ch.bindQueue(q, 'amq.direct', 'orig');
    ch.publish('amq.direct', 'orig', 'm');
    const m = await ch.get(q);
    if (m) ch.reject(m, false);
    await ch.waitForCount(dead, 1);
    await ch.get(dead, { noAck: true });
    await ch.deleteExchange(dlx);
  });

  scenario('dead-letter-to-default-exchange', async (t) => {
    const ch = await t.channel();
    const q = t.n('q');
    const dead = t.n('dead');
    await ch.assertQueue(dead, { exclusive: true });
    await ch.assertQueue(q, { exclusive: true, arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dead } });
    ch.sendToQueue(q, 'm');
    const m = await ch.get(q);
    if (m) ch.reject(m, false);
    await ch.waitForCount(dead, 1);
    await ch.get(dead, { noAck: true });
  });

  scenario('dead-letter-exchange-missing-drops', async (t) => {
    const ch = await t.channel();
    const q = t.n('q');
    await ch.assertQueue(q, { exclusive: true, arguments: { 'x-dead-letter-exchange': t.n('nowhere') } });
    ch.sendToQueue(q, 'm');
    const m = await ch.get(q);
    if (m) ch.reject(m, false);
    await ch.checkQueue(q);
  });

  scenario('x-death-count-increments', async (t) => {
    // q dead-letters to retry; retry's TTL sends it back to q; rejecting twice gives a count of 2.
    const ch = await t.channel();
    const q = t.n('q');
    const retry = t.n('retry');
    await ch.assertQueue(q, { exclusive: true, arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': retry } });
    await ch.assertQueue(retry, { exclusive: true, arguments: { 'x-message-ttl': 10, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': q } });
    ch.sendToQueue(q, 'm');
    const c = await ch.consume(q);
    const [first] = await c.take(1);
    ch.reject(first!, false);
    const [second] = await c.take(1);
    ch.reject(second!, false);
    const [third] = await c.take(1);
    ch.ack(third!);
  });

  scenario('x-death-two-queues', async (t) => {
    const ch = await t.channel();
    const a = t.n('a');
    const b = t.n('b');
    const dead = t.n('dead');
    await ch.assertQueue(dead, { exclusive: true });
    await ch.assertQueue(b, { exclusive: true, arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dead } });
    await ch.assertQueue(a, { exclusive: true, arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': b } });
    ch.sendToQueue(a, 'm');
    const m1 = await ch.get(a);
    if (m1) ch.reject(m1, false);
    await ch.waitForCount(b, 1);
    const m2 = await ch.get(b);
    if (m2) ch.nack(m2, false, false);
    await ch.waitForCount(dead, 1);
    await ch.get(dead, { noAck: true });
  });

  scenario('cycle-without-rejection-dropped', async (t) => {
    // Expiry loops a -> b -> a; RabbitMQ drops a message that completes a cycle with no rejection.
    const ch = await t.channel();
    const a = t.n('a');
    await ch.assertQueue(a, { exclusive: true, arguments: { 'x-message-ttl': 10, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': a } });
    ch.sendToQueue(a, 'm');
    await ch.processed();
    await t.sleep(100);
    await ch.checkQueue(a);
  });

  scenario('expiration-property-removed', async (t) => {
    const { ch, q, dead, dlx } = await setup(t);
    ch.sendToQueue(q, 'm', { expiration: '60000' });
    const m = await ch.get(q);
    if (m) ch.reject(m, false);
    await ch.waitForCount(dead, 1);
    await ch.get(dead, { noAck: true });
    await ch.deleteExchange(dlx);
  });

  scenario('properties-preserved', async (t) => {
    const { ch, q, dead, dlx } = await setup(t);
    ch.sendToQueue(q, 'body', {
      contentType: 'text/plain',
      contentEncoding: 'utf8',
      headers: { a: 1, b: 'two' },
      deliveryMode: 2,
      priority: 3,
      correlationId: 'corr',
      replyTo: 'reply',
      messageId: 'mid',
      timestamp: 1700000000,
      type: 'kind',
      appId: 'app',
    });
    const m = await ch.get(q);
    if (m) ch.reject(m, false);
    await ch.waitForCount(dead, 1);
    await ch.get(dead, { noAck: true });
    await ch.deleteExchange(dlx);
  });

  scenario('cc-header-routing-keys', async (t) => {
    const { ch, q, dead, dlx } = await setup(t);
    await ch.bindQueue(q, 'amq.direct', t.n('k1'));
    await ch.bindQueue(q, 'amq.direct', t.n('k2'));
    ch.publish('amq.direct', t.n('k1'), 'm', { CC: [t.n('k2')] });
    const m = await ch.get(q);
    if (m) ch.reject(m, false);
    await ch.waitForCount(dead, 1);
    await ch.get(dead, { noAck: true });
    await ch.checkQueue(q);
    await ch.deleteExchange(dlx);
  });

  scenario('queue-delete-does-not-dead-letter', async (t) => {
    const { ch, q, dead, dlx } = await setup(t);
    ch.sendToQueue(q, 'm');
    await ch.deleteQueue(q);
    await ch.checkQueue(dead);
    await ch.deleteExchange(dlx);
  });

  scenario('purge-does-not-dead-letter', async (t) => {
    const { ch, q, dead, dlx } = await setup(t);
    ch.sendToQueue(q, 'm');
    await ch.purgeQueue(q);
    await ch.checkQueue(dead);
    await ch.deleteExchange(dlx);
  });

  scenario('dead-letter-to-consumer', async (t) => {
    const { ch, q, dead, dlx } = await setup(t);
    const c = await ch.consume(dead, { noAck: true });
    ch.sendToQueue(q, 'm');
    const m = await ch.get(q);
    if (m) ch.reject(m, false);
    await c.take(1);
    await ch.deleteExchange(dlx);
  });
});
