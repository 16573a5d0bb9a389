/**
 * Publish/consume round trips through the default exchange with real clients: empty, small and
 * multi-frame bodies, every basic property, all field-table types in headers.
 */
import { AMQPClient } from '@cloudamqp/amqp-client';
import type { ConsumeMessage, Options } from 'amqplib';
import { describe, expect, it } from 'vitest';
import { withBroker } from './helpers/broker.js';

const fx = withBroker();

const everyProperty: Options.Publish = {
  contentType: 'application/json',
  contentEncoding: 'gzip',
  headers: {
    str: 'text',
    int: 42,
    negative: -7,
    big: 2 ** 40,
    float: 1.5,
    bool: true,
    nil: null,
    bytes: Buffer.from([0, 1, 2, 255]),
    list: [1, 'two', false, [3]],
    nested: { a: { b: 'c' } },
    ts: { '!': 'timestamp', value: 1_700_000_000 },
  },
  deliveryMode: 2,
  priority: 7,
  correlationId: 'corr-1',
  replyTo: 'reply-queue',
  expiration: '60000',
  messageId: 'msg-1',
  timestamp: 1_700_000_123,
  type: 'greeting',
  userId: 'guest',
  appId: 'warren-tests',
};

async function roundTrip(body: Buffer, options: Options.Publish = {}, noAck = false): Promise<ConsumeMessage> {
  const ch = await fx.channel();
  const q = await ch.assertQueue('', { exclusive: true });
  const received = new Promise<ConsumeMessage>((resolve) =>
    ch.consume(
      q.queue,
      (m) => {
        if (!noAck) ch.ack(m!);
        resolve(m!);
      },
      { noAck },
    ),
  );
  ch.sendToQueue(q.queue, body, options);
  return received;
}

describe('round trip through the default exchange', () => {
  it('carries an empty body', async () => {
    const m = await roundTrip(Buffer.alloc(0));
    expect(m.content.length).toBe(0);
  });

  it('carries a small body with manual ack', async () => {
    const m = await roundTrip(Buffer.from('hello'));
    expect(m.content.toString()).toBe('hello');
    expect(m.fields.redelivered).toBe(false);
    expect(m.fields.exchange).toBe('');
    expect(m.fields.deliveryTag).toBe(1);
  });

  it('carries a small body with no-ack', async () => {
    const m = await roundTrip(Buffer.from('fire and forget'), {}, true);
    expect(m.content.toString()).toBe('fire and forget');
  });

  it('carries a 1 MiB body across many frames, byte for byte', async () => {
    const body = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < body.length; i++) body[i] = (i * 31 + 7) & 0xff;
    const m = await roundTrip(body);
    expect(m.content.length).toBe(body.length);
    expect(m.content.equals(body)).toBe(true);
  });

  it('carries every basic property and every header type unchanged', async () => {
    const m = await roundTrip(Buffer.from('{}'), everyProperty);
    const p = m.properties;
    expect(p.contentType).toBe('application/json');
    expect(p.contentEncoding).toBe('gzip');
    expect(p.deliveryMode).toBe(2);
    expect(p.priority).toBe(7);
    expect(p.correlationId).toBe('corr-1');
    expect(p.replyTo).toBe('reply-queue');
    expect(p.expiration).toBe('60000');
    expect(p.messageId).toBe('msg-1');
    expect(p.timestamp).toBe(1_700_000_123);
    expect(p.type).toBe('greeting');
    expect(p.userId).toBe('guest');
    expect(p.appId).toBe('warren-tests');
    const h = p.headers!;
    expect(h.str).toBe('text');
    expect(h.int).toBe(42);
    expect(h.negative).toBe(-7);
    expect(Number(h.big)).toBe(2 ** 40);
    expect(h.float).toBe(1.5);
    expect(h.bool).toBe(true);
    expect(h.nil).toBe(null);
    expect(Buffer.from(h.bytes).equals(Buffer.from([0, 1, 2, 255]))).toBe(true);
    expect(h.list).toEqual([1, 'two', false, [3]]);
    expect(h.nested).toEqual({ a: { b: 'c' } });
    expect(h.ts).toEqual({ '!': 'timestamp', value: 1_700_000_000 }); // the tag survives the trip
  });

  it('carries a multi-frame body with every property under the minimum frame_max', async () => {
    const conn = await fx.connect(undefined, `${fx.url}?frameMax=4096`);
    const ch = await conn.createChannel();
    const q = await ch.assertQueue('', { exclusive: true });
    const body = Buffer.alloc(100_000, 9);
    const received = new Promise<ConsumeMessage>((resolve) => ch.consume(q.queue, (m) => resolve(m!), { noAck: true }));
    ch.sendToQueue(q.queue, body, everyProperty);
    const m = await received;
    expect(m.content.equals(body)).toBe(true);
    expect(m.properties.headers!.nested).toEqual({ a: { b: 'c' } });
  });

  it('carries large bodies split across socket reads to consumers with a smaller and a larger frame_max', async () => {
    // 128 KiB frames: each 64 KiB body frame spans two 64 KiB socket reads and is passed on as views.
    const big = await fx.connect(undefined, `${fx.url}?frameMax=131072`);
    const small = await fx.connect(undefined, `${fx.url}?frameMax=4096`);
    const pub = await big.createChannel();
    const bigCh = await big.createChannel();
    const smallCh = await small.createChannel();
    await pub.assertExchange('split-fanout', 'fanout', { autoDelete: true });
    const qs = [];
    for (const ch of [bigCh, smallCh]) {
      const q = await ch.assertQueue('', { exclusive: true });
      await ch.bindQueue(q.queue, 'split-fanout', '');
      qs.push({ ch, q: q.queue });
    }
    const bodies = [64 * 1024, 120_000, 40_000, 300_000].map((n, k) => {
      const b = Buffer.alloc(n);
      for (let i = 0; i < n; i++) b[i] = (i * 13 + k) & 0xff;
      return b;
    });
    const got = qs.map(({ ch, q }) => {
      const seen: Buffer[] = [];
      const done = new Promise<Buffer[]>((resolve) =>
        ch.consume(q, (m) => {
          seen.push(m!.content);
          if (seen.length === bodies.length) resolve(seen);
        }, { noAck: true }),
      );
      return done;
    });
    for (const b of bodies) pub.publish('split-fanout', '', b);
    for (const seen of await Promise.all(got)) {
      expect(seen.map((b) => b.length)).toEqual(bodies.map((b) => b.length));
      seen.forEach((b, i) => expect(b.equals(bodies[i]!)).toBe(true));
    }
  });

  it('keeps order across many messages', async () => {
    const ch = await fx.channel();
    const q = await ch.assertQueue('', { exclusive: true });
    const n = 2000;
    const got: number[] = [];
    const done = new Promise<void>((resolve) =>
      ch.consume(q.queue, (m) => {
        got.push(Number(m!.content.toString()));
        ch.ack(m!);
        if (got.length === n) resolve();
      }),
    );
    for (let i = 0; i < n; i++) ch.sendToQueue(q.queue, Buffer.from(String(i)));
    await done;
    expect(got).toEqual(Array.from({ length: n }, (_, i) => i));
  });
});

describe('@cloudamqp/amqp-client', () => {
  it('publishes and consumes through the default exchange', async () => {
    const client = new AMQPClient(fx.url);
    const conn = await client.connect();
    try {
      const ch = await conn.channel();
      const q = await ch.queueDeclare('', { exclusive: true });
      await ch.basicPublish('', q.name, 'from amqp-client', { headers: { k: 'v' }, deliveryMode: 2 });
      const msg = await new Promise<{ body: string | null; headers: unknown }>((resolve, reject) => {
        ch.basicConsume(q.name, { noAck: true }, (m) => resolve({ body: m.bodyString(), headers: m.properties.headers })).catch(reject);
      });
      expect(msg.body).toBe('from amqp-client');
      expect(msg.headers).toEqual({ k: 'v' });
    } finally {
      await conn.close();
    }
  });
});
