/** What re:compile says of a pattern Warren cannot take, as errors a caller can tell apart. */

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
