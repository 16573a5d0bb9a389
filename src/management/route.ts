/**
 * A management API route as the controllers declare it: method, path, the tag it needs, and a
 * handler that gets the authenticated user and answers with JSON (200) or an explicit Answer.
 */
import type { AuthenticatedUser } from '../access/access-database.js';
import type { JsonValue } from '../util/json.js';
import type { Level } from './auth.js';
import type { ManagementContext } from './context.js';
import type { Query } from './listing.js';

export interface ApiRequest {
  readonly user: AuthenticatedUser;
  /** Path parameters, decoded. */
  readonly params: Readonly<Record<string, string>>;
  readonly query: Query;
  /** The body as received (text); controllers parse it with request-body.ts. */
  readonly body: unknown;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

/** A status with an optional body (204 and 201 answer none) and headers. */
export class Answer {
  constructor(
    readonly status: number,
    readonly body?: JsonValue | string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {}
}

export const noContent = () => new Answer(204);
export const created = (location?: string) => new Answer(201, undefined, location === undefined ? {} : { location });

export interface Route {
  readonly method: 'GET' | 'PUT' | 'POST' | 'DELETE';
  readonly url: string;
  /** The tag the user needs (default: management, i.e. any user who may log in). */
  readonly level?: Level;
  /** A promise for the routes that wait (the test hooks' waits). */
  readonly handler: (ctx: ManagementContext, req: ApiRequest) => JsonValue | Answer | Promise<JsonValue | Answer>;
  /** The route answers without credentials (RabbitMQ's /api/auth, needed before login). */
  readonly open?: boolean;
}
