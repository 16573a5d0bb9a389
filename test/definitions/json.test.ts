import { describe, expect, it } from 'vitest';
import { FloatValue, JsonParseError, isJsonInteger, isJsonNumber, isJsonObject, jsonNumber, parseJson } from '../../src/util/json.js';

const error = (text: string): { reason: string; line: number; column: number } | undefined => {
  try {
    parseJson(text);
    return undefined;
  } catch (e) {
    if (!(e instanceof JsonParseError)) throw e;
    return { reason: e.reason, line: e.line, column: e.column };
  }
};

describe('parseJson', () => {
  it('parses what JSON.parse parses, to the same values, for documents without integral floats', () => {
    for (const text of ['{"a":[1,2.5,"x",true,false,null,{"b":{}}]}', '[]', '"\\u00e9\\n\\"\\\\\\/"', '-0.5', '  7  ', '{"__proto__":1}']) {
      expect(JSON.stringify(parseJson(text))).toBe(JSON.stringify(JSON.parse(text)));
    }
  });

  it('keeps integral floats as floats, and big integers exact', () => {
    expect(parseJson('1.0')).toEqual(new FloatValue(1));
    expect(parseJson('1e3')).toEqual(new FloatValue(1000));
    expect(parseJson('1.5')).toBe(1.5);
    expect(parseJson('12345678901234567890')).toBe(12345678901234567890n);
    expect(parseJson('-0')).toBe(0);
    expect(isJsonInteger(parseJson('3'))).toBe(true);
    expect(isJsonInteger(parseJson('3.0'))).toBe(false);
    expect(isJsonNumber(parseJson('3.0'))).toBe(true);
    expect(jsonNumber(parseJson('3.0') as FloatValue)).toBe(3);
  });

  it('a key __proto__ is an own property, not the prototype', () => {
    const v = parseJson('{"__proto__":{"polluted":true}}') as Record<string, unknown>;
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
    expect(Object.keys(v)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(isJsonObject(v)).toBe(true);
  });

  it('a repeated key keeps its last value', () => {
    expect(parseJson('{"a":1,"a":2}')).toEqual({ a: 2 });
  });

  it('says where the document is wrong', () => {
    expect(error('{"a":1,}')).toEqual({ reason: 'expected a string as object key', line: 1, column: 8 });
    expect(error('{\n  "a": tru\n}')).toEqual({ reason: 'unexpected character "t"', line: 2, column: 8 });
    expect(error('[1 2]')).toEqual({ reason: "expected ',' or ']' in an array", line: 1, column: 4 });
    expect(error('"abc')).toEqual({ reason: 'unterminated string', line: 1, column: 1 });
    expect(error('{} x')).toEqual({ reason: 'unexpected text after the JSON value', line: 1, column: 4 });
    expect(error('')).toEqual({ reason: 'unexpected end of input', line: 1, column: 1 });
    expect(error('01')?.reason).toBe('unexpected text after the JSON value');
    expect(error('"\u0001"')?.reason).toBe('control character in a string');
    expect(error('"\\x"')?.reason).toBe('invalid escape in a string');
    expect(error('1e999')?.reason).toBe('number out of range');
  });

  it('refuses nesting deep enough to exhaust the stack', () => {
    expect(error(`${'['.repeat(100_000)}${']'.repeat(100_000)}`)?.reason).toBe('nested deeper than 512 levels');
    expect(parseJson(`${'['.repeat(500)}${']'.repeat(500)}`)).toBeInstanceOf(Array);
  });
});
