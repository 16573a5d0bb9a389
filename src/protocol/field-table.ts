/**
 * Field tables and arrays: the typed values that travel in method arguments and message headers.
 *
 * The 0-9-1 text and RabbitMQ disagree about the type tags. The spec's table lists `U` for a signed
 * 16-bit integer, `L` for signed 64-bit and so on; RabbitMQ (and Qpid, and every client that talks to
 * RabbitMQ) use a different set, which is the one clients actually send:
 *
 *   t boolean      b int8       B uint8      s int16      u uint16
 *   I int32        i uint32     l int64      f float32    d float64
 *   D decimal      S longstr    x bytearray  A array      T timestamp (uint64 seconds)
 *   F table        V void
 *
 * (See RabbitMQ's `rabbit_binary_parser.erl` and the "specification" docs page, section "field types".)
 * We decode into values that keep their tag so that a header re-emitted by the broker (for example when
 * dead-lettering adds x-death) goes back out with exactly the type the publisher chose, and so that
 * argument validation can refuse a wrong type the way RabbitMQ does.
 *
 * A table is a `Map` rather than a plain object because keys come from the network: a key named
 * `__proto__` must be just a key.
 */

export type FieldValue =
  | { readonly type: 't'; readonly value: boolean }
  | { readonly type: 'b' | 'B' | 's' | 'u' | 'I' | 'i' | 'f' | 'd'; readonly value: number }
  /** int64 / timestamp: a number when it fits in 2^53, a bigint otherwise. */
  | { readonly type: 'l' | 'T'; readonly value: number | bigint }
  | { readonly type: 'D'; readonly value: Decimal }
  /** longstr: a string when the bytes are valid UTF-8 (so it re-encodes byte for byte), else the bytes. */
  | { readonly type: 'S'; readonly value: string | Buffer }
  | { readonly type: 'x'; readonly value: Buffer }
  | { readonly type: 'A'; readonly value: FieldValue[] }
  | { readonly type: 'F'; readonly value: FieldTable }
  | { readonly type: 'V'; readonly value: null };

export interface Decimal {
  readonly scale: number;
  readonly value: number;
}

export type FieldTable = Map<string, FieldValue>;
export type FieldType = FieldValue['type'];

export const FIELD_TYPES: readonly FieldType[] = [
  't', 'b', 'B', 's', 'u', 'I', 'i', 'l', 'f', 'd', 'D', 'S', 'x', 'A', 'T', 'F', 'V',
];

/** RabbitMQ's names for the tags, used in its error texts ("of type 'longstr'"). */
export const FIELD_TYPE_NAMES: Readonly<Record<FieldType, string>> = {
  t: 'bool',
  b: 'byte',
  B: 'unsignedbyte',
  s: 'short',
  u: 'unsignedshort',
  I: 'signedint',
  i: 'unsignedint',
  l: 'long',
  f: 'float',
  d: 'double',
  D: 'decimal',
  S: 'longstr',
  x: 'binary',
  A: 'array',
  T: 'timestamp',
  F: 'table',
  V: 'void',
};

/** Small constructors so that code building tables reads as the table it builds. */
export const fv = {
  bool: (value: boolean): FieldValue => ({ type: 't', value }),
  int: (value: number): FieldValue => ({ type: 'I', value }),
  long: (value: number | bigint): FieldValue => ({ type: 'l', value }),
  str: (value: string | Buffer): FieldValue => ({ type: 'S', value }),
  timestamp: (value: number | bigint): FieldValue => ({ type: 'T', value }),
  table: (value: FieldTable): FieldValue => ({ type: 'F', value }),
  array: (value: FieldValue[]): FieldValue => ({ type: 'A', value }),
  void: (): FieldValue => ({ type: 'V', value: null }),
} as const;

export function table(entries: Iterable<readonly [string, FieldValue]> = []): FieldTable {
  return new Map(entries);
}

function isIntegerType(type: FieldType): boolean {
  return type === 'b' || type === 'B' || type === 's' || type === 'u' || type === 'I' || type === 'i' || type === 'l';
}

/** The numeric value of an integer-typed field, or undefined for any other type. */
export function integerValue(v: FieldValue | undefined): number | undefined {
  if (v === undefined || !isIntegerType(v.type)) return undefined;
  return Number(v.value as number | bigint);
}

/** The text of a longstr field (undefined for any other type). */
export function stringValue(v: FieldValue | undefined): string | undefined {
  if (v === undefined || v.type !== 'S') return undefined;
  return typeof v.value === 'string' ? v.value : v.value.toString('utf8');
}

/**
 * Converts a table to plain JavaScript values (numbers, strings, booleans, nested objects), losing the
 * tags. Useful for logs and tests; never used where the type matters.
 */
export function toPlain(t: FieldTable): Record<string, unknown> {
  const out: Record<string, unknown> = Object.create(null);
  for (const [k, v] of t) out[k] = plainValue(v);
  return out;
}

function plainValue(v: FieldValue): unknown {
  switch (v.type) {
    case 'F':
      return toPlain(v.value);
    case 'A':
      return v.value.map(plainValue);
    case 'l':
    case 'T':
      return typeof v.value === 'bigint' ? v.value : v.value;
    default:
      return v.value;
  }
}

/** Structural equality of two field values, tags included (RabbitMQ's equivalence checks compare both). */
export function fieldValuesEqual(a: FieldValue, b: FieldValue): boolean {
  if (a.type !== b.type) return false;
  switch (a.type) {
    case 'F':
      return tablesEqual(a.value, (b as typeof a).value);
    case 'A': {
      const bv = (b as typeof a).value;
      return a.value.length === bv.length && a.value.every((x, i) => fieldValuesEqual(x, bv[i]!));
    }
    case 'D':
      return a.value.scale === (b as typeof a).value.scale && a.value.value === (b as typeof a).value.value;
    case 'x':
      return a.value.equals((b as typeof a).value);
    case 'S': {
      const bv = (b as typeof a).value;
      if (typeof a.value === 'string' && typeof bv === 'string') return a.value === bv;
      return Buffer.from(a.value as string).equals(Buffer.from(bv as string));
    }
    case 'l':
    case 'T':
      return BigInt(a.value) === BigInt((b as typeof a).value);
    case 'f':
    case 'd':
      return Object.is(a.value, (b as typeof a).value);
    default:
      return a.value === (b as { value: unknown }).value;
  }
}

export function tablesEqual(a: FieldTable, b: FieldTable): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) {
    const w = b.get(k);
    if (w === undefined || !fieldValuesEqual(v, w)) return false;
  }
  return true;
}
