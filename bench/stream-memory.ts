/**
 * Memory stays bounded with a large stream (issue 15): fills one stream to --gb gigabytes (10 by
 * default) with confirmed publishes, then reads it with three consumers at once, one from the start
 * ("first"), one from the middle (the offset half-way), one at the tail ("next"), while --extra more
 * messages are published so that the tail reader has something to read. The broker (started afresh
 * by the harness, durability fsync) is sampled throughout: peak RSS while filling, RSS holding the
 * stream at rest, peak RSS while the three read.
 *
 *   npm run bench:build && node node_modules/.cache/warren-bench/bench/stream-memory.js
 *   ... stream-memory.js --gb 2 --size 4096 --broker rabbitmq   (default 10 GB of 16 KiB messages)
 *
 * Heavy (10 GB on disk, minutes): run it under flock /tmp/warren-heavy.lock. Check free space first
 * (`df -h`); the broker's data directory is under $TMPDIR and removed at the end.
 */
import { statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { connect, fmtInt, MiB, publishConfirmed, settlingConsumer } from './amqplib-kit.js';
import { diskUsage, killAll, startBroker } from './harness/brokers.js';
import { processTree, rss, Sampler } from './harness/proc.js';

interface Options {
  gb: number;
  size: number;
  extra: number;
  broker: 'warren' | 'rabbitmq';
}

function parse(argv: string[]): Options {
  const o: Options = { gb: 10, size: 16_384, extra: 5000, broker: 'warren' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = argv[++i];
    if (a === '--gb') o.gb = Number(v);
    else if (a === '--size') o.size = Number(v);
    else if (a === '--extra') o.extra = Number(v);
    else if (a === '--broker' && (v === 'warren' || v === 'rabbitmq')) o.broker = v;
    else throw new Error(`unknown option ${a} ${v ?? ''}`);
  }
  return o;
}

const GB = 1e9;
const line = (s: string) => process.stdout.write(`${s}\n`);

async function main(): Promise<void> {
  const o = parse(process.argv.slice(2));
  const free = statfsSync(tmpdir());
  const freeGB = (free.bavail * free.bsize) / GB;
  if (freeGB < o.gb * 1.25 + 2) throw new Error(`${tmpdir()} has ${freeGB.toFixed(1)} GB free: too little for a ${o.gb} GB stream (give --gb)`);
  const n = Math.ceil((o.gb * GB) / o.size);
  const b = await startBroker({ slot: o.broker === 'warren' ? 'A' : 'B', kind: o.broker, name: o.broker === 'warren' ? 'Warren' : 'RabbitMQ', durability: 'fsync' });
  try {
    line(`${b.name} (${b.version}); ${fmtInt(n)} x ${o.size} B = ${(n * o.size / GB).toFixed(2)} GB into one stream, then readers at first, ${fmtInt(Math.floor(n / 2))} and next`);
    const c = await connect(b.endpoint);
    const ch = await c.createConfirmChannel();
    const queue = `bench-stream-memory-${Date.now()}`;
    await ch.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'stream' } });
    const body = Buffer.alloc(o.size, 'x');
    const filling = new Sampler(b.pid!);
    filling.start();
    const startRss = rss(processTree(b.pid!));
    let fillMs = 0;
    const step = 100_000;
    for (let done = 0; done < n; done += step) {
      fillMs += await publishConfirmed(ch, queue, Math.min(step, n - done), body);
      const now = Math.min(done + step, n);
      if (now % 500_000 < step || now === n) line(`  filled ${fmtInt(now)} (${(now * o.size / GB).toFixed(2)} GB), RSS now ${fmtInt(rss(processTree(b.pid!)) / MiB)} MiB`);
    }
    const fill = filling.stop();
    await new Promise((r) => setTimeout(r, 3000));
    const holdingRss = rss(processTree(b.pid!));
    const onDisk = diskUsage(b.dataDir);

    const middle = Math.floor(n / 2);
    const conns = await Promise.all([0, 1, 2].map(() => connect(b.endpoint)));
    const reading = new Sampler(b.pid!);
    reading.start();
    const t0 = performance.now();
    const plan = [
      { name: 'start (first)', offset: 'first' as unknown, count: n + o.extra },
      { name: `middle (${middle})`, offset: middle, count: n - middle + o.extra },
      { name: 'tail (next)', offset: 'next', count: o.extra },
    ];
    const readers = await Promise.all(plan.map((p, i) => settlingConsumer(conns[i]!, queue, p.count, { arguments: { 'x-stream-offset': p.offset } })));
    const finished = readers.map((r) => r.done.then(() => performance.now() - t0));
    const extraMs = await publishConfirmed(ch, queue, o.extra, body);
    const progress = setInterval(() => {
      line(`  reading: ${readers.map((r, i) => `${plan[i]!.name} ${fmtInt(r.seen())}`).join(', ')}; RSS ${fmtInt(rss(processTree(b.pid!)) / MiB)} MiB`);
    }, 10_000);
    const times = await Promise.all(finished);
    clearInterval(progress);
    const read = reading.stop();

    line('');
    line(`| figure | ${b.name} |`);
    line('|---|---|');
    line(`| stream size | ${(n * o.size / GB).toFixed(2)} GB (${fmtInt(n)} x ${o.size} B; data dir ${(onDisk / GB).toFixed(2)} GB) |`);
    line(`| fill, confirmed | ${fmtInt(n / (fillMs / 1000))} msg/s, ${fmtInt((n * o.size) / MiB / (fillMs / 1000))} MiB/s |`);
    line(`| RSS at start of fill | ${fmtInt(startRss / MiB)} MiB |`);
    line(`| peak RSS while filling | ${fmtInt(fill.peakRss / MiB)} MiB |`);
    line(`| RSS holding the stream, at rest | ${fmtInt(holdingRss / MiB)} MiB |`);
    line(`| peak RSS while 3 readers read (and ${fmtInt(o.extra)} more are published) | ${fmtInt(read.peakRss / MiB)} MiB |`);
    for (const [i, p] of plan.entries()) {
      line(`| reader ${p.name}: ${fmtInt(p.count)} deliveries | ${(times[i]! / 1000).toFixed(1)} s, ${fmtInt(p.count / (times[i]! / 1000))} msg/s, last offset ${readers[i]!.lastOffset() ?? '-'} |`);
    }
    line(`| extra publishes during the reads | ${fmtInt(o.extra / (extraMs / 1000))} msg/s |`);
    line(`| broker CPU filling / reading | ${fill.cpu.toFixed(2)} / ${read.cpu.toFixed(2)} cores |`);
    for (const x of conns) await x.close();
    await ch.deleteQueue(queue);
    await c.close();
  } finally {
    await b.stop();
    killAll();
  }
}

await main();
