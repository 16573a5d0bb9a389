// The reference broker: a real RabbitMQ that every scenario must pass against first.
// Order of preference: AMQP_REFERENCE_URL (any broker), a testcontainers `rabbitmq` container when a
// Docker engine answers, otherwise Debian's `rabbitmq-server` started here on free loopback ports
// with its own data directory and epmd. The server runs as user `rabbitmq` (so its directories must
// belong to it) and takes several seconds to boot.
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync, chownSync } from 'node:fs';
import { request } from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { findRabbitmqServer } from './prerequisites.mjs';

const exec = promisify(execFile);

/** Pinned so the container and Debian's package give the same reference (3.10.8, Debian 12). */
const RABBITMQ_IMAGE = 'rabbitmq:3.10.8';

export interface ReferenceBroker {
  url: string;
  kind: 'env' | 'container' | 'local';
  description: string;
  /** True when this process started it (and so must stop it). */
  owned: boolean;
  /** The MQTT plugin's port, when the broker was started with it (`mqtt` option). */
  mqttPort?: number;
  /** The management plugin's HTTP API (http://127.0.0.1:port), when this harness enabled it. */
  managementUrl?: string;
  /** The rabbitmq_prometheus endpoint (http://127.0.0.1:port), likewise. */
  prometheusUrl?: string;
  /** How rabbitmqctl reaches the node (compat/ctl.test.ts): its name and the epmd port, for a node this harness runs. */
  rabbitmqctl?: { node: string; epmdPort: number };
  /** Restart the broker's application keeping its data directory; undefined when not possible. */
  restart?: () => Promise<void>;
  stop(): Promise<void>;
}

export type Acquired = { ok: true; broker: ReferenceBroker } | { ok: false; reason: string };

export interface AcquireOptions {
  /** Loopback port for a locally started server; unset: a free one. */
  port?: number | undefined;
  /** Ignore AMQP_REFERENCE_URL (restart scenarios need a broker they own). */
  ownOnly?: boolean;
  /** Enable the MQTT plugin on a free port (compat/mqtt.test.ts): a local rabbitmq-server only. */
  mqtt?: boolean;
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
  if (opts.mqtt) reasons.push('an MQTT reference is a local rabbitmq-server only');
  else if (!forced || forced === 'container') {
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
        return { ok: true, broker: await startLocal(opts.port, opts.mqtt === true) };
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
//
// Each node this harness starts is its own: a free AMQP port, a free distribution port, a node name
// with this process's pid, a fresh data directory, and its own epmd on a free port (ERL_EPMD_PORT),
// so that two test runs on one machine share nothing, and stopping the node leaves nothing behind
// (an epmd a node starts for itself outlives it; a shared one on 4369 belongs to whoever started it).

/** A port the kernel says is free on loopback (released at once: a race only makes a start fail). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

interface LocalNode {
  name: string;
  env: NodeJS.ProcessEnv;
}

async function ctl(node: LocalNode, ...args: string[]): Promise<void> {
  await exec('rabbitmqctl', ['-n', node.name, ...args], { timeout: 60_000, env: node.env });
}

/** An epmd of our own, in the foreground as our child, so that it can be stopped by its pid. */
async function startEpmd(): Promise<{ port: number; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn('epmd', ['-port', String(port), '-address', '127.0.0.1'], { stdio: 'ignore' });
  let failed: string | undefined;
  child.once('error', (err) => (failed = `epmd: ${err.message}`));
  child.once('exit', (code) => (failed ??= `epmd exited with ${code}`));
  const deadline = Date.now() + 10_000;
  while (!(await portOpen(port))) {
    if (failed) throw new Error(failed);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`epmd did not listen on ${port} within 10 s`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return { port, child };
}

function exited(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), timeoutMs);
    child.once('exit', () => {
      clearTimeout(t);
      resolve(true);
    });
  });
}

function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // Gone meanwhile.
  }
}

async function startLocal(requestedPort: number | undefined, mqtt = false): Promise<ReferenceBroker> {
  if (requestedPort !== undefined && (await portOpen(requestedPort))) {
    // COMPAT_RMQ_PORT names a port where a node already runs (one started by hand): use it, and
    // leave it running.
    const url = `amqp://guest:guest@127.0.0.1:${requestedPort}`;
    if (await amqpAnswers(url, 5_000)) {
      // COMPAT_RMQ_MANAGEMENT_PORT, COMPAT_RMQ_PROMETHEUS_PORT: that node's plugins, if it has them enabled.
      const m = process.env.COMPAT_RMQ_MANAGEMENT_PORT;
      const managementUrl = m ? `http://127.0.0.1:${Number(m)}` : undefined;
      const p = process.env.COMPAT_RMQ_PROMETHEUS_PORT;
      const prometheusUrl = p ? `http://127.0.0.1:${Number(p)}` : undefined;
      return { url, managementUrl, prometheusUrl, kind: 'local', description: `rabbitmq-server already running on 127.0.0.1:${requestedPort}`, owned: false, stop: async () => {} };
    }
    throw new Error(`port ${requestedPort} is taken by something that is not an AMQP broker`);
  }
  const port = requestedPort ?? (await freePort());
  const distPort = await freePort();
  const url = `amqp://guest:guest@127.0.0.1:${port}`;
  const base = mkdtempSync(path.join(os.tmpdir(), `warren-compat-rmq-${port}-`));
  mkdirSync(path.join(base, 'mnesia'), { recursive: true });
  mkdirSync(path.join(base, 'log'), { recursive: true });
  // The management plugin on a free loopback port: compat/management.test.ts compares its HTTP API.
  const managementPort = await freePort();
  const managementUrl = `http://127.0.0.1:${managementPort}`;
  // And rabbitmq_prometheus: compat/prometheus.test.ts compares its metric names and types.
  const prometheusPort = await freePort();
  const prometheusUrl = `http://127.0.0.1:${prometheusPort}`;
  // With MQTT (compat/mqtt.test.ts), the plugin's listener on a free port too.
  const mqttPort = mqtt ? await freePort() : undefined;
  const plugins = ['rabbitmq_management', 'rabbitmq_prometheus', ...(mqtt ? ['rabbitmq_mqtt'] : [])];
  writeFileSync(path.join(base, 'enabled_plugins'), `[${plugins.join(',')}].\n`);
  const conf = [
    `management.tcp.port = ${managementPort}`,
    'management.tcp.ip = 127.0.0.1',
    `prometheus.tcp.port = ${prometheusPort}`,
    'prometheus.tcp.ip = 127.0.0.1',
    ...(mqttPort === undefined ? [] : [`mqtt.listeners.tcp.default = ${mqttPort}`]),
  ];
  writeFileSync(path.join(base, 'rabbitmq.conf'), `${conf.join('\n')}\n`);
  const { uid, gid } = await rabbitmqUser();
  for (const p of [base, path.join(base, 'mnesia'), path.join(base, 'log'), path.join(base, 'enabled_plugins'), path.join(base, 'rabbitmq.conf')]) chownSync(p, uid, gid);
  const epmd = await startEpmd();
  const name = `warren-compat-${process.pid}-${port}@localhost`;
  const node: LocalNode = {
    name,
    env: {
      ...process.env,
      ERL_EPMD_PORT: String(epmd.port),
      RABBITMQ_MNESIA_BASE: path.join(base, 'mnesia'),
      RABBITMQ_LOG_BASE: path.join(base, 'log'),
      RABBITMQ_ENABLED_PLUGINS_FILE: path.join(base, 'enabled_plugins'),
      RABBITMQ_CONFIG_FILE: path.join(base, 'rabbitmq.conf'), // ours: RabbitMQ's defaults plus the management port, not the host's config
      RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
      RABBITMQ_NODE_PORT: String(port),
      RABBITMQ_NODENAME: name,
      RABBITMQ_DIST_PORT: String(distPort),
    },
  };
  // Its own process group, so that a terminal's Ctrl-C reaches the harness only, which then stops
  // the node in order.
  const child = spawn('rabbitmq-server', [], { env: node.env, detached: true, stdio: 'ignore' });
  let exitedWith: string | undefined;
  child.on('exit', (code) => (exitedWith = `rabbitmq-server exited with ${code}; see ${base}/log`));
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    process.off('exit', stopOnExit);
    await ctl(node, 'stop').catch(() => {});
    // rabbitmq-server (su, sh, beam.smp) returns once the node is down.
    if (!(await exited(child, 60_000))) killGroup(child);
    // Only now: a rabbitmqctl that found no epmd would start one of its own, and leave it behind.
    epmd.child.kill('SIGTERM');
    await exited(epmd.child, 10_000);
    rmSync(base, { recursive: true, force: true });
  };
  // A run that ends without its teardown (an error, an interrupt): stop the node all the same.
  const stopOnExit = () => {
    if (stopped) return;
    stopped = true;
    try {
      execFileSync('rabbitmqctl', ['-n', name, 'stop'], { env: node.env, stdio: 'ignore', timeout: 30_000 });
    } catch {
      killGroup(child);
    }
    epmd.child.kill('SIGTERM');
  };
  process.on('exit', stopOnExit);
  const restart = async () => {
    await ctl(node, 'stop_app');
    await ctl(node, 'start_app');
    await waitForAmqp(url, 60_000);
  };
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (exitedWith) {
      const why = exitedWith;
      await stop();
      throw new Error(why);
    }
    if ((await amqpAnswers(url, 2_000)) && (await httpAnswers(managementUrl)) && (mqttPort === undefined || (await portOpen(mqttPort)))) {
      return {
        url,
        managementUrl,
        prometheusUrl,
        kind: 'local',
        description: `rabbitmq-server (node ${name}, 127.0.0.1:${port}${mqttPort === undefined ? '' : `, MQTT ${mqttPort}`}, epmd ${epmd.port}, data ${base})`,
        owned: true,
        ...(mqttPort === undefined ? {} : { mqttPort }),
        rabbitmqctl: { node: name, epmdPort: epmd.port },
        restart,
        stop,
      };
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  await stop();
  throw new Error(`rabbitmq-server did not answer on ${port} within 90 s`);
}

async function rabbitmqUser(): Promise<{ uid: number; gid: number }> {
  const { stdout: u } = await exec('id', ['-u', 'rabbitmq']);
  const { stdout: g } = await exec('id', ['-g', 'rabbitmq']);
  return { uid: Number(u.trim()), gid: Number(g.trim()) };
}

/** True when the HTTP server at url answers at all (the management plugin starts with the node). */
function httpAnswers(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(`${url}/api/overview`, { timeout: 2_000 }, (res) => {
      res.resume();
      resolve(true);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
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

/**
 * The release the reference runs (connection.start's server-properties `version`), as the
 * `--rabbitmq-version` personality Warren must imitate to match it: 3.10.x -> 3.10, 3.13.x -> 3.13,
 * 4.* -> 4.x. Another series has no personality of its own: the run stops with a message saying so.
 */
export async function referencePersonality(url: string): Promise<{ version: string; personality: '3.10' | '3.13' | '4.x' }> {
  const amqp = (await import('amqplib')).default;
  const conn = await amqp.connect(url, { timeout: 5_000 });
  const version = String(conn.connection.serverProperties.version ?? '');
  await conn.close();
  const personality = version.startsWith('3.10.') ? '3.10' : version.startsWith('3.13.') ? '3.13' : version.startsWith('4.') ? '4.x' : undefined;
  if (personality === undefined) throw new Error(`the reference runs RabbitMQ ${version || '(no version)'}, a release Warren has no personality for (3.10, 3.13, 4.x)`);
  return { version, personality };
}

async function waitForAmqp(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await amqpAnswers(url, 2_000)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`broker at ${redact(url)} did not come back within ${timeoutMs} ms`);
}
