/**
 * Direct reply-to (RabbitMQ docs page "direct-reply-to"; rabbit_channel's reply_consumer clauses and
 * rabbit_exchange:route's virtual reply queues). Checked against RabbitMQ 3.10.8; texts verbatim.
 */
import type { Channel, ConsumeMessage } from 'amqplib';
import { describe, expect, it } from 'vitest';
import { eventually, warrenOnly, withBroker } from '../helpers/broker.js';
import { expectChannelAlive, expectChannelClosed, openChannel, sync, withModel } from '../helpers/model.js';

const fx = withBroker();
const m = withModel(fx);

const REPLY_TO = 'amq.rabbitmq.reply-to';

/** A requester (reply consumer on its channel) and a responder serving an RPC queue. */
async function rpcPair() {
  const conn = await fx.connect();
  const client = await openChannel(conn);
  const server = await openChannel(conn);
  const rpcq = m.queue('rpc');
  await server.assertQueue(rpcq);
  const replies: ConsumeMessage[] = [];
  const { consumerTag } = await client.consume(REPLY_TO, (msg) => msg && replies.push(msg), { noAck: true });
  const requests: ConsumeMessage[] = [];
  await server.consume(rpcq, (msg) => msg && requests.push(msg), { noAck: true });
  return { conn, client, server, rpcq, replies, requests, consumerTag };
}

async function oneRequest(client: Channel, rpcq: string, requests: ConsumeMessage[]): Promise<ConsumeMessage> {
  client.sendToQueue(rpcq, Buffer.from('request'), { replyTo: REPLY_TO, correlationId: 'c1' });
  await eventually(() => expect(requests.length).toBe(1));
  return requests[0]!;
}

describe('the reply consumer', () => {
  it('consuming amq.rabbitmq.reply-to in no-ack mode answers consume-ok with the consumer tag', async () => {
    const ch = await fx.channel();
    const ok = await ch.consume(REPLY_TO, () => {}, { noAck: true, consumerTag: 'my-replies' });
    expect(ok.consumerTag).toBe('my-replies');
    await expectChannelAlive(ch);
  });

  it('a server-generated reply consumer tag looks like any other (amq.ctag-...)', async () => {
    const ch = await fx.channel();
    const ok = await ch.consume(REPLY_TO, () => {}, { noAck: true });
    expect(ok.consumerTag).toMatch(/^amq\.ctag-[A-Za-z0-9_-]{22}$/);
  });

  it('consuming it with acknowledgements closes the channel: 406 reply consumer cannot acknowledge', async () => {
    const ch = await fx.channel();
    await expectChannelClosed(ch, () => ch.consume(REPLY_TO, () => {}, { noAck: false }), {
      code: 406,
      text: 'PRECONDITION_FAILED - reply consumer cannot acknowledge',
      classId: 60,
      methodId: 20,
    });
  });

  it('a second reply consumer on the same channel closes it: 406 reply consumer already set', async () => {
    const ch = await fx.channel();
    await ch.consume(REPLY_TO, () => {}, { noAck: true });
    await expectChannelClosed(ch, () => ch.consume(REPLY_TO, () => {}, { noAck: true }), {
      code: 406,
      text: 'PRECONDITION_FAILED - reply consumer already set',
      classId: 60,
      methodId: 20,
    });
  });

  it('each channel of a connection may have its own reply consumer', async () => {
    const conn = await fx.connect();
    const a = await openChannel(conn);
    const b = await openChannel(conn);
    await a.consume(REPLY_TO, () => {}, { noAck: true });
    await b.consume(REPLY_TO, () => {}, { noAck: true });
    await expectChannelAlive(a);
    await expectChannelAlive(b);
  });

  it('reusing the tag of a queue consumer for the reply consumer is 530 NOT_ALLOWED', async () => {
    const conn = await fx.connect();
    const ch = await openChannel(conn);
    const q = m.queue();
    await ch.assertQueue(q);
    await ch.consume(q, () => {}, { consumerTag: 'taken' });
    const errored = new Promise<Error & { code?: number }>((r) => conn.once('error', r));
    await ch.consume(REPLY_TO, () => {}, { noAck: true, consumerTag: 'taken' }).catch(() => {});
    const e = await errored;
    expect(e.code).toBe(530);
    expect(e.message).toContain("NOT_ALLOWED - attempt to reuse consumer tag 'taken'");
  });

  it('basic.cancel of the reply consumer answers cancel-ok; publishing with reply-to then fails', async () => {
    const ch = await fx.channel();
    const { consumerTag } = await ch.consume(REPLY_TO, () => {}, { noAck: true });
    await ch.cancel(consumerTag);
    await expectChannelClosed(ch, () => ch.sendToQueue(m.queue(), Buffer.from('x'), { replyTo: REPLY_TO }), {
      code: 406,
      text: 'PRECONDITION_FAILED - fast reply consumer does not exist',
      classId: 60,
      methodId: 40,
    });
  });

  it('basic.get on the pseudo-queue is 404: it is not a queue', async () => {
    const ch = await fx.channel();
    await expectChannelClosed(ch, () => ch.get(REPLY_TO), {
      code: 404,
      text: "NOT_FOUND - no queue 'amq.rabbitmq.reply-to' in vhost '/'",
      classId: 60,
      methodId: 70,
    });
  });
});

describe('requests', () => {
  it('reply-to amq.rabbitmq.reply-to is rewritten to the channel\'s reply address', async () => {
    const { client, rpcq, requests } = await rpcPair();
    const req = await oneRequest(client, rpcq, requests);
    expect(req.properties.replyTo).toMatch(/^amq\.rabbitmq\.reply-to\.[A-Za-z0-9+/=]+\.[A-Za-z0-9+/=]+$/);
    expect(req.properties.correlationId).toBe('c1');
  });

  it('every request from the same channel carries the same reply address', async () => {
    const { client, rpcq, requests } = await rpcPair();
    client.sendToQueue(rpcq, Buffer.from('1'), { replyTo: REPLY_TO });
    client.sendToQueue(rpcq, Buffer.from('2'), { replyTo: REPLY_TO });
    await eventually(() => expect(requests.length).toBe(2));
    expect(requests[0]!.properties.replyTo).toBe(requests[1]!.properties.replyTo);
  });

  it('publishing with reply-to amq.rabbitmq.reply-to without a reply consumer: 406 fast reply consumer does not exist', async () => {
    const ch = await fx.channel();
    await expectChannelClosed(ch, () => ch.sendToQueue(m.queue(), Buffer.from('x'), { replyTo: REPLY_TO }), {
      code: 406,
      text: 'PRECONDITION_FAILED - fast reply consumer does not exist',
      classId: 60,
      methodId: 40,
    });
  });

  it('the reply consumer of another channel does not count', async () => {
    const conn = await fx.connect();
    const a = await openChannel(conn);
    const b = await openChannel(conn);
    await a.consume(REPLY_TO, () => {}, { noAck: true });
    await expectChannelClosed(b, () => b.sendToQueue(m.queue(), Buffer.from('x'), { replyTo: REPLY_TO }), {
      code: 406,
      text: 'PRECONDITION_FAILED - fast reply consumer does not exist',
      classId: 60,
      methodId: 40,
    });
  });

  it('other reply-to values are left alone', async () => {
    const ch = await fx.channel();
    const q = m.queue();
    await ch.assertQueue(q);
    ch.sendToQueue(q, Buffer.from('x'), { replyTo: 'amq.rabbitmq.reply-to.somewhere' });
    ch.sendToQueue(q, Buffer.from('y'), { replyTo: 'my-replies' });
    await sync(ch);
    const first = await ch.get(q, { noAck: true });
    const second = await ch.get(q, { noAck: true });
    expect(first && first.properties.replyTo).toBe('amq.rabbitmq.reply-to.somewhere');
    expect(second && second.properties.replyTo).toBe('my-replies');
  });
});

describe('replies', () => {
  it('a reply published to the default exchange with the reply address reaches the reply consumer', async () => {
    const { client, server, rpcq, requests, replies, consumerTag } = await rpcPair();
    const req = await oneRequest(client, rpcq, requests);
    server.publish('', req.properties.replyTo, Buffer.from('response'), { correlationId: 'c1', headers: { h: 1 } });
    await eventually(() => expect(replies.length).toBe(1));
    const r = replies[0]!;
    expect(r.content.toString()).toBe('response');
    expect(r.fields.consumerTag).toBe(consumerTag);
    expect(r.fields.redelivered).toBe(false);
    expect(r.fields.exchange).toBe('');
    expect(r.fields.routingKey).toBe(req.properties.replyTo);
    expect(r.properties.correlationId).toBe('c1');
    expect(r.properties.headers).toEqual({ h: 1 });
  });

  it('replies may come from another connection', async () => {
    const { client, rpcq, requests, replies } = await rpcPair();
    const req = await oneRequest(client, rpcq, requests);
    const other = await fx.channel();
    other.publish('', req.properties.replyTo, Buffer.from('from elsewhere'));
    await eventually(() => expect(replies.map((r) => r.content.toString())).toEqual(['from elsewhere']));
  });

  it('replies arrive in publish order', async () => {
    const { client, server, rpcq, requests, replies } = await rpcPair();
    const req = await oneRequest(client, rpcq, requests);
    for (let i = 0; i < 50; i++) server.publish('', req.properties.replyTo, Buffer.from(String(i)));
    await eventually(() => expect(replies.length).toBe(50));
    expect(replies.map((r) => Number(r.content.toString()))).toEqual([...Array(50).keys()]);
  });

  it('a reply does not use up a delivery tag: the next delivery on the channel has the same tag', async () => {
    const { client, server, rpcq, requests, replies } = await rpcPair();
    const req = await oneRequest(client, rpcq, requests);
    server.publish('', req.properties.replyTo, Buffer.from('r1'));
    server.publish('', req.properties.replyTo, Buffer.from('r2'));
    await eventually(() => expect(replies.length).toBe(2));
    const q = m.queue();
    await client.assertQueue(q);
    client.sendToQueue(q, Buffer.from('x'));
    await sync(client);
    const got = await client.get(q, { noAck: true });
    expect(replies[0]!.fields.deliveryTag).toBe(replies[1]!.fields.deliveryTag);
    expect(got && got.fields.deliveryTag).toBe(replies[0]!.fields.deliveryTag);
  });

  it('a mandatory reply comes back as unroutable (312 NO_ROUTE) even though it is delivered', async () => {
    const { client, server, rpcq, requests, replies } = await rpcPair();
    const req = await oneRequest(client, rpcq, requests);
    const returned: string[] = [];
    server.on('return', (r: { fields: { replyCode: number; replyText: string }; content: Buffer }) => returned.push(`${r.fields.replyCode} ${r.fields.replyText} ${r.content.toString()}`));
    server.publish('', req.properties.replyTo, Buffer.from('response'), { mandatory: true });
    await eventually(() => expect(replies.length).toBe(1));
    await eventually(() => expect(returned).toEqual(['312 NO_ROUTE response']));
  });

  it('a reply to a channel that has gone is dropped (returned when mandatory), and the responder carries on', async () => {
    const { conn, client, rpcq, requests } = await rpcPair();
    const req = await oneRequest(client, rpcq, requests);
    await client.close();
    const responder = await fx.channel();
    const returned: number[] = [];
    responder.on('return', (r: { fields: { replyCode: number } }) => returned.push(r.fields.replyCode));
    responder.publish('', req.properties.replyTo, Buffer.from('late'), { mandatory: true });
    await eventually(() => expect(returned).toEqual([312]));
    await expectChannelAlive(responder);
    void conn;
  });

  it('a reply to a cancelled reply consumer is dropped', async () => {
    const { client, server, rpcq, requests, replies, consumerTag } = await rpcPair();
    const req = await oneRequest(client, rpcq, requests);
    await client.cancel(consumerTag);
    server.publish('', req.properties.replyTo, Buffer.from('late'));
    await sync(server);
    await sync(client); // the requester's connection: a delivery would have come first
    expect(replies).toEqual([]);
    await expectChannelAlive(client);
  });

  it('a reply published in confirm mode is confirmed at once', async () => {
    const { client, rpcq, requests, replies } = await rpcPair();
    const req = await oneRequest(client, rpcq, requests);
    const responder = await fx.confirmChannel();
    responder.publish('', req.properties.replyTo, Buffer.from('confirmed'));
    await responder.waitForConfirms();
    await eventually(() => expect(replies.length).toBe(1));
  });

  it('a reply to an unknown address is dropped without error', async () => {
    const ch = await fx.channel();
    ch.publish('', `${REPLY_TO}.bogus`, Buffer.from('lost'));
    ch.publish('', `${REPLY_TO}.a.b.c`, Buffer.from('lost'));
    await sync(ch);
    await expectChannelAlive(ch);
  });

  // RabbitMQ 3.10.8 decodes the first part of a two-part address as an Erlang term and, when that
  // fails, crashes the publisher's connection with a bare 541 INTERNAL_ERROR. Warren treats such an
  // address like any other unknown one: the reply is dropped.
  warrenOnly('a reply to a made-up two-part address is dropped too (RabbitMQ crashes the connection)', async () => {
    const ch = await fx.channel();
    ch.publish('', `${REPLY_TO}.AAAA.BBBB`, Buffer.from('lost'));
    await sync(ch);
    await expectChannelAlive(ch);
  });

  it('other exchanges do not deliver to reply addresses', async () => {
    const { client, server, rpcq, requests, replies } = await rpcPair();
    const req = await oneRequest(client, rpcq, requests);
    server.publish('amq.direct', req.properties.replyTo, Buffer.from('via amq.direct'));
    await sync(server);
    await sync(client);
    expect(replies).toEqual([]);
  });
});

describe('queue.declare of reply addresses', () => {
  it('amq.rabbitmq.reply-to exists with 0 messages and 1 consumer (passive or not)', async () => {
    const ch = await fx.channel();
    expect(await ch.checkQueue(REPLY_TO)).toEqual({ queue: REPLY_TO, messageCount: 0, consumerCount: 1 });
    expect(await ch.assertQueue(REPLY_TO, { durable: true })).toEqual({ queue: REPLY_TO, messageCount: 0, consumerCount: 1 });
  });

  it('a live reply address exists; once its channel is gone it does not', async () => {
    const { client, rpcq, requests } = await rpcPair();
    const req = await oneRequest(client, rpcq, requests);
    const ch = await fx.channel();
    const address = req.properties.replyTo as string;
    expect(await ch.checkQueue(address)).toEqual({ queue: address, messageCount: 0, consumerCount: 1 });
    await client.close();
    await expectChannelClosed(ch, () => ch.checkQueue(address), {
      code: 404,
      text: `NOT_FOUND - no queue '${address}' in vhost '/'`,
      classId: 50,
      methodId: 10,
    });
  });

  it('a made-up reply address, or another name under the prefix, is 404', async () => {
    const ch = await fx.channel();
    await expectChannelClosed(ch, () => ch.checkQueue(`${REPLY_TO}-not`), {
      code: 404,
      text: "NOT_FOUND - no queue 'amq.rabbitmq.reply-to-not' in vhost '/'",
      classId: 50,
      methodId: 10,
    });
  });
});
