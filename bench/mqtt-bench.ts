/**
 * MQTT publish-to-subscriber throughput and latency, Warren against RabbitMQ 3.10.8's rabbitmq_mqtt
 * and Debian's mosquitto, in the same run (issue 16):
 *
 *   npm run bench:mqtt                       # all three peers, 20,000 messages per throughput case
 *   MQTT_BENCH_MESSAGES=100000 MQTT_BENCH_PEERS=warren,mosquitto npm run bench:mqtt
 *
 * Each peer is started here (Warren from dist/ with --durability memory, RabbitMQ as the rabbitmq
 * user with the plugin enabled and a fresh data directory, mosquitto with its defaults) on free
 * loopback ports, and stopped at the end. Cases, with mqtt.js clients (one publisher, one
 * subscriber, 64-byte payloads):
 *
 * - QoS 0: the publisher keeps at most 1,000 messages ahead of the subscriber (a broker may drop
 *   QoS 0 messages to a slow subscriber; a window that stops moving for 5 s ends the case, and the
 *   loss is reported). The rate is over the time to the last message received.
 * - QoS 1: publish and subscribe at QoS 1, at most 100 publishes awaiting PUBACK.
 * - Latency: one QoS 1 message at a time, publish to delivery, 2,000 times: p50 and p99.
 * - Idle connections: the resident memory of the broker process tree before and after opening
 *   MQTT_BENCH_IDLE (default 2,000) idle connections, per connection.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt, { type MqttClient } from 'mqtt';
import { RABBITMQ_SERVER, freePort, scratchDir } from './harness/brokers.js';

const MESSAGES = Number(process.env.MQTT_BENCH_MESSAGES ?? 20_000);
const LATENCY_ROUNDS = Number(process.env.MQTT_BENCH_LATENCY_ROUNDS ?? 2000);
const IDLE = Number(process.env.MQTT_BENCH_IDLE ?? 2000);
const PEERS = (process.env.MQTT_BENCH_PEERS ?? 'warren,rabbitmq,mosquitto').split(',');
const PAYLOAD = Buffer.alloc(64, 'x');
const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

export interface Peer {
  name: string;
  port: number;
  pid: number;
  stop(): void;
}

function waitForPort(port: number, child: ChildProcess, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      if (child.exitCode !== null) return reject(new Error(`exited with ${child.exitCode}`));
      const s = tcpConnect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve();
      });
      s.once('error', () => {
        if (Date.now() > deadline) reject(new Error(`port ${port} not open after ${ms} ms`));
        else setTimeout(attempt, 200);
      });
    };
    attempt();
  });
}

function stopper(child: ChildProcess): () => void {
  return () => {
    try {
      process.kill(-child.pid!, 'SIGTERM');
    } catch {
      // gone already
    }
  };
}

export async function startWarren(): Promise<Peer> {
  const port = await freePort();
  const mqttPort = await freePort();
  const dir = mkdtempSync(join(scratchDir(), 'warren-mqtt-'));
  const child = spawn(process.execPath, [join(ROOT, 'bin/warren.js'), '--port', String(port), '--mqtt-port', String(mqttPort), '--host', '127.0.0.1', '--data-dir', dir, '--durability', 'memory', '--log-level', 'warn', '--rabbitmq-version', '3.10', '--mqtt-ws-port', '0', '--management-port', '0', '--prometheus-port', '0'], {
    detached: true,
    stdio: 'ignore',
  });
  await waitForPort(mqttPort, child, 30_000);
  return { name: 'Warren', port: mqttPort, pid: child.pid!, stop: stopper(child) };
}

export async function startRabbit(): Promise<Peer> {
  const uid = Number(execFileSync('id', ['-u', 'rabbitmq']).toString().trim());
  const gid = Number(execFileSync('id', ['-g', 'rabbitmq']).toString().trim());
  const port = await freePort();
  const mqttPort = await freePort();
  const distPort = await freePort();
  const base = mkdtempSync(join(scratchDir(), `rabbitmq-mqtt-${port}-`));
  // The rabbitmq user must get through the scratch directory to its own.
  chmodSync(scratchDir(), 0o711);
  for (const d of ['mnesia', 'log']) mkdirSync(join(base, d));
  writeFileSync(join(base, 'enabled_plugins'), '[rabbitmq_mqtt].\n');
  writeFileSync(join(base, 'rabbitmq.conf'), `mqtt.listeners.tcp.default = ${mqttPort}\n`);
  for (const p of [base, join(base, 'mnesia'), join(base, 'log'), join(base, 'enabled_plugins'), join(base, 'rabbitmq.conf')]) chownSync(p, uid, gid);
  const logPath = join(base, 'server.out');
  const out = openSync(logPath, 'w');
  chownSync(logPath, uid, gid);
  const child = spawn('/bin/sh', ['-c', `ulimit -n $(ulimit -Hn); exec ${RABBITMQ_SERVER}`], {
    cwd: '/var/lib/rabbitmq',
    uid,
    gid,
    detached: true,
    stdio: ['ignore', out, out],
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: '/var/lib/rabbitmq',
      LANG: 'C.UTF-8',
      RABBITMQ_MNESIA_BASE: join(base, 'mnesia'),
      RABBITMQ_LOG_BASE: join(base, 'log'),
      RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
      RABBITMQ_NODE_PORT: String(port),
      RABBITMQ_NODENAME: `warrenmqttbench${port}@localhost`,
      RABBITMQ_DIST_PORT: String(distPort),
      RABBITMQ_ENABLED_PLUGINS_FILE: join(base, 'enabled_plugins'),
      RABBITMQ_CONFIG_FILE: join(base, 'rabbitmq'),
    },
  });
  closeSync(out);
  try {
    await waitForPort(mqttPort, child, 120_000);
  } catch (e) {
    throw new Error(`RabbitMQ did not open its MQTT port: ${(e as Error).message}; see ${logPath}`);
  }
  return { name: 'RabbitMQ 3.10.8 (rabbitmq_mqtt)', port: mqttPort, pid: child.pid!, stop: stopper(child) };
}

export async function startMosquitto(): Promise<Peer> {
  const port = await freePort();
  const child = spawn('/usr/sbin/mosquitto', ['-p', String(port)], { detached: true, stdio: 'ignore' });
  await waitForPort(port, child, 10_000);
  return { name: 'mosquitto', port, pid: child.pid!, stop: stopper(child) };
}

function client(port: number, clientId: string): Promise<MqttClient> {
  return mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId, protocolVersion: 4, reconnectPeriod: 0, username: 'guest', password: 'guest', keepalive: 0 });
}

/** Messages per second publish to delivery, and how many the broker dropped (QoS 0). */
async function throughput(port: number, qos: 0 | 1, n: number, tag: string): Promise<{ rate: number; lost: number }> {
  const sub = await client(port, `${tag}-sub`);
  await sub.subscribeAsync(`bench/${tag}`, { qos });
  const pub = await client(port, `${tag}-pub`);
  const window = qos === 0 ? 1000 : 100;
  let sent = 0;
  let received = 0;
  const started = performance.now();
  let lastReceived = started;
  await new Promise<void>((resolve) => {
    // One timer for the whole case: a window that has not moved for 5 s ends it (QoS 0 drops).
    const stall = setInterval(() => {
      if (performance.now() - lastReceived > 5000) finish();
    }, 500);
    const finish = () => {
      clearInterval(stall);
      resolve();
    };
    const pump = () => {
      while (sent < n && sent - received < window) {
        pub.publish(`bench/${tag}`, PAYLOAD, { qos });
        sent++;
      }
    };
    sub.on('message', () => {
      received++;
      lastReceived = performance.now();
      if (received === n) finish();
      else if (sent - received <= window / 2) pump();
    });
    pump();
  });
  const seconds = (lastReceived - started) / 1000;
  await pub.endAsync(true);
  await sub.endAsync(true);
  return { rate: received / seconds, lost: sent - received };
}

async function latency(port: number, rounds: number): Promise<{ p50: number; p99: number }> {
  const sub = await client(port, 'lat-sub');
  await sub.subscribeAsync('bench/lat', { qos: 1 });
  const pub = await client(port, 'lat-pub');
  const samples: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const t0 = performance.now();
    await new Promise<void>((resolve) => {
      sub.once('message', () => resolve());
      pub.publish('bench/lat', PAYLOAD, { qos: 1 });
    });
    samples.push(performance.now() - t0);
  }
  samples.sort((a, b) => a - b);
  await pub.endAsync(true);
  await sub.endAsync(true);
  return { p50: samples[Math.floor(rounds * 0.5)]!, p99: samples[Math.floor(rounds * 0.99)]! };
}

/** Resident memory of a process and its descendants, bytes (Linux /proc). */
export function treeRss(pid: number): number {
  const children = new Map<number, number[]>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const ppid = Number(readFileSync(`/proc/${d}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(d)]);
    } catch {
      // exited meanwhile
    }
  }
  let total = 0;
  const walk = (p: number) => {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${p}/status`, 'utf8'));
      if (m) total += Number(m[1]) * 1024;
    } catch {
      return;
    }
    for (const c of children.get(p) ?? []) walk(c);
  };
  walk(pid);
  return total;
}

async function idleMemory(peer: Peer, n: number): Promise<number> {
  const before = treeRss(peer.pid);
  const clients: MqttClient[] = [];
  for (let i = 0; i < n; i += 100) {
    clients.push(...(await Promise.all(Array.from({ length: Math.min(100, n - i) }, (_, k) => client(peer.port, `idle-${i + k}`)))));
  }
  const after = treeRss(peer.pid);
  await Promise.all(clients.map((c) => c.endAsync(true)));
  return (after - before) / n;
}

async function main(): Promise<void> {
  const starters: Record<string, () => Promise<Peer>> = { warren: startWarren, rabbitmq: startRabbit, mosquitto: startMosquitto };
  const rows: string[] = [];
  for (const name of PEERS) {
    const peer = await starters[name]!();
    try {
      const q0 = await throughput(peer.port, 0, MESSAGES, 'q0');
      const q1 = await throughput(peer.port, 1, MESSAGES, 'q1');
      const lat = await latency(peer.port, LATENCY_ROUNDS);
      const idle = await idleMemory(peer, IDLE);
      rows.push(
        `| ${peer.name} | ${Math.round(q0.rate)}${q0.lost > 0 ? ` (${q0.lost} dropped)` : ''} | ${Math.round(q1.rate)} | ${lat.p50.toFixed(2)} | ${lat.p99.toFixed(2)} | ${(idle / 1024).toFixed(1)} |`,
      );
      process.stderr.write(`${rows[rows.length - 1]}\n`);
    } finally {
      peer.stop();
    }
  }
  process.stdout.write(
    [
      `MQTT 3.1.1, mqtt.js, 1 publisher and 1 subscriber, 64-byte payloads, ${MESSAGES} messages per throughput case, ${LATENCY_ROUNDS} latency rounds, ${IDLE} idle connections`,
      '',
      '| broker | QoS 0 msg/s | QoS 1 msg/s | QoS 1 latency p50 ms | p99 ms | KiB per idle connection |',
      '|---|---|---|---|---|---|',
      ...rows,
      '',
    ].join('\n'),
  );
  process.exit(0);
}

// Run as the entry point; bench/mqtt-idle-bench.ts imports the peers.
if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
