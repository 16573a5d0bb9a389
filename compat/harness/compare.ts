// The differential runner: every scenario runs against the reference RabbitMQ and against Warren, and
// the normalised transcripts are compared.
//   1. RabbitMQ first. A scenario that fails there (an unexpected error, a failed check, a timeout) is
//      a broken scenario and fails the test, whatever Warren does. Its transcript is also pinned as a
//      vitest snapshot, so a change in the reference's behaviour (or a flaky scenario) shows up.
//   2. Warren's transcript must equal RabbitMQ's, or the alternative a KNOWN_DIFFS.md entry allows.
//   3. A difference fails the test unless the scenario is listed in PENDING.md; a pending scenario
//      that differs is reported as skipped, one that matches is reported for removal from the list.
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, inject, test, type TestContext } from 'vitest';
import { knownDiffFor } from './known-diffs.js';
import { lines, normalise } from './normalise.js';
import { pendingFor, readPending } from './pending.js';
import { acquireReference, type ReferenceBroker } from './reference.js';
import { Ctx, RecordedError, ScenarioAbort, type Event, type ScenarioDef, type Target } from './scenario.js';
import { startWarren, type WarrenHandle } from './warren.js';

type Outcome = 'match' | 'known-diff' | 'differs' | 'reference-fails' | 'no-reference';

export interface ResultRecord {
  id: string;
  area: string;
  client: string;
  outcome: Outcome;
  pending: string | null;
  ms: number;
}

interface RunResult {
  events: Event[];
  /** Why the run does not count as passing (meaningful for the reference run). */
  failure?: string;
}

let counter = 0;
function freshPrefix(): string {
  return `cx-${inject('compat').runId}${(++counter).toString(36)}${Math.random().toString(36).slice(2, 5)}-`;
}

/** Run one phase of a scenario against one target; never throws. */
async function runPhase(def: ScenarioDef, body: ScenarioDef['body'], target: Target, prefix: string): Promise<RunResult> {
  const t = new Ctx(target, def.id, prefix);
  let failure: string | undefined;
  try {
    await body(t);
  } catch (err) {
    if (err instanceof RecordedError) failure = `unexpected broker error: ${JSON.stringify(err.info)}`;
    else if (err instanceof ScenarioAbort) failure = err.message;
    else failure = `client exception: ${(err as Error)?.stack ?? String(err)}`;
    t.events.push({ aborted: err instanceof RecordedError || err instanceof ScenarioAbort ? err.message : `client exception: ${(err as Error)?.message ?? String(err)}` });
  }
  try {
    await t.teardown();
  } catch (err) {
    failure ??= `teardown: ${(err as Error).message}`;
    t.events.push({ aborted: `teardown: ${(err as Error).message}` });
  }
  return { events: normalise(t.events, prefix), ...(failure ? { failure } : {}) };
}

function unavailable(reason: string): RunResult {
  return { events: [{ warren: `unavailable: ${reason}` }], failure: reason };
}

function sameLines(a: Event[], b: Event[]): boolean {
  const x = lines(a);
  const y = lines(b);
  return x.length === y.length && x.every((l, i) => l === y[i]);
}

const pendingEntries = readPending();
const snapshots = process.env.COMPAT_SNAPSHOTS !== '0';
const strictPending = !!process.env.COMPAT_STRICT_PENDING;

function report(rec: ResultRecord): void {
  const dir = inject('compat').resultsDir;
  appendFileSync(path.join(dir, `${process.pid}.jsonl`), `${JSON.stringify(rec)}\n`);
}

/** Skip (or, in CI, fail) when there is no reference broker: loudly, never silently. */
function noReference(ctx: TestContext, def: ScenarioDef, reason: string): never {
  report({ id: def.id, area: def.area, client: def.client, outcome: 'no-reference', pending: null, ms: 0 });
  if (process.env.CI || process.env.COMPAT_REQUIRE_REFERENCE) throw new Error(`no reference RabbitMQ: ${reason}`);
  ctx.skip(`no reference RabbitMQ: ${reason}`);
  throw new Error('unreachable');
}

/** Decide and report the comparison for one scenario. */
function judge(ctx: TestContext, def: ScenarioDef, ref: RunResult, war: RunResult, started: number): void {
  const pending = pendingFor(pendingEntries, def.id);
  const base = { id: def.id, area: def.area, client: def.client, pending: pending?.issue ?? null };
  if (ref.failure) {
    report({ ...base, outcome: 'reference-fails', ms: Date.now() - started });
    throw new Error(`scenario does not pass against RabbitMQ: ${ref.failure}\n${lines(ref.events).join('\n')}`);
  }
  if (snapshots) ctx.expect(lines(ref.events).join('\n')).toMatchSnapshot();
  const kd = knownDiffFor(def.id);
  let outcome: Outcome = 'differs';
  if (sameLines(war.events, ref.events)) outcome = 'match';
  else if (kd?.accepts(ref.events, war.events)) {
    outcome = 'known-diff';
    ctx.annotate(`differs from RabbitMQ 3.10.8 as accepted by ${kd.key}: ${kd.summary}`, 'notice');
  }
  report({ ...base, outcome, ms: Date.now() - started });
  if (outcome === 'differs' && process.env.COMPAT_DIFF_DIR) writeDiff(process.env.COMPAT_DIFF_DIR, def.id, lines(ref.events), lines(war.events));
  if (outcome !== 'differs') {
    if (pending) {
      const note = `pending scenario now matches: remove it from PENDING.md (line ${pending.line}, ${pending.issue})`;
      ctx.annotate(note, 'notice');
      if (strictPending) throw new Error(note);
    }
    return;
  }
  if (pending) {
    ctx.skip(`pending (${pending.issue}): Warren differs from RabbitMQ`);
    return;
  }
  ctx.expect(lines(war.events), 'Warren differs from RabbitMQ (not listed in PENDING.md or KNOWN_DIFFS.md)').toEqual(lines(ref.events));
}

/**
 * Brokers of a suite's own instead of the shared reference and a plain Warren: compat/access.test.ts
 * configures both from one definitions file (RabbitMQ's load_definitions, Warren's
 * --load-definitions) and gives its scenarios the management API (Target.managementUrl).
 */
export interface OwnBrokers {
  /** The definitions file's JSON text. */
  definitions: string;
}

interface SuiteTargets {
  reference: Target | undefined;
  /** Why there is no reference (the shared one's reason, or this suite's own node's). */
  noReference: string;
  warren: WarrenHandle | undefined;
  warrenReason: string;
  stop(): Promise<void>;
}

async function suiteTargets(own: OwnBrokers | undefined): Promise<SuiteTargets> {
  const env = inject('compat');
  const rabbitmqVersion = env.personality ?? undefined;
  if (own === undefined) {
    const out: SuiteTargets = { reference: undefined, noReference: env.unavailableReason ?? 'unknown', warren: undefined, warrenReason: 'not started', stop: async () => out.warren?.close() };
    if (!env.referenceUrl) return out;
    out.reference = { name: 'rabbitmq', url: env.referenceUrl };
    const w = await startWarren({ rabbitmqVersion });
    if (w.ok) out.warren = w.broker;
    else out.warrenReason = w.reason;
    return out;
  }
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'warren-compat-own-'));
  let node: ReferenceBroker | undefined;
  const out: SuiteTargets = {
    reference: undefined,
    noReference: env.unavailableReason ?? 'unknown',
    warren: undefined,
    warrenReason: 'not started',
    stop: async () => {
      await out.warren?.close();
      if (node?.owned) await node.stop();
      rmSync(scratch, { recursive: true, force: true });
    },
  };
  if (!env.referenceUrl) return out;
  const file = path.join(scratch, 'definitions.json');
  writeFileSync(file, own.definitions);
  const [acquired, w] = await Promise.all([
    acquireReference({ ownOnly: true, definitions: own.definitions }),
    startWarren({ rabbitmqVersion, loadDefinitions: file, managementPort: 0 }),
  ]);
  if (acquired.ok) {
    node = acquired.broker;
    out.reference = { name: 'rabbitmq', url: node.url, ...(node.managementUrl === undefined ? {} : { managementUrl: node.managementUrl }) };
  } else out.noReference = acquired.reason;
  if (w.ok) out.warren = w.broker;
  else out.warrenReason = w.reason;
  return out;
}

/** One describe block per area: each scenario a test, scenarios of a file run concurrently. */
export function compatSuite(title: string, defs: ScenarioDef[], own?: OwnBrokers): void {
  describe.concurrent(title, () => {
    let targets: SuiteTargets | undefined;
    beforeAll(async () => {
      targets = await suiteTargets(own);
    }, 180_000);
    afterAll(async () => {
      await targets?.stop();
    });
    for (const def of defs) {
      test(def.id, async (ctx) => {
        const reference = targets?.reference;
        if (reference === undefined) noReference(ctx, def, targets?.noReference ?? 'not started');
        const started = Date.now();
        const warren = targets?.warren;
        const warrenTarget: Target | undefined = warren && { name: 'warren', url: warren.url, ...(warren.managementUrl === undefined ? {} : { managementUrl: warren.managementUrl }) };
        const [ref, war] = await Promise.all([
          runPhase(def, def.body, reference, freshPrefix()),
          warrenTarget ? runPhase(def, def.body, warrenTarget, freshPrefix()) : Promise.resolve(unavailable(targets?.warrenReason ?? 'not started')),
        ]);
        judge(ctx, def, ref, war, started);
      });
    }
  });
}

// ---- restarts ------------------------------------------------------------------------------------

/** Port of the reference node that restart scenarios restart (never the shared one); unset: a free one. */
const RESTART_REFERENCE_PORT = process.env.COMPAT_RMQ_RESTART_PORT ? Number(process.env.COMPAT_RMQ_RESTART_PORT) : undefined;

async function runBatch(defs: ScenarioDef[], target: Target, restart: () => Promise<Target>): Promise<Map<string, RunResult>> {
  const prefixes = new Map(defs.map((d) => [d.id, freshPrefix()]));
  const before = await Promise.all(defs.map((d) => runPhase(d, d.body, target, prefixes.get(d.id)!)));
  let after: RunResult[];
  try {
    const next = await restart();
    after = await Promise.all(defs.map((d) => runPhase(d, d.after!, next, prefixes.get(d.id)!)));
  } catch (err) {
    after = defs.map(() => ({ events: [{ aborted: `restart failed: ${(err as Error).message}` }], failure: `restart failed: ${(err as Error).message}` }));
  }
  const out = new Map<string, RunResult>();
  defs.forEach((d, i) => {
    const b = before[i]!;
    const a = after[i]!;
    const failure = b.failure ?? a.failure;
    out.set(d.id, { events: [...b.events, { restart: true }, ...a.events], ...(failure ? { failure } : {}) });
  });
  return out;
}

/**
 * Restart scenarios: all `before` phases run, each broker restarts once (RabbitMQ: stop_app/start_app
 * on a node of our own; Warren: close() and startBroker() again on the same data directory), then all
 * `after` phases run.
 */
export function compatRestartSuite(title: string, defs: ScenarioDef[]): void {
  const env = inject('compat');
  describe(title, () => {
    let refResults: Map<string, RunResult> | undefined;
    let warResults: Map<string, RunResult> | undefined;
    let noRef: string | undefined;
    let reference: ReferenceBroker | undefined;
    let warren: WarrenHandle | undefined;
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'warren-compat-data-'));
    beforeAll(async () => {
      if (!env.referenceUrl) {
        noRef = env.unavailableReason ?? 'unknown';
        return;
      }
      const acquired = await acquireReference({ port: RESTART_REFERENCE_PORT, ownOnly: true });
      if (!acquired.ok || !acquired.broker.restart) {
        noRef = acquired.ok ? 'the reference broker cannot be restarted' : acquired.reason;
        console.warn(`[compat] restart scenarios cannot run: ${noRef}`);
        return;
      }
      reference = acquired.broker;
      const ref = reference;
      const refRun = runBatch(defs, { name: 'rabbitmq', url: ref.url }, async () => {
        await ref.restart!();
        return { name: 'rabbitmq', url: ref.url };
      });
      const started = await startWarren({ dataDir, durability: 'os', rabbitmqVersion: env.personality ?? undefined });
      let warRun: Promise<Map<string, RunResult>>;
      if (started.ok) {
        warren = started.broker;
        warRun = runBatch(defs, { name: 'warren', url: warren.url }, async () => {
          await warren!.close();
          const again = await startWarren({ dataDir, durability: 'os', rabbitmqVersion: env.personality ?? undefined });
          warren = again.ok ? again.broker : undefined;
          if (!again.ok) throw new Error(again.reason);
          return { name: 'warren', url: again.broker.url };
        });
      } else {
        const reason = started.reason;
        warRun = Promise.resolve(new Map(defs.map((d) => [d.id, unavailable(reason)])));
      }
      [refResults, warResults] = await Promise.all([refRun, warRun]);
    }, 180_000);
    afterAll(async () => {
      await warren?.close();
      if (reference?.owned) await reference.stop();
      rmSync(dataDir, { recursive: true, force: true });
    });
    for (const def of defs) {
      test(def.id, (ctx) => {
        if (noRef) noReference(ctx, def, noRef);
        judge(ctx, def, refResults!.get(def.id)!, warResults!.get(def.id)!, Date.now());
      });
    }
  });
}

/** COMPAT_DIFF_DIR=dir: writes each differing scenario's two transcripts side by side, for debugging. */
function writeDiff(dir: string, id: string, ref: string[], war: string[]): void {
  mkdirSync(dir, { recursive: true });
  const out: string[] = [];
  const n = Math.max(ref.length, war.length);
  for (let i = 0; i < n; i++) {
    if (ref[i] === war[i]) out.push(`  ${ref[i]}`);
    else {
      if (ref[i] !== undefined) out.push(`- ${ref[i]}`);
      if (war[i] !== undefined) out.push(`+ ${war[i]}`);
    }
  }
  writeFileSync(path.join(dir, `${id.replace(/\//g, '__')}.diff`), out.join('\n') + '\n');
}
