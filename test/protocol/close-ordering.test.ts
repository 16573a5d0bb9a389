/**
 * What a broker still owes a channel or connection when the client closes it goes out first: every
 * confirm for the publishes it read before channel.close (or connection.close) precedes close-ok,
 * and nothing is written on the channel after its close-ok (amqplib's own suite, "confirms / works
 * when channel is closed", kills the connection with 504 on a frame for a channel it has closed).
 * Checked against RabbitMQ 3.10.8.
 */
import { describe, expect, it } from 'vitest';
import { Writer } from '../../src/protocol/codec-primitives.js';
import { FRAME_BODY, FRAME_HEADER } from '../../src/protocol/generated/constants.js';
import * as M from '../../src/protocol/generated/methods.js';
import { withBroker } from '../helpers/broker.js';
import { withModel } from '../helpers/model.js';
import type { ReceivedFrame } from '../helpers/raw-client.js';

const fx = withBroker();
const m = withModel(fx);

const PUBLISHES = 1000;

/** confirm.select-ok, then PUBLISHES unroutable publishes and `close` in a single write. */
function publishesThen(close: (w: Writer) => void): Buffer {
  const w = new Writer(64 * 1024);
  for (let i = 0; i < PUBLISHES; i++) {
    M.encodeBasicPublish(w, 1, { exchange: '', routingKey: 'no-such-queue-anywhere', mandatory: false, immediate: false });
    const h = w.frameStart(FRAME_HEADER, 1);
    w.short(60);
    w.short(0);
    w.longlong(1);
    w.short(0);
    w.frameEnd(h);
    const b = w.frameStart(FRAME_BODY, 1);
    w.octet(0x78);
    w.frameEnd(b);
  }
  close(w);
  return Buffer.from(w.bytes());
}

/** The highest publish number the acks on channel 1 cover, and whether they came before `until`. */
function ackedBefore(frames: readonly ReceivedFrame[], until: (f: ReceivedFrame) => boolean): number {
  let acked = 0;
  for (const f of frames) {
    if (until(f)) return acked;
    if (f.type === 'method' && f.channel === 1 && f.method.id === M.Method.BasicAck) acked = Math.max(acked, f.method.deliveryTag);
  }
  return -1;
}

describe('closing with confirms outstanding', () => {
  it('channel.close: every confirm goes out before close-ok, nothing on the channel after it', async () => {
    const c = await m.raw();
    await c.openChannel(1);
    c.sendEncoded((w) => M.encodeConfirmSelect(w, 1, { nowait: false }));
    await c.method('confirm.select-ok', 1);
    c.send(publishesThen((w) => M.encodeChannelClose(w, 1, { replyCode: 200, replyText: 'bye', classId: 0, methodId: 0 })));
    await c.method('channel.close-ok', 1);
    // A round trip on another channel: the broker has written all it will write for channel 1.
    await c.openChannel(2);
    const isCloseOk = (f: ReceivedFrame) => f.type === 'method' && f.channel === 1 && f.name === 'channel.close-ok';
    expect(ackedBefore(c.frames, isCloseOk)).toBe(PUBLISHES);
    const after = c.frames.slice(c.frames.findIndex(isCloseOk) + 1);
    expect(after.filter((f) => f.channel === 1)).toEqual([]);
  });

  it('connection.close: every confirm goes out before close-ok, and nothing after it', async () => {
    const c = await m.raw();
    await c.openChannel(1);
    c.sendEncoded((w) => M.encodeConfirmSelect(w, 1, { nowait: false }));
    await c.method('confirm.select-ok', 1);
    c.send(publishesThen((w) => M.encodeConnectionClose(w, 0, { replyCode: 200, replyText: 'bye', classId: 0, methodId: 0 })));
    await c.method('connection.close-ok', 0);
    const isCloseOk = (f: ReceivedFrame) => f.type === 'method' && f.channel === 0 && f.name === 'connection.close-ok';
    expect(ackedBefore(c.frames, isCloseOk)).toBe(PUBLISHES);
    expect(c.frames[c.frames.length - 1]!.type === 'method' && (c.frames[c.frames.length - 1] as { name: string }).name).toBe('connection.close-ok');
  });

  it('an unsolicited channel.close-ok on an open channel closes the connection with 503', async () => {
    const c = await m.raw();
    await c.openChannel(1);
    c.sendEncoded((w) => M.encodeChannelCloseOk(w, 1));
    await c.waitForClose();
    expect(c.closeMethod()).toMatchObject({ channel: 0, replyCode: 503, replyText: 'COMMAND_INVALID - unimplemented method', classId: 20, methodId: 41 });
  });
});
