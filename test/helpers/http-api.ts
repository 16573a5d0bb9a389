/** A client of Warren's management HTTP API for tests: Basic auth, JSON in and out. */
export interface ApiAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  /** The body parsed, or undefined when it is empty (any: the tests read arbitrary JSON shapes). */
  // biome-ignore lint/suspicious/noExplicitAny: the tests assert on arbitrary JSON
  readonly json: any;
}

export function apiClient(baseUrl: () => string, user = 'guest', password = 'guest') {
  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiAnswer> => {
    const auth: Record<string, string> = user === '' ? {} : { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` };
    const res = await fetch(`${baseUrl()}${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...auth, ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, text, json: text === '' ? undefined : JSON.parse(text) };
  };
  return {
    get: (path: string) => call('GET', path),
    put: (path: string, body?: unknown) => call('PUT', path, body),
    post: (path: string, body?: unknown) => call('POST', path, body),
    delete: (path: string, headers?: Record<string, string>) => call('DELETE', path, undefined, headers),
    call,
  };
}
