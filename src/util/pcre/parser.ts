/**
 * The structure of a PCRE pattern: alternatives, sequences, quantifiers, groups, option settings and
 * backreferences, parsed to the tree of syntax-tree.ts with PCRE 8.44's errors at PCRE's offsets.
 * Escapes and character classes are read by CharacterReader, whose cursor this parser moves on.
 */
import { type Atom, CharacterReader, type Options } from './character-reader.js';
import { PcreSyntaxError, PcreUnsupportedError } from './errors.js';
import {
  type AssertKind, type BackrefTarget, type Node, type RepeatMode,
  VSPACE, emptySet, fixedLength, negated, otherCase, setOf,
} from './syntax-tree.js';

const MAX_QUANTIFIER = 65535;

const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';
const isNameStart = (c: string | undefined) => c !== undefined && /^[A-Za-z_]$/.test(c);
const isNameChar = (c: string | undefined) => c !== undefined && /^[A-Za-z0-9_]$/.test(c);

/** An item of a sequence; `prefix` is the rest of a \Q..\E run, whose last character is `node`. */
interface ParsedAtom {
  node: Node;
  quantifiable: boolean;
  prefix?: Node[];
}

export class Parser extends CharacterReader {
  private groupCount = 0;
  private readonly names = new Map<string, number>();
  private readonly backrefs: { node: { ref: BackrefTarget; offset: number } }[] = [];

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

/** PCRE 8: each top-level alternative of a lookbehind must have a fixed length (they may differ). */
function checkLookbehind(body: Node, end: number, _start: number): void {
  const alts = body.t === 'alt' ? body.alts : [body];
  for (const a of alts) if (fixedLength(a) === undefined) throw new PcreSyntaxError('lookbehind assertion is not fixed length', end);
}
