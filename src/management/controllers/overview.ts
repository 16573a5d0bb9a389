/**
 * The node and the whole broker (rabbit_mgmt_wm_overview, _nodes, _node, _extensions, _auth,
 * _cluster_name, _whoami lives with the users): what the UI's first page and `rabbitmqadmin show
 * overview` read.
 */
import { cpus, totalmem } from 'node:os';
import type { JsonValue } from '../../util/json.js';
import type { ManagementContext } from '../context.js';
import { objectNotFound } from '../http-errors.js';
import type { ApiRequest, Route } from '../route.js';
import { visibleVhosts } from '../vhost-scope.js';

const EXCHANGE_TYPES = [
  { name: 'direct', description: 'AMQP direct exchange, as per the AMQP specification', enabled: true },
  { name: 'fanout', description: 'AMQP fanout exchange, as per the AMQP specification', enabled: true },
  { name: 'headers', description: 'AMQP headers exchange, as per the AMQP specification', enabled: true },
  { name: 'topic', description: 'AMQP topic exchange, as per the AMQP specification', enabled: true },
];

/** The version the API reports: the imitated release's (3.10.8 under --rabbitmq-version 3.10). */
function version(ctx: ManagementContext): string {
  return ctx.broker.personality.identity?.version ?? ctx.broker.personality.release;
}

const rate = (r: number) => ({ rate: Math.round(r * 10) / 10 });

function overview(ctx: ManagementContext, req: ApiRequest): JsonValue {
  const vhosts = visibleVhosts(ctx, req.user);
  let queues = 0;
  let exchanges = 0;
  let consumers = 0;
  let ready = 0;
  let unacked = 0;
  for (const v of vhosts) {
    queues += v.queues.size;
    exchanges += v.exchanges.size;
    for (const q of v.queues.values()) {
      consumers += q.consumerCount;
      ready += q.messageCount;
      unacked += q.unackedCount;
    }
  }
  let connections = 0;
  let channels = 0;
  for (const c of ctx.broker.connections) {
    if (c.state !== 'running') continue;
    connections++;
    channels += c.channels.size;
  }
  const depth = ctx.stats.totalDepthRates();
  const v = version(ctx);
  return {
    management_version: v,
    rates_mode: 'basic',
    sample_retention_policies: { global: [600, 3600, 28800, 86400], basic: [600, 3600], detailed: [600] },
    exchange_types: EXCHANGE_TYPES,
    product_version: v,
    product_name: ctx.broker.personality.identity === undefined ? 'Warren' : 'RabbitMQ',
    rabbitmq_version: v,
    cluster_name: ctx.nodeName,
    erlang_version: process.version,
    erlang_full_version: `Node.js ${process.version}`,
    disable_stats: false,
    enable_queue_totals: false,
    message_stats: ctx.stats.overviewMessageStats(),
    queue_totals: {
      messages: ready + unacked,
      messages_details: rate(depth.messages),
      messages_ready: ready,
      messages_ready_details: rate(depth.ready),
      messages_unacknowledged: unacked,
      messages_unacknowledged_details: rate(depth.unacked),
    },
    object_totals: { channels, connections, consumers, exchanges, queues },
    statistics_db_event_queue: 0,
    node: ctx.nodeName,
    listeners: ctx.listeners().map((l) => ({ node: ctx.nodeName, protocol: l.protocol, ip_address: l.ipAddress, port: l.port })),
    contexts: [{ node: ctx.nodeName, description: 'RabbitMQ Management', path: '/', port: String(ctx.listeners().find((l) => l.protocol === 'http')?.port ?? '') }],
  };
}

function node(ctx: ManagementContext): JsonValue {
  const alarms = ctx.broker.alarms;
  const memory = process.memoryUsage();
  return {
    name: ctx.nodeName,
    type: 'disc',
    running: true,
    os_pid: String(process.pid),
    mem_used: memory.rss,
    mem_limit: Math.floor(totalmem() * 0.4),
    mem_alarm: alarms.has('memory'),
    disk_free_limit: ctx.broker.config.diskFreeLimit,
    disk_free_alarm: alarms.has('disk'),
    processors: cpus().length,
    uptime: Math.round(process.uptime() * 1000),
    rates_mode: 'basic',
    exchange_types: EXCHANGE_TYPES,
    partitions: [],
    being_drained: false,
  };
}

export const overviewRoutes: readonly Route[] = [
  { method: 'GET', url: '/api/overview', handler: overview },
  { method: 'GET', url: '/api/nodes', level: 'monitoring', handler: (c) => [node(c)] },
  {
    method: 'GET',
    url: '/api/nodes/:node',
    level: 'monitoring',
    handler: (c, r) => {
      if (r.params.node !== c.nodeName) throw objectNotFound();
      return node(c);
    },
  },
  { method: 'GET', url: '/api/cluster-name', handler: (c) => ({ name: c.nodeName }) },
  { method: 'GET', url: '/api/extensions', handler: () => [] },
  // The UI asks before anyone logs in whether OAuth 2 is set up: it is not.
  { method: 'GET', url: '/api/auth', open: true, handler: () => ({ enable_uaa: false, uaa_client_id: '', uaa_location: '' }) },
];

