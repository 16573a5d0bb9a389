/**
 * The dead-letter history a consumer reads, per release:
 * - 3.10 (rabbit_dead_letter.erl of v3.10.8): x-death and x-first-death-*, the CC header removed when
 *   a dead-letter routing key replaces the routing keys;
 * - 3.13 (mc.erl, mc_amqpl.erl of v3.13.7): death records rendered on delivery, each table
 *   [original-expiration,] count, reason, queue, time, exchange, routing-keys; x-last-death-reason,
 *   -queue and -exchange beside the first-death headers; all headers in key order
 *   (mc_amqpl:protocol_state/2 usorts them, on every delivery); the CC header kept; a published x-death
 *   read back into records (headers_to_deaths/2), so republished messages keep counting;
 * - 4.x (v4.3.5): as 3.13, but a published x-death is not read (release notes 4.0.1, "AMQP 0.9.1
 *   x-death header"): a republished message's count starts again at 1.
 */
import type { Channel, ConsumeMessage } from 'amqplib';
import { describe, expect, it } from 'vitest';
import { withReleases, type Release } from '../helpers/versions.js';

const b = withReleases(['3.10', '3.13', '4.x']);
let n = 0;
const name = (what: string) => `${what}-${process.pid}-${++n}`;

/** A queue dead-lettering through the default exchange into `dlq`, and `dlq` itself. */
async function deadLetterPair(ch: Channel, args: Record<string, unknown> = {}): Promise<{ src: string; dlq: string }> {
  const src = name('src');
  const dlq = name('dlq');
  await ch.assertQueue(dlq, { exclusive: true });
  await ch.assertQueue(src, { exclusive: true, arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dlq, ...args } });
  return { src, dlq };
}

async function getOne(ch: Channel, q: string) {
  const m = await ch.get(q, { noAck: true });
  if (m === false) throw new Error(`${q} is empty`);
  return m;
}

/** Publishes to `src`, rejects it there: the dead-lettered message as `dlq` delivers it. */
async function rejectedOnce(release: Release, headers: Record<string, unknown> = {}, args: Record<string, unknown> = {}) {
  const ch = await b[release].channel();
  const { src, dlq } = await deadLetterPair(ch, args);
  ch.sendToQueue(src, Buffer.from('m'), { headers });
  const m = await ch.get(src, { noAck: false });
  if (m === false) throw new Error('nothing to reject');
  ch.reject(m, false);
  return { ch, src, dlq, dead: await getOne(ch, dlq) };
}

const CANONICAL_DEATH_KEYS = ['count', 'reason', 'queue', 'time', 'exchange', 'routing-keys'];

describe('the first death', () => {
  it('3.10: x-death and x-first-death-* only; 3.13 and 4.x: x-last-death-* too, headers in key order, tables in mc_amqpl\'s order', async () => {
    const three = await rejectedOnce('3.10');
    const h3 = three.dead.properties.headers!;
    expect(Object.keys(h3).filter((k) => k.startsWith('x-last-death'))).toEqual([]);
    expect(h3).toMatchObject({ 'x-first-death-reason': 'rejected', 'x-first-death-queue': three.src, 'x-first-death-exchange': '' });
    expect(h3['x-death']).toEqual([expect.objectContaining({ count: 1, reason: 'rejected', queue: three.src, exchange: '', 'routing-keys': [three.src] })]);

    for (const release of ['3.13', '4.x'] as const) {
      const { src, dead } = await rejectedOnce(release, { zebra: 1, alpha: 2 });
      const h = dead.properties.headers!;
      expect(Object.keys(h), release).toEqual([
        'alpha',
        'x-death',
        'x-first-death-exchange',
        'x-first-death-queue',
        'x-first-death-reason',
        'x-last-death-exchange',
        'x-last-death-queue',
        'x-last-death-reason',
        'zebra',
      ]);
      expect(h).toMatchObject({ 'x-last-death-reason': 'rejected', 'x-last-death-queue': src, 'x-last-death-exchange': '' });
      const [death] = h['x-death'] as unknown as Record<string, unknown>[];
      expect(Object.keys(death!)).toEqual(CANONICAL_DEATH_KEYS);
      expect(death).toMatchObject({ count: 1, reason: 'rejected', queue: src, exchange: '', 'routing-keys': [src] });
    }
  });

  it('3.13 and 4.x put original-expiration first in the table; 3.10 after routing-keys', async () => {
    for (const release of ['3.10', '3.13', '4.x'] as const) {
      const ch = await b[release].channel();
      const { src, dlq } = await deadLetterPair(ch);
      ch.sendToQueue(src, Buffer.from('m'), { expiration: '0' });
      // Expiry at the head is noticed when the queue is next read; then the dead letter is in dlq.
      expect(await ch.get(src)).toBe(false);
      const dead = await getOne(ch, dlq);
      expect(dead.properties.expiration).toBeUndefined();
      const keys = Object.keys((dead.properties.headers!['x-death'] as unknown as Record<string, unknown>[])[0]!);
      expect(keys, release).toEqual(release === '3.10' ? [...CANONICAL_DEATH_KEYS, 'original-expiration'] : ['original-expiration', ...CANONICAL_DEATH_KEYS]);
    }
  });

  it('the CC header: removed by 3.10 when x-dead-letter-routing-key replaces the keys, kept since 3.13', async () => {
    for (const release of ['3.10', '3.13', '4.x'] as const) {
      const { dead } = await rejectedOnce(release, { CC: ['elsewhere'] });
      expect(dead.properties.headers!.CC, release).toEqual(release === '3.10' ? undefined : ['elsewhere']);
    }
  });
});

/** Takes the dead letter out of `dlq` and publishes it again, headers and all, to `src`; rejects it there. */
async function republishAndReject(ch: Channel, src: string, dlq: string, dead: { properties: { headers?: Record<string, unknown> } }) {
  ch.sendToQueue(src, Buffer.from('m'), { headers: dead.properties.headers });
  const again = await ch.get(src, { noAck: false });
  if (again === false) throw new Error('republished message missing');
  ch.reject(again, false);
  return getOne(ch, dlq);
}

describe('a republished message dying again in the same queue for the same reason', () => {
  it('3.10 and 3.13 read the published x-death (count 2, first death kept); 4.x does not (count 1, first-death headers its own)', async () => {
    for (const release of ['3.10', '3.13'] as const) {
      const { ch, src, dlq, dead } = await rejectedOnce(release);
      const h = (await republishAndReject(ch, src, dlq, dead)).properties.headers!;
      expect(h['x-death'], release).toEqual([expect.objectContaining({ count: 2, reason: 'rejected', queue: src })]);
      expect(h['x-first-death-queue']).toBe(src);
    }
    const { ch, src, dlq, dead } = await rejectedOnce('4.x');
    // The client's own copy names another first death; 4.x writes its own over it.
    const headers = { ...dead.properties.headers, 'x-first-death-queue': name('other') };
    const h = (await republishAndReject(ch, src, dlq, { properties: { headers } })).properties.headers!;
    expect(h['x-death']).toEqual([expect.objectContaining({ count: 1, reason: 'rejected', queue: src })]);
    expect(h['x-first-death-queue']).toBe(src);
  });
});

describe('headers of a message that never died', () => {
  async function delivered(release: Release, headers: Record<string, unknown>): Promise<ConsumeMessage['properties']['headers']> {
    const ch = await b[release].channel();
    const q = (await ch.assertQueue('', { exclusive: true })).queue;
    ch.sendToQueue(q, Buffer.from('m'), { headers });
    return (await getOne(ch, q)).properties.headers;
  }

  it('3.10 delivers them as published; 3.13 and 4.x in key order', async () => {
    const headers = { zebra: 1, alpha: 'a', middle: true };
    expect(Object.keys((await delivered('3.10', headers))!)).toEqual(['zebra', 'alpha', 'middle']);
    expect(Object.keys((await delivered('3.13', headers))!)).toEqual(['alpha', 'middle', 'zebra']);
    expect(Object.keys((await delivered('4.x', headers))!)).toEqual(['alpha', 'middle', 'zebra']);
  });

  it('3.13 renders a published x-death from the records it reads (incomplete entries dropped); 4.x leaves it be', async () => {
    const published = [
      { queue: 'q1', reason: 'expired', count: 2, exchange: 'x', 'routing-keys': ['k'], time: { '!': 'timestamp', value: 1700000000 } },
      { queue: 'q2', reason: 'rejected' },
      'not a table',
    ];
    const three = (await delivered('3.13', { 'x-death': published }))!['x-death'] as unknown as Record<string, unknown>[];
    expect(three).toHaveLength(1);
    expect(Object.keys(three[0]!)).toEqual(CANONICAL_DEATH_KEYS);
    expect(three[0]).toMatchObject({ count: 2, reason: 'expired', queue: 'q1', exchange: 'x', 'routing-keys': ['k'] });
    const four = (await delivered('4.x', { 'x-death': published }))!['x-death'] as unknown[];
    expect(four).toHaveLength(3);
    expect(Object.keys(four[0] as object)).toEqual(['queue', 'reason', 'count', 'exchange', 'routing-keys', 'time']);
  });
});
