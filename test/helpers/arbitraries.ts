/**
 * fast-check arbitraries for the AMQP domain types, field values and basic properties, shared by
 * the codec property tests and the malformed-input fuzz test.
 *
 * Values are generated in the form Warren's decoder returns (a 64-bit integer is a number when it
 * fits in 2^53 and a bigint otherwise; a longstr field is a string when its bytes are UTF-8), so
 * decode(encode(x)) can be compared with x directly.
 */
import { isUtf8 } from 'node:buffer';
import fc from 'fast-check';
import type { FieldTable, FieldValue } from '../../src/protocol/field-table.js';
import type { BasicProperties } from '../../src/protocol/generated/properties.js';

/** A 64-bit integer in the form the decoder returns it. */
export function narrow(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/** Truncates a string to at most `max` UTF-8 bytes without splitting a code point. */
export function truncateUtf8(s: string, max: number): string {
  if (Buffer.byteLength(s) <= max) return s;
  let out = '';
  let len = 0;
  for (const c of s) {
    const n = Buffer.byteLength(c);
    if (len + n > max) break;
    out += c;
    len += n;
  }
  return out;
}

/** Any text (every code point, no lone surrogates), biased towards the 255-byte limit too. */
export const shortstr = (): fc.Arbitrary<string> =>
  fc.oneof(
    fc.string({ unit: 'binary', maxLength: 255 }).map((s) => truncateUtf8(s, 255)),
    fc.string({ unit: 'grapheme-ascii', maxLength: 255 }),
    // Exactly 255 bytes, mixing character widths: the encoder's length octet at its maximum.
    fc.array(fc.constantFrom('a', 'é', '€', '🐇'), { minLength: 64, maxLength: 255 }).map((cs) => {
      const s = truncateUtf8(cs.join(''), 255);
      return s + 'z'.repeat(255 - Buffer.byteLength(s));
    }),
  );

export const bytes = (maxLength = 300): fc.Arbitrary<Buffer> =>
  fc.uint8Array({ maxLength }).map((a) => Buffer.from(a.buffer, a.byteOffset, a.length));

const int64 = fc.bigInt(-(2n ** 63n), 2n ** 63n - 1n).map(narrow);
const uint64 = fc.bigInt(0n, 2n ** 64n - 1n).map(narrow);

/** One arbitrary per RabbitMQ field type tag, except the recursive A and F. */
export const scalarField: Record<Exclude<FieldValue['type'], 'A' | 'F'>, fc.Arbitrary<FieldValue>> = {
  t: fc.boolean().map((value) => ({ type: 't', value })),
  b: fc.integer({ min: -128, max: 127 }).map((value) => ({ type: 'b', value })),
  B: fc.integer({ min: 0, max: 255 }).map((value) => ({ type: 'B', value })),
  s: fc.integer({ min: -32768, max: 32767 }).map((value) => ({ type: 's', value })),
  u: fc.integer({ min: 0, max: 65535 }).map((value) => ({ type: 'u', value })),
  I: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }).map((value) => ({ type: 'I', value })),
  i: fc.integer({ min: 0, max: 2 ** 32 - 1 }).map((value) => ({ type: 'i', value })),
  l: int64.map((value) => ({ type: 'l', value })),
  f: fc.float().map((value) => ({ type: 'f', value })),
  d: fc.double().map((value) => ({ type: 'd', value })),
  D: fc
    .record({ scale: fc.integer({ min: 0, max: 255 }), value: fc.integer({ min: 0, max: 2 ** 32 - 1 }) })
    .map((value) => ({ type: 'D', value })),
  S: fc
    .oneof(
      fc.string({ unit: 'binary', maxLength: 40 }),
      // Bytes that are not UTF-8 stay bytes, so they re-encode unchanged.
      bytes(40).filter((b) => !isUtf8(b)),
    )
    .map((value) => ({ type: 'S', value })),
  x: bytes(40).map((value) => ({ type: 'x', value })),
  T: uint64.map((value) => ({ type: 'T', value })),
  V: fc.constant({ type: 'V', value: null }),
};

/** Field values of every type, tables and arrays nested up to a few levels. */
const fieldArbs = fc.letrec<{ value: FieldValue; table: FieldTable; array: FieldValue }>((tie) => ({
  value: fc.oneof({ depthSize: 'small', maxDepth: 4 }, ...Object.values(scalarField), tie('array'), tie('table').map((value): FieldValue => ({ type: 'F', value }))),
  array: fc.array(tie('value'), { maxLength: 5 }).map((value): FieldValue => ({ type: 'A', value })),
  table: fc
    .uniqueArray(fc.tuple(fc.string({ unit: 'binary', maxLength: 20 }).map((k) => truncateUtf8(k, 255)), tie('value')), {
      maxLength: 6,
      selector: ([k]) => k,
    })
    .map((entries) => new Map(entries)),
}));

export const fieldValue = (): fc.Arbitrary<FieldValue> => fieldArbs.value;
export const fieldTable = (): fc.Arbitrary<FieldTable> => fieldArbs.table;

/** Any subset of the 14 basic properties, each over its whole domain. */
export const basicProperties = (): fc.Arbitrary<BasicProperties> =>
  fc.record(
    {
      contentType: shortstr(),
      contentEncoding: shortstr(),
      headers: fieldTable(),
      deliveryMode: fc.integer({ min: 0, max: 255 }),
      priority: fc.integer({ min: 0, max: 255 }),
      correlationId: shortstr(),
      replyTo: shortstr(),
      expiration: shortstr(),
      messageId: shortstr(),
      timestamp: uint64,
      type: shortstr(),
      userId: shortstr(),
      appId: shortstr(),
      clusterId: shortstr(),
    },
    { requiredKeys: [] },
  );
