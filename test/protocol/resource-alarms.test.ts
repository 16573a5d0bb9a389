/**
 * Resource alarms and connection.blocked (RabbitMQ's alarms, memory, disk-alarms and connection-blocked
 * pages; rabbit_reader's throttle). Observed on RabbitMQ 3.10.8 with `rabbitmqctl
 * set_vm_memory_high_watermark 0.0001`: nothing is sent when the alarm goes off; a connection that
 * then sends content is blocked right after that frame (a message with a body is not routed until
 * the alarm clears, a message without one is), gets connection.blocked "low on memory" if it
 * announced the capability, and connection.unblocked when the alarm clears; consumers keep working.
 */
import amqp, { type Channel, type ChannelModel, type ConsumeMessage } from 'amqplib';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startBroker, type RunningBroker } from '../../src/index.js';
import { IMPLEMENTED_CAPABILITIES } from '../../src/broker.js';
import { parseArgs, usage } from '../../src/config.js';
import type { Connection } from '../../src/connection/connection.js';
import { createLogger } from '../../src/log.js';
import { toPlain } from '../../src/protocol/field-table.js';
import * as M from '../../src/protocol/generated/methods.js';
import {
  DiskMonitor,
  MemoryMonitor,
  ResourceAlarms,
  parseInformationUnit,
  parseMemoryWatermark,
  type ResourceProbes,
} from '../../src/resource-alarms.js';
import { eventually, sleep, uniqueName, withBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';

// Fixed measurements, so that only the tests set alarms on this broker.
const fx = withBroker({ resourceProbes: { memoryUsed: () => 0, diskFree: async () => Number.MAX_SAFE_INTEGER } });
const alarms = () => fx.broker.broker.alarms;
const raws: RawClient[] = [];

afterEach(() => {
  alarms().clear('memory');
  alarms().clear('disk');
  fx.broker.broker.storeBacklog.set(false);
  for (const r of raws.splice(0)) r.destroy();
});

/** RabbitMQ 3.10.8's capabilities table, in its order (rabbit_reader:server_capabilities). */
const RABBITMQ_CAPABILITIES = [
  'publisher_confirms',
  'exchange_exchange_bindings',
  'basic.nack',
  'consumer_cancel_notify',
  'connection.blocked',
  'consumer_priorities',
  'authentication_failure_close',
  'per_consumer_qos',
  'direct_reply_to',
];

/** The capabilities amqplib announces, without connection.blocked. */
const WITHOUT_BLOCKED = {
  clientProperties: {
    capabilities: { publisher_confirms: true, exchange_exchange_bindings: true, 'basic.nack': true, consumer_cancel_notify: true, authentication_failure_close: true },
  },
};

interface Watched {
  conn: ChannelModel;
  events: string[];
}

async function watched(options?: Parameters<typeof amqp.connect>[1]): Promise<Watched> {
  const conn = await fx.connect(options);
  const events: string[] = [];
  conn.on('blocked', (reason: string) => events.push(`blocked: ${reason}`));
  conn.on('unblocked', () => events.push('unblocked'));
  return { conn, events };
}

/** A queue and a consumer on its own connection, collecting bodies. */
async function consumer(): Promise<{ queue: string; got: string[]; ch: Channel }> {
  const ch = await fx.channel();
  const queue = uniqueName('alarm');
  await ch.assertQueue(queue, { exclusive: true });
  const got: string[] = [];
  await ch.consume(queue, (m: ConsumeMessage | null) => m && got.push(m.content.toString()), { noAck: true });
  return { queue, got, ch };
}

/** A round trip on a connection that is being read (not blocked): frames the broker sent it before are in. */
async function roundTripOn(conn: ChannelModel): Promise<void> {
  const ch = await conn.createChannel();
  await ch.checkExchange('amq.direct');
  await ch.close();
}

/**
 * What a check that something did not happen on a blocked connection waits for, instead of a sleep:
 * two round trips on the consumer's connection, which stays read. Whatever the blocked connection
 * sent before is then certainly readable at the broker, so a broker that (wrongly) read it would have
 * done so by the first reply, and the deliveries, confirms or frames that produced went out before
 * the second.
 */
async function settledOn(ch: Channel, queue: string): Promise<void> {
  await ch.checkQueue(queue);
  await ch.checkQueue(queue);
}

/** The broker's side of the newest connection. */
function lastConnection(): Connection {
  const all = [...fx.broker.broker.connections];
  return all[all.length - 1]!;
}

async function rawClient(capabilities: Record<string, boolean> = {}, heartbeat = 0): Promise<RawClient> {
  const c = await RawClient.connect(fx.broker.port);
  raws.push(c);
  await c.handshake({ capabilities, heartbeat });
  await c.openChannel(1);
  return c;
}

function rawPublish(c: RawClient, routingKey: string, body: string): void {
  c.sendEncoded((w) => M.encodeBasicPublish(w, 1, { routingKey }));
  c.sendHeader(1, Buffer.byteLength(body));
  if (body.length > 0) c.sendBody(1, Buffer.from(body));
}

const names = (c: RawClient) => c.frames.flatMap((f) => (f.type === 'method' ? [f.name] : []));

describe('capabilities', () => {
  it("advertises connection.blocked, in RabbitMQ's table and order", async () => {
    expect(IMPLEMENTED_CAPABILITIES).toEqual(RABBITMQ_CAPABILITIES);
    const c = await RawClient.connect(fx.broker.port);
    raws.push(c);
    c.send(Buffer.from('AMQP\x00\x00\x09\x01', 'latin1'));
    const start = await c.method('connection.start');
    if (start?.id !== M.Method.ConnectionStart) throw new Error('no connection.start');
    const caps = toPlain(start.serverProperties).capabilities as Record<string, unknown>;
    expect(Object.keys(caps)).toEqual(RABBITMQ_CAPABILITIES);
    for (const name of RABBITMQ_CAPABILITIES) expect(caps[name], name).toBe(true);
  });
});

describe('connection.blocked and connection.unblocked', () => {
  it('sends nothing when the alarm goes off; blocks a connection when it publishes, with "low on memory"', async () => {
    const { queue, got, ch: cch } = await consumer();
    const idle = await watched();
    const pub = await watched();
    const ch = await pub.conn.createConfirmChannel();
    await new Promise<void>((res, rej) => ch.publish('', queue, Buffer.from('before'), {}, (e) => (e ? rej(e) : res())));
    await eventually(() => expect(got).toEqual(['before']));
    const pubConn = lastConnection();
    expect(pubConn.blockState).toBe('running');

    alarms().set('memory');
    // Both are still read: a connection.blocked sent to either would arrive before these replies.
    await roundTripOn(idle.conn);
    await roundTripOn(pub.conn);
    // Neither the idle connection nor the one that published before the alarm hear about it yet.
    expect(idle.events).toEqual([]);
    expect(pub.events).toEqual([]);
    expect(pubConn.blockState).toBe('blocking');

    let confirmed = false;
    ch.publish('', queue, Buffer.from('during'), {}, () => (confirmed = true));
    await eventually(() => expect(pub.events).toEqual(['blocked: low on memory']));
    expect(pubConn.blockState).toBe('blocked');
    await settledOn(cch, queue);
    // The body frame after the header that blocked the connection is not read: nothing routed yet.
    expect(got).toEqual(['before']);
    expect(confirmed).toBe(false);
    expect(idle.events).toEqual([]);

    alarms().clear('memory');
    await eventually(() => expect(pub.events).toEqual(['blocked: low on memory', 'unblocked']));
    await eventually(() => expect(got).toEqual(['before', 'during']));
    await eventually(() => expect(confirmed).toBe(true));
    expect(pubConn.blockState).toBe('running');
    expect(idle.events).toEqual([]);
  });

  it('sends connection.blocked once per blocked period, and again after a new alarm', async () => {
    const { queue, got } = await consumer();
    const pub = await watched();
    const ch = await pub.conn.createChannel();
    alarms().set('memory');
    ch.publish('', queue, Buffer.from('1'));
    ch.publish('', queue, Buffer.from('2'));
    await eventually(() => expect(pub.events).toEqual(['blocked: low on memory']));
    alarms().clear('memory');
    await eventually(() => expect(got).toEqual(['1', '2']));
    alarms().set('disk');
    await ch.checkExchange('amq.direct'); // read (it has not published since): a blocked frame would come first
    expect(pub.events).toEqual(['blocked: low on memory', 'unblocked']);
    ch.publish('', queue, Buffer.from('3'));
    await eventually(() => expect(pub.events).toEqual(['blocked: low on memory', 'unblocked', 'blocked: low on disk']));
    alarms().clear('disk');
    await eventually(() => expect(got).toEqual(['1', '2', '3']));
    expect(pub.events.at(-1)).toBe('unblocked');
  });

  it('blocks a client without the capability just the same, but tells it nothing', async () => {
    const { queue, got, ch: cch } = await consumer();
    const pub = await watched(WITHOUT_BLOCKED);
    const ch = await pub.conn.createChannel();
    alarms().set('memory');
    ch.publish('', queue, Buffer.from('quiet'));
    await eventually(() => expect(lastConnection().blockState).toBe('blocked'));
    await settledOn(cch, queue);
    expect(got).toEqual([]);
    alarms().clear('memory');
    await eventually(() => expect(got).toEqual(['quiet']));
    expect(pub.events).toEqual([]);
  });

  it('sends no connection.blocked frame on the wire to a raw client without the capability', async () => {
    const { queue, got } = await consumer();
    const c = await rawClient({});
    alarms().set('disk');
    rawPublish(c, queue, 'raw');
    await eventually(() => expect(lastConnection().blockState).toBe('blocked'));
    alarms().clear('disk');
    await eventually(() => expect(got).toEqual(['raw']));
    // A round trip on the raw connection itself: any blocked or unblocked frame was sent before.
    c.sendEncoded((w) => M.encodeExchangeDeclare(w, 1, { exchange: 'amq.direct', passive: true }));
    await c.method('exchange.declare-ok', 1);
    expect(names(c)).not.toContain('connection.blocked');
    expect(names(c)).not.toContain('connection.unblocked');
  });
});

describe('a blocked connection', () => {
  it('is not read until the alarm clears; then its frames are processed in order', async () => {
    const { queue, got, ch: cch } = await consumer();
    const c = await rawClient({ 'connection.blocked': true });
    alarms().set('memory');
    // A message without a body is complete with its header: routed before the connection stops (as RabbitMQ).
    rawPublish(c, queue, '');
    rawPublish(c, queue, 'second');
    c.sendEncoded((w) => M.encodeQueueDeclare(w, 1, { queue: '', exclusive: true }));
    const blocked = await c.method('connection.blocked', 0);
    expect(blocked).toMatchObject({ reason: 'low on memory' });
    await eventually(() => expect(got).toEqual(['']));
    await settledOn(cch, queue);
    expect(got).toEqual(['']);
    expect(names(c)).not.toContain('queue.declare-ok');

    alarms().clear('memory');
    expect(await c.method('queue.declare-ok', 1)).toBeDefined();
    await eventually(() => expect(got).toEqual(['', 'second']));
    const order = names(c).filter((n) => n.startsWith('connection.') || n === 'queue.declare-ok');
    expect(order.slice(-3)).toEqual(['connection.blocked', 'connection.unblocked', 'queue.declare-ok']);
  });

  it('is not timed out for missing heartbeats while it is not read', async () => {
    const { queue, got } = await consumer();
    const c = await rawClient({ 'connection.blocked': true }, 1);
    alarms().set('memory');
    rawPublish(c, queue, 'hb');
    await c.method('connection.blocked', 0);
    // Two silent checks, one heartbeat interval apart, would close a connection that is read (at 3 s here).
    await sleep(3500);
    expect(c.closed).toBe(false);
    alarms().clear('memory');
    await eventually(() => expect(got).toEqual(['hb']));
  });

  it('still completes a close the broker starts, reading the close-ok', async () => {
    const b = await startBroker({ port: 0, logLevel: 'silent', resourceProbes: { memoryUsed: () => 0 }, rabbitmqVersion: '3.10' });
    try {
      const c = await RawClient.connect(b.port);
      raws.push(c);
      await c.handshake({ capabilities: { 'connection.blocked': true } });
      await c.openChannel(1);
      b.broker.alarms.set('memory');
      rawPublish(c, 'nowhere', 'x');
      await c.method('connection.blocked', 0);
      const closing = b.close();
      const close = await c.method('connection.close', 0);
      expect(close).toMatchObject({ replyCode: 320 });
      const started = Date.now();
      c.sendEncoded((w) => M.encodeConnectionCloseOk(w, 0));
      await closing;
      expect(Date.now() - started).toBeLessThan(1500);
    } finally {
      await b.close();
    }
  });
});

describe('consumers during an alarm', () => {
  it('a consume-only connection keeps receiving deliveries, declaring and acknowledging', async () => {
    const producer = await fx.channel();
    const queue = uniqueName('alarm-consume');
    await producer.assertQueue(queue);
    for (let i = 0; i < 5; i++) producer.sendToQueue(queue, Buffer.from(String(i)));
    await eventually(async () => expect((await producer.checkQueue(queue)).messageCount).toBe(5));

    const w = await watched();
    const ch = await w.conn.createChannel();
    await ch.prefetch(1);
    alarms().set('memory');
    alarms().set('disk');
    const got: string[] = [];
    await ch.consume(queue, (m) => {
      if (m === null) return;
      got.push(m.content.toString());
      ch.ack(m);
    });
    // With prefetch 1 each delivery needs the previous ack: the connection is read throughout.
    await eventually(() => expect(got).toEqual(['0', '1', '2', '3', '4']));
    const q2 = await ch.assertQueue('', { exclusive: true });
    expect(await ch.get(q2.queue)).toBe(false);
    expect(w.events).toEqual([]);
    expect(lastConnection().blockState).toBe('blocking');
    await ch.deleteQueue(queue);
  });
});

describe('memory and disk alarms together', () => {
  it('unblocks only when both have cleared, with one connection.blocked', async () => {
    const { queue, got, ch: cch } = await consumer();
    const pub = await watched();
    const ch = await pub.conn.createChannel();
    alarms().set('memory');
    ch.publish('', queue, Buffer.from('m'));
    await eventually(() => expect(pub.events).toEqual(['blocked: low on memory']));
    alarms().set('disk');
    await settledOn(cch, queue);
    alarms().clear('memory');
    await settledOn(cch, queue);
    expect(pub.events).toEqual(['blocked: low on memory']);
    expect(got).toEqual([]);
    expect(lastConnection().blockState).toBe('blocked');
    alarms().clear('disk');
    await eventually(() => expect(pub.events).toEqual(['blocked: low on memory', 'unblocked']));
    await eventually(() => expect(got).toEqual(['m']));
  });

  it('names both resources, disk first, when both are in effect', async () => {
    const pub = await watched();
    const ch = await pub.conn.createChannel();
    alarms().set('memory');
    alarms().set('disk');
    ch.publish('', uniqueName('nowhere'), Buffer.from('x'));
    await eventually(() => expect(pub.events).toEqual(['blocked: low on disk & memory']));
  });
});

describe('publisher flow control (store back-pressure)', () => {
  it('pauses a publisher without connection.blocked', async () => {
    const { queue, got } = await consumer();
    const pub = await watched();
    const ch = await pub.conn.createChannel();
    fx.broker.broker.storeBacklog.set(true);
    ch.publish('', queue, Buffer.from('a'));
    await eventually(() => expect(lastConnection().blockState).toBe('flow'));
    ch.publish('', queue, Buffer.from('b'));
    fx.broker.broker.storeBacklog.set(false);
    await eventually(() => expect(got).toEqual(['a', 'b']));
    expect(pub.events).toEqual([]);
    expect(lastConnection().blockState).toBe('running');
  });

  it('a connection held by flow gets connection.blocked as soon as an alarm goes off, and unblocked when it clears', async () => {
    const { queue, got } = await consumer();
    const pub = await watched();
    const ch = await pub.conn.createChannel();
    fx.broker.broker.storeBacklog.set(true);
    ch.publish('', queue, Buffer.from('a'));
    await eventually(() => expect(lastConnection().blockState).toBe('flow'));
    ch.publish('', queue, Buffer.from('b'));
    alarms().set('memory');
    await eventually(() => expect(pub.events).toEqual(['blocked: low on memory']));
    // The alarm clears while the store is still behind: unblocked is sent, the connection stays paused.
    alarms().clear('memory');
    await eventually(() => expect(pub.events).toEqual(['blocked: low on memory', 'unblocked']));
    expect(lastConnection().blockState).toBe('flow');
    fx.broker.broker.storeBacklog.set(false);
    await eventually(() => expect(got).toEqual(['a', 'b']));
  });
});

describe('monitors and settings', () => {
  const started: RunningBroker[] = [];
  afterEach(async () => {
    await Promise.all(started.splice(0).map((b) => b.close()));
  });
  async function start(options: Parameters<typeof startBroker>[0]): Promise<RunningBroker> {
    const b = await startBroker({ port: 0, logLevel: 'silent', rabbitmqVersion: '3.10', ...options });
    started.push(b);
    return b;
  }

  it('a disk free limit above the free space sets the disk alarm at start; a tiny one does not', async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'warren-alarm-')), 'not-yet-created');
    const huge = await start({ dataDir, diskFreeLimit: 1e18, resourceProbes: { memoryUsed: () => 0 } });
    expect(huge.broker.alarms.list()).toEqual(['disk']);
    const conn = await amqp.connect(huge.url);
    const events: string[] = [];
    conn.on('blocked', (r: string) => events.push(r));
    const ch = await conn.createChannel();
    ch.publish('', 'nowhere', Buffer.from('x'));
    await eventually(() => expect(events).toEqual(['low on disk']));
    await conn.close(); // amqplib closes a blocked connection without a close handshake

    const tiny = await start({ dataDir, diskFreeLimit: 1, resourceProbes: { memoryUsed: () => 0 } });
    expect(tiny.broker.alarms.any).toBe(false);
  });

  it('an absolute memory watermark below the process size sets the memory alarm; the default does not', async () => {
    const low = await start({ vmMemoryHighWatermark: { absolute: 1_000_000 }, diskFreeLimit: 1 });
    expect(low.broker.alarms.list()).toEqual(['memory']);
    const normal = await start({ diskFreeLimit: 1 });
    expect(normal.broker.alarms.any).toBe(false);
  });

  it('the memory monitor follows the probe every second, setting and clearing the alarm', async () => {
    let used = 0;
    const b = await start({ vmMemoryHighWatermark: { absolute: 1000 }, resourceProbes: { memoryUsed: () => used, diskFree: async () => 1e15 } });
    expect(b.broker.alarms.any).toBe(false);
    used = 2000;
    await eventually(() => expect(b.broker.alarms.list()).toEqual(['memory']), 3000);
    used = 10;
    await eventually(() => expect(b.broker.alarms.any).toBe(false), 3000);
  });

  it('logs the alarms as RabbitMQ does', async () => {
    const lines: Record<string, unknown>[] = [];
    const log = createLogger('info', { write: (s: string) => lines.push(JSON.parse(s)) });
    const a = new ResourceAlarms(log, 'warren@test');
    const probes: ResourceProbes = { memoryUsed: () => used, totalMemory: () => 1000, diskFree: async () => free };
    let used = 500;
    let free = 100;
    const mem = new MemoryMonitor({ relative: 0.4 }, a, log, probes, 60_000);
    expect(mem.limit).toBe(400);
    mem.start();
    mem.stop();
    const disk = new DiskMonitor(tmpdir(), 200, a, log, probes, 5, 20);
    await disk.start();
    expect(a.list()).toEqual(['disk', 'memory']);
    expect(a.blockedReason()).toBe('low on disk & memory');
    free = 1000;
    await eventually(() => expect(a.list()).toEqual(['memory']));
    disk.stop();
    used = 1;
    mem.check();
    expect(a.any).toBe(false);
    const msgs = lines.map((l) => l.msg);
    expect(msgs).toContain('Memory high watermark set to 0 MiB (400 bytes) of 0 MiB (1000 bytes) total');
    expect(msgs).toContain('vm_memory_high_watermark set. Memory used:500 allowed:400');
    expect(msgs).toContain('memory resource limit alarm set on node warren@test. *** Publishers will be blocked until this alarm clears ***');
    expect(msgs).toContain('Free disk space is insufficient. Free bytes: 100. Limit: 200');
    expect(msgs).toContain('Free disk space is sufficient. Free bytes: 1000. Limit: 200');
    expect(msgs).toContain('disk resource limit alarm cleared on node warren@test');
    expect(msgs).toContain('vm_memory_high_watermark clear. Memory used:1 allowed:400');
    expect(lines.find((l) => String(l.msg).includes('alarm set'))).toMatchObject({ level: 40, alarm: 'memory', node: 'warren@test' });
  });

  it('parses the settings like RabbitMQ (relative or absolute watermark, units)', () => {
    expect(parseMemoryWatermark('0.4')).toEqual({ relative: 0.4 });
    expect(parseMemoryWatermark('0')).toEqual({ relative: 0 });
    expect(parseMemoryWatermark('1')).toEqual({ relative: 1 });
    expect(parseMemoryWatermark('2GB')).toEqual({ absolute: 2e9 });
    expect(parseMemoryWatermark('512MiB')).toEqual({ absolute: 512 * 1024 * 1024 });
    expect(parseMemoryWatermark('1073741824')).toEqual({ absolute: 1073741824 });
    expect(parseMemoryWatermark('1.5')).toBeUndefined();
    expect(parseMemoryWatermark('-1')).toBeUndefined();
    expect(parseMemoryWatermark('lots')).toBeUndefined();
    expect(parseInformationUnit('50000000')).toBe(50_000_000);
    expect(parseInformationUnit('50MB')).toBe(50_000_000);
    expect(parseInformationUnit('1k')).toBe(1024);
    expect(parseInformationUnit('2G')).toBe(2 * 1024 ** 3);
    expect(parseInformationUnit('1 GB')).toBeUndefined();
    expect(parseInformationUnit('1TB')).toBeUndefined();
    expect(parseArgs(['--vm-memory-high-watermark', '0.6', '--disk-free-limit=1GB'], {})).toEqual({
      vmMemoryHighWatermark: { relative: 0.6 },
      diskFreeLimit: 1e9,
    });
    expect(parseArgs([], { WARREN_VM_MEMORY_HIGH_WATERMARK: '2GiB', WARREN_DISK_FREE_LIMIT: '100000' })).toEqual({
      vmMemoryHighWatermark: { absolute: 2 * 1024 ** 3 },
      diskFreeLimit: 100_000,
    });
    expect(() => parseArgs(['--vm-memory-high-watermark', '3.0'], {})).toThrow(/fraction from 0 to 1/);
    expect(() => parseArgs(['--disk-free-limit', 'plenty'], {})).toThrow(/disk-free-limit/);
    expect(usage()).toContain('--vm-memory-high-watermark <value>');
    expect(usage()).toContain('WARREN_DISK_FREE_LIMIT');
  });
});
