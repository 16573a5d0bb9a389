/**
 * Login attempts by protocol (rabbit_mgmt_wm_auth_attempts): what a failed-login alert reads. Per
 * source (`/source`) RabbitMQ keeps them only with track_auth_attempt_source on, which Warren has not:
 * an empty list, as 3.10.8 answers by default.
 */
import type { JsonValue } from '../../util/json.js';
import type { ManagementContext } from '../context.js';
import { objectNotFound } from '../http-errors.js';
import type { ApiRequest, Route } from '../route.js';

function attempts(ctx: ManagementContext, req: ApiRequest): JsonValue {
  if (req.params.node !== ctx.nodeName) throw objectNotFound();
  return ctx.broker.authAttempts.list().map((a) => ({
    protocol: a.protocol,
    auth_attempts: a.succeeded + a.failed,
    auth_attempts_failed: a.failed,
    auth_attempts_succeeded: a.succeeded,
  }));
}

export const authAttemptRoutes: readonly Route[] = [
  { method: 'GET', url: '/api/auth/attempts/:node', level: 'monitoring', handler: attempts },
  {
    method: 'GET',
    url: '/api/auth/attempts/:node/source',
    level: 'monitoring',
    handler: (c, r) => {
      if (r.params.node !== c.nodeName) throw objectNotFound();
      return [];
    },
  },
];
