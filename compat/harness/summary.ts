// The closing report of a compat run: scenarios per area and per client, how many match RabbitMQ,
// which pending scenarios now match (take them off PENDING.md), and which listed ones still differ.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { ResultRecord } from './compare.js';

function readResults(dir: string): ResultRecord[] {
  if (!existsSync(dir)) return [];
  const out: ResultRecord[] = [];
  for (const f of readdirSync(dir).filter((f) => f.endsWith('.jsonl'))) {
    for (const line of readFileSync(path.join(dir, f), 'utf8').split('\n')) if (line.trim()) out.push(JSON.parse(line) as ResultRecord);
  }
  return out;
}

type Row = { total: number; match: number; known: number; pending: number; differs: number; refFails: number; noRef: number };

function tally(rs: ResultRecord[], key: (r: ResultRecord) => string): Map<string, Row> {
  const m = new Map<string, Row>();
  for (const r of rs) {
    const k = key(r);
    const row = m.get(k) ?? { total: 0, match: 0, known: 0, pending: 0, differs: 0, refFails: 0, noRef: 0 };
    row.total++;
    if (r.outcome === 'match') row.match++;
    else if (r.outcome === 'known-diff') row.known++;
    else if (r.outcome === 'reference-fails') row.refFails++;
    else if (r.outcome === 'no-reference') row.noRef++;
    else if (r.pending) row.pending++;
    else row.differs++;
    m.set(k, row);
  }
  return m;
}

function table(title: string, m: Map<string, Row>): string[] {
  const head = `${title.padEnd(16)} ${'total'.padStart(5)} ${'rmq ok'.padStart(6)} ${'match'.padStart(5)} ${'known'.padStart(5)} ${'pend.'.padStart(5)} ${'DIFF'.padStart(5)}`;
  const out = [head, '-'.repeat(head.length)];
  const sum: Row = { total: 0, match: 0, known: 0, pending: 0, differs: 0, refFails: 0, noRef: 0 };
  for (const [k, r] of [...m].sort((a, b) => a[0].localeCompare(b[0]))) {
    const refOk = r.total - r.refFails - r.noRef;
    out.push(`${k.padEnd(16)} ${String(r.total).padStart(5)} ${String(refOk).padStart(6)} ${String(r.match).padStart(5)} ${String(r.known).padStart(5)} ${String(r.pending).padStart(5)} ${String(r.differs).padStart(5)}`);
    for (const key of Object.keys(sum) as Array<keyof Row>) sum[key] += r[key];
  }
  out.push('-'.repeat(head.length));
  out.push(`${'all'.padEnd(16)} ${String(sum.total).padStart(5)} ${String(sum.total - sum.refFails - sum.noRef).padStart(6)} ${String(sum.match).padStart(5)} ${String(sum.known).padStart(5)} ${String(sum.pending).padStart(5)} ${String(sum.differs).padStart(5)}`);
  return out;
}

export function printSummary(dir: string, reference: string | null): void {
  const rs = readResults(dir);
  if (rs.length === 0) return;
  const out: string[] = ['', `[compat] Warren vs RabbitMQ (${reference ?? 'no reference'})`, ''];
  out.push(...table('area', tally(rs, (r) => r.area)), '');
  out.push(...table('client', tally(rs, (r) => r.client)), '');
  out.push('rmq ok: passes against RabbitMQ; match: Warren identical; known: identical up to a KNOWN_DIFFS.md entry;');
  out.push('pend.: differs, listed in PENDING.md; DIFF: differs and not listed (fails the run)');
  const nowMatching = rs.filter((r) => r.pending && (r.outcome === 'match' || r.outcome === 'known-diff'));
  if (nowMatching.length) {
    out.push('', `pending scenario now matches: remove it from PENDING.md (${nowMatching.length}):`);
    for (const r of nowMatching.sort((a, b) => a.id.localeCompare(b.id))) out.push(`  ${r.id}  (${r.pending})`);
  }
  const stillPending = rs.filter((r) => r.pending && r.outcome === 'differs');
  if (stillPending.length) {
    out.push('', `pending and still differing (${stillPending.length}):`);
    for (const r of stillPending.sort((a, b) => a.id.localeCompare(b.id))) out.push(`  ${r.id}  (${r.pending})`);
  }
  const diff = rs.filter((r) => !r.pending && r.outcome === 'differs');
  if (diff.length) {
    out.push('', `differs from RabbitMQ and not pending (${diff.length}):`);
    for (const r of diff.sort((a, b) => a.id.localeCompare(b.id))) out.push(`  ${r.id}`);
  }
  const refFails = rs.filter((r) => r.outcome === 'reference-fails');
  if (refFails.length) {
    out.push('', `scenarios that do not pass against RabbitMQ (${refFails.length}):`);
    for (const r of refFails) out.push(`  ${r.id}`);
  }
  console.log(out.join('\n'));
}
