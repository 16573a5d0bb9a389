/**
 * The memory of idle MQTT connections (issue 16: 10,000 of them), Warren against RabbitMQ 3.10.8's
 * rabbitmq_mqtt and Debian's mosquitto in the same run:
 *
 *   flock /tmp/warren-heavy.lock npm run bench:mqtt-idle
 *   MQTT_IDLE_CONNECTIONS=2000 MQTT_IDLE_PEERS=warren,mosquitto npm run bench:mqtt-idle
 *
 * Each peer is started as bench/mqtt-bench.ts starts it. The connections are raw sockets (a client
 * library's own state would only weigh on this process) that send a 3.1.1 CONNECT as guest, clean
 * session, keep-alive 0, and wait for CONNACK 0; 200 are opened at a time. The figure is the
 * broker process tree's resident memory (VmRSS) once all are connected and a second has passed
 * for the allocator to settle, minus the figure before the first, per connection. Each connection
 * takes a file descriptor on both sides: `ulimit -n` must be over the count (RabbitMQ is started
 * with its hard limit).
 */
import { connect as tcpConnect, type Socket } from 'node:net';
import mqttPacket from 'mqtt-packet';
import { type Peer, startMosquitto, startRabbit, startWarren, treeRss } from './mqtt-bench.js';

const CONNECTIONS = Number(process.env.MQTT_IDLE_CONNECTIONS ?? 10_000);
const PEERS = (process.env.MQTT_IDLE_PEERS ?? 'warren,rabbitmq,mosquitto').split(',');
const BATCH = 200;

function connectOne(port: number, clientId: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = tcpConnect(port, '127.0.0.1');
    s.once('error', reject);
    s.once('connect', () => {
      s.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId, keepalive: 0, username: 'guest', password: Buffer.from('guest') }));
    });
    // CONNACK is 4 bytes: 0x20 0x02 flags code.
    s.once('data', (d: Buffer) => {
      if (d[0] === 0x20 && d[3] === 0) resolve(s);
      else reject(new Error(`CONNACK refused: ${d.toString('hex')}`));
    });
  });
}

async function idle(peer: Peer, n: number): Promise<{ perConnection: number; total: number }> {
  const before = treeRss(peer.pid);
  const sockets: Socket[] = [];
  for (let i = 0; i < n; i += BATCH) {
    sockets.push(...(await Promise.all(Array.from({ length: Math.min(BATCH, n - i) }, (_, k) => connectOne(peer.port, `idle-${i + k}`)))));
  }
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const after = treeRss(peer.pid);
  for (const s of sockets) s.destroy();
  return { perConnection: (after - before) / n, total: after };
}

async function main(): Promise<void> {
  const starters: Record<string, () => Promise<Peer>> = { warren: startWarren, rabbitmq: startRabbit, mosquitto: startMosquitto };
  const rows: string[] = [];
  for (const name of PEERS) {
    const peer = await starters[name]!();
    try {
      const r = await idle(peer, CONNECTIONS);
      rows.push(`| ${peer.name} | ${(r.perConnection / 1024).toFixed(1)} | ${(r.total / 1024 / 1024).toFixed(0)} |`);
      process.stderr.write(`${rows[rows.length - 1]}\n`);
    } finally {
      peer.stop();
    }
  }
  process.stdout.write(
    [`${CONNECTIONS} idle MQTT 3.1.1 connections (raw sockets, CONNECT then nothing, keep-alive 0)`, '', '| broker | KiB RSS per connection | MiB RSS with all connected |', '|---|---|---|', ...rows, ''].join('\n'),
  );
  process.exit(0);
}

await main();
