// Small helpers shared by scenario files.
import type { Ctx, RChannel } from '../harness/scenario.js';

/** Take every ready message of a queue (basic.get, no-ack) and record just their bodies, in order. */
export async function drainBodies(t: Ctx, ch: RChannel, queue: string, label = 'bodies'): Promise<string[]> {
  const out: string[] = [];
  for (;;) {
    const m = await ch.raw.get(queue, { noAck: true });
    if (m === false) break;
    out.push(m.content.toString());
    if (out.length > 1000) break;
  }
  t.record(label, out);
  return out;
}

/** Declare an exclusive queue bound to `exchange` with each of `keys` (and optional binding args). */
export async function boundQueue(t: Ctx, ch: RChannel, exchange: string, name: string, keys: string[], args?: Record<string, unknown>): Promise<string> {
  const q = t.n(name);
  await ch.assertQueue(q, { exclusive: true });
  for (const k of keys) await ch.bindQueue(q, exchange, k, args);
  return q;
}
