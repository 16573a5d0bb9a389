/**
 * The management API's error answers, as rabbit_mgmt_util writes them: a status and a JSON body
 * `{"error": ..., "reason": ...}`. AMQP errors from the broker model (the same checks a channel
 * makes) become the status RabbitMQ's HTTP layer gives them.
 */
import type { AmqpError } from '../errors.js';
import type { JsonValue } from '../util/json.js';

export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    readonly status: number,
    readonly error: string,
    readonly reason: JsonValue,
    /** Extra headers (WWW-Authenticate on a 401). */
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(typeof reason === 'string' ? reason : error);
  }

  get body(): JsonValue {
    return { error: this.error, reason: this.reason };
  }
}

/** rabbit_mgmt_util:not_found/3 for a path that names nothing. */
export const objectNotFound = () => new HttpError(404, 'Object Not Found', 'Not Found');
export const notFound = (reason: string) => new HttpError(404, 'not_found', reason);
export const badRequest = (reason: JsonValue) => new HttpError(400, 'bad_request', reason);
export const REALM = 'Basic realm="RabbitMQ Management"';
export const notAuthorised = (reason: string) => new HttpError(401, 'not_authorised', reason, { 'www-authenticate': REALM });

/**
 * An AMQP error thrown by the model for an HTTP request, as rabbit_mgmt_util turns a channel's
 * server-initiated close into an answer: 403 access-refused is "not_authorised", 404 a not_found
 * with the text, anything else (406 inequivalent arguments, 405 locked, 530 ...) a bad_request.
 */
export function fromAmqpError(e: AmqpError): HttpError {
  if (e.code === 403) return notAuthorised(e.explanation);
  if (e.code === 404) return notFound(e.explanation);
  return badRequest(e.explanation);
}
