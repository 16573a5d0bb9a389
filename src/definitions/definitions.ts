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
import type { HashingAlgorithm } from '../access/password-hashing.js';
import { algorithmForImportedHash, decodePasswordHash, encodePasswordHash } from '../access/password-hashing.js';
import type { NewUser, NewVhost, PermissionRecord, TopicPermissionRecord, UserLimits, UserRecord, VhostLimits, VhostRecord } from '../access/access-database.js';
import { compilePermissionRegex } from '../access/access-database.js';
import { PcreSyntaxError, PcreUnsupportedError } from '../util/pcre.js';
import { ChannelError } from '../errors.js';
import type { FieldTable } from '../protocol/field-table.js';
import { KNOWN_QUEUE_TYPES, checkDeclareArguments, queueTypeOf, type QueueType } from '../queue/arguments.js';
import { policyFromProperties, validatePolicy, type Policy, type PolicyKind } from '../policy/policy.js';
import { TableConversionError, byteOrder, jsonToTable, tableToJson } from './amqp-table-json.js';
import { erlangTerm } from '../protocol/erlang-term.js';
import { JsonParseError, isJsonInteger, isJsonObject, jsonNumber, parseJson, writeJson, type JsonValue } from '../util/json.js';

// --- the model ---------------------------------------------------------------------------------

interface DefinedQueue {
  readonly vhost: string;
  readonly name: string;
  readonly durable: boolean;
  readonly autoDelete: boolean;
  readonly arguments: FieldTable;
}

export interface DefinedExchange {
  readonly vhost: string;
  readonly name: string;
  readonly type: string;
  readonly durable: boolean;
  readonly autoDelete: boolean;
  readonly internal: boolean;
  readonly arguments: FieldTable;
}

interface DefinedBinding {
  readonly vhost: string;
  readonly source: string;
  readonly destination: string;
  readonly destinationType: 'queue' | 'exchange';
  readonly routingKey: string;
  readonly arguments: FieldTable;
}

interface GlobalParameter {
  readonly name: string;
  readonly value: JsonValue;
}

/** What a broker has that definitions describe: the input of serializeDefinitions. */
export interface DefinitionsModel {
  readonly users: readonly UserRecord[];
  /** Limits included: they are written both in the vhost and as its vhost-limits parameter. */
  readonly vhosts: readonly VhostRecord[];
  readonly permissions: readonly PermissionRecord[];
  readonly topicPermissions: readonly TopicPermissionRecord[];
  readonly policies: readonly Policy[];
  readonly operatorPolicies: readonly Policy[];
  readonly globalParameters: readonly GlobalParameter[];
  /** Exclusive queues are not definitions: leave them out. */
  readonly queues: readonly DefinedQueue[];
  /** The default exchange and amq.* are written by no one: they are left out. */
  readonly exchanges: readonly DefinedExchange[];
  /** Explicit bindings only (not the default exchange's). */
  readonly bindings: readonly DefinedBinding[];
}

// --- the plan ----------------------------------------------------------------------------------

/** The broker as it is before the import: what the file's references may point at. */
export interface ExistingState {
  hasUser(name: string): boolean;
  /** The vhost's max-queues limit (RabbitMQ checks the limits in force before the import). */
  vhost(name: string): { readonly queueLimit?: number } | undefined;
  hasQueue(vhost: string, name: string): boolean;
  hasExchange(vhost: string, name: string): boolean;
  queueCount(vhost: string): number;
}

/** A broker with nothing in it (not even the default vhost). */
export const EMPTY_STATE: ExistingState = {
  hasUser: () => false,
  vhost: () => undefined,
  hasQueue: () => false,
  hasExchange: () => false,
  queueCount: () => 0,
};

export interface ImportPlan {
  readonly rabbitVersion: string | undefined;
  /** put_user: create, or update password, tags and limits. */
  readonly users: readonly NewUser[];
  /** put_vhost: create, or update description and tags. */
  readonly vhosts: readonly NewVhost[];
  readonly permissions: readonly PermissionRecord[];
  readonly topicPermissions: readonly TopicPermissionRecord[];
  /** Exchanges to declare (those that do not exist yet). */
  readonly exchanges: readonly DefinedExchange[];
  readonly globalParameters: readonly GlobalParameter[];
  readonly policies: readonly Policy[];
  readonly operatorPolicies: readonly Policy[];
  /** vhost-limits parameters: the limits to set on each vhost. */
  readonly vhostLimits: readonly { readonly vhost: string; readonly limits: VhostLimits }[];
  /** Queues to declare (those that do not exist yet). */
  readonly queues: readonly DefinedQueue[];
  /** Bindings to add (adding an existing binding changes nothing). */
  readonly bindings: readonly DefinedBinding[];
  /** Entries left out, as RabbitMQ leaves them out, with why. */
  readonly skipped: readonly DefinitionsIssue[];
}

export interface DefinitionsIssue {
  /** Where in the file: "queues[3].arguments.x-max-length". */
  readonly path: string;
  readonly message: string;
}

export class DefinitionsError extends Error {
  override name = 'DefinitionsError';
  constructor(readonly issues: readonly DefinitionsIssue[]) {
    super(
      `the definitions were refused, nothing was imported: ${issues
        .slice(0, 10)
        .map((i) => `${i.path}: ${i.message}`)
        .join('; ')}${issues.length > 10 ? `; and ${issues.length - 10} more` : ''}`,
    );
  }
}

export interface ImportOptions {
  /** Exchange types the broker has. */
  readonly exchangeTypes?: readonly string[];
  /** Stop collecting problems after this many. */
  readonly maxIssues?: number;
}

const DEFAULT_EXCHANGE_TYPES = ['direct', 'fanout', 'topic', 'headers', 'x-delayed-message'];

/** The exchanges every vhost has (rabbit_vhost:do_add/3). */
const STANDARD_EXCHANGES: ReadonlyMap<string, { readonly type: string; readonly internal: boolean }> = new Map([
  ['', { type: 'direct', internal: false }],
  ['amq.direct', { type: 'direct', internal: false }],
  ['amq.fanout', { type: 'fanout', internal: false }],
  ['amq.topic', { type: 'topic', internal: false }],
  ['amq.headers', { type: 'headers', internal: false }],
  ['amq.match', { type: 'headers', internal: false }],
  ['amq.rabbitmq.trace', { type: 'topic', internal: true }],
]);

class TooManyIssues extends Error {}

/** Reads one object of the file, recording problems at their path; reports unknown fields at the end. */
class Entry {
  private readonly seen = new Set<string>();

  constructor(
    readonly value: { [key: string]: JsonValue },
    readonly path: string,
    private readonly issue: (path: string, message: string) => void,
  ) {}

  has(k: string): boolean {
    return Object.hasOwn(this.value, k);
  }

  raw(k: string): JsonValue | undefined {
    this.seen.add(k);
    return this.has(k) ? this.value[k] : undefined;
  }

  string(k: string, required: boolean): string | undefined {
    const v = this.raw(k);
    if (v === undefined) {
      if (required) this.issue(`${this.path}.${k}`, 'missing');
      return undefined;
    }
    if (typeof v !== 'string') {
      this.issue(`${this.path}.${k}`, `should be a string, was ${erlangTerm(v)}`);
      return undefined;
    }
    return v;
  }

  boolean(k: string, required: boolean): boolean | undefined {
    const v = this.raw(k);
    if (v === undefined) {
      if (required) this.issue(`${this.path}.${k}`, 'missing');
      return undefined;
    }
    if (typeof v !== 'boolean') {
      this.issue(`${this.path}.${k}`, `should be true or false, was ${erlangTerm(v)}`);
      return undefined;
    }
    return v;
  }

  name(k: string, what: string): string | undefined {
    const v = this.string(k, true);
    if (v !== undefined && Buffer.byteLength(v) > 255) {
      this.issue(`${this.path}.${k}`, `a ${what} name is at most 255 bytes (AMQP shortstr), this one is ${Buffer.byteLength(v)}`);
      return undefined;
    }
    return v;
  }

  done(): void {
    for (const k of Object.keys(this.value)) if (!this.seen.has(k)) this.issue(`${this.path}.${k}`, 'unknown field');
  }
}

/** A tags field: a list of strings, or one comma-separated string (tag_list_from/1, parse_tags/1). */
function tagsOf(v: JsonValue, path: string, issue: (p: string, m: string) => void): string[] | undefined {
  if (typeof v === 'string') return v.split(',').map((t) => t.trim()).filter((t) => t !== '');
  if (Array.isArray(v) && v.every((t): t is string => typeof t === 'string')) return v.map((t) => t.trim());
  issue(path, `should be a list of strings or a comma-separated string, was ${erlangTerm(v)}`);
  return undefined;
}

function limitsOf(v: JsonValue, allowed: readonly string[], path: string, issue: (p: string, m: string) => void): Record<string, number> | undefined {
  // Objects as users carry them; [[key, value], ...] as vhosts are exported.
  const pairs: [string, JsonValue][] = Array.isArray(v)
    ? v.map((p) => (Array.isArray(p) && p.length === 2 && typeof p[0] === 'string' ? ([p[0], p[1]!] as [string, JsonValue]) : ['', p as JsonValue]))
    : isJsonObject(v)
      ? Object.entries(v)
      : [];
  if (!Array.isArray(v) && !isJsonObject(v)) {
    issue(path, `should be an object, was ${erlangTerm(v)}`);
    return undefined;
  }
  const out: Record<string, number> = {};
  let ok = true;
  for (const [k, x] of pairs) {
    if (!allowed.includes(k)) {
      issue(`${path}.${k}`, `unknown limit (known: ${allowed.join(', ')})`);
      ok = false;
    } else if (!isJsonInteger(x)) {
      // rabbit_parameter_validation:integer/2
      issue(`${path}.${k}`, `${k} should be a number, actually was ${erlangTerm(x)}`);
      ok = false;
    } else {
      out[k] = jsonNumber(x);
    }
  }
  return ok ? out : undefined;
}

function regexIssue(source: string): string | undefined {
  try {
    compilePermissionRegex(source);
    return undefined;
  } catch (e) {
    if (e instanceof PcreSyntaxError) return `regular expression '${source}' is invalid: ${e.message} at ${e.offset}`;
    if (e instanceof PcreUnsupportedError) return `regular expression '${source}': ${e.message}`;
    throw e;
  }
}

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

function collect(input: string | JsonValue, existing: ExistingState, options: ImportOptions, issue: (path: string, message: string) => void): ImportPlan {
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
  const top = new Entry(doc, '', issue);
  const version = top.string('rabbitmq_version', false) ?? top.string('rabbit_version', false);
  top.string('rabbit_version', false);
  top.string('product_name', false);
  top.string('product_version', false);

  const section = (name: string): Entry[] => {
    const v = top.raw(name);
    if (v === undefined) return [];
    if (!Array.isArray(v)) {
      issue(name, `should be a list, was ${erlangTerm(v)}`);
      return [];
    }
    const out: Entry[] = [];
    v.forEach((e, i) => {
      if (isJsonObject(e)) out.push(new Entry(e, `${name}[${i}]`, issue));
      else issue(`${name}[${i}]`, `should be an object, was ${erlangTerm(e)}`);
    });
    return out;
  };
  const duplicates = new Map<string, string>();
  const unique = (kind: string, key: string, path: string, what: string): boolean => {
    const k = `${kind}\u0000${key}`;
    const first = duplicates.get(k);
    if (first !== undefined) {
      issue(path, `${what} is defined twice (first at ${first})`);
      return false;
    }
    duplicates.set(k, path);
    return true;
  };

  // Users (rabbit_auth_backend_internal:put_user/3)
  const users: NewUser[] = [];
  const fileUsers = new Set<string>();
  const preconfigured: PermissionRecord[] = [];
  for (const e of section('users')) {
    const name = e.string('name', true);
    let tags: string[] | undefined;
    if (e.has('tags')) tags = tagsOf(e.raw('tags')!, `${e.path}.tags`, issue);
    else if (e.has('administrator')) {
      const a = e.raw('administrator');
      // rabbit_misc:parse_bool/1
      tags = a === true || a === 'true' ? ['administrator'] : a === false || a === 'false' ? [] : undefined;
      if (tags === undefined) issue(`${e.path}.administrator`, `should be true or false, was ${erlangTerm(a!)}`);
    } else {
      e.raw('tags');
      issue(`${e.path}.tags`, 'missing (RabbitMQ refuses a user without tags: tags_not_present)');
    }
    const password = e.string('password', false);
    const hashText = e.string('password_hash', false);
    const algorithmField = e.raw('hashing_algorithm');
    if (password !== undefined && hashText !== undefined) issue(e.path, 'both password and password_hash are given');
    let passwordHash: Buffer | undefined;
    if (hashText !== undefined) {
      passwordHash = decodePasswordHash(hashText);
      if (passwordHash === undefined) issue(`${e.path}.password_hash`, 'is not base64');
    }
    const algorithm = algorithmForImportedHash(algorithmField, version);
    if (algorithm === undefined) issue(`${e.path}.hashing_algorithm`, `unknown password hashing algorithm ${erlangTerm(algorithmField!)}`);
    let limits: UserLimits | undefined;
    if (e.has('limits')) limits = limitsOf(e.raw('limits')!, ['max-connections', 'max-channels'], `${e.path}.limits`, issue);
    if (e.has('permissions')) {
      const p = e.raw('permissions')!;
      if (!isJsonObject(p)) issue(`${e.path}.permissions`, `should be an object of vhost to permissions, was ${erlangTerm(p)}`);
      else if (name !== undefined && !existing.hasUser(name)) {
        // Pre-configured permissions apply to newly created users only.
        for (const [vhost, perms] of Object.entries(p)) {
          const pe = isJsonObject(perms) ? new Entry(perms, `${e.path}.permissions.${vhost}`, issue) : undefined;
          if (pe === undefined) {
            issue(`${e.path}.permissions.${vhost}`, 'should be an object with configure, write and read');
            continue;
          }
          const [configure, write, read] = ['configure', 'write', 'read'].map((k) => pe.string(k, true));
          pe.done();
          if (configure !== undefined && write !== undefined && read !== undefined) preconfigured.push({ user: name, vhost, configure, write, read });
        }
      }
    }
    e.done();
    if (name === undefined || !unique('user', name, e.path, `user '${name}'`)) continue;
    fileUsers.add(name);
    users.push({
      name,
      ...(password !== undefined ? { password } : {}),
      // A cleartext password is hashed with the broker's default algorithm, a hash keeps its own.
      ...(passwordHash !== undefined ? { passwordHash, hashingAlgorithm: algorithm as HashingAlgorithm } : {}),
      tags: tags ?? [],
      ...(limits !== undefined ? { limits } : {}),
    });
  }
  const userExists = (u: string) => fileUsers.has(u) || existing.hasUser(u);

  // Vhosts (rabbit_definitions:add_vhost/2, rabbit_vhost:put_vhost/6)
  const vhosts: NewVhost[] = [];
  const fileVhosts = new Set<string>();
  for (const e of section('vhosts')) {
    const name = e.string('name', true);
    const metaRaw = e.raw('metadata');
    const meta = metaRaw === undefined ? undefined : isJsonObject(metaRaw) ? new Entry(metaRaw, `${e.path}.metadata`, issue) : undefined;
    if (metaRaw !== undefined && meta === undefined) issue(`${e.path}.metadata`, `should be an object, was ${erlangTerm(metaRaw)}`);
    const topDescription = e.string('description', false);
    const metaDescription = meta?.string('description', false);
    const description = topDescription ?? metaDescription;
    const tagsRaw = e.has('tags') ? e.raw('tags') : meta?.has('tags') ? meta.raw('tags') : undefined;
    e.raw('tags');
    meta?.raw('tags');
    const tags = tagsRaw === undefined || tagsRaw === null ? [] : tagsOf(tagsRaw, `${e.path}.tags`, issue);
    const dqt = meta?.string('default_queue_type', false);
    if (dqt !== undefined && !(KNOWN_QUEUE_TYPES as readonly string[]).includes(dqt)) issue(`${e.path}.metadata.default_queue_type`, `unknown queue type '${dqt}' (invalid_queue_type)`);
    const tracing = e.boolean('tracing', false);
    // The vhost's limits are written here on export but imported from its vhost-limits parameter.
    if (e.has('limits')) limitsOf(e.raw('limits')!, ['max-connections', 'max-queues'], `${e.path}.limits`, issue);
    meta?.done();
    e.done();
    if (name === undefined || !unique('vhost', name, e.path, `vhost '${name}'`)) continue;
    fileVhosts.add(name);
    vhosts.push({
      name,
      // put_vhost sets both, also on a vhost that exists: absent means empty.
      description: description ?? '',
      tags: tags ?? [],
      ...(dqt !== undefined && !existing.vhost(name) ? { defaultQueueType: dqt as QueueType } : {}),
      ...(tracing !== undefined ? { tracing } : {}),
    });
  }
  const vhostExists = (v: string) => fileVhosts.has(v) || existing.vhost(v) !== undefined;
  const requireVhost = (e: Entry, vhost: string | undefined): vhost is string => {
    if (vhost === undefined) return false;
    if (!vhostExists(vhost)) {
      issue(`${e.path}.vhost`, `vhost '${vhost}' is neither in the file nor on the broker (no_such_vhost)`);
      return false;
    }
    return true;
  };

  // rabbit_definitions:validate_limits/1: with the limits in force before the import.
  const newQueuesByVhost = new Map<string, number>();

  // Permissions and topic permissions (set_permissions/6, set_topic_permissions/6)
  const permissions: PermissionRecord[] = [];
  for (const e of section('permissions')) {
    const user = e.string('user', true);
    const vhost = e.string('vhost', true);
    const [configure, write, read] = ['configure', 'write', 'read'].map((k) => e.string(k, true));
    e.done();
    let ok = user !== undefined && requireVhost(e, vhost) && configure !== undefined && write !== undefined && read !== undefined;
    if (user !== undefined && !userExists(user)) {
      issue(`${e.path}.user`, `user '${user}' is neither in the file nor on the broker (no_such_user)`);
      ok = false;
    }
    for (const [k, r] of [['configure', configure], ['write', write], ['read', read]] as const) {
      const problem = r === undefined ? undefined : regexIssue(r);
      if (problem !== undefined) {
        issue(`${e.path}.${k}`, problem);
        ok = false;
      }
    }
    if (ok && unique('permission', `${user}\u0000${vhost}`, e.path, `the permission of user '${user}' in vhost '${vhost}'`)) {
      permissions.push({ user: user!, vhost: vhost!, configure: configure!, write: write!, read: read! });
    }
  }
  for (const p of preconfigured) {
    if (!vhostExists(p.vhost)) issue(`users (${p.user}).permissions.${p.vhost}`, `vhost '${p.vhost}' is neither in the file nor on the broker (no_such_vhost)`);
    else if (!permissions.some((q) => q.user === p.user && q.vhost === p.vhost)) permissions.push(p);
  }
  const topicPermissions: TopicPermissionRecord[] = [];
  for (const e of section('topic_permissions')) {
    const user = e.string('user', true);
    const vhost = e.string('vhost', true);
    const exchange = e.string('exchange', true);
    const write = e.string('write', true);
    const read = e.string('read', true);
    e.done();
    let ok = user !== undefined && requireVhost(e, vhost) && exchange !== undefined && write !== undefined && read !== undefined;
    if (user !== undefined && !userExists(user)) {
      issue(`${e.path}.user`, `user '${user}' is neither in the file nor on the broker (no_such_user)`);
      ok = false;
    }
    for (const [k, r] of [['write', write], ['read', read]] as const) {
      const problem = r === undefined ? undefined : regexIssue(r);
      if (problem !== undefined) {
        issue(`${e.path}.${k}`, problem);
        ok = false;
      }
    }
    if (ok && unique('topic', `${user}\u0000${vhost}\u0000${exchange}`, e.path, `the topic permission of user '${user}' on exchange '${exchange}' in vhost '${vhost}'`)) {
      topicPermissions.push({ user: user!, vhost: vhost!, exchange: exchange!, write: write!, read: read! });
    }
  }

  // Exchanges (add_exchange/2)
  const skipped: DefinitionsIssue[] = [];
  const exchangeTypes = options.exchangeTypes ?? DEFAULT_EXCHANGE_TYPES;
  const exchanges: DefinedExchange[] = [];
  const fileExchanges = new Set<string>();
  for (const e of section('exchanges')) {
    const vhost = e.string('vhost', true);
    const name = e.name('name', 'exchange');
    const type = e.string('type', true);
    const durable = e.boolean('durable', true);
    const autoDelete = e.boolean('auto_delete', true);
    const internal = e.boolean('internal', false) ?? false; // absent before 2.2.0
    let args: FieldTable | undefined;
    try {
      args = jsonToTable(e.raw('arguments'), `${e.path}.arguments`);
    } catch (x) {
      if (!(x instanceof TableConversionError)) throw x;
      issue(x.path, x.message);
    }
    e.done();
    if (type !== undefined && !exchangeTypes.includes(type)) issue(`${e.path}.type`, `unknown exchange type '${type}'`);
    if (!requireVhost(e, vhost) || name === undefined || type === undefined || durable === undefined || autoDelete === undefined || args === undefined) continue;
    if (name === '' || name.startsWith('amq.')) {
      skipped.push({ path: e.path, message: name === '' ? 'the default exchange is not imported' : `exchange '${name}': names beginning with 'amq.' are not imported` });
      continue;
    }
    if (!unique('exchange', `${vhost}\u0000${name}`, e.path, `exchange '${name}' in vhost '${vhost}'`)) continue;
    fileExchanges.add(`${vhost}\u0000${name}`);
    if (existing.hasExchange(vhost, name)) {
      skipped.push({ path: e.path, message: `exchange '${name}' in vhost '${vhost}' exists already (not compared, not changed)` });
      continue;
    }
    exchanges.push({ vhost, name, type, durable, autoDelete, internal, arguments: args });
  }
  const exchangeExists = (vhost: string, name: string) => STANDARD_EXCHANGES.has(name) || fileExchanges.has(`${vhost}\u0000${name}`) || existing.hasExchange(vhost, name);

  // Global parameters (add_global_parameter/2)
  const globalParameters: GlobalParameter[] = [];
  for (const e of section('global_parameters')) {
    const name = e.string('name', true);
    const value = e.raw('value');
    if (value === undefined) issue(`${e.path}.value`, 'missing');
    e.done();
    if (name === undefined || value === undefined || !unique('global', name, e.path, `global parameter '${name}'`)) continue;
    globalParameters.push({ name, value });
  }

  // Policies (add_policy/2): RabbitMQ's validation texts, with the entry's place.
  const policies: Policy[] = [];
  const operatorPolicies: Policy[] = [];
  const policy = (kind: PolicyKind, e: Entry, vhost: string | undefined, name: string | undefined, props: Record<string, JsonValue | undefined>) => {
    const errors = validatePolicy(kind, name ?? 'undefined', props);
    for (const m of errors) issue(e.path, `${m} (${vhost}/${name})`);
    if (errors.length > 0 || !requireVhost(e, vhost) || name === undefined) return;
    if (!unique(kind, `${vhost}\u0000${name}`, e.path, `${kind === 'policy' ? 'policy' : 'operator policy'} '${name}' in vhost '${vhost}'`)) return;
    (kind === 'policy' ? policies : operatorPolicies).push(policyFromProperties(vhost, name, props));
  };
  for (const e of section('policies')) {
    const vhost = e.string('vhost', true);
    const name = e.string('name', false);
    if (name === undefined && !e.has('name')) issue(`${e.path}.name`, `policy in virtual host '${vhost}' has undefined name`);
    const props = { pattern: e.raw('pattern'), definition: e.raw('definition'), priority: e.raw('priority'), 'apply-to': e.raw('apply-to') };
    e.done();
    policy('policy', e, vhost, name, props);
  }

  // Parameters (add_parameter/2): the components Warren has.
  const vhostLimits: { vhost: string; limits: VhostLimits }[] = [];
  for (const e of section('parameters')) {
    const vhost = e.string('vhost', true);
    const component = e.string('component', true);
    const name = e.string('name', true);
    const value = e.raw('value');
    if (value === undefined) issue(`${e.path}.value`, 'missing');
    e.done();
    if (component === undefined || value === undefined) continue;
    if (component === 'operator_policy') {
      if (!isJsonObject(value)) {
        issue(`${e.path}.value`, `should be an object, was ${erlangTerm(value)}`);
        continue;
      }
      const v = new Entry(value, `${e.path}.value`, issue);
      let definition = v.raw('definition');
      // export_definitions writes the definition as [[key, value], ...]; accept it as the object it means.
      if (Array.isArray(definition) && definition.every((p) => Array.isArray(p) && p.length === 2 && typeof p[0] === 'string')) {
        definition = Object.fromEntries(definition.map((p) => [(p as JsonValue[])[0] as string, (p as JsonValue[])[1]!]));
      }
      const props = { pattern: v.raw('pattern'), definition, priority: v.raw('priority'), 'apply-to': v.raw('apply-to') };
      v.done();
      policy('operator_policy', e, vhost, name, props);
    } else if (component === 'vhost-limits') {
      if (!requireVhost(e, vhost)) continue;
      if (name !== 'limits') issue(`${e.path}.name`, `a vhost-limits parameter is named 'limits', not ${erlangTerm(name ?? null)}`);
      const limits = limitsOf(value, ['max-connections', 'max-queues'], `${e.path}.value`, issue);
      if (limits !== undefined && unique('limits', vhost, e.path, `the limits of vhost '${vhost}'`)) vhostLimits.push({ vhost, limits });
    } else {
      issue(`${e.path}.component`, `component ${component} not found (Warren has operator_policy and vhost-limits)`);
    }
  }

  // Queues (add_queue/2)
  const queues: DefinedQueue[] = [];
  const fileQueues = new Set<string>();
  for (const e of section('queues')) {
    const vhost = e.string('vhost', true);
    const name = e.name('name', 'queue');
    const durable = e.boolean('durable', true);
    const autoDelete = e.boolean('auto_delete', true);
    const typeField = e.string('type', false);
    let args: FieldTable | undefined;
    try {
      args = jsonToTable(e.raw('arguments'), `${e.path}.arguments`);
    } catch (x) {
      if (!(x instanceof TableConversionError)) throw x;
      issue(x.path, x.message);
    }
    e.done();
    if (!requireVhost(e, vhost) || name === undefined || durable === undefined || autoDelete === undefined || args === undefined) continue;
    if (name.startsWith('amq.')) {
      skipped.push({ path: e.path, message: `queue '${name}': names beginning with 'amq.' are not imported` });
      continue;
    }
    if (!unique('queue', `${vhost}\u0000${name}`, e.path, `queue '${name}' in vhost '${vhost}'`)) continue;
    fileQueues.add(`${vhost}\u0000${name}`);
    try {
      checkDeclareArguments(name, vhost, args);
    } catch (x) {
      if (!(x instanceof ChannelError)) throw x;
      issue(`${e.path}.arguments`, x.explanation);
      continue;
    }
    // The queue's type is its x-queue-type (the "type" field is informational; RabbitMQ ignores it).
    const type = queueTypeOf(args);
    if (typeField !== undefined && typeField !== type) issue(`${e.path}.type`, `says '${typeField}' but the arguments make a ${type} queue`);
    if (type !== 'classic' && !durable) issue(`${e.path}.durable`, `invalid property 'non-durable' for queue '${name}' in vhost '${vhost}': ${type} queues are durable`);
    if (type !== 'classic' && autoDelete) issue(`${e.path}.auto_delete`, `invalid property 'auto-delete' for queue '${name}' in vhost '${vhost}'`);
    if (existing.hasQueue(vhost, name)) {
      skipped.push({ path: e.path, message: `queue '${name}' in vhost '${vhost}' exists already (not compared, not changed)` });
      continue;
    }
    newQueuesByVhost.set(vhost, (newQueuesByVhost.get(vhost) ?? 0) + 1);
    queues.push({ vhost, name, durable, autoDelete, arguments: args });
  }
  for (const [vhost, adding] of newQueuesByVhost) {
    const limit = existing.vhost(vhost)?.queueLimit;
    const count = existing.queueCount(vhost);
    if (limit !== undefined && limit >= 0 && (limit === 0 || adding + count > limit)) {
      issue(
        'queues',
        `Adding ${adding} queue(s) to virtual host "${vhost}" would exceed the limit of ${limit} queue(s).\n\nThis virtual host currently has ${count} queue(s) defined.\n\nImport aborted!`,
      );
    }
  }
  const queueExists = (vhost: string, name: string) => fileQueues.has(`${vhost}\u0000${name}`) || existing.hasQueue(vhost, name);

  // Bindings (add_binding/2): both ends must exist.
  const bindings: DefinedBinding[] = [];
  for (const e of section('bindings')) {
    const vhost = e.string('vhost', true);
    const source = e.name('source', 'exchange');
    const destination = e.name('destination', 'queue or exchange');
    const destinationType = e.string('destination_type', true);
    const routingKey = e.string('routing_key', true);
    let args: FieldTable | undefined;
    try {
      args = jsonToTable(e.raw('arguments'), `${e.path}.arguments`);
    } catch (x) {
      if (!(x instanceof TableConversionError)) throw x;
      issue(x.path, x.message);
    }
    e.done();
    if (destinationType !== undefined && destinationType !== 'queue' && destinationType !== 'exchange') {
      issue(`${e.path}.destination_type`, `should be "queue" or "exchange", was ${erlangTerm(destinationType)}`);
      continue;
    }
    if (routingKey !== undefined && Buffer.byteLength(routingKey) > 255) issue(`${e.path}.routing_key`, 'a routing key is at most 255 bytes');
    if (!requireVhost(e, vhost) || source === undefined || destination === undefined || destinationType === undefined || routingKey === undefined || args === undefined) continue;
    if (source === '') {
      issue(`${e.path}.source`, 'the default exchange cannot be bound explicitly');
      continue;
    }
    if (!exchangeExists(vhost, source)) issue(`${e.path}.source`, `exchange '${source}' in vhost '${vhost}' is neither in the file nor on the broker`);
    const destinationExists = destinationType === 'queue' ? queueExists(vhost, destination) : exchangeExists(vhost, destination);
    if (!destinationExists) issue(`${e.path}.destination`, `${destinationType} '${destination}' in vhost '${vhost}' is neither in the file nor on the broker`);
    if (destinationType === 'exchange' && destination === '') issue(`${e.path}.destination`, 'the default exchange cannot be bound to');
    bindings.push({ vhost, source, destination, destinationType, routingKey, arguments: args });
  }

  top.done();
  return {
    rabbitVersion: version,
    users,
    vhosts,
    permissions,
    topicPermissions,
    exchanges,
    globalParameters,
    policies,
    operatorPolicies,
    vhostLimits,
    queues,
    bindings,
    skipped,
  };
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
