/**
 * Every walk over field values handles nesting far deeper than the call stack (issue 19): RabbitMQ
 * decodes any depth that fits in a frame, so Warren's decoder, encoder, publish-path validator
 * (skipTable), equality checks, plain conversion and Erlang-term rendering must too. The depths here
 * (200,000) are beyond what any recursive walk survives with Node's default stack, and about what a
 * frame of 1 MiB (frame_max can be raised) holds.
 */
import { describe, expect, it } from 'vitest';
import { DecodeError, Reader, Writer } from '../../src/protocol/codec-primitives.js';
import { fieldValuesEqual, fv, plainValue, sameStructure, tablesEqual, toPlain, type FieldValue } from '../../src/protocol/field-table.js';
import { skipTable } from '../../src/message/message.js';
import { erlangTerm } from '../../src/protocol/erlang-format.js';
import { erlangEqual } from '../../src/exchange/headers.js';
import { deepFieldValue, measureNesting, tableWith, type Nesting } from '../helpers/deep-fields.js';

const DEPTH = 200_000;

/** A value nested `depth` deep built as objects (iteratively), the longstr `leaf` at the bottom. */
function deepValue(depth: number, nesting: Nesting, leaf = 'bottom'): FieldValue {
  let v: FieldValue = fv.str(leaf);
  for (let i = depth - 1; i >= 0; i--) {
    const table = nesting === 'table' || (nesting === 'mixed' && i % 2 === 0);
    v = table ? fv.table(new Map([['d', v]])) : fv.array([v]);
  }
  return v;
}

describe(`field values nested ${DEPTH.toLocaleString('en')} deep`, () => {
  for (const nesting of ['table', 'array', 'mixed'] as const) {
    it(`${nesting}s decode, and re-encode to the same bytes`, () => {
      const bytes = deepFieldValue(DEPTH, nesting);
      const r = new Reader(bytes);
      const v = r.fieldValue();
      expect(r.pos).toBe(bytes.length);
      expect(measureNesting(v)).toEqual({ depth: DEPTH, leaf: 'bottom' });
      const w = new Writer(16);
      w.fieldValue(v);
      expect(Buffer.from(w.bytes()).equals(bytes)).toBe(true);
    });
  }

  it('a table holding one decodes with Reader.table and passes the publish-path validator', () => {
    const bytes = Buffer.concat([tableWith('deep', deepFieldValue(DEPTH, 'mixed')), Buffer.from([0xff])]);
    expect(skipTable(bytes, 0, bytes.length)).toBe(bytes.length - 1);
    const r = new Reader(bytes, 0, bytes.length - 1);
    const t = r.table();
    expect(r.pos).toBe(bytes.length - 1);
    expect(measureNesting(t.get('deep')!)).toEqual({ depth: DEPTH, leaf: 'bottom' });
    const w = new Writer(16);
    w.table(t);
    expect(Buffer.from(w.bytes()).equals(bytes.subarray(0, -1))).toBe(true);
  });

  it('a wrong length at the bottom is a DecodeError inside the table, from the decoder and the validator alike', () => {
    // The innermost longstr "bottom" claims 7 bytes where 6 are left: every length above it is fine.
    const cut = tableWith('deep', deepFieldValue(DEPTH, 'mixed', 'bottom'));
    cut.writeUInt32BE(7, cut.length - 6 - 4);
    expect(() => skipTable(cut, 0, cut.length)).toThrow(DecodeError);
    let err: unknown;
    try {
      new Reader(cut).table();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DecodeError);
    expect((err as DecodeError).insideTable).toBe(true);
  });

  it('equality, in both table orders, sees the one differing leaf at the bottom', () => {
    const a = deepValue(DEPTH, 'mixed', 'x');
    expect(fieldValuesEqual(a, deepValue(DEPTH, 'mixed', 'x'))).toBe(true);
    expect(fieldValuesEqual(a, deepValue(DEPTH, 'mixed', 'y'))).toBe(false);
    expect(sameStructure(a, deepValue(DEPTH, 'mixed', 'x'), fieldValuesEqual, 'inOrder')).toBe(true);
    expect(sameStructure(a, deepValue(DEPTH, 'mixed', 'y'), fieldValuesEqual, 'inOrder')).toBe(false);
    expect(tablesEqual(new Map([['k', a]]), new Map([['k', deepValue(DEPTH, 'mixed', 'x')]]))).toBe(true);
    expect(erlangEqual(a, deepValue(DEPTH, 'mixed', 'x'))).toBe(true);
    expect(erlangEqual(a, deepValue(DEPTH, 'mixed', 'y'))).toBe(false);
  });

  it('converts to plain values and renders as an Erlang term', () => {
    const v = deepValue(DEPTH, 'mixed');
    let plain = plainValue(v);
    for (let i = 0; i < DEPTH; i++) plain = i % 2 === 0 ? (plain as Record<string, unknown>).d : (plain as unknown[])[0];
    expect(plain).toBe('bottom');
    expect(Object.keys(toPlain(new Map([['k', v]])))).toEqual(['k']);
    const term = erlangTerm(deepValue(DEPTH, 'table'));
    expect(term.startsWith('[{<<"d">>,table,[{<<"d">>,table,[')).toBe(true);
    expect(term.endsWith(`[{<<"d">>,longstr,<<"bottom">>}]${'}]'.repeat(DEPTH - 1)}`)).toBe(true);
    // And shallow ones as before (the format RabbitMQ's ~p gives on one line).
    const shallow = fv.table(new Map<string, FieldValue>([
      ['a', fv.array([fv.int(1), fv.str('x'), fv.table(new Map())])],
      ['b', fv.bool(true)],
    ]));
    expect(erlangTerm(shallow)).toBe('[{<<"a">>,array,[{signedint,1},{longstr,<<"x">>},{table,[]}]},{<<"b">>,bool,true}]');
    expect(erlangTerm(fv.array([]))).toBe('[]');
  });
});
