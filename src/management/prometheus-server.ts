/**
 * The Prometheus endpoint on its own port, as rabbitmq_prometheus serves it (no authentication):
 * GET /metrics (aggregated) and GET /metrics/per-object (a series per queue).
 */
import Fastify, { LogController } from 'fastify';
import type { Logger } from 'pino';
import type { Broker } from '../broker.js';
import { metricsText } from './prometheus-metrics.js';

export interface PrometheusServer {
  readonly port: number;
  close(): Promise<void>;
}

const CONTENT_TYPE = 'text/plain; version=0.0.4';

export async function startPrometheusServer(broker: Broker, options: { port: number; host: string; log: Logger; nodeName: string }): Promise<PrometheusServer> {
  const app = Fastify({ loggerInstance: options.log.child({ component: 'prometheus' }), logController: new LogController({ disableRequestLogging: true }) });
  app.get('/metrics', (_req, reply) => reply.type(CONTENT_TYPE).send(metricsText(broker, options.nodeName, false)));
  app.get('/metrics/per-object', (_req, reply) => reply.type(CONTENT_TYPE).send(metricsText(broker, options.nodeName, true)));
  await app.listen({ port: options.port, host: options.host });
  const address = app.server.address();
  return {
    port: address !== null && typeof address === 'object' ? address.port : options.port,
    close: () => app.close(),
  };
}
