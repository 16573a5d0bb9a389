// python pika scenarios, and the crossings between pika and amqplib (headers and properties
// published by one client library and consumed by the other).
import { runPika } from '../harness/pika.js';
import { scenarios } from '../harness/scenario.js';

export const pika = scenarios('pika', 'pika', (scenario) => {
  scenario('declare-publish-get-all-properties', async (t) => {
    await runPika(t, 'declare-publish-get', { q: t.n('q') });
  });
  scenario('passive-declare-missing', async (t) => {
    await runPika(t, 'passive-missing', { q: t.n('missing') });
  });
  scenario('consume-ack-nack-prefetch', async (t) => {
    await runPika(t, 'consume-ack-nack', { q: t.n('q') });
  });
  scenario('transactions', async (t) => {
    await runPika(t, 'tx', { q: t.n('q') });
  });
  scenario('confirms-and-mandatory', async (t) => {
    await runPika(t, 'confirms-mandatory', { q: t.n('q') });
  });
  scenario('exchange-errors', async (t) => {
    await runPika(t, 'exchange-errors', { x: t.n('x') });
  });
  scenario('server-cancel-notification', async (t) => {
    await runPika(t, 'server-cancel', { q: t.n('q') });
  });
  scenario('headers-exchange-typed-values', async (t) => {
    await runPika(t, 'headers-exchange', { q: t.n('q'), x: t.n('x') });
  });
  scenario('dead-letter-x-death', async (t) => {
    await runPika(t, 'dead-letter-x-death', { q: t.n('q'), dead: t.n('dead') });
  });
});

export const cross = scenarios('cross', 'cross', (scenario) => {
  scenario('pika-publishes-amqplib-consumes', async (t) => {
    const ch = await t.channel();
    const q = t.n('q');
    await ch.assertQueue(q, { durable: false, autoDelete: false });
    await runPika(t, 'publish-for-amqplib', { q });
    const c = await ch.consume(q, { noAck: true });
    await c.take(2);
    await ch.deleteQueue(q);
  });

  scenario('amqplib-publishes-pika-consumes', async (t) => {
    const ch = await t.confirmChannel();
    const q = t.n('q');
    await ch.assertQueue(q, { durable: false, autoDelete: false });
    ch.sendToQueue(q, 'amqplib → pika', {
      contentType: 'text/plain',
      contentEncoding: 'utf-8',
      deliveryMode: 2,
      priority: 4,
      correlationId: 'c-9',
      replyTo: 'r',
      expiration: '60000',
      messageId: 'm-9',
      timestamp: 1700000001,
      type: 't',
      userId: 'guest',
      appId: 'amqplib',
      headers: {
        str: 'ünicode',
        int: 7,
        neg: -300,
        big: 5_000_000_000,
        float: 2.5,
        bool: false,
        nil: null,
        buf: Buffer.from([1, 2, 3]),
        arr: [1, 'a', [true]],
        nested: { k: { v: 1 } },
        ts: { '!': 'timestamp', value: 1700000002 },
        dec: { '!': 'decimal', value: { places: 2, digits: 314 } },
      },
    });
    ch.sendToQueue(q, Buffer.alloc(0));
    await ch.waitConfirms();
    await runPika(t, 'consume-from-amqplib', { q });
    await ch.deleteQueue(q);
  });

  scenario('pika-dead-letters-amqplib-reads-x-death', async (t) => {
    const ch = await t.channel();
    const q = t.n('q');
    const dead = t.n('dead');
    await ch.assertQueue(dead, { durable: false, autoDelete: false });
    await ch.assertQueue(q, { durable: false, autoDelete: false, deadLetterExchange: '', deadLetterRoutingKey: dead });
    ch.sendToQueue(q, 'to-be-rejected', { headers: { from: 'amqplib' } });
    await ch.checkQueue(q);
    await runPika(t, 'reject-one', { q });
    await ch.waitForCount(dead, 1);
    await ch.get(dead, { noAck: true });
    await ch.deleteQueue(q);
    await ch.deleteQueue(dead);
  });
});
