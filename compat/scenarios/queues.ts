// queue.declare flags and arguments, equivalence, exclusivity, auto-delete, delete/purge, bindings,
// and the "last declared queue" defaulting of empty queue names.
import { scenarios } from '../harness/scenario.js';
import { drainBodies } from './helpers.js';

export default scenarios('queues', 'amqplib', (scenario) => {
  scenario('declare-server-named', async (t) => {
    const ch = await t.channel();
    const ok = await ch.assertQueue('', { exclusive: true });
    await ch.checkQueue(ok.queue);
    ch.sendToQueue(ok.queue, 'm');
    await ch.checkQueue(ok.queue);
  });

  scenario('declare-server-named-twice-differ', async (t) => {
    const ch = await t.channel();
    const a = await ch.assertQueue('', { exclusive: true });
    const b = await ch.assertQueue('', { exclusive: true });
    t.check(a.queue !== b.queue, 'two server-named queues differ');
  });

  scenario('declare-redeclare-same', async (t) => {
    const ch = await t.channel();
    const q = t.n('q');
    await ch.assertQueue(q, { exclusive: true });
    ch.sendToQueue(q, 'm');
    await ch.assertQueue(q, { exclusive: true });
  });

  scenario('declare-passive-missing', async (t) => {
    const ch = await t.channel();
    await t.fails(ch.checkQueue(t.n('missing')));
  });

  scenario('declare-passive-existing-counts', async (t) => {
    const ch = await t.channel();
    const q = t.n('q');
    await ch.assertQueue(q, { exclusive: true });
    ch.sendToQueue(q, 'a');
    ch.sendToQueue(q, 'b');
    await ch.consume(q, { noAck: false });
    await ch.checkQueue(q);
  });

  scenario('declare-passive-ignores-flags', async (t) => {
    const ch = await t.channel();
    const q = t.n('q');
    await ch.assertQueue(q, { durable: true, autoDelete: false });
    await ch.checkQueue(q);
    await ch.deleteQueue(q);
  });

  scenario('declare-reserved-amq-prefix', async (t) => {
    const ch = await t.channel();
    await t.fails(ch.assertQueue(`amq.${t.n('q')}`, { exclusive: true }));
  });

  scenario('declare-passive-amq-prefix-missing', async (t) => {
    const ch = await t.channel();
    await t.fails(ch.checkQueue(`amq.${t.n('q')}`));
  });

  scenario('declare-name-255', async (t) => {
    const ch = await t.channel();
    const q = t.n('q').padEnd(255, 'x');
    await ch.assertQueue(q, { exclusive: true });
    ch.sendToQueue(q, 'long-name');
    await drainBodies(t, ch, q);
  });

  scenario('declare-durable-persistent-counts', async (t) => {
    // Persistent messages reach the count asynchronously (message store): wait for the confirms.
    const ch = await t.confirmChannel();
    const q = t.n('q');
    await ch.assertQueue(q, { durable: true });
    ch.sendToQueue(q, 'p', { persistent: true });
    ch.sendToQueue(q, 't', { persistent: false });
    await ch.waitConfirms();
    await ch.checkQueue(q);
    await ch.deleteQueue(q);
  });

  scenario('declare-transient-non-exclusive', async (t) => {
    const ch = await t.channel();
    const q = t.n('q');
    await ch.assertQueue(q, { durable: false, exclusive: false, autoDelete: false });
    await ch.deleteQueue(q);
  });

  for (const [name, a, b] of [
    ['durable', { durable: true }, { durable: false }],
    ['exclusive', { exclusive: true }, { exclusive: false, durable: false }],
    ['auto-delete', { autoDelete: true, durable: false }, { autoDelete: false, durable: false }],
    ['message-ttl', { durable: false, messageTtl: 1000 }, { durable: false, messageTtl: 2000 }],
    ['max-length', { durable: false, maxLength: 1 }, { durable: false }],
    ['dead-letter-exchange', { durable: false, deadLetterExchange: 'a' }, { durable: false, deadLetterExchange: 'b' }],
    ['max-priority', { durable: false, maxPriority: 5 }, { durable: false, maxPriority: 6 }],
    ['expires', { durable: false, expires: 100000 }, { durable: false }],
    ['custom-argument', { durable: false, arguments: { 'my-arg': 1 } }, { durable: false, arguments: { 'my-arg': 2 } }],
  ] as Array<[string, Record<string, unknown>, Record<string, unknown>]>) {
    scenario(`equivalence-${name}`, async (t) => {
      const c = await t.conn();
      const ch = await c.channel();
      const q = t.n('q');
      await ch.assertQueue(q, a);
      await t.tryOp(ch.assertQueue(q, b));
      const ch2 = await c.channel();
      await ch2.deleteQueue(q);
    });
  }

  for (const [name, args] of [
    ['ttl-string', { 'x-message-ttl': 'ten' }],
    ['ttl-negative', { 'x-message-ttl': -1 }],
    ['expires-zero', { 'x-expires': 0 }],
    ['expires-string', { 'x-expires': '1000' }],
    ['max-length-negative', { 'x-max-length': -1 }],
    ['max-length-bytes-negative', { 'x-max-length-bytes': -5 }],
    ['max-priority-too-big', { 'x-max-priority': 256 }],
    ['max-priority-negative', { 'x-max-priority': -1 }],
    ['overflow-unknown', { 'x-overflow': 'sideways' }],
    ['dlx-number', { 'x-dead-letter-exchange': 5 }],
    ['dlrk-without-dlx', { 'x-dead-letter-routing-key': 'rk' }],
    ['queue-type-unknown', { 'x-queue-type': 'fancy' }],
    ['queue-mode-unknown', { 'x-queue-mode': 'sometimes' }],
    ['single-active-consumer-string', { 'x-single-active-consumer': 'yes' }],
  ] as Array<[string, Record<string, unknown>]>) {
    scenario(`argument-invalid-${name}`, async (t) => {
      const ch = await t.channel();
      await t.tryOp(ch.assertQueue(t.n('q'), { exclusive: true, arguments: args }));
    });
  }

  for (const [name, args] of [
    ['ttl-zero', { 'x-message-ttl': 0 }],
    ['max-length-zero', { 'x-max-length': 0 }],
    ['queue-mode-lazy', { 'x-queue-mode': 'lazy' }],
    ['queue-version-2', { 'x-queue-version': 2 }],
    ['queue-type-classic', { 'x-queue-type': 'classic' }],
    ['unknown-x-argument', { 'x-whatever': 'kept' }],
    ['overflow-reject-publish-dlx', { 'x-overflow': 'reject-publish-dlx' }],
  ] as Array<[string, Record<string, unknown>]>) {
    scenario(`argument-valid-${name}`, async (t) => {
      const ch = await t.channel();
      await ch.assertQueue(t.n('q'), { exclusive: true, arguments: args });
    });
  }

  scenario('exclusive-other-connection-locked', async (t) => {
    const c1 = await t.connect();
    const c2 = await t.connect();
    const a = await c1.channel();
    const q = t.n('q');
    await a.assertQueue(q, { exclusive: true });
    const b = await c2.channel();
    await t.fails(b.checkQueue(q));
    const b2 = await c2.channel();
    await t.fails(b2.assertQueue(q, { exclusive: true }));
    const b3 = await c2.channel();
    await t.fails(b3.consume(q));
    const b4 = await c2.channel();
    await t.fails(b4.deleteQueue(q));
    const b5 = await c2.channel();
    await t.fails(b5.purgeQueue(q));
  });

  scenario('exclusive-other-connection-publish-allowed', async (t) => {
    const c1 = await t.connect();
    const c2 = await t.connect();
    const a = await c1.channel();
    const q = t.n('q');
    await a.assertQueue(q, { exclusive: true });
    const b = await c2.channel();
    b.sendToQueue(q, 'from-other-connection');
    await b.assertQueue(t.n('sync'), { exclusive: true });
    await a.waitForCount(q, 1);
    await drainBodies(t, a, q);
  });

  scenario('exclusive-same-connection-other-channel', async (t) => {
    const c = await t.connect();
    const a = await c.channel();
    const b = await c.channel();
    const q = t.n('q');
    await a.assertQueue(q, { exclusive: true });
    await b.checkQueue(q);
    await b.assertQueue(q, { exclusive: true });
  });

  scenario('exclusive-deleted-when-connection-closes', async (t) => {
    const c1 = await t.connect();
    const c2 = await t.connect();
    const a = await c1.channel();
    const q = t.n('q');
    await a.assertQueue(q, { exclusive: true });
    await c1.closeConn();
    const b = await c2.channel();
    await t.fails(b.checkQueue(q));
  });

  scenario('exclusive-survives-channel-close', async (t) => {
    const c = await t.connect();
    const a = await c.channel();
    const q = t.n('q');
    await a.assertQueue(q, { exclusive: true });
    await a.close();
    const b = await c.channel();
    await b.checkQueue(q);
  });

  scenario('auto-delete-after-last-consumer-cancels', async (t) => {
    const ch = await t.channel();
    const q = t.n('q');
    await ch.assertQueue(q, { autoDelete: true, durable: false });
    const c1 = await ch.consume(q);
    const c2 = await ch.consume(q);
    await ch.cancel(c1);
    await ch.checkQueue(q);
    await ch.cancel(c2);
    await t.sleep(20);
    await t.fails(ch.checkQueue(q));
  });

  scenario('auto-delete-never-consumed-stays', async (t) => {
    const ch = await t.channel();
    const q = t.n('q');
    await ch.assertQueue(q, { autoDelete: true, durable: false });
    await ch.checkQueue(q);
    await ch.deleteQueue(q);
  });

  scenario('auto-delete-after-consumer-channel-closes', async (t) => {
    const c = await t.conn();
    const a = await c.channel();
    const b = await c.channel();
    const q = t.n('q');
    await a.assertQueue(q, { autoDelete: true, durable: false });
    await a.consume(q);
    await a.close();
    await t.sleep(20);
    await t.fails(b.checkQueue(q));
  });

  scenario('auto-delete-get-does-not-count', async (t) => {
    const ch = await t.channel();
    const q = t.n('q');
    await ch.assertQueue(q, { autoDelete: true, durable: false });
    ch.sendToQueue(q, 'm');
    await ch.get(q, { noAck: true });
    await ch.checkQueue(q);
    await ch.deleteQueue(q);
  });

  scenario('delete-returns-message-count', async (t) => {
    const ch = await t.channel();
    const q = t.n('q');
    await ch.assertQueue(q, { exclusive: true });
    for (const b of ['a', 'b', 'c']) ch.sendToQueue(q, b);
    await ch.deleteQueue(q);
  });

  scenario('delete-missing', async (t) => {
    const ch = await t.channel();
    await t.tryOp(ch.deleteQueue(t.n('missing')));
    await ch.assertQueue(t.n('q'), { exclusive: true });
  });

  scenario('delete-if-empty-not-empty', async (t) => {
    const c = await t.conn();
    const ch = await c.channel();
    const q = t.n('q');
    await ch.assertQueue(q, { exclusive: true });
    ch.sendToQueue(q, 'm');
    await t.fails(ch.deleteQueue(q, { ifEmpty: true }));
    const ch2 = await c.channel();
    await ch2.deleteQueue(q);
  });

  scenario('delete-if-empty-empty', async (t) => {
    const ch = await t.channel();
    const q = t.n('q');
    await ch.assertQueue(q, { exclusive: true });
    await ch.deleteQueue(q, { ifEmpty: true });
  });

  scenario('delete-if-unused-with-consumer', async (t) => {
    const c = await t.conn();
    const ch = await c.channel();
    const q = t.n('q');
    await ch.assertQueue(q, { exclusive: true });
    await ch.consume(q);
    const ch2 = await c.channel();
    await t.fails(ch2.deleteQueue(q, { ifUnused: true }));
    const ch3 = await c.channel();
    await ch3.deleteQueue(q);
  });

  scenario('delete-if-unused-unacked-only', async (t) => {
    const ch = await t.channel();
    const q = t.n('q');
    await ch.assertQueue(q, { exclusive: true });
    ch.sendToQueue(q, 'm');
    await ch.get(q);
    await ch.deleteQueue(q, { ifUnused: true });
  });

  scenario('delete-cancels-consumers', async (t) => {
    const c = await t.conn();
    const a = await c.channel();
    const b = await c.channel();
    const q = t.n('q');
    await a.assertQueue(q, { exclusive: true });
    const consumer = await a.consume(q);
    await b.deleteQueue(q);
    await consumer.cancelled();
  });

  scenario('delete-with-unacked', async (t) => {
    const c = await t.conn();
    const a = await c.channel();
    const b = await c.channel();
    const q = t.n('q');
    await a.assertQueue(q, { exclusive: true });
    a.sendToQueue(q, '1');
    a.sendToQueue(q, '2');
    const m = await a.get(q);
    await b.deleteQueue(q);
    if (m) a.ack(m);
    await a.assertQueue(t.n('after'), { exclusive: true });
  });

  scenario('purge-counts', async (t) => {
    const ch = await t.channel();
    const q = t.n('q');
    await ch.assertQueue(q, { exclusive: true });
    for (const b of ['a', 'b', 'c']) ch.sendToQueue(q, b);
    await ch.get(q);
    await ch.purgeQueue(q);
    await ch.checkQueue(q);
    await ch.purgeQueue(q);
  });

  scenario('purge-keeps-unacked', async (t) => {
    const ch = await t.channel();
    const q = t.n('q');
    await ch.assertQueue(q, { exclusive: true });
    ch.sendToQueue(q, 'a');
    ch.sendToQueue(q, 'b');
    const m = await ch.get(q);
    await ch.purgeQueue(q);
    if (m) ch.nack(m, false, true);
    await drainBodies(t, ch, q);
  });

  scenario('purge-missing', async (t) => {
    const ch = await t.channel();
    await t.fails(ch.purgeQueue(t.n('missing')));
  });

  scenario('bind-missing-exchange', async (t) => {
    const ch = await t.channel();
    const q = t.n('q');
    await ch.assertQueue(q, { exclusive: true });
    await t.fails(ch.bindQueue(q, t.n('missing'), 'k'));
  });

  scenario('bind-missing-queue', async (t) => {
    const ch = await t.channel();
    await t.fails(ch.bindQueue(t.n('missing'), 'amq.direct', 'k'));
  });

  scenario('bind-twice-idempotent', async (t) => {
    const ch = await t.channel();
    const q = t.n('q');
    await ch.assertQueue(q, { exclusive: true });
    await ch.bindQueue(q, 'amq.direct', t.n('k'));
    await ch.bindQueue(q, 'amq.direct', t.n('k'));
    ch.publish('amq.direct', t.n('k'), 'once');
    await drainBodies(t, ch, q);
  });

  scenario('unbind-missing-queue', async (t) => {
    const ch = await t.channel();
    await t.tryOp(ch.unbindQueue(t.n('missing'), 'amq.direct', 'k'));
  });

  scenario('unbind-missing-exchange', async (t) => {
    const ch = await t.channel();
    const q = t.n('q');
    await ch.assertQueue(q, { exclusive: true });
    await t.tryOp(ch.unbindQueue(q, t.n('missing'), 'k'));
  });

  scenario('empty-name-defaults-to-last-declared', async (t) => {
    const ch = await t.channel();
    const ok = await ch.assertQueue('', { exclusive: true });
    await ch.bindQueue('', 'amq.direct', t.n('k'));
    ch.publish('amq.direct', t.n('k'), 'via-default-name');
    await ch.get('', { noAck: true });
    await ch.purgeQueue('');
    await ch.deleteQueue('');
    await t.fails(ch.checkQueue(ok.queue));
  });

  scenario('empty-name-without-previous-declare', async (t) => {
    const ch = await t.channel();
    await t.fails(ch.get('', { noAck: true }));
  });

  scenario('empty-name-consume-last-declared', async (t) => {
    const ch = await t.channel();
    const ok = await ch.assertQueue('', { exclusive: true });
    ch.sendToQueue(ok.queue, 'm');
    const c = await ch.consume('', { noAck: true });
    await c.take(1);
  });

  scenario('empty-name-passive-declare-without-previous', async (t) => {
    const ch = await t.channel();
    await t.tryOp(ch.checkQueue(''));
  });

  scenario('declare-ok-consumer-count', async (t) => {
    const c = await t.conn();
    const a = await c.channel();
    const b = await c.channel();
    const q = t.n('q');
    await a.assertQueue(q, { exclusive: true });
    await a.consume(q);
    await b.consume(q);
    await a.checkQueue(q);
    await b.close();
    await a.checkQueue(q);
  });
});
