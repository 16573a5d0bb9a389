/**
 * The committed codec in src/protocol/generated/ is exactly what scripts/generate-codec.mjs renders
 * from spec/. A hand edit of a generated file, or a spec or generator change without `npm run
 * generate`, fails here.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const GENERATOR = new URL('../../scripts/generate-codec.mjs', import.meta.url);
const GENERATED_DIR = fileURLToPath(new URL('../../src/protocol/generated/', import.meta.url));

interface GeneratorModule {
  render(specDir?: string): Record<string, string>;
}

// Imported by URL: the generator is plain JavaScript with no declaration file, so the import is
// dynamic and its shape is stated here.
const generator = (await import(GENERATOR.href)) as GeneratorModule;

describe('generated codec', () => {
  const rendered = generator.render();

  it('renders the same set of files that is committed', () => {
    const committed = readdirSync(GENERATED_DIR).filter((f) => f.endsWith('.ts')).sort();
    expect(Object.keys(rendered).sort()).toEqual(committed);
  });

  for (const [name, text] of Object.entries(rendered)) {
    it(`${name} matches the generator's output for spec/`, () => {
      const committed = readFileSync(`${GENERATED_DIR}${name}`, 'utf8');
      // Compare line by line first so that a failure names the first line that drifted.
      const a = committed.split('\n');
      const b = text.split('\n');
      const first = a.findIndex((line, i) => line !== b[i]);
      expect(first === -1 ? null : { line: first + 1, committed: a[first], rendered: b[first] }).toBeNull();
      expect(committed).toBe(text);
    });
  }
});
