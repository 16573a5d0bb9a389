/**
 * The built-in delayed-message exchange (type x-delayed-message), with the observable behaviour of
 * RabbitMQ's rabbitmq-delayed-message-exchange plugin (rabbit_exchange_type_delayed_message,
 * rabbit_delayed_message_utils): declaration rules, which x-delay values delay, routing as the
 * x-delayed-type, x-delay rewritten to minus the delay on release. Plus what the plugin does not
 * promise: exact release order, durable held messages across clean restarts and kill -9, confirms
 * only once a held message is on disk.
 *
 * Warren-only: the reference RabbitMQ has no delayed-message plugin.
 */
import amqp, { type Channel, type ChannelModel, type ConsumeMessage } from 'amqplib';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect } from 'vitest';
import { startBroker, type RunningBroker } from '../../src/index.js';
import { useTempDirs } from '../helpers/disk-brokers.js';
import { eventually, sleep, warrenOnly, withBroker } from '../helpers/broker.js';
import { expectChannelAlive, expectChannelClosed, expectConnectionClosed, openChannel, sync, withModel } from '../helpers/model.js';

const fx = withBroker();
const m = withModel(fx);
const tempDir = useTempDirs();

const DELAYED = 'x-delayed-message';

async function delayedExchange(ch: Channel, type = 'direct', options: { durable?: boolean } = {}): Promise<string> {
  const x = m.exchange('dx');
  await ch.assertExchange(x, DELAYED, { durable: options.durable ?? false, arguments: { 'x-delayed-type': type } });
  return x;
}

async function boundQueue(ch: Channel, x: string, key = 'k', args?: Record<string, unknown>): Promise<string> {
  const q = m.queue();
  await ch.assertQueue(q);
  await ch.bindQueue(q, x, key, args);
  return q;
}

/** A consumer recording each delivery with the time it arrived. */
async function timedConsumer(ch: Channel, q: string) {
  const got: { body: string; at: number; msg: ConsumeMessage }[] = [];
  await ch.consume(q, (msg) => msg && got.push({ body: msg.content.toString(), at: Date.now(), msg }), { noAck: true });
  return got;
}

describe('declaration', () => {
  warrenOnly('x-delayed-type is required: 406 must be an existing exchange type', async () => {
    const ch = await fx.channel();
    await expectChannelClosed(ch, () => ch.assertExchange(m.exchange(), DELAYED), {
      code: 406,
      text: "PRECONDITION_FAILED - Invalid argument, 'x-delayed-type' must be an existing exchange type",
      classId: 40,
      methodId: 10,
    });
  });

  warrenOnly('x-delayed-type of a wrong field type is refused the same way', async () => {
    const ch = await fx.channel();
    await expectChannelClosed(ch, () => ch.assertExchange(m.exchange(), DELAYED, { arguments: { 'x-delayed-type': 5 } }), {
      code: 406,
      text: "PRECONDITION_FAILED - Invalid argument, 'x-delayed-type' must be an existing exchange type",
      classId: 40,
      methodId: 10,
    });
  });

  warrenOnly("x-delayed-type x-delayed-message: 406 can't be used", async () => {
    const ch = await fx.channel();
    await expectChannelClosed(ch, () => ch.assertExchange(m.exchange(), DELAYED, { arguments: { 'x-delayed-type': DELAYED } }), {
      code: 406,
      text: "PRECONDITION_FAILED - Invalid argument, 'x-delayed-message' can't be used for 'x-delayed-type'",
      classId: 40,
      methodId: 10,
    });
  });

  warrenOnly('an unknown x-delayed-type is 503 COMMAND_INVALID, closing the connection', async () => {
    const conn = await fx.connect();
    const ch = await openChannel(conn);
    await expectConnectionClosed(conn, () => ch.assertExchange(m.exchange(), DELAYED, { arguments: { 'x-delayed-type': 'nonsense' } }), {
      code: 503,
      text: "COMMAND_INVALID - unknown exchange type 'nonsense'",
    });
  });

  warrenOnly('redeclaring with the same type is fine; with another exchange type is 406 inequivalent', async () => {
    const ch = await fx.channel();
    const x = await delayedExchange(ch);
    await ch.assertExchange(x, DELAYED, { durable: false, arguments: { 'x-delayed-type': 'direct' } });
    await expectChannelClosed(ch, () => ch.assertExchange(x, 'direct', { durable: false }), {
      code: 406,
      text: `PRECONDITION_FAILED - inequivalent arg 'type' for exchange '${x}' in vhost '/': received 'direct' but current is 'x-delayed-message'`,
      classId: 40,
      methodId: 10,
    });
  });

  warrenOnly('a headers delayed exchange validates bindings as a headers exchange does', async () => {
    const ch = await fx.channel();
    const x = await delayedExchange(ch, 'headers');
    const q = m.queue();
    await ch.assertQueue(q);
    await expectChannelClosed(ch, () => ch.bindQueue(q, x, '', { 'x-match': 'sometimes' }), {
      code: 406,
      text: "PRECONDITION_FAILED - Invalid x-match field value <<\"sometimes\">>; expected all, any, all-with-x, or any-with-x",
      classId: 50,
      methodId: 20,
    });
  });
});

describe('delays', () => {
  warrenOnly('a message with x-delay is delivered after the delay, with x-delay set to minus the delay', async () => {
    const ch = await fx.channel();
    const x = await delayedExchange(ch);
    const q = await boundQueue(ch, x);
    const got = await timedConsumer(ch, q);
    const sent = Date.now();
    ch.publish(x, 'k', Buffer.from('later'), { headers: { 'x-delay': 200, other: 'kept' } });
    await sync(ch);
    expect(got).toEqual([]);
    await eventually(() => expect(got.length).toBe(1), 3000);
    expect(got[0]!.at - sent).toBeGreaterThanOrEqual(195);
    expect(got[0]!.msg.properties.headers).toEqual({ 'x-delay': -200, other: 'kept' });
    expect(got[0]!.msg.fields.exchange).toBe(x);
    expect(got[0]!.msg.fields.routingKey).toBe('k');
    expect(got[0]!.msg.fields.redelivered).toBe(false);
  });

  warrenOnly('without x-delay, or with x-delay 0 or negative, the message routes at once, headers untouched', async () => {
    const ch = await fx.channel();
    const x = await delayedExchange(ch);
    const q = await boundQueue(ch, x);
    const got = await timedConsumer(ch, q);
    ch.publish(x, 'k', Buffer.from('none'));
    ch.publish(x, 'k', Buffer.from('zero'), { headers: { 'x-delay': 0 } });
    ch.publish(x, 'k', Buffer.from('negative'), { headers: { 'x-delay': -500 } });
    await eventually(() => expect(got.map((g) => g.body)).toEqual(['none', 'zero', 'negative']), 1000);
    expect(got[1]!.msg.properties.headers).toEqual({ 'x-delay': 0 });
    expect(got[2]!.msg.properties.headers).toEqual({ 'x-delay': -500 });
  });

  warrenOnly('messages come out in due order whatever the publish order; equal due times in publish order', async () => {
    const ch = await fx.channel();
    const x = await delayedExchange(ch);
    const q = await boundQueue(ch, x);
    const got = await timedConsumer(ch, q);
    const t0 = Date.now();
    for (const [body, delay] of [['c', 300], ['a', 100], ['b', 200], ['a2', 100], ['d', 350]] as const) {
      // Publish times differ by a millisecond or so; due times are publish time + delay.
      ch.publish(x, 'k', Buffer.from(body), { headers: { 'x-delay': delay } });
    }
    await eventually(() => expect(got.length).toBe(5), 3000);
    expect(got.map((g) => g.body)).toEqual(['a', 'a2', 'b', 'c', 'd']);
    expect(got[0]!.at - t0).toBeGreaterThanOrEqual(95);
  });

  warrenOnly('x-delay may be any integer type, a decimal string, or a float (truncated)', async () => {
    const ch = await fx.channel();
    const x = await delayedExchange(ch);
    const q = await boundQueue(ch, x);
    const got = await timedConsumer(ch, q);
    const variants: [string, unknown][] = [
      ['string', '150'],
      ['float', 150.9],
      ['byte', { '!': 'byte', value: 120 }],
      ['long', { '!': 'long', value: 150 }],
    ];
    for (const [body, delay] of variants) ch.publish(x, 'k', Buffer.from(body), { headers: { 'x-delay': delay } });
    await sync(ch);
    expect(got).toEqual([]);
    await eventually(() => expect(got.length).toBe(4), 3000);
    const byBody = Object.fromEntries(got.map((g) => [g.body, g.msg.properties.headers!['x-delay']]));
    expect(byBody).toEqual({ string: -150, float: -150, byte: -120, long: -150 });
  });

  warrenOnly('x-delay that is not a number, or above 2^32-1 ms, routes at once', async () => {
    const ch = await fx.channel();
    const x = await delayedExchange(ch);
    const q = await boundQueue(ch, x);
    const got = await timedConsumer(ch, q);
    ch.publish(x, 'k', Buffer.from('text'), { headers: { 'x-delay': 'soon' } });
    ch.publish(x, 'k', Buffer.from('huge'), { headers: { 'x-delay': { '!': 'long', value: 2 ** 32 } } });
    ch.publish(x, 'k', Buffer.from('bool'), { headers: { 'x-delay': true } });
    await eventually(() => expect(got.map((g) => g.body).sort()).toEqual(['bool', 'huge', 'text']), 1000);
  });

  warrenOnly('a delay set far ahead keeps the message held (beyond the longest single timer)', async () => {
    const ch = await fx.channel();
    const x = await delayedExchange(ch);
    const q = await boundQueue(ch, x);
    const got = await timedConsumer(ch, q);
    ch.publish(x, 'k', Buffer.from('far'), { headers: { 'x-delay': { '!': 'long', value: 2 ** 32 - 1 } } });
    ch.publish(x, 'k', Buffer.from('near'), { headers: { 'x-delay': 50 } });
    await eventually(() => expect(got.map((g) => g.body)).toEqual(['near']), 2000);
    await sync(ch); // a 'far' timer that fired early would have delivered before this reply
    expect(got.map((g) => g.body)).toEqual(['near']);
  });
});

describe('routing', () => {
  for (const [type, bindKey, publishKey, args] of [
    ['direct', 'k', 'k', undefined],
    ['fanout', 'ignored', 'anything', undefined],
    ['topic', 'a.*.c', 'a.b.c', undefined],
    ['headers', '', '', { 'x-match': 'all', colour: 'red' }],
  ] as const) {
    warrenOnly(`x-delayed-type ${type} routes like a ${type} exchange, before and after a delay`, async () => {
      const ch = await fx.channel();
      const x = await delayedExchange(ch, type);
      const q = await boundQueue(ch, x, bindKey, args);
      const miss = await boundQueue(ch, x, type === 'fanout' ? 'ignored' : 'zzz', type === 'headers' ? { 'x-match': 'all', colour: 'blue' } : undefined);
      const got = await timedConsumer(ch, q);
      const missed = await timedConsumer(ch, miss);
      const headers = { colour: 'red' };
      ch.publish(x, publishKey, Buffer.from('now'), { headers });
      ch.publish(x, publishKey, Buffer.from('later'), { headers: { ...headers, 'x-delay': 80 } });
      await eventually(() => expect(got.map((g) => g.body)).toEqual(['now', 'later']), 2000);
      if (type === 'fanout') expect(missed.map((g) => g.body)).toEqual(['now', 'later']);
      else expect(missed).toEqual([]);
    });
  }

  warrenOnly('CC and BCC keys are kept for the delayed routing; BCC is not delivered', async () => {
    const ch = await fx.channel();
    const x = await delayedExchange(ch);
    const main = await boundQueue(ch, x, 'main');
    const cc = await boundQueue(ch, x, 'cc');
    const bcc = await boundQueue(ch, x, 'bcc');
    const gotMain = await timedConsumer(ch, main);
    const gotCc = await timedConsumer(ch, cc);
    const gotBcc = await timedConsumer(ch, bcc);
    ch.publish(x, 'main', Buffer.from('m'), { headers: { 'x-delay': 50 }, CC: ['cc'], BCC: ['bcc'] });
    await eventually(() => expect([gotMain.length, gotCc.length, gotBcc.length]).toEqual([1, 1, 1]), 2000);
    expect(gotBcc[0]!.msg.properties.headers).toEqual({ 'x-delay': -50, CC: ['cc'] });
  });

  warrenOnly('a delayed exchange reached through an exchange-to-exchange binding delays too', async () => {
    const ch = await fx.channel();
    const x = await delayedExchange(ch, 'fanout');
    const front = m.exchange('front');
    await ch.assertExchange(front, 'fanout', { durable: false });
    await ch.bindExchange(x, front, '');
    const q = await boundQueue(ch, x, '');
    const got = await timedConsumer(ch, q);
    ch.publish(front, 'k', Buffer.from('via e2e'), { headers: { 'x-delay': 150 } });
    await sync(ch);
    expect(got).toEqual([]);
    await eventually(() => expect(got.map((g) => g.body)).toEqual(['via e2e']), 2000);
    expect(got[0]!.msg.fields.exchange).toBe(front);
  });

  warrenOnly('a delayed message is routed with the bindings of its due time, not of its publish time', async () => {
    const ch = await fx.channel();
    const x = await delayedExchange(ch);
    const q = await boundQueue(ch, x);
    const late = m.queue();
    await ch.assertQueue(late);
    ch.publish(x, 'k', Buffer.from('m'), { headers: { 'x-delay': 150 } });
    await sync(ch);
    await ch.unbindQueue(q, x, 'k');
    await ch.bindQueue(late, x, 'k');
    await eventually(async () => expect((await ch.checkQueue(late)).messageCount).toBe(1), 2000);
    expect((await ch.checkQueue(q)).messageCount).toBe(0);
  });

  warrenOnly('a held message is not returned as unroutable at publish, nor sent to the alternate exchange', async () => {
    const ch = await fx.channel();
    const ae = m.exchange('ae');
    await ch.assertExchange(ae, 'fanout', { durable: false });
    const aeq = m.queue();
    await ch.assertQueue(aeq);
    await ch.bindQueue(aeq, ae, '');
    const x = m.exchange('dx');
    await ch.assertExchange(x, DELAYED, { durable: false, arguments: { 'x-delayed-type': 'direct', 'alternate-exchange': ae } });
    const q = await boundQueue(ch, x);
    const returned: string[] = [];
    ch.on('return', (r: ConsumeMessage) => returned.push(r.content.toString()));
    ch.publish(x, 'k', Buffer.from('held'), { headers: { 'x-delay': 50 }, mandatory: true });
    ch.publish(x, 'nobody', Buffer.from('held, unroutable later'), { headers: { 'x-delay': 50 }, mandatory: true });
    await eventually(async () => expect((await ch.checkQueue(q)).messageCount).toBe(1), 2000);
    // Unroutable when due: it goes to the alternate exchange then (nobody is left to return it to).
    await eventually(async () => expect((await ch.checkQueue(aeq)).messageCount).toBe(1), 2000);
    expect(returned).toEqual([]);
  });

  warrenOnly('a message for a delayed exchange as dead-letter exchange is delayed too', async () => {
    const ch = await fx.channel();
    const x = await delayedExchange(ch, 'fanout');
    const retry = await boundQueue(ch, x, '');
    const work = m.queue('work');
    await ch.assertQueue(work, { arguments: { 'x-dead-letter-exchange': x } });
    ch.sendToQueue(work, Buffer.from('retry me'), { headers: { 'x-delay': 120 } });
    await sync(ch);
    const msg = await ch.get(work);
    expect(msg).not.toBe(false);
    ch.nack(msg as amqp.GetMessage, false, false);
    await sync(ch);
    expect((await ch.checkQueue(retry)).messageCount).toBe(0);
    await eventually(async () => expect((await ch.checkQueue(retry)).messageCount).toBe(1), 2000);
  });
});

describe('publishers', () => {
  warrenOnly('a held message is confirmed to a confirm-mode publisher', async () => {
    const ch = await fx.confirmChannel();
    const x = await delayedExchange(ch);
    await boundQueue(ch, x);
    const confirmed = new Promise<void>((resolve, reject) =>
      ch.publish(x, 'k', Buffer.from('m'), { headers: { 'x-delay': 10_000 } }, (err) => (err ? reject(err) : resolve())),
    );
    await expect(confirmed).resolves.toBeUndefined();
  });

  warrenOnly('a held message published in a transaction is held only once committed', async () => {
    const conn = await fx.connect();
    const ch = await openChannel(conn);
    const x = await delayedExchange(ch);
    const q = await boundQueue(ch, x);
    const tx = (await import('../helpers/model.js'));
    await tx.txSelect(ch);
    ch.publish(x, 'k', Buffer.from('rolled back'), { headers: { 'x-delay': 50 } });
    await tx.txRollback(ch);
    ch.publish(x, 'k', Buffer.from('committed'), { headers: { 'x-delay': 50 } });
    await tx.txCommit(ch);
    await eventually(async () => expect((await ch.checkQueue(q)).messageCount).toBe(1), 2000);
    const got = await ch.get(q, { noAck: true });
    expect(got && got.content.toString()).toBe('committed');
  });

  warrenOnly('deleting the exchange drops its held messages', async () => {
    const ch = await fx.channel();
    const x = await delayedExchange(ch);
    const q = await boundQueue(ch, x);
    ch.publish(x, 'k', Buffer.from('never'), { headers: { 'x-delay': 100 } });
    await sync(ch);
    await ch.deleteExchange(x);
    await sleep(200);
    expect((await ch.checkQueue(q)).messageCount).toBe(0);
    await expectChannelAlive(ch);
  });
});

// ---------------------------------------------------------------------------------------------
// Restarts

const brokers: RunningBroker[] = [];
const conns: ChannelModel[] = [];
afterEach(async () => {
  await Promise.all(conns.splice(0).map((c) => c.close().catch(() => {})));
  await Promise.all(brokers.splice(0).map((b) => b.close().catch(() => {})));
});

async function diskBroker(dataDir: string): Promise<RunningBroker> {
  const b = await startBroker({ port: 0, dataDir, durability: 'fsync', logLevel: 'silent', rabbitmqVersion: '3.10' });
  brokers.push(b);
  return b;
}

async function channelOn(b: RunningBroker | string, confirm = false): Promise<Channel> {
  const c = await amqp.connect(typeof b === 'string' ? b : b.url);
  c.on('error', () => {});
  conns.push(c);
  const ch = confirm ? await c.createConfirmChannel() : await c.createChannel();
  ch.on('error', () => {});
  return ch;
}

async function setUp(ch: Channel, durable: boolean): Promise<void> {
  await ch.assertExchange('dx', DELAYED, { durable, arguments: { 'x-delayed-type': 'direct' } });
  await ch.assertQueue('dq', { durable: true });
  await ch.bindQueue('dq', 'dx', 'k');
}

describe('restarts', () => {
  warrenOnly('a durable delayed exchange keeps its held messages across a clean restart, due times unchanged', async () => {
    const dir = tempDir();
    let b = await diskBroker(dir);
    let ch = await channelOn(b, true);
    await setUp(ch, true);
    const sentAt = Date.now();
    ch.publish('dx', 'k', Buffer.from('soon'), { headers: { 'x-delay': 400 }, persistent: true });
    ch.publish('dx', 'k', Buffer.from('later'), { headers: { 'x-delay': 1200 }, persistent: true });
    ch.publish('dx', 'k', Buffer.from('transient body, still held'), { headers: { 'x-delay': 700 } });
    await (ch as amqp.ConfirmChannel).waitForConfirms();
    await Promise.all(conns.splice(0).map((c) => c.close()));
    await b.close();
    brokers.length = 0;
    b = await diskBroker(dir);
    ch = await channelOn(b);
    const got = await timedConsumer(ch, 'dq');
    await eventually(() => expect(got.length).toBe(3), 5000);
    expect(got.map((g) => g.body)).toEqual(['soon', 'transient body, still held', 'later']);
    expect(got[2]!.at - sentAt).toBeGreaterThanOrEqual(1195);
    expect(got[0]!.msg.properties.headers).toEqual({ 'x-delay': -400 });
  });

  warrenOnly('messages that fell due while the broker was down are delivered at start-up', async () => {
    const dir = tempDir();
    let b = await diskBroker(dir);
    let ch = await channelOn(b, true);
    await setUp(ch, true);
    ch.publish('dx', 'k', Buffer.from('due during downtime'), { headers: { 'x-delay': 100 }, persistent: true });
    await (ch as amqp.ConfirmChannel).waitForConfirms();
    await Promise.all(conns.splice(0).map((c) => c.close()));
    await b.close();
    brokers.length = 0;
    await sleep(200);
    b = await diskBroker(dir);
    ch = await channelOn(b);
    await eventually(async () => expect((await ch.checkQueue('dq')).messageCount).toBe(1), 2000);
  });

  warrenOnly('a transient delayed exchange and its held messages are gone after a restart', async () => {
    const dir = tempDir();
    let b = await diskBroker(dir);
    let ch = await channelOn(b, true);
    await setUp(ch, false);
    ch.publish('dx', 'k', Buffer.from('lost'), { headers: { 'x-delay': 100 }, persistent: true });
    await (ch as amqp.ConfirmChannel).waitForConfirms();
    await Promise.all(conns.splice(0).map((c) => c.close()));
    await b.close();
    brokers.length = 0;
    b = await diskBroker(dir);
    ch = await channelOn(b);
    await sleep(250);
    expect((await ch.checkQueue('dq')).messageCount).toBe(0);
    await expectChannelClosed(ch, () => ch.checkExchange('dx'), { code: 404, text: "NOT_FOUND - no exchange 'dx' in vhost '/'", classId: 40, methodId: 10 });
  });

  warrenOnly('deleting a durable delayed exchange removes its files', async () => {
    const dir = tempDir();
    const b = await diskBroker(dir);
    const ch = await channelOn(b, true);
    await setUp(ch, true);
    ch.publish('dx', 'k', Buffer.from('m'), { headers: { 'x-delay': 60_000 }, persistent: true });
    await (ch as amqp.ConfirmChannel).waitForConfirms();
    expect(readdirSync(join(dir, 'delayed'))).toHaveLength(1);
    await ch.deleteExchange('dx');
    await eventually(() => expect(readdirSync(join(dir, 'delayed'))).toHaveLength(0));
  });

  warrenOnly('many held messages page their bodies out and all come back after a restart', async () => {
    const dir = tempDir();
    let b = await diskBroker(dir);
    let ch = await channelOn(b, true);
    await setUp(ch, true);
    const body = Buffer.alloc(4096, 'x');
    const n = 6000; // 24 MiB of bodies: more than the 16 MiB kept in memory
    for (let i = 0; i < n; i++) ch.publish('dx', 'k', body, { headers: { 'x-delay': 1500 + (i % 7) }, persistent: true, messageId: String(i) });
    await (ch as amqp.ConfirmChannel).waitForConfirms();
    await Promise.all(conns.splice(0).map((c) => c.close()));
    await b.close();
    brokers.length = 0;
    b = await diskBroker(dir);
    ch = await channelOn(b);
    await eventually(async () => expect((await ch.checkQueue('dq')).messageCount).toBe(n), 20_000);
  }, 60_000);

  warrenOnly('paged-out messages come due in due order, not publish order, and a later short delay overtakes them', async () => {
    const dir = tempDir();
    const b = await diskBroker(dir);
    const ch = await channelOn(b, true);
    await setUp(ch, true);
    const body = Buffer.alloc(4096, 'x');
    const n = 6000; // 24 MiB of bodies: most are paged out, in publish order
    // Three groups interleaved in publish order, due about 2 s apart.
    const groupOf = (i: number) => (i * 7) % 3;
    for (let i = 0; i < n; i++) ch.publish('dx', 'k', body, { headers: { 'x-delay': 1500 + groupOf(i) * 2000 }, persistent: true, messageId: String(i) });
    await (ch as amqp.ConfirmChannel).waitForConfirms();
    const consumer = await channelOn(b);
    const order: string[] = [];
    let overtaker = -1;
    await consumer.consume('dq', (m) => {
      if (m === null) return;
      const id = m.properties.messageId as string;
      if (id === 'late') overtaker = order.length;
      order.push(id);
      if (order.length === 1) ch.publish('dx', 'k', Buffer.from('late'), { headers: { 'x-delay': 0 }, messageId: 'late' });
    }, { noAck: true });
    await eventually(() => expect(order.length).toBe(n + 1), 30_000);
    const groups = order.filter((id) => id !== 'late').map((id) => groupOf(Number(id)));
    for (let k = 1; k < groups.length; k++) expect(groups[k]!).toBeGreaterThanOrEqual(groups[k - 1]!);
    expect(new Set(order).size).toBe(n + 1);
    // Published when the first group started coming out: it must not wait behind the later groups.
    expect(overtaker).toBeGreaterThan(0);
    expect(overtaker).toBeLessThan(order.length - 2 * (n / 3));
  }, 60_000);
});

// ---------------------------------------------------------------------------------------------
// kill -9

const BIN = fileURLToPath(new URL('../../bin/warren.js', import.meta.url));
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

async function startChild(dataDir: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [BIN, '--host', '127.0.0.1', '--port', '0', '--data-dir', dataDir, '--durability', 'fsync', '--log-level', 'info'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const deadline = Date.now() + 30_000;
  for (;;) {
    const line = out.split('\n').find((l) => l.includes('Warren is ready'));
    if (line !== undefined) return { child, url: (JSON.parse(line) as { url: string }).url };
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`broker did not start:\n${out}`);
    await sleep(20);
  }
}

describe('kill -9', () => {
  warrenOnly('every confirmed held message of a durable delayed exchange is delivered after kill -9', async () => {
    const dir = tempDir();
    let { child, url } = await startChild(dir);
    const ch = (await channelOn(url, true)) as amqp.ConfirmChannel;
    await setUp(ch, true);
    const n = 500;
    for (let i = 0; i < n; i++) ch.publish('dx', 'k', Buffer.from(String(i)), { headers: { 'x-delay': 300 + (i % 50) }, persistent: true });
    await ch.waitForConfirms();
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    conns.splice(0); // their broker is gone: nothing to close
    ({ child, url } = await startChild(dir));
    const after = await channelOn(url);
    const got = new Set<string>();
    await after.consume('dq', (msg) => msg && got.add(msg.content.toString()), { noAck: true });
    await eventually(() => expect(got.size).toBe(n), 10_000);
    expect(existsSync(join(dir, 'delayed'))).toBe(true);
    // Close before the child is killed (hooks run in reverse order: the kill would come first).
    await Promise.all(conns.splice(0).map((c) => c.close().catch(() => {})));
  }, 60_000);

  warrenOnly('held messages are kept in buckets by due time: released buckets go, the rest survive kill -9', async () => {
    const dir = tempDir();
    let { child, url } = await startChild(dir);
    const ch = (await channelOn(url, true)) as amqp.ConfirmChannel;
    await setUp(ch, true);
    const n = 300;
    const sentAt = Date.now();
    // Interleaved in publish order: "soon" due in 200 ms, "late" in 4 s.
    for (let i = 0; i < n; i++) {
      ch.publish('dx', 'k', Buffer.from(`soon-${i}`), { headers: { 'x-delay': 200 }, persistent: true });
      ch.publish('dx', 'k', Buffer.from(`late-${i}`), { headers: { 'x-delay': 4000 }, persistent: true });
    }
    await ch.waitForConfirms();
    const [xdir] = readdirSync(join(dir, 'delayed'));
    const buckets = () => readdirSync(join(dir, 'delayed', xdir!));
    // Two spans of due times 3.8 s apart cannot share a bucket.
    expect(buckets().length).toBeGreaterThanOrEqual(2);
    for (const b of buckets()) expect(b).toMatch(/^\d+-\d+-\d+$/);
    const before = buckets();
    const first = await channelOn(url);
    const early = new Set<string>();
    await first.consume('dq', (msg) => msg && early.add(msg.content.toString()), { noAck: true });
    await eventually(() => expect(early.size).toBe(n), 5000);
    expect([...early].every((b) => b.startsWith('soon-'))).toBe(true);
    // Released buckets are deleted whole (their names say which due times they took); the late ones stay.
    const spanEnd = (name: string) => name.split('-').slice(0, 2).map(Number).reduce((a, b) => a + b);
    await eventually(() => expect(buckets().filter((b) => spanEnd(b) < sentAt + 3000)).toEqual([]), 5000);
    expect(buckets().length).toBeGreaterThan(0);
    expect(buckets().length).toBeLessThan(before.length);
    expect(Date.now() - sentAt).toBeLessThan(3900); // the late ones are not due yet: the test would prove nothing
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    conns.splice(0);
    ({ child, url } = await startChild(dir));
    const after = await channelOn(url);
    const got: { body: string; at: number }[] = [];
    await after.consume('dq', (msg) => msg && got.push({ body: msg.content.toString(), at: Date.now() }), { noAck: true });
    await eventually(() => expect(got.length).toBe(n), 10_000);
    expect(got.map((g) => g.body).sort()).toEqual(Array.from({ length: n }, (_, i) => `late-${i}`).sort());
    expect(Math.min(...got.map((g) => g.at)) - sentAt).toBeGreaterThanOrEqual(3995);
    // Released after the restart: their bucket goes too.
    await eventually(() => expect(buckets()).toEqual([]), 5000);
    await Promise.all(conns.splice(0).map((c) => c.close().catch(() => {})));
  }, 60_000);
});
