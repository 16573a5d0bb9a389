/**
 * Regular expressions as RabbitMQ evaluates them: Erlang's `re` (PCRE 8.44 on OTP 25), called as
 * re:compile(Pattern) to validate and re:run(Subject, Pattern, [{capture, none}]) to match, on binaries
 * without the `unicode` option. That is what permissions, topic permissions and policy patterns use
 * (rabbit_auth_backend_internal, rabbit_policy, rabbit_parameter_validation:regex/2).
 *
 * Why not JavaScript's RegExp: the semantics differ in ways that change who may do what.
 * - PCRE sees bytes: "é" is two characters, `^.$` does not match it, `[é]` is a class of two bytes.
 * - `$` also matches before a final newline; `.` matches `\r`; `\s` has no U+00A0; case folding is
 *   ASCII only; `[]a]` is a class of `]` and `a`; `\8` is a literal 8; `\x{41}` is A.
 * - A backreference to a group that did not take part fails; JavaScript's matches the empty string.
 *   A repeated group keeps its previous capture when an iteration does not set it; JavaScript's clears it.
 * - Inline option changes (`(?i)` in the middle, `(?i:...)`), atomic groups, possessive quantifiers,
 *   `\Q...\E`, POSIX classes, `\A \z \Z \G \R \h \v` exist.
 * - re:run stops at a match limit and answers "nomatch"; JavaScript backtracks forever, and the names
 *   and routing keys tested come from clients. A careless `^(a+)+$` must not stall the broker.
 *
 * So this module parses the PCRE syntax itself and matches with a small backtracking engine over the
 * subject's UTF-8 bytes (held as a latin1 string, one char per byte), counting steps. Constructs that
 * re accepts but this engine does not implement (recursion, conditionals, branch reset, backtracking
 * verbs, callouts, \K \X \p, the J U X options) are refused with PcreUnsupportedError rather than
 * matched differently. test/access/pcre.test.ts replays a corpus recorded from Erlang's re.
 */

/** re:compile refused the pattern; `message` is PCRE's own text, `offset` a byte offset into it. */
export class PcreSyntaxError extends Error {
  override name = 'PcreSyntaxError';
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

/** re accepts the pattern but Warren does not implement what it uses. */
export class PcreUnsupportedError extends Error {
  override name = 'PcreUnsupportedError';
  constructor(
    readonly construct: string,
    readonly offset: number,
  ) {
    super(`${construct} is not supported by Warren's regular expressions (at byte ${offset})`);
  }
}

export interface CompiledPattern {
  /** The pattern as given. */
  readonly source: string;
  /** re:run(Subject, Pattern, [{capture, none}]) =:= match. */
  test(subject: string | Buffer): boolean;
}

/**
 * How many matcher steps one test may take. PCRE's default match_limit is 10,000,000 calls of its
 * internal match(), and Erlang's re:run yields to other processes while it works; Warren's matcher
 * runs on the event loop, so its limit is lower: about 3 ms for a hostile subject. An ordinary
 * permission pattern on a 255-byte name takes well under a thousand steps. Past the limit the answer
 * is "no match", as re:run's.
 */
export const MATCH_STEP_LIMIT = 100_000;

/** The UTF-8 bytes of a string, one latin1 char per byte: the subject as PCRE sees it. */
export function byteString(s: string | Buffer): string {
  if (typeof s !== 'string') return s.toString('latin1');
  // ASCII needs no conversion, and it is what nearly every name is.
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return Buffer.from(s, 'utf8').toString('latin1');
  return s;
}

export function compilePcre(pattern: string): CompiledPattern {
  // Erlang hands the pattern to pcre_compile as a C string: a NUL byte ends it.
  let bytes = byteString(pattern);
  const nul = bytes.indexOf('\u0000');
  if (nul >= 0) bytes = bytes.slice(0, nul);
  const tree = new Parser(bytes).parse();
  const program = new Program(tree.node, tree.groups);
  return {
    source: pattern,
    test: (subject) => program.run(byteString(subject)),
  };
}

// ---------------------------------------------------------------------------------------------
// Syntax tree

type CharSet = Uint8Array; // 256 entries, 1 = member

type Node =
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

type RepeatMode = 'greedy' | 'lazy' | 'possessive';
type AssertKind =
  | 'start' // ^ without m, \A, \G
  | 'line-start' // ^ with m
  | 'end-or-final-newline' // $ without m, \Z
  | 'line-end' // $ with m
  | 'end' // \z
  | 'word-boundary'
  | 'not-word-boundary';
type BackrefTarget = { number: number } | { name: string };

interface Options {
  caseless: boolean;
  multiline: boolean;
  dotall: boolean;
  extended: boolean;
}

const MAX_QUANTIFIER = 65535;

function emptySet(): CharSet {
  return new Uint8Array(256);
}
function setOf(codes: Iterable<number>): CharSet {
  const s = emptySet();
  for (const c of codes) s[c] = 1;
  return s;
}
function range(from: number, to: number): number[] {
  const r: number[] = [];
  for (let c = from; c <= to; c++) r.push(c);
  return r;
}
function negated(s: CharSet): CharSet {
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
const DIGIT = setOf(range(0x30, 0x39));
const LOWER = setOf([...range(0x61, 0x7a), ...LATIN1_LOWER]);
const UPPER = setOf([...range(0x41, 0x5a), ...LATIN1_UPPER]);
const ALPHA = setOf([...range(0x41, 0x5a), ...range(0x61, 0x7a), ...LATIN1_LOWER, ...LATIN1_UPPER]);
const ALNUM = setOf([...range(0x30, 0x39), ...range(0x41, 0x5a), ...range(0x61, 0x7a), ...LATIN1_LOWER, ...LATIN1_UPPER]);
const WORD = setOf([...range(0x30, 0x39), ...range(0x41, 0x5a), ...range(0x61, 0x7a), 0x5f, ...LATIN1_LOWER, ...LATIN1_UPPER]);
const SPACE = setOf([0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20]); // \s includes VT since PCRE 8.34; not 0x85 or 0xA0
const HSPACE = setOf([0x09, 0x20, 0xa0]);
const VSPACE = setOf([0x0a, 0x0b, 0x0c, 0x0d, 0x85]);
const XDIGIT = setOf([...range(0x30, 0x39), ...range(0x41, 0x46), ...range(0x61, 0x66)]);
const GRAPH = setOf([...range(0x21, 0x7e), ...range(0xa0, 0xff)]);
const PRINT = setOf([...range(0x20, 0x7e), ...range(0xa0, 0xff)]);
const PUNCT = setOf([...range(0x21, 0x7e), ...range(0xa0, 0xff)].filter((c) => !ALNUM[c]));
const CNTRL = setOf([...range(0x00, 0x1f), ...range(0x7f, 0x9f)]);
const BLANK = setOf([0x09, 0x20]);
// PCRE 8.44 without UTF: [:ascii:] matches every byte (as recorded; [:^ascii:] matches none).
const ASCII = setOf(range(0x00, 0xff));

const POSIX_CLASSES: ReadonlyMap<string, CharSet> = new Map([
  ['alpha', ALPHA], ['lower', LOWER], ['upper', UPPER], ['alnum', ALNUM], ['ascii', ASCII],
  ['blank', BLANK], ['cntrl', CNTRL], ['digit', DIGIT], ['graph', GRAPH], ['print', PRINT],
  ['punct', PUNCT], ['space', SPACE], ['word', WORD], ['xdigit', XDIGIT],
]);

const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';
const isOctal = (c: string | undefined) => c !== undefined && c >= '0' && c <= '7';
const isHex = (c: string | undefined) => c !== undefined && /^[0-9a-fA-F]$/.test(c);
const isNameStart = (c: string | undefined) => c !== undefined && /^[A-Za-z_]$/.test(c);
const isNameChar = (c: string | undefined) => c !== undefined && /^[A-Za-z0-9_]$/.test(c);

/** The other case of a byte under the ISO-8859-1 tables (ß and ÿ have none in one byte). */
function otherCase(c: number): number | undefined {
  if ((c >= 0x41 && c <= 0x5a) || (c >= 0xc0 && c <= 0xde && c !== 0xd7)) return c + 0x20;
  if ((c >= 0x61 && c <= 0x7a) || (c >= 0xe0 && c <= 0xfe && c !== 0xf7)) return c - 0x20;
  return undefined;
}

/** A single character or a class, as an escape sequence or class item yields it. */
type Atom = { char: number } | { set: CharSet };

/** An item of a sequence; `prefix` is the rest of a \Q..\E run, whose last character is `node`. */
interface ParsedAtom {
  node: Node;
  quantifiable: boolean;
  prefix?: Node[];
}

// ---------------------------------------------------------------------------------------------
// Parser

class Parser {
  private pos = 0;
  private groupCount = 0;
  private readonly names = new Map<string, number>();
  private readonly backrefs: { node: { ref: BackrefTarget; offset: number } }[] = [];

  constructor(private readonly p: string) {}

  parse(): { node: Node; groups: number } {
    const options: Options = { caseless: false, multiline: false, dotall: false, extended: false };
    const node = this.alternation(options, false);
    if (this.pos < this.p.length) {
      // Only an unmatched ')' stops the top level early.
      throw new PcreSyntaxError('unmatched parentheses', this.pos);
    }
    for (const { node: b } of this.backrefs) {
      if ('name' in b.ref) {
        if (!this.names.has(b.ref.name)) throw new PcreSyntaxError('reference to non-existent subpattern', b.offset);
      } else if (b.ref.number > this.groupCount) {
        throw new PcreSyntaxError('reference to non-existent subpattern', this.p.length);
      }
    }
    return { node: resolveNames(node, this.names), groups: this.groupCount };
  }

  /** Alternatives up to a ')' (inGroup) or the end. Option settings carry across '|' within a group. */
  private alternation(options: Options, inGroup: boolean): Node {
    const alts: Node[] = [this.sequence(options, inGroup)];
    while (this.p[this.pos] === '|') {
      this.pos++;
      alts.push(this.sequence(options, inGroup));
    }
    return alts.length === 1 ? alts[0]! : { t: 'alt', alts };
  }

  private sequence(options: Options, inGroup: boolean): Node {
    const items: Node[] = [];
    for (;;) {
      this.skipIgnorable(options);
      const c = this.p[this.pos];
      if (c === undefined || c === '|') break;
      if (c === ')') {
        if (inGroup) break;
        throw new PcreSyntaxError('unmatched parentheses', this.pos);
      }
      const atom = this.atom(options);
      if (atom === undefined) continue; // an option setting or \E: nothing to match
      if (atom.prefix !== undefined) items.push(...atom.prefix);
      this.skipIgnorable(options);
      const q = this.quantifier();
      if (q === undefined) {
        items.push(atom.node);
        continue;
      }
      if (!atom.quantifiable) throw new PcreSyntaxError('nothing to repeat', this.pos - q.length);
      this.skipIgnorable(options);
      if (this.quantifierAhead()) {
        const brace = this.p[this.pos] === '{' ? this.braceQuantifier(this.pos) : undefined;
        throw new PcreSyntaxError('nothing to repeat', brace === undefined ? this.pos : brace.end - 1);
      }
      items.push(repeatOf(atom.node, q));
    }
    return items.length === 1 ? items[0]! : items.length === 0 ? { t: 'empty' } : { t: 'seq', items: mergeLiterals(items) };
  }

  /** Whitespace and # comments in extended mode, and (?#...) comments anywhere. */
  private skipIgnorable(options: Options): void {
    for (;;) {
      const c = this.p[this.pos];
      if (options.extended && c !== undefined && ' \t\n\u000b\f\r'.includes(c)) {
        this.pos++;
      } else if (options.extended && c === '#') {
        while (this.pos < this.p.length && this.p[this.pos] !== '\n') this.pos++;
      } else if (c === '\\' && this.p[this.pos + 1] === 'E') {
        this.pos += 2; // \E without \Q: ignored
      } else if (c === '(' && this.p.startsWith('(?#', this.pos)) {
        const end = this.p.indexOf(')', this.pos + 3);
        if (end < 0) throw new PcreSyntaxError('missing ) after comment', this.p.length);
        this.pos = end + 1;
      } else {
        return;
      }
    }
  }

  private quantifierAhead(): boolean {
    const c = this.p[this.pos];
    if (c === '*' || c === '+' || c === '?') return true;
    return c === '{' && this.braceQuantifier(this.pos) !== undefined;
  }

  /** {n}, {n,}, {n,m} at `at`, or undefined when the brace is a literal. */
  private braceQuantifier(at: number): { min: number; max: number; end: number } | undefined {
    const m = /^\{(\d+)(,(\d*))?\}/.exec(this.p.slice(at, at + 24));
    if (m === null) return undefined;
    const min = Number(m[1]);
    const max = m[2] === undefined ? min : m[3] === '' ? Infinity : Number(m[3]);
    const end = at + m[0].length;
    if (min > MAX_QUANTIFIER || (max !== Infinity && max > MAX_QUANTIFIER)) throw new PcreSyntaxError('number too big in {} quantifier', end - 1);
    if (max < min) throw new PcreSyntaxError('numbers out of order in {} quantifier', end - 1);
    return { min, max, end };
  }

  private quantifier(): { min: number; max: number; mode: RepeatMode; length: number } | undefined {
    const start = this.pos;
    const c = this.p[this.pos];
    let min: number;
    let max: number;
    if (c === '*') [min, max] = [0, Infinity];
    else if (c === '+') [min, max] = [1, Infinity];
    else if (c === '?') [min, max] = [0, 1];
    else if (c === '{') {
      const b = this.braceQuantifier(this.pos);
      if (b === undefined) return undefined;
      [min, max] = [b.min, b.max];
      this.pos = b.end - 1;
    } else return undefined;
    this.pos++;
    let mode: RepeatMode = 'greedy';
    if (this.p[this.pos] === '?') {
      mode = 'lazy';
      this.pos++;
    } else if (this.p[this.pos] === '+') {
      mode = 'possessive';
      this.pos++;
    }
    return { min, max, mode, length: this.pos - start };
  }

  /** One item; undefined for things that match nothing and take no quantifier of their own. */
  private atom(options: Options): ParsedAtom | undefined {
    const c = this.p[this.pos]!;
    switch (c) {
      case '(':
        return this.group(options);
      case '[':
        return { node: { t: 'set', set: this.charClass(options) }, quantifiable: true };
      case '.':
        this.pos++;
        return { node: { t: 'set', set: options.dotall ? negated(emptySet()) : negated(setOf([0x0a])) }, quantifiable: true };
      case '^':
        this.pos++;
        return { node: { t: 'assert', kind: options.multiline ? 'line-start' : 'start' }, quantifiable: false };
      case '$':
        this.pos++;
        return { node: { t: 'assert', kind: options.multiline ? 'line-end' : 'end-or-final-newline' }, quantifiable: false };
      case '*':
      case '+':
      case '?':
        throw new PcreSyntaxError('nothing to repeat', this.pos);
      case '{':
        if (this.braceQuantifier(this.pos) !== undefined) throw new PcreSyntaxError('nothing to repeat', this.pos);
        this.pos++;
        return { node: this.literal(0x7b, options), quantifiable: true };
      case '\\':
        return this.escape(options);
      default:
        this.pos++;
        return { node: this.literal(c.charCodeAt(0), options), quantifiable: true };
    }
  }

  private literal(code: number, options: Options): Node {
    const other = options.caseless ? otherCase(code) : undefined;
    if (other === undefined) return { t: 'literal', text: String.fromCharCode(code) };
    return { t: 'set', set: setOf([code, other]) };
  }

  private atomNode(a: Atom, options: Options): Node {
    return 'char' in a ? this.literal(a.char, options) : { t: 'set', set: a.set };
  }

  private escape(options: Options): ParsedAtom | undefined {
    const at = this.pos;
    this.pos++; // the backslash
    const c = this.p[this.pos];
    if (c === undefined) throw new PcreSyntaxError('\\ at end of pattern', this.pos);
    const assertion = (kind: AssertKind) => {
      this.pos++;
      return { node: { t: 'assert', kind } as Node, quantifiable: false };
    };
    switch (c) {
      case 'A':
      case 'G': // the match starts at offset 0, so \G is \A
        return assertion('start');
      case 'z':
        return assertion('end');
      case 'Z':
        return assertion('end-or-final-newline');
      case 'b':
        return assertion('word-boundary');
      case 'B':
        return assertion('not-word-boundary');
      case 'Q': {
        this.pos++;
        const end = this.p.indexOf('\\E', this.pos);
        const text = this.p.slice(this.pos, end < 0 ? this.p.length : end);
        this.pos = end < 0 ? this.p.length : end + 2;
        if (text.length === 0) return undefined;
        const items = [...text].map((ch) => this.literal(ch.charCodeAt(0), options));
        // Like any literal run, a quantifier after \Q..\E applies to its last character.
        const last = items.pop()!;
        return { node: last, quantifiable: true, prefix: items };
      }
      case 'R': {
        this.pos++;
        // (?>\r\n|\n|\x0b|\f|\r|\x85)
        const node: Node = { t: 'atomic', body: { t: 'alt', alts: [{ t: 'literal', text: '\r\n' }, { t: 'set', set: VSPACE }] } };
        return { node, quantifiable: true };
      }
      case 'N':
        if (this.p[this.pos + 1] === '{') throw new PcreSyntaxError('PCRE does not support \\L, \\l, \\N{name}, \\U, or \\u', this.pos);
        this.pos++;
        return { node: { t: 'set', set: negated(setOf([0x0a])) }, quantifiable: true };
      case 'C':
        this.pos++;
        return { node: { t: 'set', set: negated(emptySet()) }, quantifiable: true };
      case 'K':
        throw new PcreUnsupportedError('\\K', at);
      case 'X':
        throw new PcreUnsupportedError('\\X', at);
      case 'p':
      case 'P':
        throw new PcreUnsupportedError(`\\${c}`, at);
      case 'g':
        return this.gReference(options, at);
      case 'k':
        return this.kReference(options);
      default:
        break;
    }
    if (c >= '1' && c <= '9') {
      const digits = /^\d+/.exec(this.p.slice(this.pos))![0];
      const n = Number(digits);
      if (n < 8 || n <= this.groupCount) {
        this.pos += digits.length;
        return { node: this.backref({ number: n }, options, at), quantifiable: true };
      }
      if (c === '8' || c === '9') {
        this.pos++;
        return { node: this.literal(c.charCodeAt(0), options), quantifiable: true };
      }
      // Not a reference: up to three octal digits.
    }
    const a = this.charEscape();
    return { node: this.atomNode(a, options), quantifiable: true };
  }

  private backref(ref: BackrefTarget, options: Options, offset: number): Node {
    const node = { t: 'backref' as const, ref, caseless: options.caseless, offset };
    this.backrefs.push({ node });
    return node;
  }

  /** \g references, read the way PCRE 8.44's check_escape reads them (errors at the same offsets). */
  private gReference(options: Options, at: number): ParsedAtom {
    const g = this.pos; // at the g
    const next = this.p[g + 1];
    if (next === '<' || next === "'") throw new PcreUnsupportedError('subroutine call \\g<...>', at);
    let q = g;
    let braced = false;
    if (next === '{') {
      let e = g + 2;
      while (this.p[e] === '-' || isDigit(this.p[e])) e++;
      if (this.p[e] !== undefined && this.p[e] !== '}') {
        // \g{name} is \k{name}.
        this.pos = g + 2;
        const name = this.name('}');
        return { node: this.backref({ name }, options, this.pos - 1), quantifiable: true };
      }
      braced = true;
      q++;
    }
    let negative = false;
    if (this.p[q + 1] === '-') {
      negative = true;
      q++;
    }
    let n = 0;
    while (isDigit(this.p[q + 1])) n = n * 10 + Number(this.p[++q]);
    if (braced && this.p[++q] !== '}') {
      throw new PcreSyntaxError('\\g is not followed by a braced, angle-bracketed, or quoted name/number or by a plain number', q);
    }
    if (n === 0) throw new PcreSyntaxError('a numbered reference must not be zero', q);
    if (negative) {
      if (n > this.groupCount) throw new PcreSyntaxError('reference to non-existent subpattern', q);
      n = this.groupCount - (n - 1);
    }
    this.pos = q + 1;
    return { node: this.backref({ number: n }, options, at), quantifiable: true };
  }

  private kReference(options: Options): ParsedAtom {
    const open = this.p[this.pos + 1];
    const close = open === '<' ? '>' : open === "'" ? "'" : open === '{' ? '}' : undefined;
    if (close === undefined) throw new PcreSyntaxError('\\k is not followed by a braced, angle-bracketed, or quoted name', this.pos);
    this.pos++; // k
    this.pos++;
    const name = this.name(close);
    return { node: this.backref({ name }, options, this.pos - 1), quantifiable: true };
  }

  /** A group name up to `close` (consumed). */
  private name(close: string): string {
    const start = this.pos;
    if (isDigit(this.p[this.pos])) throw new PcreSyntaxError('group name must start with a non-digit', this.pos);
    while (isNameChar(this.p[this.pos])) this.pos++;
    const name = this.p.slice(start, this.pos);
    if (name.length === 0 && this.p[this.pos] === close) throw new PcreSyntaxError('subpattern name expected', this.pos);
    if (this.p[this.pos] !== close || name.length === 0) throw new PcreSyntaxError('syntax error in subpattern name (missing terminator)', this.pos);
    if (name.length > 32) throw new PcreSyntaxError('subpattern name is too long (maximum 32 characters)', this.pos);
    this.pos++;
    return name;
  }

  /** A character escape after the backslash (at this.pos): the character, or a class for \d \s .... */
  private charEscape(): Atom {
    const c = this.p[this.pos]!;
    const one = (char: number): Atom => {
      this.pos++;
      return { char };
    };
    const cls = (set: CharSet): Atom => {
      this.pos++;
      return { set };
    };
    switch (c) {
      case 'd': return cls(DIGIT);
      case 'D': return cls(negated(DIGIT));
      case 'w': return cls(WORD);
      case 'W': return cls(negated(WORD));
      case 's': return cls(SPACE);
      case 'S': return cls(negated(SPACE));
      case 'h': return cls(HSPACE);
      case 'H': return cls(negated(HSPACE));
      case 'v': return cls(VSPACE);
      case 'V': return cls(negated(VSPACE));
      case 'a': return one(0x07);
      case 'e': return one(0x1b);
      case 'f': return one(0x0c);
      case 'n': return one(0x0a);
      case 'r': return one(0x0d);
      case 't': return one(0x09);
      case 'L':
      case 'l':
      case 'U':
      case 'u':
        throw new PcreSyntaxError('PCRE does not support \\L, \\l, \\N{name}, \\U, or \\u', this.pos);
      case 'c': {
        const x = this.p[this.pos + 1];
        if (x === undefined) throw new PcreSyntaxError('\\c at end of pattern', this.pos + 1);
        if (x.charCodeAt(0) > 0x7f) throw new PcreSyntaxError('\\c must be followed by an ASCII character', this.pos + 1);
        this.pos += 2;
        return { char: x.toUpperCase().charCodeAt(0) ^ 0x40 };
      }
      case 'x': {
        this.pos++;
        if (this.p[this.pos] === '{') {
          if (this.p[this.pos + 1] === '}') throw new PcreSyntaxError('digits missing in \\x{} or \\o{}', this.pos + 1);
          const m = /^\{([0-9a-fA-F]+)\}/.exec(this.p.slice(this.pos));
          if (m !== null) {
            const v = parseInt(m[1]!, 16);
            if (v > 0xff) throw new PcreSyntaxError('character value in \\x{} or \\o{} is too large', this.pos + m[0].length - 1);
            this.pos += m[0].length;
            return { char: v };
          }
        }
        let hex = '';
        while (hex.length < 2 && isHex(this.p[this.pos])) hex += this.p[this.pos++];
        return { char: hex === '' ? 0 : parseInt(hex, 16) };
      }
      case 'o': {
        const m = /^o\{([0-7]+)\}/.exec(this.p.slice(this.pos));
        if (m === null) throw new PcreSyntaxError('missing opening brace after \\o', this.pos);
        const v = parseInt(m[1]!, 8);
        if (v > 0xff) throw new PcreSyntaxError('character value in \\x{} or \\o{} is too large', this.pos + m[0].length - 1);
        this.pos += m[0].length;
        return { char: v };
      }
      case '0':
      case '1':
      case '2':
      case '3':
      case '4':
      case '5':
      case '6':
      case '7': {
        let oct = '';
        while (oct.length < 3 && isOctal(this.p[this.pos])) oct += this.p[this.pos++];
        return { char: parseInt(oct, 8) & 0xff };
      }
      case 'N':
        // Outside a class \N was handled by the caller.
        throw new PcreSyntaxError('\\N is not supported in a class', this.pos);
      case 'b':
        return one(0x08); // only reached inside a class
      case 'p':
      case 'P':
        throw new PcreUnsupportedError(`\\${c}`, this.pos - 1);
      default:
        // Any other escaped character stands for itself (PCRE without the X option).
        return one(c.charCodeAt(0));
    }
  }

  private charClass(options: Options): CharSet {
    this.pos++; // [
    if (this.p[this.pos] === ':' || this.p[this.pos] === '.' || this.p[this.pos] === '=') {
      if (this.posixAt(this.pos - 1) !== undefined) throw new PcreSyntaxError('POSIX named classes are supported only within a class', this.pos - 1);
    }
    let negate = false;
    if (this.p[this.pos] === '^') {
      negate = true;
      this.pos++;
    }
    const set = emptySet();
    const add = (code: number) => {
      set[code] = 1;
      if (options.caseless) {
        const o = otherCase(code);
        if (o !== undefined) set[o] = 1;
      }
    };
    this.classQuote = false;
    let first = true;
    for (;;) {
      if (this.pos >= this.p.length) throw new PcreSyntaxError('missing terminating ] for character class', this.p.length);
      if (this.p[this.pos] === ']' && !first && !this.classQuote) {
        this.pos++;
        break;
      }
      const item = this.classItem(options);
      if (item === undefined) continue;
      first = false;
      if ('set' in item) {
        const s = options.caseless ? caseClosure(item.set) : item.set;
        for (let c = 0; c < 256; c++) if (s[c]) set[c] = 1;
        continue;
      }
      // A range?
      if (this.p[this.pos] === '-' && !this.classQuote && this.p[this.pos + 1] !== ']' && this.p[this.pos + 1] !== undefined) {
        const save = this.pos;
        this.pos++;
        // \Q and \E between the hyphen and the range's end are invisible: [a-\Qz\E] is [a-z].
        while (!this.classQuote && (this.p.startsWith('\\Q', this.pos) || this.p.startsWith('\\E', this.pos))) {
          this.classQuote = this.p[this.pos + 1] === 'Q';
          this.pos += 2;
        }
        const endsClass = this.p[this.pos] === ']' && !this.classQuote;
        const to = endsClass || (this.p[this.pos] === '[' && this.posixAt(this.pos) !== undefined) ? undefined : this.classItem(options);
        if (to === undefined) {
          // [a-[:digit:]], or a range end that is only \E: the hyphen is a literal.
          this.pos = save;
          this.classQuote = false;
          add(item.char);
          continue;
        }
        if ('set' in to) throw new PcreSyntaxError('invalid range in character class', this.pos - 1);
        if (to.char < item.char) throw new PcreSyntaxError('range out of order in character class', this.pos - 1);
        for (let x = item.char; x <= to.char; x++) add(x);
        continue;
      }
      add(item.char);
    }
    return negate ? negated(set) : set;
  }

  /** Inside a class, between \Q and \E: every character is literal, ']' and '-' included. */
  private classQuote = false;

  /** [:name:] at `at` ('[' position): the class, or undefined if no POSIX syntax is there. */
  private posixAt(at: number): { set: CharSet; end: number; name: string; negate: boolean } | undefined {
    const kind = this.p[at + 1];
    if (this.p[at] !== '[' || (kind !== ':' && kind !== '.' && kind !== '=')) return undefined;
    // PCRE's check_posix_syntax: a terminator "kind]" before any "]" ... simplified to the common shape.
    const m = /^\[([:.=])(\^?)([A-Za-z]*)\1\]/.exec(this.p.slice(at, at + 20));
    if (m === null) return undefined;
    if (kind !== ':') throw new PcreSyntaxError('POSIX collating elements are not supported', at);
    const set = POSIX_CLASSES.get(m[3]!);
    if (set === undefined) throw new PcreSyntaxError('unknown POSIX class name', at + 2);
    return { set, end: at + m[0].length, name: m[3]!, negate: m[2] === '^' };
  }

  /** One class member: a character, a class escape, a POSIX class; undefined for \Q and \E. */
  private classItem(options: Options): Atom | undefined {
    const c = this.p[this.pos]!;
    if (this.classQuote) {
      if (this.p.startsWith('\\E', this.pos)) {
        this.pos += 2;
        this.classQuote = false;
        return undefined;
      }
      this.pos++;
      return { char: c.charCodeAt(0) };
    }
    if (c === '[') {
      const posix = this.posixAt(this.pos);
      if (posix !== undefined) {
        this.pos = posix.end;
        let s = posix.set;
        // PCRE: in caseless mode [:upper:] and [:lower:] match letters of both cases.
        if (options.caseless && (posix.name === 'upper' || posix.name === 'lower')) s = ALPHA;
        return { set: posix.negate ? negated(s) : s };
      }
      this.pos++;
      return { char: 0x5b };
    }
    if (c !== '\\') {
      this.pos++;
      return { char: c.charCodeAt(0) };
    }
    const next = this.p[this.pos + 1];
    if (next === undefined) throw new PcreSyntaxError('\\ at end of pattern', this.pos + 1);
    if (next === 'Q') {
      this.pos += 2;
      this.classQuote = true;
      return undefined;
    }
    if (next === 'E') {
      this.pos += 2;
      return undefined;
    }
    this.pos++;
    return this.charEscape();
  }

  private group(options: Options): ParsedAtom | undefined {
    const open = this.pos;
    this.pos++; // (
    if (this.p[this.pos] === '*' && /^[A-Z]/.test(this.p[this.pos + 1] ?? '')) throw new PcreUnsupportedError('backtracking control verb (*...)', open);
    if (this.p[this.pos] !== '?') {
      const index = ++this.groupCount;
      const body = this.groupBody({ ...options });
      return { node: { t: 'group', index, body }, quantifiable: true };
    }
    this.pos++; // ?
    const c = this.p[this.pos];
    const simple = (make: (body: Node) => Node) => {
      this.pos++;
      return { node: make(this.groupBody({ ...options })), quantifiable: true };
    };
    switch (c) {
      case ':':
        // Kept nested, so that a lookbehind sees (?:ab|c) as one item, not as its own alternatives.
        return simple((body) => (body.t === 'alt' ? { t: 'seq', items: [body] } : body));
      case '=':
        return simple((body) => ({ t: 'look', behind: false, negate: false, body }));
      case '!':
        return simple((body) => ({ t: 'look', behind: false, negate: true, body }));
      case '>':
        return simple((body) => ({ t: 'atomic', body }));
      case '|':
        throw new PcreUnsupportedError('branch reset group (?|...)', open);
      case '(':
        throw new PcreUnsupportedError('conditional group (?(...)...)', open);
      case 'C':
        throw new PcreUnsupportedError('callout (?C)', open);
      case 'R':
      case '&':
      case '+':
        throw new PcreUnsupportedError('recursion or subroutine call', open);
      case '<': {
        const k = this.p[this.pos + 1];
        if (k === '=' || k === '!') {
          this.pos += 2;
          const at = this.pos;
          const body = this.groupBody({ ...options });
          checkLookbehind(body, this.pos - 1, at);
          return { node: { t: 'look', behind: true, negate: k === '!', body }, quantifiable: true };
        }
        this.pos++;
        if (!isNameStart(this.p[this.pos]) && !isDigit(this.p[this.pos])) throw new PcreSyntaxError('unrecognized character after (?<', this.pos);
        return this.namedGroup('>', options);
      }
      case "'":
        this.pos++;
        return this.namedGroup("'", options);
      case 'P': {
        const k = this.p[this.pos + 1];
        if (k === '<') {
          this.pos += 2;
          return this.namedGroup('>', options);
        }
        if (k === '=') {
          this.pos += 2;
          const name = this.name(')');
          return { node: this.backref({ name }, options, this.pos - 1), quantifiable: true };
        }
        if (k === '>') throw new PcreUnsupportedError('recursion or subroutine call', open);
        throw new PcreSyntaxError('unrecognized character after (?P', this.pos + 1);
      }
      default:
        break;
    }
    if (isDigit(c) || c === '-' && isDigit(this.p[this.pos + 1])) throw new PcreUnsupportedError('recursion or subroutine call', open);
    return this.optionSetting(options);
  }

  private namedGroup(close: string, options: Options): ParsedAtom {
    const name = this.name(close);
    if (this.names.has(name)) throw new PcreSyntaxError('two named subpatterns have the same name', this.pos - 1);
    const index = ++this.groupCount;
    this.names.set(name, index);
    const body = this.groupBody({ ...options });
    return { node: { t: 'group', index, body }, quantifiable: true };
  }

  /** (?imsx-imsx) changes the options of the rest of the enclosing group; (?imsx-imsx:...) a group. */
  private optionSetting(options: Options): ParsedAtom | undefined {
    const set = { ...options };
    let on = true;
    for (;;) {
      const c = this.p[this.pos];
      if (c === undefined) throw new PcreSyntaxError('unrecognized character after (? or (?-', this.pos);
      if (c === ')' || c === ':') break;
      if (c === '-') on = false;
      else if (c === 'i') set.caseless = on;
      else if (c === 'm') set.multiline = on;
      else if (c === 's') set.dotall = on;
      else if (c === 'x') set.extended = on;
      else if (c === 'J' || c === 'U' || c === 'X') throw new PcreUnsupportedError(`option (?${c})`, this.pos);
      else throw new PcreSyntaxError('unrecognized character after (? or (?-', this.pos);
      this.pos++;
    }
    if (this.p[this.pos] === ':') {
      this.pos++;
      return { node: this.groupBody(set), quantifiable: true };
    }
    this.pos++; // )
    Object.assign(options, set);
    return undefined;
  }

  /** A group's alternatives and its closing parenthesis. */
  private groupBody(options: Options): Node {
    const body = this.alternation(options, true);
    if (this.p[this.pos] !== ')') throw new PcreSyntaxError('missing )', this.p.length);
    this.pos++;
    return body;
  }
}

function caseClosure(s: CharSet): CharSet {
  const out = new Uint8Array(s);
  for (let c = 0; c < 256; c++) {
    if (s[c]) {
      const o = otherCase(c);
      if (o !== undefined) out[o] = 1;
    }
  }
  return out;
}

function repeatOf(body: Node, q: { min: number; max: number; mode: RepeatMode }): Node {
  // A quantifier applies to the last character of a literal run only.
  if (body.t === 'literal' && body.text.length > 1) {
    const head: Node = { t: 'literal', text: body.text.slice(0, -1) };
    return { t: 'seq', items: [head, repeatOf({ t: 'literal', text: body.text.slice(-1) }, q)] };
  }
  // A repeated assertion: {0,...} may be skipped, otherwise it is tested once (PCRE).
  if (body.t === 'look') return q.min === 0 ? { t: 'repeat', body, min: 0, max: 1, mode: q.mode } : body;
  return { t: 'repeat', body, ...q };
}

function mergeLiterals(items: Node[]): Node[] {
  const out: Node[] = [];
  for (const it of items) {
    const last = out[out.length - 1];
    if (it.t === 'literal' && last !== undefined && last.t === 'literal') out[out.length - 1] = { t: 'literal', text: last.text + it.text };
    else if (it.t === 'seq') out.push(...mergeLiterals([...it.items]));
    else out.push(it);
  }
  return out;
}

function resolveNames(node: Node, names: ReadonlyMap<string, number>): Node {
  switch (node.t) {
    case 'backref':
      return 'name' in node.ref ? { ...node, ref: { number: names.get(node.ref.name)! } } : node;
    case 'seq':
      return { t: 'seq', items: node.items.map((n) => resolveNames(n, names)) };
    case 'alt':
      return { t: 'alt', alts: node.alts.map((n) => resolveNames(n, names)) };
    case 'group':
    case 'repeat':
    case 'look':
    case 'atomic':
      return { ...node, body: resolveNames(node.body, names) } as Node;
    default:
      return node;
  }
}

/** The fixed length a node always matches, or undefined when it varies. */
function fixedLength(node: Node): number | undefined {
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

/** PCRE 8: each top-level alternative of a lookbehind must have a fixed length (they may differ). */
function checkLookbehind(body: Node, end: number, _start: number): void {
  const alts = body.t === 'alt' ? body.alts : [body];
  for (const a of alts) if (fixedLength(a) === undefined) throw new PcreSyntaxError('lookbehind assertion is not fixed length', end);
}

// ---------------------------------------------------------------------------------------------
// Matcher: the tree compiled to closures. m(i, k) tries to match at i and calls the continuation k
// with the end position; true means the whole match succeeded.

type Cont = (i: number) => boolean;
type Matcher = (i: number, k: Cont) => boolean;

class MatchLimit extends Error {}

class Program {
  private s = '';
  private steps = 0;
  private caps: Int32Array;
  private readonly root: Matcher;
  private readonly anchoredAtStart: boolean;

  constructor(tree: Node, groups: number) {
    this.caps = new Int32Array(2 * (groups + 1));
    this.root = this.compile(tree);
    this.anchoredAtStart = startsAnchored(tree);
  }

  run(subject: string): boolean {
    this.s = subject;
    this.steps = 0;
    const last = this.anchoredAtStart ? 0 : subject.length;
    try {
      for (let start = 0; start <= last; start++) {
        this.caps.fill(-1);
        if (this.root(start, () => true)) return true;
      }
      return false;
    } catch (e) {
      // Past the step limit, or a recursion too deep for the stack: re:run would say nomatch.
      if (e instanceof MatchLimit || (e instanceof RangeError && /call stack/.test(e.message))) return false;
      throw e;
    } finally {
      this.s = '';
    }
  }

  private tick(): void {
    if (++this.steps > MATCH_STEP_LIMIT) throw new MatchLimit();
  }

  private compile(node: Node): Matcher {
    switch (node.t) {
      case 'empty':
        return (i, k) => k(i);
      case 'literal': {
        const text = node.text;
        const n = text.length;
        if (n === 1) {
          const code = text.charCodeAt(0);
          return (i, k) => {
            this.tick();
            return this.s.charCodeAt(i) === code && k(i + 1);
          };
        }
        return (i, k) => {
          this.tick();
          return this.s.startsWith(text, i) && k(i + n);
        };
      }
      case 'set': {
        const set = node.set;
        return (i, k) => {
          this.tick();
          return i < this.s.length && set[this.s.charCodeAt(i)] === 1 && k(i + 1);
        };
      }
      case 'seq': {
        const ms = node.items.map((n) => this.compile(n));
        return ms.reduceRight<Matcher>((next, m) => (i, k) => m(i, (j) => next(j, k)), (i, k) => k(i));
      }
      case 'alt': {
        const ms = node.alts.map((n) => this.compile(n));
        return (i, k) => {
          this.tick();
          for (const m of ms) if (m(i, k)) return true;
          return false;
        };
      }
      case 'group': {
        const body = this.compile(node.body);
        const at = 2 * node.index;
        return (i, k) =>
          body(i, (j) => {
            const caps = this.caps;
            const ps = caps[at]!;
            const pe = caps[at + 1]!;
            caps[at] = i;
            caps[at + 1] = j;
            if (k(j)) return true;
            caps[at] = ps;
            caps[at + 1] = pe;
            return false;
          });
      }
      case 'repeat':
        return this.repeat(node);
      case 'backref': {
        const at = 2 * (node.ref as { number: number }).number;
        const caseless = node.caseless;
        return (i, k) => {
          this.tick();
          const st = this.caps[at]!;
          const en = this.caps[at + 1]!;
          if (st < 0) return false; // a group that has not taken part matches nothing
          const len = en - st;
          if (i + len > this.s.length) return false;
          for (let x = 0; x < len; x++) {
            const a = this.s.charCodeAt(st + x);
            const b = this.s.charCodeAt(i + x);
            if (a !== b && !(caseless && otherCase(a) === b)) return false;
          }
          return k(i + len);
        };
      }
      case 'assert':
        return this.assertion(node.kind);
      case 'look':
        return node.behind ? this.lookbehind(node.body, node.negate) : this.lookahead(node.body, node.negate);
      case 'atomic': {
        const body = this.compile(node.body);
        return (i, k) => {
          this.tick();
          const saved = this.caps.slice();
          let end = -1;
          if (
            !body(i, (j) => {
              end = j;
              return true;
            })
          )
            return false;
          if (k(end)) return true;
          this.caps.set(saved);
          return false;
        };
      }
    }
  }

  private repeat(node: Extract<Node, { t: 'repeat' }>): Matcher {
    const { min, max, mode } = node;
    if (mode === 'possessive') {
      // X*+ is (?>X*).
      return this.compile({ t: 'atomic', body: { ...node, mode: 'greedy' } });
    }
    // One byte from a set, repeated: count the run instead of recursing per byte.
    if (node.body.t === 'set') {
      const set = node.body.set;
      return (i, k) => {
        this.tick();
        const s = this.s;
        let n = 0;
        const limit = Math.min(max, s.length - i);
        if (mode === 'greedy') {
          while (n < limit && set[s.charCodeAt(i + n)] === 1) n++;
          for (; n >= min; n--) {
            this.tick();
            if (k(i + n)) return true;
          }
          return false;
        }
        while (n < min) {
          if (n >= limit || set[s.charCodeAt(i + n)] !== 1) return false;
          n++;
        }
        for (;;) {
          this.tick();
          if (k(i + n)) return true;
          if (n >= limit || set[s.charCodeAt(i + n)] !== 1) return false;
          n++;
        }
      };
    }
    const body = this.compile(node.body);
    const lazy = mode === 'lazy';
    // PCRE breaks an unbounded loop when an iteration matches the empty string: it goes on with what
    // follows, keeping that iteration's captures.
    const iterate = (count: number, i: number, k: Cont): boolean => {
      this.tick();
      if (count < min) return body(i, (j) => iterate(count + 1, j, k));
      const more = (): boolean => count < max && body(i, (j) => (j === i ? k(j) : iterate(count + 1, j, k)));
      return lazy ? k(i) || more() : more() || k(i);
    };
    return (i, k) => iterate(0, i, k);
  }

  private assertion(kind: AssertKind): Matcher {
    const isWord = (c: number) => WORD[c] === 1;
    return (i, k) => {
      this.tick();
      const s = this.s;
      const n = s.length;
      let ok: boolean;
      switch (kind) {
        case 'start':
          ok = i === 0;
          break;
        case 'line-start':
          // After an internal newline, but not after one that ends the subject.
          ok = i === 0 || (s.charCodeAt(i - 1) === 0x0a && i < n);
          break;
        case 'end-or-final-newline':
          ok = i === n || (i === n - 1 && s.charCodeAt(i) === 0x0a);
          break;
        case 'line-end':
          ok = i === n || s.charCodeAt(i) === 0x0a;
          break;
        case 'end':
          ok = i === n;
          break;
        case 'word-boundary':
        case 'not-word-boundary': {
          const before = i > 0 && isWord(s.charCodeAt(i - 1));
          const after = i < n && isWord(s.charCodeAt(i));
          ok = (before !== after) === (kind === 'word-boundary');
          break;
        }
      }
      return ok && k(i);
    };
  }

  /** Lookaheads are atomic in PCRE: once true, backtracking does not re-enter them. */
  private lookahead(node: Node, negate: boolean): Matcher {
    const body = this.compile(node);
    return (i, k) => {
      this.tick();
      const saved = this.caps.slice();
      const found = body(i, () => true);
      if (negate) {
        this.caps.set(saved);
        return !found && k(i);
      }
      if (!found) return false;
      if (k(i)) return true;
      this.caps.set(saved);
      return false;
    };
  }

  /** PCRE steps back by each alternative's fixed length and matches forward to the current position. */
  private lookbehind(node: Node, negate: boolean): Matcher {
    const alts = (node.t === 'alt' ? node.alts : [node]).map((a) => ({ length: fixedLength(a)!, m: this.compile(a) }));
    return (i, k) => {
      this.tick();
      const saved = this.caps.slice();
      let found = false;
      for (const a of alts) {
        if (i - a.length >= 0 && a.m(i - a.length, (j) => j === i)) {
          found = true;
          break;
        }
      }
      if (negate) {
        this.caps.set(saved);
        return !found && k(i);
      }
      if (!found) return false;
      if (k(i)) return true;
      this.caps.set(saved);
      return false;
    };
  }
}

/** Whether every match must start at offset 0 (a leading ^ or \A outside multiline mode). */
function startsAnchored(node: Node): boolean {
  switch (node.t) {
    case 'assert':
      return node.kind === 'start';
    case 'seq':
      return node.items.length > 0 && startsAnchored(node.items[0]!);
    case 'alt':
      return node.alts.every(startsAnchored);
    case 'group':
    case 'atomic':
      return startsAnchored(node.body);
    default:
      return false;
  }
}
