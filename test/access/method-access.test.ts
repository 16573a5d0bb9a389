/**
 * Each row of METHOD_ACCESS against what RabbitMQ 3.10.8 answered to a user with limited permissions
 * (test/access/fixtures/record-permission-matrix.mjs): the same operations, the same broker state, the
 * same reply codes and texts.
 */
import { describe, expect, it } from 'vitest';
import { ChannelError } from '../../src/errors.js';
import { AccessDatabase } from '../../src/access/access-database.js';
import { METHOD_ACCESS, authorize, type AccessMethod, type AccessSubject, type ExchangeFacts } from '../../src/access/method-access.js';
import { ChannelAccess } from '../../src/access/permissions.js';
import matrix from './fixtures/permission-matrix.rabbitmq-3.10.8.json' with { type: 'json' };

type Outcome = { outcome: 'ok' } | { outcome: 'refused'; code: number; text: string };

// The broker state the recorder set up (adminFixtures), plus what the recorded run created before
// each step: all that matters to the steps is which names exist and what the exchanges are.
const QUEUES = new Set(['cfg-q', 'w-q', 'r-q', 'other-q', 'both-q', 'cfg-del']);
const EXCHANGES = new Map<string, ExchangeFacts>([
  ['', { type: 'direct', internal: false }],
  ['amq.direct', { type: 'direct', internal: false }],
  ['amq.topic', { type: 'topic', internal: false }],
  ...['cfg-x', 'w-x', 'r-x', 'other-x', 'both-x'].map((x): [string, ExchangeFacts] => [x, { type: 'direct', internal: false }]),
  ['both-topic', { type: 'topic', internal: false }],
  ['both-topic-open', { type: 'topic', internal: false }],
  ['w-int', { type: 'direct', internal: true }],
]);

const queue = (name: string, extra: Partial<AccessSubject> = {}): AccessSubject => ({ queue: name, exists: () => QUEUES.has(name), ...extra });
const exchange = (name: string, extra: Partial<AccessSubject> = {}): AccessSubject => ({
  exchange: name,
  exists: () => EXCHANGES.has(name),
  exchangeFacts: () => EXCHANGES.get(name),
  ...extra,
});
const queueBinding = (q: string, x: string, key: string): AccessSubject => ({
  destination: { kind: 'queue', name: q },
  source: x,
  routingKey: key,
  exchangeFacts: () => EXCHANGES.get(x),
});
const exchangeBinding = (destination: string, source: string, key: string): AccessSubject => ({
  destination: { kind: 'exchange', name: destination },
  source,
  routingKey: key,
  exchangeFacts: () => EXCHANGES.get(source),
});
const publish = (x: string, key: string, userId?: string): AccessSubject => exchange(x, { routingKey: key, ...(userId === undefined ? {} : { userId }) });

/** Each recorded step as the channel would hand it to authorize(). */
const CASES: Record<string, [AccessMethod, AccessSubject]> = {
  'queue.declare allowed': ['queue.declare', queue('cfg-new')],
  'queue.declare refused': ['queue.declare', queue('other-new')],
  'queue.declare existing refused': ['queue.declare', queue('other-q')],
  'queue.declare passive needs nothing': ['queue.declare passive', queue('other-q')],
  'queue.declare amq. prefix before permission': ['queue.declare', queue('amq.mine')],
  'queue.declare dlx allowed': ['queue.declare', queue('both-dlx-ok', { deadLetterExchange: 'both-x' })],
  'queue.declare dlx needs read on queue': ['queue.declare', queue('cfg-dlx', { deadLetterExchange: 'both-x' })],
  'queue.declare dlx needs write on dlx': ['queue.declare', queue('both-dlx', { deadLetterExchange: 'other-x' })],
  'queue.delete allowed': ['queue.delete', queue('cfg-del')],
  'queue.delete refused': ['queue.delete', queue('other-q')],
  'queue.purge allowed': ['queue.purge', queue('r-q')],
  'queue.purge refused': ['queue.purge', queue('other-q')],
  'queue.bind allowed': ['queue.bind', queueBinding('w-q', 'r-x', 'k')],
  'queue.bind refused on queue': ['queue.bind', queueBinding('other-q', 'r-x', 'k')],
  'queue.bind refused on exchange': ['queue.bind', queueBinding('w-q', 'other-x', 'k')],
  'queue.bind default exchange': ['queue.bind', queueBinding('w-q', '', 'k')],
  'queue.unbind allowed': ['queue.unbind', queueBinding('w-q', 'r-x', 'k')],
  'queue.unbind refused on queue': ['queue.unbind', queueBinding('other-q', 'r-x', 'k')],
  'queue.unbind refused on exchange': ['queue.unbind', queueBinding('w-q', 'other-x', 'k')],
  'queue.bind topic allowed': ['queue.bind', queueBinding('both-q', 'both-topic', 'perm.#')],
  'queue.bind topic refused': ['queue.bind', queueBinding('both-q', 'both-topic', 'other.#')],
  'exchange.declare allowed': ['exchange.declare', exchange('cfg-newx')],
  'exchange.declare refused': ['exchange.declare', exchange('other-newx')],
  'exchange.declare passive needs nothing': ['exchange.declare passive', exchange('other-x')],
  'exchange.declare default exchange': ['exchange.declare', exchange('')],
  'exchange.declare amq. refused before prefix': ['exchange.declare', exchange('amq.mine')],
  'exchange.declare ae allowed': ['exchange.declare', exchange('both-ae-ok', { alternateExchange: 'both-x' })],
  'exchange.declare ae needs read on exchange': ['exchange.declare', exchange('cfg-ae', { alternateExchange: 'both-x' })],
  'exchange.declare ae needs write on ae': ['exchange.declare', exchange('both-ae', { alternateExchange: 'other-x' })],
  'exchange.delete allowed': ['exchange.delete', exchange('cfg-newx')],
  'exchange.delete refused': ['exchange.delete', exchange('other-x')],
  'exchange.delete system exchange': ['exchange.delete', exchange('amq.direct')],
  'exchange.delete default exchange': ['exchange.delete', exchange('')],
  'exchange.bind allowed': ['exchange.bind', exchangeBinding('w-x', 'r-x', 'k')],
  'exchange.bind refused on destination': ['exchange.bind', exchangeBinding('other-x', 'r-x', 'k')],
  'exchange.bind refused on source': ['exchange.bind', exchangeBinding('w-x', 'other-x', 'k')],
  'exchange.bind default exchange destination': ['exchange.bind', exchangeBinding('', 'r-x', 'k')],
  'exchange.unbind allowed': ['exchange.unbind', exchangeBinding('w-x', 'r-x', 'k')],
  'exchange.unbind refused on destination': ['exchange.unbind', exchangeBinding('other-x', 'r-x', 'k')],
  'exchange.unbind refused on source': ['exchange.unbind', exchangeBinding('w-x', 'other-x', 'k')],
  'basic.publish allowed': ['basic.publish', publish('w-x', 'k')],
  'basic.publish refused': ['basic.publish', publish('other-x', 'k')],
  'basic.publish default exchange allowed': ['basic.publish', publish('', 'w-q')],
  'basic.publish missing exchange refused before lookup': ['basic.publish', publish('nope', 'k')],
  'basic.publish missing exchange allowed': ['basic.publish', publish('w-nope', 'k')],
  'basic.publish internal exchange': ['basic.publish', publish('w-int', 'k')],
  'basic.publish topic allowed': ['basic.publish', publish('both-topic', 'limited.orders')],
  'basic.publish topic refused': ['basic.publish', publish('both-topic', 'other.orders')],
  'basic.publish topic exchange without topic permissions': ['basic.publish', publish('both-topic-open', 'anything')],
  'basic.publish user_id mismatch': ['basic.publish', publish('w-x', 'k', 'someone-else')],
  'basic.publish user_id own': ['basic.publish', publish('w-x', 'k', 'limited')],
  'basic.get allowed': ['basic.get', queue('r-q')],
  'basic.get refused': ['basic.get', queue('other-q')],
  'basic.consume allowed': ['basic.consume', queue('r-q')],
  'basic.consume refused': ['basic.consume', queue('other-q')],
};

function database(): AccessDatabase {
  const db = new AccessDatabase();
  db.addVhost({ name: 'perm' });
  db.addUser({ name: 'limited', password: 'limited' });
  db.addUser({ name: 'impersonator', password: 'impersonator', tags: ['impersonator'] });
  const p = matrix.permissions;
  db.setPermissions('limited', 'perm', p.configure, p.write, p.read);
  db.setPermissions('impersonator', 'perm', '.*', '.*', '.*');
  const t = matrix.topicPermissions;
  db.setTopicPermissions('limited', 'perm', t.exchange, t.write, t.read);
  return db;
}

function outcome(fn: () => void): Outcome {
  try {
    fn();
    return { outcome: 'ok' };
  } catch (e) {
    if (!(e instanceof ChannelError)) throw e;
    return { outcome: 'refused', code: e.code, text: e.replyText };
  }
}

const recorded = matrix.methods as Record<string, Outcome & { classId?: number; methodId?: number }>;
const expected = (name: string): Outcome => {
  const r = recorded[name]!;
  return r.outcome === 'ok' ? { outcome: 'ok' } : { outcome: 'refused', code: r.code, text: r.text };
};

describe('METHOD_ACCESS, row by row, against RabbitMQ 3.10.8', () => {
  const db = database();
  const limited = () => new ChannelAccess(db.grant('limited', 'perm'), { name: 'limited', tags: [] });
  for (const row of METHOD_ACCESS) {
    const cases = Object.entries(CASES).filter(([, [method]]) => method === row.method);
    it(`${row.method}: ${row.summary}`, () => {
      expect(cases.length).toBeGreaterThan(0);
      for (const [name, [method, subject]] of cases) {
        expect({ name, ...outcome(() => authorize(limited(), method, subject)) }).toEqual({ name, ...expected(name) });
      }
    });
  }

  it('every recorded method step is checked by some row', () => {
    const unchecked = Object.keys(recorded).filter((n) => !(n in CASES) && n !== 'queue.declare server-named refused');
    expect(unchecked).toEqual([]);
  });

  it('queue.declare with an empty name checks configure on the generated name, and not its amq. prefix', () => {
    const r = recorded['queue.declare server-named refused']!;
    const generated = /queue '([^']+)'/.exec(r.outcome === 'refused' ? r.text : '')![1]!;
    const got = outcome(() => authorize(limited(), 'queue.declare', { queue: generated, serverNamed: true, exists: () => false }));
    expect(got).toEqual(expected('queue.declare server-named refused'));
  });

  it('an impersonator may publish with another user_id', () => {
    const access = new ChannelAccess(db.grant('impersonator', 'perm'), { name: 'impersonator', tags: ['impersonator'] });
    expect(outcome(() => authorize(access, 'basic.publish', publish('w-x', 'k', 'someone-else')))).toEqual(matrix.impersonatorUserId);
  });

  it('the channel checks named in a row run at their place, and only when their condition holds', () => {
    const calls: string[] = [];
    const hooks = { 'vhost-queue-limit': () => void calls.push('limit'), 'fast-reply-to': () => void calls.push('reply-to') };
    authorize(limited(), 'queue.declare', { ...queue('cfg-q'), hooks });
    expect(calls).toEqual([]); // the queue exists: no limit check
    authorize(limited(), 'queue.declare', { ...queue('cfg-brand-new'), hooks });
    expect(calls).toEqual(['limit']);
    authorize(limited(), 'basic.publish', { ...publish('w-x', 'k'), hooks });
    expect(calls).toEqual(['limit', 'reply-to']);
    // Refused before the hook: the hook is not reached.
    expect(() => authorize(limited(), 'queue.declare', { ...queue('other-brand-new'), hooks })).toThrow(ChannelError);
    expect(calls).toEqual(['limit', 'reply-to']);
  });

  it('looks up existence and exchange facts lazily, at most once, and not at all when not needed', () => {
    let lookups = 0;
    const counted = (name: string): AccessSubject => ({
      ...exchange(name),
      routingKey: 'k',
      exchangeFacts: () => {
        lookups++;
        return EXCHANGES.get(name);
      },
    });
    authorize(limited(), 'basic.publish', counted('w-x'));
    expect(lookups).toBe(1);
    expect(() => authorize(limited(), 'basic.publish', counted('other-x'))).toThrow(ChannelError);
    expect(lookups).toBe(1); // refused by the write permission before the exchange was looked up
  });
});
