// Warren's Prometheus endpoint against rabbitmq_prometheus's: every metric Warren exposes, on
// /metrics and /metrics/per-object, must exist on the reference's with the same type and the same
// label names (so RabbitMQ's published Grafana dashboards find them), and the metrics the issue
// names must be there on both.
import { afterAll, beforeAll, describe, expect, inject, test, type TestContext } from 'vitest';
import amqp from 'amqplib';
import { startBroker, type RunningBroker } from '../src/index.js';

const env = inject('compat');
let warren: RunningBroker | undefined;

beforeAll(async () => {
  if (env.referencePrometheusUrl === null) return;
  warren = await startBroker({ port: 0, prometheusPort: 0, logLevel: 'silent', rabbitmqVersion: env.personality ?? undefined });
});

afterAll(async () => {
  await warren?.close();
});

function requireReference(ctx: TestContext): string {
  if (env.referencePrometheusUrl !== null) return env.referencePrometheusUrl;
  const reason = `no reference RabbitMQ with rabbitmq_prometheus (${env.unavailableReason ?? env.referenceDescription})`;
  if (process.env.CI || process.env.COMPAT_REQUIRE_REFERENCE) throw new Error(reason);
  ctx.skip(reason);
  throw new Error('unreachable');
}

/** name -> "type {label names}" of a text-format scrape. */
async function scrape(url: string): Promise<Map<string, string>> {
  const res = await fetch(url);
  expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4');
  const text = await res.text();
  const types = new Map<string, string>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) types.set(m[1]!, m[2]!);
  const labels = new Map<string, Set<string>>();
  for (const m of text.matchAll(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})? /gm)) {
    const names = labels.get(m[1]!) ?? new Set<string>();
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="/g)) names.add(l[1]!);
    labels.set(m[1]!, names);
  }
  return new Map([...types].map(([name, type]) => [name, `${type} {${[...(labels.get(name) ?? [])].sort().join(',')}}`]));
}

/** A connection with an exclusive server-named queue: closing it removes the queue. */
async function withQueue(url: string) {
  const conn = await amqp.connect(url);
  const ch = await conn.createChannel();
  await ch.assertQueue('', { exclusive: true });
  return conn;
}

/** The metrics the issue names (Grafana's RabbitMQ-Overview dashboard reads these). */
const REQUIRED = [
  'rabbitmq_queue_messages_ready',
  'rabbitmq_queue_messages_unacked',
  'rabbitmq_connections',
  'rabbitmq_channels',
  'rabbitmq_global_messages_received_total',
  'rabbitmq_global_messages_delivered_total',
  'rabbitmq_alarms_memory_used_watermark',
  'rabbitmq_alarms_free_disk_space_watermark',
  'rabbitmq_process_resident_memory_bytes',
  'rabbitmq_disk_space_available_bytes',
];

describe.concurrent('Prometheus metrics against rabbitmq_prometheus', () => {
  for (const path of ['/metrics', '/metrics/per-object']) {
    test(`${path}: Warren's metrics have the reference's names, types and label names`, async (ctx) => {
      const referenceUrl = requireReference(ctx);
      // A queue on each (held by its connection while scraping), so that per-object queue series exist on both.
      const [a, b] = await Promise.all([withQueue(env.referenceUrl!), withQueue(warren!.url)]);
      try {
        const reference = await scrape(`${referenceUrl}${path}`);
        const ours = await scrape(`http://127.0.0.1:${warren!.prometheusPort}${path}`);
        const mismatched = [...ours].filter(([name, shape]) => reference.get(name) !== shape);
        expect(mismatched.map(([name, shape]) => `${name}: warren ${shape}, rabbitmq ${reference.get(name) ?? 'absent'}`)).toEqual([]);
        // The alarms are on the aggregated endpoint only (on both).
        const required = path === '/metrics' ? REQUIRED : REQUIRED.filter((n) => !n.startsWith('rabbitmq_alarms_'));
        expect(required.filter((n) => !ours.has(n) || !reference.has(n))).toEqual([]);
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    });
  }
});
