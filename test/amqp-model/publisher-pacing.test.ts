/**
 * Publisher pacing (src/queue/queue.ts), checked by its mechanism rather than by how fast this
 * machine happens to run: with the event loop saturated (mocked: eventLoopBusy) and a consumer
 * taking messages, a flooding publisher's connection is paused (the queue registers it as a pace
 * waiter) whenever it gets PACE_AHEAD messages ahead of the deliveries, so the backlog never grows
 * more than PACE_AHEAD (plus what one socket read already held) above where it stood, and each
 * pause shrinks a deep backlog back towards PACE_BACKLOG. Without a consumer, the same publisher is
 * never held back: queues absorb bursts.
 *
 * Pacing applies while a consumer settled a delivery within the last PACE_ACTIVE_MS (20 ms). On a
 * loaded machine acknowledgements can be further apart than that, so the clock (Date only; timers
 * run) is stopped during the flood: "the consumer is active" then holds however slowly the test runs.
 */
import { afterEach, describe, expect, vi } from 'vitest';
import { PACE_AHEAD, PACE_BACKLOG } from '../../src/queue/pacing.js';
import type { Queue } from '../../src/queue/queue.js';
import { warrenOnly, withBroker } from '../helpers/broker.js';

vi.mock('../../src/util/event-loop-load.js', () => ({ eventLoopBusy: () => true }));

const fx = withBroker();
const TOTAL = 60_000;
const BODY = Buffer.from('0123456789abcdef');
/**
 * A pause takes effect after the socket read being parsed: at most one read (64 KiB) of publishes
 * beyond PACE_AHEAD. A publish of BODY to 'paced' is at least 68 bytes on the wire (method frame 22,
 * header frame 22, body frame 24).
 */
const ONE_READ = Math.ceil((64 * 1024) / 68);

afterEach(() => {
  vi.useRealTimers();
});

function queueOf(name: string): Queue {
  return fx.broker.broker.vhosts.get('/')!.queues.get(name) as Queue;
}

/** Records the queue's depth as each publish is taken in, and each time it pauses a publisher. */
function watch(q: Queue): { maxDepth: number; minDepth: number; pauses: number } {
  const seen = { maxDepth: 0, minDepth: Infinity, pauses: 0 };
  const publish = q.publish.bind(q);
  q.publish = (...args: Parameters<Queue['publish']>) => {
    const outcome = publish(...args);
    seen.maxDepth = Math.max(seen.maxDepth, q.messageCount);
    seen.minDepth = Math.min(seen.minDepth, q.messageCount);
    return outcome;
  };
  const paceWaiter = q.paceWaiter.bind(q);
  q.paceWaiter = (w) => {
    seen.pauses++;
    paceWaiter(w);
  };
  return seen;
}

async function flood(name: string, n: number): Promise<void> {
  const pub = await fx.channel();
  for (let i = 0; i < n; i++) {
    if (!pub.sendToQueue(name, BODY)) await new Promise<void>((r) => pub.once('drain', () => r()));
  }
  await pub.checkQueue(name); // a round trip: every publish has been taken in
}

describe('publisher pacing', () => {
  warrenOnly('pauses a flooding publisher, bounds the backlog above where it stood, and each pause shrinks a deep backlog', async () => {
    const setup = await fx.channel();
    await setup.assertQueue('paced', { durable: false });
    // A backlog built while nobody consumed: twice the threshold.
    await flood('paced', 2 * PACE_BACKLOG);
    const q = queueOf('paced');
    expect(q.messageCount).toBe(2 * PACE_BACKLOG);
    vi.useFakeTimers({ toFake: ['Date'] });
    const con = await fx.channel();
    await con.prefetch(100);
    let received = 0;
    const all = 2 * PACE_BACKLOG + TOTAL;
    const receivedAll = new Promise<void>((resolve) => {
      void con.consume('paced', (m) => {
        if (m === null) return;
        con.ack(m);
        if (++received === all) resolve();
      });
    });
    const seen = watch(q);
    await flood('paced', TOTAL);
    const duringFlood = { ...seen };
    await receivedAll;
    // Pacing engaged: the publisher's connection was paused.
    expect(duringFlood.pauses).toBeGreaterThan(0);
    // Held back: never more than PACE_AHEAD (and one read) above where the backlog stood...
    expect(duringFlood.maxDepth).toBeLessThanOrEqual(2 * PACE_BACKLOG + PACE_AHEAD + ONE_READ);
    // ...and brought down near the threshold while the publisher still had messages to send.
    expect(duringFlood.minDepth).toBeLessThanOrEqual(PACE_BACKLOG + PACE_AHEAD);
    expect(received).toBe(all);
  }, 60_000);

  warrenOnly('never holds back a publisher to a queue without consumers', async () => {
    const setup = await fx.channel();
    await setup.assertQueue('unpaced', { durable: false });
    vi.useFakeTimers({ toFake: ['Date'] });
    const seen = watch(queueOf('unpaced'));
    await flood('unpaced', TOTAL);
    expect(seen.pauses).toBe(0);
    expect(queueOf('unpaced').messageCount).toBe(TOTAL);
  }, 60_000);
});
