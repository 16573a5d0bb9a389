/**
 * The command line: flags and environment variables, readiness, and graceful shutdown on SIGTERM and
 * SIGINT (every connection closed with 320 CONNECTION_FORCED, exit code 0).
 */
import amqp from 'amqplib';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const BIN = fileURLToPath(new URL('../bin/warren.js', import.meta.url));
const children: ChildProcess[] = [];

afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
});

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
});
