/**
 * Results: the medians and spreads of every figure, the ratio A / B, the generator's ceiling beside
 * them, as a text table and as JSON.
 */
import type { RoundResult } from './runner.js';
import type { Params, ScenarioKind } from './scenarios.js';

export interface BrokerInfo {
  slot: string;
  name: string;
  kind: string;
  version: string;
  settings: string;
  coldStartMs?: number;
  /** Resident memory right after start (before the scenario), and after it with everything closed and deleted. */
  startRssMiB?: number;
  restRssMiB?: number;
  /** Bytes in the data directory after the scenario. */
  diskMiB?: number;
  error?: string;
}

export interface Summary {
  median: number;
  min: number;
  max: number;
  n: number;
}

export interface ScenarioResult {
  name: string;
  kind: ScenarioKind;
  title: string;
  params: Params;
  brokers: BrokerInfo[];
  rounds: RoundResult[];
  /** figure -> slot -> summary */
  summary: Record<string, Record<string, Summary>>;
  /** figure -> median A / median B */
  ratio: Record<string, number>;
  notes: string[];
}

export function summarize(values: number[]): Summary {
  const s = [...values].sort((a, b) => a - b);
  const n = s.length;
  const median = n === 0 ? NaN : n % 2 === 1 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
  return { median, min: s[0] ?? NaN, max: s[n - 1] ?? NaN, n };
}

export function summarizeScenario(r: Omit<ScenarioResult, 'summary' | 'ratio'>): ScenarioResult {
  const summary: Record<string, Record<string, Summary>> = {};
  const figures: string[] = [];
  for (const round of r.rounds) for (const f of Object.keys(round.figures)) if (!figures.includes(f)) figures.push(f);
  for (const f of figures) {
    summary[f] = {};
    for (const b of r.brokers) {
      const vals = r.rounds.filter((x) => x.slot === b.slot && x.error === undefined && x.figures[f] !== undefined).map((x) => x.figures[f]!);
      if (vals.length > 0) summary[f]![b.slot] = summarize(vals);
    }
  }
  const ratio: Record<string, number> = {};
  for (const f of figures) {
    // How hard the generator worked is no comparison between the brokers.
    if (f.startsWith('generator') || f.startsWith('other')) continue;
    const a = summary[f]!['A'];
    const b = summary[f]!['B'];
    if (a && b && b.median !== 0) ratio[f] = a.median / b.median;
  }
  return { ...r, summary, ratio };
}

/** Three significant digits, with k and M for big numbers. */
export function fmt(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return '-';
  const a = Math.abs(v);
  if (a >= 1e6) return `${(v / 1e6).toPrecision(3)}M`;
  if (a >= 1e4) return `${(v / 1e3).toPrecision(3)}k`;
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  if (a >= 1) return v.toFixed(2);
  return v.toPrecision(2);
}

function cell(s: Summary | undefined): string {
  if (s === undefined) return '-';
  if (s.n === 1) return fmt(s.median);
  return `${fmt(s.median)} [${fmt(s.min)}-${fmt(s.max)}]`;
}

const pad = (s: string, n: number) => (s.length >= n ? s : s + ' '.repeat(n - s.length));

/** The text table for all scenarios. */
export function renderTable(results: ScenarioResult[], names: Record<string, string>): string {
  const slots = ['A', 'B', 'null'].filter((slot) => results.some((r) => r.brokers.some((b) => b.slot === slot)));
  const header = ['figure', ...slots.map((s) => (s === 'null' ? 'null sink (ceiling)' : `${names[s] ?? s} (${s})`))];
  if (slots.includes('A') && slots.includes('B')) header.splice(3, 0, 'A/B');
  const rows: string[][] = [];
  const sections: { title: string; start: number; end: number; notes: string[] }[] = [];
  for (const r of results) {
    const start = rows.length;
    for (const [figure, bySlot] of Object.entries(r.summary)) {
      const row = [`  ${figure}`, ...slots.map((s) => cell(bySlot[s]))];
      if (slots.includes('A') && slots.includes('B')) row.splice(3, 0, r.ratio[figure] !== undefined ? r.ratio[figure]!.toFixed(2) : '');
      rows.push(row);
    }
    const rest = slots.filter((s) => s !== 'null').map((s) => r.brokers.find((b) => b.slot === s));
    if (rest.some((b) => b?.restRssMiB !== undefined)) {
      const row = ['  RSS at rest after MiB', ...slots.map((s) => fmt(r.brokers.find((b) => b.slot === s)?.restRssMiB))];
      const a = r.brokers.find((b) => b.slot === 'A')?.restRssMiB;
      const b = r.brokers.find((x) => x.slot === 'B')?.restRssMiB;
      if (slots.includes('A') && slots.includes('B')) row.splice(3, 0, a !== undefined && b !== undefined ? (a / b).toFixed(2) : '');
      rows.push(row);
    }
    const notes = [...r.notes];
    for (const b of r.brokers) if (b.error) notes.push(`${b.name}: ${b.error}`);
    for (const x of r.rounds) {
      const name = r.brokers.find((b) => b.slot === x.slot)?.name ?? x.slot;
      if (x.error) notes.push(`${name} round ${x.round}: ${x.error}`);
      for (const n of x.notes) notes.push(`${name} round ${x.round}: ${n}`);
    }
    sections.push({ title: `${r.name}: ${r.title}`, start, end: rows.length, notes });
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cols: string[]) => cols.map((c, i) => pad(c, widths[i]!)).join('  ').trimEnd();
  const out: string[] = [line(header), widths.map((w) => '-'.repeat(w)).join('  ')];
  for (const s of sections) {
    out.push(s.title);
    for (let i = s.start; i < s.end; i++) out.push(line(rows[i]!));
    for (const n of s.notes) out.push(`  ! ${n}`);
  }
  return out.join('\n');
}
