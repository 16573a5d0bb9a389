/**
 * The Prometheus text format (version 0.0.4) of the broker, with rabbitmq_prometheus's metric
 * names, types and labels (deps/rabbitmq_prometheus/src/collectors/prometheus_rabbitmq_core_metrics_collector.erl):
 * aggregated on /metrics (no per-object labels), one series per queue on /metrics/per-object.
 * Written by hand rather than with a client library: every value is read from the model at scrape
 * time, so a registry of metric objects would only be a second copy of the counters to keep in step.
 * Only metrics Warren can give truthfully are listed; the rest of RabbitMQ's are absent, not zero.
 */
import { readdirSync, statfsSync } from 'node:fs';
import { totalmem } from 'node:os';
import type { Broker } from '../broker.js';
import { QueueCounters } from '../queue/queue-counters.js';
import type { Queue } from '../queue/queue.js';
import type { QueueType } from '../queue/arguments.js';

type Type = 'gauge' | 'counter' | 'untyped';

class Exposition {
  private readonly lines: string[] = [];

  metric(name: string, type: Type, help: string, samples: readonly (readonly [labels: string, value: number])[]): void {
    this.lines.push(`# TYPE ${name} ${type}`, `# HELP ${name} ${help}`);
    for (const [labels, value] of samples) this.lines.push(`${name}${labels} ${Number.isFinite(value) ? value : 0}`);
  }

  text(): string {
    return `${this.lines.join('\n')}\n`;
  }
}

/** A label value in the text format: backslash, quote and newline escaped. */
const label = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

const QUEUE_GAUGES: readonly [string, string, (q: Queue) => number][] = [
  ['rabbitmq_queue_messages_ready', 'Messages ready to be delivered to consumers', (q) => q.messageCount],
  ['rabbitmq_queue_messages_unacked', 'Messages delivered to consumers but not yet acknowledged', (q) => q.unackedCount],
  ['rabbitmq_queue_messages', 'Sum of ready and unacknowledged messages - total queue depth', (q) => q.messageCount + q.unackedCount],
  ['rabbitmq_queue_messages_ready_bytes', 'Size in bytes of ready messages', (q) => q.messageBytes],
  ['rabbitmq_queue_consumers', 'Consumers on a queue', (q) => q.consumerCount],
];

function openFds(): number {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return 0;
  }
}

function diskFree(dir: string): number {
  try {
    const s = statfsSync(dir);
    return s.bavail * s.bsize;
  } catch {
    return 0;
  }
}

const QUEUE_TYPES: readonly QueueType[] = ['classic', 'quorum', 'stream'];

/** The queues' totals by queue type (RabbitMQ labels the delivery counters queue_type="rabbit_<type>_queue"). */
function globals(broker: Broker): { byType: Map<QueueType, QueueCounters>; published: number } {
  const byType = new Map(QUEUE_TYPES.map((t) => [t, new QueueCounters()]));
  let published = 0;
  for (const v of broker.vhosts.values()) {
    published += v.published;
    for (const [t, d] of v.deletedQueueCounters) byType.get(t)!.add(d);
    for (const q of v.queues.values()) byType.get(q.type)!.add(q.counters);
  }
  return { byType, published };
}

function nodeMetrics(e: Exposition, broker: Broker, nodeName: string, perObject: boolean): void {
  const alarms = broker.alarms;
  // The alarms are on the aggregated endpoint only, as rabbitmq_prometheus has them.
  if (!perObject) {
    e.metric('rabbitmq_alarms_free_disk_space_watermark', 'untyped', 'is 1 if free disk space alarm is in effect', [['', alarms.has('disk') ? 1 : 0]]);
    e.metric('rabbitmq_alarms_memory_used_watermark', 'untyped', 'is 1 if VM memory watermark alarm is in effect', [['', alarms.has('memory') ? 1 : 0]]);
  }
  e.metric('rabbitmq_process_open_fds', 'gauge', 'Open file descriptors', [['', openFds()]]);
  e.metric('rabbitmq_process_resident_memory_bytes', 'gauge', 'Memory used in bytes', [['', process.memoryUsage.rss()]]);
  e.metric('rabbitmq_resident_memory_limit_bytes', 'gauge', 'Memory high watermark in bytes', [['', Math.floor(totalmem() * 0.4)]]);
  e.metric('rabbitmq_disk_space_available_bytes', 'gauge', 'Disk space available in bytes', [['', diskFree(broker.config.dataDir)]]);
  e.metric('rabbitmq_disk_space_available_limit_bytes', 'gauge', 'Free disk space low watermark in bytes', [['', broker.config.diskFreeLimit]]);
  e.metric('rabbitmq_erlang_uptime_seconds', 'gauge', 'Node uptime', [['', process.uptime()]]);
  const version = broker.personality.identity?.version ?? broker.personality.release;
  e.metric('rabbitmq_build_info', 'untyped', 'RabbitMQ & Erlang/OTP version info', [[`{rabbitmq_version="${label(version)}",prometheus_plugin_version="${label(version)}",prometheus_client_version="warren",erlang_version="${label(process.version)}"}`, 1]]);
  e.metric('rabbitmq_identity_info', 'untyped', 'RabbitMQ node & cluster identity info', [[`{rabbitmq_node="${label(nodeName)}",rabbitmq_cluster="${label(nodeName)}",rabbitmq_cluster_permanent_id="${label(nodeName)}"}`, 1]]);
}

function totals(e: Exposition, broker: Broker): void {
  let connections = 0;
  let channels = 0;
  for (const c of broker.connections) {
    if (c.state !== 'running') continue;
    connections++;
    channels += c.channels.size;
  }
  let queues = 0;
  let consumers = 0;
  for (const v of broker.vhosts.values()) {
    queues += v.queues.size;
    for (const q of v.queues.values()) consumers += q.consumerCount;
  }
  e.metric('rabbitmq_connections', 'gauge', 'Connections currently open', [['', connections]]);
  e.metric('rabbitmq_channels', 'gauge', 'Channels currently open', [['', channels]]);
  e.metric('rabbitmq_consumers', 'gauge', 'Consumers currently connected', [['', consumers]]);
  e.metric('rabbitmq_queues', 'gauge', 'Queues available', [['', queues]]);
  const { byType, published } = globals(broker);
  const p = '{protocol="amqp091"}';
  e.metric('rabbitmq_global_consumers', 'gauge', 'Current number of consumers', [[p, consumers]]);
  e.metric('rabbitmq_global_messages_received_total', 'counter', 'Total number of messages received from publishers', [[p, published]]);
  const typed = (f: (c: QueueCounters) => number): [string, number][] =>
    QUEUE_TYPES.map((t) => [`{protocol="amqp091",queue_type="rabbit_${t}_queue"}`, f(byType.get(t)!)]);
  e.metric('rabbitmq_global_messages_delivered_total', 'counter', 'Total number of messages delivered to consumers', typed((c) => c.deliver + c.deliverNoAck + c.get + c.getNoAck));
  e.metric('rabbitmq_global_messages_delivered_consume_manual_ack_total', 'counter', 'Total number of messages delivered to consumers using basic.consume with manual acknowledgment', typed((c) => c.deliver));
  e.metric('rabbitmq_global_messages_delivered_consume_auto_ack_total', 'counter', 'Total number of messages delivered to consumers using basic.consume with automatic acknowledgment', typed((c) => c.deliverNoAck));
  e.metric('rabbitmq_global_messages_delivered_get_manual_ack_total', 'counter', 'Total number of messages delivered to consumers using basic.get with manual acknowledgment', typed((c) => c.get));
  e.metric('rabbitmq_global_messages_delivered_get_auto_ack_total', 'counter', 'Total number of messages delivered to consumers using basic.get with automatic acknowledgment', typed((c) => c.getNoAck));
  e.metric('rabbitmq_global_messages_get_empty_total', 'counter', 'Total number of times basic.get operations fetched no message', typed((c) => c.getEmpty));
  e.metric('rabbitmq_global_messages_redelivered_total', 'counter', 'Total number of messages redelivered to consumers', typed((c) => c.redeliver));
  e.metric('rabbitmq_global_messages_acknowledged_total', 'counter', 'Total number of message acknowledgements received from consumers', typed((c) => c.ack));
}

/** Queue metrics: summed without labels (aggregated), or one series per queue with vhost and queue labels. */
function queueMetrics(e: Exposition, broker: Broker, perObject: boolean): void {
  const all = [...broker.vhosts.values()].flatMap((v) => [...v.queues.values()]);
  const series = (f: (q: Queue) => number): [string, number][] =>
    perObject ? all.map((q) => [`{vhost="${label(q.vhost)}",queue="${label(q.name)}"}`, f(q)]) : [['', all.reduce((n, q) => n + f(q), 0)]];
  for (const [name, help, f] of QUEUE_GAUGES) e.metric(name, 'gauge', help, series(f));
  // Per object, RabbitMQ has this per channel, queue and exchange (a channel's publishes): not kept here.
  if (!perObject) e.metric('rabbitmq_queue_messages_published_total', 'counter', 'Total number of messages published to queues', series((q) => q.counters.publish));
}

/** Logins by protocol (rabbit_core_metrics' auth attempts; amqp091 always listed, the others once tried), on both endpoints as in RabbitMQ. */
function authAttemptMetrics(e: Exposition, broker: Broker): void {
  const attempts = broker.authAttempts.list();
  if (!attempts.some((a) => a.protocol === 'amqp091')) attempts.unshift({ protocol: 'amqp091', succeeded: 0, failed: 0 });
  const series = (f: (a: (typeof attempts)[number]) => number): [string, number][] => attempts.map((a) => [`{protocol="${a.protocol}"}`, f(a)]);
  e.metric('rabbitmq_auth_attempts_total', 'counter', 'Total number of authorization attempts', series((a) => a.succeeded + a.failed));
  e.metric('rabbitmq_auth_attempts_succeeded_total', 'counter', 'Total number of successful authentication attempts', series((a) => a.succeeded));
  e.metric('rabbitmq_auth_attempts_failed_total', 'counter', 'Total number of failed authentication attempts', series((a) => a.failed));
}

export function metricsText(broker: Broker, nodeName: string, perObject: boolean): string {
  const e = new Exposition();
  nodeMetrics(e, broker, nodeName, perObject);
  totals(e, broker);
  authAttemptMetrics(e, broker);
  queueMetrics(e, broker, perObject);
  return e.text();
}
