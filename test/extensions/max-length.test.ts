/**
 * Queue length limits (RabbitMQ docs page "maxlength"; rabbit_amqqueue_process.erl of 3.10.8):
 * x-max-length counts ready messages, x-max-length-bytes the sum of their body sizes (unacknowledged
 * messages count for neither). x-overflow says what happens at the limit: drop-head (the default)
 * drops, and dead-letters with reason maxlen, the oldest messages; reject-publish refuses the new one
 * (a nack with confirms, nothing without); reject-publish-dlx refuses and dead-letters it. Requeued
 * messages count again. Every test passes against RabbitMQ 3.10.8 first.
 */
import type { Channel } from 'amqplib';
import { describe, expect, it } from 'vitest';
import { sleep, withBroker } from '../helpers/broker.js';
import { collect, expectChannelAlive, roundTrip, expectChannelClosed, withModel } from '../helpers/model.js';
import { count, deaths, expectCount, getOne, publishConfirmed, send, takeAll, text } from '../helpers/queues.js';

const fx = withBroker();
const m = withModel(fx);

async function queue(ch: Channel, args: Record<string, unknown>): Promise<string> {
  const q = m.queue('limited');
  await ch.assertQueue(q, { durable: false, arguments: args });
  return q;
}

/** Every ready message's body, in order (noAck). */
async function contents(ch: Channel, q: string): Promise<string[]> {
  return text(await takeAll(ch, q, await count(ch, q)));
}

/** A queue collecting dead letters through the default exchange. */
async function deadLetterQueue(ch: Channel): Promise<{ args: Record<string, unknown>; dlq: string }> {
  const dlq = m.queue('dlq');
  await ch.assertQueue(dlq, { durable: false });
  return { args: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dlq }, dlq };
}

describe('x-max-length with drop-head (the default)', () => {
  it('keeps the newest messages: the oldest are dropped', async () => {
    const ch = await fx.channel();
    const q = await queue(ch, { 'x-max-length': 3 });
    await send(ch, q, ['a', 'b', 'c', 'd', 'e']);
    expect(await count(ch, q)).toBe(3);
    expect(await contents(ch, q)).toEqual(['c', 'd', 'e']);
  });

  it('an explicit x-overflow drop-head behaves the same', async () => {
    const ch = await fx.channel();
    const q = await queue(ch, { 'x-max-length': 1, 'x-overflow': 'drop-head' });
    await send(ch, q, ['a', 'b']);
    expect(await contents(ch, q)).toEqual(['b']);
  });

  it('the dropped messages are dead-lettered with reason maxlen when a DLX is set', async () => {
    const ch = await fx.channel();
    const { args, dlq } = await deadLetterQueue(ch);
    const q = await queue(ch, { 'x-max-length': 1, ...args });
    await send(ch, q, ['a', 'b', 'c']);
    const dead = await takeAll(ch, dlq, 2);
    expect(text(dead)).toEqual(['a', 'b']);
    expect(dead.map((d) => deaths(d)[0])).toEqual([
      expect.objectContaining({ reason: 'maxlen', queue: q, count: 1 }),
      expect.objectContaining({ reason: 'maxlen', queue: q, count: 1 }),
    ]);
    expect(await contents(ch, q)).toEqual(['c']);
  });

  it('x-max-length 0 keeps nothing, but a consumer that can take a message at once gets it', async () => {
    const ch = await fx.channel();
    const q = await queue(ch, { 'x-max-length': 0 });
    await send(ch, q, ['dropped']);
    expect(await count(ch, q)).toBe(0);
    const c = await collect(ch, q, { noAck: true });
    await send(ch, q, ['delivered']);
    expect(text(await c.atLeast(1))).toEqual(['delivered']);
  });

  it('unacknowledged messages do not count', async () => {
    const ch = await fx.channel();
    const q = await queue(ch, { 'x-max-length': 2 });
    await send(ch, q, ['m1', 'm2']);
    const held = [await getOne(ch, q), await getOne(ch, q)];
    await send(ch, q, ['m3', 'm4']);
    expect(await count(ch, q)).toBe(2);
    for (const h of held) ch.ack(h);
    expect(await contents(ch, q)).toEqual(['m3', 'm4']);
  });

  it('requeued messages count again: the queue drops from the head down to the limit', async () => {
    const ch = await fx.channel();
    const q = await queue(ch, { 'x-max-length': 2 });
    await send(ch, q, ['m1', 'm2']);
    await getOne(ch, q);
    const second = await getOne(ch, q);
    await send(ch, q, ['m3', 'm4']);
    ch.nack(second, true, true); // m1 and m2 back in place, in front: four ready, two dropped
    await expectCount(ch, q, 2);
    const rest = await takeAll(ch, q, 2);
    expect(text(rest)).toEqual(['m3', 'm4']);
    expect(rest.map((r) => r.fields.redelivered)).toEqual([false, false]);
  });

  it('requeued messages go to a waiting consumer first; those left over the limit are then dropped from the head', async () => {
    const ch = await fx.channel();
    const q = await queue(ch, { 'x-max-length': 1 });
    let last: Awaited<ReturnType<typeof getOne>> | undefined;
    for (const body of ['m1', 'm2', 'm3']) {
      await send(ch, q, [body]);
      last = await getOne(ch, q);
    }
    const consumerCh = await fx.channel();
    await consumerCh.prefetch(1);
    const c = await collect(consumerCh, q);
    ch.nack(last!, true, true); // m1, m2, m3 back: m1 to the consumer, then m2 dropped
    await c.atLeast(1);
    await expectCount(ch, q, 1);
    expect(await contents(ch, q)).toEqual(['m3']);
    expect(text(c.messages)).toEqual(['m1']);
    expect(c.messages[0]!.fields.redelivered).toBe(true);
  });

  it('a drop that exposes an expired message at the head removes that one too', async () => {
    const ch = await fx.channel();
    const q = await queue(ch, { 'x-max-length': 2 });
    await send(ch, q, ['a']);
    await send(ch, q, ['b'], { expiration: '10' });
    await sleep(60);
    expect(await count(ch, q)).toBe(2); // b expired, but is not at the head
    await send(ch, q, ['c']); // drops a; b is now the head and has expired
    expect(await count(ch, q)).toBe(1);
    expect(await contents(ch, q)).toEqual(['c']);
  });
});

describe('x-max-length-bytes', () => {
  it('counts body bytes only: properties and headers do not count', async () => {
    const ch = await fx.channel();
    const q = await queue(ch, { 'x-max-length-bytes': 10 });
    const bulky = { headers: { padding: 'p'.repeat(500) }, messageId: 'x'.repeat(100) };
    await send(ch, q, ['12345', '67890'], bulky);
    expect(await count(ch, q)).toBe(2);
    await send(ch, q, ['x']);
    expect(await contents(ch, q)).toEqual(['67890', 'x']);
  });

  it('a message larger than the limit by itself is dropped at once (drop-head)', async () => {
    const ch = await fx.channel();
    const q = await queue(ch, { 'x-max-length-bytes': 4 });
    await send(ch, q, ['1234', '12345']);
    expect(await count(ch, q)).toBe(0);
  });

  it('empty bodies take no bytes', async () => {
    const ch = await fx.channel();
    const q = await queue(ch, { 'x-max-length-bytes': 0 });
    await send(ch, q, ['', '', '']);
    expect(await count(ch, q)).toBe(3);
    await send(ch, q, ['x']);
    expect(await count(ch, q)).toBe(0);
  });

  it('with x-max-length too, whichever limit is reached first applies', async () => {
    const ch = await fx.channel();
    const q = await queue(ch, { 'x-max-length': 3, 'x-max-length-bytes': 6 });
    await send(ch, q, ['aa', 'bb', 'cc']);
    expect(await count(ch, q)).toBe(3);
    await send(ch, q, ['dddd']); // 10 bytes: aa and bb go
    expect(await count(ch, q)).toBe(2);
    await send(ch, q, ['e', 'f']); // 4 messages: cc goes
    expect(await contents(ch, q)).toEqual(['dddd', 'e', 'f']);
  });

  it('the byte count follows deliveries and requeues exactly', async () => {
    const ch = await fx.channel();
    const q = await queue(ch, { 'x-max-length-bytes': 10 });
    await send(ch, q, ['aaaa', 'bbbb']);
    const a = await getOne(ch, q); // 4 bytes ready
    await send(ch, q, ['cccccc']); // 10 bytes ready: nothing dropped
    expect(await count(ch, q)).toBe(2);
    ch.nack(a, false, true); // 14 bytes: aaaa, back at the head, is dropped
    await expectCount(ch, q, 2);
    expect(await contents(ch, q)).toEqual(['bbbb', 'cccccc']);
  });
});

describe('x-overflow reject-publish', () => {
  it('with confirms: the publish that would overflow is nacked, the queue keeps what it has', async () => {
    const ch = await fx.channel();
    const q = await queue(ch, { 'x-max-length': 2, 'x-overflow': 'reject-publish' });
    const cch = await fx.confirmChannel();
    const outcomes = [];
    for (const body of ['m1', 'm2', 'm3', 'm4']) outcomes.push(await publishConfirmed(cch, '', q, body));
    expect(outcomes).toEqual(['ack', 'ack', 'nack', 'nack']);
    await expectChannelAlive(cch);
    expect(await contents(ch, q)).toEqual(['m1', 'm2']);
  });

  it('without confirms: the message is dropped silently and the channel stays open', async () => {
    const ch = await fx.channel();
    const q = await queue(ch, { 'x-max-length': 1, 'x-overflow': 'reject-publish' });
    await send(ch, q, ['kept', 'dropped', 'dropped too']);
    await expectChannelAlive(ch);
    expect(await contents(ch, q)).toEqual(['kept']);
  });

  it('room made by consuming is used again', async () => {
    const ch = await fx.channel();
    const q = await queue(ch, { 'x-max-length': 1, 'x-overflow': 'reject-publish' });
    const cch = await fx.confirmChannel();
    expect(await publishConfirmed(cch, '', q, 'm1')).toBe('ack');
    expect(await publishConfirmed(cch, '', q, 'm2')).toBe('nack');
    ch.ack(await getOne(ch, q));
    expect(await publishConfirmed(cch, '', q, 'm3')).toBe('ack');
    expect(await contents(ch, q)).toEqual(['m3']);
  });

  it('room made by purge and by expiry is used again', async () => {
    const ch = await fx.channel();
    const q = await queue(ch, { 'x-max-length-bytes': 10, 'x-overflow': 'reject-publish' });
    const cch = await fx.confirmChannel();
    expect(await publishConfirmed(cch, '', q, '0123456789')).toBe('ack');
    expect(await publishConfirmed(cch, '', q, 'x')).toBe('nack');
    await ch.purgeQueue(q);
    expect(await publishConfirmed(cch, '', q, 'short', { expiration: '20' })).toBe('ack');
    expect(await publishConfirmed(cch, '', q, '123456')).toBe('nack'); // 5 + 6 bytes
    await expectCount(ch, q, 0);
    expect(await publishConfirmed(cch, '', q, '0123456789')).toBe('ack');
  });

  it('an unacknowledged message does not count; requeued over the limit, nothing is dropped, new ones are refused', async () => {
    const ch = await fx.channel();
    const q = await queue(ch, { 'x-max-length': 1, 'x-overflow': 'reject-publish' });
    const cch = await fx.confirmChannel();
    expect(await publishConfirmed(cch, '', q, 'm1')).toBe('ack');
    const m1 = await getOne(ch, q);
    expect(await publishConfirmed(cch, '', q, 'm2')).toBe('ack');
    ch.nack(m1, false, true);
    await expectCount(ch, q, 2);
    expect(await publishConfirmed(cch, '', q, 'm3')).toBe('nack');
    expect(await contents(ch, q)).toEqual(['m1', 'm2']);
  });

  it('x-max-length-bytes: a message that does not fit is refused, a smaller one that fits is taken', async () => {
    const ch = await fx.channel();
    const q = await queue(ch, { 'x-max-length-bytes': 5, 'x-overflow': 'reject-publish' });
    const cch = await fx.confirmChannel();
    const outcomes = [];
    for (const body of ['123', '456', '45', '']) outcomes.push(await publishConfirmed(cch, '', q, body));
    expect(outcomes).toEqual(['ack', 'nack', 'ack', 'ack']);
    expect(await contents(ch, q)).toEqual(['123', '45', '']);
  });

  it('x-max-length 0 refuses every message, even with a consumer waiting (the limit is checked first)', async () => {
    const ch = await fx.channel();
    const q = await queue(ch, { 'x-max-length': 0, 'x-overflow': 'reject-publish' });
    const c = await collect(ch, q, { noAck: true });
    const cch = await fx.confirmChannel();
    expect(await publishConfirmed(cch, '', q, 'm')).toBe('nack');
    await roundTrip(ch, q); // the consumer's connection: a delivery would have come first
    expect(c.messages).toEqual([]);
  });

  it('a message routed to two queues, one of them full, is nacked; the other queue still has it', async () => {
    const ch = await fx.channel();
    const x = m.exchange('fan');
    await ch.assertExchange(x, 'fanout', { durable: false });
    const full = await queue(ch, { 'x-max-length': 0, 'x-overflow': 'reject-publish' });
    const open = await queue(ch, {});
    await ch.bindQueue(full, x, '');
    await ch.bindQueue(open, x, '');
    const cch = await fx.confirmChannel();
    expect(await publishConfirmed(cch, x, '', 'both')).toBe('nack');
    expect(await contents(ch, open)).toEqual(['both']);
  });
});

describe('x-overflow reject-publish-dlx', () => {
  it('refuses the message (nack) and dead-letters it with reason maxlen; the queue keeps its own', async () => {
    const ch = await fx.channel();
    const { args, dlq } = await deadLetterQueue(ch);
    const q = await queue(ch, { 'x-max-length': 1, 'x-overflow': 'reject-publish-dlx', ...args });
    const cch = await fx.confirmChannel();
    expect(await publishConfirmed(cch, '', q, 'kept')).toBe('ack');
    expect(await publishConfirmed(cch, '', q, 'refused', { expiration: '60000' })).toBe('nack');
    const [dead] = await takeAll(ch, dlq, 1);
    expect(dead!.content.toString()).toBe('refused');
    expect(dead!.properties.expiration).toBeUndefined();
    expect(deaths(dead!)).toEqual([
      expect.objectContaining({ count: 1, reason: 'maxlen', queue: q, exchange: '', 'routing-keys': [q], 'original-expiration': '60000' }),
    ]);
    expect(await contents(ch, q)).toEqual(['kept']);
  });

  it('with x-max-length-bytes: only the messages that do not fit are dead-lettered', async () => {
    const ch = await fx.channel();
    const { args, dlq } = await deadLetterQueue(ch);
    const q = await queue(ch, { 'x-max-length-bytes': 4, 'x-overflow': 'reject-publish-dlx', ...args });
    await send(ch, q, ['ab', 'cde', 'cd', 'f']);
    expect(text(await takeAll(ch, dlq, 2))).toEqual(['cde', 'f']);
    expect(await contents(ch, q)).toEqual(['ab', 'cd']);
  });

  it('without a dead-letter exchange it behaves like reject-publish', async () => {
    const ch = await fx.channel();
    const q = await queue(ch, { 'x-max-length': 1, 'x-overflow': 'reject-publish-dlx' });
    const cch = await fx.confirmChannel();
    expect(await publishConfirmed(cch, '', q, 'kept')).toBe('ack');
    expect(await publishConfirmed(cch, '', q, 'refused')).toBe('nack');
    expect(await contents(ch, q)).toEqual(['kept']);
  });
});

describe('invalid length-limit arguments', () => {
  const cases: [string, unknown, string][] = [
    ['x-max-length', -1, '{value_negative,-1}'],
    ['x-max-length', '10', '"expected integer, got longstr"'],
    ['x-max-length', 1.5, '"expected integer, got double"'],
    ['x-max-length-bytes', -1, '{value_negative,-1}'],
    ['x-max-length-bytes', false, '"expected integer, got bool"'],
    ['x-overflow', 'drop-tail', 'invalid_overflow'],
    ['x-overflow', 'Reject-Publish', 'invalid_overflow'],
    ['x-overflow', 1, '{unacceptable_type,byte}'],
    ['x-overflow', 100_000, '{unacceptable_type,signedint}'],
  ];
  for (const [arg, value, reason] of cases) {
    it(`${arg} ${JSON.stringify(value)}: 406 ${reason}`, async () => {
      const ch = await fx.channel();
      const q = m.queue('bad');
      await expectChannelClosed(ch, () => ch.assertQueue(q, { durable: false, arguments: { [arg]: value } }), {
        code: 406,
        text: `PRECONDITION_FAILED - invalid arg '${arg}' for queue '${q}' in vhost '/': ${reason}`,
        classId: 50,
        methodId: 10,
      });
    });
  }

  it('redeclaring with another limit is refused: inequivalent arg', async () => {
    const ch = await fx.channel();
    const q = await queue(ch, { 'x-max-length': 2 });
    await expectChannelClosed(ch, () => ch.assertQueue(q, { durable: false, arguments: { 'x-max-length': 3 } }), {
      code: 406,
      text: `PRECONDITION_FAILED - inequivalent arg 'x-max-length' for queue '${q}' in vhost '/': received '3' but current is '2'`,
      classId: 50,
      methodId: 10,
    });
  });

  it('redeclaring with an explicit x-overflow drop-head where none was given is refused too', async () => {
    const ch = await fx.channel();
    const q = await queue(ch, { 'x-max-length': 2 });
    await expectChannelClosed(ch, () => ch.assertQueue(q, { durable: false, arguments: { 'x-max-length': 2, 'x-overflow': 'drop-head' } }), {
      code: 406,
      text: `PRECONDITION_FAILED - inequivalent arg 'x-overflow' for queue '${q}' in vhost '/': received the value 'drop-head' of type 'longstr' but current is none`,
      classId: 50,
      methodId: 10,
    });
  });
});
