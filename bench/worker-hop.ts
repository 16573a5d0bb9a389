/**
 * What a hop between threads costs (issue 18's multi-core note, docs/performance.md): the main
 * thread sends batches of messages to a worker and the worker sends each batch back, as a broker
 * whose queues live in workers would send publishes to a queue's worker and get deliveries back.
 * A batch crosses as a transferred ArrayBuffer (no copy: the sender gives it up). The same work
 * without the worker (allocate, fill, touch each message on the main thread) is measured first,
 * so the difference is the hop.
 *
 *   npm run bench:build && node node_modules/.cache/warren-bench/bench/worker-hop.js [--size 1024] [--batch 64] [--seconds 5]
 *
 * Reports messages per second through the round trip and CPU microseconds per message (the
 * process's user + system time over the run, both threads).
 */
import { isMainThread, parentPort, Worker } from 'node:worker_threads';

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1]! : dflt;
};

interface Batch {
  buf: ArrayBuffer;
  count: number;
}

if (!isMainThread) {
  // The "queue worker": touches each message (reads its first byte) and hands the batch back.
  parentPort!.on('message', (b: Batch) => {
    const view = new Uint8Array(b.buf);
    let sum = 0;
    const size = view.length / b.count;
    for (let i = 0; i < b.count; i++) sum += view[i * size]!;
    parentPort!.postMessage({ buf: b.buf, count: b.count, sum }, [b.buf]);
  });
} else {
  const size = Number(opt('size', '1024'));
  const batch = Number(opt('batch', '64'));
  const seconds = Number(opt('seconds', '5'));
  const inFlight = 8;
  // The same work on one thread, for the difference.
  {
    const c0 = process.cpuUsage();
    const l0 = performance.now();
    let n = 0;
    let sum = 0;
    while (performance.now() - l0 < 1000) {
      const view = new Uint8Array(new ArrayBuffer(size * batch)).fill(0x78);
      for (let i = 0; i < batch; i++) sum += view[i * size]!;
      n += batch;
    }
    const c = process.cpuUsage(c0);
    console.log(`same work on one thread: ${((c.user + c.system) / n).toFixed(3)} us CPU per message (checksum ${sum % 7})`);
  }
  const worker = new Worker(new URL(import.meta.url));
  let done = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;
  const send = () => {
    const buf = new ArrayBuffer(size * batch);
    new Uint8Array(buf).fill(0x78);
    worker.postMessage({ buf, count: batch }, [buf]);
  };
  await new Promise<void>((resolve) => {
    worker.on('message', (b: Batch) => {
      done += b.count;
      if (performance.now() < deadline) send();
      else if (--pending === 0) resolve();
    });
    let pending = inFlight;
    for (let i = 0; i < inFlight; i++) send();
  });
  const wall = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuUs = (cpu.user + cpu.system) / done;
  console.log(
    `${size} B messages, ${batch} per batch, transferred: ${Math.round(done / wall).toLocaleString('en')} msg/s round trip, ` +
      `${cpuUs.toFixed(2)} us CPU per message (both threads, including allocating and filling the batch), ${(cpu.user / 1e6 / wall + cpu.system / 1e6 / wall).toFixed(2)} cores`,
  );
  await worker.terminate();
}
