/**
 * The amqplib side of the benchmarks that drive a broker through a real client library rather than
 * the harness's lean generator: streams (harness/stream-rounds.ts, stream-memory.ts) and the queue
 * extensions (extensions-bench.ts). One copy of the confirmed-publish window and of the consumer
 * that settles every 500th delivery with `multiple`, so that every benchmark measures the same client.
 */
import amqp, { type Channel, type ChannelModel, type ConfirmChannel, type ConsumeMessage } from 'amqplib';
import type { Endpoint } from './harness/client.js';

export const MiB = 1024 * 1024;

export async function connect(e: Endpoint): Promise<ChannelModel> {
  const user = encodeURIComponent(e.user ?? 'guest');
  const pass = encodeURIComponent(e.password ?? 'guest');
  const c = await amqp.connect(`amqp://${user}:${pass}@${e.host}:${e.port}`, { noDelay: true });
  c.on('error', () => {});
  return c;
}

/** Publishes n messages with at most `window` unconfirmed; resolves with the ms taken once all are confirmed. */
export async function publishConfirmed(ch: ConfirmChannel, queue: string, n: number, body: Buffer, window = 256): Promise<number> {
  const t0 = performance.now();
  let outstanding = 0;
  let wake: (() => void) | undefined;
  for (let i = 0; i < n; i++) {
    while (outstanding >= window) await new Promise<void>((r) => (wake = r));
    outstanding++;
    const more = ch.sendToQueue(queue, body, {}, () => {
      outstanding--;
      const w = wake;
      wake = undefined;
      w?.();
    });
    if (!more) await new Promise<void>((r) => ch.once('drain', () => r()));
  }
  await ch.waitForConfirms();
  return performance.now() - t0;
}

/** Publishes n messages as fast as the socket takes them, then waits for the broker to have read them. */
export async function publishMany(ch: Channel | ConfirmChannel, n: number, publish: (i: number) => boolean): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    if (!publish(i)) await new Promise<void>((r) => ch.once('drain', () => r()));
  }
  if ('waitForConfirms' in ch) await ch.waitForConfirms();
  else await ch.checkExchange('amq.direct'); // a round trip: the broker has read every publish before it
  return performance.now() - t0;
}

export interface SettlingConsumer {
  /** Deliveries so far. */
  readonly seen: () => number;
  /** The x-stream-offset header of the last delivery (streams), for checking where a reader got to. */
  readonly lastOffset: () => number | undefined;
  /** Resolves after the n-th delivery, with the channel closed. */
  readonly done: Promise<void>;
}

export interface ConsumeOptions {
  prefetch?: number;
  /** basic.consume arguments (x-stream-offset for a stream). */
  arguments?: Record<string, unknown>;
  /** What every 500th delivery (and the last) settles with `multiple`: an ack, or a nack without requeue (dead-lettering). */
  settle?: 'ack' | 'nack';
}

/**
 * A consumer on its own channel (prefetch 1000 unless told) that settles every 500th delivery, and
 * the n-th, with `multiple`. Resolves once attached (consume-ok); `done` is wrapped in an object,
 * since an async function returning a promise would wait for it.
 */
export async function settlingConsumer(c: ChannelModel, queue: string, n: number, o: ConsumeOptions = {}): Promise<SettlingConsumer> {
  const ch = await c.createChannel();
  await ch.prefetch(o.prefetch ?? 1000);
  let seen = 0;
  let lastOffset: number | undefined;
  let finish!: () => void;
  const all = new Promise<void>((r) => (finish = r));
  const settle = o.settle === 'nack' ? (m: ConsumeMessage) => ch.nack(m, true, false) : (m: ConsumeMessage) => ch.ack(m, true);
  await ch.consume(
    queue,
    (m) => {
      if (m === null) return;
      seen++;
      const offset = m.properties.headers?.['x-stream-offset'];
      if (typeof offset === 'number') lastOffset = offset;
      if (seen % 500 === 0 || seen === n) settle(m);
      if (seen === n) finish();
    },
    o.arguments === undefined ? {} : { arguments: o.arguments },
  );
  return { seen: () => seen, lastOffset: () => lastOffset, done: all.then(() => ch.close()) };
}

export const fmtInt = (n: number) => Math.round(n).toLocaleString('en-US');
