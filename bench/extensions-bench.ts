/**
 * Benchmarks of the queue extensions (issue 6): dead-lettering throughput, expiry of a million
 * messages with a short TTL, and a delayed-message exchange holding a million messages. Each broker
 * is started afresh as a child process by the harness (bench/harness/brokers.ts); its resident memory
 * and CPU are sampled while the scenario runs.
 *
 *   npm run bench:extensions                                # all scenarios, Warren and RabbitMQ
 *   npm run bench:extensions -- --only warren --n 200000    # smaller, one broker
 *   npm run bench:extensions -- --scenarios dlx,expiry
 *   npm run bench:extensions -- --only warren --scenarios delayed --due-in-ms 180000 --warren-dir /tmp/old-build
 *   npm run bench:extensions -- --only warren --warren-node-args "--cpu-prof --cpu-prof-dir=/tmp/p"
 *
 * The client is amqplib, the same for both brokers. RabbitMQ has no delayed-message plugin here, so
 * the delayed scenario runs on Warren only.
 */
import { connect, fmtInt, MiB, publishMany, settlingConsumer } from './amqplib-kit.js';
import { killAll, startBroker, type BrokerHandle } from './harness/brokers.js';
import { cpuSeconds, Sampler } from './harness/proc.js';

interface Options {
  n: number;
  /** Delayed scenario: the first due time, ms after publishing starts (it must be after publishing ends). */
  dueInMs: number | undefined;
  /** Warren's checkout (bin/, dist/) to run, for before/after figures; this one by default. */
  warrenDir: string | undefined;
  /** Extra node options for Warren (for example --cpu-prof). */
  warrenNodeArgs?: string[];
  only: string | undefined;
  scenarios: string[];
}

function parse(argv: string[]): Options {
  const o: Options = { n: 1_000_000, dueInMs: undefined, warrenDir: undefined, only: undefined, scenarios: ['dlx', 'expiry', 'delayed'] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--n') o.n = Number(argv[++i]);
    else if (a === '--only') o.only = argv[++i];
    else if (a === '--due-in-ms') o.dueInMs = Number(argv[++i]);
    else if (a === '--warren-dir') o.warrenDir = argv[++i];
    else if (a === '--scenarios') o.scenarios = argv[++i]!.split(',');
    else if (a === '--warren-node-args') o.warrenNodeArgs = argv[++i]!.split(/\s+/).filter((x) => x !== '');
    else throw new Error(`unknown option ${a}`);
  }
  return o;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const fmt = fmtInt;

async function until(cond: () => Promise<boolean>, timeoutMs: number, everyMs = 50): Promise<number> {
  const t0 = performance.now();
  while (!(await cond())) {
    if (performance.now() - t0 > timeoutMs) throw new Error('timed out');
    await sleep(everyMs);
  }
  return performance.now() - t0;
}

interface Row {
  scenario: string;
  broker: string;
  figures: Record<string, string>;
}

/**
 * Dead-lettering throughput: n messages wait in a queue whose dead-letter exchange leads to another
 * queue; a consumer (prefetch 1000) rejects them all (basic.nack multiple, requeue=false). Measured:
 * from the first rejection until the dead-letter queue holds all n.
 */
async function dlx(b: BrokerHandle, n: number): Promise<Row> {
  const c = await connect(b.endpoint);
  const ch = await c.createChannel();
  const work = `bench-dlx-work-${Date.now()}`;
  const dead = `bench-dlx-dead-${Date.now()}`;
  await ch.assertExchange('bench-dlx', 'fanout', { durable: false });
  await ch.assertQueue(dead, { durable: false });
  await ch.bindQueue(dead, 'bench-dlx', '');
  await ch.assertQueue(work, { durable: false, arguments: { 'x-dead-letter-exchange': 'bench-dlx' } });
  const body = Buffer.alloc(16, 'x');
  await publishMany(ch, n, () => ch.sendToQueue(work, body));
  await until(async () => (await ch.checkQueue(work)).messageCount === n, 120_000);
  const sampler = new Sampler(b.pid!);
  sampler.start();
  const t0 = performance.now();
  const consumer = await settlingConsumer(c, work, n, { settle: 'nack' });
  await until(async () => (await ch.checkQueue(dead)).messageCount === n, 300_000, 20);
  const total = performance.now() - t0;
  await consumer.done;
  const s = sampler.stop();
  await ch.deleteQueue(work);
  await ch.deleteQueue(dead);
  await ch.deleteExchange('bench-dlx');
  await c.close();
  return {
    scenario: `dlx: reject ${fmt(n)} x 16 B to a DLX queue`,
    broker: b.name,
    figures: { 'msg/s': fmt(n / (total / 1000)), seconds: (total / 1000).toFixed(2), 'peak RSS MiB': fmt(s.peakRss / MiB), 'broker CPU': s.cpu.toFixed(2) },
  };
}

/**
 * Expiry: n messages published into a queue with x-message-ttl (no consumer). Measured: how long
 * after the last message's due time the queue is empty (expiry lag), the publish rate, peak memory.
 */
async function expiry(b: BrokerHandle, n: number): Promise<Row> {
  const c = await connect(b.endpoint);
  const ch = await c.createChannel();
  const q = `bench-ttl-${Date.now()}`;
  const ttl = 2000;
  await ch.assertQueue(q, { durable: false, arguments: { 'x-message-ttl': ttl } });
  const body = Buffer.alloc(16, 'x');
  const sampler = new Sampler(b.pid!);
  sampler.start();
  const publishMs = await publishMany(ch, n, () => ch.sendToQueue(q, body));
  const lastDue = performance.now() + ttl;
  let maxCount = 0;
  await until(async () => {
    const count = (await ch.checkQueue(q)).messageCount;
    maxCount = Math.max(maxCount, count);
    return count === 0;
  }, 600_000, 20);
  const lag = performance.now() - lastDue;
  const s = sampler.stop();
  await ch.deleteQueue(q);
  await c.close();
  return {
    scenario: `expiry: ${fmt(n)} x 16 B, x-message-ttl ${ttl} ms`,
    broker: b.name,
    figures: {
      'publish msg/s': fmt(n / (publishMs / 1000)),
      'empty after last due (ms)': fmt(Math.max(0, lag)),
      'largest count seen': fmt(maxCount),
      'peak RSS MiB': fmt(s.peakRss / MiB),
      'broker CPU': s.cpu.toFixed(2),
    },
  };
}

/**
 * A durable delayed-message exchange holding n persistent messages (delays spread over 5 s after
 * the last publish): publish rate with confirms, memory while all are held, then how long after the
 * last due time they have all reached the queue.
 */
async function delayed(b: BrokerHandle, n: number, dueInMs: number | undefined): Promise<Row> {
  const c = await connect(b.endpoint);
  const ch = await c.createConfirmChannel();
  const x = `bench-delayed-${Date.now()}`;
  const q = `bench-delayed-q-${Date.now()}`;
  await ch.assertExchange(x, 'x-delayed-message', { durable: true, arguments: { 'x-delayed-type': 'direct' } });
  await ch.assertQueue(q, { durable: true });
  await ch.bindQueue(q, x, 'k');
  const body = Buffer.alloc(1024, 'x');
  // Every message falls due in the 5 s after a moment safely past the end of publishing.
  const estimatePublishMs = dueInMs ?? Math.max(20_000, n / 20);
  const base = Date.now() + estimatePublishMs;
  const sampler = new Sampler(b.pid!);
  sampler.start();
  let window = 0;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const due = base + (i * 7919) % 5000;
    if (!ch.publish(x, 'k', body, { persistent: true, headers: { 'x-delay': due - Date.now() } })) await new Promise<void>((r) => ch.once('drain', () => r()));
    if (++window === 20_000) {
      window = 0;
      await ch.waitForConfirms();
    }
  }
  await ch.waitForConfirms();
  const publishMs = performance.now() - t0;
  if (Date.now() > base) console.log('  (publishing overran the first due time; the release figures include publish time)');
  const heldRss = sampler.stop().peakRss;
  const s2 = new Sampler(b.pid!);
  s2.start();
  await sleep(Math.max(0, base - Date.now()));
  const cpuAtFirstDue = cpuSeconds([b.pid!]);
  await until(async () => (await ch.checkQueue(q)).messageCount === n, 600_000, 20);
  const afterLastDue = Date.now() - (base + 5000);
  const releaseCpu = cpuSeconds([b.pid!]) - cpuAtFirstDue;
  const s = s2.stop();
  await ch.deleteExchange(x);
  await ch.deleteQueue(q);
  await c.close();
  return {
    scenario: `delayed: ${fmt(n)} x 1 KiB held (durable exchange, persistent)`,
    broker: b.name,
    figures: {
      'confirmed publish msg/s': fmt(n / (publishMs / 1000)),
      'RSS while held MiB': fmt(heldRss / MiB),
      'all delivered, ms after last due': fmt(Math.max(0, afterLastDue)),
      'broker CPU s from first due to all delivered': releaseCpu.toFixed(1),
      'peak RSS during release MiB': fmt(s.peakRss / MiB),
    },
  };
}

const SCENARIOS: Record<string, { run: (b: BrokerHandle, n: number, o: Options) => Promise<Row>; rabbitmq: boolean }> = {
  dlx: { run: (b, n) => dlx(b, Math.min(n, 500_000)), rabbitmq: true },
  expiry: { run: expiry, rabbitmq: true },
  delayed: { run: (b, n, o) => delayed(b, n, o.dueInMs), rabbitmq: false },
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
      const sc = SCENARIOS[name];
      if (sc === undefined) throw new Error(`unknown scenario ${name}`);
      const kinds = (['warren', 'rabbitmq'] as const).filter((k) => (o.only === undefined || o.only === k) && (k === 'warren' || sc.rabbitmq));
      for (const kind of kinds) {
        const b = await startBroker({ slot: kind === 'warren' ? 'A' : 'B', kind, name: kind === 'warren' ? 'Warren' : 'RabbitMQ', durability: 'fsync', nodeArgs: kind === 'warren' ? o.warrenNodeArgs : undefined, dir: kind === 'warren' ? o.warrenDir : undefined });
        try {
          console.log(`${name} on ${b.name} (${b.version}) ...`);
          const row = await sc.run(b, o.n, o);
          rows.push(row);
          console.log(`  ${Object.entries(row.figures).map(([k, v]) => `${k}: ${v}`).join(', ')}`);
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
