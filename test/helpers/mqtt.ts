/**
 * MQTT test helpers: a broker with its MQTT listener on a free port, mqtt.js clients that are ended
 * after each test, and a raw TCP peer for bytes no client library would send.
 */
import { once } from 'node:events';
import { connect as tcpConnect, type Socket } from 'node:net';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import mqttPacket from 'mqtt-packet';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { startBroker, type RunningBroker, type StartOptions } from '../../src/index.js';

export interface MqttFixture {
  readonly broker: RunningBroker;
  readonly mqttUrl: string;
  /** An mqtt.js client (3.1.1 unless asked), connected (CONNACK 0), ended after the current test. */
  client(options?: IClientOptions): Promise<MqttClient>;
  /** A client whose CONNACK may be a refusal: resolves with it (the return code) either way. */
  tryConnect(options?: IClientOptions): Promise<{ returnCode: number; sessionPresent: boolean }>;
  /** A raw socket to the MQTT port, destroyed after the current test. */
  raw(): Promise<Socket>;
}

export function withMqttBroker(options: StartOptions = {}): MqttFixture {
  let running: RunningBroker | undefined;
  const clients: MqttClient[] = [];
  const sockets: Socket[] = [];
  beforeAll(async () => {
    running = await startBroker({ port: 0, mqttPort: 0, logLevel: 'silent', rabbitmqVersion: '3.10', ...options });
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.endAsync(true).catch(() => {})));
    for (const s of sockets.splice(0)) s.destroy();
  });
  afterAll(async () => {
    await running?.close();
  });
  const base = (o: IClientOptions): IClientOptions => ({ protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 10_000, ...o });
  const fixture: MqttFixture = {
    get broker() {
      if (running === undefined) throw new Error('broker not started');
      return running;
    },
    get mqttUrl() {
      return `mqtt://127.0.0.1:${fixture.broker.mqttPort}`;
    },
    async client(o = {}) {
      const c = mqtt.connect(fixture.mqttUrl, base(o));
      clients.push(c);
      c.on('error', () => {});
      collectMessages(c);
      await new Promise<void>((resolve, reject) => {
        c.once('connect', () => resolve());
        c.once('close', () => reject(new Error('the connection closed before CONNACK 0')));
      });
      return c;
    },
    tryConnect(o = {}) {
      return new Promise((resolve) => {
        const c = mqtt.connect(fixture.mqttUrl, base(o));
        clients.push(c);
        c.on('connect', (p) => resolve({ returnCode: p.returnCode ?? 0, sessionPresent: p.sessionPresent }));
        c.on('error', (e) => {
          const code = (e as { code?: number }).code;
          if (typeof code === 'number') resolve({ returnCode: code, sessionPresent: false });
        });
      });
    },
    async raw() {
      const s = tcpConnect(fixture.broker.mqttPort!, '127.0.0.1');
      sockets.push(s);
      s.on('error', () => {});
      await once(s, 'connect');
      return s;
    },
  };
  return fixture;
}

export interface ReceivedMessage {
  topic: string;
  payload: string;
  qos: number;
  retain: boolean;
  dup: boolean;
}

/** Each fixture client's messages, from before its CONNACK (a session's messages may follow it at once). */
const inboxes = new WeakMap<MqttClient, { received: ReceivedMessage[]; waiting: ((m: ReceivedMessage) => void)[] }>();

function collectMessages(c: MqttClient): void {
  const inbox = { received: [] as ReceivedMessage[], waiting: [] as ((m: ReceivedMessage) => void)[] };
  inboxes.set(c, inbox);
  c.on('message', (topic, payload, packet) => {
    const m = { topic, payload: payload.toString(), qos: packet.qos, retain: packet.retain, dup: packet.dup };
    const w = inbox.waiting.shift();
    if (w !== undefined) w(m);
    else inbox.received.push(m);
  });
}

/** The next message a fixture client receives (in order; none is lost between calls). */
export function nextMessage(c: MqttClient): Promise<ReceivedMessage> {
  const inbox = inboxes.get(c)!;
  const m = inbox.received.shift();
  if (m !== undefined) return Promise.resolve(m);
  return new Promise((resolve) => inbox.waiting.push(resolve));
}

/** Resolves once the client's connection is closed (by the broker, here). */
export function closed(c: MqttClient): Promise<void> {
  return c.connected ? new Promise((resolve) => c.once('close', () => resolve())) : Promise.resolve();
}

/** A raw MQTT peer over a socket: packets written with mqtt-packet, those received in order. */
export interface RawMqttPeer {
  readonly socket: Socket;
  send(packet: Record<string, unknown> | Buffer): void;
  /** The next packet from the broker. */
  next(): Promise<mqttPacket.Packet>;
  /** Resolves when the broker has closed the connection. */
  readonly closed: Promise<void>;
}

export function rawPeer(socket: Socket, protocolVersion: 3 | 4 | 5 = 4): RawMqttPeer {
  const parser = mqttPacket.parser({ protocolVersion });
  const received: mqttPacket.Packet[] = [];
  const waiting: ((p: mqttPacket.Packet) => void)[] = [];
  parser.on('packet', (p: mqttPacket.Packet) => {
    const w = waiting.shift();
    if (w !== undefined) w(p);
    else received.push(p);
  });
  socket.on('data', (d) => parser.parse(d));
  const closedPromise = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return {
    socket,
    send(p) {
      socket.write(Buffer.isBuffer(p) ? p : mqttPacket.generate(p as unknown as mqttPacket.Packet, { protocolVersion }));
    },
    next() {
      const p = received.shift();
      if (p !== undefined) return Promise.resolve(p);
      return new Promise((resolve) => waiting.push(resolve));
    },
    closed: closedPromise,
  };
}

/** A CONNECT for raw peers: guest, clean session, no keep-alive unless given. */
export function connectPacket(fields: Record<string, unknown> = {}): Record<string, unknown> {
  return { cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: 'raw', keepalive: 0, username: 'guest', password: Buffer.from('guest'), ...fields };
}
