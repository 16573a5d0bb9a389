/**
 * Helpers for the AMQP model behaviour tests (test/amqp-model): names that are deleted after each test (the
 * reference broker is shared and persistent), assertions on the exact close a broker sends (reply code,
 * RabbitMQ-formatted text, class and method ids), liveness checks for the channels and connections that
 * must carry on, and small message-collecting utilities.
 */
import amqp, { type Channel, type ChannelModel, type ConsumeMessage, type Message, type Options } from 'amqplib';
import { afterEach, expect } from 'vitest';
import { closedWith, eventually, uniqueName, type BrokerFixture } from './broker.js';
import { encodeBasicPublish } from '../../src/protocol/generated/methods.js';
import { RawClient, type HandshakeOptions } from './raw-client.js';

export type AmqpError = Error & { code?: number; classId?: number; methodId?: number };

/** What a broker closes a channel or connection with. */
export interface ExpectedClose {
  code: number;
  text: string;
  classId: number;
  methodId: number;
}

/** The reply text inside amqplib's error message (`... with message "TEXT"`). */
export function replyText(e: Error): string {
  const m = /with message "([\s\S]*)"$/.exec(e.message);
  return m?.[1] ?? e.message;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

/** A channel on `conn` whose errors are handled (so a server close does not throw an unhandled event). */
export async function openChannel(conn: ChannelModel): Promise<Channel> {
  const ch = await conn.createChannel();
  ch.on('error', () => {});
  return ch;
}

/**
 * Runs `op` (which may reject: amqplib rejects the pending RPC with the close) and expects the server to
 * close `ch` with exactly `expected`; resolves once the channel is closed.
 */
export async function expectChannelClosed(ch: Channel, op: (() => unknown) | undefined, expected: ExpectedClose, timeoutMs = 5000): Promise<AmqpError> {
  const closed = new Promise<void>((r) => ch.once('close', () => r()));
  const errored = closedWith(ch);
  if (op !== undefined) {
    try {
      await op();
    } catch {
      // The rejection of the RPC carries the same close as the channel's error event, checked below.
    }
  }
  const e = await withTimeout(errored, timeoutMs, `expected the server to close the channel with ${expected.code}`);
  expect({ code: e.code, text: replyText(e), classId: e.classId, methodId: e.methodId }).toEqual(expected);
  await withTimeout(closed, timeoutMs, 'channel close');
  return e;
}

/**
 * Runs `op` and expects the server to close the whole connection with `code` and `text` (amqplib does not
 * expose the class and method ids of a connection.close; `expectRawConnectionClose` checks those).
 */
export async function expectConnectionClosed(conn: ChannelModel, op: (() => unknown) | undefined, expected: { code: number; text: string }, timeoutMs = 5000): Promise<void> {
  const errored = closedWith(conn);
  const closed = new Promise<void>((r) => conn.once('close', () => r()));
  if (op !== undefined) {
    try {
      await op();
    } catch {
      // checked through the connection's error event
    }
  }
  const e = await withTimeout(errored, timeoutMs, `expected the server to close the connection with ${expected.code}`);
  expect({ code: e.code, text: replyText(e) }).toEqual(expected);
  await withTimeout(closed, timeoutMs, 'connection close');
}

/** A round trip on `ch`: it is open and the server answers on it. */
export async function expectChannelAlive(ch: Channel): Promise<void> {
  await expect(withTimeout(ch.checkExchange('amq.direct'), 5000, 'channel round trip')).resolves.toBeDefined();
}

/** A new channel on `conn` works (the connection is still open). */
export async function expectConnectionAlive(conn: ChannelModel): Promise<void> {
  const ch = await withTimeout(openChannel(conn), 5000, 'open channel');
  await expectChannelAlive(ch);
  await ch.close();
}

/** A message whose only meaningful field is its delivery tag, for acking tags the client never received. */
export function tagged(deliveryTag: number): Message {
  return { fields: { deliveryTag } } as unknown as Message;
}

export function bodies(msgs: readonly (Message | ConsumeMessage)[]): string[] {
  return msgs.map((m) => m.content.toString());
}

/** Every message currently in `queue`, by basic.get (no-ack unless told otherwise). */
export async function drain(ch: Channel, queue: string, noAck = true): Promise<Message[]> {
  const out: Message[] = [];
  for (;;) {
    const m = await ch.get(queue, { noAck });
    if (m === false) return out;
    out.push(m);
  }
}

/** A consumer collecting its deliveries; `cancelled` turns true when the server cancels it (null delivery). */
export async function collect(ch: Channel, queue: string, options: Options.Consume = {}) {
  const messages: ConsumeMessage[] = [];
  const state = { cancelled: false };
  const ok = await ch.consume(
    queue,
    (m) => {
      if (m === null) state.cancelled = true;
      else messages.push(m);
    },
    options,
  );
  return {
    tag: ok.consumerTag,
    messages,
    get cancelled() {
      return state.cancelled;
    },
    /** Waits until at least `n` messages arrived. */
    async atLeast(n: number, timeoutMs = 3000): Promise<ConsumeMessage[]> {
      await eventually(() => expect(messages.length).toBeGreaterThanOrEqual(n), timeoutMs);
      return messages;
    },
  };
}

export function sync(ch: Channel): Promise<unknown> {
  // A synchronous round trip orders everything sent before it on this channel (publishes included).
  return ch.checkExchange('amq.direct');
}

/**
 * What a negative check ("nothing more arrived") waits for instead of a sleep: a passive declare of
 * each queue on this channel. The broker answers it only after everything sent before on the channel
 * (publishes, acks, qos) was processed, and the deliveries those released to consumers on this
 * channel go out before the reply: Warren answers in the order it reads; RabbitMQ's queue process
 * handles the channel's earlier messages before the declare (so checkQueue, not checkExchange).
 */
export async function roundTrip(ch: Channel, ...queues: string[]): Promise<void> {
  for (const q of queues) await ch.checkQueue(q);
}

/** The port and host of the fixture's broker (Warren in-process, or the reference). */
export function brokerAddress(fx: BrokerFixture): { host: string; port: number } {
  const u = new URL(fx.url);
  return { host: u.hostname, port: Number(u.port || 5672) };
}

/**
 * Per-file helpers with cleanup: `queue()` and `exchange()` return unique names that are deleted after
 * each test (through a fresh connection), `raw()` opens a raw protocol client destroyed after the test.
 */
export function withModel(fx: BrokerFixture) {
  const queues = new Set<string>();
  const exchanges = new Set<string>();
  const raws: RawClient[] = [];

  afterEach(async () => {
    for (const r of raws.splice(0)) r.destroy();
    if (queues.size === 0 && exchanges.size === 0) return;
    const qs = [...queues];
    const xs = [...exchanges];
    queues.clear();
    exchanges.clear();
    let conn: ChannelModel | undefined;
    try {
      conn = await amqp.connect(fx.url);
      conn.on('error', () => {});
      let ch = await openChannel(conn);
      for (const [kind, name] of [...qs.map((n) => ['q', n] as const), ...xs.map((n) => ['x', n] as const)]) {
        try {
          if (kind === 'q') await ch.deleteQueue(name);
          else await ch.deleteExchange(name);
        } catch {
          ch = await openChannel(conn);
        }
      }
    } catch {
      // best effort: a broker under test may refuse, that is for the tests to report
    } finally {
      await conn?.close().catch(() => {});
    }
  });

  return {
    /** A unique queue name, deleted after the test. */
    queue(prefix = 'q'): string {
      const n = uniqueName(prefix);
      queues.add(n);
      return n;
    },
    /** A unique exchange name, deleted after the test. */
    exchange(prefix = 'x'): string {
      const n = uniqueName(prefix);
      exchanges.add(n);
      return n;
    },
    /** Deletes a queue named by the server (or anywhere else) after the test. */
    trackQueue(name: string): string {
      queues.add(name);
      return name;
    },
    trackExchange(name: string): string {
      exchanges.add(name);
      return name;
    },
    /** A raw protocol client, after the handshake, destroyed after the test. */
    async raw(options: HandshakeOptions = {}): Promise<RawClient> {
      const { host, port } = brokerAddress(fx);
      const c = await RawClient.connect(port, host);
      raws.push(c);
      await c.handshake(options);
      return c;
    },
    /** A connection with two channels, for checking that an error closes exactly one. */
    async twoChannels(): Promise<{ conn: ChannelModel; ch: Channel; other: Channel }> {
      const conn = await fx.connect();
      const ch = await openChannel(conn);
      const other = await openChannel(conn);
      return { conn, ch, other };
    },
  };
}

/** Waits until `pred` is true of `value()`, then returns `value()`. */
export async function until<T>(value: () => T, pred: (v: T) => boolean, timeoutMs = 3000): Promise<T> {
  return eventually(() => {
    const v = value();
    if (!pred(v)) throw new Error('condition not met');
    return v;
  }, timeoutMs);
}

/** Methods amqplib has no API for (tx, channel.flow, basic.recover with requeue=false), through its generic RPC. */
interface RpcChannel {
  rpc(method: number, fields: Record<string, unknown>, expect: number): Promise<Record<string, unknown>>;
  sendImmediately(method: number, fields: Record<string, unknown>): void;
}
const methodKey = (classId: number, methodId: number) => (classId << 16) | methodId;
const rpcOf = (ch: Channel) => ch as unknown as RpcChannel;

export const txSelect = (ch: Channel) => rpcOf(ch).rpc(methodKey(90, 10), {}, methodKey(90, 11));
export const txCommit = (ch: Channel) => rpcOf(ch).rpc(methodKey(90, 20), {}, methodKey(90, 21));
export const txRollback = (ch: Channel) => rpcOf(ch).rpc(methodKey(90, 30), {}, methodKey(90, 31));
export const confirmSelect = (ch: Channel) => rpcOf(ch).rpc(methodKey(85, 10), { nowait: false }, methodKey(85, 11));
export const channelFlow = (ch: Channel, active: boolean) => rpcOf(ch).rpc(methodKey(20, 20), { active }, methodKey(20, 21));
export const basicRecover = (ch: Channel, requeue: boolean) => rpcOf(ch).rpc(methodKey(60, 110), { requeue }, methodKey(60, 111));

/** basic.publish with its content, over a raw client (for flags amqplib cannot send, such as immediate). */
export function rawPublish(
  c: RawClient,
  channel: number,
  args: { exchange?: string; routingKey?: string; mandatory?: boolean; immediate?: boolean },
  body: string | Buffer = '',
): void {
  const content = typeof body === 'string' ? Buffer.from(body) : body;
  c.sendEncoded((w) => encodeBasicPublish(w, channel, { exchange: args.exchange ?? '', routingKey: args.routingKey ?? '', mandatory: args.mandatory ?? false, immediate: args.immediate ?? false }));
  c.sendHeader(channel, content.length);
  if (content.length > 0) c.sendBody(channel, content);
}
/** basic.qos with every field (amqplib's prefetch() always sends prefetch-size 0). */
export const basicQos = (ch: Channel, prefetchSize: number, prefetchCount: number, global: boolean) =>
  rpcOf(ch).rpc(methodKey(60, 10), { prefetchSize, prefetchCount, global }, methodKey(60, 11));
