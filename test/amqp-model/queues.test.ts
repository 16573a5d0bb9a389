/**
 * Queues (RabbitMQ docs page "queues"): queue.declare with its flags, server-named queues, argument
 * validation and equivalence checks, exclusive and auto-delete queues, and queue.purge/delete with their
 * counts and conditions. Checked against RabbitMQ 3.10.8; reply texts are RabbitMQ's, verbatim.
 *
 * 3.10.8 still accepts transient (non-durable) non-exclusive queues, which later releases deprecate; these
 * tests use them freely because that is the behaviour of the reference.
 */
import type { Channel } from 'amqplib';
import { describe, expect, it } from 'vitest';
import * as M from '../../src/protocol/generated/methods.js';
import { eventually, withBroker } from '../helpers/broker.js';
import {
  collect,
  expectChannelAlive,
  expectChannelClosed,
  expectConnectionAlive,
  openChannel,
  sync,
  withModel,
  type ExpectedClose,
} from '../helpers/model.js';

const fx = withBroker();
const m = withModel(fx);

const notFound = (q: string, classId: number, methodId: number): ExpectedClose => ({
  code: 404,
  text: `NOT_FOUND - no queue '${q}' in vhost '/'`,
  classId,
  methodId,
});

const locked = (q: string, classId: number, methodId: number): ExpectedClose => ({
  code: 405,
  text: `RESOURCE_LOCKED - cannot obtain exclusive access to locked queue '${q}' in vhost '/'. It could be originally declared on another connection or the exclusive property value does not match that of the original declaration.`,
  classId,
  methodId,
});

async function publish(ch: Channel, q: string, n: number, prefix = 'm'): Promise<void> {
  for (let i = 1; i <= n; i++) ch.sendToQueue(q, Buffer.from(`${prefix}${i}`));
  await sync(ch);
}

async function expectGone(q: string): Promise<void> {
  const ch = await fx.channel();
  await expectChannelClosed(ch, () => ch.checkQueue(q), notFound(q, 50, 10));
}

/** For deletions that follow an event asynchronously (last consumer gone, owner connection closed). */
async function expectEventuallyGone(q: string): Promise<void> {
  const conn = await fx.connect();
  await eventually(async () => {
    const ch = await openChannel(conn);
    const found = await ch.checkQueue(q).then(
      () => true,
      () => false,
    );
    if (found) {
      await ch.close();
      throw new Error(`queue ${q} still exists`);
    }
  });
  await expectGone(q);
}

describe('queue.declare', () => {
  it('creates a queue; declare-ok carries its name and zero counts', async () => {
    const ch = await fx.channel();
    const q = m.queue();
    expect(await ch.assertQueue(q, { durable: false })).toEqual({ queue: q, messageCount: 0, consumerCount: 0 });
  });

  it('declare-ok counts the ready messages (not the unacknowledged ones) and the consumers', async () => {
    const ch = await fx.channel();
    const q = m.queue();
    await ch.assertQueue(q, { durable: false });
    await publish(ch, q, 3);
    const consumerCh = await fx.channel();
    await consumerCh.prefetch(1);
    // Two consumers with a prefetch of 1 each hold one message: one of the three is still ready.
    const c1 = await collect(consumerCh, q);
    const c2 = await collect(consumerCh, q);
    await c1.atLeast(1);
    await c2.atLeast(1);
    expect(await ch.assertQueue(q, { durable: false })).toEqual({ queue: q, messageCount: 1, consumerCount: 2 });
    expect(await ch.checkQueue(q)).toEqual({ queue: q, messageCount: 1, consumerCount: 2 });
  });

  it('with an empty name creates a server-named queue amq.gen-..., a new one each time', async () => {
    const ch = await fx.channel();
    const a = await ch.assertQueue('', { exclusive: true });
    const b = await ch.assertQueue('', { exclusive: true });
    expect(a.queue).toMatch(/^amq\.gen-[A-Za-z0-9_-]{22}$/);
    expect(b.queue).toMatch(/^amq\.gen-/);
    expect(a.queue).not.toBe(b.queue);
    expect(a).toMatchObject({ messageCount: 0, consumerCount: 0 });
    await ch.checkQueue(a.queue);
  });

  it('a server-named queue is usable like any other', async () => {
    const ch = await fx.channel();
    const { queue } = await ch.assertQueue('', { exclusive: true });
    ch.sendToQueue(queue, Buffer.from('hello'));
    await sync(ch);
    const msg = await ch.get(queue, { noAck: true });
    expect(msg && msg.content.toString()).toBe('hello');
  });

  it('an empty queue name means the last queue declared on the channel (and an empty key its name)', async () => {
    const ch = await fx.channel();
    const x = m.exchange();
    await ch.assertExchange(x, 'direct', { durable: false });
    const { queue } = await ch.assertQueue('', { exclusive: true });
    await ch.bindQueue('', x, '');
    ch.publish(x, queue, Buffer.from('by-shortcut'));
    await sync(ch);
    const msg = await ch.get('', { noAck: true });
    expect(msg && msg.content.toString()).toBe('by-shortcut');
  });

  it('an empty queue name with no queue declared before on the channel: 404 no previously declared queue', async () => {
    const { ch, other } = await m.twoChannels();
    await expectChannelClosed(ch, () => ch.get(''), { code: 404, text: 'NOT_FOUND - no previously declared queue', classId: 60, methodId: 70 });
    await expectChannelAlive(other);
  });

  it('refuses a name with the reserved amq. prefix: 403 ACCESS_REFUSED', async () => {
    const name = `amq.${m.queue()}`;
    const { ch, other } = await m.twoChannels();
    await expectChannelClosed(ch, () => ch.assertQueue(name, { durable: false }), {
      code: 403,
      text: `ACCESS_REFUSED - queue name '${name}' contains reserved prefix 'amq.*'`,
      classId: 50,
      methodId: 10,
    });
    await expectChannelAlive(other);
  });

  it('passive returns the counts of an existing queue', async () => {
    const ch = await fx.channel();
    const q = m.queue();
    await ch.assertQueue(q, { durable: false });
    await publish(ch, q, 2);
    expect(await ch.checkQueue(q)).toEqual({ queue: q, messageCount: 2, consumerCount: 0 });
  });

  it('passive ignores the flags and arguments given', async () => {
    const ch = await fx.channel();
    const q = m.queue();
    await ch.assertQueue(q, { durable: false });
    const raw = await m.raw();
    await raw.openChannel(1);
    raw.sendEncoded((w) => M.encodeQueueDeclare(w, 1, { queue: q, passive: true, durable: true, autoDelete: true }));
    const ok = await raw.method('queue.declare-ok', 1);
    expect(ok).toMatchObject({ queue: q, messageCount: 0, consumerCount: 0 });
  });

  it('passive on a missing queue: 404 NOT_FOUND closes the channel, others carry on', async () => {
    const q = m.queue('missing');
    const { conn, ch, other } = await m.twoChannels();
    await expectChannelClosed(ch, () => ch.checkQueue(q), notFound(q, 50, 10));
    await expectChannelAlive(other);
    await expectConnectionAlive(conn);
  });

  it('with nowait sends no declare-ok, and the queue exists', async () => {
    const q = m.queue();
    const raw = await m.raw();
    await raw.openChannel(1);
    raw.sendEncoded((w) => M.encodeQueueDeclare(w, 1, { queue: q, nowait: true }));
    raw.sendEncoded((w) => M.encodeQueueDeclare(w, 1, { queue: q, passive: true }));
    expect(await raw.method('queue.declare-ok', 1)).toMatchObject({ queue: q });
    expect(raw.frames.filter((f) => f.type === 'method' && f.name === 'queue.declare-ok')).toHaveLength(1);
  });
});

describe('re-declaring a queue', () => {
  it('with the same flags and arguments returns the current counts', async () => {
    const ch = await fx.channel();
    const q = m.queue();
    await ch.assertQueue(q, { durable: true, arguments: { 'x-message-ttl': 60000 } });
    await publish(ch, q, 1);
    expect(await ch.assertQueue(q, { durable: true, arguments: { 'x-message-ttl': 60000 } })).toEqual({ queue: q, messageCount: 1, consumerCount: 0 });
  });

  it.each([
    ['durable', { durable: true }, { durable: false }, "received 'false' but current is 'true'"],
    ['durable', { durable: false }, { durable: true }, "received 'true' but current is 'false'"],
    ['auto_delete', { durable: false, autoDelete: true }, { durable: false, autoDelete: false }, "received 'false' but current is 'true'"],
  ] as const)('with a different %s flag: 406 inequivalent arg', async (arg, first, second, detail) => {
    const ch0 = await fx.channel();
    const q = m.queue();
    await ch0.assertQueue(q, first);
    // keep auto-delete queues alive: they are deleted when their last consumer goes, and have none yet
    const { ch, other } = await m.twoChannels();
    await expectChannelClosed(ch, () => ch.assertQueue(q, second), {
      code: 406,
      text: `PRECONDITION_FAILED - inequivalent arg '${arg}' for queue '${q}' in vhost '/': ${detail}`,
      classId: 50,
      methodId: 10,
    });
    await expectChannelAlive(other);
  });

  it('with a different value of a queue argument: 406 inequivalent arg', async () => {
    const ch0 = await fx.channel();
    const q = m.queue();
    await ch0.assertQueue(q, { durable: false, arguments: { 'x-message-ttl': 1000 } });
    const ch = await fx.channel();
    await expectChannelClosed(ch, () => ch.assertQueue(q, { durable: false, arguments: { 'x-message-ttl': 2000 } }), {
      code: 406,
      text: `PRECONDITION_FAILED - inequivalent arg 'x-message-ttl' for queue '${q}' in vhost '/': received '2000' but current is '1000'`,
      classId: 50,
      methodId: 10,
    });
  });

  it('without a queue argument it was declared with: 406 naming the current value and its type', async () => {
    const ch0 = await fx.channel();
    const q = m.queue();
    await ch0.assertQueue(q, { durable: false, arguments: { 'x-max-length': 1, 'x-expires': 100000 } });
    const ch = await fx.channel();
    await expectChannelClosed(ch, () => ch.assertQueue(q, { durable: false, arguments: { 'x-expires': 100000 } }), {
      code: 406,
      text: `PRECONDITION_FAILED - inequivalent arg 'x-max-length' for queue '${q}' in vhost '/': received none but current is the value '1' of type 'byte'`,
      classId: 50,
      methodId: 10,
    });
    const ch2 = await fx.channel();
    await expectChannelClosed(ch2, () => ch2.assertQueue(q, { durable: false, arguments: { 'x-max-length': 1 } }), {
      code: 406,
      text: `PRECONDITION_FAILED - inequivalent arg 'x-expires' for queue '${q}' in vhost '/': received none but current is the value '100000' of type 'signedint'`,
      classId: 50,
      methodId: 10,
    });
  });

  it('with a queue argument it was declared without: 406 naming the received value and its type', async () => {
    const ch0 = await fx.channel();
    const q = m.queue();
    await ch0.assertQueue(q, { durable: false });
    const ch = await fx.channel();
    await expectChannelClosed(ch, () => ch.assertQueue(q, { durable: false, arguments: { 'x-dead-letter-exchange': 'dlx' } }), {
      code: 406,
      text: `PRECONDITION_FAILED - inequivalent arg 'x-dead-letter-exchange' for queue '${q}' in vhost '/': received the value 'dlx' of type 'longstr' but current is none`,
      classId: 50,
      methodId: 10,
    });
  });

  it('compares integer arguments by value whatever their integer type', async () => {
    const ch = await fx.channel();
    const q = m.queue();
    await ch.assertQueue(q, { durable: false, arguments: { 'x-max-length': 10 } });
    await ch.assertQueue(q, { durable: false, arguments: { 'x-max-length': { '!': 'long', value: 10 } } });
    await expect(ch.assertQueue(q, { durable: false, arguments: { 'x-max-length': { '!': 'int', value: 10 } } })).resolves.toMatchObject({ queue: q });
  });

  it('ignores differences in arguments RabbitMQ does not know (they are not compared)', async () => {
    const ch = await fx.channel();
    const q = m.queue();
    await ch.assertQueue(q, { durable: false, arguments: { 'x-custom': 'a' } });
    await ch.assertQueue(q, { durable: false, arguments: { 'x-custom': 'b' } });
    await expect(ch.assertQueue(q, { durable: false })).resolves.toMatchObject({ queue: q });
  });

  it("treats x-queue-type 'classic' as the same as no type", async () => {
    const ch = await fx.channel();
    const q = m.queue();
    await ch.assertQueue(q, { durable: true });
    await expect(ch.assertQueue(q, { durable: true, arguments: { 'x-queue-type': 'classic' } })).resolves.toMatchObject({ queue: q });
  });

  it('compares the durable flag before auto-delete and the arguments', async () => {
    const ch0 = await fx.channel();
    const q = m.queue();
    await ch0.assertQueue(q, { durable: true, autoDelete: false, arguments: { 'x-max-length': 5 } });
    const ch = await fx.channel();
    await expectChannelClosed(ch, () => ch.assertQueue(q, { durable: false, autoDelete: true, arguments: { 'x-max-length': 6 } }), {
      code: 406,
      text: `PRECONDITION_FAILED - inequivalent arg 'durable' for queue '${q}' in vhost '/': received 'false' but current is 'true'`,
      classId: 50,
      methodId: 10,
    });
  });
});

describe('queue argument validation (on creation)', () => {
  const cases: [arg: string, value: unknown, detail: string][] = [
    ['x-expires', 0, '{value_zero,0}'],
    ['x-expires', -1, '{value_negative,-1}'],
    ['x-expires', 'soon', '"expected integer, got longstr"'],
    ['x-expires', 315_360_000_001, '{value_too_large,315360000001}'],
    ['x-message-ttl', -1, '{value_negative,-1}'],
    ['x-message-ttl', 'never', '"expected integer, got longstr"'],
    ['x-message-ttl', 1.5, '"expected integer, got double"'],
    ['x-max-length', -1, '{value_negative,-1}'],
    ['x-max-length-bytes', -5, '{value_negative,-5}'],
    ['x-max-priority', 256, '{max_value_exceeded,256}'],
    ['x-max-priority', -1, '{value_negative,-1}'],
    ['x-overflow', 'drop-tail', 'invalid_overflow'],
    ['x-overflow', 1, '{unacceptable_type,byte}'],
    ['x-dead-letter-routing-key', 'rk', 'routing_key_but_no_dlx_defined'],
    ['x-single-active-consumer', 'yes', '{unacceptable_type,longstr}'],
    ['x-queue-mode', 'eager', `"unsupported queue mode 'eager'"`],
    ['x-queue-version', 3, `"unsupported queue version '3'"`],
    ['x-queue-type', 'fancy', `"unsupported queue type 'fancy'"`],
  ];

  it.each(cases)('%s = %j: 406 PRECONDITION_FAILED invalid arg', async (arg, value, detail) => {
    const q = m.queue();
    const { ch, other } = await m.twoChannels();
    await expectChannelClosed(ch, () => ch.assertQueue(q, { durable: false, arguments: { [arg]: value } }), {
      code: 406,
      text: `PRECONDITION_FAILED - invalid arg '${arg}' for queue '${q}' in vhost '/': ${detail}`,
      classId: 50,
      methodId: 10,
    });
    await expectChannelAlive(other);
    await expectGone(q);
  });

  it('x-dead-letter-exchange that is not a string: 406 invalid type', async () => {
    const q = m.queue();
    const ch = await fx.channel();
    await expectChannelClosed(ch, () => ch.assertQueue(q, { durable: false, arguments: { 'x-dead-letter-exchange': 1 } }), {
      code: 406,
      text: `PRECONDITION_FAILED - invalid type 'byte' for arg 'x-dead-letter-exchange' in queue '${q}' in vhost '/'`,
      classId: 50,
      methodId: 10,
    });
  });

  it.each(['x-delivery-limit', 'x-max-in-memory-length', 'x-max-age'])('%s, an argument of other queue types: 406 invalid arg for a classic queue', async (arg) => {
    const q = m.queue();
    const ch = await fx.channel();
    await expectChannelClosed(ch, () => ch.assertQueue(q, { durable: true, arguments: { [arg]: arg === 'x-max-age' ? '1D' : 5 } }), {
      code: 406,
      text: `PRECONDITION_FAILED - invalid arg '${arg}' for queue '${q}' in vhost '/' of queue type rabbit_classic_queue`,
      classId: 50,
      methodId: 10,
    });
  });

  it('accepts valid values at the edges of their ranges, and unknown arguments', async () => {
    const ch = await fx.channel();
    const q = m.queue();
    const declared = ch.assertQueue(q, {
      durable: false,
      arguments: {
        'x-expires': 315_360_000_000,
        'x-message-ttl': 0,
        'x-max-length': 0,
        'x-max-length-bytes': 0,
        'x-max-priority': 255,
        'x-overflow': 'reject-publish-dlx',
        'x-dead-letter-exchange': '',
        'x-dead-letter-routing-key': 'rk',
        'x-single-active-consumer': false,
        'x-queue-mode': 'lazy',
        'x-queue-version': 2,
        'x-queue-type': 'classic',
        'x-anything-else': 'ignored',
      },
    });
    await expect(declared).resolves.toMatchObject({ queue: q, messageCount: 0 });
  });
});

describe('exclusive queues', () => {
  async function exclusiveElsewhere() {
    const owner = await fx.connect();
    const ownerCh = await openChannel(owner);
    const q = m.queue();
    await ownerCh.assertQueue(q, { exclusive: true });
    return { owner, ownerCh, q };
  }

  it.each([
    ['queue.declare', 50, 10, (ch: Channel, q: string) => ch.assertQueue(q, { exclusive: true })],
    ['queue.declare (non-exclusive)', 50, 10, (ch: Channel, q: string) => ch.assertQueue(q, { durable: false })],
    ['queue.declare passive', 50, 10, (ch: Channel, q: string) => ch.checkQueue(q)],
    ['basic.consume', 60, 20, (ch: Channel, q: string) => ch.consume(q, () => {})],
    ['basic.get', 60, 70, (ch: Channel, q: string) => ch.get(q)],
    ['queue.purge', 50, 30, (ch: Channel, q: string) => ch.purgeQueue(q)],
    ['queue.delete', 50, 40, (ch: Channel, q: string) => ch.deleteQueue(q)],
    ['queue.bind', 50, 20, (ch: Channel, q: string) => ch.bindQueue(q, 'amq.direct', q)],
  ] as const)('refuse %s from another connection: 405 RESOURCE_LOCKED', async (_name, classId, methodId, op) => {
    const { ownerCh, q } = await exclusiveElsewhere();
    const { ch, other } = await m.twoChannels();
    await expectChannelClosed(ch, () => op(ch, q), locked(q, classId, methodId));
    await expectChannelAlive(other);
    await ownerCh.checkQueue(q);
  });

  it('accept messages published from other connections', async () => {
    const { ownerCh, q } = await exclusiveElsewhere();
    const ch = await fx.channel();
    ch.sendToQueue(q, Buffer.from('from-elsewhere'));
    await sync(ch);
    const msg = await ownerCh.get(q, { noAck: true });
    expect(msg && msg.content.toString()).toBe('from-elsewhere');
  });

  it('belong to the connection, not the channel: they survive the declaring channel closing', async () => {
    const { owner, ownerCh, q } = await exclusiveElsewhere();
    await ownerCh.close();
    const ch2 = await openChannel(owner);
    expect(await ch2.checkQueue(q)).toMatchObject({ queue: q });
  });

  it('are deleted when the owning connection closes', async () => {
    const { owner, q } = await exclusiveElsewhere();
    await owner.close();
    await expectEventuallyGone(q);
  });

  it('are deleted when the owning connection drops without closing', async () => {
    const raw = await m.raw();
    await raw.openChannel(1);
    const q = m.queue();
    raw.sendEncoded((w) => M.encodeQueueDeclare(w, 1, { queue: q, exclusive: true }));
    await raw.method('queue.declare-ok', 1);
    const ch = await fx.channel();
    await expectChannelClosed(ch, () => ch.checkQueue(q), locked(q, 50, 10));
    raw.destroy();
    await expectEventuallyGone(q);
  });

  it('are never durable: re-declaring with either durable flag is equivalent', async () => {
    const conn = await fx.connect();
    const ch = await openChannel(conn);
    const q1 = m.queue();
    const q2 = m.queue();
    await ch.assertQueue(q1, { exclusive: true, durable: true });
    await ch.assertQueue(q1, { exclusive: true, durable: false });
    await ch.assertQueue(q2, { exclusive: true, durable: false });
    await expect(ch.assertQueue(q2, { exclusive: true, durable: true })).resolves.toMatchObject({ queue: q2 });
  });

  it('cannot be re-declared as non-exclusive by their owner: 405 RESOURCE_LOCKED', async () => {
    const { owner, q } = await exclusiveElsewhere();
    const ch = await openChannel(owner);
    await expectChannelClosed(ch, () => ch.assertQueue(q, { exclusive: false, durable: false }), locked(q, 50, 10));
  });

  it('a non-exclusive queue cannot be re-declared as exclusive: 405 RESOURCE_LOCKED', async () => {
    const ch0 = await fx.channel();
    const q = m.queue();
    await ch0.assertQueue(q, { durable: false });
    const ch = await fx.channel();
    await expectChannelClosed(ch, () => ch.assertQueue(q, { exclusive: true, durable: false }), locked(q, 50, 10));
  });
});

describe('auto-delete queues', () => {
  it('are not deleted before their first consumer', async () => {
    const ch = await fx.channel();
    const q = m.queue();
    await ch.assertQueue(q, { durable: false, autoDelete: true });
    await publish(ch, q, 1);
    await ch.get(q, { noAck: true });
    expect(await ch.checkQueue(q)).toMatchObject({ queue: q });
  });

  it('are deleted when their last consumer is cancelled, not before', async () => {
    const ch = await fx.channel();
    const q = m.queue();
    await ch.assertQueue(q, { durable: false, autoDelete: true });
    const a = await ch.consume(q, () => {});
    const b = await ch.consume(q, () => {});
    await ch.cancel(a.consumerTag);
    expect(await ch.checkQueue(q)).toEqual({ queue: q, messageCount: 0, consumerCount: 1 });
    await ch.cancel(b.consumerTag);
    await expectEventuallyGone(q);
  });

  it('are deleted when the channel of their last consumer closes', async () => {
    const ch0 = await fx.channel();
    const q = m.queue();
    await ch0.assertQueue(q, { durable: false, autoDelete: true });
    const ch = await fx.channel();
    await ch.consume(q, () => {});
    await ch.close();
    await expectEventuallyGone(q);
  });
});

describe('queue.purge', () => {
  it('removes the ready messages; purge-ok carries how many', async () => {
    const ch = await fx.channel();
    const q = m.queue();
    await ch.assertQueue(q, { durable: false });
    await publish(ch, q, 3);
    expect(await ch.purgeQueue(q)).toEqual({ messageCount: 3 });
    expect(await ch.checkQueue(q)).toMatchObject({ messageCount: 0 });
    expect(await ch.purgeQueue(q)).toEqual({ messageCount: 0 });
  });

  it('leaves unacknowledged messages, which come back when requeued', async () => {
    const ch = await fx.channel();
    const q = m.queue();
    await ch.assertQueue(q, { durable: false });
    await publish(ch, q, 3);
    const held = await ch.get(q, { noAck: false });
    expect(held && held.content.toString()).toBe('m1');
    expect(await ch.purgeQueue(q)).toEqual({ messageCount: 2 });
    if (held === false) throw new Error('no message');
    ch.nack(held, false, true);
    await sync(ch);
    expect(await ch.checkQueue(q)).toMatchObject({ messageCount: 1 });
    const again = await ch.get(q, { noAck: true });
    expect(again && [again.content.toString(), again.fields.redelivered]).toEqual(['m1', true]);
  });

  it('of a missing queue: 404 NOT_FOUND', async () => {
    const q = m.queue('missing');
    const ch = await fx.channel();
    await expectChannelClosed(ch, () => ch.purgeQueue(q), notFound(q, 50, 30));
  });
});

describe('queue.delete', () => {
  it('deletes the queue; delete-ok carries the number of ready messages it held', async () => {
    const ch = await fx.channel();
    const q = m.queue();
    await ch.assertQueue(q, { durable: false });
    await publish(ch, q, 4);
    const held = await ch.get(q, { noAck: false });
    expect(held).not.toBe(false);
    expect(await ch.deleteQueue(q)).toEqual({ messageCount: 3 });
    await expectGone(q);
  });

  it('of a missing queue succeeds with a count of zero', async () => {
    const ch = await fx.channel();
    expect(await ch.deleteQueue(m.queue('missing'))).toEqual({ messageCount: 0 });
    await expectChannelAlive(ch);
  });

  it('with if-unused refuses a queue that has consumers: 406, and the queue survives', async () => {
    const ch0 = await fx.channel();
    const q = m.queue();
    await ch0.assertQueue(q, { durable: false });
    await ch0.consume(q, () => {});
    const { ch, other } = await m.twoChannels();
    await expectChannelClosed(ch, () => ch.deleteQueue(q, { ifUnused: true }), {
      code: 406,
      text: `PRECONDITION_FAILED - queue '${q}' in vhost '/' in use`,
      classId: 50,
      methodId: 40,
    });
    await expectChannelAlive(other);
    expect(await ch0.checkQueue(q)).toMatchObject({ consumerCount: 1 });
  });

  it('with if-unused deletes a queue without consumers, even with messages', async () => {
    const ch = await fx.channel();
    const q = m.queue();
    await ch.assertQueue(q, { durable: false });
    await publish(ch, q, 2);
    expect(await ch.deleteQueue(q, { ifUnused: true })).toEqual({ messageCount: 2 });
    await expectGone(q);
  });

  it('with if-empty refuses a queue that has messages: 406, and the queue survives', async () => {
    const ch0 = await fx.channel();
    const q = m.queue();
    await ch0.assertQueue(q, { durable: false });
    await publish(ch0, q, 1);
    const ch = await fx.channel();
    await expectChannelClosed(ch, () => ch.deleteQueue(q, { ifEmpty: true }), {
      code: 406,
      text: `PRECONDITION_FAILED - queue '${q}' in vhost '/' not empty`,
      classId: 50,
      methodId: 40,
    });
    expect(await ch0.checkQueue(q)).toMatchObject({ messageCount: 1 });
  });

  it('with if-empty deletes a queue with consumers but no messages', async () => {
    const ch = await fx.channel();
    const q = m.queue();
    await ch.assertQueue(q, { durable: false });
    await ch.consume(q, () => {});
    expect(await ch.deleteQueue(q, { ifEmpty: true })).toEqual({ messageCount: 0 });
    await expectGone(q);
  });

  it('checks if-empty before if-unused', async () => {
    const ch0 = await fx.channel();
    const q = m.queue();
    await ch0.assertQueue(q, { durable: false });
    await publish(ch0, q, 2);
    await ch0.prefetch(1);
    await ch0.consume(q, () => {}, { noAck: false });
    // one message held by the consumer, one ready: the queue is both in use and not empty
    const ch = await fx.channel();
    await expectChannelClosed(ch, () => ch.deleteQueue(q, { ifUnused: true, ifEmpty: true }), {
      code: 406,
      text: `PRECONDITION_FAILED - queue '${q}' in vhost '/' not empty`,
      classId: 50,
      methodId: 40,
    });
  });
});
