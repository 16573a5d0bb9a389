/**
 * The management HTTP API as `warren ctl` uses it: Basic auth, JSON both ways, and the failures a
 * CLI must tell apart: the node cannot be reached (exit 69, as rabbitmqctl when the node is down),
 * the credentials are refused, or the API answered with an error status (left to the command,
 * which knows what a 404 means for it).
 */
import { CtlError, EXIT } from './errors.js';

export interface ApiAnswer {
  readonly status: number;
  /** The parsed JSON body, or undefined for an empty or non-JSON one. */
  readonly json: unknown;
  readonly text: string;
}

export interface ClientTarget {
  /** http://host:port, no trailing slash. */
  readonly baseUrl: string;
  readonly username: string;
  readonly password: string;
  /** Per request, ms. */
  readonly timeoutMs: number;
}

/** A vhost or name as one path segment (the API decodes it: "/" is %2F). */
export const seg = (s: string) => encodeURIComponent(s);

/** The reason an error answer gives (`{"error": ..., "reason": ...}`), as text. */
export function reasonOf(a: ApiAnswer): string {
  const body = a.json as { reason?: unknown; error?: unknown } | undefined;
  const reason = body?.reason ?? body?.error;
  if (typeof reason === 'string') return reason.trimEnd();
  if (reason !== undefined) return JSON.stringify(reason);
  return a.text === '' ? `HTTP ${a.status}` : a.text;
}

export class ManagementClient {
  private readonly auth: string;

  constructor(readonly target: ClientTarget) {
    this.auth = `Basic ${Buffer.from(`${target.username}:${target.password}`).toString('base64')}`;
  }

  /** One request; throws a CtlError (69) when the node does not answer, or refuses the login. */
  async request(method: 'GET' | 'PUT' | 'POST' | 'DELETE', path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiAnswer> {
    const answer = await this.send(method, path, body, headers);
    if (answer.status === 401) throw new CtlError(EXIT.unavailable, `${this.target.username} is refused by ${this.target.baseUrl}: ${reasonOf(answer)}`);
    return answer;
  }

  /** The request without the 401 check (await_startup polls through anything). */
  async send(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiAnswer> {
    let res: Response;
    try {
      res = await fetch(`${this.target.baseUrl}${path}`, {
        method,
        headers: { authorization: this.auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
        signal: AbortSignal.timeout(this.target.timeoutMs),
      });
    } catch (e) {
      throw new CtlError(EXIT.unavailable, unreachable(this.target.baseUrl, e), true);
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, json, text };
  }

  /** GET that must succeed: anything but 2xx is the node refusing the operation (69). */
  async get(path: string): Promise<unknown> {
    const a = await this.request('GET', path);
    if (a.status >= 300) throw new CtlError(EXIT.unavailable, reasonOf(a));
    return a.json;
  }
}

/** rabbitmqctl's "unable to perform an operation on node" with what went wrong underneath. */
function unreachable(baseUrl: string, e: unknown): string {
  const err = e as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  const why = err.name === 'TimeoutError' ? 'the request timed out' : (err.cause?.code ?? err.cause?.message ?? err.message ?? String(e));
  return [
    `unable to perform an operation on node '${baseUrl}'. Please see diagnostics information and suggestions below.`,
    '',
    'Most common reasons for this are:',
    '',
    " * Target node is unreachable (e.g. the management port is wrong: --host, --port or WARREN_MANAGEMENT_URL)",
    ' * The management API is turned off (--management-port 0)',
    ' * Target node is not running',
    '',
    `DIAGNOSTICS: ${why}`,
  ].join('\n');
}
