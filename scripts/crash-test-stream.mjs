/**
 * Crash test, stream mode (`node scripts/crash-test.mjs --mode stream`): Warren as a child process,
 * killed with SIGKILL at random moments and restarted on the same data directory, while a publisher
 * with confirms (a window of 256 outstanding numbered messages) appends to one stream and replaying
 * consumers keep reading it from "first" or from where they left off. The checker proves what
 * issue 15 promises:
 *
 *  - zero lost: after the last restart, a reader from "first" finds every confirmed message;
 *  - offsets contiguous: within a consumer session each delivery's x-stream-offset is the previous
 *    one plus one, and the final read covers 0 .. count-1 without a gap;
 *  - offsets unchanged: an offset always carries the same message, before and after every crash
 *    (consumers only ever see stored chunks);
 *  - nothing unexpected: every delivery is a message that was published, with its exact body.
 */
import amqp from 'amqplib';
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bodyOf, freePort, prng } from './crash-common.mjs';

const BIN = fileURLToPath(new URL('../bin/warren.js', import.meta.url));
const DIST = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const STREAM = 'crash-stream';
const ARGS = { 'x-queue-type': 'stream', 'x-stream-max-segment-size-bytes': 256 * 1024 };
const WINDOW = 256;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** One broker process after another on the same directory, on the same port. */
function brokers(o, port, dataDir, brokerLog, warnings) {
  let incarnation = 0;
  return function spawnBroker() {
    const inc = ++incarnation;
    const c = spawn(process.execPath, [BIN, '--port', String(port), '--host', '127.0.0.1', '--data-dir', dataDir, '--durability', o.durability, '--log-level', 'info', '--rabbitmq-version', '3.10'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let ready;
    const readyP = new Promise((resolve) => (ready = resolve));
    const exited = new Promise((resolve) => c.once('exit', (code, signal) => resolve({ code, signal })));
    let buf = '';
    c.stdout.on('data', (d) => {
      buf += d;
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        brokerLog.write(`${inc} ${line}\n`);
        let rec;
        try {
          rec = JSON.parse(line);
        } catch {
          continue;
        }
        if (rec.msg === 'Warren is ready') ready(true);
        if (rec.level >= 40) warnings.push({ incarnation: inc, ...rec });
      }
    });
    c.stderr.on('data', (d) => brokerLog.write(`${inc} stderr ${d}`));
    exited.then(() => ready(false));
    return { process: c, incarnation: inc, ready: readyP, exited };
  };
}

/** Resolves with a summary; `ok` is false (and `violations` says why) if a promise was broken. */
export async function runStreamCrashTest(options = {}) {
  const o = {
    kills: 5,
    durability: 'fsync',
    seed: Math.floor(Math.random() * 2 ** 31),
    minUpMs: 300,
    maxUpMs: 2500,
    minBody: 16,
    maxBody: 1024,
    finalUpMs: 1000,
    readers: 2,
    readyTimeoutMs: 30_000,
    keep: false,
    log: (line) => process.stdout.write(`${line}\n`),
    ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)),
  };
  if (!existsSync(DIST)) throw new Error(`${DIST} is missing: run \`npm run build\` first`);
  const say = (s) => o.log(`[crash-test stream ${o.durability} seed=${o.seed}] ${s}`);
  const random = prng(o.seed);
  const work = mkdtempSync(join(tmpdir(), 'warren-stream-crash-'));
  const brokerLog = createWriteStream(join(work, 'broker.log'));
  const warnings = [];
  const port = await freePort();
  const url = `amqp://guest:guest@127.0.0.1:${port}`;
  const spawnBroker = brokers(o, port, join(work, 'data'), brokerLog, warnings);
  say(`data ${join(work, 'data')}, port ${port}, kills ${o.kills}`);

  const state = { published: 0, confirmed: new Set(), offsetOf: new Map(), nOfOffset: new Map(), deliveries: 0, sessions: 0, violations: [], stop: false };
  const violation = (v) => state.violations.length < 200 && state.violations.push(v);
  const connect = async () => {
    const c = await amqp.connect(url, { noDelay: true, timeout: 2000 });
    c.on('error', () => {});
    return c;
  };
  const bodyFor = (n) => bodyOf(n, o.seed, o.minBody, o.maxBody);

  /** What a delivery says: its message number and offset, checked against everything seen so far. */
  function observe(m) {
    const offset = m.properties.headers?.['x-stream-offset'];
    const text = m.content.toString('latin1');
    const n = Number(text.slice(0, text.indexOf(':')));
    state.deliveries++;
    if (!Number.isInteger(offset)) return violation(`delivery without an integer x-stream-offset (${JSON.stringify(offset)})`);
    if (!Number.isInteger(n) || n < 1 || n > state.published || !m.content.equals(bodyFor(n))) return violation(`offset ${offset}: a message never published (${JSON.stringify(text.slice(0, 30))})`);
    const before = state.nOfOffset.get(offset);
    if (before !== undefined && before !== n) violation(`offset ${offset} carried message ${before}, now message ${n}`);
    const at = state.offsetOf.get(n);
    if (at !== undefined && at !== offset) violation(`message ${n} was at offset ${at}, now at ${offset}`);
    state.nOfOffset.set(offset, n);
    state.offsetOf.set(n, offset);
    return offset;
  }

  async function publisherSession() {
    const conn = await connect();
    const closed = new Promise((r) => conn.once('close', r));
    let open = true;
    closed.then(() => (open = false));
    try {
      const ch = await conn.createConfirmChannel();
      ch.on('error', () => {});
      await ch.assertQueue(STREAM, { durable: true, arguments: ARGS });
      let outstanding = 0;
      let wake;
      while (open && !state.stop) {
        if (outstanding >= WINDOW) {
          await Promise.race([new Promise((r) => (wake = r)), closed]);
          continue;
        }
        const n = ++state.published;
        outstanding++;
        ch.publish('', STREAM, bodyFor(n), {}, (err) => {
          outstanding--;
          if (err === null || err === undefined) state.confirmed.add(n);
          wake?.();
        });
        if (n % 64 === 0) await new Promise((r) => setImmediate(r));
      }
    } finally {
      await conn.close().catch(() => {});
    }
  }

  /** A replaying consumer: from "first" or from its last offset + 1, offsets contiguous within the session. */
  async function readerSession(resumeAt) {
    const conn = await connect();
    const closed = new Promise((r) => conn.once('close', r));
    state.sessions++;
    let last;
    try {
      const ch = await conn.createChannel();
      ch.on('error', () => {});
      await ch.prefetch(100);
      const start = resumeAt.offset === undefined || random() < 0.5 ? 'first' : resumeAt.offset + 1;
      await ch.consume(STREAM, (m) => {
        if (m === null) return;
        const offset = observe(m);
        if (typeof offset === 'number') {
          if (last !== undefined && offset !== last + 1) violation(`session ${state.sessions}: offset ${offset} after ${last}`);
          if (last === undefined && typeof start === 'number' && offset !== start) violation(`session from offset ${start} started at ${offset}`);
          last = offset;
          resumeAt.offset = offset;
        }
        ch.ack(m);
      }, { arguments: { 'x-stream-offset': start } });
      while (!state.stop) if ((await Promise.race([closed.then(() => 'closed'), sleep(100)])) === 'closed') return;
    } finally {
      await conn.close().catch(() => {});
    }
  }

  const loop = async (session) => {
    while (!state.stop) {
      await session().catch(() => {});
      if (!state.stop) await sleep(50);
    }
  };

  /** After a clean restart: everything from "first", offsets 0 .. count-1, every confirmed message. */
  async function finalRead() {
    const conn = await connect();
    const ch = await conn.createChannel();
    const count = (await ch.checkQueue(STREAM)).messageCount;
    await ch.prefetch(500);
    const seen = new Set();
    let next = 0;
    await new Promise((resolve) => {
      if (count === 0) resolve();
      void ch.consume(STREAM, (m) => {
        if (m === null) return;
        const offset = observe(m);
        if (offset !== next) violation(`final read: offset ${offset} where ${next} was expected`);
        next = offset + 1;
        seen.add(Number(m.content.toString('latin1').split(':')[0]));
        ch.ack(m);
        if (next >= count) resolve();
      }, { arguments: { 'x-stream-offset': 'first' } });
    });
    const lost = [...state.confirmed].filter((n) => !seen.has(n)).sort((a, b) => a - b);
    if (lost.length > 0) violation(`${lost.length} confirmed messages missing from the stream, first: ${lost.slice(0, 20).join(', ')}`);
    await conn.close().catch(() => {});
    return count;
  }

  const started = Date.now();
  let child;
  let kills = 0;
  let finalCount = 0;
  let failure;
  const loops = [];
  try {
    child = spawnBroker();
    if ((await Promise.race([child.ready, sleep(o.readyTimeoutMs)])) !== true) throw new Error('broker did not start');
    loops.push(loop(publisherSession));
    for (let i = 0; i < o.readers; i++) {
      const resumeAt = { offset: undefined };
      loops.push(loop(() => readerSession(resumeAt)));
    }
    for (let k = 1; k <= o.kills; k++) {
      await sleep(o.minUpMs + Math.floor(random() * (o.maxUpMs - o.minUpMs)));
      child.process.kill('SIGKILL');
      await child.exited;
      kills++;
      child = spawnBroker();
      if ((await Promise.race([child.ready, sleep(o.readyTimeoutMs)])) !== true) throw new Error(`broker incarnation ${child.incarnation} did not start`);
    }
    await sleep(o.finalUpMs);
    state.stop = true;
    await Promise.allSettled(loops);
    child.process.kill('SIGTERM');
    const exit = await child.exited;
    if (exit.code !== 0) violation(`clean shutdown exited with ${JSON.stringify(exit)}`);
    child = spawnBroker();
    if ((await Promise.race([child.ready, sleep(o.readyTimeoutMs)])) !== true) throw new Error('broker did not start after the clean shutdown');
    finalCount = await finalRead();
    child.process.kill('SIGTERM');
    await child.exited;
  } catch (e) {
    failure = e;
    violation(`harness failure: ${e.stack ?? e}`);
  } finally {
    state.stop = true;
    if (child && child.process.exitCode === null && child.process.signalCode === null) child.process.kill('SIGKILL');
    if (child) await child.exited;
    await Promise.race([Promise.allSettled(loops), sleep(5000)]);
    await new Promise((r) => brokerLog.end(r));
  }
  const repairs = warnings.filter((w) => typeof w.msg === 'string' && /repaired|torn/.test(w.msg)).length;
  const summary = {
    ok: state.violations.length === 0 && failure === undefined,
    mode: 'stream',
    durability: o.durability,
    seed: o.seed,
    kills,
    published: state.published,
    confirmed: state.confirmed.size,
    finalCount,
    deliveries: state.deliveries,
    readerSessions: state.sessions,
    tornTailRepairs: repairs,
    seconds: Math.round((Date.now() - started) / 100) / 10,
    violations: state.violations,
    warnings: warnings.filter((w) => !(typeof w.msg === 'string' && /repaired|torn/.test(w.msg))).slice(0, 20),
    workDir: work,
  };
  if (summary.ok && !o.keep) rmSync(work, { recursive: true, force: true });
  else say(`kept ${work} (broker.log, data/)`);
  return summary;
}

export function formatStreamSummary(s) {
  const lines = [
    `stream, durability ${s.durability}, seed ${s.seed}: ${s.ok ? 'OK' : 'FAILED'} in ${s.seconds} s`,
    `  kills ${s.kills}, torn-tail repairs logged ${s.tornTailRepairs}, reader sessions ${s.readerSessions}`,
    `  published ${s.published}, confirmed ${s.confirmed}, in the stream at the end ${s.finalCount} (offsets 0..${s.finalCount - 1}), deliveries checked ${s.deliveries}`,
  ];
  for (const v of s.violations) lines.push(`  VIOLATION: ${v}`);
  for (const w of s.warnings) lines.push(`  broker warning (incarnation ${w.incarnation}): ${w.msg}`);
  return lines.join('\n');
}
