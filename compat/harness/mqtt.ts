// The differential runner for MQTT: every scenario runs against a reference RabbitMQ with its MQTT
// plugin (a node of this suite's own, started with rabbitmq_mqtt on a free port: reference.ts) and
// against Warren with its MQTT listener, and the two transcripts must be equal after the per-run
// prefix is replaced. A scenario that fails against RabbitMQ is broken and fails the test.
//
// The transcript is what a client can observe: CONNACK codes and session-present flags, SUBACK
// grants, the messages each client receives (topic, payload, QoS, retain, dup) in order, whether
// the broker closed a connection, and what an AMQP client sees of the same traffic.
import { mkdirSync, writeFileSync } from 'node:fs';
import { connect as tcpConnect, type Socket } from 'node:net';
import path from 'node:path';
import amqp, { type ChannelModel, type ConfirmChannel } from 'amqplib';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { acquireReference, type ReferenceBroker } from './reference.js';
import { startWarren, type WarrenHandle } from './warren.js';

export type MqttEvent = Record<string, unknown>;

export interface MqttScenario {
  id: string;
  body: (t: MqttCtx) => Promise<void>;
}

interface MqttTarget {
  name: 'rabbitmq' | 'warren';
  amqpUrl: string;
  mqttPort: number;
  /** MQTT over WebSocket (ws://127.0.0.1:port/ws). */
  mqttWsPort: number;
}

/** A scenario's view of one broker: clients that record what they see, all closed at the end. */
export class MqttCtx {
  readonly events: MqttEvent[] = [];
  private readonly clients: MqttClient[] = [];
  private readonly sockets: Socket[] = [];
  private readonly amqpConnections: ChannelModel[] = [];

  constructor(
    readonly target: MqttTarget,
    /** Unique per run and target: client ids and topics start with it. */
    readonly prefix: string,
  ) {}

  private readonly waiters: { label: string; count: number; resolve: () => void }[] = [];

  record(e: MqttEvent): void {
    this.events.push(e);
    for (const w of [...this.waiters]) {
      if (this.messageCount(w.label) >= w.count) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  }

  private messageCount(label: string): number {
    return this.events.filter((e) => e[label] === 'message').length;
  }

  /** Resolves once the client labelled `label` has received `count` messages in all. */
  received(label: string, count: number): Promise<void> {
    if (this.messageCount(label) >= count) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ label, count, resolve }));
  }

  /** A name unique to this run (normalised to "~name" in the transcript). */
  n(name: string): string {
    return `${this.prefix}${name}`;
  }

  private options(o: IClientOptions): IClientOptions {
    return { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 15_000, username: 'guest', password: 'guest', ...o };
  }

  /**
   * Connects and records the CONNACK (or the refusal); the client's messages are recorded as they
   * arrive, each with the client's label. Resolves once CONNACK (or the close) came.
   */
  async connect(label: string, o: IClientOptions = {}, transport: 'tcp' | 'ws' = 'tcp'): Promise<MqttClient> {
    const url = transport === 'ws' ? `ws://127.0.0.1:${this.target.mqttWsPort}/ws` : `mqtt://127.0.0.1:${this.target.mqttPort}`;
    const c = mqtt.connect(url, this.options(o));
    this.clients.push(c);
    c.on('error', () => {});
    c.on('message', (topic, payload, packet) => this.record({ [label]: 'message', topic, payload: payload.toString(), qos: packet.qos, retain: packet.retain, dup: packet.dup }));
    // SUBACK is recorded as it is parsed, not when subscribeAsync resolves: that promise settles a
    // microtask later, after the parser has already emitted a retained message that came in the same
    // TCP read, so the transcript's order would depend on how the broker's writes were coalesced.
    c.on('packetreceive', (p) => {
      if (p.cmd === 'suback') this.record({ [label]: 'suback', granted: p.granted as number[] });
    });
    await new Promise<void>((resolve) => {
      c.once('connect', (p) => {
        this.record({ [label]: 'connack', returnCode: p.returnCode ?? 0, sessionPresent: p.sessionPresent });
        resolve();
      });
      c.once('error', (e) => {
        const code = (e as { code?: unknown }).code;
        if (typeof code === 'number') this.record({ [label]: 'connack', returnCode: code });
        resolve();
      });
      c.once('close', () => resolve());
    });
    return c;
  }

  /** Resolves when the client's connection is closed, and records it. */
  async closed(label: string, c: MqttClient): Promise<void> {
    if (c.connected) await new Promise<void>((resolve) => c.once('close', () => resolve()));
    this.record({ [label]: 'closed' });
  }

  /** Ends a client with DISCONNECT and waits until its socket is closed. */
  async disconnect(c: MqttClient): Promise<void> {
    const closed = c.connected ? new Promise<void>((resolve) => c.once('close', () => resolve())) : Promise.resolve();
    await c.endAsync();
    await closed;
  }

  /** Subscribes and waits for the SUBACK (which connect() records under the client's label). */
  async subscribe(_label: string, c: MqttClient, filters: Record<string, { qos: 0 | 1 | 2 }>): Promise<void> {
    await c.subscribeAsync(filters);
  }

  /** A raw socket to the MQTT port: bytes no client library sends. */
  async raw(): Promise<Socket> {
    const s = tcpConnect(this.target.mqttPort, '127.0.0.1');
    this.sockets.push(s);
    s.on('error', () => {});
    await new Promise<void>((resolve) => s.once('connect', () => resolve()));
    return s;
  }

  async amqpChannel(): Promise<ConfirmChannel> {
    const c = await amqp.connect(this.target.amqpUrl);
    c.on('error', () => {});
    this.amqpConnections.push(c);
    return c.createConfirmChannel();
  }

  async teardown(): Promise<void> {
    await Promise.all(this.clients.map((c) => c.endAsync(true).catch(() => {})));
    for (const s of this.sockets) s.destroy();
    await Promise.all(this.amqpConnections.map((c) => c.close().catch(() => {})));
  }
}

/**
 * The transcript with this run's prefix replaced, as JSON lines, grouped by client (first key of
 * each event) in order of first appearance: the order within one connection counts, the order
 * between connections (which the two brokers' schedulers decide) does not.
 */
function transcript(events: MqttEvent[], prefix: string): string[] {
  const byClient = new Map<string, string[]>();
  for (const e of events) {
    const key = Object.keys(e)[0] ?? '';
    let list = byClient.get(key);
    if (list === undefined) byClient.set(key, (list = []));
    list.push(JSON.stringify(e).split(prefix).join('~'));
  }
  return [...byClient.values()].flat();
}

async function run(s: MqttScenario, target: MqttTarget, prefix: string): Promise<{ lines: string[]; failure?: string }> {
  const t = new MqttCtx(target, prefix);
  let failure: string | undefined;
  try {
    await s.body(t);
  } catch (err) {
    failure = (err as Error)?.stack ?? String(err);
    t.record({ aborted: (err as Error)?.message ?? String(err) });
  }
  await t.teardown();
  return { lines: transcript(t.events, prefix), ...(failure === undefined ? {} : { failure }) };
}

let counter = 0;

/** One describe block: the reference with MQTT and Warren started once, each scenario a test. */
export function compatMqttSuite(title: string, scenarios: MqttScenario[]): void {
  describe(title, () => {
    let reference: ReferenceBroker | undefined;
    let warren: WarrenHandle | undefined;
    let unavailable: string | undefined;
    beforeAll(async () => {
      const env = inject('compat');
      if (!env.referenceUrl) {
        unavailable = env.unavailableReason ?? 'no reference';
        return;
      }
      const acquired = await acquireReference({ ownOnly: true, mqtt: true });
      if (!acquired.ok || acquired.broker.mqttPort === undefined) {
        unavailable = acquired.ok ? 'the reference has no MQTT listener' : acquired.reason;
        return;
      }
      reference = acquired.broker;
      const w = await startWarren({ mqttPort: 0, mqttWsPort: 0, rabbitmqVersion: env.personality ?? undefined });
      if (!w.ok) throw new Error(w.reason);
      warren = w.broker;
    }, 180_000);
    afterAll(async () => {
      await warren?.close();
      if (reference?.owned) await reference.stop();
    });
    for (const s of scenarios) {
      test(s.id, async (ctx) => {
        if (unavailable !== undefined) {
          if (process.env.CI || process.env.COMPAT_REQUIRE_REFERENCE) throw new Error(`no MQTT reference: ${unavailable}`);
          ctx.skip(`no MQTT reference: ${unavailable}`);
          return;
        }
        const runId = inject('compat').runId;
        const prefix = `mq${runId}${(++counter).toString(36)}-`;
        const [ref, war] = await Promise.all([
          run(s, { name: 'rabbitmq', amqpUrl: reference!.url, mqttPort: reference!.mqttPort!, mqttWsPort: reference!.mqttWsPort! }, prefix),
          run(s, { name: 'warren', amqpUrl: warren!.url, mqttPort: warren!.mqttPort!, mqttWsPort: warren!.mqttWsPort! }, prefix),
        ]);
        if (ref.failure !== undefined) throw new Error(`scenario does not pass against RabbitMQ: ${ref.failure}\n${ref.lines.join('\n')}`);
        if (process.env.COMPAT_DIFF_DIR !== undefined && war.lines.join('\n') !== ref.lines.join('\n')) {
          mkdirSync(process.env.COMPAT_DIFF_DIR, { recursive: true });
          writeFileSync(path.join(process.env.COMPAT_DIFF_DIR, `${s.id.replace(/\//g, '__')}.txt`), `rabbitmq:\n${ref.lines.join('\n')}\n\nwarren:\n${war.lines.join('\n')}\n`);
        }
        expect(war.lines, 'Warren differs from RabbitMQ 3.10.8 with rabbitmq_mqtt').toEqual(ref.lines);
      });
    }
  });
}
