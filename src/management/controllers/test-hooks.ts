/**
 * The test hooks over HTTP (broker/test-hooks.ts), for test suites in any language: under
 * /api/test/, only when the broker runs with --test-hooks (else 404, as for any unknown path), and
 * only for administrators. Waits answer when their condition holds, or 408 with the reason when
 * their `timeout` (ms) runs out.
 *
 * An outcome must be watched before the message is settled: POST /api/test/watches registers the
 * watch and answers its id at once; GET /api/test/watches/{id} then waits for (or returns) the outcome.
 */
import type { Broker } from '../../broker.js';
import { TestHookError, TestHookTimeout, testHooksOf, type OutcomeReport, type OutcomeWatch, type TestHooks } from '../../broker/test-hooks.js';
import type { JsonValue } from '../../util/json.js';
import type { ManagementContext } from '../context.js';
import { HttpError, badRequest, notFound, objectNotFound } from '../http-errors.js';
import { propertiesFromJson } from '../message-properties.js';
import { bodyObject, intField, stringField, type JsonObject } from '../request-body.js';
import { Answer, noContent, type ApiRequest, type Route } from '../route.js';
import { connectionName } from '../views.js';

/** How long an HTTP watch waits for its outcome unless the POST says (ms). */
const WATCH_TIMEOUT_MS = 30_000;
/** The longest wait one request may ask for (ms). */
const MAX_WAIT_MS = 600_000;

interface HttpWatch {
  readonly watch: OutcomeWatch;
  failure: string | undefined;
}

const watchesByBroker = new WeakMap<Broker, Map<string, HttpWatch>>();
let nextWatchId = 1;

function watches(broker: Broker): Map<string, HttpWatch> {
  let m = watchesByBroker.get(broker);
  if (m === undefined) watchesByBroker.set(broker, (m = new Map()));
  return m;
}

/** The hooks, when the broker serves them; otherwise the path does not exist. */
function hooks(ctx: ManagementContext): TestHooks {
  if (!ctx.broker.config.testHooks) throw objectNotFound();
  return testHooksOf(ctx.broker);
}

const timeoutError = (message: string) => new HttpError(408, 'timeout', message);

/** The hooks' errors as HTTP answers: missing things 404, bad requests 400, waits that ran out 408. */
async function answering<T>(f: () => T | Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    if (e instanceof TestHookTimeout) throw timeoutError(e.message);
    if (e instanceof TestHookError) throw e.kind === 'not_found' ? notFound(e.message) : badRequest(e.message);
    throw e;
  }
}

function timeoutParam(q: Readonly<Record<string, unknown>>, dflt: number): number {
  const t = q.timeout;
  if (t === undefined) return dflt;
  if (typeof t !== 'string' || !/^\d+$/.test(t) || Number(t) > MAX_WAIT_MS) throw badRequest(`timeout must be a number of ms up to ${MAX_WAIT_MS}`);
  return Number(t);
}

function reportJson(r: OutcomeReport): JsonObject {
  const out: JsonObject = { outcome: r.outcome, vhost: r.vhost, queue: r.queue };
  if (r.requeued !== undefined) out.requeued = r.requeued;
  if (r.reason !== undefined) out.reason = r.reason;
  if (r.messageId !== undefined) out.message_id = r.messageId;
  if (r.correlationId !== undefined) out.correlation_id = r.correlationId;
  return out;
}

async function waitForMessages(ctx: ManagementContext, req: ApiRequest): Promise<JsonValue> {
  const h = hooks(ctx);
  const count = intField(req.query as JsonObject, 'count', 1);
  const exactly = req.query.exactly === 'true';
  const timeoutMs = timeoutParam(req.query, 5000);
  const n = await answering(() => h.waitForMessages(req.params.name!, count, { vhost: req.params.vhost!, timeoutMs, exactly }));
  return { messages_ready: n };
}

function matchOf(body: JsonObject, timeoutMs: number) {
  const optional = (key: string) => (body[key] === undefined ? undefined : stringField(body, key, ''));
  return { vhost: stringField(body, 'vhost', '/'), queue: optional('queue'), messageId: optional('message_id'), correlationId: optional('correlation_id'), timeoutMs };
}

async function createWatch(ctx: ManagementContext, req: ApiRequest): Promise<Answer> {
  const h = hooks(ctx);
  const body = bodyObject(req.body);
  const timeoutMs = intField(body, 'timeout', WATCH_TIMEOUT_MS, MAX_WAIT_MS);
  const watch = await answering(() => h.watchOutcome(matchOf(body, timeoutMs)));
  const id = String(nextWatchId++);
  const entry: HttpWatch = { watch, failure: undefined };
  const all = watches(ctx.broker);
  all.set(id, entry);
  // Kept a minute after it settles, for the GET that fetches it; then forgotten.
  const forget = () => setTimeout(() => all.delete(id), 60_000).unref();
  watch.result.then(forget, (e: Error) => {
    entry.failure = e.message;
    forget();
  });
  return new Answer(201, { id }, { location: `/api/test/watches/${id}` });
}

async function getWatch(ctx: ManagementContext, req: ApiRequest): Promise<JsonValue> {
  hooks(ctx);
  const entry = watches(ctx.broker).get(req.params.id!);
  if (entry === undefined) throw objectNotFound();
  if (entry.watch.outcome !== undefined) return reportJson(entry.watch.outcome);
  if (entry.failure !== undefined) throw timeoutError(entry.failure);
  const waitMs = timeoutParam(req.query, MAX_WAIT_MS);
  let timer: NodeJS.Timeout | undefined;
  const cut = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), waitMs)));
  try {
    const r = await Promise.race([entry.watch.result, cut]);
    if (r === undefined) throw timeoutError(`no outcome yet after ${waitMs} ms`);
    return reportJson(r);
  } catch (e) {
    if (e instanceof HttpError) throw e;
    throw timeoutError((e as Error).message);
  } finally {
    clearTimeout(timer);
  }
}

function deleteWatch(ctx: ManagementContext, req: ApiRequest): Answer {
  hooks(ctx);
  const all = watches(ctx.broker);
  const entry = all.get(req.params.id!);
  if (entry === undefined) throw objectNotFound();
  entry.watch.cancel();
  all.delete(req.params.id!);
  return noContent();
}

function payloadOf(body: JsonObject): Buffer {
  const payload = stringField(body, 'payload', '');
  const encoding = stringField(body, 'payload_encoding', 'string');
  if (encoding === 'string') return Buffer.from(payload, 'utf8');
  if (encoding !== 'base64' || !/^[A-Za-z0-9+/]*={0,2}$/.test(payload) || payload.length % 4 !== 0) throw badRequest('payload_encoding must be string, or base64 with a base64 payload');
  return Buffer.from(payload, 'base64');
}

async function inject(ctx: ManagementContext, req: ApiRequest): Promise<Answer> {
  const h = hooks(ctx);
  const body = bodyObject(req.body);
  const properties = propertiesFromJson(body.properties);
  const payload = payloadOf(body);
  if (payload.length > ctx.broker.config.maxMessageSize) throw badRequest(`message size ${payload.length} is larger than max size ${ctx.broker.config.maxMessageSize}`);
  const routingKey = body.routing_key === undefined ? undefined : stringField(body, 'routing_key', '');
  await answering(() => h.injectMessage(req.params.name!, payload, { vhost: req.params.vhost!, properties, routingKey }));
  return noContent();
}

async function closeConnection(ctx: ManagementContext, req: ApiRequest): Promise<Answer> {
  const h = hooks(ctx);
  const body = bodyObject(req.body);
  const code = intField(body, 'code', 320, 999);
  const text = stringField(body, 'text', 'closed by a test hook');
  const conn = [...ctx.broker.connections].find((c) => c.state === 'running' && connectionName(c) === req.params.name);
  if (conn === undefined) throw objectNotFound();
  await answering(() => h.closeConnection(conn, code, text));
  return noContent();
}

function alarm(ctx: ManagementContext, req: ApiRequest, raise: boolean): Answer {
  const h = hooks(ctx);
  const resource = req.params.resource;
  if (resource !== 'memory' && resource !== 'disk') throw badRequest('the alarm is memory or disk');
  if (raise) h.raiseAlarm(resource);
  else h.clearAlarm(resource);
  return noContent();
}

async function resetVhost(ctx: ManagementContext, req: ApiRequest): Promise<JsonValue> {
  const h = hooks(ctx);
  return answering(() => h.resetVhost(req.params.vhost!));
}

const ADMIN = 'administrator' as const;

export const testHookRoutes: readonly Route[] = [
  { method: 'GET', url: '/api/test/queues/:vhost/:name/wait', level: ADMIN, handler: waitForMessages },
  { method: 'POST', url: '/api/test/queues/:vhost/:name/inject', level: ADMIN, handler: inject },
  { method: 'POST', url: '/api/test/watches', level: ADMIN, handler: createWatch },
  { method: 'GET', url: '/api/test/watches/:id', level: ADMIN, handler: getWatch },
  { method: 'DELETE', url: '/api/test/watches/:id', level: ADMIN, handler: deleteWatch },
  { method: 'POST', url: '/api/test/connections/:name/close', level: ADMIN, handler: closeConnection },
  { method: 'PUT', url: '/api/test/alarms/:resource', level: ADMIN, handler: (c, r) => alarm(c, r, true) },
  { method: 'DELETE', url: '/api/test/alarms/:resource', level: ADMIN, handler: (c, r) => alarm(c, r, false) },
  { method: 'POST', url: '/api/test/vhosts/:vhost/reset', level: ADMIN, handler: resetVhost },
];
