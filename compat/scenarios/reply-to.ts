// Direct reply-to: the amq.rabbitmq.reply-to pseudo-queue.
import { scenarios } from '../harness/scenario.js';

const REPLY_TO = 'amq.rabbitmq.reply-to';

export default scenarios('reply-to', 'amqplib', (scenario) => {
  scenario('round-trip', async (t) => {
    const c = await t.conn();
    const client = await c.channel();
    const server = await c.channel();
    const rpcq = t.n('rpc');
    await server.assertQueue(rpcq, { exclusive: true });
    const replies = await client.consume(REPLY_TO, { noAck: true });
    client.sendToQueue(rpcq, 'request', { replyTo: REPLY_TO, correlationId: 'c1' });
    const requests = await server.consume(rpcq, { noAck: true });
    const [req] = await requests.take(1);
    t.check(req!.properties.replyTo.startsWith(`${REPLY_TO}.`), 'reply-to rewritten');
    server.sendToQueue(req!.properties.replyTo, 'response', { correlationId: req!.properties.correlationId });
    await replies.take(1);
  });

  scenario('consume-requires-no-ack', async (t) => {
    const ch = await t.channel();
    await t.fails(ch.consume(REPLY_TO, { noAck: false }));
  });

  scenario('publish-without-consumer', async (t) => {
    const ch = await t.channel();
    ch.sendToQueue(t.n('anything'), 'request', { replyTo: REPLY_TO });
    await ch.closed();
  });

  scenario('passive-declare', async (t) => {
    const ch = await t.channel();
    await t.tryOp(ch.checkQueue(REPLY_TO));
  });

  scenario('reply-to-unknown-pseudo-queue', async (t) => {
    const ch = await t.channel();
    ch.sendToQueue(`${REPLY_TO}.bogus`, 'lost', { mandatory: true });
    await ch.assertQueue(t.n('sync'), { exclusive: true });
  });

  scenario('reply-after-requester-gone', async (t) => {
    const c1 = await t.connect();
    const c2 = await t.connect();
    const client = await c1.channel();
    const server = await c2.channel();
    const rpcq = t.n('rpc');
    await server.assertQueue(rpcq, { exclusive: true });
    await client.consume(REPLY_TO, { noAck: true });
    client.sendToQueue(rpcq, 'request', { replyTo: REPLY_TO });
    const requests = await server.consume(rpcq, { noAck: true });
    const [req] = await requests.take(1);
    await c1.closeConn();
    server.publish('', req!.properties.replyTo, 'late', { mandatory: true });
    await server.takeReturns(1);
  });

  scenario('second-consumer-on-channel', async (t) => {
    const ch = await t.channel();
    await ch.consume(REPLY_TO, { noAck: true });
    await t.tryOp(ch.consume(REPLY_TO, { noAck: true }));
  });

  scenario('cancel-reply-consumer', async (t) => {
    const ch = await t.channel();
    const c = await ch.consume(REPLY_TO, { noAck: true });
    await ch.cancel(c);
    ch.sendToQueue(t.n('anything'), 'request', { replyTo: REPLY_TO });
    await ch.closed();
  });
});
