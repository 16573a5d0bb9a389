/**
 * Helpers shared by the queue-extension tests (dead-lettering, TTL, queue expiry, length limits):
 * counting and draining queues, waiting for dead letters, and reading the x-death header as amqplib
 * decodes it (tables become objects with the keys in wire order, timestamps `{'!': 'timestamp'}`).
 */
import type { Channel, ConfirmChannel, GetMessage, Message } from 'amqplib';
import { expect } from 'vitest';
import { eventually } from './broker.js';

/** The ready-message count of a queue, by passive declare (which RabbitMQ answers from the queue). */
export async function count(ch: Channel, q: string): Promise<number> {
  return (await ch.checkQueue(q)).messageCount;
}

/** Waits until `q` holds exactly `n` ready messages. */
export async function expectCount(ch: Channel, q: string, n: number, timeoutMs = 3000): Promise<void> {
  await eventually(async () => expect(await count(ch, q)).toBe(n), timeoutMs);
}

/** Publishes each body to `q` through the default exchange, then a round trip orders them. */
export async function send(ch: Channel, q: string, bodies: readonly string[], options: Parameters<Channel['sendToQueue']>[2] = {}): Promise<void> {
  for (const b of bodies) ch.sendToQueue(q, Buffer.from(b), options);
  await ch.checkQueue(q);
}

/** basic.get without ack that must find a message. */
export async function getOne(ch: Channel, q: string, noAck = false): Promise<GetMessage> {
  const msg = await ch.get(q, { noAck });
  if (msg === false) throw new Error(`queue ${q} is empty`);
  return msg;
}

/** The next message of `q`, waiting for it to arrive (dead letters travel asynchronously in RabbitMQ). */
export async function nextMessage(ch: Channel, q: string, timeoutMs = 3000): Promise<GetMessage> {
  return eventually(() => getOne(ch, q, true), timeoutMs, 15);
}

/** Waits until `q` holds exactly `n` messages and takes them all (noAck). */
export async function takeAll(ch: Channel, q: string, n: number, timeoutMs = 3000): Promise<GetMessage[]> {
  await expectCount(ch, q, n, timeoutMs);
  const out: GetMessage[] = [];
  for (;;) {
    const msg = await ch.get(q, { noAck: true });
    if (msg === false) return out;
    out.push(msg);
  }
}

export const text = (msgs: readonly Message[]): string[] => msgs.map((msg) => msg.content.toString());

export type Table = Record<string, unknown>;

/** The message's headers without the x-last-death-* ones Warren adds (KD-5; RabbitMQ 3.10.8 lacks them). */
export function headersOf(msg: Message): Table {
  const h = { ...((msg.properties.headers ?? {}) as Table) };
  delete h['x-last-death-reason'];
  delete h['x-last-death-queue'];
  delete h['x-last-death-exchange'];
  return h;
}

/** The x-death array of a dead-lettered message. */
export function deaths(msg: Message): Table[] {
  const d = headersOf(msg)['x-death'];
  if (!Array.isArray(d)) throw new Error('no x-death array');
  return d as Table[];
}

/** An x-death `time` value: a timestamp of the current second (give or take the test's duration). */
export function deathTime(startedMs: number) {
  return {
    asymmetricMatch: (v: unknown) => {
      const t = v as { '!'?: string; value?: number } | undefined;
      const now = Math.ceil(Date.now() / 1000);
      return t?.['!'] === 'timestamp' && typeof t.value === 'number' && t.value >= Math.floor(startedMs / 1000) - 1 && t.value <= now + 1;
    },
    toString: () => 'a timestamp of the last seconds',
  };
}

/** A first-death x-death table in RabbitMQ's key order (count first, then the death's info). */
export const FIRST_DEATH_KEYS = ['count', 'reason', 'queue', 'time', 'exchange', 'routing-keys'];
/** Tables written again (a later death) have their keys sorted (rabbit_misc:sort_field_table). */
export const SORTED_DEATH_KEYS = ['count', 'exchange', 'queue', 'reason', 'routing-keys', 'time'];

/** Publishes on a confirm channel and resolves with 'ack' or 'nack' for this message. */
export function publishConfirmed(ch: ConfirmChannel, exchange: string, routingKey: string, body: string, options: Parameters<Channel['publish']>[3] = {}): Promise<'ack' | 'nack'> {
  return new Promise((resolve) => {
    ch.publish(exchange, routingKey, Buffer.from(body), options, (err) => resolve(err === null || err === undefined ? 'ack' : 'nack'));
  });
}
