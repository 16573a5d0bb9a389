/**
 * The character level of a PCRE pattern: escape sequences (\n, \x{41}, \d ...) and character classes
 * ([a-z], [[:alpha:]], [\Q...\E]), read the way PCRE 8.44 reads them. parser.ts builds the structure
 * (sequences, quantifiers, groups, references) on top of this reader and moves the same cursor.
 */
import { PcreSyntaxError, PcreUnsupportedError } from './errors.js';
import {
  ALPHA, DIGIT, HSPACE, POSIX_CLASSES, SPACE, VSPACE, WORD,
  type CharSet, emptySet, negated, otherCase,
} from './syntax-tree.js';

/** The options (?imsx) set at a point of the pattern. */
export interface Options {
  caseless: boolean;
  multiline: boolean;
  dotall: boolean;
  extended: boolean;
}

/** A single character or a class, as an escape sequence or class item yields it. */
export type Atom = { char: number } | { set: CharSet };

const isOctal = (c: string | undefined) => c !== undefined && c >= '0' && c <= '7';
const isHex = (c: string | undefined) => c !== undefined && /^[0-9a-fA-F]$/.test(c);

/** \d \D \w \W \s \S \h \H \v \V: escapes that stand for a class. */
const CLASS_ESCAPES: ReadonlyMap<string, CharSet> = new Map([
  ['d', DIGIT], ['D', negated(DIGIT)], ['w', WORD], ['W', negated(WORD)], ['s', SPACE], ['S', negated(SPACE)],
  ['h', HSPACE], ['H', negated(HSPACE)], ['v', VSPACE], ['V', negated(VSPACE)],
]);

/** \a \e \f \n \r \t: escapes that stand for one control character. */
const CONTROL_ESCAPES: ReadonlyMap<string, number> = new Map([
  ['a', 0x07], ['e', 0x1b], ['f', 0x0c], ['n', 0x0a], ['r', 0x0d], ['t', 0x09],
]);

export class CharacterReader {
  protected pos = 0;

  constructor(protected readonly p: string) {}

  /** A character escape after the backslash (at this.pos): the character, or a class for \d \s .... */
  protected charEscape(): Atom {
    const c = this.p[this.pos]!;
    const set = CLASS_ESCAPES.get(c);
    if (set !== undefined) {
      this.pos++;
      return { set };
    }
    const control = CONTROL_ESCAPES.get(c);
    if (control !== undefined) {
      this.pos++;
      return { char: control };
    }
    switch (c) {
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
      case 'x':
        return this.hexEscape();
      case 'o':
        return this.bracedOctalEscape();
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
        this.pos++;
        return { char: 0x08 }; // only reached inside a class
      case 'p':
      case 'P':
        throw new PcreUnsupportedError(`\\${c}`, this.pos - 1);
      default:
        // Any other escaped character stands for itself (PCRE without the X option).
        this.pos++;
        return { char: c.charCodeAt(0) };
    }
  }

  /** \x{hh} or \xhh (up to two digits; none is NUL), at the x. */
  private hexEscape(): Atom {
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

  /** \o{ooo}, at the o. */
  private bracedOctalEscape(): Atom {
    const m = /^o\{([0-7]+)\}/.exec(this.p.slice(this.pos));
    if (m === null) throw new PcreSyntaxError('missing opening brace after \\o', this.pos);
    const v = parseInt(m[1]!, 8);
    if (v > 0xff) throw new PcreSyntaxError('character value in \\x{} or \\o{} is too large', this.pos + m[0].length - 1);
    this.pos += m[0].length;
    return { char: v };
  }

  protected charClass(options: Options): CharSet {
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
