import { describe, expect, it } from 'vitest';
import { MATCH_STEP_LIMIT, PcreSyntaxError, PcreUnsupportedError, byteString, compilePcre } from '../../src/util/pcre.js';
import corpus from './fixtures/pcre-semantics.otp25.json' with { type: 'json' };
import rabbit from './fixtures/regex-semantics.rabbitmq-3.10.8.json' with { type: 'json' };
import tables from './fixtures/pcre-tables.otp25.json' with { type: 'json' };

interface Case {
  pattern: string;
  error?: { message: string; offset: number };
  results?: { subject: string; match: boolean }[];
}

/**
 * Patterns Erlang's re accepts that Warren refuses (PcreUnsupportedError) instead of matching
 * differently. Each is a construct no permission or policy pattern needs.
 */
const UNSUPPORTED = new Set([
  '^\\pL$', '\\K', '^\\X$', '^(?|(a)|(b))\\1$', '^(a|b(?1))$', '(?P<n>a)(?P>n)', '(*UTF8)x', '(?C)x', '(?U)a+', '(?J)(?<n>a)|(?<n>b)',
  // (?X) makes unknown escapes errors; re then refuses \y, Warren refuses the option.
  '(?X)\\y',
  // Recursion: re refuses this one at compile time, Warren refuses recursion altogether.
  '(?R)?x',
  // A conditional on a group that does not exist: re says so, Warren refuses conditionals.
  '^(?(1)a|b)$',
]);

describe('patterns replayed from Erlang re (PCRE 8.44)', () => {
  for (const c of corpus.cases as Case[]) {
    const label = JSON.stringify(c.pattern);
    if (UNSUPPORTED.has(c.pattern)) {
      it(`${label}: refused as unsupported`, () => {
        expect(() => compilePcre(c.pattern)).toThrow(PcreUnsupportedError);
      });
      continue;
    }
    if (c.error !== undefined) {
      it(`${label}: refused with re's message "${c.error.message}" at offset ${c.error.offset}`, () => {
        let error: unknown;
        try {
          compilePcre(c.pattern);
        } catch (e) {
          error = e;
        }
        expect(error).toBeInstanceOf(PcreSyntaxError);
        expect({ message: (error as PcreSyntaxError).message, offset: (error as PcreSyntaxError).offset }).toEqual(c.error);
      });
      continue;
    }
    it(`${label}: matches what re matches`, () => {
      const p = compilePcre(c.pattern);
      const got = c.results!.map((r) => ({ subject: r.subject, match: p.test(r.subject) }));
      expect(got).toEqual(c.results);
    });
  }
});

describe('permission regexes as RabbitMQ 3.10.8 applied them (basic.get with a read permission)', () => {
  for (const r of rabbit.results) {
    if (r.valid && r.matches === null) continue; // the empty name cannot be probed with basic.get
    const label = `${JSON.stringify(r.pattern)} on ${JSON.stringify(r.name)}`;
    if (!r.valid) {
      it(`${label}: set_permissions refused the regex`, () => {
        expect(() => compilePcre(r.pattern)).toThrow(PcreSyntaxError);
      });
      continue;
    }
    it(`${label}: ${r.matches ? 'granted' : 'refused'}`, () => {
      const pattern = r.pattern === '' ? '^$' : r.pattern; // rabbit_auth_backend_internal: '' means ^$
      expect(compilePcre(pattern).test(r.name)).toBe(r.matches);
    });
  }
});

describe("character tables: Erlang's ISO-8859-1 tables, byte by byte", () => {
  const bytes = [...Array(256).keys()];
  for (const [cls, members] of Object.entries(tables.classes)) {
    it(`${cls} matches exactly the recorded bytes`, () => {
      const p = compilePcre(`^(?:${cls})$`);
      expect(bytes.filter((b) => p.test(Buffer.from([b])))).toEqual(members);
    });
  }
  it('caseless matching pairs exactly the recorded bytes', () => {
    const got: Record<string, number[]> = {};
    for (const b of bytes) {
      const p = compilePcre(`^(?i)\\x{${b.toString(16)}}$`);
      got[String(b)] = bytes.filter((x) => x !== b && p.test(Buffer.from([x])));
    }
    expect(got).toEqual(tables.caseless);
  });
});

describe('the engine itself', () => {
  it('gives up past the step limit and says no match, as re:run does at its match limit', () => {
    const evil = compilePcre('^(a+)+$');
    expect(evil.test(`${'a'.repeat(40)}b`)).toBe(false);
    // The same pattern still answers normally afterwards, including a match that takes many steps.
    expect(evil.test('aaaa')).toBe(true);
    expect(evil.test('a'.repeat(255))).toBe(true);
    expect(MATCH_STEP_LIMIT).toBeLessThan(10_000_000); // PCRE's default match_limit
  });

  it('does not exhaust the stack on a long subject with a complex repeated group', () => {
    const p = compilePcre('^(?:ab|c)*$');
    expect(p.test('ab'.repeat(50_000))).toBe(false); // too deep or too long: no match, no crash
    expect(p.test('ab'.repeat(100))).toBe(true);
  });

  it('matches Buffers by their bytes and strings by their UTF-8 bytes', () => {
    const p = compilePcre('^\\xc3\\xa9$');
    expect(p.test(Buffer.from('é'))).toBe(true);
    expect(p.test('é')).toBe(true);
    expect(byteString('é')).toBe('\u00c3\u00a9');
    expect(byteString('plain')).toBe('plain');
  });

  it('keeps the source it was given', () => {
    expect(compilePcre('^a.*').source).toBe('^a.*');
  });

  it('is reusable: captures from one test do not leak into the next', () => {
    const p = compilePcre('^(?:(a)|b)\\1?c$');
    expect(p.test('aac')).toBe(true);
    expect(p.test('bc')).toBe(true);
  });
});
