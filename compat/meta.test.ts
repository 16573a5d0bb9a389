// The suite's own bookkeeping: ids are unique, every test file is wired, PENDING.md and
// KNOWN_DIFFS.md name real scenarios, and KNOWN_DIFFS.md documents exactly the entries applied.
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { ALL_MQTT_SCENARIO_IDS, ALL_SCENARIOS } from './harness/all.js';
import { KNOWN_DIFFS } from './harness/known-diffs.js';
import { matches, readPending } from './harness/pending.js';

const ids = [...ALL_SCENARIOS.map((s) => s.id), ...ALL_MQTT_SCENARIO_IDS];

describe('compat bookkeeping', () => {
  test('scenario ids are unique', () => {
    expect(ids.filter((id, i) => ids.indexOf(id) !== i)).toEqual([]);
  });

  test('every scenario module is registered in harness/all.ts', () => {
    const modules = readdirSync(new URL('./scenarios/', import.meta.url)).filter((f) => f.endsWith('.ts') && f !== 'helpers.ts');
    const all = readFileSync(new URL('./harness/all.ts', import.meta.url), 'utf8');
    expect(modules.filter((m) => !all.includes(`../scenarios/${m.replace(/\.ts$/, '.js')}`))).toEqual([]);
  });

  test('every PENDING.md entry names at least one scenario', () => {
    const stale = readPending().filter((e) => !ids.some((id) => matches(e.pattern, id)));
    expect(stale.map((e) => `line ${e.line}: ${e.pattern}`)).toEqual([]);
  });

  test('KNOWN_DIFFS.md documents exactly the applied entries, for existing scenarios', () => {
    const md = readFileSync(new URL('./KNOWN_DIFFS.md', import.meta.url), 'utf8');
    const documented = [...md.matchAll(/^## (KD-\d+)\s*$/gm)].map((m) => m[1]);
    expect(documented).toEqual(KNOWN_DIFFS.map((d) => d.key));
    for (const d of KNOWN_DIFFS) {
      const section = md.slice(md.indexOf(`## ${d.key}`)).split(/^## /m)[1] ?? '';
      for (const id of d.ids) {
        expect(ids, `${d.key} names ${id}`).toContain(id);
        expect(section, `${d.key} section lists ${id}`).toContain(`\`${id}\``);
      }
    }
  });
});
