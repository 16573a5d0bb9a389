/**
 * Routing throughput and binding memory (not a test).
 *
 *   npm run bench:routing
 *
 * For each exchange set-up, a raw TCP publisher sends pre-encoded basic.publish frames (16-byte
 * bodies) as fast as the socket takes them, then a passive queue.declare as a fence; the figure is
 * publishes per second from the first byte to the fence's reply, i.e. the broker's whole publish path
 * (parse, route, enqueue) with the given bindings. Each destination queue has x-max-length 1
 * (drop-head) so that memory stays flat. Then the resident memory of a fresh broker holding 10,000
 * queues and 100,000 bindings, measured in a child process.
 *
 * Bindings are created through the vhost API rather than AMQP: setting up 100,000 bindings over the
 * wire would measure the set-up, not the routing.
 */
import { fork } from 'node:child_process';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { startBroker, type RunningBroker } from '../src/index.js';
import { Writer } from '../src/protocol/codec-primitives.js';
import { fv, table, type FieldTable } from '../src/protocol/field-table.js';
import { PROTOCOL_HEADER } from '../src/protocol/generated/constants.js';
import {
  encodeBasicPublish,
  encodeChannelOpen,
  encodeConnectionOpen,
  encodeConnectionStartOk,
  encodeConnectionTuneOk,
  encodeQueueDeclare,
} from '../src/protocol/generated/methods.js';
import { encodeBasicProperties, type BasicProperties } from '../src/protocol/generated/properties.js';
import type { VHost } from '../src/vhost.js';

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 300_000);

interface Setup {
  name: string;
  exchange: string;
  /** Declares the exchange, queues and bindings; returns routing keys and headers to publish with. */
  prepare(v: VHost): { keys: string[]; headers?: FieldTable[] };
}

function declareQueues(v: VHost, n: number): string[] {
  const names: string[] = [];
  for (let i = 0; i < n; i++) {
    const name = `bench-q-${i}`;
    v.declareQueue({ name, passive: false, durable: false, exclusive: false, autoDelete: false, arguments: table([['x-max-length', fv.int(1)]]), connectionId: 0 });
    names.push(name);
  }
  return names;
}

function topicSetup(bindings: number): Setup {
  return {
    name: `topic, ${bindings.toLocaleString('en')} bindings`,
    exchange: 'bench.topic',
    prepare(v) {
      v.declareExchange({ name: 'bench.topic', type: 'topic', passive: false, durable: false, autoDelete: false, internal: false, arguments: new Map() });
      const queues = declareQueues(v, Math.min(bindings, 1000));
      for (let i = 0; i < bindings; i++) {
        // Mostly exact keys, with wildcard patterns mixed in as real topologies have them.
        const key = i % 10 === 0 ? `orders.*.${i}` : i % 25 === 1 ? `#.${i}` : `orders.eu${i % 97}.${i}`;
        v.bind('bench.topic', 'queue', queues[i % queues.length]!, key, new Map(), 0);
      }
      const keys: string[] = [];
      for (let j = 0; j < 1024; j++) {
        const i = (j * 7919) % bindings;
        keys.push(`orders.eu${i % 97}.${i}`);
      }
      return { keys };
    },
  };
}

function headersSetup(bindings: number): Setup {
  return {
    name: `headers, ${bindings.toLocaleString('en')} bindings`,
    exchange: 'bench.headers',
    prepare(v) {
      v.declareExchange({ name: 'bench.headers', type: 'headers', passive: false, durable: false, autoDelete: false, internal: false, arguments: new Map() });
      const queues = declareQueues(v, Math.min(bindings, 1000));
      for (let i = 0; i < bindings; i++) {
        const args = table([
          ['x-match', fv.str(i % 2 === 0 ? 'all' : 'any')],
          ['region', fv.str(`r${i % 50}`)],
          ['id', fv.int(i)],
        ]);
        v.bind('bench.headers', 'queue', queues[i % queues.length]!, '', args, 0);
      }
      const headers: FieldTable[] = [];
      for (let j = 0; j < 256; j++) {
        const i = (j * 7919) % bindings;
        headers.push(table([['region', fv.str(`r${i % 50}`)], ['id', fv.int(i)], ['trace', fv.str('x')]]));
      }
      return { keys: [''], headers };
    },
  };
}

/** A minimal AMQP publisher over TCP: handshake, then raw bytes. */
async function rawPublisher(port: number): Promise<{ send(b: Buffer): boolean; fence(): Promise<void>; drain(): Promise<void>; close(): void }> {
  const s = connect(port, '127.0.0.1');
  await new Promise<void>((r) => s.once('connect', () => r()));
  s.setNoDelay(true);
  let inbox = Buffer.alloc(0);
  let waiter: (() => void) | undefined;
  s.on('data', (d: Buffer) => {
    inbox = Buffer.concat([inbox, d]);
    waiter?.();
  });
  const until = async (pred: (b: Buffer) => boolean) => {
    while (!pred(inbox)) await new Promise<void>((r) => (waiter = r));
  };
  const w = () => new Writer(256);
  s.write(PROTOCOL_HEADER);
  await until((b) => b.length > 7);
  inbox = Buffer.alloc(0);
  let x = w();
  encodeConnectionStartOk(x, 0, { clientProperties: new Map(), mechanism: 'PLAIN', response: Buffer.from('\0guest\0guest'), locale: 'en_US' });
  s.write(Buffer.from(x.bytes()));
  await until((b) => b.length > 7);
  inbox = Buffer.alloc(0);
  x = w();
  encodeConnectionTuneOk(x, 0, { channelMax: 10, frameMax: 131072, heartbeat: 0 });
  encodeConnectionOpen(x, 0, { virtualHost: '/' });
  encodeChannelOpen(x, 1, {});
  s.write(Buffer.from(x.bytes()));
  await until((b) => b.includes(Buffer.from([0, 20, 0, 11]))); // channel.open-ok
  return {
    send: (b) => s.write(b),
    drain: () => new Promise<void>((r) => s.once('drain', () => r())),
    async fence() {
      inbox = Buffer.alloc(0);
      const f = w();
      encodeQueueDeclare(f, 1, { queue: 'bench-q-0', passive: true });
      s.write(Buffer.from(f.bytes()));
      // queue.declare-ok: class 50, method 11
      await until((b) => b.includes(Buffer.from([0, 50, 0, 11])));
    },
    close: () => s.destroy(),
  };
}

function encodePublishes(exchange: string, keys: readonly string[], headers: readonly FieldTable[] | undefined, count: number): Buffer {
  const body = Buffer.alloc(16, 0x61);
  const w = new Writer(count * 96);
  for (let i = 0; i < count; i++) {
    encodeBasicPublish(w, 1, { exchange, routingKey: keys[i % keys.length]! });
    const h = w.frameStart(2, 1);
    w.short(60);
    w.short(0);
    w.longlong(body.length);
    const props: BasicProperties = headers === undefined ? {} : { headers: headers[i % headers.length]! };
    encodeBasicProperties(w, props);
    w.frameEnd(h);
    const b = w.frameStart(3, 1);
    w.raw(body);
    w.frameEnd(b);
  }
  return Buffer.from(w.bytes());
}

async function runSetup(s: Setup): Promise<number> {
  const broker: RunningBroker = await startBroker({ port: 0, logLevel: 'warn', rabbitmqVersion: '3.10' });
  try {
    const v = broker.broker.vhosts.get('/')!;
    const { keys, headers } = s.prepare(v);
    const batch = encodePublishes(s.exchange, keys, headers, 10_000);
    const p = await rawPublisher(broker.port);
    // Warm-up, then the measured run.
    p.send(batch);
    await p.fence();
    const t0 = process.hrtime.bigint();
    for (let sent = 0; sent < MESSAGES; sent += 10_000) {
      if (!p.send(batch)) await p.drain();
    }
    await p.fence();
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    p.close();
    return Math.ceil(MESSAGES / 10_000) * 10_000 / seconds;
  } finally {
    await broker.close();
  }
}

/** In a child process: 10,000 queues with 10 bindings each, then the resident set size. */
async function memoryChild(): Promise<void> {
  const broker = await startBroker({ port: 0, logLevel: 'warn', rabbitmqVersion: '3.10' });
  const v = broker.broker.vhosts.get('/')!;
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const before = process.memoryUsage().rss;
  for (let i = 0; i < 10_000; i++) {
    const q = `mem-q-${i}`;
    v.declareQueue({ name: q, passive: false, durable: false, exclusive: false, autoDelete: false, arguments: new Map(), connectionId: 0 });
    for (let k = 0; k < 10; k++) v.bind('amq.topic', 'queue', q, `svc.${i}.event${k}.#`, new Map(), 0);
  }
  gc?.();
  const after = process.memoryUsage().rss;
  process.send!({ before, after });
  await broker.close();
}

async function main(): Promise<void> {
  if (process.argv[2] === '--memory-child') return memoryChild();
  const setups = [topicSetup(10), topicSetup(1_000), topicSetup(100_000), headersSetup(1_000)];
  console.log(`routing benchmark: ${MESSAGES.toLocaleString('en')} publishes of 16 B per set-up, one raw TCP publisher`);
  console.log('set-up                          publishes/s');
  for (const s of setups) {
    const rates: number[] = [];
    for (let round = 0; round < 3; round++) rates.push(await runSetup(s));
    rates.sort((a, b) => a - b);
    console.log(`${s.name.padEnd(30)} ${Math.round(rates[1]!).toLocaleString('en').padStart(12)}   (min ${Math.round(rates[0]!).toLocaleString('en')}, max ${Math.round(rates[2]!).toLocaleString('en')})`);
  }
  const child = fork(fileURLToPath(import.meta.url), ['--memory-child'], { execArgv: ['--expose-gc'] });
  const mem = await new Promise<{ before: number; after: number }>((resolve) => child.once('message', (m) => resolve(m as { before: number; after: number })));
  await new Promise((r) => child.once('exit', r));
  const mib = (n: number) => (n / 1024 / 1024).toFixed(1);
  console.log(`memory: 10,000 queues + 100,000 topic bindings: RSS ${mib(mem.after)} MiB (idle broker ${mib(mem.before)} MiB, +${mib(mem.after - mem.before)} MiB)`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
