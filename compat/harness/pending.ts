// compat/PENDING.md: scenarios for features Warren does not have yet, each with the issue that builds
// it. A listed scenario may differ from RabbitMQ; one that starts matching is reported so it can be
// taken off (the list only shrinks). Entries are exact ids, or prefixes ending in `/` or `*`.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface PendingEntry {
  pattern: string;
  issue: string;
  line: number;
}

const PENDING_FILE = fileURLToPath(new URL('../PENDING.md', import.meta.url));

export function readPending(file = PENDING_FILE): PendingEntry[] {
  const out: PendingEntry[] = [];
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((text, i) => {
      const m = /^\s*-\s+`([^`]+)`\s+(?:[—-]+\s*)?(issue\s+#?\d+)/i.exec(text);
      if (m) out.push({ pattern: m[1]!, issue: m[2]!.replace(/#/, ''), line: i + 1 });
    });
  return out;
}

export function matches(pattern: string, id: string): boolean {
  if (pattern.endsWith('*')) return id.startsWith(pattern.slice(0, -1));
  if (pattern.endsWith('/')) return id.startsWith(pattern);
  return id === pattern;
}

export function pendingFor(entries: PendingEntry[], id: string): PendingEntry | undefined {
  // The most specific entry wins (an exact id over a prefix).
  return entries.filter((e) => matches(e.pattern, id)).sort((a, b) => b.pattern.length - a.pattern.length)[0];
}
