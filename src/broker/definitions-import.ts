/**
 * Importing a definitions file into a running broker (rabbitmqctl import_definitions, the
 * load_definitions setting): plan, check, then apply, so that a file with any problem changes
 * nothing.
 *
 * planImport (src/definitions/definitions.ts) checks the file against the broker's state. Before
 * anything is applied, the declarations are also checked the way a declare would refuse them (an
 * alternate-exchange that is not a string, a delayed exchange without a valid x-delayed-type, a
 * dead-letter exchange that is not a string, binding arguments the source's type refuses), so that
 * applying cannot fail half way. Then, in RabbitMQ's order (rabbit_definitions:apply_defs/3): users,
 * vhosts, limits, permissions, topic permissions, exchanges, global parameters, policies, operator
 * policies, queues, bindings.
 */
import type { Logger } from 'pino';
import type { AccessDatabase } from '../access/access-database.js';
import { applyAccessPlan } from '../definitions/access-definitions.js';
import { DefinitionsError, planImport, type DefinitionsIssue, type ExistingState, type ImportPlan } from '../definitions/definitions.js';
import type { JsonValue } from '../util/json.js';
import { AmqpError } from '../errors.js';
import type { Policy, PolicyKind } from '../policy/policy.js';
import type { FieldTable } from '../protocol/field-table.js';
import { VHost } from '../vhost.js';

export interface ImportTarget {
  readonly access: AccessDatabase;
  readonly vhosts: ReadonlyMap<string, VHost>;
  readonly log: Logger;
  putPolicy(v: VHost, kind: PolicyKind, policy: Policy): void;
  setGlobalParameter(name: string, value: JsonValue): void;
}

export interface ImportResult {
  /** The rabbit_version the file names, if any. */
  readonly rabbitVersion: string | undefined;
  /** What was left out, as RabbitMQ leaves it out (amq.* names, entities that exist already). */
  readonly skipped: readonly DefinitionsIssue[];
}

/** load_definitions failed: the file could not be read or was refused (the cause says which). */
export class LoadDefinitionsError extends Error {
  override name = 'LoadDefinitionsError';
  constructor(
    readonly file: string,
    cause: unknown,
  ) {
    const why = cause instanceof DefinitionsError ? cause.message : `cannot be read: ${(cause as NodeJS.ErrnoException).code === 'ENOENT' ? 'it does not exist' : (cause as Error).message}`;
    super(`load_definitions ${file}: ${why}`, { cause });
  }
}

function existingState(t: ImportTarget): ExistingState {
  return {
    hasUser: (name) => t.access.user(name) !== undefined,
    vhost: (name) => {
      const v = t.access.vhost(name);
      return v === undefined ? undefined : { queueLimit: v.limits['max-queues'] };
    },
    hasQueue: (vhost, name) => t.vhosts.get(vhost)?.queues.has(name) ?? false,
    hasExchange: (vhost, name) => t.vhosts.get(vhost)?.exchanges.has(name) ?? false,
    queueCount: (vhost) => t.vhosts.get(vhost)?.queues.size ?? 0,
  };
}

/** The declare checks planImport does not make (they need the model); every problem, none applied. */
function checkDeclarations(t: ImportTarget, plan: ImportPlan): DefinitionsIssue[] {
  const issues: DefinitionsIssue[] = [];
  // A vhost the import creates is checked against a scratch one of the same name (for the texts).
  const scratch = new Map<string, VHost>();
  const vhostFor = (name: string): VHost => {
    const v = t.vhosts.get(name);
    if (v !== undefined) return v;
    let s = scratch.get(name);
    if (s === undefined) scratch.set(name, (s = new VHost(name, t.log)));
    return s;
  };
  const attempt = (path: string, check: () => void) => {
    try {
      check();
    } catch (e) {
      if (!(e instanceof AmqpError)) throw e;
      issues.push({ path, message: e.explanation });
    }
  };
  const newExchanges = new Map<string, { type: string; arguments: FieldTable }>();
  for (const x of plan.exchanges) {
    newExchanges.set(`${x.vhost}\u0000${x.name}`, x);
    attempt(`exchanges (${x.vhost}/${x.name})`, () => vhostFor(x.vhost).checkNewExchange(x.name, x.type, x.arguments));
  }
  for (const q of plan.queues) {
    if (q.name === '') {
      issues.push({ path: `queues (${q.vhost}/'')`, message: 'a queue in a definitions file needs a name' });
      continue;
    }
    attempt(`queues (${q.vhost}/${q.name})`, () => vhostFor(q.vhost).checkNewQueue(q.name, q.durable, false, q.autoDelete, q.arguments));
  }
  for (const b of plan.bindings) {
    const vhost = vhostFor(b.vhost);
    const source = newExchanges.get(`${b.vhost}\u0000${b.source}`) ?? vhost.exchanges.get(b.source);
    if (source === undefined) continue; // planImport reported it
    const sourceArgs = 'options' in source ? source.options.arguments : source.arguments;
    const problem = vhost.bindingProblem(source.type, sourceArgs, b.arguments);
    if (problem !== undefined) issues.push({ path: `bindings (${b.vhost}/${b.source} -> ${b.destinationType} ${b.destination})`, message: problem });
  }
  return issues;
}

/** Imports a definitions file (text or parsed); throws DefinitionsError, having changed nothing, if any part is refused. */
export function importDefinitions(t: ImportTarget, input: string | JsonValue): ImportResult {
  const plan = planImport(input, existingState(t));
  const issues = checkDeclarations(t, plan);
  if (issues.length > 0) throw new DefinitionsError(issues);
  applyAccessPlan(t.access, plan);
  for (const x of plan.exchanges) {
    t.vhosts.get(x.vhost)!.declareExchange({ name: x.name, type: x.type, passive: false, durable: x.durable, autoDelete: x.autoDelete, internal: x.internal, arguments: x.arguments });
  }
  for (const g of plan.globalParameters) t.setGlobalParameter(g.name, g.value);
  for (const p of plan.policies) t.putPolicy(t.vhosts.get(p.vhost)!, 'policy', p);
  for (const p of plan.operatorPolicies) t.putPolicy(t.vhosts.get(p.vhost)!, 'operator_policy', p);
  // The queues and exchanges there take the new policies once (those declared below at declaration).
  for (const name of new Set([...plan.policies, ...plan.operatorPolicies].map((p) => p.vhost))) t.vhosts.get(name)!.policiesChanged();
  for (const q of plan.queues) {
    t.vhosts.get(q.vhost)!.declareQueue({ name: q.name, passive: false, durable: q.durable, exclusive: false, autoDelete: q.autoDelete, arguments: q.arguments, connectionId: 0 });
  }
  for (const b of plan.bindings) t.vhosts.get(b.vhost)!.importBinding(b.source, b.destinationType, b.destination, b.routingKey, b.arguments);
  for (const s of plan.skipped) t.log.info({ path: s.path }, `definitions: ${s.message}`);
  t.log.info(
    {
      users: plan.users.length,
      vhosts: plan.vhosts.length,
      permissions: plan.permissions.length,
      policies: plan.policies.length + plan.operatorPolicies.length,
      exchanges: plan.exchanges.length,
      queues: plan.queues.length,
      bindings: plan.bindings.length,
      skipped: plan.skipped.length,
    },
    'definitions imported',
  );
  return { rabbitVersion: plan.rabbitVersion, skipped: plan.skipped };
}
