/**
 * Publisher pacing (src/queue/queue.ts): with the event loop saturated (mocked here: timing has no
 * place in unit tests) and a consumer taking messages, a flooding publisher is held back, and each
 * pause lets the deliveries shrink the backlog back under PACE_BACKLOG rather than hold it where it
 * was. Without a consumer, the same publisher is never held back: queues absorb bursts.
 */
import { describe, expect, vi } from 'vitest';
import { PACE_AHEAD, PACE_BACKLOG } from '../../src/queue/pacing.js';
import { warrenOnly, withBroker } from '../helpers/broker.js';

vi.mock('../../src/util/event-loop-load.js', () => ({ eventLoopBusy: () => true }));

const fx = withBroker();
const TOTAL = 60_000;

function depthOf(name: string): number {
  return fx.broker.broker.vhosts.get('/')!.queues.get(name)?.messageCount ?? 0;
}

async function flood(name: string, n: number): Promise<void> {
  const pub = await fx.channel();
  const body = Buffer.from('0123456789abcdef');
  for (let i = 0; i < n; i++) {
    if (!pub.sendToQueue(name, body)) await new Promise<void>((r) => pub.once('drain', () => r()));
  }
  await pub.checkQueue(name); // a round trip: every publish has been taken in
}

describe('publisher pacing', () => {
  warrenOnly('holds a flooding publisher back, and each pause shrinks a deep backlog towards the threshold', async () => {
    const setup = await fx.channel();
    await setup.assertQueue('paced', { durable: false });
    // A backlog built while nobody consumed: twice the threshold.
    await flood('paced', 2 * PACE_BACKLOG);
    expect(depthOf('paced')).toBe(2 * PACE_BACKLOG);
    const con = await fx.channel();
    await con.prefetch(100);
    let received = 0;
    await con.consume('paced', (m) => {
      if (m === null) return;
      received++;
      con.ack(m);
    });
    const depths: number[] = [];
    const sampler = setInterval(() => depths.push(depthOf('paced')), 2);
    let duringFlood: number[];
    try {
      await flood('paced', TOTAL);
      duringFlood = depths.slice();
      await vi.waitFor(() => expect(received).toBe(2 * PACE_BACKLOG + TOTAL), { timeout: 30_000, interval: 20 });
    } finally {
      clearInterval(sampler);
    }
    // Held back: never far above where it started...
    expect(Math.max(...duringFlood)).toBeLessThan(2 * PACE_BACKLOG + 3 * PACE_AHEAD);
    // ...and brought down near the threshold while the publisher still had messages to send.
    expect(Math.min(...duringFlood)).toBeLessThanOrEqual(PACE_BACKLOG + PACE_AHEAD);
  }, 60_000);

  warrenOnly('never holds back a publisher to a queue without consumers', async () => {
    const setup = await fx.channel();
    await setup.assertQueue('unpaced', { durable: false });
    await flood('unpaced', TOTAL);
    expect(depthOf('unpaced')).toBe(TOTAL);
  }, 60_000);
});
