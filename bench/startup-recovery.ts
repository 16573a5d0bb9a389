/**
 * Start-up with a large persistent backlog (issue 18): fills N durable queues with persistent
 * messages, stops the broker (kill -9 by default, or a clean SIGTERM), starts it again on the same
 * data directory and reports how long it took until it listened, until each queue gave its first
 * message (basic.get), its resident memory then, and the broker's CPU time for the start. Not a
 * test: a measurement for docs/performance.md.
 *
 *   npm run build && npm run bench:build && node node_modules/.cache/warren-bench/bench/startup-recovery.js \
 *     [--messages 1000000] [--queues 10] [--size 1024] [--stop kill|term] [--restarts 2] [--warren-dir DIR] [--keep DIR]
 *
 * Warren runs from dist/ (`bin/warren.js`, so with its shebang's node flags) with --durability os
 * for the fill (so the fill takes seconds; the files are the same as with fsync) and --log-level info.
 * `--keep DIR` fills DIR once and reuses it on later runs (for before/after on the same files).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import amqp from 'amqplib';
import { encodeQueueDeclare, Method, type QueueDeclareOk } from '../src/protocol/generated/methods.js';
import { freePort } from './harness/brokers.js';
import { LeanConnection } from './harness/client.js';
import { encodePublishBatch, messagesPerWrite } from './harness/frames.js';
import { cpuSeconds, rss } from './harness/proc.js';

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1]! : dflt;
};
const MESSAGES = Number(opt('messages', '1000000'));
const QUEUES = Number(opt('queues', '10'));
const SIZE = Number(opt('size', '1024'));
const STOP = opt('stop', 'kill');
const RESTARTS = Number(opt('restarts', '2'));
const KEEP = opt('keep', '');
const MIB = 1024 * 1024;
const repoRoot = opt('warren-dir', fileURLToPath(new URL('../../../../', import.meta.url)));
const queueName = (i: number) => `startup-${i}`;

interface Running {
  child: ChildProcess;
  port: number;
  /** ms from spawn until the "listening" log line. */
  listening: Promise<number>;
  t0: number;
}

async function start(dataDir: string): Promise<Running> {
  const port = await freePort();
  const t0 = performance.now();
  const child = spawn(
    process.execPath,
    [join(repoRoot, 'bin', 'warren.js'), '--port', String(port), '--host', '127.0.0.1', '--data-dir', dataDir, '--durability', 'os', '--log-level', 'info'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const listening = new Promise<number>((resolve, reject) => {
    let buffered = '';
    child.stdout!.on('data', (d: Buffer) => {
      buffered += d.toString();
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (line.includes('"msg":"messages recovered"')) console.log(`  broker: ${line.slice(line.indexOf('"messages"'), line.lastIndexOf(',"msg"'))}`);
        if (line.includes('"msg":"listening"') && line.includes(`"port":${port}`)) resolve(performance.now() - t0);
      }
    });
    child.once('exit', (code) => reject(new Error(`broker exited (${code})`)));
  });
  return { child, port, listening, t0 };
}

async function stop(r: Running, how: string): Promise<void> {
  const exited = new Promise((res) => r.child.once('exit', res));
  r.child.kill(how === 'kill' ? 'SIGKILL' : 'SIGTERM');
  await exited;
}

async function fill(dataDir: string): Promise<void> {
  const r = await start(dataDir);
  await r.listening;
  const ep = { host: '127.0.0.1', port: r.port };
  const ctl = await LeanConnection.open(ep, 'startup-ctl');
  const declare = async (queue: string, passive: boolean) =>
    (await ctl.call((w) => encodeQueueDeclare(w, 1, { queue, passive, durable: true, arguments: new Map() }), Method.QueueDeclareOk)) as QueueDeclareOk;
  for (let q = 0; q < QUEUES; q++) await declare(queueName(q), false);
  const pub = await LeanConnection.open(ep, 'startup-pub');
  const perWrite = messagesPerWrite(SIZE);
  const keys = Array.from({ length: QUEUES }, (_, i) => queueName(i));
  const batch = encodePublishBatch({ exchange: '', routingKeys: keys, size: SIZE, persistent: true, channel: 1, frameMax: pub.frameMax }, perWrite - (perWrite % QUEUES) || QUEUES);
  const t0 = performance.now();
  let sent = 0;
  while (sent < MESSAGES) {
    const n = Math.min(batch.count, MESSAGES - sent);
    sent += n;
    if (!pub.socket.write(n === batch.count ? batch.buf : batch.buf.subarray(0, batch.offsets[n]))) await new Promise((res) => pub.socket.once('drain', res));
  }
  for (;;) {
    let total = 0;
    for (let q = 0; q < QUEUES; q++) total += (await declare(queueName(q), true)).messageCount;
    if (total >= MESSAGES) break;
    await new Promise((res) => setTimeout(res, 200));
  }
  console.log(`filled ${MESSAGES.toLocaleString('en')} x ${SIZE} B persistent into ${QUEUES} queues in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  pub.socket.destroy();
  await ctl.close();
  await stop(r, STOP);
}

async function measureRestart(dataDir: string): Promise<void> {
  const r = await start(dataDir);
  const pid = r.child.pid!;
  const listenMs = await r.listening;
  const c = await amqp.connect(`amqp://guest:guest@127.0.0.1:${r.port}`);
  const ch = await c.createChannel();
  const firstAt: number[] = [];
  let count = 0;
  for (let q = 0; q < QUEUES; q++) {
    const m = await ch.get(queueName(q), { noAck: false });
    if (m === false) throw new Error(`queue ${queueName(q)} gave no message`);
    firstAt.push(performance.now() - r.t0);
    ch.nack(m, false, true);
    count += (await ch.checkQueue(queueName(q))).messageCount;
  }
  const cpu = cpuSeconds([pid]);
  const rssNow = rss([pid]);
  console.log(
    `restart after ${STOP === 'kill' ? 'kill -9' : 'SIGTERM'}: listening ${listenMs.toFixed(0)} ms; first message from each queue at ${firstAt.map((t) => t.toFixed(0)).join(', ')} ms; ` +
      `${count.toLocaleString('en')} messages queued; RSS ${(rssNow / MIB).toFixed(0)} MiB; broker CPU ${cpu.toFixed(2)} s`,
  );
  await c.close();
  await stop(r, STOP);
}

async function main(): Promise<void> {
  const dataDir = KEEP !== '' ? KEEP : mkdtempSync(join(tmpdir(), 'warren-startup-'));
  try {
    if (KEEP === '' || !existsSync(join(dataDir, 'FORMAT'))) await fill(dataDir);
    else console.log(`reusing ${dataDir} (${readFileSync(join(dataDir, 'FORMAT'), 'utf8').trim()})`);
    for (let i = 0; i < RESTARTS; i++) await measureRestart(dataDir);
  } finally {
    if (KEEP === '') rmSync(dataDir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
