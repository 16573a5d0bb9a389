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
 *
 * pcre/parser.ts (with pcre/character-reader.ts) turns the pattern into the tree of
 * pcre/syntax-tree.ts; pcre/matcher.ts runs it.
 */
import { Program } from './pcre/matcher.js';
import { Parser } from './pcre/parser.js';

export { PcreSyntaxError, PcreUnsupportedError } from './pcre/errors.js';
export { MATCH_STEP_LIMIT } from './pcre/matcher.js';

export interface CompiledPattern {
  /** The pattern as given. */
  readonly source: string;
  /** re:run(Subject, Pattern, [{capture, none}]) =:= match. */
  test(subject: string | Buffer): boolean;
}

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