/**
 * The layers of src/ and which way imports go (docs/architecture.md): every import, type-only ones
 * included, points to the same layer or one below, and no files import each other in a cycle.
 * The graph is read from the real sources, so a new file or import is checked as soon as it exists.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = resolve(import.meta.dirname, '../../src');

/** Top to bottom. A file belongs to the first layer with a matching path prefix (relative to src/). */
const LAYERS: readonly { name: string; paths: readonly string[] }[] = [
  { name: 'entry', paths: ['cli.ts', 'index.ts', 'server.ts', 'tls.ts', 'ctl/'] },
  // the MQTT adapter: a protocol in front of the broker model, as AMQP's connections are
  { name: 'mqtt', paths: ['mqtt/'] },
  // the HTTP API: controllers over the broker model, never a second copy of its rules
  { name: 'management', paths: ['management/'] },
  { name: 'broker', paths: ['broker.ts', 'broker/'] },
  // definitions files and rabbitmq.conf: read and written for the broker and the command line
  { name: 'formats', paths: ['definitions/definitions.ts', 'definitions/access-definitions.ts', 'definitions/plan.ts', 'definitions/import/', 'config-file/'] },
  { name: 'connection', paths: ['connection/'] },
  { name: 'channel', paths: ['channel/'] },
  { name: 'vhost', paths: ['vhost.ts', 'vhost/'] },
  // users, permissions, policies and their regexes; the JSON values policies are made of
  { name: 'access', paths: ['access/', 'policy/', 'definitions/'] },
  { name: 'exchange', paths: ['exchange/', 'direct-reply.ts'] },
  { name: 'queue', paths: ['queue/'] },
  { name: 'back-pressure', paths: ['publisher-throttle.ts'] },
  { name: 'store', paths: ['store/'] },
  { name: 'message', paths: ['message/'] },
  { name: 'support', paths: ['config.ts', 'auth.ts', 'log.ts', 'log-sink.ts', 'log-pretty.ts', 'version.ts', 'resource-alarms.ts', 'personality.ts', 'deprecated-features.ts', 'upgrade-warnings.ts'] },
  { name: 'wire', paths: ['wire/'] },
  { name: 'protocol', paths: ['protocol/', 'errors.ts'] },
  { name: 'util', paths: ['util/'] },
];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

/** Every relative import of a file, as paths relative to src/. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/(?:import|export)\s[^'";]*?from\s*['"](\.[^'"]+)['"]|import\s*\(\s*['"](\.[^'"]+)['"]\s*\)/g)) {
    const spec = (m[1] ?? m[2])!;
    out.push(relative(SRC, resolve(dirname(file), spec)).replace(/\.js$/, '.ts'));
  }
  return out;
}

function layerOf(path: string): number {
  const i = LAYERS.findIndex((l) => l.paths.some((p) => (p.endsWith('/') ? path.startsWith(p) : path === p)));
  return i;
}

const files = sourceFiles(SRC).map((f) => relative(SRC, f));
const graph = new Map(files.map((f) => [f, importsOf(join(SRC, f)).filter((t) => files.includes(t))]));

describe('the import graph of src/', () => {
  it('places every source file in a layer', () => {
    expect(files.filter((f) => layerOf(f) < 0)).toEqual([]);
  });

  it('has no import that points up a layer', () => {
    const upward: string[] = [];
    for (const [from, targets] of graph) {
      for (const to of targets) {
        if (layerOf(to) < layerOf(from)) upward.push(`${from} (${LAYERS[layerOf(from)]!.name}) -> ${to} (${LAYERS[layerOf(to)]!.name})`);
      }
    }
    expect(upward).toEqual([]);
  });

  it('has no import cycle', () => {
    // Tarjan's strongly connected components: any component of more than one file is a cycle.
    let index = 0;
    const idx = new Map<string, number>();
    const low = new Map<string, number>();
    const stack: string[] = [];
    const onStack = new Set<string>();
    const cycles: string[][] = [];
    const visit = (v: string): void => {
      idx.set(v, index);
      low.set(v, index++);
      stack.push(v);
      onStack.add(v);
      for (const w of graph.get(v) ?? []) {
        if (!idx.has(w)) {
          visit(w);
          low.set(v, Math.min(low.get(v)!, low.get(w)!));
        } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
      }
      if (low.get(v) === idx.get(v)) {
        const c: string[] = [];
        let w: string;
        do {
          w = stack.pop()!;
          onStack.delete(w);
          c.push(w);
        } while (w !== v);
        if (c.length > 1 || graph.get(v)!.includes(v)) cycles.push(c.sort());
      }
    };
    for (const v of graph.keys()) if (!idx.has(v)) visit(v);
    expect(cycles).toEqual([]);
  });

  it('reads the imports it checks (a known downward import is seen)', () => {
    expect(graph.get('channel/confirms.ts')).toContain('vhost.ts');
  });
});
