/**
 * A canary under abuse (issue 19, item 1): one small client does a publish/consume round trip every
 * 200 ms, on its own queue, while something else loads the broker; its round-trip times are the
 * figure. Not a test: a measurement for the note.
 *
 *   npm run bench:build && node node_modules/.cache/warren-bench/bench/canary.js [options]
 *
 *   --load flood|churn|failed-logins|none   flood: one connection publishing --size byte messages as
 *                             fast as its socket takes them into a queue without consumers; churn:
 *                             --connections connections opening and closing a channel, over and over;
 *                             failed-logins: --logins logins with a wrong password, --concurrency at a
 *                             time, each closed as soon as the broker refuses it (the measurement ends
 *                             with the last; --seconds does not apply) (default flood)
 *   --size 16  --connections 500  --seconds 30  --warmup-s 2  --logins 2000  --concurrency 50
 *   --every-ms 200            how often the canary sends its round trip
 *   --connect-probe           also open and close a connection with the right password, one after
 *                             the other while measuring, and report how long each open took
 *   --durability fsync        Warren's --durability (the harness's default)
 *   --watermark 1GiB          Warren's --vm-memory-high-watermark (issue 19's runs: 1 GiB)
 *   --node-args "--trace-gc"  extra node flags for Warren (--cpu-prof, --trace-gc...)
 *   --loop-delay              report Warren's event-loop delay (a preload with monitorEventLoopDelay)
 *   --log-level debug         Warren's log level; debug also counts the store's back-pressure pauses
 *   --warren-dir DIR          a checkout of Warren built elsewhere (before/after comparisons)
 *   --url amqp://guest:guest@127.0.0.1:5672   an already running broker instead (RabbitMQ)
 *
 * Warren runs from dist/ (`npm run build` first). The report: canary round trips (count, p50, p99,
 * max, and how many over 50 and 200 ms), what the load achieved, and, with --loop-delay, the
 * broker's event-loop delay percentiles over the same time.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Writer } from '../src/protocol/codec-primitives.js';
import {
  encodeBasicConsume,
  encodeConnectionStartOk,
  encodeChannelClose,
  encodeChannelCloseOk,
  encodeChannelOpen,
  encodeQueueDeclare,
  Method,
} from '../src/protocol/generated/methods.js';
import { LeanConnection, nowNs, type Endpoint } from './harness/client.js';
import { freePort } from './harness/brokers.js';
import { encodePublishBatch, messagesPerWrite } from './harness/frames.js';

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1]! : dflt;
};
const LOAD = opt('load', 'flood') as 'flood' | 'churn' | 'failed-logins' | 'none';
const SIZE = Number(opt('size', '16'));
const CONNECTIONS = Number(opt('connections', '500'));
const SECONDS = Number(opt('seconds', '30'));
const WARMUP_S = Number(opt('warmup-s', '2'));
const DURABILITY = opt('durability', 'fsync');
const WATERMARK = opt('watermark', '');
const NODE_ARGS = opt('node-args', '').split(' ').filter((a) => a !== '');
const LOOP_DELAY = args.includes('--loop-delay');
const LOG_LEVEL = opt('log-level', 'warn');
const URL_ARG = opt('url', '');
const CANARY_EVERY_MS = Number(opt('every-ms', '200'));
const LOGINS = Number(opt('logins', '2000'));
const CONCURRENCY = Number(opt('concurrency', '50'));
const CONNECT_PROBE = args.includes('--connect-probe');

const benchDir = fileURLToPath(new URL('.', import.meta.url));
/** Warren's checkout (bin/ and dist/): this one, or --warren-dir (a build of another commit, for before/after). */
const repoRoot = opt('warren-dir', fileURLToPath(new URL('../../../../', import.meta.url)));

/** Times Warren's store fell behind and paused every publishing connection (seen with --log-level debug). */
let storePauses = 0;
/** Failed logins Warren logged (--load failed-logins). */
let loginRefusalsLogged = 0;

interface Broker {
  endpoint: Endpoint;
  loopDelay(): Promise<string | undefined>;
  stop(): void;
}

async function startWarren(): Promise<Broker> {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'warren-canary-'));
  const nodeArgs = [...NODE_ARGS];
  if (LOOP_DELAY) nodeArgs.push('--import', join(benchDir, 'loop-delay-preload.js'));
  const child: ChildProcess = spawn(
    process.execPath,
    [...nodeArgs, join(repoRoot, 'bin', 'warren.js'), '--port', String(port), '--host', '127.0.0.1', '--data-dir', dataDir, '--durability', DURABILITY, ...(WATERMARK ? ['--vm-memory-high-watermark', WATERMARK] : []), '--log-level', LOG_LEVEL],
    { cwd: dataDir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  // Log lines: warnings and worse are shown; the store's "pausing publishers" lines are counted.
  let out = '';
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    let nl: number;
    while ((nl = out.indexOf('\n')) >= 0) {
      const line = out.slice(0, nl);
      out = out.slice(nl + 1);
      if (line.includes('store behind: pausing publishers')) storePauses++;
      // Counted, not echoed: forwarding thousands of them would load the measuring process.
      else if (line.includes(' login refused: ')) loginRefusalsLogged++;
      else if (/"level":(4|5|6)0/.test(line)) process.stdout.write(`${line}\n`);
    }
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    const s = d.toString();
    stderr += s;
    if (!s.includes('loop-delay ')) process.stderr.write(s);
  });
  const endpoint = { host: '127.0.0.1', port };
  for (let i = 0; ; i++) {
    const c = await LeanConnection.open(endpoint, 'canary-probe').catch(() => undefined);
    if (c !== undefined) {
      await c.close();
      break;
    }
    if (i > 400) throw new Error('Warren did not start');
    await new Promise((r) => setTimeout(r, 25));
  }
  return {
    endpoint,
    // The preload prints its percentiles on SIGUSR2 (and resets them).
    async loopDelay() {
      if (!LOOP_DELAY) return undefined;
      const mark = stderr.length;
      child.kill('SIGUSR2');
      for (let i = 0; i < 100 && !stderr.slice(mark).includes('\n'); i++) await new Promise((r) => setTimeout(r, 20));
      return /loop-delay (.*)/.exec(stderr.slice(mark))?.[1];
    },
    stop() {
      // SIGINT: a profiling Warren writes its --cpu-prof file on the way out.
      child.kill('SIGINT');
      setTimeout(() => child.kill('SIGKILL'), 5000).unref();
      child.once('exit', () => rmSync(dataDir, { recursive: true, force: true }));
    },
  };
}

function external(url: string): Broker {
  const u = new URL(url);
  return {
    endpoint: { host: u.hostname, port: Number(u.port || 5672), user: decodeURIComponent(u.username || 'guest'), password: decodeURIComponent(u.password || 'guest') },
    loopDelay: async () => undefined,
    stop() {},
  };
}

const declare = (c: LeanConnection, queue: string, exclusive: boolean) =>
  c.call((w: Writer) => encodeQueueDeclare(w, 1, { queue, exclusive, autoDelete: exclusive, arguments: new Map() }), Method.QueueDeclareOk);

/** One connection publishing into a queue nobody consumes, as fast as its socket takes it. */
async function flood(ep: Endpoint, stopAt: () => boolean): Promise<{ sent: number }> {
  const c = await LeanConnection.open(ep, 'flood');
  const queue = `flood-${process.pid}`;
  await declare(c, queue, true);
  const perWrite = messagesPerWrite(SIZE);
  const batch = encodePublishBatch({ exchange: '', routingKeys: [queue], size: SIZE, persistent: false, channel: 1, frameMax: c.frameMax }, perWrite);
  let sent = 0;
  while (!stopAt() && c.error === undefined) {
    sent += perWrite;
    // A blocked flood (a memory alarm) may never drain: stop at the end regardless.
    if (!c.socket.write(batch.buf)) await new Promise((r) => {
      const poll = setInterval(() => stopAt() && done(), 100);
      const done = () => {
        clearInterval(poll);
        c.socket.off('drain', done);
        r(undefined);
      };
      c.socket.once('drain', done);
    });
  }
  c.socket.destroy();
  return { sent };
}

/** Connections opening and closing channel 2 in a loop (channel 1 stays open). */
async function churn(ep: Endpoint, stopAt: () => boolean): Promise<{ cycles: number }> {
  const conns: LeanConnection[] = [];
  for (let i = 0; i < CONNECTIONS; i++) conns.push(await LeanConnection.open(ep, `churn-${i}`));
  let cycles = 0;
  await Promise.all(
    conns.map(async (c) => {
      while (!stopAt() && c.error === undefined) {
        await c.call((w) => encodeChannelOpen(w, 2, {}), Method.ChannelOpenOk);
        await c.call((w) => encodeChannelClose(w, 2, { replyCode: 200, replyText: 'bye', classId: 0, methodId: 0 }), Method.ChannelCloseOk);
        cycles++;
      }
    }),
  );
  for (const c of conns) c.socket.destroy();
  void encodeChannelCloseOk;
  return { cycles };
}

/**
 * Logins with a wrong password, `CONCURRENCY` at a time, `LOGINS` in all: the client advertises
 * authentication_failure_close, so the broker answers connection.close (403) and the socket is
 * dropped at once, as an attacker would, instead of waiting out the silent-close pause.
 */
async function failedLogins(ep: Endpoint): Promise<{ refused: number; other: number; seconds: number; perSecond: number }> {
  const w = new Writer(512);
  const capabilities = new Map([['authentication_failure_close', { type: 't' as const, value: true }]]);
  encodeConnectionStartOk(w, 0, {
    clientProperties: new Map([['capabilities', { type: 'F', value: capabilities }]]),
    mechanism: 'PLAIN',
    response: Buffer.from(`\0${ep.user ?? 'guest'}\0not-the-password`),
    locale: 'en_US',
  });
  const startOk = Buffer.from(w.bytes());
  const header = Buffer.from('AMQP\x00\x00\x09\x01', 'latin1');
  let started = 0;
  let refused = 0;
  let other = 0;
  const one = () =>
    new Promise<void>((resolve) => {
      const socket = connect({ host: ep.host, port: ep.port, noDelay: true });
      let replies = 0;
      socket.on('connect', () => socket.write(header));
      socket.on('data', () => {
        // The first reply is connection.start; the next is the refusal's connection.close.
        if (++replies === 1) socket.write(startOk);
        else {
          refused++;
          socket.destroy();
        }
      });
      socket.on('error', () => {});
      socket.on('close', () => {
        if (replies < 2) other++;
        resolve();
      });
    });
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (started < LOGINS) {
        started++;
        await one();
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  return { refused, other, seconds: Math.round(seconds * 100) / 100, perSecond: Math.round(LOGINS / seconds) };
}

/** The failed logins from a process of their own, so that their client side does not load the canary's. */
function failedLoginsInChild(ep: Endpoint): Promise<object> {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), ...args, '--attack-only', `${ep.host}:${ep.port}`], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as object) : reject(new Error(`the failed-login process exited with ${code}`))));
  });
}

/** Opens and closes connections with the right credentials, one after the other, until told to stop: each open's time. */
async function connectProbe(ep: Endpoint, stop: () => boolean): Promise<number[]> {
  const times: number[] = [];
  while (!stop()) {
    const t0 = performance.now();
    const c = await LeanConnection.open(ep, 'connect-probe');
    times.push(performance.now() - t0);
    await c.close();
  }
  return times;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function main(): Promise<void> {
  const broker = URL_ARG !== '' ? external(URL_ARG) : await startWarren();
  try {
    const ep = broker.endpoint;
    const canary = await LeanConnection.open(ep, 'canary');
    const cq = `canary-${process.pid}`;
    await declare(canary, cq, true);
    await canary.call((w) => encodeBasicConsume(w, 1, { queue: cq, noAck: true, arguments: new Map() }), Method.BasicConsumeOk);
    const probe = encodePublishBatch({ exchange: '', routingKeys: [cq], size: 16, persistent: false, channel: 1, frameMax: canary.frameMax }, 1);
    const rtts: number[] = [];
    let measuring = false;
    let outstanding = 0;
    canary.onLatency = (sentNs) => {
      outstanding--;
      if (measuring) rtts.push(Number(nowNs() - sentNs) / 1e6);
    };
    let missed = 0;
    let sentAt = 0;
    const tick = setInterval(() => {
      if (outstanding > 0) {
        // The previous round trip has not come back: this one is not sent, and counted.
        if (measuring) missed++;
        return;
      }
      probe.buf.writeBigUInt64BE(nowNs(), probe.bodyOffsets[0]!);
      sentAt = performance.now();
      outstanding++;
      canary.socket.write(probe.buf);
    }, CANARY_EVERY_MS);

    const end = performance.now() + (WARMUP_S + SECONDS) * 1000;
    const stopAt = () => performance.now() >= end;
    let load: Promise<object> | undefined;
    if (LOAD === 'flood') load = flood(ep, stopAt);
    else if (LOAD === 'churn') load = churn(ep, stopAt);
    else if (LOAD === 'none') load = new Promise<object>((r) => setTimeout(() => r({}), (WARMUP_S + SECONDS) * 1000));
    await new Promise((r) => setTimeout(r, WARMUP_S * 1000));
    await broker.loopDelay(); // resets the broker's histogram
    measuring = true;
    // The failed logins start after the warm-up and the measurement ends with them.
    load ??= failedLoginsInChild(ep);
    let loadDone = false;
    const probing = CONNECT_PROBE ? connectProbe(ep, () => loadDone) : Promise.resolve([]);
    const loadResult = await load;
    loadDone = true;
    const connectTimes = (await probing).sort((a, b) => a - b);
    measuring = false;
    const loopDelay = await broker.loopDelay();
    clearInterval(tick);
    // A round trip still out at the end counts as at least as long as it has been out.
    const stillOut = outstanding > 0 ? performance.now() - sentAt : undefined;
    if (stillOut !== undefined) rtts.push(stillOut);
    const sorted = [...rtts].sort((a, b) => a - b);
    const fmt = (n: number) => `${n.toFixed(1)} ms`;
    const loadText = LOAD === 'flood' ? ` (${SIZE} B), ${SECONDS} s` : LOAD === 'churn' ? ` (${CONNECTIONS} connections), ${SECONDS} s` : LOAD === 'failed-logins' ? ` (${LOGINS}, ${CONCURRENCY} at a time)` : `, ${SECONDS} s`;
    console.log(`load: ${LOAD}${loadText}; broker ${URL_ARG || `Warren (${repoRoot}, --durability ${DURABILITY}${WATERMARK ? `, watermark ${WATERMARK}` : ''}${NODE_ARGS.length ? `, node ${NODE_ARGS.join(' ')}` : ''})`}`);
    console.log(`load achieved: ${JSON.stringify(loadResult)}`);
    console.log(
      `canary: ${sorted.length} round trips, p50 ${fmt(percentile(sorted, 50))}, p99 ${fmt(percentile(sorted, 99))}, max ${fmt(sorted.at(-1) ?? NaN)}; over 50 ms: ${sorted.filter((x) => x > 50).length}, over 200 ms: ${sorted.filter((x) => x > 200).length}; ticks skipped while one was out: ${missed}${stillOut !== undefined ? `; one still out after ${fmt(stillOut)} (counted)` : ''}`,
    );
    if (CONNECT_PROBE) console.log(`connection opens (right password): ${connectTimes.length}, p50 ${fmt(percentile(connectTimes, 50))}, p99 ${fmt(percentile(connectTimes, 99))}, max ${fmt(connectTimes.at(-1) ?? NaN)}`);
    if (loopDelay !== undefined) console.log(`broker event-loop delay: ${loopDelay}`);
    if (LOAD === 'failed-logins') console.log(`failed logins Warren logged: ${loginRefusalsLogged}`);
    if (LOG_LEVEL === 'debug') console.log(`store fell behind and paused the publishers ${storePauses} times`);
    await canary.close().catch(() => {});
  } finally {
    broker.stop();
  }
}

const ATTACK_ONLY = opt('attack-only', '');
const run = ATTACK_ONLY === '' ? main : async () => {
  const [host, port] = ATTACK_ONLY.split(':');
  process.stdout.write(JSON.stringify(await failedLogins({ host: host!, port: Number(port) })));
};

run().then(
  () => setTimeout(() => process.exit(0), 200),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
