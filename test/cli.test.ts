/**
 * The command line: flags and environment variables, readiness, and graceful shutdown on SIGTERM and
 * SIGINT (every connection closed with 320 CONNECTION_FORCED, exit code 0); what a first run meets:
 * --help, --version, short flags, one-line start failures, the log formats, and `npm start`
 * stopping with its broker when signalled.
 */
import amqp from 'amqplib';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { OPTIONS, parseArgs } from '../src/config.js';
import { formatPretty } from '../src/log-pretty.js';
import { eventually } from './helpers/broker.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin/warren.js');
const children: ChildProcess[] = [];
const pids: number[] = [];

afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
  // A broker a failed test left behind; only while the pid is still one of ours (pids are reused).
  for (const pid of pids.splice(0)) {
    if (!alive(pid) || !cmdline(pid).includes('bin/warren.js')) continue;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Gone meanwhile.
    }
  }
});

const tempDataDir = () => join(mkdtempSync(join(tmpdir(), 'warren-cli-')), 'data');

/** Runs the command to its end: exit code and both outputs. */
function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

/** A start failure the user can fix: exit 1 and exactly one line on stderr, no stack trace. */
function expectOneLineFailure(r: { code: number | null; stderr: string }): string {
  expect(r.code).toBe(1);
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^warren: /);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  return lines[0]!;
}

function listenOn(port: number, host: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(port, host, () => resolve(s));
  });
}

/** True when something accepts TCP connections on the port. */
function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Every process below `pid`, from /proc (Linux). */
function descendants(pid: number): number[] {
  const parentOf = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // pid (comm) state ppid ...: comm may hold spaces and parentheses, so read after the last ')'.
      parentOf.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // Exited while we looked.
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const [child, parent] of parentOf) {
      if (parent === p) {
        out.push(child);
        walk(child);
      }
    }
  };
  walk(pid);
  return out;
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
}

/** Running: present and not a zombie (an orphan's zombie may wait for a pid 1 that does not reap). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

interface Started {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

async function start(args: string[], env: Record<string, string> = {}): Promise<Started> {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const deadline = Date.now() + 10_000;
  while (!out.includes('Warren is ready')) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`broker did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return { child, output: () => out, exited };
}

describe('warren command line', () => {
  it('listens on --port, logs structured JSON, and shuts down on SIGTERM with 320 and exit 0', async () => {
    const port = await freePort();
    const dataDir = join(mkdtempSync(join(tmpdir(), 'warren-cli-')), 'data');
    const b = await start(['--port', String(port), '--data-dir', dataDir, '--log-level', 'info']);
    const firstLine = JSON.parse(b.output().split('\n')[0]!);
    expect(firstLine).toMatchObject({ level: 30, name: 'warren' });
    expect(existsSync(dataDir)).toBe(true);
    const conn = await amqp.connect(`amqp://guest:guest@127.0.0.1:${port}`);
    // 320 is not fatal for amqplib: it reports it on 'close', not 'error'.
    const closed = new Promise<Error>((resolve) => conn.on('close', resolve));
    b.child.kill('SIGTERM');
    const err = await closed;
    expect(err.message).toContain('320');
    expect(err.message).toContain("CONNECTION_FORCED - broker forced connection closure with reason 'shutdown'");
    expect(await b.exited).toBe(0);
  });

  it('serves the management API on --management-port (and metrics on --prometheus-port) and names it in the ready line; a taken one names the flag', async () => {
    const [port, managementPort, prometheusPort] = [await freePort(), await freePort(), await freePort()];
    const b = await start(['--port', String(port), '--durability', 'memory', '--management-port', String(managementPort), '--prometheus-port', String(prometheusPort)]);
    expect(await (await fetch(`http://127.0.0.1:${prometheusPort}/metrics`)).text()).toContain('\nrabbitmq_connections 0\n');
    expect(b.output()).toContain(`"managementUrl":"http://127.0.0.1:${managementPort}"`);
    const res = await fetch(`http://127.0.0.1:${managementPort}/api/whoami`, { headers: { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` } });
    expect(await res.json()).toEqual({ name: 'guest', tags: ['administrator'] });
    const taken = expectOneLineFailure(await run(['--host', '127.0.0.1', '--port', String(await freePort()), '--durability', 'memory', '--management-port', String(managementPort)]));
    expect(taken).toBe(
      `warren: cannot listen on 127.0.0.1 port ${managementPort}: the port is already in use (EADDRINUSE); to use another port for the management API: --management-port or WARREN_MANAGEMENT_PORT (0 turns it off)`,
    );
    b.child.kill('SIGTERM');
    expect(await b.exited).toBe(0);
  });

  it('takes its settings from the environment too, and stops on SIGINT', async () => {
    const port = await freePort();
    const b = await start([], { WARREN_PORT: String(port), WARREN_DURABILITY: 'memory', WARREN_LOG_LEVEL: 'info' });
    const conn = await amqp.connect(`amqp://guest:guest@127.0.0.1:${port}`);
    conn.on('error', () => {});
    expect(b.output()).toContain(`"port":${port}`);
    expect(b.output()).toContain('"durability":"memory"');
    b.child.kill('SIGINT');
    expect(await b.exited).toBe(0);
  });

  it('prints usage for --help and refuses unknown flags with exit code 2', async () => {
    const help = spawn(process.execPath, [BIN, '--help']);
    let text = '';
    help.stdout.on('data', (d) => (text += d));
    expect(await new Promise((r) => help.on('exit', r))).toBe(0);
    expect(text).toContain('--port');
    expect(text).toContain('WARREN_DATA_DIR');
    const bad = spawn(process.execPath, [BIN, '--no-such-flag']);
    let err = '';
    bad.stderr.on('data', (d) => (err += d));
    expect(await new Promise((r) => bad.on('exit', r))).toBe(2);
    expect(err).toContain("unknown option '--no-such-flag'");
  });

  it('lists every flag with its short form and environment variable in --help (-h)', async () => {
    for (const flag of ['--help', '-h']) {
      const r = await run([flag]);
      expect(r.code).toBe(0);
      for (const o of OPTIONS) {
        const line = r.stdout.split('\n').findIndex((l) => l.includes(o.bare === undefined ? `${o.flag} <` : `${o.flag}[=<`));
        expect(line, o.flag).toBeGreaterThan(0);
        if (o.short !== undefined) expect(r.stdout.split('\n')[line]).toContain(`-${o.short}, ${o.flag}`);
        expect(r.stdout.split('\n')[line + 1]).toContain(`env ${o.env}`);
      }
      expect(r.stdout).toContain('-v, --version');
    }
  });

  it("prints package.json's version for --version and -v", async () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-v']) {
      const r = await run([flag]);
      expect(r).toMatchObject({ code: 0, stdout: `warren ${version}\n`, stderr: '' });
    }
  });

  it('takes short flags: -p port, -d data directory, -l log level', async () => {
    const port = await freePort();
    const dataDir = tempDataDir();
    const b = await start(['-p', String(port), '-d', dataDir, '-l', 'debug']);
    expect(b.output()).toContain(`"port":${port}`);
    expect(existsSync(join(dataDir, 'LOCK'))).toBe(true);
    const conn = await amqp.connect(`amqp://guest:guest@127.0.0.1:${port}`);
    conn.on('error', () => {});
    const ch = await conn.createChannel();
    await ch.assertQueue('short-flags', { exclusive: true });
    // Declaring a queue is logged at debug level only.
    await eventually(() => expect(b.output()).toMatch(/"level":20,.*"queue":"short-flags".*"msg":"queue declared"/));
    b.child.kill('SIGTERM');
    expect(await b.exited).toBe(0);
  });

  it('refuses mistakes with exit code 2 and a message naming the flag or variable', async () => {
    const cases: Array<[string[], Record<string, string>, string]> = [
      [['--port'], {}, '--port needs a value'],
      [['--data-dir', '--port', '1'], {}, "--data-dir needs a value, got the flag '--port'"],
      [['extra'], {}, "unexpected argument 'extra'"],
      [['-x'], {}, "unknown option '-x'"],
      [['--version=2'], {}, '--version takes no value'],
      [['--log-format', 'fancy'], {}, 'log format must be one of pretty, json'],
      [[], { WARREN_PORT: 'x' }, "WARREN_PORT: port must be an integer from 0 to 65535, got 'x'"],
    ];
    for (const [args, env, message] of cases) {
      const r = await run(args, env);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toBe(`warren: ${r.stderr.slice('warren: '.length)}`);
      expect(r.stderr).toContain(message);
    }
  });

  it('a port in use: one line naming the address, the port and the flag, exit 1', async () => {
    const blocker = await listenOn(0, '127.0.0.1');
    const port = (blocker.address() as { port: number }).port;
    try {
      const line = expectOneLineFailure(await run(['--host', '127.0.0.1', '--port', String(port), '--durability', 'memory']));
      expect(line).toBe(`warren: cannot listen on 127.0.0.1 port ${port}: the port is already in use (EADDRINUSE); to use another port: --port (-p) or WARREN_PORT`);
    } finally {
      blocker.close();
    }
  });

  it('a data directory that cannot be made: one line naming it and the flag, exit 1', async () => {
    const parent = mkdtempSync(join(tmpdir(), 'warren-cli-'));
    writeFileSync(join(parent, 'file'), 'in the way');
    const dataDir = join(parent, 'file', 'data');
    const line = expectOneLineFailure(await run(['--port', String(await freePort()), '--data-dir', dataDir]));
    expect(line).toBe(`warren: cannot use data directory ${dataDir}: part of the path is a file, not a directory (ENOTDIR); to use another directory: --data-dir (-d) or WARREN_DATA_DIR`);
  });

  it('a data directory in use by another Warren: the lock message once, exit 1', async () => {
    const dataDir = tempDataDir();
    const first = await start(['--port', String(await freePort()), '--data-dir', dataDir]);
    const r = await run(['--port', String(await freePort()), '--data-dir', dataDir]);
    const line = expectOneLineFailure(r);
    expect(line).toContain(`data directory ${dataDir} is in use by another Warren (pid ${first.child.pid})`);
    expect(`${r.stdout}${r.stderr}`.split('is in use by another Warren')).toHaveLength(2);
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
  });

  it('writes lines to read with --log-format pretty or WARREN_LOG_FORMAT=pretty', async () => {
    for (const [args, env] of [[['--log-format', 'pretty'], {}], [[], { WARREN_LOG_FORMAT: 'pretty' }]] as const) {
      const b = await start(['--port', String(await freePort()), '--durability', 'memory', ...args], env);
      const ready = b.output().split('\n').find((l) => l.includes('Warren is ready'))!;
      expect(ready).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO {2}Warren is ready url=amqp:\/\/guest:guest@127\.0\.0\.1:\d+ /);
      expect(b.output()).not.toContain('{"level"');
      b.child.kill('SIGTERM');
      expect(await b.exited).toBe(0);
    }
  });

  it('`npm start` stops with its broker on SIGTERM to npm: the port closes and no process is left', async () => {
    const port = await freePort();
    const dataDir = tempDataDir();
    const npm = spawn('npm', ['start', '--silent', '--', '--port', String(port), '--data-dir', dataDir], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(npm);
    let out = '';
    npm.stdout!.on('data', (d) => (out += d));
    npm.stderr!.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((resolve) => npm.on('exit', (code) => resolve(code)));
    await eventually(() => expect(out).toContain('Warren is ready'), 15_000, 20);
    const below = descendants(npm.pid!);
    pids.push(...below);
    expect(below.length).toBeGreaterThan(0);
    npm.kill('SIGTERM');
    // npm forwards the signal and waits for the broker's graceful shutdown (exit 0).
    expect(await exited).toBe(0);
    expect(out).toContain('"signal":"SIGTERM"');
    expect(below.filter(alive)).toEqual([]);
    expect(await portOpen(port)).toBe(false);
    expect(existsSync(join(dataDir, 'LOCK'))).toBe(false);
  });

  it('run by npm through a shell that does not forward signals (npx), stops once that shell is gone', async () => {
    const port = await freePort();
    const dataDir = tempDataDir();
    // `; exit $?` keeps the shell from exec'ing node: npx's `sh -c warren` with a shell that stays.
    const sh = spawn('sh', ['-c', `"${process.execPath}" "${BIN}" --port ${port} --data-dir "${dataDir}"; exit $?`], {
      env: { ...process.env, npm_lifecycle_event: 'npx' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(sh);
    let out = '';
    sh.stdout!.on('data', (d) => (out += d));
    sh.stderr!.on('data', (d) => (out += d));
    await eventually(() => expect(out).toContain('Warren is ready'), 15_000, 20);
    const broker = descendants(sh.pid!);
    pids.push(...broker);
    expect(broker).toHaveLength(1);
    sh.kill('SIGTERM');
    await eventually(() => expect(broker.filter(alive)).toEqual([]), 10_000, 20);
    expect(await portOpen(port)).toBe(false);
    expect(existsSync(join(dataDir, 'LOCK'))).toBe(false);
  });
});

describe('command line parsing (util.parseArgs)', () => {
  it('reads long, short, --flag=value and -pVALUE forms; the last of a repeated flag wins; flags win over the environment', () => {
    expect(parseArgs(['-p5673', '--data-dir=/d', '-l', 'warn', '--port', '5674'], { WARREN_PORT: '1', WARREN_HOST: '::1' })).toEqual({
      port: 5674,
      host: '::1',
      dataDir: '/d',
      logLevel: 'warn',
    });
    expect(parseArgs(['--log-format', 'json'], { WARREN_LOG_FORMAT: 'pretty' })).toEqual({ logFormat: 'json' });
    expect(parseArgs(['--data-dir=-odd-name'], {})).toEqual({ dataDir: '-odd-name' });
    expect(parseArgs(['--', ], {})).toEqual({});
  });

  it('--rabbitmq-version picks a release (or WARREN_RABBITMQ_VERSION); --strict-upgrade is a switch', () => {
    expect(parseArgs(['--rabbitmq-version', '3.13'], {})).toEqual({ rabbitmqVersion: '3.13' });
    expect(parseArgs([], { WARREN_RABBITMQ_VERSION: '4.x', WARREN_STRICT_UPGRADE: 'true' })).toEqual({ rabbitmqVersion: '4.x', strictUpgrade: true });
    expect(parseArgs(['--strict-upgrade', '--port', '1'], {})).toEqual({ strictUpgrade: true, port: 1 });
    expect(parseArgs(['--strict-upgrade=false'], { WARREN_STRICT_UPGRADE: '1' })).toEqual({ strictUpgrade: false });
    expect(() => parseArgs(['--rabbitmq-version', '3.12'], {})).toThrow('rabbitmq-version must be one of 3.10, 3.13, 4.x, got \'3.12\'');
    expect(() => parseArgs([], { WARREN_RABBITMQ_VERSION: '4' })).toThrow("WARREN_RABBITMQ_VERSION: rabbitmq-version must be one of 3.10, 3.13, 4.x, got '4'");
  });

  it('--help and --version win over everything else, bad values included', () => {
    expect(parseArgs(['--port', 'nope', '-h'], { WARREN_PORT: 'nope' })).toEqual({ help: true });
    expect(parseArgs(['-v', '--no-such-flag'], {})).toEqual({ version: true });
  });
});

describe('the pretty log format', () => {
  it('shows time, level, message, then the fields; strings with spaces quoted; an error with its stack', () => {
    const time = new Date(2024, 0, 2, 3, 4, 5, 6).getTime();
    const line = JSON.stringify({ level: 40, time, name: 'warren', conn: 3, peer: '127.0.0.1:5', reason: 'a b', msg: 'closed' });
    expect(formatPretty(`${line}\n`, false)).toBe('03:04:05.006 WARN  closed conn=3 peer=127.0.0.1:5 reason="a b"\n');
    const err = JSON.stringify({ level: 50, time, msg: 'failed', err: { type: 'Error', message: 'boom', stack: 'Error: boom\n    at x' } });
    expect(formatPretty(err, false)).toBe('03:04:05.006 ERROR failed\n    Error: boom\n        at x\n');
    expect(formatPretty(line, true)).toContain('\x1b[33mWARN \x1b[0m');
    expect(formatPretty('not json\n', false)).toBe('not json\n');
  });
});
