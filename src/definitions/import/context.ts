/**
 * What the sections of a definitions import share while they are read: the plan as it fills up,
 * what the file defines so far (so later sections may refer to it), duplicate detection, and the
 * lookups a reference goes through: the file first, then the broker as it is.
 */
import type { NewUser, NewVhost, PermissionRecord, TopicPermissionRecord, VhostLimits } from '../../access/access-database.js';
import type { Policy } from '../../policy/policy.js';
import { erlangTerm } from '../../protocol/erlang-term.js';
import { isJsonObject } from '../../util/json.js';
import type {
  DefinedBinding,
  DefinedExchange,
  DefinedQueue,
  DefinitionsIssue,
  ExistingState,
  GlobalParameter,
  ImportOptions,
  ImportPlan,
} from '../plan.js';
import { Entry, type Issue } from './entry.js';

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

/** One top-level list of the file: what each of its entries adds to the plan, and a last check. */
export interface Section {
  readonly name: string;
  entry(ctx: ImportContext, e: Entry): void;
  /** After the section's last entry. */
  done?(ctx: ImportContext): void;
}

export class ImportContext {
  readonly users: NewUser[] = [];
  readonly vhosts: NewVhost[] = [];
  readonly permissions: PermissionRecord[] = [];
  readonly topicPermissions: TopicPermissionRecord[] = [];
  readonly exchanges: DefinedExchange[] = [];
  readonly globalParameters: GlobalParameter[] = [];
  readonly policies: Policy[] = [];
  readonly operatorPolicies: Policy[] = [];
  readonly vhostLimits: { vhost: string; limits: VhostLimits }[] = [];
  readonly queues: DefinedQueue[] = [];
  readonly bindings: DefinedBinding[] = [];
  /** Entries left out, as RabbitMQ leaves them out, with why. */
  readonly skipped: DefinitionsIssue[] = [];

  readonly fileUsers = new Set<string>();
  readonly fileVhosts = new Set<string>();
  /** `${vhost}\u0000${name}` of the exchanges and queues the file defines. */
  readonly fileExchanges = new Set<string>();
  readonly fileQueues = new Set<string>();
  /** Permissions given inside user entries (for users the import creates), placed after the permissions section. */
  readonly preconfigured: PermissionRecord[] = [];
  /** rabbit_definitions:validate_limits/1: with the limits in force before the import. */
  readonly newQueuesByVhost = new Map<string, number>();
  private readonly duplicates = new Map<string, string>();

  constructor(
    private readonly top: Entry,
    /** The file's rabbitmq_version (or rabbit_version): old files hash passwords differently. */
    readonly version: string | undefined,
    readonly existing: ExistingState,
    readonly options: ImportOptions,
    readonly issue: Issue,
  ) {}

  /** The entries of a top-level list of the file; anything else there is a problem. */
  section(name: string): Entry[] {
    const v = this.top.raw(name);
    if (v === undefined) return [];
    if (!Array.isArray(v)) {
      this.issue(name, `should be a list, was ${erlangTerm(v)}`);
      return [];
    }
    const out: Entry[] = [];
    v.forEach((e, i) => {
      if (isJsonObject(e)) out.push(new Entry(e, `${name}[${i}]`, this.issue));
      else this.issue(`${name}[${i}]`, `should be an object, was ${erlangTerm(e)}`);
    });
    return out;
  }

  /** False (and a problem recorded) when the file defined this `kind` with this `key` before. */
  unique(kind: string, key: string, path: string, what: string): boolean {
    const k = `${kind}\u0000${key}`;
    const first = this.duplicates.get(k);
    if (first !== undefined) {
      this.issue(path, `${what} is defined twice (first at ${first})`);
      return false;
    }
    this.duplicates.set(k, path);
    return true;
  }

  userExists(u: string): boolean {
    return this.fileUsers.has(u) || this.existing.hasUser(u);
  }

  vhostExists(v: string): boolean {
    return this.fileVhosts.has(v) || this.existing.vhost(v) !== undefined;
  }

  requireVhost(e: Entry, vhost: string | undefined): vhost is string {
    if (vhost === undefined) return false;
    if (!this.vhostExists(vhost)) {
      this.issue(`${e.path}.vhost`, `vhost '${vhost}' is neither in the file nor on the broker (no_such_vhost)`);
      return false;
    }
    return true;
  }

  exchangeExists(vhost: string, name: string): boolean {
    return STANDARD_EXCHANGES.has(name) || this.fileExchanges.has(`${vhost}\u0000${name}`) || this.existing.hasExchange(vhost, name);
  }

  queueExists(vhost: string, name: string): boolean {
    return this.fileQueues.has(`${vhost}\u0000${name}`) || this.existing.hasQueue(vhost, name);
  }

  plan(): ImportPlan {
    return {
      rabbitVersion: this.version,
      users: this.users,
      vhosts: this.vhosts,
      permissions: this.permissions,
      topicPermissions: this.topicPermissions,
      exchanges: this.exchanges,
      globalParameters: this.globalParameters,
      policies: this.policies,
      operatorPolicies: this.operatorPolicies,
      vhostLimits: this.vhostLimits,
      queues: this.queues,
      bindings: this.bindings,
      skipped: this.skipped,
    };
  }
}
