import { describe, expect, it } from 'vitest';
import { fv, table } from '../../src/protocol/field-table.js';
import type { QueueType } from '../../src/queue/arguments.js';
import { parseJson, type JsonValue } from '../../src/util/json.js';
import {
  PolicySet,
  effectiveExchangeSettings,
  effectiveQueueSettings,
  formatValidationErrors,
  mergeOperatorDefinitions,
  policyFromProperties,
  validatePolicy,
  type Policy,
  type PolicyKind,
} from '../../src/policy/policy.js';
import validation from './fixtures/policy-validation.rabbitmq-3.10.8.json' with { type: 'json' };
import matching from './fixtures/policy-matching.rabbitmq-3.10.8.json' with { type: 'json' };
import effective from './fixtures/effective-settings.rabbitmq-3.10.8.json' with { type: 'json' };

describe('validation: what rabbitmqctl set_policy says on RabbitMQ 3.10.8', () => {
  for (const c of validation.cases) {
    it(`${c.kind} ${c.pattern} ${c.definition} apply-to ${c.applyTo}: ${c.accepted ? 'accepted' : 'refused'}`, () => {
      const errors = validatePolicy(c.kind as PolicyKind, 'p', {
        pattern: c.pattern,
        definition: parseJson(c.definition),
        priority: c.priority,
        'apply-to': c.applyTo,
      });
      // The recorder split the output into lines; a long term wraps onto a second line.
      expect(errors.join('\n').split('\n')).toEqual(c.accepted ? [''] : c.errors);
    });
  }

  it('the properties a definitions file can get wrong, which the CLI never sends', () => {
    expect(validatePolicy('policy', 'p', { pattern: '.*', definition: { 'max-length': 1 }, priority: 'high' })).toEqual([
      'priority should be a number, actually was <<"high">>',
    ]);
    expect(validatePolicy('policy', 'p', { pattern: 5, definition: { 'max-length': 1 } })).toEqual(['pattern should be a binary but was 5']);
    expect(validatePolicy('policy', 'p', { pattern: '.*' })).toEqual(['parse error while reading policy p: undefined. Validator: policy_validator.']);
    expect(validatePolicy('policy', 'p', { pattern: '.*', definition: [1, 2] })).toEqual(['definition must be a dictionary: [1,2]']);
    expect(validatePolicy('policy', 'p', { pattern: '.*', definition: 'x' })).toEqual(['parse error while reading policy p: <<"x">>. Validator: policy_validator.']);
    expect(validatePolicy('policy', 'p', { pattern: '.*', definition: { 'max-length': 1 }, 'apply-to': 7 })).toEqual([
      "apply-to '7' unrecognised; should be 'queues', 'exchanges' or 'all'",
    ]);
    expect(validatePolicy('policy', 'p', { pattern: '.*', definition: { 'max-length': 1 }, priority: 1.5 })).toEqual([]);
  });

  it('formats as the CLI and definition imports show it', () => {
    expect(formatValidationErrors(['-1 is not a valid message TTL'])).toBe('Validation failed\n\n-1 is not a valid message TTL\n');
  });

  it('defaults: priority 0, apply-to all', () => {
    expect(policyFromProperties('v', 'p', { pattern: '^a', definition: { 'max-length': 1 } })).toEqual({
      vhost: 'v',
      name: 'p',
      pattern: '^a',
      applyTo: 'all',
      priority: 0,
      definition: { 'max-length': 1 },
    });
  });
});

function setsFromFixture(): { policies: PolicySet; operators: PolicySet } {
  const policies = new PolicySet();
  const operators = new PolicySet();
  for (const [kind, name, pattern, definition, priority, applyTo] of matching.policies as [string, string, string, Record<string, JsonValue>, number, string][]) {
    const p = policyFromProperties('polmatch', name, { pattern, definition, priority, 'apply-to': applyTo });
    (kind === 'policy' ? policies : operators).put(p);
  }
  return { policies, operators };
}

describe('matching: which policy RabbitMQ 3.10.8 applied', () => {
  const { policies, operators } = setsFromFixture();
  for (const q of matching.queues) {
    it(`queue ${q.name} (${q.type}): policy ${q.policy}, operator policy ${q.operatorPolicy}`, () => {
      const subject = { kind: 'queue' as const, name: q.name, type: q.type as QueueType };
      const p = policies.match(subject);
      const o = operators.match(subject);
      expect({ policy: p?.name ?? null, operatorPolicy: o?.name ?? null, effectiveDefinition: mergeOperatorDefinitions(p, o) ?? null }).toEqual({
        policy: q.policy,
        operatorPolicy: q.operatorPolicy,
        effectiveDefinition: q.effectiveDefinition,
      });
    });
  }
  for (const [name, x] of Object.entries(matching.exchanges)) {
    it(`exchange ${name}: policy ${x.policy}`, () => {
      const p = policies.match({ kind: 'exchange', name });
      const o = operators.match({ kind: 'exchange', name });
      expect({ policy: p?.name ?? null, operatorPolicy: o?.name ?? null, effectiveDefinition: mergeOperatorDefinitions(p, o) ?? null }).toEqual(x);
    });
  }

  it('a tie in priority goes to the name that sorts first (RabbitMQ: its table order, undocumented)', () => {
    const set = new PolicySet();
    for (const n of ['t-zeta', 't-alpha', 't-mid']) set.put(policyFromProperties('v', n, { pattern: '^tie$', definition: { 'max-length': 1 }, priority: 7 }));
    expect(set.match({ kind: 'queue', name: 'tie', type: 'classic' })?.name).toBe('t-alpha');
  });

  it('versions move on put and delete; delete of an unknown name changes nothing', () => {
    const set = new PolicySet();
    const v0 = set.version;
    set.put(policyFromProperties('v', 'a', { pattern: '.*', definition: { 'max-length': 1 } }));
    expect(set.version).toBe(v0 + 1);
    expect(set.delete('nope')).toBe(false);
    expect(set.version).toBe(v0 + 1);
    expect(set.delete('a')).toBe(true);
    expect(set.match({ kind: 'queue', name: 'x', type: 'classic' })).toBeUndefined();
  });
});

type EffCase = (typeof effective.queues)[keyof typeof effective.queues] & { operator?: Record<string, JsonValue>; policy?: Record<string, JsonValue> };

/** The x-arguments of a recorded case as amqplib sent them (numbers as signed 32-bit or long). */
function args(a: Record<string, unknown>) {
  return table(Object.entries(a).map(([k, v]) => [k, typeof v === 'number' ? fv.int(v) : fv.str(String(v))] as const));
}

const policyOf = (name: string, definition: Record<string, JsonValue> | undefined): Policy | undefined =>
  definition === undefined ? undefined : { vhost: 'eff', name, pattern: '.*', applyTo: 'queues', priority: 0, definition };

describe('effective settings: policy vs operator policy vs x-arguments, as RabbitMQ 3.10.8 behaved', () => {
  for (const [name, raw] of Object.entries(effective.queues)) {
    const c = raw as EffCase;
    it(`${name}: ${JSON.stringify(c.observed)}`, () => {
      const type = c.type as QueueType;
      // Matched as RabbitMQ matches: a policy with a key the queue type does not support does not
      // apply (the queue-mode case).
      const policies = new PolicySet();
      const policy = policyOf(`p-${name}`, c.policy);
      if (policy !== undefined) policies.put(policy);
      const applied = policies.match({ kind: 'queue', name, type });
      const s = effectiveQueueSettings({ type, arguments: args(c.args) }, applied, policyOf(`o-${name}`, c.operator));
      const o = c.observed as Record<string, unknown>;
      switch (c.observe) {
        case 'kept-of-10':
          expect({ kept: Math.min(10, s.maxLength ?? Infinity) }).toEqual(o);
          break;
        case 'overflow':
          // drop-head keeps the newest message; reject-publish refuses the second.
          expect(s.overflow === 'drop-head' ? 'second' : 'first').toBe(o.head);
          break;
        case 'dead-letter-exchange':
          expect({ deadLetteredTo: s.deadLetterExchange }).toEqual(o);
          break;
        case 'expired':
          expect({ expired: s.messageTtl === 0 }).toEqual(o);
          break;
        case 'queue-expired-after-3s':
          expect({ expired: s.expires !== undefined && s.expires < 3000 }).toEqual(o);
          break;
        case 'deliveries':
          // A quorum queue delivers a message delivery-limit + 1 times before dropping it.
          expect({ deliveries: s.deliveryLimit! + 1 }).toEqual(o);
          break;
        default:
          throw new Error(`no prediction for ${c.observe}`);
      }
    });
  }

  for (const [name, x] of Object.entries(effective.exchanges)) {
    it(`${name}: ${JSON.stringify(x.observed)}`, () => {
      const a = table(Object.entries(x.args).map(([k, v]) => [k, fv.str(String(v))] as const));
      const s = effectiveExchangeSettings({ arguments: a }, policyOf(`p-${name}`, x.policy), undefined);
      expect({ routedTo: s.alternateExchange }).toEqual(x.observed);
    });
  }

  it('reports which policies applied and their merged definition', () => {
    const s = effectiveQueueSettings(
      { type: 'classic', arguments: args({ 'x-message-ttl': 700 }) },
      policyOf('p', { 'max-length': 10, 'message-ttl': 1000 }),
      policyOf('o', { 'max-length': 15, 'message-ttl': 500 }),
    );
    expect(s).toEqual({
      policy: 'p',
      operatorPolicy: 'o',
      effectivePolicyDefinition: { 'max-length': 10, 'message-ttl': 500 },
      maxLength: 10,
      messageTtl: 500,
    });
  });

  it('streams: the policy wins over the argument', () => {
    const s = effectiveQueueSettings(
      { type: 'stream', arguments: table([['x-max-length-bytes', fv.long(1000)], ['x-max-age', fv.str('7D')]]) },
      policyOf('p', { 'max-length-bytes': 5000, 'max-age': '1D' }),
      undefined,
    );
    expect([s.maxLengthBytes, s.maxAge]).toEqual([5000, '1D']);
  });

  it('no policy: the arguments alone', () => {
    const s = effectiveQueueSettings({ type: 'classic', arguments: args({ 'x-max-length': 3, 'x-overflow': 'reject-publish' }) }, undefined, undefined);
    expect(s).toEqual({ policy: undefined, operatorPolicy: undefined, effectivePolicyDefinition: undefined, maxLength: 3, overflow: 'reject-publish' });
  });
});
