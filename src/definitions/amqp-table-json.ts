/**
 * x-arguments and binding arguments between field tables and the JSON of definitions files, as
 * RabbitMQ converts them (rabbit_misc:to_amqp_table/1 on import, rabbit_misc:amqp_table/1 on export).
 *
 * Import: strings are longstr, integers long, floats double, booleans bool, arrays array, objects
 * table; null has no AMQP value and is refused (RabbitMQ throws {error, null_not_allowed}). Export:
 * the values without their types, byte strings that are not UTF-8 as RabbitMQ's utf8_safe/1 writes
 * them, decimals as RabbitMQ renders them ("~p.~p" of scale and value).
 */
import type { FieldTable, FieldValue } from '../protocol/field-table.js';
import { FloatValue, type JsonValue } from '../util/json.js';

export class TableConversionError extends Error {
  override name = 'TableConversionError';
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
}

function jsonToValue(v: JsonValue, path: string): FieldValue {
  if (v === null) throw new TableConversionError(path, 'null is not allowed in arguments (RabbitMQ: null_not_allowed)');
  if (typeof v === 'string') return { type: 'S', value: v };
  if (typeof v === 'boolean') return { type: 't', value: v };
  if (typeof v === 'bigint') {
    if (v < -(2n ** 63n) || v >= 2n ** 63n) throw new TableConversionError(path, `${v} does not fit in a signed 64-bit integer`);
    return { type: 'l', value: v };
  }
  if (typeof v === 'number') return Number.isInteger(v) ? { type: 'l', value: v } : { type: 'd', value: v };
  if (v instanceof FloatValue) return { type: 'd', value: v.value };
  if (Array.isArray(v)) return { type: 'A', value: v.map((x, i) => jsonToValue(x, `${path}[${i}]`)) };
  return { type: 'F', value: jsonToTable(v, path) };
}

/** rabbit_misc:to_amqp_table/1 (a missing or [] arguments field is the empty table). */
export function jsonToTable(v: JsonValue | undefined, path: string): FieldTable {
  if (v === undefined || (Array.isArray(v) && v.length === 0)) return new Map();
  if (v === null || typeof v !== 'object' || Array.isArray(v) || v instanceof FloatValue) {
    throw new TableConversionError(path, 'arguments must be an object');
  }
  const t: FieldTable = new Map();
  for (const [k, x] of Object.entries(v)) {
    if (Buffer.byteLength(k) > 255) throw new TableConversionError(`${path}.${k}`, 'a field table key is at most 255 bytes');
    t.set(k, jsonToValue(x, `${path}.${k}`));
  }
  return t;
}

/** rabbit_misc:utf8_safe/1 */
function utf8Safe(b: Buffer): string {
  const s = b.toString('utf8');
  if (Buffer.from(s, 'utf8').equals(b)) return s;
  const lines = b.toString('base64').match(/.{1,76}/g) ?? [''];
  return `Invalid UTF-8, base64 is: ${lines.join('\n')}`;
}

function jsonOf(v: FieldValue): JsonValue {
  switch (v.type) {
    case 'S':
    case 'x':
      return typeof v.value === 'string' ? v.value : utf8Safe(v.value);
    case 't':
      return v.value;
    case 'l':
    case 'T':
      return typeof v.value === 'bigint' && Number.isSafeInteger(Number(v.value)) ? Number(v.value) : v.value;
    case 'D':
      return Number(`${v.value.scale}.${v.value.value}`);
    case 'A':
      return v.value.map(jsonOf);
    case 'F':
      return tableToJson(v.value);
    case 'V':
      return null;
    default:
      return v.value;
  }
}

/** rabbit_misc:amqp_table/1: the values, keys in the order RabbitMQ's JSON encoder writes them. */
export function tableToJson(t: FieldTable): { [key: string]: JsonValue } {
  const out: { [key: string]: JsonValue } = {};
  for (const k of [...t.keys()].sort(byteOrder)) {
    Object.defineProperty(out, k, { value: jsonOf(t.get(k)!), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** Erlang's order of binaries: byte by byte. */
export function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/**
 * Whether a table nests deeper than `max` levels of tables and arrays. Walked without recursion:
 * a client can send arguments nested thousands deep, which the recursive conversions here (and a
 * definitions file, whose reader stops at 512 levels) cannot take.
 */
export function nestsDeeperThan(t: FieldTable, max: number): boolean {
  const stack: [Iterable<FieldValue>, number][] = [[t.values(), 1]];
  while (stack.length > 0) {
    const [values, depth] = stack.pop()!;
    if (depth > max) return true;
    for (const v of values) {
      if (v.type === 'F') stack.push([v.value.values(), depth + 1]);
      else if (v.type === 'A') stack.push([v.value, depth + 1]);
    }
  }
  return false;
}
