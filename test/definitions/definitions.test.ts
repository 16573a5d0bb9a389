import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { AccessDatabase } from '../../src/access/access-database.js';
import { accessModel, applyAccessPlan } from '../../src/definitions/access-definitions.js';
import {
  DefinitionsError,
  EMPTY_STATE,
  exportDefinitionsText,
  planImport,
  serializeDefinitions,
  type DefinedExchange,
  type DefinitionsIssue,
  type DefinitionsModel,
  type ExistingState,
  type ImportPlan,
} from '../../src/definitions/definitions.js';
import { parseJson, writeJson, type JsonValue } from '../../src/util/json.js';

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
/** rabbitmqctl export_definitions on 3.10.8 of a node with users, vhosts, policies, queues... */
const RABBIT_EXPORT = fixture('export.rabbitmq-3.10.8.json');
/** What Warren wrote for that file; RabbitMQ 3.10.8 imported it, and exported what follows. */
const WARREN_EXPORT = fixture('warren-export.json');
const REEXPORTED = fixture('warren-export.reexported-by-rabbitmq-3.10.8.json');

/** The internal exchange of the recorded node: RabbitMQ's export leaves it out but binds to it. */
const INTERNAL_X: DefinedExchange = { vhost: 'orders', name: 'internal.x', type: 'headers', durable: true, autoDelete: false, internal: true, arguments: new Map() };
const withInternalX: ExistingState = { ...EMPTY_STATE, hasExchange: (v, n) => v === INTERNAL_X.vhost && n === INTERNAL_X.name };

function issuesOf(input: string | JsonValue, existing: ExistingState = EMPTY_STATE): DefinitionsIssue[] {
  try {
    planImport(input, existing);
  } catch (e) {
    if (e instanceof DefinitionsError) return [...e.issues];
    throw e;
  }
  return [];
}

/** The model a broker would have after applying the plan to an empty broker. */
function modelOf(plan: ImportPlan, extraExchanges: DefinedExchange[] = []): DefinitionsModel {
  const db = new AccessDatabase();
  applyAccessPlan(db, plan);
  return {
    ...accessModel(db),
    policies: plan.policies,
    operatorPolicies: plan.operatorPolicies,
    globalParameters: plan.globalParameters,
    queues: plan.queues,
    exchanges: [...plan.exchanges, ...extraExchanges],
    bindings: plan.bindings,
  };
}

/**
 * Definitions compared as sets: entries in any order (RabbitMQ's are in table order), the two
 * spellings of an empty vhost tag list ("" and []) and of an operator policy's definition (a list
 * of pairs or an object) as one.
 */
function normalised(text: string): Record<string, unknown> {
  const d = parseJson(text) as Record<string, JsonValue>;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(d)) {
    if (!Array.isArray(v)) {
      out[k] = v;
      continue;
    }
    out[k] = v
      .map((e) => {
        const x = e as Record<string, JsonValue>;
        if (k === 'vhosts') {
          const meta = x.metadata as Record<string, JsonValue>;
          return { ...x, metadata: { ...meta, tags: meta.tags === '' ? [] : meta.tags } };
        }
        if (k === 'parameters' && x.component === 'operator_policy') {
          const value = x.value as Record<string, JsonValue>;
          const def = value.definition;
          return { ...x, value: { ...value, definition: Array.isArray(def) ? Object.fromEntries(def.map((p) => p as [string, JsonValue])) : def } };
        }
        return x;
      })
      .map((x) => writeJson(x as JsonValue))
      .sort();
  }
  return out;
}

describe('a RabbitMQ 3.10.8 export', () => {
  it('is refused on an empty broker, for the two bindings to the internal exchange RabbitMQ left out', () => {
    expect(issuesOf(RABBIT_EXPORT)).toEqual([
      { path: 'bindings[3].destination', message: "exchange 'internal.x' in vhost 'orders' is neither in the file nor on the broker" },
      { path: 'bindings[5].source', message: "exchange 'internal.x' in vhost 'orders' is neither in the file nor on the broker" },
    ]);
  });

  it('imports whole where that exchange exists, and writes back the same definitions', () => {
    const plan = planImport(RABBIT_EXPORT, withInternalX);
    expect(plan.skipped).toEqual([]);
    const text = exportDefinitionsText(modelOf(plan), { internalExchanges: 'omit' });
    expect(normalised(text)).toEqual(normalised(RABBIT_EXPORT));
  });

  it('keeps password hashes and their algorithms, so its users log in unchanged', () => {
    const plan = planImport(RABBIT_EXPORT, withInternalX);
    const db = new AccessDatabase();
    applyAccessPlan(db, plan);
    expect(db.authenticate('alice', 's3cret').ok).toBe(true);
    expect(db.authenticate('carol', 'pässwörd').ok).toBe(true);
    expect(db.authenticate('ext-user', 'x').ok).toBe(false);
    expect(db.authenticateExternal('ext-user').ok).toBe(true);
    expect(db.user('bob')!.limits).toEqual({ 'max-channels': 10, 'max-connections': 3 });
    expect(db.vhost('orders')).toMatchObject({ description: 'Order processing', tags: ['prod', 'eu'], defaultQueueType: 'quorum', limits: { 'max-connections': 50, 'max-queues': 200 } });
    expect(db.grant('bob', 'orders').topicPermissions.get('amq.topic')).toMatchObject({ write: '^{username}\\.', read: '^{vhost}-.*' });
  });

  it("accepts an operator policy's definition as the list of pairs 3.10.8 exports (and its own import refuses)", () => {
    const plan = planImport(RABBIT_EXPORT, withInternalX);
    expect(plan.operatorPolicies).toEqual([
      { vhost: 'orders', name: 'cap', pattern: '.*', applyTo: 'queues', priority: 2, definition: { expires: 86400000, 'max-length': 1000, 'message-ttl': 3600000 } },
    ]);
  });

  it('turns JSON arguments into field tables as RabbitMQ does: integers long, floats double', () => {
    const plan = planImport(RABBIT_EXPORT, withInternalX);
    const ttl = plan.queues.find((q) => q.name === 'ttl.orders')!;
    expect(ttl.arguments.get('x-max-priority')).toEqual({ type: 'l', value: 10 });
    expect(ttl.arguments.get('x-queue-mode')).toEqual({ type: 'S', value: 'lazy' });
    const b = plan.bindings.find((x) => x.destination === 'ttl.orders')!;
    expect(b.arguments.get('flt')).toEqual({ type: 'd', value: 1.5 });
    expect(b.arguments.get('nested')?.type).toBe('F');
  });
});

describe("Warren's export", () => {
  it('is byte for byte what RabbitMQ 3.10.8 was given and imported (recorded)', () => {
    const plan = planImport(RABBIT_EXPORT, withInternalX);
    expect(exportDefinitionsText(modelOf(plan, [INTERNAL_X]))).toBe(WARREN_EXPORT);
  });

  it('came back from RabbitMQ with the same definitions, less the internal exchange RabbitMQ does not export', () => {
    const back = normalised(REEXPORTED);
    const sent = normalised(WARREN_EXPORT);
    const internal = (sent.exchanges as string[]).filter((x) => x.includes('"internal":true'));
    expect(internal).toHaveLength(1);
    expect(back).toEqual({ ...sent, exchanges: (sent.exchanges as string[]).filter((x) => !internal.includes(x)) });
  });

  it('writes the top-level keys and each entry in Erlang order, compactly', () => {
    const text = exportDefinitionsText(modelOf(planImport(RABBIT_EXPORT, withInternalX)));
    expect(Object.keys(JSON.parse(text))).toEqual(Object.keys(JSON.parse(RABBIT_EXPORT)));
    expect(text).not.toMatch(/\n| :/);
  });

  it('omits internal exchanges when asked to copy RabbitMQ exactly', () => {
    const model = modelOf(planImport(RABBIT_EXPORT, withInternalX), [INTERNAL_X]);
    const names = (x: JsonValue) => ((x as Record<string, JsonValue>).exchanges as Record<string, JsonValue>[]).map((e) => e.name);
    expect(names(serializeDefinitions(model))).toContain('internal.x');
    expect(names(serializeDefinitions(model, { internalExchanges: 'omit' }))).not.toContain('internal.x');
  });
});

describe('refusing bad files whole, saying where', () => {
  const base = {
    vhosts: [{ name: 'v' }],
    users: [{ name: 'u', password_hash: '', tags: [] }],
  };
  const file = (extra: Record<string, unknown>) => ({ ...base, ...extra }) as unknown as JsonValue;

  it('not JSON: line and column', () => {
    expect(issuesOf('{\n  "users": [\n    {"name": "u",}\n  ]\n}')).toEqual([
      { path: '(file)', message: 'not JSON: expected a string as object key at line 3 column 18' },
    ]);
  });

  it('an unknown field, a wrong type, a missing field', () => {
    expect(issuesOf(file({ queues: [{ vhost: 'v', name: 'q', durable: 'yes', auto_delete: false, colour: 'red' }] }))).toEqual([
      { path: 'queues[0].durable', message: 'should be true or false, was <<"yes">>' },
      { path: 'queues[0].colour', message: 'unknown field' },
    ]);
    expect(issuesOf(file({ exchanges: [{ vhost: 'v', name: 'x', type: 'direct', durable: true }] }))).toEqual([
      { path: 'exchanges[0].auto_delete', message: 'missing' },
    ]);
    expect(issuesOf(file({ bogus: [] }))).toEqual([{ path: '.bogus', message: 'unknown field' }]);
    expect(issuesOf(file({ queues: {} }))).toEqual([{ path: 'queues', message: 'should be a list, was #{}' }]);
    expect(issuesOf([] as JsonValue)).toEqual([{ path: '(file)', message: 'the definitions must be a JSON object' }]);
  });

  it('a bad regex in a permission, with the offending entry', () => {
    expect(issuesOf(file({ permissions: [{ user: 'u', vhost: 'v', configure: '.*', write: '(', read: '.*' }] }))).toEqual([
      { path: 'permissions[0].write', message: "regular expression '(' is invalid: missing ) at 1" },
    ]);
  });

  it('references to users and vhosts neither in the file nor on the broker', () => {
    expect(issuesOf(file({ permissions: [{ user: 'nobody', vhost: 'nowhere', configure: '.*', write: '.*', read: '.*' }] }))).toEqual([
      { path: 'permissions[0].vhost', message: "vhost 'nowhere' is neither in the file nor on the broker (no_such_vhost)" },
      { path: 'permissions[0].user', message: "user 'nobody' is neither in the file nor on the broker (no_such_user)" },
    ]);
    const onBroker: ExistingState = { ...EMPTY_STATE, hasUser: (u) => u === 'nobody', vhost: (v) => (v === 'nowhere' ? {} : undefined) };
    expect(issuesOf(file({ permissions: [{ user: 'nobody', vhost: 'nowhere', configure: '.*', write: '.*', read: '.*' }] }), onBroker)).toEqual([]);
  });

  it('a dangling binding', () => {
    expect(issuesOf(file({ bindings: [{ vhost: 'v', source: 'amq.direct', destination: 'q', destination_type: 'queue', routing_key: 'k', arguments: {} }] }))).toEqual([
      { path: 'bindings[0].destination', message: "queue 'q' in vhost 'v' is neither in the file nor on the broker" },
    ]);
  });

  it("a bad policy, with RabbitMQ's text and the (vhost/name) suffix of a definitions import", () => {
    expect(issuesOf(file({ policies: [{ vhost: 'v', name: 'p', pattern: '.*', definition: { 'message-ttl': -1 }, priority: 0, 'apply-to': 'queues' }] }))).toEqual([
      { path: 'policies[0]', message: '-1 is not a valid message TTL (v/p)' },
    ]);
    expect(issuesOf('{"vhosts":[{"name":"v"}],"policies":[{"vhost":"v","name":"p","pattern":".*","definition":{"message-ttl":1000.0}}]}')).toEqual([
      { path: 'policies[0]', message: '1.0e3 is not a valid message TTL (v/p)' },
    ]);
  });

  it('queue arguments RabbitMQ would refuse at declare, with its 406 text; null in arguments', () => {
    expect(issuesOf(file({ queues: [{ vhost: 'v', name: 'q', durable: true, auto_delete: false, arguments: { 'x-max-length': -1 } }] }))).toEqual([
      { path: 'queues[0].arguments', message: "invalid arg 'x-max-length' for queue 'q' in vhost 'v': {value_negative,-1}" },
    ]);
    expect(issuesOf(file({ queues: [{ vhost: 'v', name: 'q', durable: true, auto_delete: false, arguments: { 'x-foo': null } }] }))).toEqual([
      { path: 'queues[0].arguments.x-foo', message: 'null is not allowed in arguments (RabbitMQ: null_not_allowed)' },
    ]);
    expect(issuesOf(file({ queues: [{ vhost: 'v', name: 'q', durable: false, auto_delete: true, arguments: { 'x-queue-type': 'quorum' } }] }))).toEqual([
      { path: 'queues[0].durable', message: "invalid property 'non-durable' for queue 'q' in vhost 'v': quorum queues are durable" },
      { path: 'queues[0].auto_delete', message: "invalid property 'auto-delete' for queue 'q' in vhost 'v'" },
    ]);
  });

  it('names longer than AMQP allows; duplicates; unknown parameter components; unknown exchange types', () => {
    const long = 'q'.repeat(256);
    expect(issuesOf(file({ queues: [{ vhost: 'v', name: long, durable: true, auto_delete: false }] }))).toEqual([
      { path: 'queues[0].name', message: 'a queue name is at most 255 bytes (AMQP shortstr), this one is 256' },
    ]);
    expect(issuesOf(file({ vhosts: [{ name: 'v' }, { name: 'v' }] }))).toEqual([{ path: 'vhosts[1]', message: "vhost 'v' is defined twice (first at vhosts[0])" }]);
    expect(issuesOf(file({ parameters: [{ vhost: 'v', component: 'federation-upstream', name: 'up', value: { uri: 'amqp://' } }] }))).toEqual([
      { path: 'parameters[0].component', message: 'component federation-upstream not found (Warren has operator_policy and vhost-limits)' },
    ]);
    expect(issuesOf(file({ exchanges: [{ vhost: 'v', name: 'x', type: 'x-consistent-hash', durable: true, auto_delete: false }] }))).toEqual([
      { path: 'exchanges[0].type', message: "unknown exchange type 'x-consistent-hash'" },
    ]);
  });

  it("the vhost's queue limit in force before the import, with RabbitMQ's text", () => {
    const limited: ExistingState = { ...EMPTY_STATE, vhost: (v) => (v === 'v' ? { queueLimit: 2 } : undefined), queueCount: () => 1 };
    const queues = ['a', 'b'].map((name) => ({ vhost: 'v', name, durable: true, auto_delete: false }));
    expect(issuesOf({ queues } as unknown as JsonValue, limited)).toEqual([
      { path: 'queues', message: 'Adding 2 queue(s) to virtual host "v" would exceed the limit of 2 queue(s).\n\nThis virtual host currently has 1 queue(s) defined.\n\nImport aborted!' },
    ]);
  });

  it('collects every problem, up to a limit', () => {
    const queues = Array.from({ length: 500 }, (_, i) => ({ vhost: 'nowhere', name: `q${i}`, durable: true, auto_delete: false }));
    let error: DefinitionsError | undefined;
    try {
      planImport({ queues } as unknown as JsonValue, EMPTY_STATE, { maxIssues: 20 });
    } catch (e) {
      error = e as DefinitionsError;
    }
    expect(error?.issues).toHaveLength(20);
    expect(error?.message).toMatch(/^the definitions were refused, nothing was imported: queues\[0\]\.vhost: vhost 'nowhere'.*; and 10 more$/);
  });
});

describe('what RabbitMQ skips, Warren skips and says so', () => {
  it('amq.* and default exchanges, amq.* queues, and entities that exist', () => {
    const existing: ExistingState = { ...EMPTY_STATE, vhost: (v) => (v === 'v' ? {} : undefined), hasQueue: (_v, q) => q === 'there', hasExchange: (_v, x) => x === 'xthere' };
    const plan = planImport(
      {
        exchanges: [
          { vhost: 'v', name: '', type: 'direct', durable: true, auto_delete: false },
          { vhost: 'v', name: 'amq.mine', type: 'direct', durable: true, auto_delete: false },
          { vhost: 'v', name: 'xthere', type: 'fanout', durable: true, auto_delete: false },
        ],
        queues: [
          { vhost: 'v', name: 'amq.q', durable: true, auto_delete: false },
          { vhost: 'v', name: 'there', durable: true, auto_delete: false },
        ],
      } as unknown as JsonValue,
      existing,
    );
    expect(plan.exchanges).toEqual([]);
    expect(plan.queues).toEqual([]);
    expect(plan.skipped.map((s) => s.path)).toEqual(['exchanges[0]', 'exchanges[1]', 'exchanges[2]', 'queues[0]', 'queues[1]']);
  });

  it('an empty file is an empty set of definitions', () => {
    expect(planImport('  ').users).toEqual([]);
  });
});

describe('older and hand-written files', () => {
  it('a 3.5 export: no hashing_algorithm means MD5; tags as a comma-separated string', () => {
    const legacy = JSON.parse(readFileSync(new URL('../access/fixtures/password-hashes.rabbitmq-3.10.8.json', import.meta.url), 'utf8')).legacyImport;
    const plan = planImport({
      rabbit_version: '3.5.7',
      users: [{ name: 'old', password_hash: legacy.password_hash, tags: 'administrator, monitoring' }],
    } as JsonValue);
    const db = new AccessDatabase();
    applyAccessPlan(db, plan);
    expect(db.user('old')).toMatchObject({ hashingAlgorithm: 'rabbit_password_hashing_md5', tags: ['administrator', 'monitoring'] });
    expect(db.authenticate('old', legacy.password).ok).toBe(true);
  });

  it('a cleartext password, the legacy administrator field, pre-configured permissions', () => {
    const plan = planImport({
      vhosts: [{ name: 'v' }],
      users: [{ name: 'a', password: 'pw', administrator: 'true', permissions: { v: { configure: '.*', write: '.*', read: '^r' } } }],
    } as JsonValue);
    const db = new AccessDatabase();
    applyAccessPlan(db, plan);
    expect(db.authenticate('a', 'pw')).toEqual({ ok: true, user: { name: 'a', tags: ['administrator'] } });
    expect(db.permission('a', 'v')).toEqual({ user: 'a', vhost: 'v', configure: '.*', write: '.*', read: '^r' });
  });

  it('a user without tags is refused, as RabbitMQ refuses it (tags_not_present)', () => {
    expect(issuesOf({ users: [{ name: 'a', password: 'pw' }] } as JsonValue)).toEqual([
      { path: 'users[0].tags', message: 'missing (RabbitMQ refuses a user without tags: tags_not_present)' },
    ]);
  });

  it('vhost metadata: top-level description and tags win over metadata, as in add_vhost/2', () => {
    const plan = planImport({ vhosts: [{ name: 'v', description: 'top', tags: 'a,b', metadata: { description: 'meta', tags: ['c'], default_queue_type: 'quorum' } }] } as JsonValue);
    expect(plan.vhosts).toEqual([{ name: 'v', description: 'top', tags: ['a', 'b'], defaultQueueType: 'quorum' }]);
  });
});
