// The other Node clients: amqplib's callback API and @cloudamqp/amqp-client, each over the scenarios
// that matter to it. Recorded explicitly with t.record (these clients are not wrapped).
import { AMQPClient, AMQPError } from '@cloudamqp/amqp-client';
import type { Ctx } from '../harness/scenario.js';
import { renderBody, renderValue, scenarios } from '../harness/scenario.js';
import * as cb from 'amqplib/callback_api';

function cbConnect(t: Ctx): Promise<cb.Connection> {
  return new Promise((resolve, reject) =>
    cb.connect(t.target.url, (err: unknown, conn: cb.Connection) => {
      if (err) return reject(err);
      conn.on('error', () => {});
      t.onTeardown(() => new Promise<void>((r) => conn.close(() => r())));
      resolve(conn);
    }),
  );
}

function cbChannel(conn: cb.Connection, confirm = false): Promise<cb.Channel> {
  return new Promise((resolve, reject) => {
    const done = (err: unknown, ch: cb.Channel) => {
      if (err) return reject(err);
      ch.on('error', () => {});
      resolve(ch);
    };
    if (confirm) conn.createConfirmChannel(done);
    else conn.createChannel(done);
  });
}

/** Call a callback-API method and record its reply (or error) in the transcript. */
function call<T>(t: Ctx, label: string, f: (done: (err: unknown, ok?: T) => void) => void): Promise<T | undefined> {
  return new Promise((resolve) =>
    f((err, ok) => {
      if (err) t.record(label, { error: (err as Error).message });
      else t.record(label, ok ?? 'ok');
      resolve(err ? undefined : ok);
    }),
  );
}

export const callback = scenarios('callback', 'amqplib-callback', (scenario) => {
  scenario('declare-publish-get', async (t) => {
    const ch = await cbChannel(await cbConnect(t));
    const q = t.n('q');
    await call(t, 'assertQueue', (d) => ch.assertQueue(q, { exclusive: true }, d));
    ch.sendToQueue(q, Buffer.from('cb'), { headers: { a: 1 }, messageId: 'm' });
    const m = await call<cb.Message | false>(t, 'get', (d) => ch.get(q, { noAck: true }, d));
    t.record('message', m ? { fields: m.fields, props: m.properties, body: renderBody(m.content) } : 'empty');
  });

  scenario('passive-missing-error', async (t) => {
    const ch = await cbChannel(await cbConnect(t));
    await call(t, 'checkQueue', (d) => ch.checkQueue(t.n('missing'), d));
  });

  scenario('consume-ack', async (t) => {
    const ch = await cbChannel(await cbConnect(t));
    const q = t.n('q');
    await call(t, 'assertQueue', (d) => ch.assertQueue(q, { exclusive: true }, d));
    for (const b of ['a', 'b']) ch.sendToQueue(q, Buffer.from(b));
    const got: unknown[] = [];
    await new Promise<void>((resolve) => {
      ch.consume(q, (m) => {
        if (!m) return;
        got.push({ tag: m.fields.deliveryTag, redelivered: m.fields.redelivered, body: m.content.toString() });
        ch.ack(m);
        if (got.length === 2) resolve();
      }, { noAck: false }, () => {});
    });
    t.record('deliveries', got);
    await call(t, 'checkQueue', (d) => ch.checkQueue(q, d));
  });

  scenario('confirm-channel', async (t) => {
    const ch = await cbChannel(await cbConnect(t), true);
    const q = t.n('q');
    await call(t, 'assertQueue', (d) => ch.assertQueue(q, { exclusive: true }, d));
    const results: string[] = [];
    await new Promise<void>((resolve) => {
      for (let i = 0; i < 3; i++) (ch as cb.ConfirmChannel).sendToQueue(q, Buffer.from(`m${i}`), {}, (err) => {
        results.push(err ? 'nack' : 'ack');
        if (results.length === 3) resolve();
      });
    });
    t.record('confirms', results);
  });

  scenario('exchange-routing', async (t) => {
    // A confirm channel: RabbitMQ enqueues asynchronously, so only confirmed publishes are surely
    // counted by checkQueue (without them its count was seen to lag: 1 instead of 2).
    const ch = (await cbChannel(await cbConnect(t), true)) as cb.ConfirmChannel;
    const x = t.n('x');
    const q = t.n('q');
    await call(t, 'assertExchange', (d) => ch.assertExchange(x, 'topic', { durable: false }, d));
    await call(t, 'assertQueue', (d) => ch.assertQueue(q, { exclusive: true }, d));
    await call(t, 'bindQueue', (d) => ch.bindQueue(q, x, 'a.#', {}, d));
    for (const rk of ['a', 'a.b', 'b.a']) ch.publish(x, rk, Buffer.from(rk));
    await new Promise<void>((resolve, reject) => ch.waitForConfirms((err?: unknown) => (err ? reject(err) : resolve())));
    await call(t, 'checkQueue', (d) => ch.checkQueue(q, d));
    await call(t, 'deleteExchange', (d) => ch.deleteExchange(x, {}, d));
  });

  scenario('channel-error-event', async (t) => {
    const ch = await cbChannel(await cbConnect(t));
    const closed = new Promise<unknown>((resolve) => ch.once('error', (e: { code?: number; message: string }) => resolve({ code: e.code, message: e.message })));
    ch.publish(t.n('missing'), 'k', Buffer.from('x'));
    t.record('error-event', await closed);
  });
});

async function acConnect(t: Ctx): Promise<AMQPClient> {
  const client = new AMQPClient(t.target.url);
  await client.connect();
  t.onTeardown(async () => {
    if (!client.closed) await client.close().catch(() => {});
  });
  return client;
}

async function rec<T>(t: Ctx, label: string, p: Promise<T>, view: (v: T) => unknown = (v) => v): Promise<T | undefined> {
  try {
    const v = await p;
    t.record(label, renderValue(view(v)) ?? 'ok');
    return v;
  } catch (err) {
    t.record(label, { error: err instanceof AMQPError ? err.message : (err as Error).message });
    return undefined;
  }
}

export const amqpClient = scenarios('amqp-client', 'amqp-client', (scenario) => {
  scenario('declare-publish-get', async (t) => {
    const ch = await (await acConnect(t)).channel();
    const q = t.n('q');
    await rec(t, 'queueDeclare', ch.queueDeclare(q, { exclusive: true, durable: false }));
    await rec(t, 'basicPublish', ch.basicPublish('', q, 'hello', { contentType: 'text/plain', headers: { a: 1, b: 'two' }, priority: 1 }));
    await rec(t, 'basicGet', ch.basicGet(q, { noAck: true }), (m) => (m ? { rk: m.routingKey, props: m.properties, body: m.bodyString(), messageCount: m.messageCount } : null));
  });

  scenario('passive-missing', async (t) => {
    const ch = await (await acConnect(t)).channel();
    await rec(t, 'queueDeclare', ch.queueDeclare(t.n('missing'), { passive: true }));
    t.record('channel closed', ch.closed);
  });

  scenario('consume-generator-ack', async (t) => {
    const ch = await (await acConnect(t)).channel();
    const q = t.n('q');
    await ch.queueDeclare(q, { exclusive: true, durable: false });
    await ch.prefetch(1);
    for (const b of ['a', 'b', 'c']) await ch.basicPublish('', q, b);
    const got: unknown[] = [];
    await new Promise<void>((resolve) => {
      void ch.basicConsume(q, { noAck: false }, async (m) => {
        got.push({ tag: m.deliveryTag, redelivered: m.redelivered, body: m.bodyString() });
        await m.ack();
        if (got.length === 3) resolve();
      });
    });
    t.record('deliveries', got);
  });

  scenario('confirm-select', async (t) => {
    const ch = await (await acConnect(t)).channel();
    const q = t.n('q');
    await ch.queueDeclare(q, { exclusive: true, durable: false });
    await rec(t, 'confirmSelect', ch.confirmSelect());
    for (let i = 0; i < 3; i++) await rec(t, `publish ${i}`, ch.basicPublish('', q, `m${i}`));
  });

  scenario('exchange-bind-and-route', async (t) => {
    const ch = await (await acConnect(t)).channel();
    const x = t.n('x');
    const q = t.n('q');
    await rec(t, 'exchangeDeclare', ch.exchangeDeclare(x, 'fanout', { durable: false }));
    await rec(t, 'queueDeclare', ch.queueDeclare(q, { exclusive: true, durable: false }));
    await rec(t, 'queueBind', ch.queueBind(q, x, ''));
    await ch.basicPublish(x, 'ignored', 'fanned');
    await rec(t, 'basicGet', ch.basicGet(q, { noAck: true }), (m) => (m ? { exchange: m.exchange, rk: m.routingKey, body: m.bodyString() } : null));
    await rec(t, 'exchangeDelete', ch.exchangeDelete(x));
  });

  scenario('purge-and-delete-counts', async (t) => {
    const ch = await (await acConnect(t)).channel();
    const q = t.n('q');
    await ch.queueDeclare(q, { exclusive: true, durable: false });
    for (const b of ['a', 'b', 'c']) await ch.basicPublish('', q, b);
    await rec(t, 'queuePurge', ch.queuePurge(q));
    await ch.basicPublish('', q, 'd');
    await rec(t, 'queueDelete', ch.queueDelete(q));
  });

  scenario('nack-requeue-redelivered', async (t) => {
    const ch = await (await acConnect(t)).channel();
    const q = t.n('q');
    await ch.queueDeclare(q, { exclusive: true, durable: false });
    await ch.basicPublish('', q, 'm');
    const m = await ch.basicGet(q, { noAck: false });
    await m?.nack(true);
    await rec(t, 'basicGet again', ch.basicGet(q, { noAck: true }), (x) => (x ? { redelivered: x.redelivered, body: x.bodyString() } : null));
  });

  scenario('direct-reply-to', async (t) => {
    const client = await acConnect(t);
    const ch = await client.channel();
    const q = t.n('rpc');
    await ch.queueDeclare(q, { exclusive: true, durable: false });
    const replies: unknown[] = [];
    let arrived: () => void = () => {};
    const got = new Promise<void>((resolve) => (arrived = resolve));
    await ch.basicConsume('amq.rabbitmq.reply-to', { noAck: true }, (m) => {
      replies.push({ body: m.bodyString(), correlationId: m.properties.correlationId });
      arrived();
    });
    await ch.basicPublish('', q, 'ping', { replyTo: 'amq.rabbitmq.reply-to', correlationId: 'c' });
    const req = await ch.basicGet(q, { noAck: true });
    t.check(!!req?.properties.replyTo?.startsWith('amq.rabbitmq.reply-to.'), 'reply-to rewritten');
    await ch.basicPublish('', req!.properties.replyTo!, 'pong', { correlationId: req!.properties.correlationId! });
    await got;
    t.record('replies', replies);
  });
});
