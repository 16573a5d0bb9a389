/**
 * Channel lifecycle: open/close in both directions, channel_max, and the errors RabbitMQ gives for
 * reopening an open channel, using one never opened, and commands sent after the server closed one.
 */
import { describe, expect, it } from 'vitest';
import * as M from '../../src/protocol/generated/methods.js';
import { RawClient } from '../helpers/raw-client.js';
import { closedWith, withBroker } from '../helpers/broker.js';

const fx = withBroker();

async function client(opts = {}): Promise<RawClient> {
  const c = await RawClient.connect(fx.broker.port);
  await c.handshake(opts);
  return c;
}

describe('channel lifecycle', () => {
  it('opens and closes channels (client-initiated close gets close-ok)', async () => {
    const c = await client();
    await c.openChannel(1);
    c.sendEncoded((w) => M.encodeChannelClose(w, 1, { replyCode: 200, replyText: 'bye', classId: 0, methodId: 0 }));
    expect(await c.method('channel.close-ok', 1)).toBeDefined();
    // The number can be used again.
    c.sendEncoded((w) => M.encodeChannelOpen(w, 1, {}));
    const opened = await c.waitFor((fs) => fs.filter((f) => f.type === 'method' && f.name === 'channel.open-ok').length === 2 || undefined);
    expect(opened).toBe(true);
    c.destroy();
  });

  it('uses any channel number up to 65535, whatever channel_max says (RabbitMQ counts channels)', async () => {
    const c = await client({ channelMax: 2 });
    await c.openChannel(7);
    await c.openChannel(65535);
    expect(c.closeMethod()).toBeUndefined();
    c.destroy();
  });

  it('closes the connection with 530 when the number of open channels reaches channel_max', async () => {
    const c = await client({ channelMax: 2 });
    await c.openChannel(1);
    await c.openChannel(2);
    c.sendEncoded((w) => M.encodeChannelOpen(w, 3, {}));
    expect(await c.waitForClose()).toMatchObject({
      name: 'connection.close',
      replyCode: 530,
      replyText: 'NOT_ALLOWED - number of channels opened (2) has reached the negotiated channel_max (2)',
      classId: 0,
      methodId: 0,
    });
    c.destroy();
  });

  it("closes the connection with 504 on a second channel.open", async () => {
    const c = await client();
    await c.openChannel(1);
    c.sendEncoded((w) => M.encodeChannelOpen(w, 1, {}));
    expect(await c.waitForClose()).toMatchObject({ replyCode: 504, replyText: "CHANNEL_ERROR - second 'channel.open' seen", classId: 20, methodId: 10 });
    c.destroy();
  });

  it("closes the connection with 504 when a channel is used before channel.open", async () => {
    const c = await client();
    c.sendEncoded((w) => M.encodeBasicQos(w, 3, { prefetchCount: 1 }));
    expect(await c.waitForClose()).toMatchObject({ replyCode: 504, replyText: "CHANNEL_ERROR - expected 'channel.open'", classId: 60, methodId: 10 });
    c.destroy();
  });

  it('drops commands after the server closed a channel, until close-ok; then the number is free', async () => {
    const c = await client();
    await c.openChannel(1);
    c.sendEncoded((w) => M.encodeBasicAck(w, 1, { deliveryTag: 5 }));
    expect(await c.method('channel.close', 1)).toBeDefined();
    // Ignored while the channel waits for close-ok: neither replies nor errors.
    c.sendEncoded((w) => M.encodeBasicQos(w, 1, { prefetchCount: 1 }));
    c.sendEncoded((w) => M.encodeBasicAck(w, 1, { deliveryTag: 99 }));
    c.sendEncoded((w) => M.encodeChannelCloseOk(w, 1));
    c.sendEncoded((w) => M.encodeChannelOpen(w, 1, {}));
    await c.waitFor((fs) => fs.filter((f) => f.type === 'method' && f.name === 'channel.open-ok').length === 2 || undefined);
    const names = c.frames.filter((f) => f.type === 'method' && f.channel === 1).map((f) => (f.type === 'method' ? f.name : ''));
    expect(names).toEqual(['channel.open-ok', 'channel.close', 'channel.open-ok']);
    c.destroy();
  });

  it('answers a channel.close that crosses its own channel.close with close-ok', async () => {
    const c = await client();
    await c.openChannel(1);
    c.sendEncoded((w) => M.encodeBasicAck(w, 1, { deliveryTag: 5 }));
    await c.method('channel.close', 1);
    c.sendEncoded((w) => M.encodeChannelClose(w, 1, { replyCode: 200, replyText: '', classId: 0, methodId: 0 }));
    expect(await c.method('channel.close-ok', 1)).toBeDefined();
    c.destroy();
  });

  it('closes only the failing channel on a soft error; other channels carry on (amqplib)', async () => {
    const conn = await fx.connect();
    const good = await conn.createChannel();
    const bad = await conn.createChannel();
    bad.on('error', () => {});
    const err = closedWith(bad);
    bad.ack({ fields: { deliveryTag: 42 } } as never);
    const e = await err;
    expect(e.code).toBe(406);
    expect(e.message).toContain('PRECONDITION_FAILED - unknown delivery tag 42');
    const q = await good.assertQueue('', { exclusive: true });
    expect(q.queue).toMatch(/^amq\.gen-/);
  });
});
