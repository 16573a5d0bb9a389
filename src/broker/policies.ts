/**
 * Policies and operator policies as the broker keeps them: validated with RabbitMQ's texts
 * (rabbitmqctl set_policy / set_operator_policy), put in the vhost's PolicySet, recorded in the
 * definitions log, and read back from it at start-up.
 */
import type { Logger } from 'pino';
import { parseJson, writeJson, type JsonValue } from '../util/json.js';
import { formatValidationErrors, policyFromProperties, validatePolicy, type Policy, type PolicyKind, type PolicyProperties } from '../policy/policy.js';
import type { StoredPolicy } from '../store/definitions.js';
import type { VHost } from '../vhost.js';

/** A policy refused by validation: `errors` are RabbitMQ's texts, the message its "Validation failed" block. */
export class PolicyValidationError extends Error {
  override name = 'PolicyValidationError';
  constructor(readonly errors: readonly string[]) {
    super(formatValidationErrors(errors).trimEnd());
  }
}

export function policySet(v: VHost, kind: PolicyKind) {
  return kind === 'policy' ? v.policies : v.operatorPolicies;
}

/** rabbit_policy:set/7 (and set_op/7): the policy, or PolicyValidationError with every problem. */
export function validPolicy(kind: PolicyKind, vhost: string, name: string, props: PolicyProperties): Policy {
  const errors = validatePolicy(kind, name, props);
  if (errors.length > 0) throw new PolicyValidationError(errors);
  return policyFromProperties(vhost, name, props);
}

export function storedPolicy(kind: PolicyKind, p: Policy): StoredPolicy {
  return { kind, vhost: p.vhost, name: p.name, pattern: p.pattern, applyTo: p.applyTo, priority: p.priority, definition: writeJson(p.definition as JsonValue) };
}

/** Puts the recorded policies into their vhosts (before anything listens); a damaged one is logged and left out. */
export function restorePolicies(stored: Iterable<StoredPolicy>, vhosts: ReadonlyMap<string, VHost>, log: Logger): void {
  for (const s of stored) {
    const v = vhosts.get(s.vhost);
    if (v === undefined) continue;
    try {
      const policy = validPolicy(s.kind, s.vhost, s.name, { pattern: s.pattern, definition: parseJson(s.definition), priority: s.priority, 'apply-to': s.applyTo });
      policySet(v, s.kind).put(policy);
    } catch (e) {
      log.error({ err: (e as Error).message, vhost: s.vhost, name: s.name }, 'a policy in the definitions log could not be restored; left out');
    }
  }
}
