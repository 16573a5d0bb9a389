/**
 * What the broker has, as a definitions model (rabbitmqctl export_definitions, the management API's
 * GET /api/definitions): users, vhosts, permissions, topic permissions, policies, operator policies,
 * global parameters, non-exclusive queues, exchanges and their explicit bindings.
 *
 * Exclusive queues belong to a connection and are not definitions; bindings to them are left out
 * with them, so that the file imports whole. So is an entity whose arguments nest deeper than a
 * definitions file can (a client may send them thousands deep; RabbitMQ's JSON encoder has no such
 * limit, but the file would then not import anywhere): it is left out with a warning.
 */
import type { Logger } from 'pino';
import type { AccessDatabase } from '../access/access-database.js';
import { nestsDeeperThan } from '../definitions/amqp-table-json.js';
import type { DefinedExchange, DefinitionsModel } from '../definitions/definitions.js';
import type { JsonValue } from '../util/json.js';
import type { VHost } from '../vhost.js';

export interface ExportSource {
  readonly access: AccessDatabase;
  readonly vhosts: ReadonlyMap<string, VHost>;
  readonly globalParameters: ReadonlyMap<string, JsonValue>;
  readonly log: Logger;
}

/** A definitions file's reader stops at 512 levels; the entity and its arguments sit four levels down. */
const MAX_ARGUMENT_DEPTH = 500;

type Writable<T> = { -readonly [K in keyof T]: T[K] extends readonly (infer E)[] ? E[] : T[K] };

/** The model of the whole broker, or of one vhost (its entities and policies only, as RabbitMQ's per-vhost export). */
export function definitionsModel(src: ExportSource, vhost?: string): DefinitionsModel {
  const scoped = vhost !== undefined;
  const vhosts = scoped ? [src.vhosts.get(vhost)].filter((v): v is VHost => v !== undefined) : [...src.vhosts.values()];
  const model: Writable<DefinitionsModel> = {
    users: scoped ? [] : src.access.listUsers(),
    vhosts: scoped ? [] : src.access.listVhosts(),
    permissions: scoped ? [] : src.access.listPermissions(),
    topicPermissions: scoped ? [] : src.access.listTopicPermissions(),
    policies: vhosts.flatMap((v) => v.policies.list()),
    operatorPolicies: vhosts.flatMap((v) => v.operatorPolicies.list()),
    globalParameters: scoped ? [] : [...src.globalParameters].map(([name, value]) => ({ name, value })),
    queues: [],
    exchanges: [],
    bindings: [],
  };
  const tooDeep = (kind: string, v: VHost, name: string) => {
    src.log.warn({ vhost: v.name, [kind]: name }, `definitions export: the ${kind}'s arguments nest deeper than ${MAX_ARGUMENT_DEPTH} levels; left out`);
  };
  for (const v of vhosts) {
    const left = new Set<unknown>();
    for (const q of v.queues.values()) {
      if (q.options.exclusive) {
        left.add(q);
        continue;
      }
      if (nestsDeeperThan(q.options.arguments, MAX_ARGUMENT_DEPTH)) {
        tooDeep('queue', v, q.name);
        left.add(q);
        continue;
      }
      model.queues.push({ vhost: v.name, name: q.name, durable: q.options.durable, autoDelete: q.options.autoDelete, arguments: q.options.arguments });
    }
    const exchanges: DefinedExchange[] = [];
    for (const x of v.exchanges.values()) {
      if (x.name === '' || x.name.startsWith('amq.')) continue;
      if (nestsDeeperThan(x.options.arguments, MAX_ARGUMENT_DEPTH)) {
        tooDeep('exchange', v, x.name);
        left.add(x);
        continue;
      }
      exchanges.push({ vhost: v.name, name: x.name, type: x.type, durable: x.options.durable, autoDelete: x.options.autoDelete, internal: x.options.internal, arguments: x.options.arguments });
    }
    model.exchanges.push(...exchanges);
    for (const x of v.exchanges.values()) {
      if (left.has(x)) continue;
      for (const b of x.bindings.values()) {
        if (left.has(b.destination) || nestsDeeperThan(b.arguments, MAX_ARGUMENT_DEPTH)) continue;
        model.bindings.push({ vhost: v.name, source: x.name, destination: b.destination.name, destinationType: b.destination.kind, routingKey: b.routingKey, arguments: b.arguments });
      }
    }
  }
  return model;
}
