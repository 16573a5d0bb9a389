// Types for bitsyntax 0.1.0 (CommonJS, ships none): only the part the tests use.
declare module 'bitsyntax' {
  /** Variables bound by a match: integers and floats as numbers, binaries as Buffers. */
  type Bindings = Record<string, number | Buffer>;
  type Matcher = (bytes: Buffer, env?: Record<string, number>) => Bindings | false;
  const bitsyntax: {
    matcher(...segments: string[]): Matcher;
    builder(...segments: string[]): (values: Record<string, number | Buffer>) => Buffer;
  };
  export = bitsyntax;
}
