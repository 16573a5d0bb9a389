/**
 * kill -9: the broker as a child process (bin/warren.js on dist/, built by `pretest`), killed with
 * SIGKILL at random moments while a publisher with confirms and a consumer with manual acks run
 * (scripts/crash-test.mjs; `npm run crash-test` runs the long version). Also: bounded memory for a
 * long durable queue before and after a kill, and the lock seen from the command line.
 *
 * WARREN_CRASH_SEED=<n> replays a kill schedule; the seed of every run is printed.
 */
import amqp from 'amqplib';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { formatSummary, runCrashTest } from '../../scripts/crash-test.mjs';
import { formatStreamSummary, runStreamCrashTest } from '../../scripts/crash-test-stream.mjs';
import { useTempDirs } from '../helpers/disk-brokers.js';

const BIN = fileURLToPath(new URL('../../bin/warren.js', import.meta.url));
const tempDir = useTempDirs();
const children: ChildProcess[] = [];

afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

const seedFromEnv = process.env.WARREN_CRASH_SEED === undefined ? undefined : Number(process.env.WARREN_CRASH_SEED);

describe('kill -9 under load', () => {
  for (const [durability, kills] of [
    ['fsync', 5],
    ['os', 3],
  ] as const) {
    it(`durability ${durability}: ${kills} kills; no confirmed message lost, none unexpected, duplicates only redelivered`, async () => {
      const lines: string[] = [];
      const summary = await runCrashTest({
        durability,
        kills,
        seed: seedFromEnv,
        minUpMs: 300,
        maxUpMs: 1500,
        earlyKill: 0.2,
        finalUpMs: 500,
        drainTimeoutMs: 30_000,
        log: (l) => lines.push(l),
      });
      const report = formatSummary(summary);
      console.log(report);
      expect(summary.violations, `${report}\n${lines.join('\n')}`).toEqual([]);
      expect(summary.ok).toBe(true);
      expect(summary.kills).toBe(kills);
      expect(summary.confirmed).toBeGreaterThan(0);
      expect(summary.consumed).toBeGreaterThan(0);
    }, 120_000);
  }
});

describe('kill -9 of a stream under load', () => {
  it('3 kills with a publisher with confirms and replaying consumers: no confirmed message lost, offsets contiguous and unchanged', async () => {
    const lines: string[] = [];
    const summary = await runStreamCrashTest({ durability: 'fsync', kills: 3, seed: seedFromEnv, minUpMs: 300, maxUpMs: 1200, finalUpMs: 500, log: (l: string) => lines.push(l) });
    const report = formatStreamSummary(summary);
    console.log(report);
    expect(summary.violations, `${report}\n${lines.join('\n')}`).toEqual([]);
    expect(summary.ok).toBe(true);
    expect(summary.kills).toBe(3);
    expect(summary.confirmed).toBeGreaterThan(0);
    expect(summary.finalCount).toBeGreaterThanOrEqual(summary.confirmed);
  }, 120_000);
});

interface Child {
  process: ChildProcess;
  exited: Promise<number | null>;
  output: () => string;
}

async function startChild(args: string[]): Promise<Child> {
  const c = spawn(process.execPath, [BIN, '--host', '127.0.0.1', '--log-level', 'info', '--rabbitmq-version', '3.10', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(c);
  let out = '';
  c.stdout!.on('data', (d) => (out += d));
  c.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => c.once('exit', (code) => resolve(code)));
  return { process: c, exited, output: () => out };
}

async function ready(c: Child): Promise<number> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const line = c.output().split('\n').find((l) => l.includes('Warren is ready'));
    if (line !== undefined) return Number(new URL((JSON.parse(line) as { url: string }).url).port);
    if (c.process.exitCode !== null || Date.now() > deadline) throw new Error(`broker did not start:\n${c.output()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Resident set now and at its peak (VmHWM), in MiB. */
function memory(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => Math.round(Number(/\s(\d+) kB/.exec(status.split('\n').find((l) => l.startsWith(name))!)![1]) / 1024);
  return { rss: field('VmRSS:'), peak: field('VmHWM:') };
}

describe('kill -9, step by step', () => {
  it('acked messages never come back; unacked and undelivered persistent ones come back in order, redelivered; transient ones and transient queues are gone', async () => {
    const dir = tempDir();
    const args = ['--port', '0', '--data-dir', dir, '--durability', 'fsync'];
    let broker = await startChild(args);
    let port = await ready(broker);
    let conn = await amqp.connect(`amqp://guest:guest@127.0.0.1:${port}`, { noDelay: true });
    conn.on('error', () => {});
    const cc = await conn.createConfirmChannel();
    await cc.assertExchange('kx', 'direct', { durable: true });
    await cc.assertQueue('kq', { durable: true });
    await cc.assertQueue('kq-transient', { durable: false });
    await cc.bindQueue('kq', 'kx', 'k');
    for (let i = 1; i <= 10; i++) cc.publish('kx', 'k', Buffer.from(`m${i}`), { persistent: i !== 7 });
    await cc.waitForConfirms();
    const ch = await conn.createChannel();
    const got: amqp.GetMessage[] = [];
    for (let i = 0; i < 5; i++) {
      const m = await ch.get('kq', { noAck: false });
      if (m === false) throw new Error('empty');
      got.push(m);
    }
    ch.ack(got[1]!); // m2
    ch.ack(got[3]!); // m4
    await ch.checkQueue('kq');
    // Acks are not waited for by the protocol: wait until both are in the ack log, then kill.
    const [qid] = readdirSync(join(dir, 'queues'));
    const ackLog = join(dir, 'queues', qid!, '0000000001.ack');
    const deadline = Date.now() + 10_000;
    while (!(existsSync(ackLog) && statSync(ackLog).size === 16) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(statSync(ackLog).size).toBe(16);
    broker.process.kill('SIGKILL');
    await broker.exited;
    await conn.close().catch(() => {});

    broker = await startChild(args);
    port = await ready(broker);
    conn = await amqp.connect(`amqp://guest:guest@127.0.0.1:${port}`, { noDelay: true });
    conn.on('error', () => {});
    const ch2 = await conn.createChannel();
    ch2.on('error', () => {});
    await expect(ch2.checkQueue('kq-transient')).rejects.toThrow(/NOT_FOUND/);
    const ch3 = await conn.createChannel();
    const after: Array<[string, boolean]> = [];
    for (;;) {
      const m = await ch3.get('kq', { noAck: true });
      if (m === false) break;
      after.push([m.content.toString(), m.fields.redelivered]);
    }
    // After a crash nothing says which messages reached a consumer: all are flagged (as RabbitMQ).
    expect(after).toEqual(['m1', 'm3', 'm5', 'm6', 'm8', 'm9', 'm10'].map((b) => [b, true]));
    // The binding survived too.
    ch3.publish('kx', 'k', Buffer.from('routed'));
    await ch3.checkQueue('kq');
    const routed = await ch3.get('kq', { noAck: true });
    expect(routed && routed.content.toString()).toBe('routed');
    await conn.close().catch(() => {});
    broker.process.kill('SIGTERM');
    expect(await broker.exited).toBe(0);
  }, 60_000);
});

describe('bounded memory (a cheap version of the 1,000,000-message benchmark)', () => {
  it('100,000 x 1 KiB persistent messages: the broker stays far below the size of the bodies, before and after a kill -9', async () => {
    // Measured here: ~130 MiB at the peak with paging, ~230 MiB when every body stays in memory
    // (durability memory). The bound is generous but still fails if bodies are kept.
    const BOUND_MIB = 180;
    const N = 100_000;
    const dir = tempDir();
    const args = ['--port', '0', '--data-dir', dir, '--durability', 'fsync'];
    let broker = await startChild(args);
    let port = await ready(broker);
    let conn = await amqp.connect(`amqp://guest:guest@127.0.0.1:${port}`, { noDelay: true });
    conn.on('error', () => {});
    const ch = await conn.createConfirmChannel();
    await ch.assertQueue('big', { durable: true });
    const body = Buffer.alloc(1024, 'b');
    let outstanding = 0;
    let wake: (() => void) | undefined;
    for (let i = 0; i < N; i++) {
      while (outstanding >= 1000) await new Promise<void>((r) => (wake = r));
      outstanding++;
      ch.sendToQueue('big', body, { persistent: true, messageId: String(i) }, () => {
        outstanding--;
        wake?.();
      });
    }
    await ch.waitForConfirms();
    expect((await ch.checkQueue('big')).messageCount).toBe(N);
    const before = memory(broker.process.pid!);
    const [qid] = readdirSync(join(dir, 'queues'));
    const segs = readdirSync(join(dir, 'queues', qid!)).filter((f) => f.endsWith('.seg'));
    expect(segs.length).toBeGreaterThanOrEqual(12); // ~100 MiB in 8 MiB segments
    expect(before.peak, `peak RSS ${before.peak} MiB while publishing`).toBeLessThan(BOUND_MIB);

    broker.process.kill('SIGKILL');
    await broker.exited;
    await conn.close().catch(() => {});
    broker = await startChild(args);
    port = await ready(broker);
    conn = await amqp.connect(`amqp://guest:guest@127.0.0.1:${port}`, { noDelay: true });
    conn.on('error', () => {});
    const consumer = await conn.createChannel();
    expect((await consumer.checkQueue('big')).messageCount).toBe(N);
    const recovered = memory(broker.process.pid!);
    expect(recovered.peak, `peak RSS ${recovered.peak} MiB after recovery`).toBeLessThan(BOUND_MIB);

    // Read everything back through a consumer: in order, redelivered (a crash), memory still bounded.
    await consumer.prefetch(1000);
    let next = 0;
    let outOfOrder = 0;
    let notRedelivered = 0;
    const done = new Promise<void>((resolve) => {
      void consumer.consume('big', (m) => {
        if (m === null) return;
        if (m.properties.messageId !== String(next)) outOfOrder++;
        if (!m.fields.redelivered) notRedelivered++;
        next++;
        if (next % 100 === 0 || next === N) consumer.ack(m, true);
        if (next === N) resolve();
      });
    });
    await done;
    expect(outOfOrder).toBe(0);
    expect(notRedelivered).toBe(0);
    const drained = memory(broker.process.pid!);
    console.log(`bounded memory: peak ${before.peak} MiB publishing, ${recovered.peak} MiB after recovery, ${drained.peak} MiB after consuming`);
    // Draining fast churns ~200 MiB/s of buffers (merged reads, body copies, frames) that the GC
    // frees late: the peak varies more, so only the issue's own figure applies here.
    expect(drained.peak, `peak RSS ${drained.peak} MiB while consuming`).toBeLessThan(300);
    await conn.close().catch(() => {});
    broker.process.kill('SIGTERM');
    expect(await broker.exited).toBe(0);
  }, 120_000);
});

describe('the data-directory lock from the command line', () => {
  it('a second broker on a directory in use exits 1 and says which pid holds it; after kill -9 the lock is taken over', async () => {
    const dir = tempDir();
    const first = await startChild(['--port', '0', '--data-dir', dir]);
    await ready(first);
    const second = await startChild(['--port', '0', '--data-dir', dir]);
    expect(await second.exited).toBe(1);
    expect(second.output()).toContain(`warren: data directory ${dir} is in use by another Warren (pid ${first.process.pid})`);
    first.process.kill('SIGKILL');
    await first.exited;
    expect(readFileSync(join(dir, 'LOCK'), 'utf8').trim()).toBe(String(first.process.pid));
    const third = await startChild(['--port', '0', '--data-dir', dir]);
    await ready(third);
    expect(readFileSync(join(dir, 'LOCK'), 'utf8').trim()).toBe(String(third.process.pid));
    third.process.kill('SIGTERM');
    expect(await third.exited).toBe(0);
  }, 60_000);
});
