/**
 * Topic matching (RabbitMQ docs page "exchanges", topic section; rabbit_exchange_type_topic.erl): binding
 * patterns against routing keys, including the edge cases a trie gets wrong. Keys and patterns are split on
 * every dot, so "a..b" has an empty middle word, ".a" and "a." have an empty first and last word, and the
 * empty key "" has no words at all. `*` matches exactly one word (possibly empty); `#` matches zero or more
 * words; they are wildcards only as whole words ("a*" is literal). Words compare byte for byte (case and
 * unicode sensitive). Each row was checked against RabbitMQ 3.10.8.
 */
import { describe, expect, it } from 'vitest';
import { bodies, drain, sync, withModel } from '../helpers/model.js';
import { withBroker } from '../helpers/broker.js';

const fx = withBroker();
const m = withModel(fx);

/** [binding pattern, keys it matches, keys it does not match] */
const table: [pattern: string, matches: string[], misses: string[]][] = [
  // Literal words
  ['a.b', ['a.b'], ['a', 'a.b.c', 'A.b', 'ab', 'a.b.', '.a.b', 'a..b', '']],
  ['a', ['a'], ['', 'a.', '.a', 'b', 'aa']],
  // `*`: exactly one word
  ['*', ['a', 'long-word', '*', '#'], ['', 'a.b', '.', 'a.']],
  ['a.*', ['a.b', 'a.', 'a.*'], ['a', 'a.b.c', 'b.a', 'ab']],
  ['*.b', ['a.b', '.b'], ['b', 'a.b.c', 'a.c']],
  ['*.*', ['a.b', '.', 'a.', '.b'], ['a', '', 'a.b.c']],
  ['a.*.b', ['a.x.b', 'a..b'], ['a.b', 'a.x.y.b', 'a.x.b.c']],
  // `#`: zero or more words
  ['#', ['', 'a', 'a.b.c', '.', 'a..b', '#', '*'], []],
  ['#.#', ['', 'a', 'a.b.c', '.'], []],
  ['#.#.#', ['', 'a.b', 'x.y.z.w'], []],
  ['a.#', ['a', 'a.b', 'a.b.c', 'a.', 'a..'], ['', 'b', 'ab', 'b.a', '.a']],
  ['#.a', ['a', 'b.a', 'b.c.a', '.a'], ['', 'a.b', 'ba', 'a.']],
  ['a.#.b', ['a.b', 'a.x.b', 'a.x.y.b', 'a..b'], ['a', 'b', 'ab', 'a.b.c', 'x.a.b', 'a.bb']],
  ['a.#.#.b', ['a.b', 'a.x.b', 'a.x.y.z.b'], ['a', 'a.b.c']],
  ['#.b.#', ['b', 'a.b', 'b.c', 'a.b.c', 'x.y.b.z.w'], ['', 'a', 'ab', 'a.bc']],
  ['a.#.c.#.e', ['a.c.e', 'a.b.c.d.e', 'a.x.y.c.e', 'a.c.c.e'], ['a.e', 'a.c', 'a.b.d.e', 'a.c.e.f']],
  // `#` and `*` together: at least so many words
  ['#.*', ['a', 'a.b', 'a.b.c', '.'], ['']],
  ['*.#', ['a', 'a.b', 'a.b.c'], ['']],
  ['*.#.*', ['a.b', 'a.b.c', '.'], ['', 'a']],
  ['#.*.#', ['a', 'a.b'], ['']],
  ['*.a.#', ['x.a', 'x.a.b.c'], ['a', 'a.b', 'x.b.a']],
  // Empty words in patterns
  ['', [''], ['a', '.', '#', '*']],
  ['.', ['.'], ['', 'a', 'a.', '.a']],
  ['a..b', ['a..b'], ['a.b', 'a.x.b', 'a...b']],
  ['.a', ['.a'], ['a', 'x.a']],
  ['a.', ['a.'], ['a', 'a.x']],
  ['#.', ['.', 'a.', 'a.b.'], ['', 'a', 'a.b']],
  ['.#', ['.', '.a', '.a.b'], ['', 'a', 'a.b']],
  // Wildcard characters inside a word are literal
  ['a*', ['a*'], ['a', 'ab', 'a.b']],
  ['a#', ['a#'], ['a', 'ab', 'a.b']],
  ['#a', ['#a'], ['a', 'ba']],
  ['a.b*.c', ['a.b*.c'], ['a.b.c', 'a.bx.c']],
  // Unicode words compare byte for byte
  ['ünï.*', ['ünï.côdé', 'ünï.'], ['uni.code', 'ÜNÏ.x', 'ünï']],
  ['日本.#', ['日本', '日本.東京', '日本.東京.港区'], ['日本人', '中国.日本']],
  ['*.🐇.#', ['warren.🐇', 'x.🐇.y.z'], ['🐇', 'warren.🐰']],
  ['é', ['é'], ['e\u0301', 'E', 'É']],
];

describe('topic matching', () => {
  it.each(table)('pattern %j', async (pattern, matches, misses) => {
    const ch = await fx.channel();
    const x = m.exchange('topic');
    const q = m.queue();
    await ch.assertExchange(x, 'topic', { durable: false });
    await ch.assertQueue(q, { durable: false });
    await ch.bindQueue(q, x, pattern);
    // Publish the misses and matches interleaved: the queue must hold exactly the matches, in order.
    const keys = [...matches.map((k) => [k, true] as const), ...misses.map((k) => [k, false] as const)].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    for (const [key] of keys) ch.publish(x, key, Buffer.from(JSON.stringify(key)));
    await sync(ch);
    const got = bodies(await drain(ch, q)).map((b) => JSON.parse(b) as string);
    expect(got).toEqual(keys.filter(([, hit]) => hit).map(([k]) => k));
  });

  it('routes one message to every queue with a matching pattern, one copy each', async () => {
    const ch = await fx.channel();
    const x = m.exchange('topic');
    await ch.assertExchange(x, 'topic', { durable: false });
    const patterns = ['#', 'a.#', '*.b.*', 'a.b.c', 'a.*', '#.c', 'x.#'];
    const qs: string[] = [];
    for (const p of patterns) {
      const q = m.queue();
      await ch.assertQueue(q, { durable: false });
      await ch.bindQueue(q, x, p);
      qs.push(q);
    }
    ch.publish(x, 'a.b.c', Buffer.from('m'));
    await sync(ch);
    const counts = [];
    for (const q of qs) counts.push((await drain(ch, q)).length);
    expect(counts).toEqual([1, 1, 1, 1, 0, 1, 0]);
  });

  it('stops matching a pattern once unbound while other patterns sharing a prefix still match', async () => {
    const ch = await fx.channel();
    const x = m.exchange('topic');
    const q1 = m.queue();
    const q2 = m.queue();
    await ch.assertExchange(x, 'topic', { durable: false });
    await ch.assertQueue(q1, { durable: false });
    await ch.assertQueue(q2, { durable: false });
    await ch.bindQueue(q1, x, 'a.#');
    await ch.bindQueue(q2, x, 'a.*');
    await ch.bindQueue(q2, x, 'a.#');
    await ch.unbindQueue(q1, x, 'a.#');
    ch.publish(x, 'a.b', Buffer.from('1'));
    ch.publish(x, 'a', Buffer.from('2'));
    await sync(ch);
    expect(bodies(await drain(ch, q1))).toEqual([]);
    expect(bodies(await drain(ch, q2))).toEqual(['1', '2']);
    await ch.unbindQueue(q2, x, 'a.#');
    ch.publish(x, 'a.b', Buffer.from('3'));
    ch.publish(x, 'a', Buffer.from('4'));
    await sync(ch);
    expect(bodies(await drain(ch, q2))).toEqual(['3']);
  });
});
