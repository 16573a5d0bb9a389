import { describe, expect, it } from 'vitest';
import { erlangBinary, erlangFloat, erlangString, erlangTerm } from '../../src/protocol/erlang-term.js';
import { FloatValue } from '../../src/util/json.js';
import floats from './fixtures/erlang-floats.otp25.json' with { type: 'json' };

describe("erlangFloat: OTP 25's ~p of a float", () => {
  it(`prints ${floats.floats.length} recorded floats as erl did`, () => {
    const got = floats.floats.map(([value]) => [value, erlangFloat(value as number)]);
    expect(got).toEqual(floats.floats);
  });
});

describe('erlangTerm: JSON values as RabbitMQ prints them in validation errors', () => {
  it('prints each kind of value', () => {
    expect(erlangTerm(-1)).toBe('-1');
    expect(erlangTerm(12345678901234567890n)).toBe('12345678901234567890');
    expect(erlangTerm(new FloatValue(1000))).toBe('1.0e3');
    expect(erlangTerm(1.5)).toBe('1.5');
    expect(erlangTerm('abc')).toBe('<<"abc">>');
    expect(erlangTerm('')).toBe('<<>>');
    expect(erlangTerm('café')).toBe('<<"café">>');
    expect(erlangTerm('€')).toBe('<<226,130,172>>');
    expect(erlangTerm('a"b\\c\nd')).toBe('<<"a\\"b\\\\c\\nd">>');
    expect(erlangTerm(true)).toBe('true');
    expect(erlangTerm(null)).toBe('null');
    expect(erlangTerm([1, 'x'])).toBe('[1,<<"x">>]');
    expect(erlangTerm([104, 105])).toBe('"hi"');
    expect(erlangTerm([])).toBe('[]');
    expect(erlangTerm({ b: 1, B: [true, null], a: {} })).toBe('#{<<"B">> => [true,null],<<"a">> => #{},<<"b">> => 1}');
  });

  it('binaries and strings', () => {
    expect(erlangBinary('x')).toBe('<<"x">>');
    expect(erlangString('\\ at end of pattern')).toBe('"\\\\ at end of pattern"');
  });
});
