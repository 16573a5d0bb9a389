/**
 * consumer_timeout (RabbitMQ docs page "consumers", "Delivery Acknowledgement Timeout";
 * rabbit_channel:evaluate_consumer_timeout): a delivery left unacknowledged longer than the timeout
 * closes its channel with 406 (no method), and the channel's unacknowledged messages are requeued.
 *
 * Warren-only: the setting is the broker's (the reference runs with RabbitMQ's 30-minute default).
 * RabbitMQ checks on its channel tick (every minute by default), so it closes up to a tick late;
 * Warren checks when the oldest delivery falls due.
 */
import type { Channel } from 'amqplib';
import { describe, expect } from 'vitest';
import { eventually, sleep, warrenOnly, withBroker } from '../helpers/broker.js';
import { collect, expectChannelAlive, expectChannelClosed, openChannel, sync, withModel } from '../helpers/model.js';

const TIMEOUT = 300;
const fx = withBroker({ consumerTimeoutMs: TIMEOUT });
const m = withModel(fx);

const timedOut = (channel: number) => ({
  code: 406,
  text: `PRECONDITION_FAILED - delivery acknowledgement on channel ${channel} timed out. Timeout value used: ${TIMEOUT} ms. This timeout value can be configured, see consumers doc guide to learn more`,
  classId: 0,
  methodId: 0,
});

async function queueWith(ch: Channel, ...bodies: string[]): Promise<string> {
  const q = m.queue();
  await ch.assertQueue(q);
  for (const b of bodies) ch.sendToQueue(q, Buffer.from(b));
  await sync(ch);
  return q;
}

const channelNumber = (ch: Channel) => (ch as unknown as { ch: number }).ch;

describe('consumer_timeout', () => {
  warrenOnly('an unacknowledged delivery older than the timeout closes the channel with 406 and no method', async () => {
    const ch = await fx.channel();
    const q = await queueWith(ch, 'a');
    const c = await collect(ch, q);
    await c.atLeast(1);
    await expectChannelClosed(ch, undefined, timedOut(channelNumber(ch)), TIMEOUT * 10);
  });

  warrenOnly("the channel's unacknowledged messages go back to the queue, in order, marked redelivered", async () => {
    const ch = await fx.channel();
    const q = await queueWith(ch, 'a', 'b', 'c');
    const c = await collect(ch, q);
    await c.atLeast(3);
    await expectChannelClosed(ch, undefined, timedOut(channelNumber(ch)), TIMEOUT * 10);
    const other = await fx.channel();
    const again = await collect(other, q, { noAck: true });
    await again.atLeast(3);
    expect(again.messages.map((x) => [x.content.toString(), x.fields.redelivered])).toEqual([
      ['a', true],
      ['b', true],
      ['c', true],
    ]);
  });

  warrenOnly('acknowledging in time keeps the channel open, however long it lives', async () => {
    const ch = await fx.channel();
    const q = m.queue();
    await ch.assertQueue(q);
    await ch.consume(q, (msg) => msg && ch.ack(msg));
    const deadline = Date.now() + TIMEOUT * 3;
    while (Date.now() < deadline) {
      ch.sendToQueue(q, Buffer.from('x'));
      await sleep(TIMEOUT / 5);
    }
    await expectChannelAlive(ch);
  });

  warrenOnly('the oldest delivery counts: later ones acknowledged do not save it', async () => {
    const ch = await fx.channel();
    const publisher = await fx.channel();
    const q = await queueWith(ch, 'old');
    const c = await collect(ch, q);
    await c.atLeast(1);
    let open = true;
    const acked = new Set<unknown>();
    const closed = expectChannelClosed(ch, undefined, timedOut(channelNumber(ch)), TIMEOUT * 10).finally(() => (open = false));
    for (let i = 0; open && i < 8; i++) {
      publisher.sendToQueue(q, Buffer.from(`new-${i}`));
      await sleep(TIMEOUT / 4);
      const last = c.messages[c.messages.length - 1];
      if (open && last !== undefined && last !== c.messages[0] && !acked.has(last)) {
        acked.add(last);
        ch.ack(last);
      }
    }
    await closed;
    expect(c.messages.length).toBeGreaterThan(1);
  });

  warrenOnly('a deadline reached after the oldest was acknowledged is measured from the next oldest', async () => {
    const ch = await fx.channel();
    const q = await queueWith(ch, 'first');
    const c = await collect(ch, q);
    await c.atLeast(1);
    await sleep(TIMEOUT / 2);
    ch.sendToQueue(q, Buffer.from('second'));
    await c.atLeast(2);
    ch.ack(c.messages[0]!);
    // The first delivery's deadline passes now; the second still has about half the timeout left.
    await sleep(TIMEOUT * 0.6);
    await expectChannelAlive(ch);
    await expectChannelClosed(ch, undefined, timedOut(channelNumber(ch)), TIMEOUT * 10);
  });

  warrenOnly('basic.get deliveries waiting for an ack time out too', async () => {
    const ch = await fx.channel();
    const q = await queueWith(ch, 'a');
    const got = await ch.get(q, { noAck: false });
    expect(got).not.toBe(false);
    await expectChannelClosed(ch, undefined, timedOut(channelNumber(ch)), TIMEOUT * 10);
    const other = await fx.channel();
    expect((await other.checkQueue(q)).messageCount).toBe(1);
  });

  warrenOnly('no-ack consumers never time out', async () => {
    const ch = await fx.channel();
    const q = await queueWith(ch, 'a', 'b');
    const c = await collect(ch, q, { noAck: true });
    await c.atLeast(2);
    await sleep(TIMEOUT * 2);
    await expectChannelAlive(ch);
  });

  warrenOnly('only the late channel closes: other channels of the connection carry on', async () => {
    const conn = await fx.connect();
    const late = await openChannel(conn);
    const fine = await openChannel(conn);
    const q = await queueWith(late, 'a');
    const c = await collect(late, q);
    await c.atLeast(1);
    await expectChannelClosed(late, undefined, timedOut(channelNumber(late)), TIMEOUT * 10);
    await expectChannelAlive(fine);
  });

  warrenOnly('a consumer that acknowledges everything after a slow start is not closed later', async () => {
    const ch = await fx.channel();
    const q = await queueWith(ch, 'a');
    const c = await collect(ch, q);
    await c.atLeast(1);
    await sleep(TIMEOUT / 2);
    ch.ack(c.messages[0]!);
    await sleep(TIMEOUT * 1.5);
    await expectChannelAlive(ch);
  });
});

describe('consumer_timeout off (the default)', () => {
  const off = withBroker();
  warrenOnly('unacknowledged deliveries are kept as long as the channel lives', async () => {
    const ch = await off.channel();
    const q = `q-${Date.now()}`;
    await ch.assertQueue(q, { exclusive: true });
    ch.sendToQueue(q, Buffer.from('a'));
    const got: unknown[] = [];
    await ch.consume(q, (msg) => got.push(msg));
    await eventually(() => expect(got.length).toBe(1));
    await sleep(TIMEOUT * 2);
    await expectChannelAlive(ch);
  });
});
