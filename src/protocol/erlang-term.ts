import { FloatValue } from '../util/json.js';

/**
 * JSON values as Erlang's `~p` prints them after RabbitMQ decoded them (rabbit_json): integers and
 * floats as Erlang writes them, strings as binaries <<"...">>, true/false/null as atoms, arrays as
 * lists (a list of printable character codes prints as a "string", as ~p does), objects as maps
 * with their keys in term order. RabbitMQ's validation messages are built this way
 * ("<<\"abc\">> is not a valid message TTL").
 *
 * One difference: ~p breaks terms longer than a line (80 columns) over several lines; this prints
 * them on one.
 */

/** The bytes ~p prints as they are inside <<"...">> (io_lib:printable_latin1_list). */
function printableLatin1(b: number): boolean {
  return (b >= 0x20 && b <= 0x7e) || (b >= 0xa0 && b <= 0xff) || ESCAPES.has(b);
}

const ESCAPES = new Map<number, string>([
  [0x0a, '\\n'], [0x0d, '\\r'], [0x09, '\\t'], [0x0b, '\\v'], [0x08, '\\b'], [0x0c, '\\f'], [0x1b, '\\e'],
]);

/** Binaries hold UTF-8 bytes (printed as they are, so as their text); lists hold latin1 characters. */
function quoted(bytes: Buffer | number[], quote: string, encoding: 'utf8' | 'latin1'): string {
  let out = '';
  const plain: number[] = [];
  const flush = () => {
    out += Buffer.from(plain).toString(encoding);
    plain.length = 0;
  };
  for (const b of bytes) {
    const esc = ESCAPES.get(b);
    if (esc !== undefined) {
      flush();
      out += esc;
    } else if (b === 0x22 || b === 0x5c) {
      flush();
      out += `\\${String.fromCharCode(b)}`;
    } else {
      plain.push(b);
    }
  }
  flush();
  return `${quote}${out}${quote}`;
}

/** A character list (an Erlang "string") as ~p prints it: "text" with its escapes. */
export function erlangString(s: string): string {
  return quoted([...Buffer.from(s, 'latin1')], '"', 'latin1');
}

export function erlangBinary(s: string): string {
  const b = Buffer.from(s, 'utf8');
  if (b.length === 0) return '<<>>';
  if ([...b].every(printableLatin1)) return `<<${quoted(b, '"', 'utf8')}>>`;
  return `<<${[...b].join(',')}>>`;
}

/**
 * Erlang's shortest round-trip float text (float_to_list(F, [short]) in OTP 25): the shorter of the
 * plain and the exponent form, plain on a tie, always the exponent form from 2^53 up.
 */
export function erlangFloat(n: number): string {
  if (n === 0) return Object.is(n, -0) ? '-0.0' : '0.0';
  const sign = n < 0 ? '-' : '';
  const a = Math.abs(n);
  const [mantissa, expText] = a.toExponential().split('e') as [string, string];
  const digits = mantissa.replace('.', '');
  const exp = Number(expText);
  const scientific = `${digits[0]}.${digits.length > 1 ? digits.slice(1) : '0'}e${exp}`;
  if (a >= 2 ** 53) return sign + scientific;
  let plain: string;
  if (exp >= 0) {
    const intDigits = exp + 1;
    plain = digits.length <= intDigits ? `${digits.padEnd(intDigits, '0')}.0` : `${digits.slice(0, intDigits)}.${digits.slice(intDigits)}`;
  } else {
    plain = `0.${'0'.repeat(-exp - 1)}${digits}`;
  }
  return sign + (scientific.length < plain.length ? scientific : plain);
}

/** A value from parseJson (json.ts) printed as Erlang's ~p prints its rabbit_json decoding. */
export function erlangTerm(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (v === true) return 'true';
  if (v === false) return 'false';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : erlangFloat(v);
  if (typeof v === 'bigint') return String(v);
  if (typeof v === 'string') return erlangBinary(v);
  if (Array.isArray(v)) {
    if (v.length > 0 && v.every((x) => typeof x === 'number' && Number.isInteger(x) && printableLatin1(x) && x <= 0xff)) return quoted(v as number[], '"', 'latin1');
    return `[${v.map(erlangTerm).join(',')}]`;
  }
  if (v instanceof FloatValue) return erlangFloat(v.value);
  if (typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>).sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    return `#{${entries.map(([k, x]) => `${erlangBinary(k)} => ${erlangTerm(x)}`).join(',')}}`;
  }
  return String(v);
}
