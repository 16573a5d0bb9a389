// Message TTL (per queue, per message), queue TTL (x-expires), and their edge cases.
import { scenarios } from '../harness/scenario.js';
import { drainBodies } from './helpers.js';

export default scenarios('ttl', 'amqplib', (scenario) => {
  scenario('queue-ttl-expires-messages', async (t) => {
    const ch = await t.channel();
    const q = t.n('q');
    await ch.assertQueue(q, { exclusive: true, messageTtl: 20 });
    ch.sendToQueue(q, 'm');
    await ch.processed();
    await t.sleep(80);
    await ch.checkQueue(q);
    await ch.get(q);
  });

  scenario('queue-ttl-zero-without-consumer', async (t) => {
    const ch = await t.channel();
    const q = t.n('q');
    await ch.assertQueue(q, { exclusive: true, messageTtl: 0 });
    ch.sendToQueue(q, 'm');
    await ch.checkQueue(q);
    await ch.get(q);
  });

  scenario('queue-ttl-zero-with-consumer', async (t) => {
    const ch = await t.channel();
    const q = t.n('q');
    await ch.assertQueue(q, { exclusive: true, messageTtl: 0 });
    const c = await ch.consume(q, { noAck: true });
    ch.sendToQueue(q, 'm');
    await c.take(1);
  });

  scenario('message-expiration', async (t) => {
    const ch = await t.channel();
    const q = t.n('q');
    await ch.assertQueue(q, { exclusive: true });
    ch.sendToQueue(q, 'short', { expiration: '20' });
    ch.sendToQueue(q, 'long', { expiration: '60000' });
    ch.sendToQueue(q, 'forever');
    await ch.processed();
    await t.sleep(100);
    await drainBodies(t, ch, q);
  });

  scenario('message-expiration-property-delivered', async (t) => {
    const ch = await t.channel();
    const q = t.n('q');
    await ch.assertQueue(q, { exclusive: true });
    ch.sendToQueue(q, 'm', { expiration: '60000' });
    await ch.get(q, { noAck: true });
  });

  scenario('message-expiration-zero', async (t) => {
    const ch = await t.channel();
    const q = t.n('q');
    await ch.assertQueue(q, { exclusive: true });
    ch.sendToQueue(q, 'gone', { expiration: '0' });
    await ch.get(q);
  });

  scenario('message-expiration-invalid', async (t) => {
    const ch = await t.channel();
    const q = t.n('q');
    await ch.assertQueue(q, { exclusive: true });
    ch.sendToQueue(q, 'm', { expiration: 'soon' });
    await ch.closed();
  });

  scenario('message-expiration-negative', async (t) => {
    const ch = await t.channel();
    const q = t.n('q');
    await ch.assertQueue(q, { exclusive: true });
    ch.sendToQueue(q, 'm', { expiration: '-5' });
    await ch.closed();
  });

  scenario('lower-of-queue-and-message-ttl', async (t) => {
    const ch = await t.channel();
    const q = t.n('q');
    await ch.assertQueue(q, { exclusive: true, messageTtl: 20 });
    ch.sendToQueue(q, 'msg-ttl-longer', { expiration: '60000' });
    await ch.processed();
    await t.sleep(80);
    await ch.checkQueue(q);
  });

  scenario('expiry-only-at-head', async (t) => {
    // RabbitMQ expires per-message TTLs only from the head: an expired message behind a live one stays
    // counted until it reaches the head, but is never delivered.
    const ch = await t.channel();
    const q = t.n('q');
    await ch.assertQueue(q, { exclusive: true });
    ch.sendToQueue(q, 'live', { expiration: '60000' });
    ch.sendToQueue(q, 'dies', { expiration: '10' });
    await ch.processed();
    await t.sleep(60);
    await ch.checkQueue(q);
    await drainBodies(t, ch, q);
  });

  scenario('requeued-message-keeps-ttl', async (t) => {
    const ch = await t.channel();
    const q = t.n('q');
    // Long enough that the first get always finds the message, even on a loaded machine.
    await ch.assertQueue(q, { exclusive: true, messageTtl: 250 });
    ch.sendToQueue(q, 'm');
    const m = await ch.get(q);
    await t.sleep(400);
    if (m) ch.nack(m, false, true);
    await t.sleep(30);
    await ch.get(q, { noAck: true });
  });

  scenario('unacked-not-expired', async (t) => {
    const ch = await t.channel();
    const q = t.n('q');
    await ch.assertQueue(q, { exclusive: true, messageTtl: 150 });
    const c = await ch.consume(q);
    ch.sendToQueue(q, 'm');
    const [m] = await c.take(1);
    await t.sleep(250);
    ch.ack(m!);
    await ch.checkQueue(q);
  });

  scenario('queue-expires-unused', async (t) => {
    const ch = await t.channel();
    const q = t.n('q');
    await ch.assertQueue(q, { durable: false, expires: 50 });
    await t.sleep(250);
    await t.fails(ch.checkQueue(q));
  });

  scenario('queue-expires-kept-alive-by-consumer', async (t) => {
    const ch = await t.channel();
    const q = t.n('q');
    await ch.assertQueue(q, { durable: false, expires: 50 });
    await ch.consume(q);
    await t.sleep(200);
    await ch.checkQueue(q);
    await ch.deleteQueue(q);
  });

  scenario('queue-expires-redeclare-resets', async (t) => {
    const ch = await t.channel();
    const q = t.n('q');
    await ch.assertQueue(q, { durable: false, expires: 200 });
    await t.sleep(120);
    await ch.assertQueue(q, { durable: false, expires: 200 });
    await t.sleep(120);
    await ch.checkQueue(q);
    await ch.deleteQueue(q);
  });

  scenario('queue-ttl-with-consumer-delivers', async (t) => {
    const ch = await t.channel();
    const q = t.n('q');
    await ch.assertQueue(q, { exclusive: true, messageTtl: 10_000 });
    const c = await ch.consume(q, { noAck: true });
    ch.sendToQueue(q, 'm', { expiration: '5000' });
    await c.take(1);
  });
});
