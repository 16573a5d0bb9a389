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
  return plainValue({ type: 'F', value: t }) as Record<string, unknown>;
}

/**
 * The plain form of one value. Like every walk over field values here, it follows nesting with an
 * explicit stack, not recursion: a table may nest as deep as a frame allows (tens of thousands of
 * levels, which RabbitMQ accepts), far deeper than the call stack goes.
 */
export function plainValue(v: FieldValue): unknown {
  const root = plainShell(v);
  const pending: [FieldValue, unknown][] = [[v, root]];
  for (let item = pending.pop(); item !== undefined; item = pending.pop()) {
    const [from, to] = item;
    if (from.type === 'F') {
      const out = to as Record<string, unknown>;
      for (const [k, x] of from.value) {
        const y = (out[k] = plainShell(x));
        if (x.type === 'F' || x.type === 'A') pending.push([x, y]);
      }
    } else if (from.type === 'A') {
      const out = to as unknown[];
      for (const x of from.value) {
        const y = plainShell(x);
        out.push(y);
        if (x.type === 'F' || x.type === 'A') pending.push([x, y]);
      }
    }
  }
  return root;
}

/** A leaf's plain value, or the empty object or array a table's or array's entries go into. */
function plainShell(v: FieldValue): unknown {
  if (v.type === 'F') return Object.create(null) as Record<string, unknown>;
  if (v.type === 'A') return [];
  return v.value;
}

/**
 * Whether two values have the same shape and leaves, walked with an explicit stack: the same type at
 * every position, arrays of the same length compared element by element, tables of the same size
 * compared key by key (`byKey`: entries paired by key, any order) or entry by entry (`inOrder`: keys
 * and values in the same order, as Erlang's == compares RabbitMQ's tables, which are lists). Leaves
 * go to `leavesEqual`, which only ever sees two values of the same type, neither a table nor an array.
 */
export function sameStructure(
  a: FieldValue,
  b: FieldValue,
  leavesEqual: (a: FieldValue, b: FieldValue) => boolean,
  tableEntries: 'byKey' | 'inOrder',
): boolean {
  const left: FieldValue[] = [a];
  const right: FieldValue[] = [b];
  for (let x = left.pop(), y = right.pop(); x !== undefined && y !== undefined; x = left.pop(), y = right.pop()) {
    if (x.type !== y.type) return false;
    if (x.type === 'A') {
      const ys = (y as typeof x).value;
      if (x.value.length !== ys.length) return false;
      for (let i = 0; i < ys.length; i++) {
        left.push(x.value[i]!);
        right.push(ys[i]!);
      }
    } else if (x.type === 'F') {
      const yt = (y as typeof x).value;
      if (x.value.size !== yt.size) return false;
      if (tableEntries === 'byKey') {
        for (const [k, xv] of x.value) {
          const yv = yt.get(k);
          if (yv === undefined) return false;
          left.push(xv);
          right.push(yv);
        }
      } else {
        const ys = yt.entries();
        for (const [k, xv] of x.value) {
          const [yk, yv] = ys.next().value as [string, FieldValue];
          if (k !== yk) return false;
          left.push(xv);
          right.push(yv);
        }
      }
    } else if (!leavesEqual(x, y)) {
      return false;
    }
  }
  return true;
}

/** Structural equality of two field values, tags included (RabbitMQ's equivalence checks compare both). */
export function fieldValuesEqual(a: FieldValue, b: FieldValue): boolean {
  return sameStructure(a, b, leavesIdentical, 'byKey');
}

export function tablesEqual(a: FieldTable, b: FieldTable): boolean {
  return fieldValuesEqual({ type: 'F', value: a }, { type: 'F', value: b });
}

/** Two leaves of the same type hold the same value (bytes for strings, bits for floats). */
function leavesIdentical(a: FieldValue, b: FieldValue): boolean {
  switch (a.type) {
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
