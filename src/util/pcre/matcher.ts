/**
 * The backtracking matcher: the syntax tree compiled to closures that walk the subject's bytes
 * (a latin1 string, one char per byte) and count their steps, so that a hostile pattern or subject
 * ends in "no match" as re:run's match limit does, instead of stalling the event loop.
 * m(i, k) tries to match at i and calls the continuation k with the end position; true means the
 * whole match succeeded.
 */
import { type AssertKind, type Node, WORD, fixedLength, otherCase } from './syntax-tree.js';

/**
 * How many matcher steps one test may take. PCRE's default match_limit is 10,000,000 calls of its
 * internal match(), and Erlang's re:run yields to other processes while it works; Warren's matcher
 * runs on the event loop, so its limit is lower: about 3 ms for a hostile subject. An ordinary
 * permission pattern on a 255-byte name takes well under a thousand steps. Past the limit the answer
 * is "no match", as re:run's.
 */
export const MATCH_STEP_LIMIT = 100_000;

type Cont = (i: number) => boolean;
type Matcher = (i: number, k: Cont) => boolean;

class MatchLimit extends Error {}

export class Program {
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
      case 'literal':
        return this.literal(node.text);
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
      case 'group':
        return this.group(node);
      case 'repeat':
        return this.repeat(node);
      case 'backref':
        return this.backref(node);
      case 'assert':
        return this.assertion(node.kind);
      case 'look':
        return node.behind ? this.lookbehind(node.body, node.negate) : this.lookahead(node.body, node.negate);
      case 'atomic':
        return this.atomic(node.body);
    }
  }

  private literal(text: string): Matcher {
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

  /** A capturing group records where it matched, and restores the previous capture on backtracking. */
  private group(node: Extract<Node, { t: 'group' }>): Matcher {
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

  private backref(node: Extract<Node, { t: 'backref' }>): Matcher {
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

  /** (?>...): the body's first match is final; what follows cannot backtrack into it. */
  private atomic(node: Node): Matcher {
    const body = this.compile(node);
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