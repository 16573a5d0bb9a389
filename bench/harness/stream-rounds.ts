/**
 * One round of a stream scenario (scenarios.ts, kind 'stream'; issue 15) against one broker: a fresh
 * stream, the plan's publisher and readers, the broker's CPU and memory sampled meanwhile, the
 * stream deleted after. The publisher is the lean generator's (a worker process: amqplib's confirm
 * handling tops out near 15-20k msg/s, below either broker); the readers are amqplib consumers
 * (amqplib-kit.ts, as in every stream benchmark) in the harness process, whose CPU is reported as
 * "client CPU (cores)".
 */
import type { ChannelModel } from 'amqplib';
import { connect, MiB, settlingConsumer, type SettlingConsumer } from '../amqplib-kit.js';
import { diskUsage, type BrokerHandle } from './brokers.js';
import { Sampler } from './proc.js';
import { publishConfirmedTotal, type RoundResult, type Timing } from './runner.js';
import type { Scenario } from './scenarios.js';

const STREAM = { 'x-queue-type': 'stream' };

/** Waits until every reader has its n deliveries; fails when none of them moved for `stallMs`. */
async function allRead(readers: readonly SettlingConsumer[], n: number, stallMs = 15_000): Promise<void> {
  let last = -1;
  let lastChange = performance.now();
  for (;;) {
    const seen = readers.reduce((a, r) => a + r.seen(), 0);
    if (seen >= n * readers.length) break;
    if (seen !== last) {
      last = seen;
      lastChange = performance.now();
    } else if (performance.now() - lastChange > stallMs) {
      throw new Error(`readers stalled at ${seen} of ${n * readers.length} deliveries`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  await Promise.all(readers.map((r) => r.done));
}

/** Readers on connections of their own, attached (consume-ok) before this resolves. */
async function openReaders(b: BrokerHandle, count: number, queue: string, offset: string, n: number, prefetch: number) {
  const conns: ChannelModel[] = await Promise.all(Array.from({ length: count }, () => connect(b.endpoint)));
  const readers = await Promise.all(conns.map((c) => settlingConsumer(c, queue, n, { prefetch, arguments: { 'x-stream-offset': offset } })));
  return { conns, readers };
}

type Usage = ReturnType<Sampler['stop']>;

function usageFigures(u: Usage, prefix = ''): Record<string, number> {
  return {
    [`${prefix}broker CPU (cores)`]: u.cpu,
    [`${prefix}RSS peak MiB`]: u.peakRss / MiB,
    [`${prefix}client CPU (cores)`]: u.harnessCpu,
  };
}

export async function streamRound(b: BrokerHandle, s: Scenario, round: number, timing: Timing): Promise<RoundResult> {
  const q = s.params;
  const queue = `bench.${s.name}.${b.slot}.${round}.${process.pid}`;
  const c = await connect(b.endpoint);
  const opened: ChannelModel[] = [];
  const sampler = b.pid !== undefined ? new Sampler(b.pid) : undefined;
  const publish = () => publishConfirmedTotal(b, queue, q.count, q.size, q.confirmWindow);
  const figures: Record<string, number> = {};
  const notes: string[] = [];
  let delivered = 0;
  try {
    const ch = await c.createConfirmChannel();
    await ch.assertQueue(queue, { durable: true, arguments: STREAM });
    const mode = s.stream!.mode;
    if (mode === 'publish') {
      sampler?.start();
      const { ms } = await publish();
      figures['confirmed msg/s'] = q.count / (ms / 1000);
    } else if (mode === 'tail') {
      const r = await openReaders(b, q.consumers, queue, 'next', q.count, q.prefetch);
      opened.push(...r.conns);
      sampler?.start();
      const t0 = performance.now();
      const publishMs = (await publish()).ms;
      await allRead(r.readers, q.count);
      figures['delivered msg/s'] = (q.count * q.consumers) / ((performance.now() - t0) / 1000);
      figures['confirmed msg/s'] = q.count / (publishMs / 1000);
      delivered = r.readers.reduce((a, x) => a + x.seen(), 0);
    } else if (mode === 'replay') {
      await publish();
      sampler?.start();
      const t0 = performance.now();
      const r = await openReaders(b, q.consumers, queue, 'first', q.count, q.prefetch);
      opened.push(...r.conns);
      await allRead(r.readers, q.count);
      const sec = (performance.now() - t0) / 1000;
      figures[`delivered msg/s (all ${q.consumers})`] = (q.count * q.consumers) / sec;
      figures['seconds to replay'] = sec;
      delivered = r.readers.reduce((a, x) => a + x.seen(), 0);
    } else {
      sampler?.start();
      const fillMs = (await publish()).ms;
      const filling = sampler!.stop();
      figures['fill msg/s'] = q.count / (fillMs / 1000);
      Object.assign(figures, usageFigures(filling, 'filling: '));
      figures['disk writes MiB'] = filling.writeBytes / MiB;
      await new Promise((r) => setTimeout(r, timing.settleMs));
      const holding = new Sampler(b.pid!);
      holding.start();
      const t0 = performance.now();
      const r = await openReaders(b, q.consumers, queue, 'first', q.count, q.prefetch);
      opened.push(...r.conns);
      await allRead(r.readers, q.count);
      figures['read msg/s'] = (q.count * q.consumers) / ((performance.now() - t0) / 1000);
      Object.assign(figures, usageFigures(holding.stop(), 'reading: '));
      if (b.dataDir !== undefined) figures['data dir MiB'] = diskUsage(b.dataDir) / MiB;
      delivered = r.readers.reduce((a, x) => a + x.seen(), 0);
    }
    if (mode !== 'memory' && sampler !== undefined) {
      const u = sampler.stop();
      Object.assign(figures, usageFigures(u));
      if (mode !== 'replay') figures['disk writes MiB'] = u.writeBytes / MiB;
    }
    for (const x of opened.splice(0)) await x.close();
    await ch.deleteQueue(queue);
    const expected = mode === 'publish' ? 0 : q.count * q.consumers;
    if (delivered !== expected) notes.push(`${expected - delivered} deliveries missing`);
    return { slot: b.slot, round, figures, counts: { published: q.count, expected, delivered, ready: 0, confirmed: q.count, nacked: 0, lost: expected - delivered }, notes };
  } finally {
    sampler?.stop();
    for (const x of opened) await x.close().catch(() => undefined);
    await c.close().catch(() => undefined);
  }
}
