/**
 * Deleting (or purging) a huge queue (issue 19, item 2): fills one queue with millions of small
 * messages, deletes it, and records the broker's resident memory over time and whether the memory
 * alarm went on. Not a test: a measurement for the note.
 *
 *   npm run bench:build && node node_modules/.cache/warren-bench/bench/huge-queue-delete.js \
 *     [--messages 7000000] [--size 16] [--watermark 1GiB] [--durability fsync] [--purge] [--watch-s 60] [--warren-dir DIR]
 *
 * Warren runs from dist/ (`npm run build` first) as a child process with --log-level info; the alarm's
 * set and clear lines are read from its log. The report: RSS before the delete, the delete-ok's
 * latency, the peak after it, when RSS was back under the watermark, and the alarm's intervals.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseInformationUnit } from '../src/resource-alarms.js';
import { encodeQueueDeclare, encodeQueueDelete, encodeQueuePurge, Method, type QueueDeclareOk } from '../src/protocol/generated/methods.js';
import { LeanConnection } from './harness/client.js';
import { freePort } from './harness/brokers.js';
import { encodePublishBatch, messagesPerWrite } from './harness/frames.js';
import { rss } from './harness/proc.js';

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1]! : dflt;
};
const MESSAGES = Number(opt('messages', '7000000'));
const SIZE = Number(opt('size', '16'));
const WATERMARK = opt('watermark', '1GiB');
const DURABILITY = opt('durability', 'fsync');
const PURGE = args.includes('--purge');
const WATCH_MS = Number(opt('watch-s', '60')) * 1000;
const SAMPLE_MS = 100;
const MIB = 1024 * 1024;

/** Warren's checkout (bin/ and dist/): this one, or --warren-dir (a build of another commit, for before/after). */
const repoRoot = opt('warren-dir', fileURLToPath(new URL('../../../../', import.meta.url)));
const watermarkBytes = parseInformationUnit(WATERMARK) ?? Number(WATERMARK);

interface AlarmEvent {
  atMs: number;
  set: boolean;
}

async function main(): Promise<void> {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'warren-huge-'));
  const child = spawn(
    process.execPath,
    [join(repoRoot, 'bin', 'warren.js'), '--port', String(port), '--host', '127.0.0.1', '--data-dir', dataDir, '--durability', DURABILITY, '--vm-memory-high-watermark', WATERMARK, '--log-level', 'info'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const alarms: AlarmEvent[] = [];
  let buffered = '';
  child.stdout!.on('data', (d: Buffer) => {
    buffered += d.toString();
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (/memory resource limit alarm set/.test(line)) alarms.push({ atMs: performance.now(), set: true });
      if (/memory resource limit alarm cleared/.test(line)) alarms.push({ atMs: performance.now(), set: false });
    }
  });
  const stop = () => {
    child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  };
  process.on('exit', stop);
  try {
    const ep = { host: '127.0.0.1', port };
    let ctl: LeanConnection | undefined;
    for (let i = 0; i < 200 && ctl === undefined; i++) {
      ctl = await LeanConnection.open(ep, 'huge-ctl').catch(async () => {
        await new Promise((r) => setTimeout(r, 50));
        return undefined;
      });
    }
    if (ctl === undefined) throw new Error('broker did not start');
    const queue = 'huge';
    const declare = async (passive: boolean) =>
      (await ctl!.call((w) => encodeQueueDeclare(w, 1, { queue, passive, durable: DURABILITY !== 'memory', arguments: new Map() }), Method.QueueDeclareOk)) as QueueDeclareOk;
    await declare(false);

    const pub = await LeanConnection.open(ep, 'huge-pub');
    const perWrite = messagesPerWrite(SIZE);
    const batch = encodePublishBatch({ exchange: '', routingKeys: [queue], size: SIZE, persistent: DURABILITY !== 'memory', channel: 1, frameMax: pub.frameMax }, perWrite);
    const fillStart = performance.now();
    // Written in the background: a blocked publisher waits for 'drain' while the count below goes on.
    void (async () => {
      let sent = 0;
      while (sent < MESSAGES && pub.error === undefined) {
        const n = Math.min(perWrite, MESSAGES - sent);
        const chunk = n === perWrite ? batch.buf : batch.buf.subarray(0, batch.offsets[n]);
        sent += n;
        if (!pub.socket.write(chunk)) await new Promise((r) => pub.socket.once('drain', r));
      }
    })();
    const pid = child.pid!;
    // Until every message is queued, or none has arrived for 20 s (the memory alarm blocks the publisher).
    let queued = 0;
    let lastProgress = performance.now();
    for (;;) {
      const ok = await declare(true);
      if (ok.messageCount > queued) lastProgress = performance.now();
      queued = ok.messageCount;
      if (queued >= MESSAGES) break;
      if (performance.now() - lastProgress > 20_000) {
        console.log(`publisher stalled at ${queued.toLocaleString('en')} messages (alarm ${alarms.at(-1)?.set === true ? 'on' : 'off'}, RSS ${(rss([pid]) / MIB).toFixed(0)} MiB): deleting what is there`);
        break;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    const fillS = (performance.now() - fillStart) / 1000;
    // Let the broker settle (its idle collector runs within seconds of a quiet loop).
    await new Promise((r) => setTimeout(r, 3000));
    const before = rss([pid]);
    const alarmsBefore = alarms.length;
    console.log(`filled ${queued.toLocaleString('en')} x ${SIZE} B in ${fillS.toFixed(1)} s; RSS ${(before / MIB).toFixed(0)} MiB; watermark ${(watermarkBytes / MIB).toFixed(0)} MiB; alarm ${alarms.at(-1)?.set === true ? 'on' : 'off'}`);

    const t0 = performance.now();
    const samples: { atMs: number; rss: number }[] = [];
    const sampler = setInterval(() => samples.push({ atMs: performance.now() - t0, rss: rss([pid]) }), SAMPLE_MS);
    if (PURGE) await ctl.call((w) => encodeQueuePurge(w, 1, { queue }), Method.QueuePurgeOk);
    else await ctl.call((w) => encodeQueueDelete(w, 1, { queue }), Method.QueueDeleteOk);
    const okMs = performance.now() - t0;
    await new Promise((r) => setTimeout(r, WATCH_MS));
    clearInterval(sampler);

    const peak = samples.reduce((m, s) => Math.max(m, s.rss), 0);
    const firstUnder = samples.find((s) => s.rss < watermarkBytes);
    const lastOver = [...samples].reverse().find((s) => s.rss >= watermarkBytes);
    const under = lastOver === undefined ? firstUnder : samples.find((s) => s.atMs > lastOver.atMs);
    const events = alarms.slice(alarmsBefore).map((a) => `${a.set ? 'set' : 'cleared'} at ${((a.atMs - t0) / 1000).toFixed(1)} s`);
    console.log(`${PURGE ? 'queue.purge' : 'queue.delete'}-ok after ${okMs.toFixed(0)} ms`);
    console.log(`RSS after: peak ${(peak / MIB).toFixed(0)} MiB; under the watermark to stay from ${under === undefined ? 'never' : `${(under.atMs / 1000).toFixed(1)} s`}; at the end ${((samples.at(-1)?.rss ?? 0) / MIB).toFixed(0)} MiB`);
    const onAtDelete = alarms.slice(0, alarmsBefore).at(-1)?.set === true;
    const onAtEnd = alarms.at(-1)?.set === true;
    console.log(`memory alarm: ${onAtDelete ? 'on' : 'off'} at the ${PURGE ? 'purge' : 'delete'}; after it ${events.length === 0 ? 'no change' : events.join(', ')}; ${onAtEnd ? 'on' : 'off'} at the end`);
    const every = Math.max(1, Math.round(1000 / SAMPLE_MS));
    console.log(`RSS (MiB) each second: ${samples.filter((_, i) => i % every === 0).map((s) => (s.rss / MIB).toFixed(0)).join(' ')}`);
    pub.socket.destroy();
    await ctl.close();
  } finally {
    stop();
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
