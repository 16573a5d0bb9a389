/**
 * The management HTTP API's server: fastify (a well-kept HTTP server with body limits and routing),
 * one route table assembled from the controllers, Basic authentication and the tag rules on every
 * route, and RabbitMQ's error answers. Bodies are taken as text and parsed by the controllers
 * (request-body.ts); replies are written with the project's JSON writer, which keeps exact integers.
 */
import Fastify, { LogController, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { AccessDatabaseError } from '../access/access-database.js';
import type { Broker } from '../broker.js';
import { AmqpError } from '../errors.js';
import { writeJson, type JsonValue } from '../util/json.js';
import { authenticate, requireLevel } from './auth.js';
import type { Listener, ManagementContext } from './context.js';
import { accessRoutes } from './controllers/access.js';
import { bindingRoutes } from './controllers/bindings.js';
import { connectionRoutes } from './controllers/connections.js';
import { definitionsRoutes } from './controllers/definitions.js';
import { exchangeRoutes } from './controllers/exchanges.js';
import { healthRoutes } from './controllers/health.js';
import { limitRoutes } from './controllers/limits.js';
import { overviewRoutes } from './controllers/overview.js';
import { policyRoutes } from './controllers/policies.js';
import { queueRoutes } from './controllers/queues.js';
import { testHookRoutes } from './controllers/test-hooks.js';
import { HttpError, badRequest, fromAmqpError, notFound, objectNotFound } from './http-errors.js';
import { Answer, type Route } from './route.js';
import { StatsSampler } from './stats-sampler.js';

/** RabbitMQ's management.http.max_body_size default (rabbit_mgmt_util: 20 MB); larger bodies get 413. */
const MAX_BODY_BYTES = 20_000_000;

const ROUTES: readonly Route[] = [
  ...overviewRoutes,
  ...healthRoutes,
  ...accessRoutes,
  ...queueRoutes,
  ...exchangeRoutes,
  ...bindingRoutes,
  ...connectionRoutes,
  ...policyRoutes,
  ...definitionsRoutes,
  ...limitRoutes,
  ...testHookRoutes,
];

const NOBODY = { name: '', tags: [] as readonly string[] };

function send(reply: FastifyReply, status: number, body: JsonValue | string | undefined, headers: Readonly<Record<string, string>> = {}): void {
  reply.status(status).headers(headers);
  if (body === undefined) {
    reply.send();
    return;
  }
  reply.type('application/json').send(typeof body === 'string' ? body : writeJson(body));
}

/** The error a thrown value answers with: the model's errors as RabbitMQ's HTTP layer maps them. */
function httpErrorOf(e: unknown): HttpError | undefined {
  if (e instanceof HttpError) return e;
  if (e instanceof AmqpError) return fromAmqpError(e);
  if (e instanceof AccessDatabaseError) return e.reason === 'no_such_vhost' || e.reason === 'no_such_user' ? notFound(e.message) : badRequest(e.message);
  const status = (e as { statusCode?: unknown }).statusCode;
  if (typeof status === 'number' && status === 413) return new HttpError(413, 'bad_request', 'payload too large');
  if (typeof status === 'number' && status >= 400 && status < 500) return badRequest((e as Error).message);
  return undefined;
}

function routeHandler(ctx: ManagementContext, route: Route) {
  return async (req: FastifyRequest, reply: FastifyReply) => {
    const user = route.open ? NOBODY : authenticate(ctx.broker.access, req.headers.authorization, req.socket.remoteAddress);
    if (route.level !== undefined) requireLevel(user, route.level);
    const result = await route.handler(ctx, {
      user,
      params: req.params as Record<string, string>,
      query: req.query as Record<string, string>,
      body: req.body,
      headers: req.headers,
    });
    if (result instanceof Answer) send(reply, result.status, result.body, result.headers);
    else send(reply, 200, result);
  };
}

/** The application, not listening yet. */
function managementApp(ctx: ManagementContext, log: Logger) {
  const app = Fastify({
    loggerInstance: log.child({ component: 'management' }),
    // No line per request: the broker's log is about the broker.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: MAX_BODY_BYTES,
    // Queue and exchange names are up to 255 bytes, three times that percent-encoded.
    routerOptions: { maxParamLength: 2048, ignoreTrailingSlash: true },
  });
  app.removeAllContentTypeParsers();
  // Whatever the declared type (rabbitmqadmin and curl differ), the body is text for the controllers to parse.
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));
  for (const route of ROUTES) app.route({ method: route.method, url: route.url, handler: routeHandler(ctx, route) });
  app.setNotFoundHandler((_req, reply) => send(reply, 404, objectNotFound().body));
  app.setErrorHandler((e, _req, reply) => {
    const h = httpErrorOf(e);
    if (h === undefined) {
      reply.log.error({ err: e }, 'management request failed');
      send(reply, 500, { error: 'internal_server_error', reason: 'internal error' });
      return;
    }
    send(reply, h.status, h.error === '' ? undefined : h.body, h.headers);
  });
  return app;
}

/** The node name the API and the metrics report: rabbit@host when imitating a RabbitMQ release, else warren@host. */
export function apiNodeName(broker: Broker): string {
  return broker.personality.identity === undefined ? broker.nodeName : broker.nodeName.replace(/^warren@/, 'rabbit@');
}

export interface ManagementServer {
  readonly port: number;
  readonly host: string;
  close(): Promise<void>;
}

/**
 * Starts the API on `port` (0: a free one) and its statistics sampler. `listeners` tells the
 * health checks and the overview which ports the node serves. Listen errors are thrown as they
 * come (the caller names the flag to change).
 */
export async function startManagementServer(
  broker: Broker,
  options: { port: number; host: string; log: Logger; listeners: () => readonly Listener[] },
): Promise<ManagementServer> {
  const stats = new StatsSampler(broker);
  let bound = { port: options.port, host: options.host };
  const ctx: ManagementContext = {
    broker,
    stats,
    nodeName: apiNodeName(broker),
    listeners: () => [...options.listeners(), { protocol: 'http', port: bound.port, ipAddress: bound.host }],
  };
  const app = managementApp(ctx, options.log);
  await app.listen({ port: options.port, host: options.host });
  const address = app.server.address();
  if (address !== null && typeof address === 'object') bound = { port: address.port, host: address.address };
  stats.start();
  return {
    port: bound.port,
    host: bound.host,
    async close() {
      stats.stop();
      await app.close();
    },
  };
}
