// Basic properties and message bodies end to end: every property, header value types as amqplib maps
// them, empty and large bodies split across frames.
import { scenarios } from '../harness/scenario.js';

export default scenarios('properties', 'amqplib', (scenario) => {
  scenario('all-properties', async (t) => {
    const ch = await t.channel();
    const q = t.n('q');
    await ch.assertQueue(q, { exclusive: true });
    ch.sendToQueue(q, 'body', {
      contentType: 'application/json', contentEncoding: 'gzip', headers: { h: 'v' }, deliveryMode: 2, priority: 9,
      correlationId: 'corr', replyTo: 'rq', expiration: '100000', messageId: 'mid', timestamp: 1234567890,
      type: 'typ', userId: 'guest', appId: 'app', clusterId: 'cid',
    } as Record<string, unknown>);
    await ch.get(q, { noAck: true });
  });

  scenario('no-properties', async (t) => {
    const ch = await t.channel();
    const q = t.n('q');
    await ch.assertQueue(q, { exclusive: true });
    ch.sendToQueue(q, 'bare');
    await ch.get(q, { noAck: true });
  });

  scenario('user-id-mismatch', async (t) => {
    const ch = await t.channel();
    const q = t.n('q');
    await ch.assertQueue(q, { exclusive: true });
    ch.sendToQueue(q, 'impostor', { userId: 'someone-else' });
    await ch.closed();
  });

  for (const dm of [0, 1, 2, 3]) {
    scenario(`delivery-mode-${dm}`, async (t) => {
      const ch = await t.channel();
      const q = t.n('q');
      await ch.assertQueue(q, { exclusive: true });
      ch.sendToQueue(q, `dm${dm}`, { deliveryMode: dm });
      await t.tryOp(ch.get(q, { noAck: true }));
    });
  }

  scenario('header-value-types', async (t) => {
    const ch = await t.channel();
    const q = t.n('q');
    await ch.assertQueue(q, { exclusive: true });
    ch.sendToQueue(q, 'typed', {
      headers: {
        str: 'ünicode', empty: '', int8: 5, int16: 300, int32: 70000, int64: 5_000_000_000, neg: -1, double: 1.25,
        bool: true, nil: null, buf: Buffer.from([0, 255]), arr: [1, 'two', null, [false]], nested: { a: { b: 1 } },
        ts: { '!': 'timestamp', value: 1700000000 }, dec: { '!': 'decimal', value: { places: 3, digits: 1234 } },
        f32: { '!': 'float', value: 0.5 }, u8: { '!': 'unsignedbyte', value: 250 }, u16: { '!': 'unsignedshort', value: 65000 },
        u32: { '!': 'unsignedint', value: 4_000_000_000 },
      },
    });
    await ch.get(q, { noAck: true });
  });

  scenario('many-headers', async (t) => {
    const ch = await t.channel();
    const q = t.n('q');
    await ch.assertQueue(q, { exclusive: true });
    const headers: Record<string, number> = {};
    for (let i = 0; i < 200; i++) headers[`h${i}`] = i;
    ch.sendToQueue(q, 'm', { headers });
    await ch.get(q, { noAck: true });
  });

  scenario('cc-and-bcc-headers', async (t) => {
    const ch = await t.channel();
    const a = t.n('a');
    const b = t.n('b');
    const c = t.n('c');
    for (const q of [a, b, c]) await ch.assertQueue(q, { exclusive: true });
    ch.sendToQueue(a, 'copied', { CC: [b], BCC: [c], headers: { keep: 1 } });
    for (const q of [a, b, c]) await ch.get(q, { noAck: true });
  });

  for (const size of [0, 1, 4095, 4096, 131063, 131064, 131065, 262144, 1_000_000, 5_000_000]) {
    scenario(`body-${size}-bytes`, async (t) => {
      const ch = await t.channel();
      const q = t.n('q');
      await ch.assertQueue(q, { exclusive: true });
      const body = Buffer.alloc(size);
      for (let i = 0; i < size; i++) body[i] = (i * 31) % 251;
      ch.sendToQueue(q, body);
      const c = await ch.consume(q, { noAck: true });
      await c.take(1, 10_000);
    });
  }

  scenario('body-small-frame-max', async (t) => {
    const conn = await t.connect({ frameMax: 4096 });
    const ch = await conn.channel();
    const q = t.n('q');
    await ch.assertQueue(q, { exclusive: true });
    ch.sendToQueue(q, Buffer.alloc(20_000, 7));
    await ch.get(q, { noAck: true });
  });

  scenario('binary-body', async (t) => {
    const ch = await t.channel();
    const q = t.n('q');
    await ch.assertQueue(q, { exclusive: true });
    ch.sendToQueue(q, Buffer.from([0, 1, 2, 0xff, 0xfe, 0x80]));
    await ch.get(q, { noAck: true });
  });

  scenario('long-routing-key-and-strings', async (t) => {
    const ch = await t.channel();
    const q = t.n('q');
    await ch.assertQueue(q, { exclusive: true });
    await ch.bindQueue(q, 'amq.direct', 'k'.repeat(255));
    ch.publish('amq.direct', 'k'.repeat(255), 'm', { messageId: 'i'.repeat(255), type: 't'.repeat(255) });
    await ch.get(q, { noAck: true });
  });
});
