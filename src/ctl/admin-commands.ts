/**
 * rabbitmqctl's commands that change users, vhosts, permissions and policies, over the management
 * API, with RabbitMQ 3.10.8's banners, error texts and exit codes (observed with the reference:
 * an existing user is 70, a missing user 67, a missing vhost or a refused change 69).
 */
import { reasonOf, seg, type ApiAnswer, type ManagementClient } from './client.js';
import type { Command, CtlContext } from './context.js';
import { CtlError, EXIT } from './errors.js';

type Json = Record<string, unknown>;

async function userOrFail(client: ManagementClient, name: string, text = `User "${name}" does not exist`): Promise<Json> {
  const a = await client.request('GET', `/api/users/${seg(name)}`);
  if (a.status === 404) throw new CtlError(EXIT.noUser, text);
  if (a.status >= 300) throw new CtlError(EXIT.unavailable, reasonOf(a));
  return a.json as Json;
}

/** A change the node refused: RabbitMQ's catch-all 69 with the API's reason. */
function expectOk(a: ApiAnswer, notFound?: () => CtlError): void {
  if (a.status < 300) return;
  if (a.status === 404 && notFound !== undefined) throw notFound();
  throw new CtlError(EXIT.unavailable, reasonOf(a));
}

async function addUser(ctx: CtlContext, [name, password]: readonly string[]): Promise<void> {
  ctx.info(`Adding user "${name}" ...`);
  const existing = await ctx.client.request('GET', `/api/users/${seg(name!)}`);
  if (existing.status < 300) throw new CtlError(EXIT.software, `User "${name}" already exists`);
  expectOk(await ctx.client.request('PUT', `/api/users/${seg(name!)}`, { password, tags: '' }));
  ctx.info("Done. Don't forget to grant the user permissions to some virtual hosts! See 'rabbitmqctl help set_permissions' to learn more.");
}

async function changePassword(ctx: CtlContext, [name, password]: readonly string[]): Promise<void> {
  ctx.info(`Changing password for user "${name}" ...`);
  const user = await userOrFail(ctx.client, name!);
  expectOk(await ctx.client.request('PUT', `/api/users/${seg(name!)}`, { password, tags: user.tags }));
}

async function setUserTags(ctx: CtlContext, [name, ...tags]: readonly string[]): Promise<void> {
  ctx.info(`Setting tags for user "${name}" to [${tags.join(', ')}] ...`);
  await userOrFail(ctx.client, name!);
  // Without a password the API keeps the user's own.
  expectOk(await ctx.client.request('PUT', `/api/users/${seg(name!)}`, { tags }));
}

async function deleteUser(ctx: CtlContext, [name]: readonly string[]): Promise<void> {
  ctx.info(`Deleting user "${name}" ...`);
  expectOk(await ctx.client.request('DELETE', `/api/users/${seg(name!)}`), () => new CtlError(EXIT.noUser, `User "${name}" does not exist`));
}

async function addVhost(ctx: CtlContext, [name]: readonly string[]): Promise<void> {
  ctx.info(`Adding vhost "${name}" ...`);
  const body: Json = {};
  if (typeof ctx.flags.description === 'string') body.description = ctx.flags.description;
  if (typeof ctx.flags.tags === 'string') body.tags = ctx.flags.tags;
  if (typeof ctx.flags['default-queue-type'] === 'string') body.default_queue_type = ctx.flags['default-queue-type'];
  expectOk(await ctx.client.request('PUT', `/api/vhosts/${seg(name!)}`, body));
}

async function deleteVhost(ctx: CtlContext, [name]: readonly string[]): Promise<void> {
  ctx.info(`Deleting vhost "${name}" ...`);
  expectOk(await ctx.client.request('DELETE', `/api/vhosts/${seg(name!)}`), () => new CtlError(EXIT.unavailable, `Virtual host '${name}' does not exist`));
}

async function setPermissions(ctx: CtlContext, [user, configure, write, read]: readonly string[]): Promise<void> {
  ctx.info(`Setting permissions for user "${user}" in vhost "${ctx.vhost}" ...`);
  await userOrFail(ctx.client, user!, `User ${user} does not exist`);
  const v = await ctx.client.request('GET', `/api/vhosts/${seg(ctx.vhost)}`);
  if (v.status === 404) throw new CtlError(EXIT.unavailable, `Virtual host ${ctx.vhost} does not exist`);
  expectOk(await ctx.client.request('PUT', `/api/permissions/${seg(ctx.vhost)}/${seg(user!)}`, { configure, write, read }));
}

async function clearPermissions(ctx: CtlContext, [user]: readonly string[]): Promise<void> {
  ctx.info(`Clearing permissions for user "${user}" in vhost "${ctx.vhost}" ...`);
  await userOrFail(ctx.client, user!, `User ${user} does not exist`);
  const a = await ctx.client.request('DELETE', `/api/permissions/${seg(ctx.vhost)}/${seg(user!)}`);
  if (a.status !== 404) expectOk(a);
}

async function setPolicy(ctx: CtlContext, [name, pattern, definition]: readonly string[]): Promise<void> {
  const priority = typeof ctx.flags.priority === 'string' ? ctx.flags.priority : '0';
  ctx.info(`Setting policy "${name}" for pattern "${pattern}" to "${definition}" with priority "${priority}" for vhost "${ctx.vhost}" ...`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(definition!);
  } catch {
    throw new CtlError(EXIT.unavailable, 'JSON decoding error. Reason: badarg');
  }
  if (!/^-?\d+$/.test(priority)) throw new CtlError(EXIT.unavailable, `Validation failed\n\npriority must be a number (got ${priority})\n`);
  const body: Json = { pattern, definition: parsed, priority: Number(priority) };
  if (typeof ctx.flags['apply-to'] === 'string') body['apply-to'] = ctx.flags['apply-to'];
  const a = await ctx.client.request('PUT', `/api/policies/${seg(ctx.vhost)}/${seg(name!)}`, body);
  // The API's reason is RabbitMQ's own text ("Validation failed\n\n<why>\n").
  if (a.status === 400) throw new CtlError(EXIT.unavailable, `${reasonOf(a)}\n`);
  expectOk(a);
}

async function clearPolicy(ctx: CtlContext, [name]: readonly string[]): Promise<void> {
  ctx.info(`Clearing policy "${name}" on vhost "${ctx.vhost}" ...`);
  expectOk(await ctx.client.request('DELETE', `/api/policies/${seg(ctx.vhost)}/${seg(name!)}`), () => new CtlError(EXIT.unavailable, 'Parameter does not exist'));
}

export const adminCommands: readonly Command[] = [
  { name: 'add_user', usage: 'add_user <username> <password>', description: 'Creates a new user in the internal database', args: [2, 2], run: addUser },
  { name: 'delete_user', usage: 'delete_user <username>', description: 'Removes a user from the internal database', args: [1, 1], run: deleteUser },
  { name: 'change_password', usage: 'change_password <username> <password>', description: 'Changes the user password', args: [2, 2], run: changePassword },
  { name: 'set_user_tags', usage: 'set_user_tags <username> <tag> [...]', description: 'Sets user tags', args: [1, Number.POSITIVE_INFINITY], run: setUserTags },
  {
    name: 'add_vhost',
    usage: 'add_vhost <vhost> [--description <description> --tags "<tag1>,<tag2>,<...>" --default-queue-type <quorum|classic|stream>]',
    description: 'Creates a virtual host',
    args: [1, 1],
    options: ['description', 'tags', 'default-queue-type'],
    run: addVhost,
  },
  { name: 'delete_vhost', usage: 'delete_vhost <vhost>', description: 'Deletes a virtual host', args: [1, 1], run: deleteVhost },
  { name: 'set_permissions', usage: 'set_permissions [--vhost <vhost>] <username> <conf> <write> <read>', description: 'Sets user permissions for a vhost', args: [4, 4], run: setPermissions },
  { name: 'clear_permissions', usage: 'clear_permissions [--vhost <vhost>] <username>', description: 'Revokes user permissions for a vhost', args: [1, 1], run: clearPermissions },
  {
    name: 'set_policy',
    usage: 'set_policy [--vhost <vhost>] [--priority <priority>] [--apply-to <apply-to>] <name> <pattern> <definition>',
    description: 'Sets or updates a policy',
    args: [3, 3],
    options: ['priority', 'apply-to'],
    run: setPolicy,
  },
  { name: 'clear_policy', usage: 'clear_policy [--vhost <vhost>] <name>', description: 'Clears (removes) a policy', args: [1, 1], run: clearPolicy },
];
