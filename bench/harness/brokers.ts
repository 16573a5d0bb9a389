/**
 * Starting and stopping the brokers under test as child processes of the harness, so that their
 * memory can be read from /proc and their cold start timed: from spawn to the first connection.start
 * received on a fresh TCP connection (the broker is listening and answering AMQP).
 *
 * - Warren: `node bin/warren.js` (the compiled dist/), in a fresh data directory.
 * - RabbitMQ: Debian's rabbitmq-server run as the `rabbitmq` user, in a fresh mnesia and log
 *   directory, with its own node name, AMQP port and distribution port (epmd is shared), and the open
 *   file limit raised to the hard limit for the 1,000-connection scenario.
 * - The null sink (null-sink.ts), the load generator's ceiling.
 * - An already running broker given by URL (memory is read only if its pid is given).
 *
 * Every process started here is put in its own process group and recorded, so that it can be stopped
 * by its group id, also when the harness fails or is interrupted.
 */
import { spawn, fork, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LeanConnection, type Endpoint } from './client.js';

export type BrokerKind = 'warren' | 'rabbitmq' | 'null' | 'external';

export interface BrokerHandle {
  /** 'A', 'B' or 'null'. */
  slot: string;
  kind: BrokerKind;
  name: string;
  endpoint: Endpoint;
  /** The root of the broker's process tree, when known (memory and CPU are read from it). */
  pid: number | undefined;
  /** Product and version as the broker announces them in connection.start. */
  version: string;
  /** Spawn to first connection.start, in ms (brokers the harness started). */
  coldStartMs: number | undefined;
  /** Where the broker keeps its data, if the harness chose it. */
  dataDir: string | undefined;
  settings: string;
  stop(): Promise<void>;
}

export interface BrokerSpec {
  slot: string;
  kind: BrokerKind;
  name: string;
  /** For 'external': where it runs. */
  url?: string;
  pid?: number;
  /** Warren's --durability. */
  durability?: string;
  /** Extra node flags for Warren (profiling). */
  nodeArgs?: string[];
  /** Warren's checkout (bin/ and dist/); default this repository. */
  dir?: string;
}

const repoRoot = fileURLToPath(new URL('../../../../../', import.meta.url));
const here = fileURLToPath(new URL('.', import.meta.url));
let scratch: string | undefined;

/** The harness's scratch directory under the system temp dir, removed at exit. */
export function scratchDir(): string {
  scratch ??= mkdtempSync(join(tmpdir(), 'warren-bench-'));
  return scratch;
}

const groups = new Set<number>();

/** Kills every process group started here (SIGKILL) and removes the scratch directory. Synchronous: safe in 'exit'. */
export function killAll(): void {
  for (const g of groups) {
    try {
      process.kill(-g, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  groups.clear();
  if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true });
  scratch = undefined;
}

/** A TCP port nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a !== null ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** Resolves when a fresh connection to the port gets the first bytes of connection.start. */
function answersAmqp(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.once('error', () => done(false));
    s.setTimeout(2000, () => done(false));
    s.once('connect', () => s.write(Buffer.from('AMQP\x00\x00\x09\x01', 'latin1')));
    s.once('data', (d: Buffer) => done(d[0] === 1));
  });
}

async function waitListening(port: number, child: ChildProcess, t0: number, timeoutMs: number, pollMs: number, log: () => string): Promise<number> {
  let exited: string | undefined;
  child.once('exit', (code, signal) => (exited = `exited with ${code ?? signal}`));
  while (performance.now() - t0 < timeoutMs) {
    if (exited !== undefined) throw new Error(`broker ${exited} before listening:\n${log()}`);
    if (await answersAmqp(port)) return performance.now() - t0;
    await new Promise((r) => setTimeout(r, pollMs));
  }
  throw new Error(`broker not listening on ${port} after ${timeoutMs} ms:\n${log()}`);
}

async function stopGroup(child: ChildProcess, graceMs: number): Promise<void> {
  const pid = child.pid;
  if (pid === undefined) return;
  if (child.exitCode !== null || child.signalCode !== null) {
    groups.delete(pid);
    return;
  }
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  try {
    process.kill(-pid, 'SIGTERM');
  } catch {
    // Gone already.
  }
  const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), graceMs).unref());
  if ((await Promise.race([exited, timer])) === 'timeout') {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // Gone.
    }
    await exited;
  }
  // RabbitMQ's children can outlive the script briefly; the group goes with one more signal.
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // Gone.
  }
  groups.delete(pid);
}

function tail(path: string, bytes = 3000): string {
  try {
    const s = readFileSync(path, 'utf8');
    return s.slice(-bytes);
  } catch {
    return '';
  }
}

async function announce(ep: Endpoint): Promise<string> {
  const c = await LeanConnection.open(ep, 'bench-probe');
  const v = c.productVersion();
  await c.close();
  return v;
}

/** The node flags bin/warren.js's `#!/usr/bin/env -S node ...` line gives the broker, so the bench runs it as `npm start` does. */
function shebangNodeFlags(bin: string): string[] {
  const first = readFileSync(bin, 'utf8').split('\n', 1)[0]!;
  const m = /^#!\/usr\/bin\/env -S node (.*)$/.exec(first);
  return m === null ? [] : m[1]!.trim().split(/\s+/);
}

async function startWarren(spec: BrokerSpec): Promise<BrokerHandle> {
  const dir = spec.dir ?? repoRoot;
  const bin = join(dir, 'bin', 'warren.js');
  if (!existsSync(join(dir, 'dist', 'cli.js'))) throw new Error(`${dir}/dist/ is missing: run \`npm run build\` there first`);
  const port = await freePort();
  const dataDir = mkdtempSync(join(scratchDir(), 'warren-data-'));
  const durability = spec.durability ?? 'fsync';
  const logPath = join(dataDir, '..', `warren-${port}.log`);
  const out = openSync(logPath, 'w');
  // Compared with RabbitMQ 3.10.8, Warren imitates 3.10 (a build from before --rabbitmq-version has no flag for it).
  const personality = existsSync(join(dir, 'dist', 'personality.js')) ? ['--rabbitmq-version', '3.10'] : [];
  // Off, as in the RabbitMQ the harness starts (no plugins): and the fixed 15672/15692 may be taken by another broker.
  const httpOff = existsSync(join(dir, 'dist', 'management')) ? ['--management-port', '0', '--prometheus-port', '0'] : [];
  const args = [...shebangNodeFlags(bin), ...(spec.nodeArgs ?? []), bin, '--port', String(port), '--host', '127.0.0.1', '--data-dir', dataDir, '--durability', durability, '--log-level', 'warn', '--mqtt-port', '0', ...personality, ...httpOff];
  const t0 = performance.now();
  const child = spawn(process.execPath, args, { cwd: dir, detached: true, stdio: ['ignore', out, out] });
  closeSync(out);
  groups.add(child.pid!);
  let coldStartMs: number;
  try {
    coldStartMs = await waitListening(port, child, t0, 30_000, 2, () => tail(logPath));
  } catch (e) {
    await stopGroup(child, 1000);
    throw e;
  }
  const endpoint = { host: '127.0.0.1', port };
  return {
    slot: spec.slot,
    kind: 'warren',
    name: spec.name,
    endpoint,
    pid: child.pid,
    version: await announce(endpoint),
    coldStartMs,
    dataDir,
    settings: `node ${process.version}${spec.nodeArgs?.length ? ` ${spec.nodeArgs.join(' ')}` : ''}, bin/warren.js --durability ${durability} --log-level warn ${personality.join(' ')}`.trimEnd(),
    stop: () => stopGroup(child, 10_000),
  };
}

function passwdIds(user: string): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${user}:`));
  if (line === undefined) throw new Error(`no user ${user}: is rabbitmq-server installed?`);
  const f = line.split(':');
  return { uid: Number(f[2]), gid: Number(f[3]) };
}

export const RABBITMQ_SERVER = '/usr/lib/rabbitmq/bin/rabbitmq-server';

async function startRabbit(spec: BrokerSpec): Promise<BrokerHandle> {
  if (!existsSync(RABBITMQ_SERVER)) throw new Error(`${RABBITMQ_SERVER} not found: install Debian's rabbitmq-server or use --b-url`);
  const { uid, gid } = passwdIds('rabbitmq');
  const port = await freePort();
  const distPort = await freePort();
  const base = mkdtempSync(join(scratchDir(), `rabbitmq-${port}-`));
  for (const d of ['mnesia', 'log']) mkdirSync(join(base, d));
  for (const d of [base, join(base, 'mnesia'), join(base, 'log')]) chownSync(d, uid, gid);
  // The rabbitmq user must get through the scratch directory to its own.
  chmodSync(scratchDir(), 0o711);
  const logPath = join(base, 'server.out');
  const out = openSync(logPath, 'w');
  chownSync(logPath, uid, gid);
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: '/var/lib/rabbitmq',
    LANG: 'C.UTF-8',
    RABBITMQ_MNESIA_BASE: join(base, 'mnesia'),
    RABBITMQ_LOG_BASE: join(base, 'log'),
    RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_NODENAME: `warrenbench${port}@localhost`,
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_PID_FILE: join(base, 'rabbitmq.pid'),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(base, 'enabled_plugins'),
  };
  const t0 = performance.now();
  // What Debian's wrapper does (su to rabbitmq), with the file limit raised: su would leave it at 1024.
  const child = spawn('/bin/sh', ['-c', `ulimit -n $(ulimit -Hn); exec ${RABBITMQ_SERVER}`], {
    cwd: '/var/lib/rabbitmq',
    env,
    uid,
    gid,
    detached: true,
    stdio: ['ignore', out, out],
  });
  closeSync(out);
  groups.add(child.pid!);
  let coldStartMs: number;
  try {
    coldStartMs = await waitListening(port, child, t0, 120_000, 10, () => tail(logPath));
  } catch (e) {
    await stopGroup(child, 5000);
    throw e;
  }
  const endpoint = { host: '127.0.0.1', port };
  return {
    slot: spec.slot,
    kind: 'rabbitmq',
    name: spec.name,
    endpoint,
    pid: child.pid,
    version: await announce(endpoint),
    coldStartMs,
    dataDir: join(base, 'mnesia'),
    settings: 'Debian rabbitmq-server, default configuration (classic queues), loopback listener, nofile raised to the hard limit',
    stop: () => stopGroup(child, 30_000),
  };
}

async function startNull(spec: BrokerSpec): Promise<BrokerHandle> {
  const t0 = performance.now();
  // BENCH_SINK_NODE_ARGS: node flags for the sink (e.g. --cpu-prof), to see what limits it.
  const execArgv = (process.env.BENCH_SINK_NODE_ARGS ?? '').split(/\s+/).filter((x) => x !== '');
  const child = fork(join(here, 'null-sink.js'), ['--serve', '0'], { execArgv, detached: true, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  groups.add(child.pid!);
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (m) => resolve((m as { listening: number }).listening));
    child.once('exit', (code) => reject(new Error(`null sink exited with ${code}`)));
  });
  const coldStartMs = performance.now() - t0;
  const endpoint = { host: '127.0.0.1', port };
  return {
    slot: spec.slot,
    kind: 'null',
    name: spec.name,
    endpoint,
    pid: child.pid,
    version: 'null sink (harness)',
    coldStartMs,
    dataDir: undefined,
    settings: 'forwards publishes as deliveries, stores nothing',
    stop: async () => {
      child.disconnect();
      await stopGroup(child, 2000);
    },
  };
}

async function attachExternal(spec: BrokerSpec): Promise<BrokerHandle> {
  const u = new URL(spec.url!);
  const endpoint: Endpoint = {
    host: u.hostname === 'localhost' ? '127.0.0.1' : u.hostname,
    port: Number(u.port || 5672),
    user: decodeURIComponent(u.username || 'guest'),
    password: decodeURIComponent(u.password || 'guest'),
    vhost: u.pathname.length > 1 ? decodeURIComponent(u.pathname.slice(1)) : '/',
  };
  return {
    slot: spec.slot,
    kind: 'external',
    name: spec.name,
    endpoint,
    pid: spec.pid,
    version: await announce(endpoint),
    coldStartMs: undefined,
    dataDir: undefined,
    settings: `already running at ${u.host}${spec.pid ? `, pid ${spec.pid}` : ' (memory not measured: no --pid given)'}`,
    stop: async () => undefined,
  };
}

export function startBroker(spec: BrokerSpec): Promise<BrokerHandle> {
  switch (spec.kind) {
    case 'warren':
      return startWarren(spec);
    case 'rabbitmq':
      return startRabbit(spec);
    case 'null':
      return startNull(spec);
    case 'external':
      return attachExternal(spec);
  }
}

/** Bytes under a directory (what a broker keeps on disk). */
export function diskUsage(dir: string | undefined): number {
  if (dir === undefined || !existsSync(dir)) return 0;
  let n = 0;
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) n += statSync(p).size;
    }
  };
  walk(dir);
  return n;
}
