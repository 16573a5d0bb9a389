/**
 * Benchmarks of streams over AMQP 0-9-1 (issue 15), Warren and RabbitMQ side by side, each broker
 * started afresh as a child process (bench/harness/brokers.ts, durability fsync), its resident memory
 * and CPU sampled while the scenario runs:
 *
 *  - publish: n messages (16 B, then 1 KiB) into a stream with confirms, a window of 256;
 *  - tail: one consumer at "next" (prefetch 1000, acks every 500) while n 16 B messages are published
 *    with confirms: from the first publish until the consumer has them all;
 *  - replay: ten consumers reading a stream of n 1 KiB messages from "first" at once.
 *
 *   npm run bench:streams                               # all scenarios, Warren and RabbitMQ
 *   npm run bench:streams -- --only warren --n 100000
 *   npm run bench:streams -- --scenarios publish,replay
 *
 * The client is amqplib, the same for both brokers.
 */
import amqp, { type ChannelModel, type ConfirmChannel } from 'amqplib';
import { killAll, startBroker, type BrokerHandle } from './harness/brokers.js';
import { Sampler } from './harness/proc.js';

interface Options {
  n: number;
  only: string | undefined;
  scenarios: string[];
}

function parse(argv: string[]): Options {
  const o: Options = { n: 500_000, only: undefined, scenarios: ['publish', 'tail', 'replay'] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--n') o.n = Number(argv[++i]);
    else if (a === '--only') o.only = argv[++i];
    else if (a === '--scenarios') o.scenarios = argv[++i]!.split(',');
    else throw new Error(`unknown option ${a}`);
  }
  return o;
}

const MiB = 1024 * 1024;
const WINDOW = 256;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const STREAM = { 'x-queue-type': 'stream' };

async function connect(b: BrokerHandle): Promise<ChannelModel> {
  const c = await amqp.connect(`amqp://guest:guest@${b.endpoint.host}:${b.endpoint.port}`, { noDelay: true });
  c.on('error', () => {});
  return c;
}

/** Publishes n messages with at most WINDOW unconfirmed; resolves when all are confirmed. */
async function publishConfirmed(ch: ConfirmChannel, q: string, n: number, body: Buffer): Promise<number> {
  const t0 = performance.now();
  let outstanding = 0;
  let wake: (() => void) | undefined;
  for (let i = 0; i < n; i++) {
    while (outstanding >= WINDOW) await new Promise<void>((r) => (wake = r));
    outstanding++;
    const more = ch.sendToQueue(q, body, {}, () => {
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

/**
 * A consumer from `offset` that acks every 500th delivery (multiple). Resolves once it is attached
 * (consume-ok), with `done`, a promise of its n deliveries (wrapped: an async function returning a
 * promise would wait for it).
 */
async function reader(c: ChannelModel, q: string, offset: unknown, n: number): Promise<{ done: Promise<void> }> {
  const ch = await c.createChannel();
  await ch.prefetch(1000);
  let seen = 0;
  let done!: () => void;
  const all = new Promise<void>((r) => (done = r));
  await ch.consume(q, (m) => {
    if (m === null) return;
    seen++;
    if (seen % 500 === 0 || seen === n) ch.ack(m, true);
    if (seen === n) done();
  }, { arguments: { 'x-stream-offset': offset } });
  return { done: all.then(() => ch.close()) };
}

interface Row {
  scenario: string;
  broker: string;
  figures: Record<string, string>;
}

async function publish(b: BrokerHandle, n: number, size: number): Promise<Row> {
  const c = await connect(b);
  const ch = await c.createConfirmChannel();
  const q = `bench-stream-pub-${size}-${Date.now()}`;
  await ch.assertQueue(q, { durable: true, arguments: STREAM });
  const sampler = new Sampler(b.pid!);
  sampler.start();
  const ms = await publishConfirmed(ch, q, n, Buffer.alloc(size, 'x'));
  const s = sampler.stop();
  await ch.deleteQueue(q);
  await c.close();
  return {
    scenario: `publish: ${fmt(n)} x ${size} B into a stream, confirms (window ${WINDOW})`,
    broker: b.name,
    figures: { 'confirmed msg/s': fmt(n / (ms / 1000)), 'peak RSS MiB': fmt(s.peakRss / MiB), 'broker CPU': s.cpu.toFixed(2) },
  };
}

async function tail(b: BrokerHandle, n: number): Promise<Row> {
  const c = await connect(b);
  const ch = await c.createConfirmChannel();
  const q = `bench-stream-tail-${Date.now()}`;
  await ch.assertQueue(q, { durable: true, arguments: STREAM });
  const readerConn = await connect(b);
  const read = await reader(readerConn, q, 'next', n);
  const sampler = new Sampler(b.pid!);
  sampler.start();
  const start = performance.now();
  await publishConfirmed(ch, q, n, Buffer.alloc(16, 'x'));
  await read.done;
  const ms = performance.now() - start;
  const s = sampler.stop();
  await ch.deleteQueue(q);
  await readerConn.close();
  await c.close();
  return {
    scenario: `tail: 1 consumer at "next" while ${fmt(n)} x 16 B are published with confirms`,
    broker: b.name,
    figures: { 'delivered msg/s': fmt(n / (ms / 1000)), 'peak RSS MiB': fmt(s.peakRss / MiB), 'broker CPU': s.cpu.toFixed(2) },
  };
}

async function replay(b: BrokerHandle, n: number): Promise<Row> {
  const c = await connect(b);
  const ch = await c.createConfirmChannel();
  const q = `bench-stream-replay-${Date.now()}`;
  await ch.assertQueue(q, { durable: true, arguments: STREAM });
  await publishConfirmed(ch, q, n, Buffer.alloc(1024, 'x'));
  const readers = await Promise.all(Array.from({ length: 10 }, () => connect(b)));
  const sampler = new Sampler(b.pid!);
  sampler.start();
  const t0 = performance.now();
  const reading = await Promise.all(readers.map((r) => reader(r, q, 'first', n)));
  await Promise.all(reading.map((r) => r.done));
  const ms = performance.now() - t0;
  const s = sampler.stop();
  await ch.deleteQueue(q);
  for (const r of readers) await r.close();
  await c.close();
  return {
    scenario: `replay: 10 consumers from "first" of ${fmt(n)} x 1 KiB (${fmt((n * 1024) / MiB)} MiB)`,
    broker: b.name,
    figures: { 'delivered msg/s (all 10)': fmt((10 * n) / (ms / 1000)), seconds: (ms / 1000).toFixed(2), 'peak RSS MiB': fmt(s.peakRss / MiB), 'broker CPU': s.cpu.toFixed(2) },
  };
}

const SCENARIOS: Record<string, (b: BrokerHandle, n: number) => Promise<Row[]>> = {
  publish: async (b, n) => [await publish(b, n, 16), await publish(b, Math.min(n, 200_000), 1024)],
  tail: async (b, n) => [await tail(b, n)],
  replay: async (b, n) => [await replay(b, Math.min(n, 200_000))],
};

async function main(): Promise<void> {
  const o = parse(process.argv.slice(2));
  const rows: Row[] = [];
  process.on('SIGINT', () => {
    killAll();
    process.exit(130);
  });
  try {
    for (const name of o.scenarios) {
      const run = SCENARIOS[name];
      if (run === undefined) throw new Error(`unknown scenario ${name}`);
      for (const kind of (['warren', 'rabbitmq'] as const).filter((k) => o.only === undefined || o.only === k)) {
        const b = await startBroker({ slot: kind === 'warren' ? 'A' : 'B', kind, name: kind === 'warren' ? 'Warren' : 'RabbitMQ', durability: 'fsync' });
        try {
          console.log(`${name} on ${b.name} (${b.version}) ...`);
          for (const row of await run(b, o.n)) {
            rows.push(row);
            console.log(`  ${row.scenario}: ${Object.entries(row.figures).map(([k, v]) => `${k}: ${v}`).join(', ')}`);
          }
        } finally {
          await b.stop();
        }
      }
    }
  } finally {
    killAll();
  }
  console.log('\n| scenario | broker | figures |\n|---|---|---|');
  for (const r of rows) console.log(`| ${r.scenario} | ${r.broker} | ${Object.entries(r.figures).map(([k, v]) => `${k} ${v}`).join('; ')} |`);
}

await main();
