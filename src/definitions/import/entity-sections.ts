/**
 * The sections of a definitions file about a vhost's contents, one reader per entry, in RabbitMQ's
 * order: exchanges, global parameters, policies, parameters, queues, bindings
 * (rabbit_definitions:apply_defs/3).
 */
import { ChannelError } from '../../errors.js';
import { policyFromProperties, validatePolicy, type PolicyKind } from '../../policy/policy.js';
import { erlangTerm } from '../../protocol/erlang-term.js';
import { checkDeclareArguments, queueTypeOf } from '../../queue/arguments.js';
import { isJsonObject, type JsonValue } from '../../util/json.js';
import type { ImportContext, Section } from './context.js';
import { Entry, limitsOf } from './entry.js';

const DEFAULT_EXCHANGE_TYPES = ['direct', 'fanout', 'topic', 'headers', 'x-delayed-message'];

/** add_exchange/2 */
function exchange(ctx: ImportContext, e: Entry): void {
  const vhost = e.string('vhost', true);
  const name = e.name('name', 'exchange');
  const type = e.string('type', true);
  const durable = e.boolean('durable', true);
  const autoDelete = e.boolean('auto_delete', true);
  const internal = e.boolean('internal', false) ?? false; // absent before 2.2.0
  const args = e.table('arguments');
  e.done();
  if (type !== undefined && !(ctx.options.exchangeTypes ?? DEFAULT_EXCHANGE_TYPES).includes(type)) ctx.issue(`${e.path}.type`, `unknown exchange type '${type}'`);
  if (!ctx.requireVhost(e, vhost) || name === undefined || type === undefined || durable === undefined || autoDelete === undefined || args === undefined) return;
  if (name === '' || name.startsWith('amq.')) {
    ctx.skipped.push({ path: e.path, message: name === '' ? 'the default exchange is not imported' : `exchange '${name}': names beginning with 'amq.' are not imported` });
    return;
  }
  if (!ctx.unique('exchange', `${vhost}\u0000${name}`, e.path, `exchange '${name}' in vhost '${vhost}'`)) return;
  ctx.fileExchanges.add(`${vhost}\u0000${name}`);
  if (ctx.existing.hasExchange(vhost, name)) {
    ctx.skipped.push({ path: e.path, message: `exchange '${name}' in vhost '${vhost}' exists already (not compared, not changed)` });
    return;
  }
  ctx.exchanges.push({ vhost, name, type, durable, autoDelete, internal, arguments: args });
}

/** add_global_parameter/2 */
function globalParameter(ctx: ImportContext, e: Entry): void {
  const name = e.string('name', true);
  const value = e.raw('value');
  if (value === undefined) ctx.issue(`${e.path}.value`, 'missing');
  e.done();
  if (name === undefined || value === undefined || !ctx.unique('global', name, e.path, `global parameter '${name}'`)) return;
  ctx.globalParameters.push({ name, value });
}

/** A policy or operator policy (add_policy/2): RabbitMQ's validation texts, with the entry's place. */
function policyEntry(ctx: ImportContext, kind: PolicyKind, e: Entry, vhost: string | undefined, name: string | undefined, props: Record<string, JsonValue | undefined>): void {
  const errors = validatePolicy(kind, name ?? 'undefined', props);
  for (const m of errors) ctx.issue(e.path, `${m} (${vhost}/${name})`);
  if (errors.length > 0 || !ctx.requireVhost(e, vhost) || name === undefined) return;
  if (!ctx.unique(kind, `${vhost}\u0000${name}`, e.path, `${kind === 'policy' ? 'policy' : 'operator policy'} '${name}' in vhost '${vhost}'`)) return;
  (kind === 'policy' ? ctx.policies : ctx.operatorPolicies).push(policyFromProperties(vhost, name, props));
}

/** A policies entry. */
function policy(ctx: ImportContext, e: Entry): void {
  const vhost = e.string('vhost', true);
  const name = e.string('name', false);
  if (name === undefined && !e.has('name')) ctx.issue(`${e.path}.name`, `policy in virtual host '${vhost}' has undefined name`);
  const props = { pattern: e.raw('pattern'), definition: e.raw('definition'), priority: e.raw('priority'), 'apply-to': e.raw('apply-to') };
  e.done();
  policyEntry(ctx, 'policy', e, vhost, name, props);
}

/** add_parameter/2: the components Warren has. */
function parameter(ctx: ImportContext, e: Entry): void {
  const vhost = e.string('vhost', true);
  const component = e.string('component', true);
  const name = e.string('name', true);
  const value = e.raw('value');
  if (value === undefined) ctx.issue(`${e.path}.value`, 'missing');
  e.done();
  if (component === undefined || value === undefined) return;
  if (component === 'operator_policy') {
    if (!isJsonObject(value)) {
      ctx.issue(`${e.path}.value`, `should be an object, was ${erlangTerm(value)}`);
      return;
    }
    const v = new Entry(value, `${e.path}.value`, ctx.issue);
    let definition = v.raw('definition');
    // export_definitions writes the definition as [[key, value], ...]; accept it as the object it means.
    if (Array.isArray(definition) && definition.every((p) => Array.isArray(p) && p.length === 2 && typeof p[0] === 'string')) {
      definition = Object.fromEntries(definition.map((p) => [(p as JsonValue[])[0] as string, (p as JsonValue[])[1]!]));
    }
    const props = { pattern: v.raw('pattern'), definition, priority: v.raw('priority'), 'apply-to': v.raw('apply-to') };
    v.done();
    policyEntry(ctx, 'operator_policy', e, vhost, name, props);
  } else if (component === 'vhost-limits') {
    if (!ctx.requireVhost(e, vhost)) return;
    if (name !== 'limits') ctx.issue(`${e.path}.name`, `a vhost-limits parameter is named 'limits', not ${erlangTerm(name ?? null)}`);
    const limits = limitsOf(value, ['max-connections', 'max-queues'], `${e.path}.value`, ctx.issue);
    if (limits !== undefined && ctx.unique('limits', vhost, e.path, `the limits of vhost '${vhost}'`)) ctx.vhostLimits.push({ vhost, limits });
  } else {
    ctx.issue(`${e.path}.component`, `component ${component} not found (Warren has operator_policy and vhost-limits)`);
  }
}

/** add_queue/2 */
function queue(ctx: ImportContext, e: Entry): void {
  const vhost = e.string('vhost', true);
  const name = e.name('name', 'queue');
  const durable = e.boolean('durable', true);
  const autoDelete = e.boolean('auto_delete', true);
  const typeField = e.string('type', false);
  const args = e.table('arguments');
  e.done();
  if (!ctx.requireVhost(e, vhost) || name === undefined || durable === undefined || autoDelete === undefined || args === undefined) return;
  if (name.startsWith('amq.')) {
    ctx.skipped.push({ path: e.path, message: `queue '${name}': names beginning with 'amq.' are not imported` });
    return;
  }
  if (!ctx.unique('queue', `${vhost}\u0000${name}`, e.path, `queue '${name}' in vhost '${vhost}'`)) return;
  ctx.fileQueues.add(`${vhost}\u0000${name}`);
  try {
    checkDeclareArguments(name, vhost, args);
  } catch (x) {
    if (!(x instanceof ChannelError)) throw x;
    ctx.issue(`${e.path}.arguments`, x.explanation);
    return;
  }
  // The queue's type is its x-queue-type (the "type" field is informational; RabbitMQ ignores it).
  const type = queueTypeOf(args);
  if (typeField !== undefined && typeField !== type) ctx.issue(`${e.path}.type`, `says '${typeField}' but the arguments make a ${type} queue`);
  if (type !== 'classic' && !durable) ctx.issue(`${e.path}.durable`, `invalid property 'non-durable' for queue '${name}' in vhost '${vhost}': ${type} queues are durable`);
  if (type !== 'classic' && autoDelete) ctx.issue(`${e.path}.auto_delete`, `invalid property 'auto-delete' for queue '${name}' in vhost '${vhost}'`);
  if (ctx.existing.hasQueue(vhost, name)) {
    ctx.skipped.push({ path: e.path, message: `queue '${name}' in vhost '${vhost}' exists already (not compared, not changed)` });
    return;
  }
  ctx.newQueuesByVhost.set(vhost, (ctx.newQueuesByVhost.get(vhost) ?? 0) + 1);
  ctx.queues.push({ vhost, name, durable, autoDelete, arguments: args });
}

/** rabbit_definitions:validate_limits/1: the vhosts' max-queues, as in force before the import. */
function queueLimits(ctx: ImportContext): void {
  for (const [vhost, adding] of ctx.newQueuesByVhost) {
    const limit = ctx.existing.vhost(vhost)?.queueLimit;
    const count = ctx.existing.queueCount(vhost);
    if (limit !== undefined && limit >= 0 && (limit === 0 || adding + count > limit)) {
      ctx.issue(
        'queues',
        `Adding ${adding} queue(s) to virtual host "${vhost}" would exceed the limit of ${limit} queue(s).\n\nThis virtual host currently has ${count} queue(s) defined.\n\nImport aborted!`,
      );
    }
  }
}

/** add_binding/2: both ends must exist. */
function binding(ctx: ImportContext, e: Entry): void {
  const vhost = e.string('vhost', true);
  const source = e.name('source', 'exchange');
  const destination = e.name('destination', 'queue or exchange');
  const destinationType = e.string('destination_type', true);
  const routingKey = e.string('routing_key', true);
  const args = e.table('arguments');
  e.done();
  if (destinationType !== undefined && destinationType !== 'queue' && destinationType !== 'exchange') {
    ctx.issue(`${e.path}.destination_type`, `should be "queue" or "exchange", was ${erlangTerm(destinationType)}`);
    return;
  }
  if (routingKey !== undefined && Buffer.byteLength(routingKey) > 255) ctx.issue(`${e.path}.routing_key`, 'a routing key is at most 255 bytes');
  if (!ctx.requireVhost(e, vhost) || source === undefined || destination === undefined || destinationType === undefined || routingKey === undefined || args === undefined) return;
  if (source === '') {
    ctx.issue(`${e.path}.source`, 'the default exchange cannot be bound explicitly');
    return;
  }
  if (!ctx.exchangeExists(vhost, source)) ctx.issue(`${e.path}.source`, `exchange '${source}' in vhost '${vhost}' is neither in the file nor on the broker`);
  const destinationExists = destinationType === 'queue' ? ctx.queueExists(vhost, destination) : ctx.exchangeExists(vhost, destination);
  if (!destinationExists) ctx.issue(`${e.path}.destination`, `${destinationType} '${destination}' in vhost '${vhost}' is neither in the file nor on the broker`);
  if (destinationType === 'exchange' && destination === '') ctx.issue(`${e.path}.destination`, 'the default exchange cannot be bound to');
  ctx.bindings.push({ vhost, source, destination, destinationType, routingKey, arguments: args });
}

export const ENTITY_SECTIONS: readonly Section[] = [
  { name: 'exchanges', entry: exchange },
  { name: 'global_parameters', entry: globalParameter },
  { name: 'policies', entry: policy },
  { name: 'parameters', entry: parameter },
  { name: 'queues', entry: queue, done: queueLimits },
  { name: 'bindings', entry: binding },
];
