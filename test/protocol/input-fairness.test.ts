/**
 * Input fairness (issue 19): one connection flooding small publishes must not hold up the others.
 * Each connection has at most INPUT_PER_TURN bytes (in practice one socket read) processed per
 * event-loop turn before it yields (connection/socket-input.ts), so another client's command is
 * answered after at most a few reads of the flood, however fast or slow the machine is.
 *
 * The measure is the mechanism, not time: how many of the flood's publishes the broker takes in
 * between a second connection sending a command and its answer arriving. Without the per-turn
 * budget libuv reads the flooding socket again and again within one turn (tens of reads of 64 KiB)
 * before the other connection is looked at.
 */
import { describe, expect } from 'vitest';
import { Writer } from '../../src/protocol/codec-primitives.js';
import { FRAME_BODY, FRAME_HEADER } from '../../src/protocol/generated/constants.js';
import * as M from '../../src/protocol/generated/methods.js';
import { warrenOnly, withBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';

const fx = withBroker();

/** publishes of a 16-byte body to `queue`, as one buffer: method, header and body frames each. */
function floodBytes(queue: string, count: number): Buffer {
  const w = new Writer(count * 80);
  const body = Buffer.alloc(16, 0x61);
  for (let i = 0; i < count; i++) {
    M.encodeBasicPublish(w, 1, { exchange: '', routingKey: queue, mandatory: false, immediate: false });
    const h = w.frameStart(FRAME_HEADER, 1);
    w.short(60);
    w.short(0);
    w.longlong(body.length);
    w.short(0);
    w.frameEnd(h);
    const b = w.frameStart(FRAME_BODY, 1);
    w.raw(body);
    w.frameEnd(b);
  }
  return Buffer.from(w.bytes());
}

/** One socket read of the flood (Node reads up to 64 KiB), in publishes. */
const PUBLISHES_PER_READ = Math.ceil(65536 / floodBytes('flood', 1).length);

describe('input fairness', () => {
  warrenOnly('a connection flooding publishes leaves another one waiting at most a few of its reads', async () => {
    const queue = 'fairness-flood';
    const flooder = await RawClient.connect(fx.broker.port);
    await flooder.handshake();
    await flooder.openChannel(1);
    flooder.sendEncoded((w) => M.encodeQueueDeclare(w, 1, { queue, passive: false, durable: false, exclusive: true, autoDelete: false, nowait: false, arguments: new Map() }));
    await flooder.method('queue.declare-ok', 1);
    const other = await RawClient.connect(fx.broker.port);
    await other.handshake();
    await other.openChannel(1);

    const q = fx.broker.broker.vhosts.get('/')!.queues.get(queue)!;
    const total = 300_000;
    flooder.send(floodBytes(queue, total));
    // Wait until the broker is well into the flood, then ask the other connection a question.
    const samples: number[] = [];
    for (let round = 0; round < 5; round++) {
      await until(() => q.messageCount >= (round + 1) * 20_000);
      const before = q.messageCount;
      const answered = other.frames.length;
      other.sendEncoded((w) => M.encodeBasicQos(w, 1, { prefetchSize: 0, prefetchCount: round + 1, global: false }));
      await until(() => other.frames.length > answered);
      samples.push(q.messageCount - before);
    }
    // The flood was still going on at every answer (otherwise the measure means nothing).
    expect(q.messageCount).toBeLessThan(total);
    // Each answer came within a few of the flood's reads, not dozens.
    expect(Math.max(...samples)).toBeLessThanOrEqual(4 * PUBLISHES_PER_READ);
    flooder.destroy();
    other.destroy();
  });
});

/** Polls on every event-loop turn (setImmediate), so the broker in this process keeps running. */
async function until(pred: () => boolean): Promise<void> {
  for (let turns = 0; !pred(); turns++) {
    if (turns > 10_000_000) throw new Error('condition never held');
    await new Promise<void>((r) => setImmediate(r));
  }
}
