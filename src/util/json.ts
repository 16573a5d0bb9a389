/**
 * A strict JSON parser for files Warren did not write (definitions, policy definitions), keeping what
 * RabbitMQ's decoder keeps and JSON.parse loses:
 *
 * - a number written with a fraction or exponent is a float in Erlang even when integral (1.0, 1e3),
 *   and RabbitMQ refuses it where an integer is required ("1.0e3 is not a valid message TTL"); such
 *   numbers come back as FloatValue;
 * - integers are exact in Erlang; those beyond 2^53 come back as bigint.
 *
 * Errors say where (line and column) and what. Nesting is limited, so a hostile file cannot exhaust
 * the stack. Object keys become own properties (a key "__proto__" is just a key); a repeated key keeps
 * its last value, as both JSON.parse and RabbitMQ's decoder do.
 */

export class FloatValue {
  constructor(readonly value: number) {}
  toJSON(): number {
    return this.value;
  }
}

export type JsonValue = null | boolean | number | bigint | string | FloatValue | JsonValue[] | { [key: string]: JsonValue };

export class JsonParseError extends Error {
  override name = 'JsonParseError';
  constructor(
    readonly reason: string,
    readonly offset: number,
    readonly line: number,
    readonly column: number,
  ) {
    super(`${reason} at line ${line} column ${column}`);
  }
}

const MAX_DEPTH = 512;

export function parseJson(text: string): JsonValue {
  return new JsonParser(text).document();
}

/** Whether a decoded value is an Erlang integer (not a float, however integral). */
export function isJsonInteger(v: unknown): v is number | bigint {
  return (typeof v === 'number' && Number.isInteger(v)) || typeof v === 'bigint';
}

/** Whether a decoded value is an Erlang number (integer or float). */
export function isJsonNumber(v: unknown): v is number | bigint | FloatValue {
  return typeof v === 'number' || typeof v === 'bigint' || v instanceof FloatValue;
}

export function isJsonObject(v: unknown): v is { [key: string]: JsonValue } {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof FloatValue);
}

/** A decoded number as a JavaScript number (bigints lose precision past 2^53). */
export function jsonNumber(v: number | bigint | FloatValue): number {
  return v instanceof FloatValue ? v.value : Number(v);
}

class JsonParser {
  private pos = 0;
  private depth = 0;

  constructor(private readonly s: string) {}

  document(): JsonValue {
    this.ws();
    const v = this.value();
    this.ws();
    if (this.pos < this.s.length) this.fail('unexpected text after the JSON value');
    return v;
  }

  private fail(reason: string, at = this.pos): never {
    let line = 1;
    let col = 1;
    for (let i = 0; i < at && i < this.s.length; i++) {
      if (this.s.charCodeAt(i) === 0x0a) {
        line++;
        col = 1;
      } else col++;
    }
    throw new JsonParseError(reason, at, line, col);
  }

  private ws(): void {
    for (;;) {
      const c = this.s.charCodeAt(this.pos);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) this.pos++;
      else return;
    }
  }

  private value(): JsonValue {
    const c = this.s[this.pos];
    switch (c) {
      case '{':
        return this.nested(() => this.object());
      case '[':
        return this.nested(() => this.array());
      case '"':
        return this.string();
      case 't':
        return this.word('true', true);
      case 'f':
        return this.word('false', false);
      case 'n':
        return this.word('null', null);
      case undefined:
        return this.fail('unexpected end of input');
      default:
        if (c === '-' || (c >= '0' && c <= '9')) return this.number();
        return this.fail(`unexpected character ${JSON.stringify(c)}`);
    }
  }

  private nested<T>(f: () => T): T {
    if (++this.depth > MAX_DEPTH) this.fail(`nested deeper than ${MAX_DEPTH} levels`);
    const v = f();
    this.depth--;
    return v;
  }

  private word<T>(w: string, v: T): T {
    if (!this.s.startsWith(w, this.pos)) this.fail(`unexpected character ${JSON.stringify(this.s[this.pos])}`);
    this.pos += w.length;
    return v;
  }

  private object(): JsonValue {
    this.pos++; // {
    const out: { [key: string]: JsonValue } = {};
    this.ws();
    if (this.s[this.pos] === '}') {
      this.pos++;
      return out;
    }
    for (;;) {
      this.ws();
      if (this.s[this.pos] !== '"') this.fail('expected a string as object key');
      const k = this.string();
      this.ws();
      if (this.s[this.pos] !== ':') this.fail("expected ':' after an object key");
      this.pos++;
      this.ws();
      const v = this.value();
      Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
      this.ws();
      const c = this.s[this.pos];
      if (c === ',') {
        this.pos++;
        continue;
      }
      if (c === '}') {
        this.pos++;
        return out;
      }
      this.fail("expected ',' or '}' in an object");
    }
  }

  private array(): JsonValue {
    this.pos++; // [
    const out: JsonValue[] = [];
    this.ws();
    if (this.s[this.pos] === ']') {
      this.pos++;
      return out;
    }
    for (;;) {
      this.ws();
      out.push(this.value());
      this.ws();
      const c = this.s[this.pos];
      if (c === ',') {
        this.pos++;
        continue;
      }
      if (c === ']') {
        this.pos++;
        return out;
      }
      this.fail("expected ',' or ']' in an array");
    }
  }

  private string(): string {
    const start = this.pos;
    this.pos++; // "
    let out = '';
    let run = this.pos;
    for (;;) {
      const c = this.s.charCodeAt(this.pos);
      if (Number.isNaN(c)) this.fail('unterminated string', start);
      if (c === 0x22) {
        out += this.s.slice(run, this.pos);
        this.pos++;
        return out;
      }
      if (c < 0x20) this.fail('control character in a string');
      if (c === 0x5c) {
        out += this.s.slice(run, this.pos);
        const e = this.s[this.pos + 1];
        const simple: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
        if (e !== undefined && e in simple) {
          out += simple[e];
          this.pos += 2;
        } else if (e === 'u') {
          const hex = this.s.slice(this.pos + 2, this.pos + 6);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail('invalid \\u escape');
          out += String.fromCharCode(parseInt(hex, 16));
          this.pos += 6;
        } else {
          this.fail('invalid escape in a string');
        }
        run = this.pos;
        continue;
      }
      this.pos++;
    }
  }

  private number(): JsonValue {
    const m = /^-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(this.s.slice(this.pos, this.pos + 400));
    if (m === null) return this.fail('invalid number');
    this.pos += m[0].length;
    const isFloat = m[1] !== undefined || m[2] !== undefined;
    if (isFloat) {
      const f = Number(m[0]);
      if (!Number.isFinite(f)) this.fail('number out of range');
      return Number.isInteger(f) ? new FloatValue(f) : f;
    }
    const n = Number(m[0]);
    if (n === 0) return 0; // the integer -0 is 0
    return Number.isSafeInteger(n) ? n : BigInt(m[0]);
  }
}

/**
 * Compact JSON as RabbitMQ's encoder writes definitions: object keys in Erlang's map order (byte
 * order of the UTF-8 key, not JavaScript's integer-keys-first property order), integral floats
 * with their fraction ("1.0"), integers of any size.
 */
export function writeJson(v: JsonValue | undefined): string {
  if (v === undefined || v === null) return 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new RangeError('JSON has no infinite numbers');
    return Number.isInteger(v) ? String(v === 0 ? 0 : v) : JSON.stringify(v);
  }
  if (typeof v === 'string') return JSON.stringify(v);
  if (v instanceof FloatValue) {
    const f = v.value;
    if (Object.is(f, -0)) return '-0.0';
    return Number.isInteger(f) && Math.abs(f) < 1e21 ? `${f}.0` : JSON.stringify(f);
  }
  if (Array.isArray(v)) return `[${v.map(writeJson).join(',')}]`;
  const keys = Object.keys(v).sort((a, b) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')));
  return `{${keys.map((k) => `${JSON.stringify(k)}:${writeJson(v[k])}`).join(',')}}`;
}
