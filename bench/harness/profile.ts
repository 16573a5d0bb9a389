/**
 * Summarizes a V8 .cpuprofile (from `node --cpu-prof`): the functions with the most self time and the
 * most total time (self plus callees), so a profile taken during a bench run can be read in a
 * terminal.
 *
 *   node node_modules/.cache/warren-bench/bench/harness/profile.js FILE.cpuprofile [TOP]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export function summarizeProfile(path: string, top = 25): string {
  const p = JSON.parse(readFileSync(path, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfUs = new Map<number, number>();
  let total = 0;
  p.samples.forEach((id, i) => {
    const dt = p.timeDeltas[i] ?? 0;
    selfUs.set(id, (selfUs.get(id) ?? 0) + dt);
    total += dt;
  });
  const label = (n: ProfileNode) => {
    const file = n.callFrame.url.replace(/^.*\/(src|bench|node_modules)\//, '$1/');
    return `${n.callFrame.functionName || '(anonymous)'} ${file ? `${file}:${n.callFrame.lineNumber + 1}` : ''}`.trim();
  };
  const self = new Map<string, number>();
  const incl = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const n = byId.get(id)!;
    self.set(label(n), (self.get(label(n)) ?? 0) + us);
    // Inclusive time: every distinct frame on the stack gets the sample once.
    const onStack = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) onStack.add(label(byId.get(cur)!));
    for (const l of onStack) incl.set(l, (incl.get(l) ?? 0) + us);
  }
  const pct = (us: number) => `${((100 * us) / total).toFixed(1).padStart(5)}%`;
  const rows = (m: Map<string, number>) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([l, us]) => `${pct(us)}  ${l}`);
  return [`${path}: ${(total / 1e6).toFixed(2)} s sampled`, 'self time:', ...rows(self), '', 'total time (self + callees):', ...rows(incl).filter((r) => !r.includes('(root)'))].join('\n');
}

if (process.argv[1]?.endsWith('profile.js') && process.argv[2] !== undefined) {
  process.stdout.write(`${summarizeProfile(process.argv[2], Number(process.argv[3] ?? 25))}\n`);
}
