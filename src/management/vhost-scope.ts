/** Resolving the vhost a path names, and the vhosts a user may see, for the controllers. */
import type { AuthenticatedUser } from '../access/access-database.js';
import type { VHost } from '../vhost.js';
import { requireVhostAccess, seesVhost } from './auth.js';
import type { ManagementContext } from './context.js';
import { notFound } from './http-errors.js';

/** The vhost of `/api/.../{vhost}/...`: 404 vhost_not_found, or 401 when the user has no access there. */
export function vhostFor(ctx: ManagementContext, user: AuthenticatedUser, name: string, access: 'see' | 'act' = 'see'): VHost {
  const v = ctx.broker.vhosts.get(name);
  if (v === undefined || ctx.broker.access.vhost(name) === undefined) throw notFound('vhost_not_found');
  if (access === 'act' || !seesVhost(ctx.broker.access, user, name)) requireVhostAccess(ctx.broker.access, user, name);
  return v;
}

/** The vhosts whose objects the user sees in the lists: all of them for monitoring users, else those with permissions. */
export function visibleVhosts(ctx: ManagementContext, user: AuthenticatedUser, only?: string): VHost[] {
  if (only !== undefined) return [vhostFor(ctx, user, only)];
  return [...ctx.broker.vhosts.values()].filter((v) => seesVhost(ctx.broker.access, user, v.name));
}
