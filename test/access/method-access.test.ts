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
import { MATRIX_EXCHANGES, MATRIX_QUEUES, type StepCall, allMatrixSteps } from './fixtures/permission-matrix.mjs';
import matrix from './fixtures/permission-matrix.rabbitmq-3.10.8.json' with { type: 'json' };

type Outcome = { outcome: 'ok' } | { outcome: 'refused'; code: number; text: string };

// The broker state the recorder set up (adminFixtures), plus what the recorded run created before
// each step: all that matters to the steps is which names exist and what the exchanges are.
const QUEUES = new Set(MATRIX_QUEUES);
const EXCHANGES = new Map<string, ExchangeFacts>([
  ['', { type: 'direct', internal: false }],
  ['amq.direct', { type: 'direct', internal: false }],
  ['amq.topic', { type: 'topic', internal: false }],
  ...MATRIX_EXCHANGES.map((x): [string, ExchangeFacts] => [x.name, { type: x.type, internal: x.internal === true }]),
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

/** A matrix step as the channel hands it to authorize() (the server-named declare is checked below, on its generated name). */
function caseOf({ method, args }: StepCall): [AccessMethod, AccessSubject] {
  const [a, b, c] = args as [string, string, string];
  switch (method) {
    case 'assertQueue': {
      const dlx = (b as { deadLetterExchange?: string } | undefined)?.deadLetterExchange;
      return ['queue.declare', queue(a, dlx === undefined ? {} : { deadLetterExchange: dlx })];
    }
    case 'checkQueue':
      return ['queue.declare passive', queue(a)];
    case 'deleteQueue':
      return ['queue.delete', queue(a)];
    case 'purgeQueue':
      return ['queue.purge', queue(a)];
    case 'get':
      return ['basic.get', queue(a)];
    case 'consume':
      return ['basic.consume', queue(a)];
    case 'bindQueue':
    case 'unbindQueue':
      return [method === 'bindQueue' ? 'queue.bind' : 'queue.unbind', queueBinding(a, b, c)];
    case 'assertExchange': {
      const ae = (args[2] as { alternateExchange?: string } | undefined)?.alternateExchange;
      return ['exchange.declare', exchange(a, ae === undefined ? {} : { alternateExchange: ae })];
    }
    case 'checkExchange':
      return ['exchange.declare passive', exchange(a)];
    case 'deleteExchange':
      return ['exchange.delete', exchange(a)];
    case 'bindExchange':
    case 'unbindExchange':
      return [method === 'bindExchange' ? 'exchange.bind' : 'exchange.unbind', exchangeBinding(a, b, c)];
    case 'publish':
      return ['basic.publish', publish(a, b, (args[2] as { userId?: string } | undefined)?.userId)];
  }
}

/** Each recorded step (the steps of fixtures/permission-matrix.mjs, as the recorder ran them). */
const CASES: Record<string, [AccessMethod, AccessSubject]> = Object.fromEntries(
  allMatrixSteps('limited', 'perm')
    .filter(([name]) => name !== 'queue.declare server-named refused')
    .map(([name, step]) => [name, caseOf(step)]),
);

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
