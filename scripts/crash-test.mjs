#!/usr/bin/env node
/**
 * Crash test: Warren as a child process (`node bin/warren.js`, so `npm run build` first), killed
 * with SIGKILL at random moments and restarted on the same data directory, while a publisher with
 * confirms (a window of 256 outstanding, numbered persistent messages to one durable queue) and a
 * consumer with manual acks keep reconnecting. A checker then proves what issue 5 promises:
 *
 *  - zero lost: every confirmed persistent message is delivered at least once by the end;
 *  - zero unexpected: every delivery is a message that was published, with its exact body;
 *  - duplicates only with redelivered=true;
 *  - order: within one consumer session, messages arrive in publish order;
 *  - transient messages (every tenth) never outlive the broker they were published to;
 *  - after the final clean restart, nothing acknowledged comes back.
 *
 * The kill schedule and the message sizes come from a seeded PRNG (the seed is printed; pass it back
 * with --seed to replay the same schedule). Network timing still varies from run to run.
 *
 *   node scripts/crash-test.mjs [--mode queue|stream] [--kills 30] [--durability fsync|os|both] [--seed N]
 *       [--min-up 300] [--max-up 3000] [--early-kill 0.15] [--consumer-delay 1500] [--body 64-2048]
 *       [--max-backlog 200000] [--final-up 2000] [--keep] [--verbose]
 *
 * Also imported by test/durability/crash.test.ts (a short run in `npm test`).
 */
import amqp from 'amqplib';
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { bodyOf, freePort, prng } from './crash-common.mjs';

const BIN = fileURLToPath(new URL('../bin/warren.js', import.meta.url));
const DIST = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const QUEUE = 'crash-test';
const WINDOW = 256;

const isTransient = (n) => n % 10 === 0;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Runs one crash test. Resolves with a summary; `summary.ok` is false (and `summary.violations`
 * says why) if any promise was broken. Never leaves a broker process behind.
 */
export async function runCrashTest(options = {}) {
  const o = {
    kills: 5,
    durability: 'fsync',
    seed: Math.floor(Math.random() * 2 ** 31),
    minUpMs: 300,
    maxUpMs: 2500,
    earlyKill: 0.15,
    minBody: 64,
    maxBody: 2048,
    finalUpMs: 1000,
    consumerDelayMs: 1500,
    /** The publisher waits while this many messages are published and not yet consumed. */
    maxBacklog: 200_000,
    /** The final drain fails when no new message arrives for this long (not a total time). */
    drainTimeoutMs: 60_000,
    readyTimeoutMs: 30_000,
    keep: false,
    verbose: false,
    log: (line) => process.stdout.write(`${line}\n`),
    ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)),
  };
  if (!existsSync(DIST)) throw new Error(`${DIST} is missing: run \`npm run build\` first`);
  const say = (s) => o.log(`[crash-test ${o.durability} seed=${o.seed}] ${s}`);
  const debug = (s) => o.verbose && say(s);
  // Separate streams, so that the kill schedule does not depend on how many messages were consumed.
  const random = prng(o.seed);
  const ackRandom = prng((o.seed ^ 0x5bd1e995) >>> 0);
  const work = mkdtempSync(join(tmpdir(), 'warren-crash-'));
  const dataDir = join(work, 'data');
  const brokerLog = createWriteStream(join(work, 'broker.log'));
  const port = await freePort();
  const url = `amqp://guest:guest@127.0.0.1:${port}`;
  say(`data ${dataDir}, port ${port}, kills ${o.kills}`);

  // ---------------------------------------------------------------------------------------------
  // The broker process, one incarnation after another.

  let child;
  let incarnation = 0;
  /** Client local port -> incarnation that accepted it (from the broker's own log). */
  const peerIncarnation = new Map();
  const warnings = [];
  let maxReadyMs = 0;

  function spawnBroker() {
    const inc = ++incarnation;
    const started = Date.now();
    const c = spawn(process.execPath, [BIN, '--port', String(port), '--host', '127.0.0.1', '--data-dir', dataDir, '--durability', o.durability, '--log-level', 'info'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let ready;
    const readyP = new Promise((resolve) => (ready = resolve));
    const exited = new Promise((resolve) => c.once('exit', (code, signal) => resolve({ code, signal })));
    let buf = '';
    const onLine = (line) => {
      brokerLog.write(`${inc} ${line}\n`);
      let rec;
      try {
        rec = JSON.parse(line);
      } catch {
        warnings.push({ incarnation: inc, msg: line });
        return;
      }
      if (rec.msg === 'Warren is ready') {
        maxReadyMs = Math.max(maxReadyMs, Date.now() - started);
        ready(true);
      } else if (rec.msg === 'accepting AMQP connection' && typeof rec.peer === 'string') {
        peerIncarnation.set(Number(rec.peer.split(':').pop()), inc);
      }
      if (rec.level >= 40) warnings.push({ incarnation: inc, ...rec });
    };
    c.stdout.on('data', (d) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        onLine(buf.slice(0, i));
        buf = buf.slice(i + 1);
      }
    });
    c.stderr.on('data', (d) => {
      brokerLog.write(`${inc} stderr ${d}`);
      warnings.push({ incarnation: inc, msg: `stderr: ${String(d).trim()}` });
    });
    exited.then(() => ready(false));
    child = { process: c, incarnation: inc, ready: readyP, exited };
    return child;
  }

  async function waitReady(c) {
    let timer;
    const ok = await Promise.race([c.ready, new Promise((r) => (timer = setTimeout(() => r('timeout'), o.readyTimeoutMs)))]);
    clearTimeout(timer);
    if (ok !== true) throw new Error(`broker incarnation ${c.incarnation} did not become ready (${ok === 'timeout' ? 'timeout' : 'exited'}); see ${join(work, 'broker.log')}`);
  }

  async function kill(c, signal = 'SIGKILL') {
    if (c.process.exitCode === null && c.process.signalCode === null) c.process.kill(signal);
    // Reaped before the next start: a zombie's pid still looks alive to the data-directory lock.
    return c.exited;
  }

  const killAll = () => {
    if (child && child.process.exitCode === null && child.process.signalCode === null) child.process.kill('SIGKILL');
  };
  process.once('exit', killAll);

  // ---------------------------------------------------------------------------------------------
  // Checker state.

  const state = {
    published: 0,
    confirmed: new Set(),
    nacked: new Set(),
    /** n -> local port of the publisher connection that sent it. */
    publishedOn: new Map(),
    /** n -> deliveries: { redelivered, session } */
    delivered: new Map(),
    deliveries: 0,
    redeliveredCount: 0,
    violations: [],
    sessions: [],
    stopPublishing: false,
    stopConsuming: false,
    /** Transient messages not delivered when their broker was killed: gone, not backlog. */
    transientGone: 0,
  };
  const violation = (v) => {
    if (state.violations.length < 200) state.violations.push(v);
    debug(`VIOLATION ${v}`);
  };

  async function connect() {
    const c = await amqp.connect(url, { noDelay: true, timeout: 2000 });
    c.on('error', () => {});
    return c;
  }

  // ---------------------------------------------------------------------------------------------
  // Publisher: numbered messages, at most WINDOW unconfirmed.

  async function publisherSession() {
    const conn = await connect();
    let open = true;
    const closed = new Promise((r) =>
      conn.once('close', () => {
        open = false;
        r();
      }),
    );
    try {
      const ch = await conn.createConfirmChannel();
      ch.on('error', () => {});
      await ch.assertQueue(QUEUE, { durable: true });
      const localPort = conn.connection.stream.localPort;
      let outstanding = 0;
      let wake;
      const wait = () => new Promise((r) => (wake = r));
      while (open && !state.stopPublishing) {
        if (state.published - state.delivered.size - state.transientGone > o.maxBacklog) {
          await Promise.race([closed, sleep(50)]);
          continue;
        }
        if (outstanding >= WINDOW) {
          await Promise.race([wait(), closed]);
          continue;
        }
        const n = ++state.published;
        state.publishedOn.set(n, localPort);
        outstanding++;
        try {
          const more = ch.publish('', QUEUE, bodyOf(n, o.seed, o.minBody, o.maxBody), { persistent: !isTransient(n), messageId: String(n) }, (err) => {
            outstanding--;
            if (err === null || err === undefined) state.confirmed.add(n);
            else if (err.message === 'message nacked') state.nacked.add(n);
            // 'channel closed': unknown, the message may or may not have been stored.
            const w = wake;
            wake = undefined;
            w?.();
          });
          if (!more) await Promise.race([new Promise((r) => ch.once('drain', r)), closed]);
        } catch {
          break;
        }
        if (n % 64 === 0) await new Promise((r) => setImmediate(r));
      }
      if (open && state.stopPublishing) {
        // Let the last confirms arrive before closing: those still missing count as unknown.
        const deadline = Date.now() + 10_000;
        while (outstanding > 0 && open && Date.now() < deadline) await Promise.race([wait(), closed, sleep(100)]);
        await conn.close().catch(() => {});
      }
    } finally {
      if (open) await conn.close().catch(() => {});
    }
  }

  async function publisherLoop() {
    while (!state.stopPublishing) {
      try {
        await publisherSession();
      } catch (e) {
        debug(`publisher: ${e.message}`);
      }
      if (!state.stopPublishing) await sleep(50);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Consumer: manual acks, acknowledged in random batches (multiple=true), so that every crash
  // leaves some deliveries unacknowledged.

  let consumerConn;
  async function consumerSession() {
    // Half the sessions start late, so that a backlog builds up (paging, segment rollover, long
    // recoveries) before the next kill.
    if (ackRandom() < 0.5) await sleep(Math.floor(ackRandom() * o.consumerDelayMs));
    if (state.stopConsuming) return;
    const conn = await connect();
    consumerConn = conn;
    const session = { id: state.sessions.length + 1, localPort: conn.connection.stream.localPort, incarnation: undefined, last: 0, count: 0 };
    state.sessions.push(session);
    let flushTimer;
    try {
      const closed = new Promise((r) => conn.once('close', r));
      const ch = await conn.createChannel();
      ch.on('error', () => {});
      await ch.assertQueue(QUEUE, { durable: true });
      await ch.prefetch(200);
      let unacked;
      let unackedCount = 0;
      let batch = 1 + Math.floor(ackRandom() * 100);
      const flush = () => {
        if (unacked === undefined) return;
        try {
          ch.ack(unacked, true);
        } catch {
          /* closed */
        }
        unacked = undefined;
        unackedCount = 0;
        batch = 1 + Math.floor(ackRandom() * 100);
      };
      flushTimer = setInterval(flush, 25);
      await ch.consume(
        QUEUE,
        (m) => {
          if (m === null) return;
          const text = m.content.toString();
          const n = Number(text.slice(0, text.indexOf(':')));
          const redelivered = m.fields.redelivered;
          state.deliveries++;
          session.count++;
          if (redelivered) state.redeliveredCount++;
          if (!Number.isInteger(n) || n < 1 || n > state.published) {
            violation(`unexpected message: never published (${JSON.stringify(text.slice(0, 40))})`);
          } else if (!m.content.equals(bodyOf(n, o.seed, o.minBody, o.maxBody))) {
            violation(`message ${n}: body differs from what was published`);
          } else {
            if (m.properties.messageId !== String(n)) violation(`message ${n}: message-id ${m.properties.messageId}`);
            const seen = state.delivered.get(n);
            if (seen !== undefined && !redelivered) violation(`message ${n}: delivered again with redelivered=false (first in session ${seen[0].session})`);
            if (n <= session.last) violation(`message ${n} after ${session.last} in consumer session ${session.id}: out of order`);
            session.last = Math.max(session.last, n);
            const list = seen ?? [];
            list.push({ redelivered, session: session.id });
            if (seen === undefined) state.delivered.set(n, list);
          }
          unacked = m;
          if (++unackedCount >= batch) flush();
        },
        { noAck: false },
      );
      while (!state.stopConsuming) {
        const r = await Promise.race([closed.then(() => 'closed'), sleep(100)]);
        if (r === 'closed') return;
      }
      flush();
      await ch.checkQueue(QUEUE).catch(() => {});
      await conn.close().catch(() => {});
    } finally {
      clearInterval(flushTimer);
      consumerConn = undefined;
    }
  }

  async function consumerLoop() {
    while (!state.stopConsuming) {
      try {
        await consumerSession();
      } catch (e) {
        debug(`consumer: ${e.message}`);
      }
      if (!state.stopConsuming) await sleep(50);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // The run.

  const started = Date.now();
  let kills = 0;
  let earlyKills = 0;
  let maxBacklog = 0;
  let drainIncarnation;
  let finalCheck = { ok: false };
  let publisher;
  let consumer;
  let failure;
  try {
    let c = spawnBroker();
    await waitReady(c);
    publisher = publisherLoop();
    consumer = consumerLoop();
    for (let k = 1; k <= o.kills; k++) {
      const early = random() < o.earlyKill;
      const upMs = early ? Math.floor(random() * 150) : o.minUpMs + Math.floor(random() * (o.maxUpMs - o.minUpMs));
      if (!early) await waitReady(c);
      await sleep(upMs);
      const wasReady = await Promise.race([c.ready, Promise.resolve('pending')]);
      maxBacklog = Math.max(maxBacklog, state.published - state.delivered.size - state.transientGone);
      await kill(c);
      let gone = 0;
      for (let n = 10; n <= state.published; n += 10) if (!state.delivered.has(n)) gone++;
      state.transientGone = gone;
      kills++;
      if (wasReady !== true) earlyKills++;
      debug(`kill ${k}: incarnation ${c.incarnation} after ${upMs} ms${wasReady !== true ? ' (during start-up)' : ''}; published ${state.published}, confirmed ${state.confirmed.size}, delivered ${state.delivered.size}`);
      c = spawnBroker();
    }
    await waitReady(c);
    await sleep(o.finalUpMs);
    state.stopPublishing = true;
    await publisher;
    // Drain: every confirmed message must arrive; then the queue must be empty. Fails when the
    // consumer stops making progress for drainTimeoutMs.
    let deadline = Date.now() + o.drainTimeoutMs;
    let progress = state.deliveries;
    const missing = () => {
      const out = [];
      // A transient message dies with its broker, confirmed or not.
      for (const n of state.confirmed) if (!isTransient(n) && !state.delivered.has(n)) out.push(n);
      return out.sort((a, b) => a - b);
    };
    let check;
    for (;;) {
      const lost = missing();
      if (lost.length === 0) {
        check ??= await connect().catch(() => undefined);
        const ch = await check?.createChannel().catch(() => undefined);
        const count = ch ? (await ch.checkQueue(QUEUE).catch(() => ({ messageCount: -1 }))).messageCount : -1;
        await ch?.close().catch(() => {});
        if (count === 0) break;
      }
      if (state.deliveries !== progress) {
        progress = state.deliveries;
        deadline = Date.now() + o.drainTimeoutMs;
      }
      if (Date.now() > deadline) {
        if (lost.length > 0) violation(`${lost.length} confirmed messages not delivered after ${o.drainTimeoutMs} ms without progress (lost or stuck), first: ${lost.slice(0, 20).join(', ')}`);
        else violation(`the queue did not drain (no progress for ${o.drainTimeoutMs} ms)`);
        break;
      }
      await sleep(200);
    }
    state.stopConsuming = true;
    await consumer;
    await check?.close().catch(() => {});

    drainIncarnation = c.incarnation;
    // A clean stop and start: nothing acknowledged may come back.
    c.process.kill('SIGTERM');
    const exit = await c.exited;
    if (exit.code !== 0) violation(`clean shutdown exited with ${JSON.stringify(exit)}`);
    c = spawnBroker();
    await waitReady(c);
    const conn = await connect();
    const ch = await conn.createChannel();
    const left = (await ch.checkQueue(QUEUE)).messageCount;
    if (left !== 0) {
      const back = [];
      for (let i = 0; i < Math.min(left, 20); i++) {
        const m = await ch.get(QUEUE, { noAck: true });
        if (m) back.push(m.content.toString().split(':')[0]);
      }
      violation(`${left} messages came back after the final clean restart although every delivery was acknowledged: ${back.join(', ')}`);
    }
    await conn.close().catch(() => {});
    c.process.kill('SIGTERM');
    await c.exited;
    finalCheck = { ok: true };
  } catch (e) {
    failure = e;
    violation(`harness failure: ${e.stack ?? e}`);
  } finally {
    state.stopPublishing = true;
    state.stopConsuming = true;
    killAll();
    if (child) await child.exited;
    await consumerConn?.close().catch(() => {});
    await Promise.race([Promise.allSettled([publisher, consumer]), sleep(5000)]);
    process.removeListener('exit', killAll);
    await new Promise((r) => brokerLog.end(r));
  }

  // Transient messages never outlive their broker: a delivery on another incarnation than the one
  // the message was published to is a message that survived a restart.
  for (const s of state.sessions) s.incarnation = peerIncarnation.get(s.localPort);
  const sessionInc = new Map(state.sessions.map((s) => [s.id, s.incarnation]));
  let transientChecked = 0;
  for (const [n, list] of state.delivered) {
    if (!isTransient(n)) continue;
    const pubInc = peerIncarnation.get(state.publishedOn.get(n));
    for (const d of list) {
      const inc = sessionInc.get(d.session);
      if (pubInc === undefined || inc === undefined) continue;
      transientChecked++;
      if (inc !== pubInc) violation(`transient message ${n} published to incarnation ${pubInc} was delivered by incarnation ${inc}`);
    }
  }

  // A confirmed transient message published to the broker that lived to the end must have arrived.
  let transientKept = 0;
  for (const n of state.confirmed) {
    if (!isTransient(n) || peerIncarnation.get(state.publishedOn.get(n)) !== drainIncarnation) continue;
    transientKept++;
    if (!state.delivered.has(n)) violation(`confirmed transient message ${n} was never delivered although its broker never stopped`);
  }

  let duplicates = 0;
  for (const list of state.delivered.values()) duplicates += list.length - 1;
  const unconfirmedDelivered = [...state.delivered.keys()].filter((n) => !state.confirmed.has(n)).length;
  const repairs = warnings.filter((w) => typeof w.msg === 'string' && /repaired|torn/.test(w.msg)).length;
  const otherWarnings = warnings.filter((w) => !(typeof w.msg === 'string' && /repaired|torn/.test(w.msg)));
  const summary = {
    ok: state.violations.length === 0 && failure === undefined && finalCheck.ok,
    durability: o.durability,
    seed: o.seed,
    kills,
    earlyKills,
    published: state.published,
    confirmed: state.confirmed.size,
    nacked: state.nacked.size,
    consumed: state.delivered.size,
    deliveries: state.deliveries,
    duplicates,
    redelivered: state.redeliveredCount,
    unconfirmedDelivered,
    transientChecked,
    transientKept,
    consumerSessions: state.sessions.length,
    maxBacklogAtKill: maxBacklog,
    tornTailRepairs: repairs,
    maxReadyMs,
    seconds: Math.round((Date.now() - started) / 100) / 10,
    violations: state.violations,
    warnings: otherWarnings.slice(0, 20),
    workDir: work,
  };
  if (summary.ok && !o.keep) rmSync(work, { recursive: true, force: true });
  else say(`kept ${work} (broker.log, data/)`);
  return summary;
}

export function formatSummary(s) {
  const lines = [
    `durability ${s.durability}, seed ${s.seed}: ${s.ok ? 'OK' : 'FAILED'} in ${s.seconds} s`,
    `  kills ${s.kills} (${s.earlyKills} during start-up), largest backlog at a kill ~${s.maxBacklogAtKill} messages, consumer sessions ${s.consumerSessions}`,
    `  torn-tail repairs logged ${s.tornTailRepairs}, slowest start ${s.maxReadyMs} ms`,
    `  published ${s.published}, confirmed ${s.confirmed}, nacked ${s.nacked}`,
    `  consumed ${s.consumed} distinct (${s.unconfirmedDelivered} of them unconfirmed), deliveries ${s.deliveries}, duplicates ${s.duplicates}, redelivered ${s.redelivered}`,
    `  transient deliveries checked against their broker ${s.transientChecked}; confirmed transient messages of the last broker, all delivered: ${s.transientKept}`,
  ];
  for (const v of s.violations) lines.push(`  VIOLATION: ${v}`);
  for (const w of s.warnings) lines.push(`  broker warning (incarnation ${w.incarnation}): ${w.msg}${w.err ? ` (${typeof w.err === 'string' ? w.err : JSON.stringify(w.err)})` : ''}`);
  return lines.join('\n');
}

// -----------------------------------------------------------------------------------------------
// Command line

function parseCli(argv) {
  const out = { durabilities: ['fsync', 'os'], mode: 'queue' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    switch (a) {
      case '--kills':
        out.kills = Number(next());
        break;
      case '--seed':
        out.seed = Number(next());
        break;
      case '--durability': {
        const v = next();
        out.durabilities = v === 'both' ? ['fsync', 'os'] : [v];
        break;
      }
      case '--min-up':
        out.minUpMs = Number(next());
        break;
      case '--max-up':
        out.maxUpMs = Number(next());
        break;
      case '--early-kill':
        out.earlyKill = Number(next());
        break;
      case '--max-backlog':
        out.maxBacklog = Number(next());
        break;
      case '--consumer-delay':
        out.consumerDelayMs = Number(next());
        break;
      case '--final-up':
        out.finalUpMs = Number(next());
        break;
      case '--body': {
        const [min, max] = next().split('-').map(Number);
        out.minBody = min;
        out.maxBody = max ?? min;
        break;
      }
      case '--keep':
        out.keep = true;
        break;
      case '--mode':
        out.mode = next();
        if (out.mode !== 'queue' && out.mode !== 'stream') throw new Error('--mode is queue or stream');
        break;
      case '--verbose':
        out.verbose = true;
        break;
      case '--help':
        process.stdout.write(
          'usage: node scripts/crash-test.mjs [--mode queue|stream] [--kills 30] [--durability fsync|os|both] [--seed N] [--min-up MS] [--max-up MS] [--early-kill P] [--consumer-delay MS] [--max-backlog N] [--final-up MS] [--body MIN-MAX] [--keep] [--verbose]\n',
        );
        process.exit(0);
        break;
      default:
        throw new Error(`unknown option ${a}`);
    }
  }
  return out;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { durabilities, mode, ...cli } = parseCli(process.argv.slice(2));
  // Stream mode (scripts/crash-test-stream.mjs): a stream with replaying consumers instead of a queue.
  const stream = mode === 'stream' ? await import('./crash-test-stream.mjs') : undefined;
  const run = stream === undefined ? runCrashTest : stream.runStreamCrashTest;
  const format = stream === undefined ? formatSummary : stream.formatStreamSummary;
  const options = { kills: 30, minUpMs: 300, maxUpMs: 3000, finalUpMs: 2000, ...cli };
  if (options.seed === undefined) options.seed = Math.floor(Math.random() * 2 ** 31);
  let failed = false;
  const summaries = [];
  for (const durability of durabilities) {
    const s = await run({ ...options, durability });
    summaries.push(s);
    process.stdout.write(`${format(s)}\n`);
    if (!s.ok) failed = true;
  }
  if (summaries.length > 1) process.stdout.write(`\n${summaries.map((s) => format(s)).join('\n')}\n`);
  process.exit(failed ? 1 : 0);
}

