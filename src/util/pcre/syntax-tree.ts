/**
 * The syntax tree a PCRE pattern parses to (parser.ts builds it, matcher.ts runs it), and the byte
 * classes both sides need: Erlang's ISO-8859-1 character tables and their case pairs.
 */

export type CharSet = Uint8Array; // 256 entries, 1 = member

export type Node =
  | { readonly t: 'literal'; readonly text: string }
  | { readonly t: 'set'; readonly set: CharSet }
  | { readonly t: 'seq'; readonly items: readonly Node[] }
  | { readonly t: 'alt'; readonly alts: readonly Node[] }
  | { readonly t: 'group'; readonly index: number; readonly body: Node }
  | { readonly t: 'repeat'; readonly body: Node; readonly min: number; readonly max: number; readonly mode: RepeatMode }
  | { readonly t: 'backref'; readonly ref: BackrefTarget; readonly caseless: boolean; readonly offset: number }
  | { readonly t: 'assert'; readonly kind: AssertKind }
  | { readonly t: 'look'; readonly behind: boolean; readonly negate: boolean; readonly body: Node }
  | { readonly t: 'atomic'; readonly body: Node }
  | { readonly t: 'empty' };

export type RepeatMode = 'greedy' | 'lazy' | 'possessive';
export type AssertKind =
  | 'start' // ^ without m, \A, \G
  | 'line-start' // ^ with m
  | 'end-or-final-newline' // $ without m, \Z
  | 'line-end' // $ with m
  | 'end' // \z
  | 'word-boundary'
  | 'not-word-boundary';
export type BackrefTarget = { number: number } | { name: string };

export function emptySet(): CharSet {
  return new Uint8Array(256);
}
export function setOf(codes: Iterable<number>): CharSet {
  const s = emptySet();
  for (const c of codes) s[c] = 1;
  return s;
}
function range(from: number, to: number): number[] {
  const r: number[] = [];
  for (let c = from; c <= to; c++) r.push(c);
  return r;
}
export function negated(s: CharSet): CharSet {
  const n = emptySet();
  for (let c = 0; c < 256; c++) n[c] = s[c] ? 0 : 1;
  return n;
}

// Erlang builds PCRE with character tables for ISO-8859-1, not the C locale: bytes 0xC0-0xFE are
// letters with case, 0xAA 0xB5 0xBA 0xDF 0xFF letters without. (Recorded in
// test/access/fixtures/pcre-tables.otp25.json.) Names arrive as UTF-8, so a multi-byte character is
// seen as latin1 letters and symbols: "é" is "Ã©", a word character followed by a non-word one.
const LATIN1_LOWER = [0xaa, 0xb5, 0xba, ...range(0xdf, 0xf6), ...range(0xf8, 0xff)];
const LATIN1_UPPER = [...range(0xc0, 0xd6), ...range(0xd8, 0xde)];
export const DIGIT = setOf(range(0x30, 0x39));
const LOWER = setOf([...range(0x61, 0x7a), ...LATIN1_LOWER]);
const UPPER = setOf([...range(0x41, 0x5a), ...LATIN1_UPPER]);
export const ALPHA = setOf([...range(0x41, 0x5a), ...range(0x61, 0x7a), ...LATIN1_LOWER, ...LATIN1_UPPER]);
const ALNUM = setOf([...range(0x30, 0x39), ...range(0x41, 0x5a), ...range(0x61, 0x7a), ...LATIN1_LOWER, ...LATIN1_UPPER]);
export const WORD = setOf([...range(0x30, 0x39), ...range(0x41, 0x5a), ...range(0x61, 0x7a), 0x5f, ...LATIN1_LOWER, ...LATIN1_UPPER]);
export const SPACE = setOf([0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20]); // \s includes VT since PCRE 8.34; not 0x85 or 0xA0
export const HSPACE = setOf([0x09, 0x20, 0xa0]);
export const VSPACE = setOf([0x0a, 0x0b, 0x0c, 0x0d, 0x85]);
const XDIGIT = setOf([...range(0x30, 0x39), ...range(0x41, 0x46), ...range(0x61, 0x66)]);
const GRAPH = setOf([...range(0x21, 0x7e), ...range(0xa0, 0xff)]);
const PRINT = setOf([...range(0x20, 0x7e), ...range(0xa0, 0xff)]);
const PUNCT = setOf([...range(0x21, 0x7e), ...range(0xa0, 0xff)].filter((c) => !ALNUM[c]));
const CNTRL = setOf([...range(0x00, 0x1f), ...range(0x7f, 0x9f)]);
const BLANK = setOf([0x09, 0x20]);
// PCRE 8.44 without UTF: [:ascii:] matches every byte (as recorded; [:^ascii:] matches none).
const ASCII = setOf(range(0x00, 0xff));

export const POSIX_CLASSES: ReadonlyMap<string, CharSet> = new Map([
  ['alpha', ALPHA], ['lower', LOWER], ['upper', UPPER], ['alnum', ALNUM], ['ascii', ASCII],
  ['blank', BLANK], ['cntrl', CNTRL], ['digit', DIGIT], ['graph', GRAPH], ['print', PRINT],
  ['punct', PUNCT], ['space', SPACE], ['word', WORD], ['xdigit', XDIGIT],
]);

/** The other case of a byte under the ISO-8859-1 tables (ß and ÿ have none in one byte). */
export function otherCase(c: number): number | undefined {
  if ((c >= 0x41 && c <= 0x5a) || (c >= 0xc0 && c <= 0xde && c !== 0xd7)) return c + 0x20;
  if ((c >= 0x61 && c <= 0x7a) || (c >= 0xe0 && c <= 0xfe && c !== 0xf7)) return c - 0x20;
  return undefined;
}

/** The fixed length a node always matches, or undefined when it varies. */
export function fixedLength(node: Node): number | undefined {
  switch (node.t) {
    case 'literal':
      return node.text.length;
    case 'set':
      return 1;
    case 'empty':
    case 'assert':
    case 'look':
      return 0;
    case 'seq': {
      let n = 0;
      for (const it of node.items) {
        const l = fixedLength(it);
        if (l === undefined) return undefined;
        n += l;
      }
      return n;
    }
    case 'alt': {
      const ls = node.alts.map(fixedLength);
      return ls.every((l) => l !== undefined && l === ls[0]) ? ls[0] : undefined;
    }
    case 'group':
    case 'atomic':
      return fixedLength(node.body);
    case 'repeat': {
      if (node.min !== node.max) return undefined;
      const l = fixedLength(node.body);
      return l === undefined ? undefined : l * node.min;
    }
    case 'backref':
      return undefined;
  }
}
