/**
 * Field tables and arrays, tag by tag (RabbitMQ/Qpid tags: t b B s u I i l f d D S x A T F V):
 *
 * - decode(encode(v)) == v with the tag preserved, for every tag and for nested tables and arrays;
 * - encode(decode(bytes)) == bytes for valid bytes, the bytes built by an encoder written here from
 *   the wire layout (so Warren's encoder is not checked against itself);
 * - the quirks RabbitMQ has and we copy ('L' read as 'l', any non-zero octet a true 't');
 * - the table walker scanProperties uses (skipTable) and the Reader agree on which bytes are a valid
 *   table, for valid tables and thousands of corrupted ones.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DecodeError, Reader, Writer } from '../../src/protocol/codec-primitives.js';
import { FIELD_TYPES, fieldValuesEqual, tablesEqual, type FieldValue } from '../../src/protocol/field-table.js';
import { skipTable } from '../../src/message/message.js';
import { fieldTable, fieldValue, scalarField, truncateUtf8 } from '../helpers/arbitraries.js';
import { toJson } from '../helpers/json-form.js';

function encodeValue(v: FieldValue): Buffer {
  const w = new Writer(1);
  w.fieldValue(v);
  return Buffer.from(w.bytes());
}

function decodeValue(b: Buffer): { value: FieldValue; consumed: number } {
  const r = new Reader(b);
  const value = r.fieldValue();
  return { value, consumed: r.pos };
}

/** Payload width after the tag, for the fixed-size types. */
const WIDTH: Partial<Record<string, number>> = { t: 1, b: 1, B: 1, s: 2, u: 2, I: 4, i: 4, l: 8, f: 4, d: 8, D: 5, T: 8, V: 0 };

describe('each field type', () => {
  const scalarTags = FIELD_TYPES.filter((t) => t !== 'A' && t !== 'F') as (keyof typeof scalarField)[];

  it('every RabbitMQ tag has a generator here (t b B s u I i l f d D S x A T F V)', () => {
    expect([...FIELD_TYPES].sort()).toEqual([...'tbBsuIilfdDSxATFV'].sort());
  });

  it.each(scalarTags)("'%s' round-trips with its tag and value", (tag) => {
    fc.assert(
      fc.property(scalarField[tag], (v) => {
        const bytes = encodeValue(v);
        expect(String.fromCharCode(bytes[0]!)).toBe(tag);
        const width = WIDTH[tag];
        if (width !== undefined) expect(bytes.length).toBe(1 + width);
        else expect(bytes.readUInt32BE(1)).toBe(bytes.length - 5);
        const { value, consumed } = decodeValue(bytes);
        expect(consumed).toBe(bytes.length);
        expect(value.type).toBe(tag);
        expect(toJson(value)).toEqual(toJson(v));
        expect(fieldValuesEqual(value, v)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it("'A' arrays and 'F' tables of any values, nested, round-trip with every tag inside", () => {
    fc.assert(
      fc.property(fieldValue(), (v) => {
        const { value, consumed } = decodeValue(encodeValue(v));
        expect(consumed).toBe(encodeValue(v).length);
        expect(toJson(value)).toEqual(toJson(v));
      }),
      { numRuns: 500 },
    );
  });

  it('tablesEqual holds for a decoded table in any key order, and fails when one value changes', () => {
    fc.assert(
      fc.property(fieldTable().filter((t) => t.size > 0), fc.nat(), (a, which) => {
        const w = new Writer();
        w.table(a);
        const back = new Reader(Buffer.from(w.bytes())).table();
        expect(tablesEqual(back, a)).toBe(true);
        // Key order does not matter (RabbitMQ sorts argument tables before comparing them).
        expect(tablesEqual(new Map([...back].reverse()), a)).toBe(true);
        // Changing one entry's tag, keeping its "value", makes the tables differ.
        const key = [...a.keys()][which % a.size]!;
        const old = a.get(key)!;
        const changed = new Map(a).set(key, old.type === 'V' ? { type: 't', value: false } : { type: 'V', value: null });
        expect(tablesEqual(changed, a)).toBe(false);
      }),
    );
  });
});

// ---------------------------------------------------------------------------------------------
// An independent encoder: valid field-table bytes built from the wire layout.

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};
const tagged = (tag: string, ...parts: Buffer[]) => Buffer.concat([Buffer.from(tag, 'latin1'), ...parts]);
const sized = (payload: Buffer) => Buffer.concat([u32(payload.length), payload]);
const raw = (n: number) => fc.uint8Array({ minLength: n, maxLength: n }).map((a) => Buffer.from(a));

/** Canonical bytes for each fixed-width tag: booleans are 0 or 1, NaNs are the canonical NaN. */
const fixedBytes = fc.oneof(
  ...(['b', 'B', 's', 'u', 'I', 'i', 'l', 'D', 'T'] as const).map((t) => raw(WIDTH[t]!).map((b) => tagged(t, b))),
  fc.boolean().map((v) => tagged('t', Buffer.from([v ? 1 : 0]))),
  // NaN payloads are not kept (RabbitMQ cannot decode a NaN at all); other floats are, bit for bit.
  raw(4).map((b) => tagged('f', Number.isNaN(b.readFloatBE(0)) ? Buffer.from('7fc00000', 'hex') : b)),
  raw(8).map((b) => tagged('d', Number.isNaN(b.readDoubleBE(0)) ? Buffer.from('7ff8000000000000', 'hex') : b)),
  fc.constant(tagged('V')),
  // S carries any bytes (UTF-8 or not), x too.
  fc.uint8Array({ maxLength: 30 }).map((a) => tagged('S', sized(Buffer.from(a)))),
  fc.string({ unit: 'binary', maxLength: 10 }).map((s) => tagged('S', sized(Buffer.from(s)))),
  fc.uint8Array({ maxLength: 30 }).map((a) => tagged('x', sized(Buffer.from(a)))),
);

const keyBytes = fc.string({ unit: 'binary', maxLength: 12 }).map((k) => Buffer.from(truncateUtf8(k, 255)));

const byteArbs = fc.letrec<{ value: Buffer; table: Buffer }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', maxDepth: 4 },
    fixedBytes,
    fc.array(tie('value'), { maxLength: 5 }).map((vs) => tagged('A', sized(Buffer.concat(vs)))),
    tie('table').map((t) => tagged('F', t)),
  ),
  table: fc
    .uniqueArray(fc.tuple(keyBytes, tie('value')), { maxLength: 6, selector: ([k]) => k.toString('hex') })
    .map((entries) => sized(Buffer.concat(entries.flatMap(([k, v]) => [Buffer.from([k.length]), k, v])))),
}));

describe('valid bytes', () => {
  it('encode(decode(bytes)) == bytes for any valid table', () => {
    fc.assert(
      fc.property(byteArbs.table, (bytes) => {
        const r = new Reader(bytes);
        const t = r.table();
        expect(r.pos).toBe(bytes.length);
        const w = new Writer(1);
        w.table(t);
        expect(Buffer.from(w.bytes()).toString('hex')).toBe(bytes.toString('hex'));
      }),
      { numRuns: 500 },
    );
  });

  it('encode(decode(bytes)) == bytes for any valid field value, arrays included', () => {
    fc.assert(
      fc.property(byteArbs.value, (bytes) => {
        const { value, consumed } = decodeValue(bytes);
        expect(consumed).toBe(bytes.length);
        expect(encodeValue(value).toString('hex')).toBe(bytes.toString('hex'));
      }),
      { numRuns: 500 },
    );
  });

  it("a longstr 'S' stays text when its bytes are UTF-8 and bytes when they are not", () => {
    const utf8 = decodeValue(tagged('S', sized(Buffer.from('ünï 🐇')))).value;
    expect(utf8).toEqual({ type: 'S', value: 'ünï 🐇' });
    const binary = decodeValue(tagged('S', sized(Buffer.from([0xff, 0xfe, 0x41])))).value;
    expect(binary.type).toBe('S');
    expect(binary.value).toEqual(Buffer.from([0xff, 0xfe, 0x41]));
  });

  it('a decoded table is independent of the frame buffer it came from', () => {
    const bytes = encodeTableOf(new Map<string, FieldValue>([['x', { type: 'x', value: Buffer.from('abc') }]]));
    const t = new Reader(bytes).table();
    bytes.fill(0);
    expect(t.get('x')).toEqual({ type: 'x', value: Buffer.from('abc') });
  });
});

function encodeTableOf(t: Map<string, FieldValue>): Buffer {
  const w = new Writer();
  w.table(t);
  return Buffer.from(w.bytes());
}

describe("RabbitMQ's reading of the tags", () => {
  it("'L' is read as a signed 64-bit 'l' (rabbit_binary_parser)", () => {
    fc.assert(
      fc.property(fc.bigInt(-(2n ** 63n), 2n ** 63n - 1n), (n) => {
        const b = Buffer.alloc(9);
        b.write('L', 0, 'latin1');
        b.writeBigInt64BE(n, 1);
        const { value } = decodeValue(b);
        expect(value.type).toBe('l');
        expect(BigInt(value.value as number | bigint)).toBe(n);
      }),
    );
  });

  it("'l' and 'T' are numbers when they fit in 2^53 and bigints otherwise", () => {
    const l = (n: bigint) => {
      const b = Buffer.alloc(9);
      b.write('l', 0, 'latin1');
      b.writeBigInt64BE(n, 1);
      return decodeValue(b).value.value;
    };
    expect(l(2n ** 53n - 1n)).toBe(2 ** 53 - 1);
    expect(l(-(2n ** 53n) + 1n)).toBe(-(2 ** 53) + 1);
    expect(l(2n ** 53n)).toBe(2n ** 53n);
    expect(l(-(2n ** 63n))).toBe(-(2n ** 63n));
    const t = Buffer.alloc(9);
    t.write('T', 0, 'latin1');
    t.writeBigUInt64BE(2n ** 64n - 1n, 1);
    expect(decodeValue(t).value).toEqual({ type: 'T', value: 2n ** 64n - 1n });
  });

  it("'t' is true for any non-zero octet", () => {
    for (let octet = 0; octet < 256; octet++) {
      expect(decodeValue(Buffer.from([0x74, octet])).value).toEqual({ type: 't', value: octet !== 0 });
    }
  });

  it("'D' reads its value as unsigned 32-bit, as RabbitMQ does", () => {
    expect(decodeValue(Buffer.from([0x44, 3, 0xff, 0xff, 0xff, 0xfe])).value).toEqual({
      type: 'D',
      value: { scale: 3, value: 0xfffffffe },
    });
  });
});

describe('invalid bytes', () => {
  const notTags = [...Array(256).keys()].filter((c) => !'tbBsuIilLfdDSxATFV'.includes(String.fromCharCode(c)));

  it('every octet that is not a known tag is refused, and marked as inside a table', () => {
    for (const tag of notTags) {
      const bytes = Buffer.concat([u32(3), Buffer.from([1, 0x6b, tag])]);
      let error: unknown;
      try {
        new Reader(bytes).table();
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(DecodeError);
      expect((error as DecodeError).insideTable).toBe(true);
    }
  });

  it('a table length beyond the payload is a DecodeError not marked as inside the table', () => {
    fc.assert(
      fc.property(byteArbs.table, fc.integer({ min: 1, max: 1000 }), (bytes, extra) => {
        const b = Buffer.from(bytes);
        b.writeUInt32BE(b.length - 4 + extra, 0);
        let error: unknown;
        try {
          new Reader(b).table();
        } catch (e) {
          error = e;
        }
        expect(error).toBeInstanceOf(DecodeError);
        expect((error as DecodeError).insideTable).toBe(false);
      }),
    );
  });

  it('skipTable (the publish-path validator) and Reader.table agree on every corrupted table', () => {
    // Corruptions: one byte changed, a range overwritten, the table cut short (length prefix kept
    // consistent so the damage lies inside the table body).
    const corrupt = fc.oneof(
      fc.tuple(byteArbs.table, fc.nat(), fc.integer({ min: 0, max: 255 })).map(([b, at, v]) => {
        const c = Buffer.from(b);
        c[at % c.length] = v;
        return c;
      }),
      fc.tuple(byteArbs.table, fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 8 })).map(([b, at, junk]) => {
        const c = Buffer.from(b);
        const p = 4 + (at % Math.max(1, c.length - 4));
        c.set(junk.subarray(0, Math.max(0, c.length - p)), p);
        return c;
      }),
      fc.tuple(byteArbs.table, fc.nat()).map(([b, cut]) => {
        const len = 4 + (cut % Math.max(1, b.length - 3));
        const c = Buffer.from(b.subarray(0, len));
        c.writeUInt32BE(len - 4, 0);
        return c;
      }),
    );
    let invalid = 0;
    fc.assert(
      fc.property(corrupt, (bytes) => {
        let readerEnd: number | 'error';
        try {
          const r = new Reader(bytes);
          r.table();
          readerEnd = r.pos;
        } catch (e) {
          if (!(e instanceof DecodeError)) throw e;
          readerEnd = 'error';
        }
        let skipEnd: number | 'error';
        try {
          skipEnd = skipTable(bytes, 0, bytes.length);
        } catch (e) {
          if (!(e instanceof DecodeError)) throw e;
          skipEnd = 'error';
        }
        if (readerEnd === 'error') invalid++;
        expect(skipEnd).toBe(readerEnd);
      }),
      { numRuns: 3000 },
    );
    // The corruptions must actually produce invalid tables for this to test anything.
    expect(invalid).toBeGreaterThan(300);
  });
});
