// What the crash tests share (scripts/crash-test.mjs, scripts/crash-test-stream.mjs): a seeded PRNG,
// the exact body of numbered message n, and a port to run the broker on.
import { createServer } from 'node:net';

/** mulberry32: a small seeded PRNG, enough to replay a kill schedule. */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The exact body of message n: its number, then filler derived from n and the seed. */
export function bodyOf(n, seed, minBody, maxBody) {
  const r = prng((seed ^ Math.imul(n, 0x9e3779b1)) >>> 0);
  const head = `${n}:`;
  const len = Math.max(head.length, minBody + Math.floor(r() * (maxBody - minBody + 1)));
  const b = Buffer.allocUnsafe(len);
  b.write(head, 0, 'latin1');
  if (len > head.length) b.fill(Math.floor(r() * 0xffffffff).toString(36), head.length, len, 'latin1');
  return b;
}

/**
 * A free port below the ephemeral range (32768-60999 on Linux): the clients keep reconnecting while
 * the broker is down, and a connect to a free port inside that range can be given that very port as
 * its own local port (a TCP self-connection), which would keep the next broker from listening.
 */
export async function freePort() {
  for (;;) {
    const port = 20000 + Math.floor(Math.random() * 12000);
    const ok = await new Promise((resolve) => {
      const s = createServer();
      s.once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (ok) return port;
  }
}

