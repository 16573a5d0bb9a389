/**
 * The Prometheus endpoint on its own port, as rabbitmq_prometheus serves it (no authentication):
 * GET /metrics (aggregated) and GET /metrics/per-object (a series per queue).
 */
import Fastify, { LogController } from 'fastify';
import type { Server } from 'node:http';
import type { Logger } from 'pino';
import type { LoadedApp, RequestHandler } from '../util/lazy-http.js';
import type { Broker } from '../broker.js';
import { metricsText } from './prometheus-metrics.js';

export interface PrometheusServer {
  readonly port: number;
  close(): Promise<void>;
}

const CONTENT_TYPE = 'text/plain; version=0.0.4';

/** The endpoint as the handler of `server`, bound already (loaded at its first request, as the API). */
export async function prometheusApi(broker: Broker, options: { log: Logger; nodeName: string }, server: Server): Promise<LoadedApp> {
  let handler: RequestHandler | undefined;
  const serverFactory = (h: RequestHandler) => {
    handler = h;
    return server;
  };
  const app = Fastify({ serverFactory, loggerInstance: options.log.child({ component: 'prometheus' }), logController: new LogController({ disableRequestLogging: true }) });
  app.get('/metrics', (_req, reply) => reply.type(CONTENT_TYPE).send(metricsText(broker, options.nodeName, false)));
  app.get('/metrics/per-object', (_req, reply) => reply.type(CONTENT_TYPE).send(metricsText(broker, options.nodeName, true)));
  await app.ready();
  return { handler: handler!, close: () => app.close() };
}
