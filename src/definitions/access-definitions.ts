/**
 * The access-control part of definitions, between an import plan or a model and the AccessDatabase:
 * users, vhosts (with their limits), permissions and topic permissions.
 */
import type { AccessDatabase } from '../access/access-database.js';
import type { DefinitionsModel, ImportPlan } from './definitions.js';

/**
 * Applies the plan's access entries in RabbitMQ's order (users, vhosts, vhost limits, permissions,
 * topic permissions). The plan was validated against this database's state, so nothing here is
 * expected to fail; if something does (the state changed in between), it throws part-way.
 */
export function applyAccessPlan(db: AccessDatabase, plan: ImportPlan): void {
  for (const u of plan.users) db.putUser(u);
  for (const v of plan.vhosts) db.putVhost(v);
  for (const l of plan.vhostLimits) db.setVhostLimits(l.vhost, l.limits);
  for (const p of plan.permissions) db.setPermissions(p.user, p.vhost, p.configure, p.write, p.read);
  for (const t of plan.topicPermissions) db.setTopicPermissions(t.user, t.vhost, t.exchange, t.write, t.read);
}

/** The access part of a DefinitionsModel, from the database. */
export function accessModel(db: AccessDatabase): Pick<DefinitionsModel, 'users' | 'vhosts' | 'permissions' | 'topicPermissions'> {
  return {
    users: db.listUsers(),
    vhosts: db.listVhosts(),
    permissions: db.listPermissions(),
    topicPermissions: db.listTopicPermissions(),
  };
}
