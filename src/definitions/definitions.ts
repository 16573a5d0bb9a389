/**
 * RabbitMQ's definitions JSON (rabbitmqctl export_definitions / import_definitions, the
 * load_definitions setting, the management API's /api/definitions): parsing into a plan, and
 * writing from a model.
 *
 * Import (planImport) is pure: it validates the whole file against what the broker has
 * (ExistingState) and returns everything to apply, in RabbitMQ's order (users, vhosts,
 * permissions, topic permissions, exchanges, global parameters, policies, parameters, queues,
 * bindings; rabbit_definitions:apply_defs/3), or refuses the file with every problem found and the
 * path of each. RabbitMQ validates as it goes and so can leave a file half imported; Warren applies
 * nothing unless everything is valid. Where RabbitMQ skips silently Warren skips too and says so
 * (plan.skipped): amq.* and default exchanges, amq.* queues, queues and exchanges that exist already
 * (imported without an equivalence check, as RabbitMQ does).
 *
 * Stricter than RabbitMQ, on purpose, for untrusted files: unknown fields, wrong types, a field
 * RabbitMQ would crash on when missing, duplicate entries, names over 255 bytes, bindings whose
 * source or destination neither the file nor the broker has (RabbitMQ drops those silently), and
 * parameter components Warren does not have (federation, shovel) are all refused.
 *
 * Lenient where RabbitMQ's own exports need it: an operator policy's definition may be a list of
 * [key, value] pairs, which is how export_definitions writes it and which import_definitions of the
 * same version then refuses ("definition must be a dictionary").
 *
 * Export (serializeDefinitions) writes the shapes export_definitions of 3.10.8 writes, keys in
 * Erlang's order; see its comment for the two places Warren deviates so that its files import.
 */
import { encodePasswordHash } from '../access/password-hashing.js';
import type { Policy } from '../policy/policy.js';
import { queueTypeOf } from '../queue/arguments.js';
import { JsonParseError, isJsonObject, parseJson, writeJson, type JsonValue } from '../util/json.js';
import { byteOrder, tableToJson } from './amqp-table-json.js';
import { ACCESS_SECTIONS } from './import/access-sections.js';
import { ImportContext } from './import/context.js';
import { ENTITY_SECTIONS } from './import/entity-sections.js';
import { Entry, TooManyIssues, type Issue } from './import/entry.js';
import { DefinitionsError, EMPTY_STATE, type DefinitionsIssue, type DefinitionsModel, type ExistingState, type ImportOptions, type ImportPlan } from './plan.js';

export {
  DefinitionsError,
  EMPTY_STATE,
  type DefinedExchange,
  type DefinitionsIssue,
  type DefinitionsModel,
  type ExistingState,
  type ImportPlan,
} from './plan.js';

/** The sections of the file in the order RabbitMQ applies them (rabbit_definitions:apply_defs/3). */
const SECTIONS = [...ACCESS_SECTIONS, ...ENTITY_SECTIONS];

/**
 * Validates a definitions file against the broker's current state and returns what to apply, or
 * throws DefinitionsError listing every problem (up to options.maxIssues).
 */
export function planImport(input: string | JsonValue, existing: ExistingState = EMPTY_STATE, options: ImportOptions = {}): ImportPlan {
  const issues: DefinitionsIssue[] = [];
  const maxIssues = options.maxIssues ?? 100;
  const issue = (path: string, message: string) => {
    issues.push({ path, message });
    if (issues.length >= maxIssues) throw new TooManyIssues();
  };
  try {
    const plan = collect(input, existing, options, issue);
    if (issues.length > 0) throw new DefinitionsError(issues);
    return plan;
  } catch (e) {
    if (e instanceof TooManyIssues) throw new DefinitionsError(issues);
    throw e;
  }
}

function collect(input: string | JsonValue, existing: ExistingState, options: ImportOptions, issue: Issue): ImportPlan {
  const doc = parseDocument(input, issue);
  const top = new Entry(doc, '', issue);
  const version = top.string('rabbitmq_version', false) ?? top.string('rabbit_version', false);
  top.string('rabbit_version', false);
  top.string('product_name', false);
  top.string('product_version', false);
  const ctx = new ImportContext(top, version, existing, options, issue);
  for (const s of SECTIONS) {
    for (const e of ctx.section(s.name)) s.entry(ctx, e);
    s.done?.(ctx);
  }
  top.done();
  return ctx.plan();
}

/** The file's top-level object; anything else ends the import with one problem. */
function parseDocument(input: string | JsonValue, issue: Issue): { [key: string]: JsonValue } {
  let doc: JsonValue;
  if (typeof input === 'string') {
    // rabbit_definitions:decode/1: an empty body is an empty set of definitions.
    if (input.trim() === '') doc = {};
    else {
      try {
        doc = parseJson(input);
      } catch (e) {
        if (e instanceof JsonParseError) {
          issue('(file)', `not JSON: ${e.message}`);
          throw new TooManyIssues();
        }
        throw e;
      }
    }
  } else doc = input;
  if (!isJsonObject(doc)) {
    issue('(file)', 'the definitions must be a JSON object');
    throw new TooManyIssues();
  }
  return doc;
}

// --- export ------------------------------------------------------------------------------------

export interface ExportOptions {
  /** rabbit_version and rabbitmq_version; Warren reports the version it is compatible with. */
  readonly rabbitVersion?: string;
  /**
   * RabbitMQ's export leaves internal exchanges out (rabbit_definitions:list_exchanges/0), but not
   * the bindings to and from them, so its file cannot be imported whole anywhere. Warren writes them
   * (with "internal": true, which RabbitMQ's import reads) unless told to copy RabbitMQ exactly.
   */
  readonly internalExchanges?: 'include' | 'omit';
}

const pairs = (o: object): JsonValue[] =>
  Object.entries(o as Record<string, number | undefined>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => byteOrder(a, b))
    .map(([k, v]) => [k, v!]);

function policyDefinition(p: Policy): JsonValue {
  return { ...p.definition } as JsonValue;
}

/**
 * The definitions JSON value of a model, as rabbit_definitions:all_definitions/0 shapes it in
 * 3.10.8. One deviation besides internal exchanges: an operator policy's definition is written as
 * an object; 3.10.8 writes a list of pairs, which its own import then refuses.
 */
export function serializeDefinitions(model: DefinitionsModel, options: ExportOptions = {}): JsonValue {
  const version = options.rabbitVersion ?? '3.10.8';
  const includeInternal = (options.internalExchanges ?? 'include') === 'include';
  const vhostLimitParams = model.vhosts
    .filter((v) => Object.values(v.limits).some((x) => x !== undefined))
    .map((v) => ({ vhost: v.name, component: 'vhost-limits', name: 'limits', value: { ...v.limits } as JsonValue }));
  const operatorParams = model.operatorPolicies.map((p) => ({
    vhost: p.vhost,
    component: 'operator_policy',
    name: p.name,
    value: { pattern: p.pattern, definition: policyDefinition(p), priority: p.priority, 'apply-to': p.applyTo } as JsonValue,
  }));
  return {
    rabbit_version: version,
    rabbitmq_version: version,
    users: model.users.map((u) => ({
      name: u.name,
      password_hash: encodePasswordHash(u.passwordHash),
      hashing_algorithm: u.hashingAlgorithm,
      tags: [...u.tags],
      limits: { ...u.limits } as JsonValue,
    })),
    vhosts: model.vhosts.map((v) => ({
      name: v.name,
      limits: pairs(v.limits),
      metadata: {
        description: v.description,
        tags: [...v.tags],
        ...(v.defaultQueueType !== undefined ? { default_queue_type: v.defaultQueueType } : {}),
      },
    })),
    permissions: model.permissions.map((p) => ({ user: p.user, vhost: p.vhost, configure: p.configure, write: p.write, read: p.read })),
    topic_permissions: model.topicPermissions.map((p) => ({ user: p.user, vhost: p.vhost, exchange: p.exchange, write: p.write, read: p.read })),
    parameters: [...operatorParams, ...vhostLimitParams],
    global_parameters: model.globalParameters.map((g) => ({ name: g.name, value: g.value })),
    policies: model.policies.map((p) => ({ vhost: p.vhost, name: p.name, pattern: p.pattern, 'apply-to': p.applyTo, definition: policyDefinition(p), priority: p.priority })),
    queues: model.queues.map((q) => ({
      name: q.name,
      vhost: q.vhost,
      durable: q.durable,
      auto_delete: q.autoDelete,
      type: queueTypeOf(q.arguments),
      arguments: tableToJson(q.arguments),
    })),
    exchanges: model.exchanges
      .filter((x) => x.name !== '' && !x.name.startsWith('amq.') && (includeInternal || !x.internal))
      .map((x) => ({
        name: x.name,
        vhost: x.vhost,
        type: x.type,
        durable: x.durable,
        auto_delete: x.autoDelete,
        ...(x.internal ? { internal: true } : {}),
        arguments: tableToJson(x.arguments),
      })),
    bindings: model.bindings.map((b) => ({
      source: b.source,
      vhost: b.vhost,
      destination: b.destination,
      destination_type: b.destinationType,
      routing_key: b.routingKey,
      arguments: tableToJson(b.arguments),
    })),
  };
}

/** The text export_definitions prints: compact JSON, keys in Erlang's order. */
export function exportDefinitionsText(model: DefinitionsModel, options: ExportOptions = {}): string {
  return writeJson(serializeDefinitions(model, options));
}
