/**
 * Health checks (rabbit_mgmt_wm_health_check_*, rabbit_mgmt_wm_aliveness_test): what compose files
 * and Kubernetes probes call. A failed check is 503 with RabbitMQ's body; a passed one 200
 * {"status":"ok"}.
 */
import { Message, scanProperties } from '../../message/message.js';
import type { ManagementContext } from '../context.js';
import { badRequest, objectNotFound } from '../http-errors.js';
import { Answer, type ApiRequest, type Route } from '../route.js';
import { vhostFor } from '../vhost-scope.js';

/**
 * RabbitMQ writes these bodies from proplists, keys in the order given (not the sorted order of
 * its maps), so they are written here with JSON.stringify's insertion order.
 */
const ordered = (status: number, body: Record<string, unknown>) => new Answer(status, JSON.stringify(body), { 'content-type': 'application/json' });
const OK = () => ordered(200, { status: 'ok' });

function alarms(ctx: ManagementContext, scope: 'cluster' | 'node'): Answer {
  const active = ctx.broker.alarms.list();
  if (active.length === 0) return OK();
  return ordered(503, {
    status: 'failed',
    reason: scope === 'cluster' ? 'There are alarms in effect in the cluster' : 'There are alarms in effect on the node',
    alarms: active.map((resource) => ({ node: ctx.nodeName, resource })),
  });
}

function portListener(ctx: ManagementContext, req: ApiRequest): Answer {
  const text = req.params.port!;
  const port = /^\d{1,5}$/.test(text) ? Number(text) : Number.NaN;
  if (!(port >= 0 && port <= 65535)) throw badRequest('Invalid port');
  const ports = ctx.listeners().map((l) => l.port);
  if (ports.includes(port)) return ordered(200, { status: 'ok', port });
  return ordered(503, { status: 'failed', reason: 'No active listener', missing: port, ports: [...ports].sort((a, b) => a - b) });
}

const PROTOCOLS: Record<string, string> = { amqp: 'amqp', 'amqp/ssl': 'amqp/ssl', amqps: 'amqp/ssl', http: 'http', https: 'https' };

function protocolListener(ctx: ManagementContext, req: ApiRequest): Answer {
  const asked = req.params.protocol!;
  const protocol = PROTOCOLS[asked.toLowerCase()];
  const protocols = [...new Set(ctx.listeners().map((l) => l.protocol))];
  if (protocol !== undefined && protocols.includes(protocol as never)) return ordered(200, { status: 'ok', protocol });
  return ordered(503, { status: 'failed', reason: 'No active listener', missing: asked, protocols });
}

/**
 * rabbit_mgmt_wm_aliveness_test: declares the queue aliveness-test in the vhost (it stays, as in
 * RabbitMQ), publishes a message to it through the default exchange and takes it back.
 */
function aliveness(ctx: ManagementContext, req: ApiRequest): Answer {
  // A missing vhost is a missing resource here (resource_exists/2), not vhost_not_found.
  if (ctx.broker.access.vhost(req.params.vhost!) === undefined) throw objectNotFound();
  const v = vhostFor(ctx, req.user, req.params.vhost!, 'act');
  const q = v.declareQueue({ name: 'aliveness-test', passive: false, durable: false, exclusive: false, autoDelete: false, arguments: new Map(), connectionId: 0 });
  const properties = Buffer.from([0, 0]);
  const msg = new Message('', q.name, properties, Buffer.from('test_message'));
  scanProperties(msg, properties);
  v.publish(v.exchangeForPublish(''), q.name, undefined, msg, undefined, undefined);
  const e = q.get(true);
  if (e === undefined || e.msg?.body.toString() !== 'test_message') return ordered(503, { status: 'failed', reason: 'aliveness-test message not received' });
  return OK();
}

export const healthRoutes: readonly Route[] = [
  { method: 'GET', url: '/api/aliveness-test/:vhost', handler: aliveness },
  { method: 'GET', url: '/api/health/checks/alarms', handler: (c) => alarms(c, 'cluster') },
  { method: 'GET', url: '/api/health/checks/local-alarms', handler: (c) => alarms(c, 'node') },
  { method: 'GET', url: '/api/health/checks/port-listener/:port', handler: portListener },
  { method: 'GET', url: '/api/health/checks/protocol-listener/:protocol', handler: protocolListener },
  { method: 'GET', url: '/api/health/checks/virtual-hosts', handler: OK },
  { method: 'GET', url: '/api/health/checks/node-is-quorum-critical', handler: () => ordered(200, { status: 'ok', reason: 'single node cluster' }) },
  { method: 'GET', url: '/api/health/checks/node-is-mirror-sync-critical', handler: () => ordered(200, { status: 'ok', reason: 'single node cluster' }) },
];
