/**
 * Validation and equivalence of x- arguments, as RabbitMQ's rabbit_amqqueue does them: one validator
 * per argument, run in RabbitMQ's order for the arguments the queue type knows; arguments belonging to
 * another queue type are refused; errors are 406 PRECONDITION_FAILED with Erlang-formatted reasons
 * ("invalid arg 'x-max-length' for queue 'q' in vhost '/': {value_negative,-1}").
 */
import { internalError, preconditionFailed, resourceName } from '../errors.js';
import { erlangTerm } from '../protocol/erlang-format.js';
import { FIELD_TYPE_NAMES, fieldValuesEqual, sameStructure, type FieldTable, type FieldValue } from '../protocol/field-table.js';

export type QueueType = 'classic' | 'quorum' | 'stream';

/** An Erlang term as `~p` would print it; strings print with quotes. */
type Reason = string;
const quoted = (s: string): Reason => JSON.stringify(s);

type Validator = (v: FieldValue, args: FieldTable) => Reason | undefined;

const INTEGER_TYPES = new Set(['b', 's', 'I', 'l', 'B', 'u', 'i']);
const TEN_YEARS_MS = 315_360_000_000;

const intArg: Validator = (v) => (INTEGER_TYPES.has(v.type) ? undefined : quoted(`expected integer, got ${FIELD_TYPE_NAMES[v.type]}`));
const num = (v: FieldValue) => Number(v.value as number | bigint);

const nonNegInt: Validator = (v, a) => intArg(v, a) ?? (num(v) < 0 ? `{value_negative,${num(v)}}` : undefined);

const expiry = (n: number): Reason | undefined =>
  n < 0 ? `{value_negative,${n}}` : n > TEN_YEARS_MS ? `{value_too_large,${n}}` : undefined;

const expiresArg: Validator = (v, a) => intArg(v, a) ?? (num(v) === 0 ? `{value_zero,0}` : expiry(num(v)));
const messageTtlArg: Validator = (v, a) => intArg(v, a) ?? expiry(num(v));
const maxPriorityArg: Validator = (v, a) => nonNegInt(v, a) ?? (num(v) > 255 ? `{max_value_exceeded,${num(v)}}` : undefined);
const boolArg: Validator = (v) => (v.type === 't' ? undefined : `{unacceptable_type,${FIELD_TYPE_NAMES[v.type]}}`);
const positiveInt: Validator = (v, a) => nonNegInt(v, a) ?? (num(v) === 0 ? `{value_zero,0}` : undefined);

const str = (v: FieldValue) => (typeof v.value === 'string' ? v.value : Buffer.isBuffer(v.value) ? v.value.toString('utf8') : '');

const oneOfStrings =
  (values: readonly string[], invalid: (s: string) => Reason): Validator =>
  (v) => {
    if (v.type !== 'S') return `{unacceptable_type,${FIELD_TYPE_NAMES[v.type]}}`;
    return values.includes(str(v)) ? undefined : invalid(str(v));
  };

const dlxNameArg: Validator = (v) => (v.type === 'S' ? undefined : `{unacceptable_type,${FIELD_TYPE_NAMES[v.type]}}`);
const dlxRoutingKeyArg: Validator = (v, args) => {
  if (v.type !== 'S') return `{unacceptable_type,${FIELD_TYPE_NAMES[v.type]}}`;
  return args.has('x-dead-letter-exchange') ? undefined : 'routing_key_but_no_dlx_defined';
};
const queueVersionArg: Validator = (v, a) =>
  nonNegInt(v, a) ?? (num(v) === 1 || num(v) === 2 ? undefined : quoted(`unsupported queue version '${num(v)}'`));
/** 4.3.0 removed classic queue storage version 1 (rabbit_amqqueue:check_queue_version/2 of 4.3). */
const queueVersion2Only: Validator = (v, a) => nonNegInt(v, a) ?? (num(v) === 2 ? undefined : quoted(`unsupported queue version '${num(v)}'`));
const maxAgeArg: Validator = (v) => {
  if (v.type !== 'S') return `{unacceptable_type,${FIELD_TYPE_NAMES[v.type]}}`;
  return maxAgeMs(str(v)) === undefined ? 'invalid_max_age' : undefined;
};

/** rabbit_amqqueue's unit_value_in_ms/1: RabbitMQ's units for x-max-age and stream offset intervals. */
const AGE_UNITS_MS: Readonly<Record<string, number>> = {
  Y: 365 * 86_400_000,
  M: 30 * 86_400_000,
  D: 86_400_000,
  h: 3_600_000,
  m: 60_000,
  s: 1000,
};

/**
 * rabbit_amqqueue:check_max_age/1: leading digits and one unit ("7D", "01h"); undefined when invalid
 * (no unit, a zero count, another unit). With no digits at all RabbitMQ 3.10.8's list_to_integer("")
 * crashes its channel and the connection is closed with a bare 541 (recorded: x-max-age "x", and
 * x-stream-offset "foo").
 */
export function maxAgeMs(text: string): number | undefined {
  const m = /^([0-9]*)([\s\S]*)$/.exec(text)!;
  if (m[1] === '') throw internalError('').withDetail(`unparsable age ${JSON.stringify(text)}`);
  const unit = Object.hasOwn(AGE_UNITS_MS, m[2]!) ? AGE_UNITS_MS[m[2]!] : undefined;
  const n = Number(m[1]);
  return unit === undefined || !(n > 0) ? undefined : n * unit;
}

/** Every queue type RabbitMQ 3.10 knows; a declaration, a definitions file or vhost metadata may name any. */
export const KNOWN_QUEUE_TYPES: readonly QueueType[] = ['classic', 'quorum', 'stream'];
const queueTypeArg = oneOfStrings(KNOWN_QUEUE_TYPES, (s) => quoted(`unsupported queue type '${s}'`));

/** rabbit_queue_location:queue_leader_locators/0 of 3.10: the current locators and the deprecated ones. */
const RULES_3_10_LOCATORS = ['client-local', 'balanced', 'random', 'least-leaders'];

/** RabbitMQ's declare_args(), in its order. */
const DECLARE_VALIDATORS: readonly (readonly [string, Validator])[] = [
  ['x-expires', expiresArg],
  ['x-message-ttl', messageTtlArg],
  ['x-dead-letter-exchange', dlxNameArg],
  ['x-dead-letter-routing-key', dlxRoutingKeyArg],
  ['x-dead-letter-strategy', oneOfStrings(['at-most-once', 'at-least-once'], () => 'invalid_dlx_strategy')],
  ['x-max-length', nonNegInt],
  ['x-max-length-bytes', nonNegInt],
  ['x-max-in-memory-length', nonNegInt],
  ['x-max-in-memory-bytes', nonNegInt],
  ['x-max-priority', maxPriorityArg],
  ['x-overflow', oneOfStrings(['drop-head', 'reject-publish', 'reject-publish-dlx'], () => 'invalid_overflow')],
  ['x-queue-mode', oneOfStrings(['default', 'lazy'], (s) => quoted(`unsupported queue mode '${s}'`))],
  ['x-queue-version', queueVersionArg],
  ['x-single-active-consumer', boolArg],
  ['x-queue-type', queueTypeArg],
  ['x-quorum-initial-group-size', positiveInt],
  ['x-max-age', maxAgeArg],
  ['x-stream-max-segment-size-bytes', nonNegInt],
  ['x-initial-cluster-size', positiveInt],
  // Checked against the release's list of locators (checkDeclareArguments).
  ['x-queue-leader-locator', oneOfStrings(RULES_3_10_LOCATORS, () => 'invalid_queue_locator_arg')],
  // x-delivery-limit is not validated in 3.10.8 (it is missing from declare_args()): a negative limit
  // is accepted and dead-letters a message at its first return.
];

/** The arguments each queue type accepts (rabbit_*_queue:capabilities/0, queue_arguments). */
export const QUEUE_TYPE_ARGUMENTS: Readonly<Record<QueueType, readonly string[]>> = {
  classic: [
    'x-expires', 'x-message-ttl', 'x-dead-letter-exchange', 'x-dead-letter-routing-key', 'x-max-length',
    'x-max-length-bytes', 'x-max-priority', 'x-overflow', 'x-queue-mode', 'x-queue-version',
    'x-single-active-consumer', 'x-queue-type', 'x-queue-master-locator',
  ],
  quorum: [
    'x-dead-letter-exchange', 'x-dead-letter-routing-key', 'x-dead-letter-strategy', 'x-expires', 'x-max-length',
    'x-max-length-bytes', 'x-max-in-memory-length', 'x-max-in-memory-bytes', 'x-overflow',
    'x-single-active-consumer', 'x-queue-type', 'x-quorum-initial-group-size', 'x-delivery-limit',
    'x-message-ttl', 'x-queue-leader-locator',
  ],
  stream: [
    'x-max-length-bytes', 'x-queue-type', 'x-max-age', 'x-stream-max-segment-size-bytes',
    'x-initial-cluster-size', 'x-queue-leader-locator',
  ],
};

const ALL_QUEUE_ARGUMENTS = new Set(Object.values(QUEUE_TYPE_ARGUMENTS).flat());

export function queueTypeOf(args: FieldTable): QueueType {
  const v = args.get('x-queue-type');
  return v === undefined ? 'classic' : (str(v) as QueueType);
}

/** What the imitated release accepts of the classic queue arguments it retired (personality.ts). */
export interface DeclareRules {
  readonly queueVersion1: boolean;
  readonly queueModeValidated: boolean;
  /** Classic queues take x-queue-leader-locator (4.0). */
  readonly classicLeaderLocator: boolean;
  /** The values x-queue-leader-locator takes. */
  readonly leaderLocators: readonly string[];
}

const RULES_3_10: DeclareRules = {
  queueVersion1: true,
  queueModeValidated: true,
  classicLeaderLocator: false,
  leaderLocators: RULES_3_10_LOCATORS,
};
const CLASSIC_4 = [...QUEUE_TYPE_ARGUMENTS.classic, 'x-queue-leader-locator'];

/** The arguments a queue type accepts in the imitated release (and compares on redeclaration). */
export function queueTypeArguments(type: QueueType, rules: DeclareRules = RULES_3_10): readonly string[] {
  return type === 'classic' && rules.classicLeaderLocator ? CLASSIC_4 : (QUEUE_TYPE_ARGUMENTS[type] ?? []);
}

/** rabbit_amqqueue:check_declare_arguments: throws the 406 RabbitMQ gives for the first bad argument. */
export function checkDeclareArguments(queue: string, vhost: string, args: FieldTable, rules: DeclareRules = RULES_3_10): void {
  const where = resourceName('queue', queue, vhost);
  const run = (key: string, validate: Validator) => {
    const v = args.get(key);
    if (v === undefined) return;
    const reason = validate(v, args);
    if (reason !== undefined) throw preconditionFailed(`invalid arg '${key}' for ${where}: ${reason}`);
  };
  run('x-queue-type', queueTypeArg);
  const type = queueTypeOf(args);
  const known = queueTypeArguments(type, rules);
  for (const [key, validate] of DECLARE_VALIDATORS) {
    if (!known.includes(key)) continue;
    // 4.3 has no validator for x-queue-mode (any value is accepted, and ignored) and accepts only 2 as x-queue-version.
    if (key === 'x-queue-mode' && !rules.queueModeValidated) continue;
    if (key === 'x-queue-leader-locator') run(key, oneOfStrings(rules.leaderLocators, () => 'invalid_queue_locator_arg'));
    else run(key, key === 'x-queue-version' && !rules.queueVersion1 ? queueVersion2Only : validate);
  }
  for (const key of args.keys()) {
    if (ALL_QUEUE_ARGUMENTS.has(key) && !known.includes(key)) {
      throw preconditionFailed(`invalid arg '${key}' for ${where} of queue type rabbit_${type}_queue`);
    }
  }
}

/** rabbit_amqqueue:check_consume_arguments for x-priority (the one consumer argument classic queues check). */
export function checkConsumeArguments(queue: string, vhost: string, args: FieldTable): void {
  const v = args.get('x-priority');
  if (v === undefined) return;
  const reason = intArg(v, args);
  if (reason !== undefined) throw preconditionFailed(`invalid arg 'x-priority' for ${resourceName('queue', queue, vhost)}: ${reason}`);
}

/** Integer kinds compare as one class, and floats as another, in RabbitMQ's argument equivalence. */
function typeClass(t: FieldValue['type']): string {
  if ('bsIlDBui'.includes(t)) return 'int';
  if (t === 'f' || t === 'd') return 'float';
  return t;
}

/** A value as RabbitMQ's val/1 prints it: binaries as text, other terms as Erlang's ~p. */
function plainTerm(v: FieldValue): string {
  return v.type === 'S' || v.type === 'x' ? Buffer.from(v.value as string | Buffer).toString('utf8') : erlangTerm(v);
}

/**
 * RabbitMQ's val/1 in an "inequivalent arg" text. With both sides present only the values are
 * compared and shown ("received '2000' but current is '1000'"); when one side is missing the other
 * is shown with its type ("received none but current is the value '5' of type 'byte'").
 */
function describe(v: FieldValue | undefined, bothPresent: boolean): string {
  if (v === undefined) return 'none';
  if (bothPresent) return `'${plainTerm(v)}'`;
  return `the value '${plainTerm(v)}' of type '${FIELD_TYPE_NAMES[v.type]}'`;
}

function sameValue(a: FieldValue, b: FieldValue): boolean {
  if (typeClass(a.type) !== typeClass(b.type)) return false;
  if (typeClass(a.type) === 'int' || typeClass(a.type) === 'float') {
    if (a.type === 'D' || b.type === 'D') return JSON.stringify(a.value) === JSON.stringify(b.value);
    return Number(a.value) === Number(b.value);
  }
  if (a.type === 'S' || a.type === 'x') return Buffer.from(a.value as string).equals(Buffer.from(b.value as string));
  // Tables and arrays: Erlang's == on RabbitMQ's terms, where a table is a list of entries in wire order.
  // Walked without recursion (an argument may nest as deep as a frame allows).
  return sameStructure(a, b, fieldValuesEqual, 'inOrder');
}

/**
 * rabbit_misc:assert_args_equivalence over `keys`: each must be absent from both, or of the same type
 * class with an equal value. x-queue-type "classic" and absent count as the same.
 */
export function assertArgsEquivalence(
  kind: 'queue' | 'exchange',
  name: string,
  vhost: string,
  current: FieldTable,
  requested: FieldTable,
  keys: readonly string[],
): void {
  for (const key of keys) {
    const a = current.get(key);
    const b = requested.get(key);
    if (a === undefined && b === undefined) continue;
    if (a !== undefined && b !== undefined && sameValue(a, b)) continue;
    if (key === 'x-queue-type') {
      const isClassic = (v: FieldValue | undefined) => v === undefined || (v.type === 'S' && str(v) === 'classic');
      if (isClassic(a) && isClassic(b)) continue;
    }
    const both = a !== undefined && b !== undefined;
    throw preconditionFailed(
      `inequivalent arg '${key}' for ${resourceName(kind, name, vhost)}: received ${describe(b, both)} but current is ${describe(a, both)}`,
    );
  }
}

/** rabbit_misc:assert_field_equivalence for a flag: "received 'true' but current is 'false'". */
export function assertFieldEquivalence(kind: 'queue' | 'exchange', name: string, vhost: string, field: string, current: unknown, requested: unknown): void {
  if (current === requested) return;
  throw preconditionFailed(`inequivalent arg '${field}' for ${resourceName(kind, name, vhost)}: received '${String(requested)}' but current is '${String(current)}'`);
}
