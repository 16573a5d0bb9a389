// Routing through every exchange type, including the edge cases of topic patterns and headers matching.
import { scenarios } from '../harness/scenario.js';
import { boundQueue, drainBodies } from './helpers.js';

const TOPIC_KEYS = ['', 'a', 'b', 'a.b', 'a.b.c', 'a.c', 'a..b', 'a.b.c.d', '.a', 'a.', 'A.B', 'x.a.b', 'a.x.b', '#', '*', 'a.#', 'aa.b'];

const TOPIC_PATTERNS: Record<string, string> = {
  'exact': 'a.b',
  'star': 'a.*',
  'star-first': '*.b',
  'star-only': '*',
  'hash-only': '#',
  'hash-tail': 'a.#',
  'hash-head': '#.b',
  'hash-middle': 'a.#.b',
  'hash-hash': '#.#',
  'star-hash': '*.#',
  'hash-star': '#.*',
  'star-star': '*.*',
  'empty': '',
  'empty-word': 'a..b',
  'trailing-dot': 'a.',
  'leading-dot': '.a',
  'hash-star-hash': '#.*.#',
  'literal-case': 'A.B',
  'partial-word': 'a*',
};

export default scenarios('routing', 'amqplib', (scenario) => {
  scenario('direct-exact-key', async (t) => {
    const ch = await t.channel();
    const x = t.n('x');
    await ch.assertExchange(x, 'direct', { durable: false });
    const q = await boundQueue(t, ch, x, 'q', ['k']);
    for (const rk of ['k', 'K', 'k ', '', 'kk']) ch.publish(x, rk, `rk=${rk}`);
    await drainBodies(t, ch, q);
    await ch.deleteExchange(x);
  });

  scenario('direct-two-bindings-one-queue-delivers-once', async (t) => {
    const ch = await t.channel();
    const x = t.n('x');
    await ch.assertExchange(x, 'direct', { durable: false });
    const q = await boundQueue(t, ch, x, 'q', ['k', 'k', 'j']);
    ch.publish(x, 'k', 'k');
    ch.publish(x, 'j', 'j');
    await drainBodies(t, ch, q);
    await ch.deleteExchange(x);
  });

  scenario('direct-two-queues-same-key', async (t) => {
    const ch = await t.channel();
    const x = t.n('x');
    await ch.assertExchange(x, 'direct', { durable: false });
    const q1 = await boundQueue(t, ch, x, 'q1', ['k']);
    const q2 = await boundQueue(t, ch, x, 'q2', ['k']);
    ch.publish(x, 'k', 'both');
    await drainBodies(t, ch, q1, 'q1');
    await drainBodies(t, ch, q2, 'q2');
    await ch.deleteExchange(x);
  });

  scenario('direct-empty-key', async (t) => {
    const ch = await t.channel();
    const x = t.n('x');
    await ch.assertExchange(x, 'direct', { durable: false });
    const q = await boundQueue(t, ch, x, 'q', ['']);
    ch.publish(x, '', 'empty');
    ch.publish(x, 'x', 'x');
    await drainBodies(t, ch, q);
    await ch.deleteExchange(x);
  });

  scenario('direct-unbind-stops-routing', async (t) => {
    const ch = await t.channel();
    const x = t.n('x');
    await ch.assertExchange(x, 'direct', { durable: false });
    const q = await boundQueue(t, ch, x, 'q', ['k']);
    ch.publish(x, 'k', 'before');
    await ch.unbindQueue(q, x, 'k');
    ch.publish(x, 'k', 'after');
    await drainBodies(t, ch, q);
    await ch.deleteExchange(x);
  });

  scenario('direct-unbind-missing-binding', async (t) => {
    const ch = await t.channel();
    const x = t.n('x');
    await ch.assertExchange(x, 'direct', { durable: false });
    const q = await boundQueue(t, ch, x, 'q', []);
    await t.tryOp(ch.unbindQueue(q, x, 'never-bound'));
    await (await t.channel()).deleteExchange(x);
  });

  scenario('default-exchange-routes-by-queue-name', async (t) => {
    const ch = await t.channel();
    const q = t.n('q');
    await ch.assertQueue(q, { exclusive: true });
    ch.publish('', q, 'direct-to-queue');
    ch.publish('', t.n('other'), 'nowhere');
    await drainBodies(t, ch, q);
  });

  scenario('amq-direct-builtin', async (t) => {
    const ch = await t.channel();
    const q = await boundQueue(t, ch, 'amq.direct', 'q', [t.n('k')]);
    ch.publish('amq.direct', t.n('k'), 'via-amq.direct');
    await drainBodies(t, ch, q);
  });

  scenario('fanout-ignores-routing-key', async (t) => {
    const ch = await t.channel();
    const x = t.n('x');
    await ch.assertExchange(x, 'fanout', { durable: false });
    const q1 = await boundQueue(t, ch, x, 'q1', ['bound-key']);
    const q2 = await boundQueue(t, ch, x, 'q2', ['']);
    ch.publish(x, 'anything', 'a');
    ch.publish(x, '', 'b');
    await drainBodies(t, ch, q1, 'q1');
    await drainBodies(t, ch, q2, 'q2');
    await ch.deleteExchange(x);
  });

  scenario('fanout-two-bindings-one-queue-delivers-once', async (t) => {
    const ch = await t.channel();
    const x = t.n('x');
    await ch.assertExchange(x, 'fanout', { durable: false });
    const q = await boundQueue(t, ch, x, 'q', ['a', 'b']);
    ch.publish(x, 'z', 'once');
    await drainBodies(t, ch, q);
    await ch.deleteExchange(x);
  });

  scenario('fanout-unbind-one-key-keeps-other', async (t) => {
    const ch = await t.channel();
    const x = t.n('x');
    await ch.assertExchange(x, 'fanout', { durable: false });
    const q = await boundQueue(t, ch, x, 'q', ['a', 'b']);
    await ch.unbindQueue(q, x, 'a');
    ch.publish(x, 'z', 'still-bound');
    await ch.unbindQueue(q, x, 'b');
    ch.publish(x, 'z', 'unbound');
    await drainBodies(t, ch, q);
    await ch.deleteExchange(x);
  });

  for (const [name, pattern] of Object.entries(TOPIC_PATTERNS)) {
    scenario(`topic-${name}`, async (t) => {
      const ch = await t.channel();
      const x = t.n('x');
      await ch.assertExchange(x, 'topic', { durable: false });
      const q = await boundQueue(t, ch, x, 'q', [pattern]);
      for (const rk of TOPIC_KEYS) ch.publish(x, rk, rk);
      await drainBodies(t, ch, q, `matched ${JSON.stringify(pattern)}`);
      await ch.deleteExchange(x);
    });
  }

  scenario('topic-overlapping-bindings-deliver-once', async (t) => {
    const ch = await t.channel();
    const x = t.n('x');
    await ch.assertExchange(x, 'topic', { durable: false });
    const q = await boundQueue(t, ch, x, 'q', ['a.*', 'a.#', '#', '*.b', 'a.b']);
    ch.publish(x, 'a.b', 'once');
    await drainBodies(t, ch, q);
    await ch.deleteExchange(x);
  });

  scenario('topic-unbind-one-of-overlapping', async (t) => {
    const ch = await t.channel();
    const x = t.n('x');
    await ch.assertExchange(x, 'topic', { durable: false });
    const q = await boundQueue(t, ch, x, 'q', ['a.*', 'a.#']);
    await ch.unbindQueue(q, x, 'a.*');
    for (const rk of ['a', 'a.b', 'a.b.c']) ch.publish(x, rk, rk);
    await drainBodies(t, ch, q);
    await ch.deleteExchange(x);
  });

  scenario('topic-long-key', async (t) => {
    const ch = await t.channel();
    const x = t.n('x');
    await ch.assertExchange(x, 'topic', { durable: false });
    const long = Array.from({ length: 60 }, (_, i) => `w${i}`).join('.');
    const q = await boundQueue(t, ch, x, 'q', ['w0.#.w59', '#.w30.#']);
    ch.publish(x, long, 'long');
    await drainBodies(t, ch, q);
    await ch.deleteExchange(x);
  });

  scenario('amq-topic-builtin', async (t) => {
    const ch = await t.channel();
    const p = t.n('p');
    const q = await boundQueue(t, ch, 'amq.topic', 'q', [`${p}.*`]);
    ch.publish('amq.topic', `${p}.x`, 'hit');
    ch.publish('amq.topic', `${p}.x.y`, 'miss');
    await drainBodies(t, ch, q);
  });

  const HEADERS_MESSAGES: Array<[string, Record<string, unknown>]> = [
    ['none', {}],
    ['a1', { a: 1 }],
    ['a1b2', { a: 1, b: 2 }],
    ['a1b3', { a: 1, b: 3 }],
    ['b2', { b: 2 }],
    ['a-str-1', { a: '1' }],
    ['a1b2c3', { a: 1, b: 2, c: 3 }],
    ['a-null', { a: null }],
    ['a-true', { a: true }],
    ['x-match-header', { 'x-match': 'any', a: 1 }],
  ];

  const HEADERS_BINDINGS: Record<string, Record<string, unknown>> = {
    'all-two': { 'x-match': 'all', a: 1, b: 2 },
    'any-two': { 'x-match': 'any', a: 1, b: 2 },
    'default-is-all': { a: 1, b: 2 },
    'all-one': { 'x-match': 'all', a: 1 },
    'empty-args': {},
    'only-x-match-all': { 'x-match': 'all' },
    'only-x-match-any': { 'x-match': 'any' },
    'string-value': { a: '1' },
    'void-value': { a: null },
    'bool-value': { a: true },
    'x-prefixed-ignored': { 'x-match': 'all', a: 1, 'x-extra': 'ignored' },
    'any-with-x': { 'x-match': 'any-with-x', 'x-match-me': 'no' },
    'all-with-x': { 'x-match': 'all-with-x', a: 1 },
  };

  for (const [name, args] of Object.entries(HEADERS_BINDINGS)) {
    scenario(`headers-${name}`, async (t) => {
      const ch = await t.channel();
      const x = t.n('x');
      await ch.assertExchange(x, 'headers', { durable: false });
      const q = await boundQueue(t, ch, x, 'q', [''], args);
      for (const [body, headers] of HEADERS_MESSAGES) ch.publish(x, '', body, { headers });
      ch.publish(x, '', 'no-headers-property');
      await drainBodies(t, ch, q);
      await ch.deleteExchange(x);
    });
  }

  scenario('headers-invalid-x-match', async (t) => {
    const ch = await t.channel();
    const x = t.n('x');
    await ch.assertExchange(x, 'headers', { durable: false });
    const q = t.n('q');
    await ch.assertQueue(q, { exclusive: true });
    await t.fails(ch.bindQueue(q, x, '', { 'x-match': 'some' }));
    await (await t.channel()).deleteExchange(x);
  });

  scenario('headers-routing-key-ignored', async (t) => {
    const ch = await t.channel();
    const x = t.n('x');
    await ch.assertExchange(x, 'headers', { durable: false });
    const q = await boundQueue(t, ch, x, 'q', ['some-key'], { a: 1 });
    ch.publish(x, 'other-key', 'matched', { headers: { a: 1 } });
    await drainBodies(t, ch, q);
    await ch.deleteExchange(x);
  });

  scenario('headers-unbind-with-args', async (t) => {
    const ch = await t.channel();
    const x = t.n('x');
    await ch.assertExchange(x, 'headers', { durable: false });
    const q = await boundQueue(t, ch, x, 'q', [''], { a: 1 });
    await ch.bindQueue(q, x, '', { b: 2 });
    await ch.unbindQueue(q, x, '', { a: 1 });
    ch.publish(x, '', 'a', { headers: { a: 1 } });
    ch.publish(x, '', 'b', { headers: { b: 2 } });
    await drainBodies(t, ch, q);
    await ch.deleteExchange(x);
  });

  scenario('amq-match-builtin', async (t) => {
    const ch = await t.channel();
    const tag = t.n('tag');
    const q = await boundQueue(t, ch, 'amq.match', 'q', [''], { tag });
    ch.publish('amq.match', '', 'hit', { headers: { tag } });
    ch.publish('amq.match', '', 'miss', { headers: { tag: 'other' } });
    await drainBodies(t, ch, q);
  });

  scenario('mandatory-unroutable-returned', async (t) => {
    const ch = await t.channel();
    const x = t.n('x');
    await ch.assertExchange(x, 'direct', { durable: false });
    ch.publish(x, 'nowhere', 'bounce', { mandatory: true, headers: { h: 'v' }, messageId: 'id-1', contentType: 'text/plain' });
    await ch.takeReturns(1);
    await ch.deleteExchange(x);
  });

  scenario('mandatory-routable-not-returned', async (t) => {
    const ch = await t.channel();
    const x = t.n('x');
    await ch.assertExchange(x, 'direct', { durable: false });
    const q = await boundQueue(t, ch, x, 'q', ['k']);
    ch.publish(x, 'k', 'stays', { mandatory: true });
    await drainBodies(t, ch, q);
    await ch.deleteExchange(x);
  });

  scenario('mandatory-default-exchange-missing-queue', async (t) => {
    const ch = await t.channel();
    ch.publish('', t.n('missing'), 'bounce', { mandatory: true });
    await ch.takeReturns(1);
  });

  scenario('not-mandatory-unroutable-dropped', async (t) => {
    const ch = await t.channel();
    const x = t.n('x');
    await ch.assertExchange(x, 'direct', { durable: false });
    ch.publish(x, 'nowhere', 'dropped');
    await ch.checkExchange(x);
    await ch.deleteExchange(x);
  });

  scenario('returns-keep-order', async (t) => {
    const ch = await t.channel();
    for (let i = 0; i < 5; i++) ch.publish('', t.n(`missing${i}`), `r${i}`, { mandatory: true });
    await ch.takeReturns(5);
  });
});
