/**
 * The command line with a rabbitmq.conf (bin/warren.js on dist/, built by `pretest`): --config and
 * RABBITMQ_CONFIG_FILE, RABBITMQ_DEFAULT_USER/PASS/VHOST as RabbitMQ's container image sets them, and
 * the precedence: command-line flag, then environment variable, then the file, then the defaults.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import amqp from 'amqplib';
import { afterEach, describe, expect, it } from 'vitest';

const BIN = fileURLToPath(new URL('../../bin/warren.js', import.meta.url));
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
});

const tempDir = () => mkdtempSync(join(tmpdir(), 'warren-conf-cli-'));

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Starts the broker; resolves once it is ready, or with its exit code and output if it stops first. */
function run(args: string[], env: Record<string, string> = {}): Promise<{ ready: boolean; code: number | null; output: () => string; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, WARREN_LOG_FORMAT: 'json', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const stop = async () => {
    child.kill('SIGTERM');
    await exited;
  };
  return new Promise((resolve) => {
    const onData = (d: Buffer) => {
      out += d;
      if (out.includes('Warren is ready')) resolve({ ready: true, code: null, output: () => out, stop });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then((code) => resolve({ ready: false, code, output: () => out, stop }));
  });
}

describe('warren --config', () => {
  it('takes the listener, tuning and default user and vhost from the file; the environment and flags win over it', async () => {
    const dir = tempDir();
    const [filePort, flagPort] = [await freePort(), await freePort()];
    const conf = join(dir, 'rabbitmq.conf');
    writeFileSync(conf, [`listeners.tcp.default = ${filePort}`, 'heartbeat = 17', 'default_user = from-file', 'default_pass = file-pw', 'default_vhost = file-vhost', 'some.unknown.key = 1', ''].join('\n'));
    // The file alone.
    const a = await run(['--config', conf, '--data-dir', join(dir, 'a')]);
    expect(a.ready).toBe(true);
    const c = await amqp.connect(`amqp://from-file:file-pw@127.0.0.1:${filePort}/file-vhost`);
    expect((c.connection as unknown as { heartbeat: number }).heartbeat).toBe(17);
    await c.close();
    expect(a.output()).toContain('some.unknown.key is not a setting Warren supports; ignored');
    await a.stop();
    // RABBITMQ_CONFIG_FILE (without the extension) and RABBITMQ_DEFAULT_* over the file; --port over both.
    const b = await run(['--port', String(flagPort), '--data-dir', join(dir, 'b')], {
      RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq'),
      RABBITMQ_DEFAULT_USER: 'from-env',
      RABBITMQ_DEFAULT_PASS: 'env-pw',
      RABBITMQ_DEFAULT_VHOST: 'env-vhost',
      WARREN_HEARTBEAT: '9',
    });
    expect(b.ready).toBe(true);
    const d = await amqp.connect(`amqp://from-env:env-pw@127.0.0.1:${flagPort}/env-vhost`);
    expect((d.connection as unknown as { heartbeat: number }).heartbeat).toBe(9);
    await d.close();
    await b.stop();
    // --default-user over RABBITMQ_DEFAULT_USER.
    const e = await run(['--config', conf, '--data-dir', join(dir, 'e'), '--default-user', 'from-flag'], { RABBITMQ_DEFAULT_USER: 'from-env' });
    expect(e.ready).toBe(true);
    const f = await amqp.connect(`amqp://from-flag:file-pw@127.0.0.1:${filePort}/file-vhost`);
    await f.close();
    await e.stop();
  });

  it('a bad value: exit 2, one line naming the file and line; a missing file likewise', async () => {
    const dir = tempDir();
    const conf = join(dir, 'rabbitmq.conf');
    writeFileSync(conf, 'heartbeat = 10\nchannel_max = lots\n');
    const r = await run(['--config', conf]);
    expect(r).toMatchObject({ ready: false, code: 2 });
    expect(r.output().trim()).toBe(`warren: ${conf}, line 2: channel_max: 'lots' is not an integer from 0 (no limit) to 65535`);
    const m = await run(['--config', join(dir, 'absent.conf')]);
    expect(m).toMatchObject({ ready: false, code: 2 });
    expect(m.output().trim()).toBe(`warren: ${join(dir, 'absent.conf')}: cannot read the configuration file: it does not exist`);
  });

  it('a TLS listener whose certificate cannot be read: exit 1, one line naming the file and the flag', async () => {
    const dir = tempDir();
    const r = await run(['--port', String(await freePort()), '--tls-port', String(await freePort()), '--tls-cert', join(dir, 'none.pem'), '--tls-key', join(dir, 'none.key'), '--durability', 'memory']);
    expect(r).toMatchObject({ ready: false, code: 1 });
    expect(r.output().split('\n').filter((l) => l.startsWith('warren: '))).toEqual([`warren: cannot read the certificate ${join(dir, 'none.pem')} (--tls-cert): it does not exist`]);
  });

  it('load_definitions that cannot be imported: exit 1, one line saying where the problem is', async () => {
    const dir = tempDir();
    const defs = join(dir, 'definitions.json');
    writeFileSync(defs, JSON.stringify({ queues: [{ name: 'q', vhost: 'nowhere', durable: true, auto_delete: false, arguments: {} }] }));
    const conf = join(dir, 'rabbitmq.conf');
    writeFileSync(conf, `load_definitions = ${defs}\nlisteners.tcp.default = ${await freePort()}\n`);
    const r = await run(['--config', conf, '--data-dir', join(dir, 'data')]);
    expect(r).toMatchObject({ ready: false, code: 1 });
    const lines = r.output().split('\n').filter((l) => l.startsWith('warren: '));
    expect(lines).toEqual([
      `warren: load_definitions ${defs}: the definitions were refused, nothing was imported: queues[0].vhost: vhost 'nowhere' is neither in the file nor on the broker (no_such_vhost); the file is given by --load-definitions, WARREN_LOAD_DEFINITIONS or load_definitions in rabbitmq.conf`,
    ]);
  });
});
