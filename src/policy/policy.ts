/**
 * Policies and operator policies as RabbitMQ 3.10.8 has them (rabbit_policy, rabbit_policies,
 * rabbit_mirror_queue_misc, rabbit_queue_location_validator), and the settings a queue ends up with.
 *
 * - Validation: the keys and texts of `rabbitmqctl set_policy` ("-1 is not a valid message TTL",
 *   "[{<<\"max-priority\">>,10}] are not recognised policy settings", ...), all problems of a policy
 *   listed, in RabbitMQ's order.
 * - Matching (rabbit_policy:match/2): among the vhost's policies whose apply-to covers the entity, whose
 *   pattern (an unanchored Erlang regex) matches its name, and whose every key the queue's type supports
 *   (rabbit_queue_type:is_policy_applicable: a policy with a key the type does not support does not
 *   apply to it at all), the one with the highest priority. Ties: RabbitMQ takes the first in its
 *   parameter table's order, which is not a documented order; Warren takes the name that sorts first.
 * - Operator policies are matched the same way; for a key both define, the lower value wins
 *   (rabbit_policies:merge_policy_value; operator policies may only set numeric limits).
 * - A queue's effective setting for a key combines that merged policy value with its x-argument by a
 *   rule per key and queue type (rabbit_amqqueue_process:process_args_policy,
 *   rabbit_quorum_queue:ra_machine_config, rabbit_stream_queue:update_stream_conf): the lower number,
 *   or the argument, or the policy.
 */
import type { FieldTable, FieldValue } from '../protocol/field-table.js';
import type { QueueType } from '../queue/arguments.js';
import { PcreSyntaxError, PcreUnsupportedError, compilePcre, type CompiledPattern } from '../util/pcre.js';
import { erlangString, erlangTerm } from '../protocol/erlang-term.js';
import { type FloatValue, isJsonInteger, isJsonNumber, isJsonObject, jsonNumber, type JsonValue } from '../util/json.js';

export type PolicyKind = 'policy' | 'operator_policy';
type ApplyTo = 'queues' | 'exchanges' | 'all';
export type PolicyDefinition = Readonly<Record<string, JsonValue>>;

export interface Policy {
  readonly vhost: string;
  readonly name: string;
  readonly pattern: string;
  readonly applyTo: ApplyTo;
  readonly priority: number;
  readonly definition: PolicyDefinition;
}

// --- validation --------------------------------------------------------------------------------

type Check = (v: JsonValue) => string | undefined;

const p = erlangTerm;
const int = (v: JsonValue) => isJsonInteger(v);
const num = (v: JsonValue) => (isJsonNumber(v) ? jsonNumber(v) : NaN);
const intAtLeast =
  (min: number, text: string): Check =>
  (v) =>
    int(v) && num(v) >= min ? undefined : `${p(v)} ${text}`;
const oneOf =
  (values: readonly string[], text: string): Check =>
  (v) =>
    typeof v === 'string' && values.includes(v) ? undefined : `${p(v)} ${text}`;
const binary =
  (text: string): Check =>
  (v) =>
    typeof v === 'string' ? undefined : `${p(v)} ${text}`;

const MAX_STREAM_MAX_SEGMENT_SIZE = 3_000_000_000;

function maxAge(v: JsonValue): string | undefined {
  const ok = typeof v === 'string' && /^([0-9]+)(Y|M|D|h|m|s)$/.test(v) && Number(/^[0-9]+/.exec(v)![0]) > 0;
  return ok ? undefined : `${p(v)} is not a valid max age`;
}

/** rabbit_policies:validate_policy0/2, key by key. */
const RABBIT_POLICIES: Readonly<Record<string, Check>> = {
  'alternate-exchange': binary('is not a valid alternate exchange name'),
  'dead-letter-exchange': binary('is not a valid dead letter exchange name'),
  'dead-letter-routing-key': binary('is not a valid dead letter routing key'),
  'dead-letter-strategy': oneOf(['at-most-once', 'at-least-once'], 'is not a valid dead letter strategy'),
  'message-ttl': intAtLeast(0, 'is not a valid message TTL'),
  expires: intAtLeast(1, 'is not a valid queue expiry'),
  'max-length': intAtLeast(0, 'is not a valid maximum length'),
  'max-length-bytes': intAtLeast(0, 'is not a valid maximum length in bytes'),
  'max-in-memory-length': intAtLeast(0, 'is not a valid maximum memory in bytes'),
  'max-in-memory-bytes': intAtLeast(0, 'is not a valid maximum memory in bytes'),
  'queue-mode': oneOf(['default', 'lazy'], 'is not a valid queue-mode value'),
  'queue-version': (v) => (int(v) && (num(v) === 1 || num(v) === 2) ? undefined : `${p(v)} is not a valid queue-version value`),
  overflow: oneOf(['drop-head', 'reject-publish', 'reject-publish-dlx'], 'is not a valid overflow value'),
  'delivery-limit': intAtLeast(0, 'is not a valid delivery limit'),
  'max-age': maxAge,
  'stream-max-segment-size-bytes': (v) =>
    int(v) && num(v) >= 0 && num(v) <= MAX_STREAM_MAX_SEGMENT_SIZE ? undefined : `${p(v)} is not a valid segment size`,
  'queue-leader-locator': oneOf(['client-local', 'balanced', 'random', 'least-leaders'], 'is not a valid queue leader locator value'),
  'initial-cluster-size': intAtLeast(0, 'is not a valid cluster size'),
};

/** The keys operator policies may set (operator_policy_validator registrations). */
const OPERATOR_POLICY_KEYS = ['expires', 'message-ttl', 'max-length', 'max-length-bytes', 'max-in-memory-length', 'max-in-memory-bytes', 'delivery-limit'] as const;

const MIRRORING_KEYS = ['ha-mode', 'ha-params', 'ha-sync-mode', 'ha-sync-batch-size', 'ha-promote-on-shutdown', 'ha-promote-on-failure'];

/**
 * rabbit_mirror_queue_misc:validate_policy/1. Classic mirroring does not exist on one node, but
 * RabbitMQ 3.10 accepts these keys, so Warren accepts (and ignores) them.
 */
function validateMirroring(d: PolicyDefinition): string | undefined {
  const get = (k: string) => (Object.hasOwn(d, k) ? d[k] : undefined);
  const [mode, params, sync, batch, pos, pof] = MIRRORING_KEYS.map(get);
  if ([mode, params, sync, batch, pos, pof].every((x) => x === undefined)) return undefined;
  if (mode === undefined) return 'ha-mode must be specified to specify ha-params, ha-sync-mode or ha-promote-on-shutdown';
  if (mode !== 'all' && mode !== 'exactly' && mode !== 'nodes') return `${p(mode!)} is not a valid ha-mode value`;
  if (mode === 'all' && params !== undefined) return 'ha-mode="all" does not take parameters';
  if (mode === 'exactly' && !(params !== undefined && int(params) && num(params) > 0)) return `ha-mode="exactly" takes an integer, ${params === undefined ? 'none' : p(params)} given`;
  if (mode === 'nodes') {
    if (Array.isArray(params) && params.length === 0) return 'ha-mode="nodes" list must be non-empty';
    if (!Array.isArray(params)) return `ha-mode="nodes" takes a list, ${params === undefined ? 'none' : p(params)} given`;
    const bad = params.filter((x) => typeof x !== 'string');
    if (bad.length > 0) return `ha-mode="nodes" takes a list of strings, ${p(bad)} was not a string`;
  }
  if (sync !== undefined && sync !== 'automatic' && sync !== 'manual') return `ha-sync-mode must be "manual" or "automatic", got ${p(sync)}`;
  if (batch !== undefined && !(int(batch) && num(batch) > 0)) return `ha-sync-batch-size takes an integer greater than 0, ${p(batch)} given`;
  if (pos !== undefined && pos !== 'always' && pos !== 'when-synced') return `ha-promote-on-shutdown must be "always" or "when-synced", got ${p(pos)}`;
  if (pof !== undefined && pof !== 'always' && pof !== 'when-synced') return `ha-promote-on-failure must be "always" or "when-synced", got ${p(pof)}`;
  return undefined;
}

/** rabbit_queue_location_validator: the queue_master_locator strategies 3.10 registers. */
function validateMasterLocator(v: JsonValue): string | undefined {
  return typeof v === 'string' && ['min-masters', 'client-local', 'random'].includes(v) ? undefined : `${p(v)} invalid queue-master-locator value`;
}

/** Keys policies accept, for anyone listing them. */
const POLICY_KEYS = [...Object.keys(RABBIT_POLICIES), ...MIRRORING_KEYS, 'queue-master-locator'] as const;

/** rabbit_policy:validation/3: the first problem, then the keys nothing validated. */
function validateDefinition(kind: PolicyKind, name: string, definition: unknown): string | undefined {
  if (definition === undefined) return `parse error while reading policy ${name}: undefined. Validator: ${kind}_validator.`;
  if (Array.isArray(definition)) {
    if (definition.length === 0) return 'no policy provided';
    return `definition must be a dictionary: ${p(definition as JsonValue)}`;
  }
  if (!isJsonObject(definition)) return `parse error while reading policy ${name}: ${p(definition as JsonValue)}. Validator: ${kind}_validator.`;
  const keys = Object.keys(definition).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  if (keys.length === 0) return 'no policy provided';
  const allowed = kind === 'policy' ? new Set<string>(POLICY_KEYS) : new Set<string>(OPERATOR_POLICY_KEYS);
  // One validator module after the other, each over its keys in order; the first error stops all.
  for (const k of keys) {
    if (!allowed.has(k)) continue;
    const check = RABBIT_POLICIES[k];
    if (check !== undefined) {
      const e = check(definition[k]!);
      if (e !== undefined) return e;
    }
  }
  if (kind === 'policy') {
    const e = validateMirroring(definition);
    if (e !== undefined) return e;
    if (Object.hasOwn(definition, 'queue-master-locator')) {
      const l = validateMasterLocator(definition['queue-master-locator']!);
      if (l !== undefined) return l;
    }
  }
  const unknown = keys.filter((k) => !allowed.has(k));
  if (unknown.length > 0) return `[${unknown.map((k) => `{${p(k)},${p(definition[k]!)}}`).join(',')}] are not recognised policy settings`;
  return undefined;
}

function validatePattern(v: unknown): string | undefined {
  if (typeof v !== 'string') return `pattern should be a binary but was ${p(v as JsonValue)}`;
  try {
    compilePcre(v);
    return undefined;
  } catch (e) {
    if (e instanceof PcreSyntaxError) {
      // ~p of {Message, Offset} after 53 columns of text: io_lib_pretty breaks a tuple that would
      // reach past column 77 after its first element, aligning the second under it.
      const lead = 'pattern should be regular expression but is invalid: ';
      const message = erlangString(e.message);
      const oneLine = `{${message},${e.offset}}`;
      return lead.length + oneLine.length <= 77 ? lead + oneLine : `${lead}{${message},\n${' '.repeat(lead.length + 1)}${e.offset}}`;
    }
    if (e instanceof PcreUnsupportedError) return `pattern: ${e.message}`;
    throw e;
  }
}

export interface PolicyProperties {
  readonly pattern?: unknown;
  readonly definition?: unknown;
  readonly priority?: unknown;
  readonly 'apply-to'?: unknown;
}

/**
 * rabbit_policy:validate/5 (via rabbit_parameter_validation:proplist/3): every problem of the policy,
 * as RabbitMQ lists them (definition, apply-to, pattern, priority); [] when it is valid.
 * As rabbit_policy:set/8 does, a missing priority is 0 and a missing apply-to is "all".
 */
export function validatePolicy(kind: PolicyKind, name: string, props: PolicyProperties): string[] {
  const errors: string[] = [];
  const d = validateDefinition(kind, name, props.definition);
  if (d !== undefined) errors.push(d);
  const applyTo = props['apply-to'] ?? 'all';
  if (applyTo !== 'all' && applyTo !== 'queues' && applyTo !== 'exchanges') {
    const shown = typeof applyTo === 'string' ? applyTo : p(applyTo as JsonValue);
    errors.push(`apply-to '${shown}' unrecognised; should be 'queues', 'exchanges' or 'all'`);
  }
  const pat = validatePattern(props.pattern);
  if (pat !== undefined) errors.push(pat);
  const priority = props.priority ?? 0;
  if (!isJsonNumber(priority as JsonValue)) errors.push(`priority should be a number, actually was ${p(priority as JsonValue)}`);
  return errors;
}

/** rabbit_runtime_parameters:format_error/1: the text set_policy and definition imports show. */
export function formatValidationErrors(errors: readonly string[]): string {
  return ['Validation failed', '', ...errors].join('\n') + '\n';
}

/** A policy from validated properties (validatePolicy returned []). */
export function policyFromProperties(vhost: string, name: string, props: PolicyProperties): Policy {
  const priority = (props.priority ?? 0) as number | bigint | FloatValue;
  return {
    vhost,
    name,
    pattern: props.pattern as string,
    applyTo: (props['apply-to'] ?? 'all') as ApplyTo,
    priority: jsonNumber(priority),
    definition: { ...(props.definition as Record<string, JsonValue>) },
  };
}

// --- matching ----------------------------------------------------------------------------------

/** The policy keys each queue type does not support (capabilities() unsupported_policies, 3.10.8). */
const UNSUPPORTED_POLICY_KEYS: Readonly<Record<QueueType, readonly string[]>> = {
  classic: ['max-age', 'stream-max-segment-size-bytes', 'queue-leader-locator', 'initial-cluster-size', 'delivery-limit', 'dead-letter-strategy'],
  quorum: [
    'max-priority', 'queue-mode', 'single-active-consumer', 'ha-mode', 'ha-params', 'ha-sync-mode', 'ha-promote-on-shutdown',
    'ha-promote-on-failure', 'queue-master-locator', 'max-age', 'stream-max-segment-size-bytes', 'initial-cluster-size',
  ],
  stream: [
    'expires', 'message-ttl', 'dead-letter-exchange', 'dead-letter-routing-key', 'max-length', 'max-in-memory-length',
    'max-in-memory-bytes', 'max-priority', 'overflow', 'queue-mode', 'single-active-consumer', 'delivery-limit', 'ha-mode',
    'ha-params', 'ha-sync-mode', 'ha-promote-on-shutdown', 'ha-promote-on-failure', 'queue-master-locator', 'dead-letter-strategy',
  ],
};

export type PolicySubject = { readonly kind: 'queue'; readonly name: string; readonly type: QueueType } | { readonly kind: 'exchange'; readonly name: string };

interface Compiled {
  readonly policy: Policy;
  readonly pattern: CompiledPattern;
}

/**
 * The policies or the operator policies of one vhost, patterns compiled once. `version` moves on
 * every change, so queues can tell that they must look again (RabbitMQ bumps each matched queue's
 * policy_version and calls policy_changed).
 */
export class PolicySet {
  private readonly byName = new Map<string, Compiled>();
  private sorted: Compiled[] | undefined;
  version = 0;

  /** Adds or replaces a validated policy. Throws PcreSyntaxError if its pattern does not compile. */
  put(policy: Policy): void {
    this.byName.set(policy.name, { policy, pattern: compilePcre(policy.pattern) });
    this.changed();
  }

  delete(name: string): boolean {
    const had = this.byName.delete(name);
    if (had) this.changed();
    return had;
  }

  get(name: string): Policy | undefined {
    return this.byName.get(name)?.policy;
  }

  list(): Policy[] {
    return this.ordered().map((c) => c.policy);
  }

  /** rabbit_policy:match/2: the highest-priority applicable policy, or undefined. */
  match(subject: PolicySubject): Policy | undefined {
    for (const c of this.ordered()) if (applies(c, subject)) return c.policy;
    return undefined;
  }

  private changed(): void {
    this.sorted = undefined;
    this.version++;
  }

  private ordered(): Compiled[] {
    this.sorted ??= [...this.byName.values()].sort(
      (a, b) => b.policy.priority - a.policy.priority || Buffer.compare(Buffer.from(a.policy.name), Buffer.from(b.policy.name)),
    );
    return this.sorted;
  }
}

function applies(c: Compiled, s: PolicySubject): boolean {
  const applyTo = c.policy.applyTo;
  if (applyTo !== 'all' && applyTo !== (s.kind === 'queue' ? 'queues' : 'exchanges')) return false;
  if (s.kind === 'queue') {
    const unsupported = UNSUPPORTED_POLICY_KEYS[s.type];
    for (const k of Object.keys(c.policy.definition)) if (unsupported.includes(k)) return false;
  }
  return c.pattern.test(s.name);
}

// --- merging -----------------------------------------------------------------------------------

const MIN_WINS = new Set<string>(['message-ttl', 'max-length', 'max-length-bytes', 'max-in-memory-length', 'max-in-memory-bytes', 'expires', 'delivery-limit']);

/** rabbit_policies:merge_policy_value/3 (the only keys both kinds of policy can have are these). */
function mergePolicyValue(key: string, value: JsonValue, opValue: JsonValue): JsonValue {
  if (MIN_WINS.has(key) && isJsonNumber(value) && isJsonNumber(opValue)) return jsonNumber(opValue) < jsonNumber(value) ? opValue : value;
  return opValue;
}

/**
 * rabbit_policy:merge_operator_definitions/2: the effective policy definition the management API
 * shows for a queue or exchange; undefined when neither applies.
 */
export function mergeOperatorDefinitions(policy: Policy | undefined, operatorPolicy: Policy | undefined): PolicyDefinition | undefined {
  if (policy === undefined && operatorPolicy === undefined) return undefined;
  if (operatorPolicy === undefined) return policy!.definition;
  if (policy === undefined) return operatorPolicy.definition;
  const out: Record<string, JsonValue> = {};
  const keys = new Set([...Object.keys(policy.definition), ...Object.keys(operatorPolicy.definition)]);
  for (const k of [...keys].sort()) {
    const v = Object.hasOwn(policy.definition, k) ? policy.definition[k] : undefined;
    const o = Object.hasOwn(operatorPolicy.definition, k) ? operatorPolicy.definition[k] : undefined;
    out[k] = v === undefined ? o! : o === undefined ? v : mergePolicyValue(k, v, o);
  }
  return out;
}

// --- effective settings ------------------------------------------------------------------------

export interface EffectiveQueueSettings {
  readonly policy: string | undefined;
  readonly operatorPolicy: string | undefined;
  /** The merged policy definition (mergeOperatorDefinitions), for display. */
  readonly effectivePolicyDefinition: PolicyDefinition | undefined;
  readonly messageTtl?: number;
  readonly expires?: number;
  readonly maxLength?: number;
  readonly maxLengthBytes?: number;
  readonly maxInMemoryLength?: number;
  readonly maxInMemoryBytes?: number;
  readonly overflow?: 'drop-head' | 'reject-publish' | 'reject-publish-dlx';
  readonly deadLetterExchange?: string;
  readonly deadLetterRoutingKey?: string;
  readonly deadLetterStrategy?: 'at-most-once' | 'at-least-once';
  readonly queueMode?: 'default' | 'lazy';
  readonly queueVersion?: number;
  readonly deliveryLimit?: number;
  readonly maxAge?: string;
  readonly streamMaxSegmentSizeBytes?: number;
}

type Resolve = 'min' | 'argument' | 'policy';
type Setting = keyof Omit<EffectiveQueueSettings, 'policy' | 'operatorPolicy' | 'effectivePolicyDefinition'>;

/** Per queue type: policy key, where the value goes, and who wins when both policy and x-argument set it. */
const RESOLUTION: Readonly<Record<QueueType, readonly (readonly [string, Setting, Resolve])[]>> = {
  // rabbit_amqqueue_process:process_args_policy/1
  classic: [
    ['expires', 'expires', 'min'],
    ['dead-letter-exchange', 'deadLetterExchange', 'argument'],
    ['dead-letter-routing-key', 'deadLetterRoutingKey', 'argument'],
    ['message-ttl', 'messageTtl', 'min'],
    ['max-length', 'maxLength', 'min'],
    ['max-length-bytes', 'maxLengthBytes', 'min'],
    ['overflow', 'overflow', 'argument'],
    ['queue-mode', 'queueMode', 'argument'],
    ['queue-version', 'queueVersion', 'argument'],
  ],
  // rabbit_quorum_queue:ra_machine_config/1 and dead_letter_handler/2
  quorum: [
    ['max-length', 'maxLength', 'min'],
    ['overflow', 'overflow', 'policy'],
    ['max-length-bytes', 'maxLengthBytes', 'min'],
    ['max-in-memory-length', 'maxInMemoryLength', 'min'],
    ['max-in-memory-bytes', 'maxInMemoryBytes', 'min'],
    ['delivery-limit', 'deliveryLimit', 'min'],
    ['expires', 'expires', 'policy'],
    ['message-ttl', 'messageTtl', 'min'],
    ['dead-letter-exchange', 'deadLetterExchange', 'argument'],
    ['dead-letter-routing-key', 'deadLetterRoutingKey', 'argument'],
    ['dead-letter-strategy', 'deadLetterStrategy', 'argument'],
  ],
  // rabbit_stream_queue:update_stream_conf/2
  stream: [
    ['max-length-bytes', 'maxLengthBytes', 'policy'],
    ['max-age', 'maxAge', 'policy'],
    ['stream-max-segment-size-bytes', 'streamMaxSegmentSizeBytes', 'policy'],
  ],
};

/** An x-argument's value as the setting takes it: numbers as numbers, longstr as text. */
function argumentValue(v: FieldValue): number | string | undefined {
  switch (v.type) {
    case 'b':
    case 'B':
    case 's':
    case 'u':
    case 'I':
    case 'i':
    case 'l':
    case 'T':
    case 'f':
    case 'd':
      return Number(v.value);
    case 'S':
    case 'x':
      return Buffer.isBuffer(v.value) ? v.value.toString('utf8') : (v.value as string);
    default:
      return undefined;
  }
}

function policyValue(v: JsonValue): number | string | undefined {
  if (isJsonNumber(v)) return jsonNumber(v);
  if (typeof v === 'string') return v;
  return undefined;
}

/**
 * What a queue does for each setting, given its type, its x-arguments (already validated at declare)
 * and the policy and operator policy that match it (PolicySet.match). rabbit_queue_type_util:
 * args_policy_lookup/3: with only one of policy and argument set, that one; with both, the key's rule.
 */
export function effectiveQueueSettings(
  queue: { readonly type: QueueType; readonly arguments: FieldTable },
  policy: Policy | undefined,
  operatorPolicy: Policy | undefined,
): EffectiveQueueSettings {
  const merged = mergeOperatorDefinitions(policy, operatorPolicy);
  const out: Record<string, unknown> = {
    policy: policy?.name,
    operatorPolicy: operatorPolicy?.name,
    effectivePolicyDefinition: merged,
  };
  for (const [key, setting, resolve] of RESOLUTION[queue.type]) {
    const pv = merged !== undefined && Object.hasOwn(merged, key) ? policyValue(merged[key]!) : undefined;
    const raw = queue.arguments.get(`x-${key}`);
    const av = raw === undefined ? undefined : argumentValue(raw);
    let v: number | string | undefined;
    if (pv === undefined) v = av;
    else if (av === undefined) v = pv;
    else if (resolve === 'argument') v = av;
    else if (resolve === 'policy') v = pv;
    else v = typeof pv === 'number' && typeof av === 'number' ? Math.min(pv, av) : av;
    if (v !== undefined) out[setting] = v;
  }
  return out as unknown as EffectiveQueueSettings;
}

export interface EffectiveExchangeSettings {
  readonly policy: string | undefined;
  readonly operatorPolicy: string | undefined;
  readonly effectivePolicyDefinition: PolicyDefinition | undefined;
  /** rabbit_policy:get_arg/3 via rabbit_exchange: the alternate-exchange argument, else the policy's. */
  readonly alternateExchange?: string;
}

export function effectiveExchangeSettings(
  exchange: { readonly arguments: FieldTable },
  policy: Policy | undefined,
  operatorPolicy: Policy | undefined,
): EffectiveExchangeSettings {
  const merged = mergeOperatorDefinitions(policy, operatorPolicy);
  const arg = exchange.arguments.get('alternate-exchange');
  const fromArg = arg === undefined ? undefined : argumentValue(arg);
  const fromPolicy = merged !== undefined && typeof merged['alternate-exchange'] === 'string' ? merged['alternate-exchange'] : undefined;
  const ae = typeof fromArg === 'string' ? fromArg : arg === undefined ? fromPolicy : undefined;
  return {
    policy: policy?.name,
    operatorPolicy: operatorPolicy?.name,
    effectivePolicyDefinition: merged,
    ...(ae === undefined ? {} : { alternateExchange: ae }),
  };
}
