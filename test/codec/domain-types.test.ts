/**
 * Property-based round trips for every AMQP domain type through Writer and Reader (spec 4.2.5):
 * the value read back equals the value written, the bytes are the spec's layout (checked against
 * Node's own big-endian writers, not Warren's), and reading consumes exactly what was written.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DecodeError, EncodeError, Reader, Writer } from '../../src/protocol/codec-primitives.js';
import { bytes, fieldTable, shortstr } from '../helpers/arbitraries.js';
import { toJson } from '../helpers/json-form.js';

/** Writes with `write`, returns the bytes and a Reader over them. */
function encoded(write: (w: Writer) => void): { buf: Buffer; r: Reader } {
  // A small initial capacity makes the writer grow mid-value, which must not change the bytes.
  const w = new Writer(1);
  write(w);
  const buf = Buffer.from(w.bytes());
  return { buf, r: new Reader(buf) };
}

function expectConsumed(r: Reader): void {
  expect(r.remaining).toBe(0);
}

describe('integers', () => {
  const cases = [
    { name: 'octet', max: 0xff, size: 1, write: (w: Writer, v: number) => w.octet(v), read: (r: Reader) => r.octet() },
    { name: 'short', max: 0xffff, size: 2, write: (w: Writer, v: number) => w.short(v), read: (r: Reader) => r.short() },
    { name: 'long', max: 0xffffffff, size: 4, write: (w: Writer, v: number) => w.long(v), read: (r: Reader) => r.long() },
  ];
  for (const c of cases) {
    it(`${c.name}: any value 0..${c.max} round-trips as ${c.size} big-endian bytes`, () => {
      fc.assert(
        fc.property(fc.integer({ min: 0, max: c.max }), (v) => {
          const { buf, r } = encoded((w) => c.write(w, v));
          const expected = Buffer.alloc(c.size);
          expected.writeUIntBE(v, 0, c.size);
          expect(buf).toEqual(expected);
          expect(c.read(r)).toBe(v);
          expectConsumed(r);
        }),
        { numRuns: 500 },
      );
    });
  }

  it('longlong: any value up to 2^53 round-trips as 8 big-endian bytes', () => {
    fc.assert(
      fc.property(fc.maxSafeNat(), (v) => {
        const { buf, r } = encoded((w) => w.longlong(v));
        const expected = Buffer.alloc(8);
        expected.writeBigUInt64BE(BigInt(v));
        expect(buf).toEqual(expected);
        expect(r.longlong()).toBe(v);
        expectConsumed(r);
      }),
      { numRuns: 500 },
    );
  });

  it('longlong: a bigint anywhere in 0..2^64-1 is written as its 8 bytes', () => {
    fc.assert(
      fc.property(fc.bigInt(0n, 2n ** 64n - 1n), (v) => {
        const { buf } = encoded((w) => w.longlong(v));
        expect(buf.readBigUInt64BE(0)).toBe(v);
        expect(buf.length).toBe(8);
      }),
    );
  });

  it('timestamp: any value in 0..2^64-1 round-trips exactly (a number up to 2^53, else a bigint)', () => {
    fc.assert(
      fc.property(fc.bigInt(0n, 2n ** 64n - 1n), (v) => {
        const { buf, r } = encoded((w) => w.timestamp(v));
        expect(buf.readBigUInt64BE(0)).toBe(v);
        const back = r.timestamp();
        expect(BigInt(back)).toBe(v);
        expect(typeof back).toBe(v <= BigInt(Number.MAX_SAFE_INTEGER) ? 'number' : 'bigint');
        expectConsumed(r);
      }),
      { numRuns: 500 },
    );
  });
});

describe('strings', () => {
  it('shortstr: any text up to 255 UTF-8 bytes round-trips as a length octet and its UTF-8', () => {
    fc.assert(
      fc.property(shortstr(), (s) => {
        const { buf, r } = encoded((w) => w.shortstr(s));
        const utf8 = Buffer.from(s, 'utf8');
        expect(buf).toEqual(Buffer.concat([Buffer.from([utf8.length]), utf8]));
        expect(r.shortstr()).toBe(s);
        expectConsumed(r);
      }),
      { numRuns: 500 },
    );
  });

  it('shortstr: more than 255 UTF-8 bytes is refused, even when fewer than 256 characters', () => {
    fc.assert(
      fc.property(fc.integer({ min: 86, max: 255 }), (n) => {
        // n three-byte characters: 258..765 bytes.
        expect(() => encoded((w) => w.shortstr('€'.repeat(n)))).toThrow(EncodeError);
      }),
      { numRuns: 50 },
    );
    expect(() => encoded((w) => w.shortstr('a'.repeat(256)))).toThrow(EncodeError);
  });

  it('shortstr: a length octet beyond the payload is a DecodeError', () => {
    fc.assert(
      fc.property(shortstr().filter((s) => s.length > 0), fc.nat(), (s, cut) => {
        const { buf } = encoded((w) => w.shortstr(s));
        const short = buf.subarray(0, 1 + (cut % (buf.length - 1)));
        expect(() => new Reader(short).shortstr()).toThrow(DecodeError);
      }),
    );
  });

  it('longstr: any bytes, and any text, round-trip as a 32-bit length and the bytes', () => {
    fc.assert(
      fc.property(fc.oneof(bytes(2000), fc.string({ unit: 'binary', maxLength: 300 })), (v) => {
        const { buf, r } = encoded((w) => w.longstr(v));
        const raw = typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
        expect(buf.readUInt32BE(0)).toBe(raw.length);
        expect(buf.subarray(4)).toEqual(raw);
        const back = r.longstr();
        expect(Buffer.isBuffer(back)).toBe(true);
        expect(back).toEqual(raw);
        expectConsumed(r);
      }),
    );
  });

  it('longstr: the value read is a copy, not a view of the frame buffer', () => {
    const { buf, r } = encoded((w) => w.longstr(Buffer.from('abc')));
    const v = r.longstr();
    buf.fill(0);
    expect(v.toString()).toBe('abc');
  });
});

describe('bits', () => {
  it('1..9 consecutive bits pack LSB-first into shared octets, between other fields', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 255 }),
        fc.array(fc.boolean(), { minLength: 1, maxLength: 9 }),
        fc.integer({ min: 0, max: 65535 }),
        (before, bits, after) => {
          const { buf, r } = encoded((w) => {
            w.octet(before);
            for (const b of bits) w.bit(b);
            w.short(after);
          });
          const packed = Math.ceil(bits.length / 8);
          expect(buf.length).toBe(1 + packed + 2);
          // Spec 4.2.5.2: bit i of the run is bit (i mod 8) of octet (i div 8), low bit first.
          bits.forEach((b, i) => expect(((buf[1 + (i >> 3)]! >> (i & 7)) & 1) === 1).toBe(b));
          // Unused high bits of the last octet are zero.
          const rest = bits.length % 8;
          if (rest !== 0) expect(buf[packed]! >> rest).toBe(0);
          expect(r.octet()).toBe(before);
          expect(bits.map(() => r.bit())).toEqual(bits);
          expect(r.short()).toBe(after);
          expectConsumed(r);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('two runs of bits separated by another field use separate octets', () => {
    fc.assert(
      fc.property(
        fc.array(fc.boolean(), { minLength: 1, maxLength: 9 }),
        fc.array(fc.boolean(), { minLength: 1, maxLength: 9 }),
        shortstr(),
        (first, second, s) => {
          const { buf, r } = encoded((w) => {
            for (const b of first) w.bit(b);
            w.shortstr(s);
            for (const b of second) w.bit(b);
          });
          expect(buf.length).toBe(Math.ceil(first.length / 8) + 1 + Buffer.byteLength(s) + Math.ceil(second.length / 8));
          expect(first.map(() => r.bit())).toEqual(first);
          expect(r.shortstr()).toBe(s);
          expect(second.map(() => r.bit())).toEqual(second);
          expectConsumed(r);
        },
      ),
    );
  });

  it('a bit with no octet left is a DecodeError', () => {
    expect(() => new Reader(Buffer.alloc(0)).bit()).toThrow(DecodeError);
  });
});

describe('table', () => {
  it('any table (every field type, nested) round-trips with its tags, values and key order', () => {
    fc.assert(
      fc.property(fieldTable(), (t) => {
        const { buf, r } = encoded((w) => w.table(t));
        expect(buf.readUInt32BE(0)).toBe(buf.length - 4);
        const back = r.table();
        expectConsumed(r);
        expect(toJson(back)).toEqual(toJson(t));
        expect([...back.keys()]).toEqual([...t.keys()]);
      }),
      { numRuns: 300 },
    );
  });

  it('an absent table is written as an empty one', () => {
    const { buf } = encoded((w) => w.table(undefined));
    expect(buf).toEqual(Buffer.from([0, 0, 0, 0]));
  });
});

describe('reader bounds', () => {
  it('every fixed-size read past the payload end throws DecodeError, even inside a larger buffer', () => {
    // The payload is a view into a larger chunk: reads must stop at `end`, not at the Buffer's end.
    const big = Buffer.alloc(64, 0xff);
    // [read, bytes it needs when the content is 0xff...]: a length prefix of 0xffffffff never fits.
    const reads: [(r: Reader) => unknown, number][] = [
      [(r) => r.octet(), 1],
      [(r) => r.short(), 2],
      [(r) => r.long(), 4],
      [(r) => r.longlong(), 8],
      [(r) => r.timestamp(), 8],
      [(r) => r.shortstr(), 256],
      [(r) => r.longstr(), 64],
      [(r) => r.table(), 64],
      [(r) => r.bit(), 1],
    ];
    for (const [read, need] of reads) {
      for (let avail = 0; avail < Math.min(need, 54); avail++) {
        expect(() => read(new Reader(big, 10, 10 + avail))).toThrow(DecodeError);
      }
    }
  });
});
