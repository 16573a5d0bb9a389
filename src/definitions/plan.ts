/**
 * What definitions describe and what an import of them plans: the model an export writes (the
 * broker's users, vhosts, permissions, policies, parameters, queues, exchanges and bindings), the
 * broker state an import is checked against, and the plan it yields or the problems it refuses.
 */
import type { NewUser, NewVhost, PermissionRecord, TopicPermissionRecord, UserRecord, VhostLimits, VhostRecord } from '../access/access-database.js';
import type { Policy } from '../policy/policy.js';
import type { FieldTable } from '../protocol/field-table.js';
import type { JsonValue } from '../util/json.js';

// --- the model ---------------------------------------------------------------------------------

export interface DefinedQueue {
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

export interface DefinedBinding {
  readonly vhost: string;
  readonly source: string;
  readonly destination: string;
  readonly destinationType: 'queue' | 'exchange';
  readonly routingKey: string;
  readonly arguments: FieldTable;
}

export interface GlobalParameter {
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
