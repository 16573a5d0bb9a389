/**
 * Priority queues (RabbitMQ docs page "priority"): x-max-priority from 1 to 255 (0 is accepted and
 * gives one level, so the queue stays FIFO; negative values and values above 255 are refused with
 * RabbitMQ's texts), higher priority delivered first and FIFO within a priority, a priority above the
 * maximum filed at the maximum and an absent one at 0; with prefetch, requeue (back to its place within
 * its priority), basic.get and consumers attached after a backlog; durable priority queues across a
 * restart and a backlog long enough for Warren to page it to disk. Behaviour tests are checked against
 * RabbitMQ 3.10.8 first (rabbit_priority_queue.erl); the restart and paging tests look inside Warren.
 */
import amqp, { type Channel, type ChannelModel, type ConfirmChannel, type ConsumeMessage, type Message } from 'amqplib';
import { afterEach, describe, expect, it } from 'vitest';
import { startBroker, type RunningBroker } from '../../src/index.js';
import type { QueueEntry } from '../../src/message/queue-entry.js';
import { useTempDirs } from '../helpers/disk-brokers.js';
import { eventually, warrenOnly, withBroker } from '../helpers/broker.js';
import { bodies, collect, drain, expectChannelAlive, expectChannelClosed, openChannel, roundTrip, sync, withModel, type ExpectedClose } from '../helpers/model.js';

const fx = withBroker();
const m = withModel(fx);


async function priorityQueue(ch: Channel, maxPriority: number, durable = false): Promise<string> {
  const q = m.queue('prio');
  await ch.assertQueue(q, { durable, arguments: { 'x-max-priority': maxPriority } });
  return q;
}

/** [body, priority (undefined: no priority property)] in publish order, then a round trip. */
async function publish(ch: Channel, q: string, msgs: readonly (readonly [string, number | undefined])[]): Promise<void> {
  for (const [body, priority] of msgs) ch.sendToQueue(q, Buffer.from(body), priority === undefined ? {} : { priority });
  await sync(ch);
}

async function getOne(ch: Channel, q: string): Promise<Message> {
  const msg = await ch.get(q, { noAck: false });
  if (msg === false) throw new Error(`queue ${q} is empty`);
  return msg;
}

const maxPriorityRefused = (q: string, reason: string): ExpectedClose => ({
  code: 406,
  text: `PRECONDITION_FAILED - invalid arg 'x-max-priority' for queue '${q}' in vhost '/': ${reason}`,
  classId: 50,
  methodId: 10,
});

describe('x-max-priority at declaration', () => {
  it.each([1, 10, 255])('%i is accepted', async (max) => {
    const ch = await fx.channel();
    const q = m.queue('prio');
    expect(await ch.assertQueue(q, { durable: false, arguments: { 'x-max-priority': max } })).toEqual({ queue: q, messageCount: 0, consumerCount: 0 });
  });

  it('0 is accepted (non-negative) and gives a single level: the queue stays FIFO', async () => {
    const ch = await fx.channel();
    const q = await priorityQueue(ch, 0);
    await publish(ch, q, [['a', 0], ['b', 5], ['c', undefined], ['d', 9]]);
    expect(bodies(await drain(ch, q))).toEqual(['a', 'b', 'c', 'd']);
  });

  it('256 is refused: 406 {max_value_exceeded,256}', async () => {
    const { ch, other } = await m.twoChannels();
    const q = m.queue('prio');
    await expectChannelClosed(ch, () => ch.assertQueue(q, { durable: false, arguments: { 'x-max-priority': 256 } }), maxPriorityRefused(q, '{max_value_exceeded,256}'));
    await expectChannelAlive(other);
  });

  it('1000 is refused: 406 {max_value_exceeded,1000}', async () => {
    const ch = await fx.channel();
    const q = m.queue('prio');
    await expectChannelClosed(ch, () => ch.assertQueue(q, { durable: false, arguments: { 'x-max-priority': 1000 } }), maxPriorityRefused(q, '{max_value_exceeded,1000}'));
  });

  it('-1 is refused: 406 {value_negative,-1}', async () => {
    const ch = await fx.channel();
    const q = m.queue('prio');
    await expectChannelClosed(ch, () => ch.assertQueue(q, { durable: false, arguments: { 'x-max-priority': -1 } }), maxPriorityRefused(q, '{value_negative,-1}'));
  });

  it('a string is refused: 406 "expected integer, got longstr"', async () => {
    const ch = await fx.channel();
    const q = m.queue('prio');
    await expectChannelClosed(ch, () => ch.assertQueue(q, { durable: false, arguments: { 'x-max-priority': 'high' } }), maxPriorityRefused(q, '"expected integer, got longstr"'));
  });

  it('nothing is left of a refused declaration', async () => {
    const ch = await fx.channel();
    const q = m.queue('prio');
    await expectChannelClosed(ch, () => ch.assertQueue(q, { durable: false, arguments: { 'x-max-priority': 256 } }), maxPriorityRefused(q, '{max_value_exceeded,256}'));
    const ch2 = await fx.channel();
    await expectChannelClosed(ch2, () => ch2.checkQueue(q), { code: 404, text: `NOT_FOUND - no queue '${q}' in vhost '/'`, classId: 50, methodId: 10 });
  });

  it("redeclared with another maximum: 406 inequivalent arg, received '5' but current is '10'", async () => {
    const ch = await fx.channel();
    const q = await priorityQueue(ch, 10);
    await expectChannelClosed(ch, () => ch.assertQueue(q, { durable: false, arguments: { 'x-max-priority': 5 } }), {
      code: 406,
      text: `PRECONDITION_FAILED - inequivalent arg 'x-max-priority' for queue '${q}' in vhost '/': received '5' but current is '10'`,
      classId: 50,
      methodId: 10,
    });
  });

  it('redeclared without x-max-priority: 406 inequivalent arg, received none', async () => {
    const ch = await fx.channel();
    const q = await priorityQueue(ch, 10);
    await expectChannelClosed(ch, () => ch.assertQueue(q, { durable: false }), {
      code: 406,
      // amqplib sends small integers as signed 8-bit ('byte').
      text: `PRECONDITION_FAILED - inequivalent arg 'x-max-priority' for queue '${q}' in vhost '/': received none but current is the value '10' of type 'byte'`,
      classId: 50,
      methodId: 10,
    });
  });
});

describe('delivery order', () => {
  it('higher priority first', async () => {
    const ch = await fx.channel();
    const q = await priorityQueue(ch, 10);
    await publish(ch, q, [['p1', 1], ['p5', 5], ['p3', 3], ['p10', 10], ['p0', 0]]);
    expect(bodies(await drain(ch, q))).toEqual(['p10', 'p5', 'p3', 'p1', 'p0']);
  });

  it('FIFO within a priority', async () => {
    const ch = await fx.channel();
    const q = await priorityQueue(ch, 5);
    await publish(ch, q, [['a2', 2], ['b1', 1], ['c2', 2], ['d1', 1], ['e2', 2], ['f1', 1]]);
    expect(bodies(await drain(ch, q))).toEqual(['a2', 'c2', 'e2', 'b1', 'd1', 'f1']);
  });

  it('a priority above the maximum counts as the maximum (FIFO with the messages at the maximum)', async () => {
    const ch = await fx.channel();
    const q = await priorityQueue(ch, 3);
    await publish(ch, q, [['low', 1], ['at-max', 3], ['above', 200], ['at-max-2', 3], ['way-above', 255], ['mid', 2]]);
    expect(bodies(await drain(ch, q))).toEqual(['at-max', 'above', 'at-max-2', 'way-above', 'mid', 'low']);
  });

  it('a message without a priority counts as priority 0', async () => {
    const ch = await fx.channel();
    const q = await priorityQueue(ch, 3);
    await publish(ch, q, [['none-1', undefined], ['zero', 0], ['none-2', undefined], ['one', 1]]);
    expect(bodies(await drain(ch, q))).toEqual(['one', 'none-1', 'zero', 'none-2']);
  });

  it('delivered messages keep their priority property', async () => {
    const ch = await fx.channel();
    const q = await priorityQueue(ch, 3);
    await publish(ch, q, [['above', 9], ['none', undefined]]);
    const [a, n] = await drain(ch, q);
    expect(a!.properties.priority).toBe(9);
    expect(n!.properties.priority).toBeUndefined();
  });

  it('a queue without x-max-priority ignores priorities', async () => {
    const ch = await fx.channel();
    const q = m.queue('plain');
    await ch.assertQueue(q, { durable: false });
    await publish(ch, q, [['a', 1], ['b', 9], ['c', undefined], ['d', 5]]);
    expect(bodies(await drain(ch, q))).toEqual(['a', 'b', 'c', 'd']);
  });

  it('basic.get-ok message-count and declare-ok count the messages of every priority', async () => {
    const ch = await fx.channel();
    const q = await priorityQueue(ch, 4);
    await publish(ch, q, [['a', 0], ['b', 4], ['c', 2], ['d', undefined]]);
    // RabbitMQ may answer a passive declare before it has taken in the publishes just sent: awaited.
    await eventually(async () => expect(await ch.checkQueue(q)).toMatchObject({ messageCount: 4 }));
    const first = await getOne(ch, q);
    expect(first.content.toString()).toBe('b');
    expect(first.fields).toMatchObject({ messageCount: 3 });
    expect(await ch.checkQueue(q)).toMatchObject({ messageCount: 3 });
  });

  it('purge empties every priority', async () => {
    const ch = await fx.channel();
    const q = await priorityQueue(ch, 4);
    await publish(ch, q, [['a', 0], ['b', 4], ['c', 2]]);
    expect(await ch.purgeQueue(q)).toEqual({ messageCount: 3 });
    expect(await ch.get(q)).toBe(false);
  });
});

describe('with consumers', () => {
  it('a consumer attached after a backlog receives it by priority', async () => {
    const ch = await fx.channel();
    const q = await priorityQueue(ch, 10);
    await publish(ch, q, [['p2a', 2], ['p7', 7], ['none', undefined], ['p2b', 2], ['p10', 10], ['p9', 9]]);
    const c = await collect(ch, q, { noAck: true });
    await c.atLeast(6);
    expect(bodies(c.messages)).toEqual(['p10', 'p9', 'p7', 'p2a', 'p2b', 'none']);
  });

  it('with prefetch 1, each ack releases the highest-priority message waiting', async () => {
    const ch = await fx.channel();
    const q = await priorityQueue(ch, 5);
    await publish(ch, q, [['a1', 1], ['b3', 3], ['c1', 1], ['d5', 5], ['e3', 3]]);
    const cch = await fx.channel();
    await cch.prefetch(1);
    const got: string[] = [];
    await cch.consume(q, (msg) => {
      if (msg === null) return;
      got.push(msg.content.toString());
      cch.ack(msg);
    });
    await eventually(() => expect(got.length).toBe(5));
    expect(got).toEqual(['d5', 'b3', 'e3', 'a1', 'c1']);
  });

  it('a higher-priority message published while a prefetch-limited consumer works goes ahead of the backlog', async () => {
    const ch = await fx.channel();
    const q = await priorityQueue(ch, 5);
    await publish(ch, q, [['low-1', 1], ['low-2', 1], ['low-3', 1]]);
    const cch = await fx.channel();
    await cch.prefetch(1);
    const c = await collect(cch, q);
    await c.atLeast(1);
    await roundTrip(cch, q);
    expect(bodies(c.messages)).toEqual(['low-1']);
    await publish(ch, q, [['urgent', 5]]);
    cch.ack(c.messages[0]!);
    await c.atLeast(2);
    expect(bodies(c.messages)).toEqual(['low-1', 'urgent']);
    cch.ack(c.messages[1]!);
    await c.atLeast(3);
    expect(bodies(c.messages)).toEqual(['low-1', 'urgent', 'low-2']);
  });

  it('with prefetch 2 across two consumers, deliveries still go out by priority', async () => {
    const ch = await fx.channel();
    const q = await priorityQueue(ch, 9);
    await publish(ch, q, [['p1', 1], ['p4', 4], ['p9', 9], ['p4b', 4], ['p0', 0], ['p7', 7]]);
    const cch = await fx.channel();
    await cch.prefetch(2);
    const order: string[] = [];
    const onMsg = (msg: ConsumeMessage | null) => {
      if (msg === null) return;
      order.push(msg.content.toString());
    };
    await cch.consume(q, onMsg);
    await cch.consume(q, onMsg);
    await eventually(() => expect(order.length).toBe(4));
    // Whoever receives them, the four highest go out first and in priority order.
    expect(order).toEqual(['p9', 'p7', 'p4', 'p4b']);
  });
});

describe('requeue', () => {
  it('a requeued message goes back to its place within its priority', async () => {
    const ch = await fx.channel();
    const q = await priorityQueue(ch, 5);
    await publish(ch, q, [['a2', 2], ['b2', 2], ['c2', 2], ['d0', 0], ['e5', 5]]);
    const e5 = await getOne(ch, q);
    const a2 = await getOne(ch, q);
    const b2 = await getOne(ch, q);
    expect([e5, a2, b2].map((x) => x.content.toString())).toEqual(['e5', 'a2', 'b2']);
    // Returned out of order: each goes back where it was.
    ch.nack(b2, false, true);
    ch.nack(a2, false, true);
    await publish(ch, q, [['f2', 2], ['g5', 5]]);
    ch.nack(e5, false, true);
    const rest = await drain(ch, q);
    expect(bodies(rest)).toEqual(['e5', 'g5', 'a2', 'b2', 'c2', 'f2', 'd0']);
    expect(rest.map((x) => x.fields.redelivered)).toEqual([true, false, true, true, false, false, false]);
  });

  it('a requeued low-priority message stays behind higher-priority messages published after it', async () => {
    const ch = await fx.channel();
    const q = await priorityQueue(ch, 5);
    await publish(ch, q, [['low', 0]]);
    const low = await getOne(ch, q);
    await publish(ch, q, [['high', 4], ['low-2', 0]]);
    ch.nack(low, false, true);
    expect(bodies(await drain(ch, q))).toEqual(['high', 'low', 'low-2']);
  });

  it("a closed channel's unacknowledged messages go back by priority and in place", async () => {
    const ch = await fx.channel();
    const q = await priorityQueue(ch, 5);
    await publish(ch, q, [['a1', 1], ['b3', 3], ['c1', 1], ['d3', 3]]);
    const conn = await fx.connect();
    const other = await openChannel(conn);
    await other.prefetch(3);
    const c = await collect(other, q);
    await c.atLeast(3);
    expect(bodies(c.messages)).toEqual(['b3', 'd3', 'a1']);
    await publish(ch, q, [['e1', 1], ['f3', 3]]);
    await conn.close();
    await eventually(async () => expect((await ch.checkQueue(q)).messageCount).toBe(6));
    expect(bodies(await drain(ch, q))).toEqual(['b3', 'd3', 'f3', 'a1', 'c1', 'e1']);
  });

  it('basic.reject with requeue returns the message ahead of later messages of its priority', async () => {
    const ch = await fx.channel();
    const q = await priorityQueue(ch, 2);
    await publish(ch, q, [['x1', 1], ['y1', 1]]);
    const x1 = await getOne(ch, q);
    ch.reject(x1, true);
    const again = await getOne(ch, q);
    expect(again.content.toString()).toBe('x1');
    expect(again.fields.redelivered).toBe(true);
  });
});

// ------------------------------------------------------------------------------------------------
// Warren only: restarts and paging to disk.

const tempDir = useTempDirs();
const running: RunningBroker[] = [];
const connections: ChannelModel[] = [];

afterEach(async () => {
  await Promise.all(connections.splice(0).map((c) => c.close().catch(() => {})));
  await Promise.all(running.splice(0).map((b) => b.close().catch(() => {})));
});

async function startDurable(dataDir: string): Promise<RunningBroker> {
  const b = await startBroker({ port: 0, dataDir, durability: 'fsync', logLevel: 'silent', rabbitmqVersion: '3.10' });
  running.push(b);
  return b;
}

async function connectTo(b: RunningBroker): Promise<ChannelModel> {
  const c = await amqp.connect(b.url, { noDelay: true });
  c.on('error', () => {});
  connections.push(c);
  return c;
}

async function confirmChannelOn(b: RunningBroker): Promise<ConfirmChannel> {
  const ch = await (await connectTo(b)).createConfirmChannel();
  ch.on('error', () => {});
  return ch;
}

/** The ready entries of a Warren queue, highest priority first (the queue's own delivery order). */
function readyEntries(b: RunningBroker, q: string): QueueEntry[] {
  const queue = b.broker.vhosts.get('/')!.queues.get(q)!;
  return [...(queue as unknown as { ready: Iterable<QueueEntry> }).ready];
}

/** A deterministic generator (mulberry32), so a failure replays. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pad = Buffer.alloc(1024, '.');

/**
 * Publishes `n` persistent 1 KiB messages with random priorities 0..max+2 or none (those above the
 * maximum count as the maximum, none as 0), waiting for confirms; returns each one's sequence number
 * (written at the start of its body) and the level the queue files it under.
 */
async function publishBacklog(ch: ConfirmChannel, q: string, n: number, max: number, random: () => number): Promise<{ seq: number; level: number }[]> {
  const sent: { seq: number; level: number }[] = [];
  for (let seq = 0; seq < n; seq++) {
    const r = Math.floor(random() * (max + 4));
    const priority = r === max + 3 ? undefined : r;
    const body = Buffer.from(pad);
    body.write(`${seq}.`, 0, 'latin1');
    ch.sendToQueue(q, body, priority === undefined ? { persistent: true } : { persistent: true, priority });
    sent.push({ seq, level: Math.min(priority ?? 0, max) });
    if (seq % 2000 === 1999) await ch.waitForConfirms();
  }
  await ch.waitForConfirms();
  return sent;
}

const byPriorityThenFifo = (sent: readonly { seq: number; level: number }[]): number[] =>
  [...sent].sort((x, y) => y.level - x.level || x.seq - y.seq).map((s) => s.seq);

const seqOf = (msg: Message): number => Number(msg.content.toString('latin1', 0, 16).split('.')[0]);

describe('durable priority queues (Warren restarts)', () => {
  warrenOnly('a durable priority queue and its persistent messages come back after a restart, in priority order', async () => {
    const dir = tempDir('warren-priority-');
    let b = await startDurable(dir);
    let ch = await confirmChannelOn(b);
    await ch.assertQueue('prio-durable', { durable: true, arguments: { 'x-max-priority': 5 } });
    const msgs: [string, number | undefined][] = [['a0', 0], ['b5', 5], ['c2', 2], ['d-none', undefined], ['e9', 9], ['f2', 2], ['g5', 5]];
    for (const [body, priority] of msgs) ch.sendToQueue('prio-durable', Buffer.from(body), priority === undefined ? { persistent: true } : { persistent: true, priority });
    ch.sendToQueue('prio-durable', Buffer.from('transient'), { persistent: false, priority: 5 });
    await ch.waitForConfirms();
    // One delivered and requeued before the restart keeps its place and its redelivered flag.
    const first = await ch.get('prio-durable', { noAck: false });
    expect(first && first.content.toString()).toBe('b5');
    ch.nack(first as Message, false, true);
    await ch.checkQueue('prio-durable');
    await b.close();
    b = await startDurable(dir);
    ch = await confirmChannelOn(b);
    // The same declaration is equivalent to the recovered one.
    await ch.assertQueue('prio-durable', { durable: true, arguments: { 'x-max-priority': 5 } });
    const out = await drain(ch, 'prio-durable');
    expect(bodies(out)).toEqual(['b5', 'e9', 'g5', 'c2', 'f2', 'a0', 'd-none']);
    expect(out[0]!.fields.redelivered).toBe(true);
    expect(out[1]!.fields.redelivered).toBe(false);
    expect(out[1]!.properties.priority).toBe(9);
  });

  // RabbitMQ's priority queue runs one backing queue per priority, each with its own next_deliver_seq_id
  // saved in its recovery terms (rabbit_priority_queue, rabbit_variable_queue), so a lower-priority
  // message published earlier but never delivered comes back redelivered=false.
  warrenOnly('after a clean restart, a never-delivered lower-priority message is not marked redelivered', async () => {
    const dir = tempDir('warren-priority-');
    let b = await startDurable(dir);
    let ch = await confirmChannelOn(b);
    await ch.assertQueue('prio-redelivered', { durable: true, arguments: { 'x-max-priority': 5 } });
    ch.sendToQueue('prio-redelivered', Buffer.from('low'), { persistent: true, priority: 1 });
    ch.sendToQueue('prio-redelivered', Buffer.from('high'), { persistent: true, priority: 5 });
    ch.sendToQueue('prio-redelivered', Buffer.from('high-2'), { persistent: true, priority: 5 });
    await ch.waitForConfirms();
    const high = await ch.get('prio-redelivered', { noAck: false });
    expect(high && high.content.toString()).toBe('high');
    ch.nack(high as Message, false, true);
    await ch.checkQueue('prio-redelivered');
    await b.close();
    b = await startDurable(dir);
    ch = await confirmChannelOn(b);
    const out = await drain(ch, 'prio-redelivered');
    expect(out.map((x) => [x.content.toString(), x.fields.redelivered])).toEqual([
      ['high', true],
      ['high-2', false],
      ['low', false],
    ]);
  });

  warrenOnly('a recovered priority queue keeps its x-max-priority: a different one is inequivalent', async () => {
    const dir = tempDir('warren-priority-');
    let b = await startDurable(dir);
    let ch = await confirmChannelOn(b);
    await ch.assertQueue('prio-args', { durable: true, arguments: { 'x-max-priority': 7 } });
    await b.close();
    b = await startDurable(dir);
    ch = await confirmChannelOn(b);
    const err = await ch.assertQueue('prio-args', { durable: true, arguments: { 'x-max-priority': 8 } }).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message).toContain("inequivalent arg 'x-max-priority' for queue 'prio-args' in vhost '/': received '8' but current is '7'");
  });

  warrenOnly(
    'a priority backlog of 30,000 persistent 1 KiB messages is paged to disk and delivered by priority, then FIFO',
    async () => {
      const N = 30_000;
      const MAX = 10;
      const dir = tempDir('warren-priority-');
      const b = await startDurable(dir);
      const ch = await confirmChannelOn(b);
      await ch.assertQueue('prio-big', { durable: true, arguments: { 'x-max-priority': MAX } });
      const random = rng(6);
      const sent = await publishBacklog(ch, 'prio-big', N, MAX, random);
      expect((await ch.checkQueue('prio-big')).messageCount).toBe(N);

      // Most of the backlog is on disk only: the queue keeps a bounded window of bodies in memory.
      const entries = readyEntries(b, 'prio-big');
      expect(entries.length).toBe(N);
      const inMemory = entries.filter((e) => e.msg !== null).length;
      expect(inMemory).toBeLessThan(N / 5);

      const expected = byPriorityThenFifo(sent);
      const got: number[] = [];
      const cch = await (await connectTo(b)).createChannel();
      await cch.prefetch(500);
      await cch.consume('prio-big', (msg) => {
        if (msg === null) return;
        got.push(seqOf(msg));
        if (got.length % 100 === 0) cch.ack(msg, true);
      });
      await eventually(() => expect(got.length).toBe(N), 60_000, 50);
      expect(got).toEqual(expected);
    },
    120_000,
  );

  warrenOnly(
    'a paged priority backlog: basic.get reads paged-out heads in order, requeues go back in place, and a restart recovers the rest in order',
    async () => {
      const N = 20_000;
      const MAX = 4;
      const dir = tempDir('warren-priority-');
      let b = await startDurable(dir);
      let ch = await confirmChannelOn(b);
      await ch.assertQueue('prio-paged', { durable: true, arguments: { 'x-max-priority': MAX } });
      const sent = await publishBacklog(ch, 'prio-paged', N, MAX, rng(17));
      expect(readyEntries(b, 'prio-paged').filter((e) => e.msg !== null).length).toBeLessThan(N / 5);
      const expected = byPriorityThenFifo(sent);

      // basic.get alone through the first 3,000 (more than the in-memory window of the top level).
      const got: number[] = [];
      for (let i = 0; i < 3000; i++) {
        const msg = await ch.get('prio-paged', { noAck: true });
        if (msg === false) throw new Error('empty too early');
        got.push(seqOf(msg));
      }
      expect(got).toEqual(expected.slice(0, 3000));

      // Three taken and returned in reverse order go back to where they were.
      const held: Message[] = [];
      for (let i = 0; i < 3; i++) held.push((await ch.get('prio-paged', { noAck: false })) as Message);
      expect(held.map(seqOf)).toEqual(expected.slice(3000, 3003));
      for (const msg of held.reverse()) ch.nack(msg, false, true);
      expect((await ch.checkQueue('prio-paged')).messageCount).toBe(N - 3000);

      await b.close();
      b = await startDurable(dir);
      ch = await confirmChannelOn(b);
      expect((await ch.checkQueue('prio-paged')).messageCount).toBe(N - 3000);
      const rest: number[] = [];
      const redelivered: number[] = [];
      const cch = await (await connectTo(b)).createChannel();
      await cch.consume(
        'prio-paged',
        (msg) => {
          if (msg === null) return;
          rest.push(seqOf(msg));
          if (msg.fields.redelivered) redelivered.push(seqOf(msg));
        },
        { noAck: true },
      );
      await eventually(() => expect(rest.length).toBe(N - 3000), 60_000, 50);
      expect(rest).toEqual(expected.slice(3000));
      // The three returned before the restart come back redelivered (that others do too is the bug of
      // the next test).
      expect(redelivered.slice(0, 3)).toEqual(expected.slice(3000, 3003));
    },
    120_000,
  );
});
