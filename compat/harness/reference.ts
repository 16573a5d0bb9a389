// The reference broker: a real RabbitMQ that every scenario must pass against first.
// Order of preference: AMQP_REFERENCE_URL (any broker), a testcontainers `rabbitmq` container when a
// Docker engine answers, otherwise Debian's `rabbitmq-server` started here on a loopback port with
// its own data directory. The local path mirrors shared/scripts/rabbitmq-start.sh: the server runs
// as user `rabbitmq` (so its directories must belong to it) and takes several seconds to boot.
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync, chownSync } from 'node:fs';
import { request } from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

/** Pinned so the container and Debian's package give the same reference (3.10.8, Debian 12). */
const RABBITMQ_IMAGE = 'rabbitmq:3.10.8';

export interface ReferenceBroker {
  url: string;
  kind: 'env' | 'container' | 'local';
  description: string;
  /** True when this process started it (and so must stop it). */
  owned: boolean;
  /** Restart the broker's application keeping its data directory; undefined when not possible. */
  restart?: () => Promise<void>;
  stop(): Promise<void>;
}

export type Acquired = { ok: true; broker: ReferenceBroker } | { ok: false; reason: string };

export interface AcquireOptions {
  /** Loopback port for a locally started server. */
  port: number;
  /** Ignore AMQP_REFERENCE_URL (restart scenarios need a broker they own). */
  ownOnly?: boolean;
}

export async function acquireReference(opts: AcquireOptions): Promise<Acquired> {
  const forced = process.env.COMPAT_REFERENCE; // env | container | local
  const envUrl = process.env.AMQP_REFERENCE_URL;
  if (!opts.ownOnly && envUrl && (!forced || forced === 'env')) {
    const ok = await amqpAnswers(envUrl, 5_000);
    if (!ok) return { ok: false, reason: `AMQP_REFERENCE_URL=${redact(envUrl)} does not answer an AMQP handshake` };
    return {
      ok: true,
      broker: { url: envUrl, kind: 'env', description: `AMQP_REFERENCE_URL (${redact(envUrl)})`, owned: false, stop: async () => {} },
    };
  }
  const reasons: string[] = [];
  if (!forced || forced === 'container') {
    const docker = await dockerAnswers();
    if (docker) {
      try {
        return { ok: true, broker: await startContainer() };
      } catch (err) {
        reasons.push(`testcontainers: ${(err as Error).message}`);
      }
    } else reasons.push('no Docker engine answers');
  }
  if (!forced || forced === 'local') {
    const bin = findRabbitmqServer();
    if (!bin) reasons.push('rabbitmq-server is not installed (apt-get install rabbitmq-server)');
    else if (process.getuid?.() !== 0) reasons.push('rabbitmq-server must be started as root (it drops to user rabbitmq)');
    else {
      try {
        return { ok: true, broker: await startLocal(opts.port) };
      } catch (err) {
        reasons.push(`local rabbitmq-server: ${(err as Error).message}`);
      }
    }
  }
  return { ok: false, reason: reasons.join('; ') };
}

function redact(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}

// ---- testcontainers ----------------------------------------------------------------------------

/** Ping the Docker engine directly: testcontainers' own discovery is slow to give up. */
async function dockerAnswers(): Promise<boolean> {
  const host = process.env.DOCKER_HOST;
  const socketPath = host?.startsWith('unix://') ? host.slice('unix://'.length) : host ? undefined : '/var/run/docker.sock';
  if (host && !socketPath) return true; // tcp:// engines: let testcontainers try
  if (!socketPath || !existsSync(socketPath)) return false;
  return new Promise((resolve) => {
    const req = request({ socketPath, path: '/_ping', timeout: 1_500 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

async function startContainer(): Promise<ReferenceBroker> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const container = await new GenericContainer(RABBITMQ_IMAGE)
    .withExposedPorts(5672)
    .withWaitStrategy(Wait.forLogMessage(/Server startup complete/))
    .withStartupTimeout(120_000)
    .start();
  const url = `amqp://guest:guest@${container.getHost()}:${container.getMappedPort(5672)}`;
  return {
    url,
    kind: 'container',
    description: `testcontainers ${RABBITMQ_IMAGE}`,
    owned: true,
    restart: async () => {
      await container.exec(['rabbitmqctl', 'stop_app']);
      await container.exec(['rabbitmqctl', 'start_app']);
      await waitForAmqp(url, 60_000);
    },
    stop: async () => {
      await container.stop();
    },
  };
}

// ---- local rabbitmq-server ---------------------------------------------------------------------

function findRabbitmqServer(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/usr/lib/rabbitmq/bin'])) {
    const p = path.join(dir, 'rabbitmq-server');
    if (dir && existsSync(p)) return p;
  }
  return undefined;
}

function nodeName(port: number): string {
  return `warren-compat-${port}@localhost`;
}

async function ctl(port: number, ...args: string[]): Promise<void> {
  await exec('rabbitmqctl', ['-n', nodeName(port), ...args], { timeout: 60_000 });
}

async function startLocal(port: number): Promise<ReferenceBroker> {
  const url = `amqp://guest:guest@127.0.0.1:${port}`;
  const restart = async () => {
    await ctl(port, 'stop_app');
    await ctl(port, 'start_app');
    await waitForAmqp(url, 60_000);
  };
  if (await portOpen(port)) {
    // A node from an earlier run that was not stopped: reuse it, and leave it running.
    if (await amqpAnswers(url, 5_000)) {
      return { url, kind: 'local', description: `rabbitmq-server already running on 127.0.0.1:${port}`, owned: false, restart, stop: async () => {} };
    }
    throw new Error(`port ${port} is taken by something that is not an AMQP broker`);
  }
  const base = path.join(os.tmpdir(), `warren-compat-rmq-${port}`);
  rmSync(base, { recursive: true, force: true });
  mkdirSync(path.join(base, 'mnesia'), { recursive: true });
  mkdirSync(path.join(base, 'log'), { recursive: true });
  writeFileSync(path.join(base, 'enabled_plugins'), '[].\n');
  const { uid, gid } = await rabbitmqUser();
  for (const p of [base, path.join(base, 'mnesia'), path.join(base, 'log'), path.join(base, 'enabled_plugins')]) chownSync(p, uid, gid);
  const env = {
    ...process.env,
    RABBITMQ_MNESIA_BASE: path.join(base, 'mnesia'),
    RABBITMQ_LOG_BASE: path.join(base, 'log'),
    RABBITMQ_ENABLED_PLUGINS_FILE: path.join(base, 'enabled_plugins'),
    RABBITMQ_CONFIG_FILE: path.join(base, 'rabbitmq'), // absent: RabbitMQ's defaults, not the host's config
    RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_NODENAME: nodeName(port),
    RABBITMQ_DIST_PORT: String(port + 20_000),
  };
  const child = spawn('rabbitmq-server', [], { env, detached: true, stdio: 'ignore' });
  child.unref();
  let exited: string | undefined;
  child.on('exit', (code) => (exited = `rabbitmq-server exited with ${code}; see ${base}/log`));
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (exited) throw new Error(exited);
    if (await amqpAnswers(url, 2_000)) {
      return {
        url,
        kind: 'local',
        description: `rabbitmq-server (node ${nodeName(port)}, 127.0.0.1:${port}, data ${base})`,
        owned: true,
        restart,
        stop: async () => {
          await ctl(port, 'stop').catch(() => child.kill());
          rmSync(base, { recursive: true, force: true });
        },
      };
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`rabbitmq-server did not answer on ${port} within 90 s; see ${base}/log`);
}

async function rabbitmqUser(): Promise<{ uid: number; gid: number }> {
  const { stdout: u } = await exec('id', ['-u', 'rabbitmq']);
  const { stdout: g } = await exec('id', ['-g', 'rabbitmq']);
  return { uid: Number(u.trim()), gid: Number(g.trim()) };
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** True when the broker at url completes an AMQP handshake (amqplib, closed at once). */
async function amqpAnswers(url: string, timeoutMs: number): Promise<boolean> {
  const amqp = (await import('amqplib')).default;
  try {
    const conn = await amqp.connect(url, { timeout: timeoutMs });
    await conn.close();
    return true;
  } catch {
    return false;
  }
}

async function waitForAmqp(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await amqpAnswers(url, 2_000)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`broker at ${redact(url)} did not come back within ${timeoutMs} ms`);
}
