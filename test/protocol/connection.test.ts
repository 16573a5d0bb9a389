/**
 * Connection establishment as RabbitMQ does it: protocol header, connection.start contents, SASL,
 * tune negotiation, vhost access, heartbeats, and closing in both directions.
 * Expected texts and codes were observed on RabbitMQ 3.10.8 with the same raw client.
 */
import amqp from 'amqplib';
import { PassThrough, Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Method } from '../../src/protocol/generated/methods.js';
import { toPlain } from '../../src/protocol/field-table.js';
import { RawClient } from '../helpers/raw-client.js';
import { eventually, sleep, withBroker } from '../helpers/broker.js';

const fx = withBroker({ heartbeat: 60 });

describe('protocol header', () => {
  it('answers a non-AMQP header with its own header and closes the socket', async () => {
    const c = await RawClient.connect(fx.broker.port);
    c.send(Buffer.from('HTTP/1.1'));
    expect(await c.waitClosed()).toBe(true);
    expect(c.rawBytes).toEqual(Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1]));
  });

  it('answers an unsupported version (AMQP 1.0) with the 0-9-1 header', async () => {
    const c = await RawClient.connect(fx.broker.port);
    c.send(Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 1, 0, 0]));
    expect(await c.waitClosed()).toBe(true);
    expect(c.rawBytes).toEqual(Buffer.from('AMQP\x00\x00\x09\x01', 'latin1'));
  });

  it('accepts the 0-9 header as 0-9-1 (as RabbitMQ does)', async () => {
    const c = await RawClient.connect(fx.broker.port);
    c.send(Buffer.from([0x41, 0x4d, 0x51, 0x50, 1, 1, 0, 9]));
    const start = await c.method('connection.start');
    expect(start?.id).toBe(Method.ConnectionStart);
    c.destroy();
  });

  it('accepts a header split across writes', async () => {
    const c = await RawClient.connect(fx.broker.port);
    c.send(Buffer.from('AMQ'));
    await sleep(20);
    c.send(Buffer.from([0x50, 0, 0, 9, 1]));
    expect(await c.method('connection.start')).toBeDefined();
    c.destroy();
  });
});

describe('connection.start', () => {
  it("has RabbitMQ's server-properties shape and advertises only implemented capabilities", async () => {
    const c = await RawClient.connect(fx.broker.port);
    c.send(Buffer.from('AMQP\x00\x00\x09\x01', 'latin1'));
    const start = await c.method('connection.start');
    if (start?.id !== Method.ConnectionStart) throw new Error('no start');
    expect(start.versionMajor).toBe(0);
    expect(start.versionMinor).toBe(9);
    expect(start.mechanisms.toString()).toBe('AMQPLAIN PLAIN');
    expect(start.locales.toString()).toBe('en_US');
    const props = toPlain(start.serverProperties);
    // The fixture imitates 3.10 (test/helpers/broker.ts): RabbitMQ's keys, then Warren's own version.
    expect(Object.keys(props)).toEqual(['capabilities', 'cluster_name', 'copyright', 'information', 'platform', 'product', 'version', 'warren']);
    expect(props.product).toBe('RabbitMQ');
    expect(props.version).toBe('3.10.8');
    const caps = props.capabilities as Record<string, boolean>;
    expect(caps.authentication_failure_close).toBe(true);
    expect(caps.per_consumer_qos).toBe(true);
    // Features not built yet are not advertised.
    for (const [name, value] of Object.entries(caps)) expect(value, name).toBe(true);
    c.destroy();
  });
});

describe('authentication', () => {
  it('logs in guest/guest with PLAIN (amqplib) and AMQPLAIN (raw)', async () => {
    const conn = await fx.connect();
    expect(conn.connection.serverProperties.product).toBe('RabbitMQ');
    const c = await RawClient.connect(fx.broker.port);
    c.send(Buffer.from('AMQP\x00\x00\x09\x01', 'latin1'));
    await c.method('connection.start');
    const { Writer } = await import('../../src/protocol/codec-primitives.js');
    const { encodeConnectionStartOk } = await import('../../src/protocol/generated/methods.js');
    const creds = new Writer();
    creds.table(new Map([['LOGIN', { type: 'S', value: 'guest' }], ['PASSWORD', { type: 'S', value: 'guest' }]]));
    const response = Buffer.from(creds.bytes().subarray(4)); // AMQPLAIN: the table without its length
    c.sendEncoded((w) => encodeConnectionStartOk(w, 0, { clientProperties: new Map(), mechanism: 'AMQPLAIN', response, locale: 'en_US' }));
    expect(await c.method('connection.tune')).toBeDefined();
    c.destroy();
  });

  it('refuses a wrong password with 403 ACCESS_REFUSED without saying which part was wrong', async () => {
    const wrongPassword = await RawClient.connect(fx.broker.port);
    await wrongPassword.handshake({ password: 'nope' });
    const unknownUser = await RawClient.connect(fx.broker.port);
    await unknownUser.handshake({ user: 'nobody', password: 'guest' });
    for (const c of [wrongPassword, unknownUser]) {
      const close = await c.waitForClose();
      expect(close).toEqual({
        name: 'connection.close',
        channel: 0,
        replyCode: 403,
        replyText: 'ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN. For details see the broker logfile.',
        classId: 0,
        methodId: 0,
      });
      expect(await c.waitClosed()).toBe(true);
    }
  });

  it('says nothing to a client without authentication_failure_close, and closes the socket', async () => {
    const c = await RawClient.connect(fx.broker.port);
    await c.handshake({ password: 'nope', capabilities: {} });
    expect(await c.waitClosed()).toBe(true);
    expect(c.closeMethod()).toBeUndefined();
  });

  it('rejects through amqplib with the 403 text', async () => {
    const url = fx.url.replace('guest:guest', 'guest:wrong');
    await expect(amqp.connect(url)).rejects.toThrow(/ACCESS_REFUSED - Login was refused/);
  });

  it('closes silently (after the pause) on an unknown mechanism or a malformed PLAIN response', async () => {
    const bad = await RawClient.connect(fx.broker.port);
    await bad.handshake({ mechanism: 'CRAM-MD5' });
    expect(await bad.waitClosed()).toBe(true);
    expect(bad.closeMethod()).toBeUndefined();
  });

  it('lets guest connect only through a loopback interface', async () => {
    const viaRemote = inProcessClient(fx, { localAddress: '10.1.2.3', remoteAddress: '10.9.9.9', remotePort: 4000 });
    await viaRemote.handshake();
    const close = await viaRemote.waitForClose();
    expect(close?.replyCode).toBe(403);
    const viaLoopback = inProcessClient(fx, { localAddress: '127.0.0.1', remoteAddress: '127.0.0.1', remotePort: 4001 });
    await viaLoopback.handshake();
    expect(viaLoopback.frames.some((f) => f.type === 'method' && f.name === 'connection.open-ok')).toBe(true);
    viaLoopback.destroy();
  });
});

describe('tune negotiation', () => {
  it('offers channel_max 2047, frame_max 131072 and heartbeat 60 by default', async () => {
    const c = await RawClient.connect(fx.broker.port);
    await c.handshake();
    const tune = await c.method('connection.tune');
    expect(tune).toMatchObject({ channelMax: 2047, frameMax: 131072, heartbeat: 60 });
    c.destroy();
  });

  it('takes the lower values a client asks for (amqplib negotiates each parameter)', async () => {
    const conn = await fx.connect(undefined, `${fx.url}?frameMax=8192&channelMax=10&heartbeat=30`);
    const server = [...fx.broker.broker.connections].find((c) => c.frameMax === 8192);
    expect(server).toBeDefined();
    expect(server!.channelMax).toBe(10);
    expect(server!.heartbeat).toBe(30);
    // A body bigger than the frame max still goes through, split into several frames.
    const ch = await conn.createChannel();
    const q = await ch.assertQueue('', { exclusive: true });
    const body = Buffer.alloc(50_000, 3);
    ch.sendToQueue(q.queue, body);
    const got = await eventually(async () => {
      const m = await ch.get(q.queue, { noAck: true });
      if (m === false) throw new Error('not yet');
      return m;
    });
    expect(got.content.equals(body)).toBe(true);
  });

  it('accepts the 4096 minimum frame_max that old clients use', async () => {
    const conn = await fx.connect(undefined, `${fx.url}?frameMax=4096`);
    const ch = await conn.createChannel();
    const q = await ch.assertQueue('', { exclusive: true });
    ch.sendToQueue(q.queue, Buffer.alloc(10_000, 1));
    const m = await eventually(async () => {
      const r = await ch.get(q.queue, { noAck: true });
      if (r === false) throw new Error('not yet');
      return r;
    });
    expect(m.content.length).toBe(10_000);
  });

  it.each([
    ['frame_max below the minimum', { frameMax: 1000 }],
    ['frame_max 0 (no limit)', { frameMax: 0 }],
    ['frame_max above the server maximum', { frameMax: 200_000 }],
    ['channel_max 0 (no limit)', { channelMax: 0 }],
    ['channel_max above the server maximum', { channelMax: 5000 }],
  ])('refuses %s by closing the socket without a reply, as RabbitMQ does', async (_name, opts) => {
    const c = await RawClient.connect(fx.broker.port);
    await c.handshake(opts);
    expect(await c.waitClosed()).toBe(true);
    expect(c.closeMethod()).toBeUndefined();
  });
});

describe('connection.open', () => {
  it("refuses an unknown vhost with 530 NOT_ALLOWED", async () => {
    const c = await RawClient.connect(fx.broker.port);
    await c.handshake({ vhost: 'nope' });
    expect(await c.waitForClose()).toEqual({
      name: 'connection.close',
      channel: 0,
      replyCode: 530,
      replyText: 'NOT_ALLOWED - vhost nope not found',
      classId: 10,
      methodId: 40,
    });
    c.destroy();
  });

  it('rejects an unknown vhost through amqplib', async () => {
    await expect(amqp.connect(`${fx.url}/nope`)).rejects.toThrow(/ConnectionClose/);
  });
});

describe('closing', () => {
  it('answers connection.close with close-ok and releases the connection', async () => {
    const conn = await fx.connect();
    const before = fx.broker.broker.connections.size;
    await conn.close();
    await eventually(() => expect(fx.broker.broker.connections.size).toBe(before - 1));
  });

  it('frees exclusive queues when a client vanishes without closing', async () => {
    const c = await RawClient.connect(fx.broker.port);
    await c.handshake();
    await c.openChannel(1);
    const { encodeQueueDeclare } = await import('../../src/protocol/generated/methods.js');
    c.sendEncoded((w) => encodeQueueDeclare(w, 1, { queue: 'vanishing-owner', exclusive: true }));
    await c.method('queue.declare-ok', 1);
    const vhost = fx.broker.broker.vhosts.get('/')!;
    expect(vhost.queues.has('vanishing-owner')).toBe(true);
    c.destroy();
    await eventually(() => expect(vhost.queues.has('vanishing-owner')).toBe(false));
  });
});

describe('heartbeats', () => {
  const hb = withBroker({ heartbeat: 1 });

  it('keeps an idle connection alive when the client heartbeats', async () => {
    const conn = await hb.connect(undefined, `${hb.url}?heartbeat=1`);
    let closed = false;
    conn.on('close', () => (closed = true));
    await sleep(3500);
    expect(closed).toBe(false);
    const ch = await conn.createChannel();
    await ch.assertQueue('', { exclusive: true });
  });

  it('sends heartbeats to an idle client', async () => {
    const c = await RawClient.connect(hb.broker.port);
    await c.handshake({ heartbeat: 1 });
    await c.waitFor((fs) => fs.find((f) => f.type === 'heartbeat'), 3000);
    expect(c.frames.some((f) => f.type === 'heartbeat')).toBe(true);
    c.destroy();
  });

  it('closes the socket of a client silent for two intervals and releases what it held', async () => {
    const consumerSide = await hb.connect(undefined, `${hb.url}?heartbeat=1`);
    const ch = await consumerSide.createChannel();
    const q = await ch.assertQueue('', { exclusive: false, autoDelete: false });
    ch.sendToQueue(q.queue, Buffer.from('held'));
    const c = await RawClient.connect(hb.broker.port);
    await c.handshake({ heartbeat: 1 });
    await c.openChannel(1);
    const { encodeBasicConsume } = await import('../../src/protocol/generated/methods.js');
    c.sendEncoded((w) => encodeBasicConsume(w, 1, { queue: q.queue, consumerTag: 'silent' }));
    await c.method('basic.deliver', 1);
    // The raw client never sends anything again: after 2-3 s the broker gives up on it.
    expect(await c.waitClosed(5000)).toBe(true);
    expect(c.closeMethod()).toBeUndefined();
    // Its unacknowledged delivery went back to the queue, marked redelivered.
    const m = await eventually(async () => {
      const r = await ch.get(q.queue, { noAck: true });
      if (r === false) throw new Error('not yet');
      return r;
    });
    expect(m.fields.redelivered).toBe(true);
  });
});

/** A raw client on an in-process stream pair, with made-up socket addresses. */
function inProcessClient(f: typeof fx, peer: { localAddress: string; remoteAddress: string; remotePort: number }): RawClient {
  const toBroker = new PassThrough();
  const toClient = new PassThrough();
  const brokerSide = Duplex.from({ readable: toBroker, writable: toClient });
  const clientSide = Duplex.from({ readable: toClient, writable: toBroker });
  f.broker.broker.acceptStream(brokerSide, peer);
  return RawClient.fromStream(clientSide);
}
