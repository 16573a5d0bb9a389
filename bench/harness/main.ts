/**
 * `npm run bench`: Warren against RabbitMQ, side by side in one run (issue 7).
 *
 * Both brokers are started by the harness as child processes (so their memory can be read from
 * /proc and their cold start timed), afresh for every scenario. Within a scenario the rounds
 * alternate A, B, A, B... (and the null sink, the generator's ceiling, after each pair), so that a
 * noisy machine's drift hits both. Every figure is reported as the median of the rounds with its
 * spread (min-max), with the ratio A / B, as a table and as JSON. See bench/README.md.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { diskUsage, killAll, scratchDir, startBroker, type BrokerHandle, type BrokerSpec } from './brokers.js';
import { loadAverage, machine, processTree, rss } from './proc.js';
import { fmt, renderTable, summarizeScenario, type BrokerInfo, type ScenarioResult } from './report.js';
import { backlogRound, connectionsRound, flowRound, killWorkers, type GeneratorLayout, type RoundResult, type Timing } from './runner.js';
import { streamRound } from './stream-rounds.js';
import { describeParams, SCENARIOS, selectScenarios, type Params, type Scenario } from './scenarios.js';

const repoRoot = fileURLToPath(new URL('../../../../../', import.meta.url));

interface Options {
  scenarios?: string;
  rounds: number;
  timing: Timing;
  json?: string;
  only?: string;
  aUrl?: string;
  aPid?: number;
  bUrl?: string;
  bPid?: number;
  ceiling: boolean;
  durability: string;
  overrides: Partial<Params>;
  /** Messages in the backlog scenario, connections in the connections scenario. */
  backlog?: number;
  connections?: number;
  /** Messages in every selected stream scenario. */
  streamMessages?: number;
  layout: GeneratorLayout;
  build: boolean;
  warrenNodeArgs: string[];
  warrenDir: string;
  warrenRef?: string;
  list: boolean;
  help: boolean;
}

const USAGE = `Usage: npm run bench -- [options]

Runs the scenarios against Warren (A) and RabbitMQ (B), alternating round by round, plus the null
sink (the load generator's ceiling), and prints medians, spreads and ratios; JSON with every round.

  --scenarios LIST      comma-separated names or groups (transient, acked, latency, ...; see --list)
  --rounds N            rounds per broker and scenario (default 3; backlog-1m runs 1)
  --duration S          measured seconds per round (default 5)
  --warmup S            seconds before measuring (default 1)
  --settle S            pause before reading memory at rest (default 2)
  --drain-timeout S     longest wait for the last messages after a round (default 3; the rest is
                        counted in the queue)
  --json PATH           where to write the JSON (default node_modules/.cache/warren-bench/results/<time>.json)
  --only WHICH          warren | rabbitmq | null: one broker only
  --a-url URL           use an already running broker as A instead of starting Warren (--a-pid PID for memory)
  --b-url URL           use an already running broker as B instead of starting RabbitMQ (--b-pid PID)
  --no-ceiling          skip the null sink
  --durability MODE     Warren's --durability (default fsync)
  --size B, --publishers N, --consumers N, --queues N, --prefetch N, --rate N
                        override a parameter in every selected throughput and latency scenario
  --backlog N           messages in backlog-1m (default 1,000,000)
  --connections N       connections in connections-1000 (default 1,000)
  --stream-messages N   messages in every selected stream-* scenario (defaults in their titles)
  --publisher-procs N   generator processes for publishers (default 1)
  --consumer-procs N    generator processes for consumers (default 1)
  --warren-node-args S  extra node flags for Warren, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"
  --warren-dir DIR      run Warren from another checkout, built there if its dist/ is stale
  --warren-ref REF      run Warren as of a commit: git archive REF into a scratch directory, build it
                        there (so edits in the working tree during the run do not change what runs)
  --no-build            do not rebuild dist/ when src/ is newer
  --list                list the scenarios
`;

function parseOptions(argv: string[]): Options {
  const o: Options = {
    rounds: 3,
    timing: { warmupMs: 1000, durationMs: 5000, drainTimeoutMs: 3000, settleMs: 2000 },
    ceiling: true,
    durability: 'fsync',
    overrides: {},
    layout: { publisherProcs: 1, consumerProcs: 1 },
    build: true,
    warrenNodeArgs: [],
    warrenDir: repoRoot,
    list: false,
    help: false,
  };
  const num = (flag: string, v: string | undefined, min = 0): number => {
    const n = Number(v);
    if (v === undefined || !Number.isFinite(n) || n < min) throw new Error(`${flag} needs a number >= ${min}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf('=');
    const flag = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    const value = () => (arg.startsWith('--') && eq > 0 ? arg.slice(eq + 1) : argv[++i]);
    switch (flag) {
      case '--scenarios': o.scenarios = value(); break;
      case '--rounds': o.rounds = num(flag, value(), 1); break;
      case '--duration': o.timing.durationMs = num(flag, value(), 0.1) * 1000; break;
      case '--warmup': o.timing.warmupMs = num(flag, value()) * 1000; break;
      case '--settle': o.timing.settleMs = num(flag, value()) * 1000; break;
      case '--drain-timeout': o.timing.drainTimeoutMs = num(flag, value()) * 1000; break;
      case '--json': o.json = value(); break;
      case '--only': o.only = value(); break;
      case '--a-url': o.aUrl = value(); break;
      case '--a-pid': o.aPid = num(flag, value(), 1); break;
      case '--b-url': o.bUrl = value(); break;
      case '--b-pid': o.bPid = num(flag, value(), 1); break;
      case '--no-ceiling': o.ceiling = false; break;
      case '--durability': o.durability = value() ?? 'fsync'; break;
      case '--size': o.overrides.size = num(flag, value()); break;
      case '--publishers': o.overrides.publishers = num(flag, value()); break;
      case '--consumers': o.overrides.consumers = num(flag, value()); break;
      case '--queues': o.overrides.queues = num(flag, value(), 1); break;
      case '--prefetch': o.overrides.prefetch = num(flag, value()); break;
      case '--rate': o.overrides.rate = num(flag, value()); break;
      case '--backlog': o.backlog = num(flag, value(), 1); break;
      case '--connections': o.connections = num(flag, value(), 1); break;
      case '--stream-messages': o.streamMessages = num(flag, value(), 1); break;
      case '--publisher-procs': o.layout.publisherProcs = num(flag, value(), 1); break;
      case '--consumer-procs': o.layout.consumerProcs = num(flag, value(), 1); break;
      case '--warren-node-args': o.warrenNodeArgs = (value() ?? '').split(/\s+/).filter((s) => s !== ''); break;
      case '--warren-dir': o.warrenDir = resolve(value() ?? '.'); break;
      case '--warren-ref': o.warrenRef = value(); break;
      case '--no-build': o.build = false; break;
      case '--list': o.list = true; break;
      case '--help': case '-h': o.help = true; break;
      default: throw new Error(`unknown option ${arg} (see --help)`);
    }
  }
  return o;
}

function newestMtime(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return t;
}

/** dist/ is what bin/warren.js runs: rebuild it when src/ changed since. */
function ensureBuilt(dir: string, build: boolean): void {
  const cli = join(dir, 'dist', 'cli.js');
  const stale = !existsSync(cli) || statSync(cli).mtimeMs < newestMtime(join(dir, 'src'));
  if (!stale) return;
  if (!build) {
    log(`warning: dist/ is older than src/ (--no-build given): Warren runs the old build`);
    return;
  }
  log(`${dir}: dist/ is older than src/: npm run build`);
  const r = spawnSync('npm', ['run', 'build'], { cwd: dir, stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) throw new Error('npm run build failed: fix the build or run with --no-build');
}

const t0 = Date.now();
/** Minutes and seconds since the harness started, for the progress lines. */
function elapsed(): string {
  const s = Math.round((Date.now() - t0) / 1000);
  return `[${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}]`;
}

function log(s: string): void {
  process.stderr.write(`${s}\n`);
}

function gitDescribe(dir: string, ref: string | undefined): string {
  if (ref !== undefined) {
    const r = spawnSync('git', ['rev-parse', '--short', ref], { cwd: repoRoot, encoding: 'utf8' });
    return `${(r.stdout ?? '').trim()} (--warren-ref ${ref})`;
  }
  const r = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: dir, encoding: 'utf8' });
  const dirty = spawnSync('git', ['status', '--porcelain', 'src'], { cwd: dir, encoding: 'utf8' });
  return `${(r.stdout ?? '').trim() || '?'}${(dirty.stdout ?? '').trim() !== '' ? ' + uncommitted changes in src/' : ''}`;
}

/** A copy of the tree at `ref` in the scratch directory, sharing this checkout's node_modules, built. */
function checkoutRef(ref: string): string {
  const dir = join(scratchDir(), `warren-${ref.replace(/[^\w.-]/g, '_')}`);
  mkdirSync(dir, { recursive: true });
  const tar = spawnSync('sh', ['-c', 'git archive "$1" | tar -x -C "$2"', 'sh', ref, dir], { cwd: repoRoot, stdio: ['ignore', 'inherit', 'inherit'] });
  if (tar.status !== 0) throw new Error(`git archive ${ref} failed`);
  symlinkSync(join(repoRoot, 'node_modules'), join(dir, 'node_modules'));
  log(`building Warren ${ref} in ${dir}`);
  const r = spawnSync(process.execPath, [join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: dir, stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) throw new Error(`building ${ref} failed`);
  return dir;
}

function brokerSpecs(o: Options): BrokerSpec[] {
  const a: BrokerSpec = o.aUrl
    ? { slot: 'A', kind: 'external', name: 'A', url: o.aUrl, ...(o.aPid ? { pid: o.aPid } : {}) }
    : { slot: 'A', kind: 'warren', name: 'Warren', durability: o.durability, nodeArgs: o.warrenNodeArgs, dir: o.warrenDir };
  const b: BrokerSpec = o.bUrl ? { slot: 'B', kind: 'external', name: 'B', url: o.bUrl, ...(o.bPid ? { pid: o.bPid } : {}) } : { slot: 'B', kind: 'rabbitmq', name: 'RabbitMQ' };
  const only = o.only?.toLowerCase();
  if (only === undefined) return [a, b];
  if (only === 'warren' || only === 'a') return [a];
  if (only === 'rabbitmq' || only === 'b') return [b];
  if (only === 'null') return [];
  throw new Error(`--only takes warren, rabbitmq or null, not ${o.only}`);
}

const NULL_SPEC: BrokerSpec = { slot: 'null', kind: 'null', name: 'null sink' };

function rssMiB(h: BrokerHandle): number | undefined {
  return h.pid === undefined ? undefined : rss(processTree(h.pid)) / 2 ** 20;
}

function infoOf(h: BrokerHandle): BrokerInfo {
  return { slot: h.slot, name: h.name, kind: h.kind, version: h.version, settings: h.settings, ...(h.coldStartMs !== undefined ? { coldStartMs: h.coldStartMs } : {}) };
}

/** Brokers seen in the run, by slot, for the header. */
const seen = new Map<string, BrokerInfo>();

async function runStartup(s: Scenario, specs: BrokerSpec[], o: Options): Promise<ScenarioResult> {
  const rounds: RoundResult[] = [];
  const brokers = new Map<string, BrokerInfo>();
  const startable = specs.filter((x) => x.kind !== 'external');
  for (let r = 1; r <= o.rounds; r++) {
    for (const spec of startable) {
      try {
        const h = await startBroker(spec);
        try {
          brokers.set(h.slot, infoOf(h));
          seen.set(h.slot, infoOf(h));
          await sleep(Math.max(o.timing.settleMs, 2000));
          const figures: Record<string, number> = { 'cold start ms': h.coldStartMs! };
          const m = rssMiB(h);
          if (m !== undefined) figures['idle RSS MiB'] = m;
          rounds.push({ slot: h.slot, round: r, figures, notes: [] });
          log(`${elapsed()} ${s.name} round ${r}/${o.rounds} ${h.name}: ${fmt(h.coldStartMs)} ms to listening, idle ${fmt(m)} MiB`);
        } finally {
          await h.stop();
        }
      } catch (e) {
        rounds.push({ slot: spec.slot, round: r, figures: {}, notes: [], error: (e as Error).message });
        if (!brokers.has(spec.slot)) brokers.set(spec.slot, { slot: spec.slot, name: spec.name, kind: spec.kind, version: '?', settings: '' });
      }
    }
  }
  return summarizeScenario({ name: s.name, kind: s.kind, title: s.title, params: s.params, brokers: [...brokers.values()], rounds, notes: [] });
}

async function runScenario(s: Scenario, specs: BrokerSpec[], o: Options): Promise<ScenarioResult> {
  if (s.kind === 'startup') return runStartup(s, specs, o);
  const all = o.ceiling && s.ceiling ? [...specs, NULL_SPEC] : specs;
  const handles = new Map<string, BrokerHandle>();
  const infos = new Map<string, BrokerInfo>();
  const notes: string[] = [];
  const rounds: RoundResult[] = [];
  const n = Math.min(o.rounds, s.maxRounds ?? Infinity);

  const start = async (spec: BrokerSpec): Promise<BrokerHandle | undefined> => {
    try {
      const h = await startBroker(spec);
      handles.set(spec.slot, h);
      const info = infoOf(h);
      const m = rssMiB(h);
      if (m !== undefined) info.startRssMiB = m;
      infos.set(spec.slot, info);
      if (h.kind !== 'null') seen.set(h.slot, info);
      return h;
    } catch (e) {
      infos.set(spec.slot, { slot: spec.slot, name: spec.name, kind: spec.kind, version: '?', settings: '', error: `did not start: ${(e as Error).message}` });
      return undefined;
    }
  };
  /** Memory at rest (and data on disk) after the scenario's last round on this broker. */
  const atRest = (h: BrokerHandle) => {
    const info = infos.get(h.slot)!;
    const m = rssMiB(h);
    if (m !== undefined && h.kind !== 'null') info.restRssMiB = m;
    if (s.params.persistent && h.dataDir !== undefined) info.diskMiB = diskUsage(h.dataDir) / 2 ** 20;
  };
  const stop = async (h: BrokerHandle) => {
    handles.delete(h.slot);
    await h.stop().catch(() => undefined);
  };

  try {
    // Started together and stopped together: RabbitMQ takes seconds either way, and nothing is
    // measured meanwhile (cold start has its own scenario).
    if (!s.freshBrokerEachRound) await Promise.all(all.map((spec) => start(spec)));
    for (let r = 1; r <= n; r++) {
      for (const spec of all) {
        const h = s.freshBrokerEachRound ? await start(spec) : handles.get(spec.slot);
        if (h === undefined) continue;
        let result: RoundResult;
        try {
          if (s.kind === 'connections') result = await connectionsRound(h, s, r, o.timing);
          else if (s.kind === 'backlog') result = await backlogRound(h, s, r, o.timing);
          else if (s.kind === 'stream') result = await streamRound(h, s, r, o.timing);
          else result = await flowRound(h, s, r, o.timing, o.layout);
        } catch (e) {
          killWorkers();
          result = { slot: h.slot, round: r, figures: {}, notes: [], error: (e as Error).message };
        }
        rounds.push(result);
        const main = Object.entries(result.figures).slice(0, 3).map(([k, v]) => `${k} ${fmt(v)}`).join(', ');
        log(`${elapsed()} ${s.name} round ${r}/${n} ${h.name}: ${result.error ? `FAILED: ${result.error}` : main}${result.notes.length ? ` (${result.notes.join('; ')})` : ''}`);
        if (s.freshBrokerEachRound) {
          if (r === n) {
            await sleep(o.timing.settleMs);
            atRest(h);
          }
          await stop(h);
        }
      }
    }
    if (!s.freshBrokerEachRound) {
      await sleep(o.timing.settleMs);
      for (const h of handles.values()) atRest(h);
    }
    if (s.params.persistent) {
      const w = [...infos.values()].find((x) => x.kind === 'warren');
      // Only rounds that measure their writes (a stream replay reads what it stored before it measured).
      const writes = rounds.filter((x) => x.slot === w?.slot).map((x) => x.figures['disk writes MiB']).filter((x) => x !== undefined);
      if (w && writes.length > 0 && Math.max(0, ...writes) < 0.01) {
        notes.push(`Warren (--durability ${o.durability}) wrote nothing to disk during the rounds: its persistent figures measure the in-memory path (durable storage not implemented in this build)`);
      }
    }
  } finally {
    await Promise.all([...handles.values()].map((h) => stop(h)));
  }
  const brokers = all.map((spec) => infos.get(spec.slot)).filter((x) => x !== undefined);
  return summarizeScenario({ name: s.name, kind: s.kind, title: s.title, params: s.params, brokers, rounds, notes });
}

/** The figure that says most about a scenario, for the ceiling check. */
function primaryFigure(r: ScenarioResult): string | undefined {
  if (r.kind !== 'throughput') return undefined;
  return r.params.consumers > 0 ? 'delivered msg/s' : 'confirmed msg/s';
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  if (o.help) {
    process.stdout.write(USAGE);
    return;
  }
  if (o.list) {
    for (const s of SCENARIOS) process.stdout.write(`${s.name.padEnd(20)} ${s.title}\n${''.padEnd(20)} ${describeParams(s)}\n`);
    return;
  }
  const selected = selectScenarios(o.scenarios).map((s) => {
    const count = s.kind === 'backlog' ? o.backlog : s.kind === 'connections' ? o.connections : s.kind === 'stream' ? o.streamMessages : undefined;
    const over: Partial<Params> = s.kind === 'throughput' || s.kind === 'latency' ? o.overrides : count !== undefined ? { count } : {};
    const changed = Object.entries(over).map(([k, v]) => `${k}=${v}`).join(', ');
    return { ...s, title: changed ? `${s.title} [overridden: ${changed}]` : s.title, params: { ...s.params, ...over } };
  });
  const specs = brokerSpecs(o);
  if (o.only === 'null') o.ceiling = true;
  if (specs.some((x) => x.kind === 'warren')) {
    if (o.warrenRef !== undefined) {
      o.warrenDir = checkoutRef(o.warrenRef);
      for (const x of specs) if (x.kind === 'warren') x.dir = o.warrenDir;
    } else ensureBuilt(o.warrenDir, o.build);
  }

  const started = new Date();
  const mach = machine();
  const loadStart = loadAverage();
  log(`warren bench: ${selected.map((s) => s.name).join(', ')}; ${o.rounds} rounds of ${o.timing.durationMs / 1000} s after ${o.timing.warmupMs / 1000} s warm-up; ${mach.cores} cores`);
  const results: ScenarioResult[] = [];
  for (const s of selected) results.push(await runScenario(s, specs, o));

  const names: Record<string, string> = { A: seen.get('A')?.name ?? 'A', B: seen.get('B')?.name ?? 'B' };
  const meta = {
    command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim(),
    started: started.toISOString(),
    minutes: (Date.now() - started.getTime()) / 60_000,
    machine: mach,
    node: process.version,
    loadAverage: { start: loadStart, end: loadAverage() },
    warrenDir: o.warrenDir,
    warrenCommit: gitDescribe(o.warrenDir, o.warrenRef),
    durability: o.durability,
    timing: o.timing,
    rounds: o.rounds,
    layout: o.layout,
    brokers: Object.fromEntries([...seen.values()].map((b) => [b.slot, { name: b.name, version: b.version, settings: b.settings }])),
  };

  const lines: string[] = [];
  lines.push(`command: ${meta.command}`);
  lines.push(`machine: ${mach.cores} cores (${mach.cpu}), ${mach.memGiB} GiB, Linux ${mach.kernel}; ${meta.node}; Warren ${meta.warrenCommit}${o.warrenDir !== repoRoot && o.warrenRef === undefined ? ` in ${o.warrenDir}` : ''}`);
  for (const b of seen.values()) lines.push(`${b.slot} = ${b.name}: ${b.version}; ${b.settings}`);
  lines.push(`load average (1 min) at start ${loadStart}, at end ${meta.loadAverage.end}; "other processes CPU" is what the rest of the machine used during a round`);
  lines.push(`rounds: ${o.rounds} per broker, alternating; ${o.timing.warmupMs / 1000} s warm-up + ${o.timing.durationMs / 1000} s measured; cells: median [min-max]`);
  const ceilings = results
    .map((r) => {
      const f = primaryFigure(r);
      const c = f ? r.summary[f]?.['null'] : undefined;
      return c ? `${r.name} ${fmt(c.median)}` : undefined;
    })
    .filter((x) => x !== undefined);
  if (ceilings.length > 0) lines.push(`generator ceiling (null sink, msg/s): ${ceilings.join(', ')}`);
  for (const r of results) {
    const f = primaryFigure(r);
    const c = f ? r.summary[f]?.['null'] : undefined;
    if (!f || !c) continue;
    for (const slot of ['A', 'B']) {
      const v = r.summary[f]?.[slot];
      if (v && v.median > 0.8 * c.median) r.notes.push(`${names[slot]} reaches ${Math.round((100 * v.median) / c.median)}% of the null sink's figure: the generator, the loopback or the machine may be what limits it`);
    }
  }
  lines.push('');
  lines.push(renderTable(results, names));
  const text = lines.join('\n');
  process.stdout.write(`\n${text}\n`);

  const jsonPath = resolve(o.json ?? join(repoRoot, 'node_modules', '.cache', 'warren-bench', 'results', `${started.toISOString().replace(/[:.]/g, '-')}.json`));
  mkdirSync(dirname(jsonPath), { recursive: true });
  writeFileSync(jsonPath, JSON.stringify({ meta, results, table: text }, null, 2));
  process.stdout.write(`\nJSON: ${jsonPath}\n`);
}

const cleanup = () => {
  killWorkers();
  killAll();
};
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    cleanup();
    process.exit(130);
  });
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  },
);
