/**
 * rabbitmqctl's list commands over the management API: list_queues, list_exchanges, list_bindings,
 * list_connections, list_channels, list_consumers, list_users, list_vhosts, list_permissions,
 * list_policies. Each has RabbitMQ's info keys (the columns it may be asked for), its default
 * columns and its banner; an unknown key is refused as rabbitmqctl refuses it (64).
 */
import { seg, type ManagementClient } from './client.js';
import type { Command, CtlContext } from './context.js';
import { UsageError } from './errors.js';
import { formatJsonList, formatTable, tableTriples, tagList, type Cell } from './format.js';

type Item = Record<string, unknown>;
type Columns = Readonly<Record<string, (item: Item) => Cell>>;

const field = (name: string) => (i: Item) => i[name] as Cell;
const orEmpty = (name: string) => (i: Item) => (i[name] ?? '') as Cell;
const empty = () => '';
/** An Erlang float prints with a decimal point: 1.0, not 1. */
const float = (name: string) => (i: Item) => {
  const v = i[name];
  return typeof v === 'number' ? (Number.isInteger(v) ? v.toFixed(1) : String(v)) : '';
};
/** Warren has no Erlang processes; the API's name stands in for a pid, and close_connection takes it back. */
const pidOf = (name: unknown) => (typeof name === 'string' ? `<${name}>` : '');

const QUEUE_COLUMNS: Columns = {
  name: field('name'),
  durable: field('durable'),
  auto_delete: field('auto_delete'),
  arguments: field('arguments'),
  policy: orEmpty('policy'),
  pid: (q) => pidOf(`${q.vhost}/${q.name}`),
  owner_pid: empty,
  exclusive: field('exclusive'),
  exclusive_consumer_pid: empty,
  exclusive_consumer_tag: orEmpty('exclusive_consumer_tag'),
  messages_ready: field('messages_ready'),
  messages_unacknowledged: field('messages_unacknowledged'),
  messages: field('messages'),
  messages_ready_ram: field('messages_ready'),
  messages_unacknowledged_ram: field('messages_unacknowledged'),
  messages_ram: field('messages'),
  messages_persistent: (q) => (q.durable === true ? (q.messages as Cell) : 0),
  message_bytes: field('message_bytes'),
  message_bytes_ready: field('message_bytes_ready'),
  message_bytes_unacknowledged: field('message_bytes_unacknowledged'),
  message_bytes_ram: field('message_bytes'),
  message_bytes_persistent: (q) => (q.durable === true ? (q.message_bytes as Cell) : 0),
  head_message_timestamp: orEmpty('head_message_timestamp'),
  disk_reads: () => 0,
  disk_writes: () => 0,
  consumers: field('consumers'),
  consumer_utilisation: (q) => (q.consumers === 0 ? 0 : float('consumer_utilisation')(q)),
  consumer_capacity: (q) => (q.consumers === 0 ? 0 : float('consumer_capacity')(q)),
  memory: () => 0,
  slave_pids: empty,
  synchronised_slave_pids: empty,
  state: field('state'),
  type: field('type'),
  leader: empty,
  members: empty,
  online: empty,
};

const EXCHANGE_COLUMNS: Columns = {
  name: field('name'),
  type: field('type'),
  durable: field('durable'),
  auto_delete: field('auto_delete'),
  internal: field('internal'),
  arguments: field('arguments'),
  policy: orEmpty('policy'),
};

const BINDING_COLUMNS: Columns = {
  source_name: field('source'),
  source_kind: () => 'exchange',
  destination_name: field('destination'),
  destination_kind: field('destination_type'),
  routing_key: field('routing_key'),
  arguments: field('arguments'),
};

const CONNECTION_COLUMNS: Columns = {
  pid: (c) => pidOf(c.name),
  name: field('name'),
  port: field('port'),
  host: field('host'),
  peer_port: field('peer_port'),
  peer_host: field('peer_host'),
  ssl: field('ssl'),
  ssl_protocol: empty,
  ssl_key_exchange: empty,
  ssl_cipher: empty,
  ssl_hash: empty,
  peer_cert_subject: empty,
  peer_cert_issuer: empty,
  peer_cert_validity: empty,
  state: field('state'),
  channels: field('channels'),
  protocol: () => '{0,9,1}',
  auth_mechanism: field('auth_mechanism'),
  user: field('user'),
  vhost: field('vhost'),
  timeout: field('timeout'),
  frame_max: field('frame_max'),
  channel_max: field('channel_max'),
  client_properties: field('client_properties'),
  recv_oct: field('recv_oct'),
  recv_cnt: () => 0,
  send_oct: () => 0,
  send_cnt: () => 0,
  send_pend: () => 0,
  connected_at: field('connected_at'),
};

const CHANNEL_COLUMNS: Columns = {
  pid: (c) => pidOf(c.name),
  connection: (c) => pidOf((c.connection_details as Item | undefined)?.name),
  name: field('name'),
  number: field('number'),
  user: field('user'),
  vhost: field('vhost'),
  transactional: field('transactional'),
  confirm: field('confirm'),
  consumer_count: field('consumer_count'),
  messages_unacknowledged: field('messages_unacknowledged'),
  messages_uncommitted: () => 0,
  acks_uncommitted: field('acks_uncommitted'),
  messages_unconfirmed: () => 0,
  prefetch_count: field('prefetch_count'),
  global_prefetch_count: field('global_prefetch_count'),
};

const CONSUMER_COLUMNS: Columns = {
  queue_name: (k) => (k.queue as Item).name as Cell,
  channel_pid: (k) => pidOf((k.channel_details as Item).name),
  consumer_tag: field('consumer_tag'),
  ack_required: field('ack_required'),
  prefetch_count: field('prefetch_count'),
  active: field('active'),
  activity_status: field('activity_status'),
  arguments: field('arguments'),
};

/** The JSON formatter writes AMQP tables as typed triples; everything else as the API gives it. */
const TABLE_COLUMNS = new Set(['arguments', 'client_properties']);
const jsonCell = (column: string, value: Cell) => (TABLE_COLUMNS.has(column) ? tableTriples(value) : value === undefined ? null : value);

function pickColumns(all: Columns, requested: readonly string[], defaults: readonly string[]): string[] {
  const columns = requested.length === 0 ? [...defaults] : [...requested];
  const unknown = columns.filter((c) => !Object.hasOwn(all, c));
  if (unknown.length > 0) throw new UsageError(`Info key(s) ${unknown.join(',')} are not supported`);
  return columns;
}

function print(ctx: CtlContext, all: Columns, columns: readonly string[], items: readonly Item[]): void {
  const list = { columns, rows: items.map((i) => columns.map((c) => all[c]!(i))) };
  ctx.out(ctx.json ? formatJsonList(list, jsonCell) : formatTable(list, ctx.noHeaders));
}

/** A vhost's list; a vhost that does not exist lists nothing, as rabbitmqctl (exit 0). */
async function vhostList(client: ManagementClient, path: string): Promise<Item[]> {
  const a = await client.request('GET', path);
  if (a.status === 404) return [];
  if (a.status >= 300) return (await client.get(path)) as Item[];
  return a.json as Item[];
}

interface ListSpec {
  readonly name: string;
  readonly description: string;
  readonly columns: Columns;
  readonly defaults: readonly string[];
  readonly banner: (ctx: CtlContext) => string[];
  readonly fetch: (ctx: CtlContext) => Promise<Item[]>;
  readonly vhostOption?: boolean;
}

function listCommand(spec: ListSpec): Command {
  const vhost = spec.vhostOption === false ? '' : '[--vhost <vhost>] ';
  return {
    name: spec.name,
    description: spec.description,
    usage: `${spec.name} ${vhost}[--no-table-headers] [<column> ...] [--timeout <timeout>]`,
    args: [0, Number.POSITIVE_INFINITY],
    options: ['online', 'offline', 'local'],
    run: async (ctx, args) => {
      const columns = pickColumns(spec.columns, args, spec.defaults);
      for (const line of spec.banner(ctx)) ctx.info(line);
      print(ctx, spec.columns, columns, await spec.fetch(ctx));
    },
  };
}

const timeoutBanner = (ctx: CtlContext) => `Timeout: ${(ctx.timeoutMs / 1000).toFixed(1)} seconds ...`;

export const listCommands: readonly Command[] = [
  listCommand({
    name: 'list_queues',
    description: 'Lists queues and their properties',
    columns: QUEUE_COLUMNS,
    defaults: ['name', 'messages'],
    banner: (ctx) => [timeoutBanner(ctx), `Listing queues for vhost ${ctx.vhost} ...`],
    fetch: (ctx) => vhostList(ctx.client, `/api/queues/${seg(ctx.vhost)}`),
  }),
  listCommand({
    name: 'list_exchanges',
    description: 'Lists exchanges',
    columns: EXCHANGE_COLUMNS,
    defaults: ['name', 'type'],
    banner: (ctx) => [`Listing exchanges for vhost ${ctx.vhost} ...`],
    fetch: (ctx) => vhostList(ctx.client, `/api/exchanges/${seg(ctx.vhost)}`),
  }),
  listCommand({
    name: 'list_bindings',
    description: 'Lists all bindings on a vhost',
    columns: BINDING_COLUMNS,
    defaults: Object.keys(BINDING_COLUMNS),
    // Sic: no space before the dots in RabbitMQ 3.10.8's banner for this one.
    banner: (ctx) => [`Listing bindings for vhost ${ctx.vhost}...`],
    fetch: (ctx) => vhostList(ctx.client, `/api/bindings/${seg(ctx.vhost)}`),
  }),
  listCommand({
    name: 'list_connections',
    description: 'Lists AMQP 0.9.1 connections for the node',
    columns: CONNECTION_COLUMNS,
    defaults: ['user', 'peer_host', 'peer_port', 'state'],
    banner: () => ['Listing connections ...'],
    fetch: async (ctx) => (await ctx.client.get('/api/connections')) as Item[],
    vhostOption: false,
  }),
  listCommand({
    name: 'list_channels',
    description: 'Lists all channels in the node',
    columns: CHANNEL_COLUMNS,
    defaults: ['pid', 'user', 'consumer_count', 'messages_unacknowledged'],
    banner: () => ['Listing channels ...'],
    fetch: async (ctx) => (await ctx.client.get('/api/channels')) as Item[],
    vhostOption: false,
  }),
  listCommand({
    name: 'list_consumers',
    description: 'Lists all consumers for a vhost',
    columns: CONSUMER_COLUMNS,
    defaults: ['queue_name', 'channel_pid', 'consumer_tag', 'ack_required', 'prefetch_count', 'active', 'arguments'],
    banner: (ctx) => [`Listing consumers in vhost ${ctx.vhost} ...`],
    fetch: (ctx) => vhostList(ctx.client, `/api/consumers/${seg(ctx.vhost)}`),
  }),
  listCommand({
    name: 'list_users',
    description: 'List user names and tags',
    columns: { user: field('name'), tags: (u) => tagList(u.tags as string[]) },
    defaults: ['user', 'tags'],
    banner: () => ['Listing users ...'],
    fetch: async (ctx) => (await ctx.client.get('/api/users')) as Item[],
    vhostOption: false,
  }),
  listCommand({
    name: 'list_vhosts',
    description: 'Lists virtual hosts',
    columns: { name: field('name'), description: field('description'), tags: (v) => tagList(v.tags as string[]), tracing: field('tracing') },
    defaults: ['name'],
    banner: () => ['Listing vhosts ...'],
    fetch: async (ctx) => (await ctx.client.get('/api/vhosts')) as Item[],
    vhostOption: false,
  }),
  listCommand({
    name: 'list_permissions',
    description: 'Lists user permissions in a virtual host',
    columns: { user: field('user'), configure: field('configure'), write: field('write'), read: field('read') },
    defaults: ['user', 'configure', 'write', 'read'],
    banner: (ctx) => [`Listing permissions for vhost "${ctx.vhost}" ...`],
    fetch: (ctx) => vhostList(ctx.client, `/api/vhosts/${seg(ctx.vhost)}/permissions`),
  }),
  listCommand({
    name: 'list_policies',
    description: 'Lists all policies in a virtual host',
    columns: { vhost: field('vhost'), name: field('name'), pattern: field('pattern'), 'apply-to': field('apply-to'), definition: (p) => JSON.stringify(p.definition), priority: field('priority') },
    defaults: ['vhost', 'name', 'pattern', 'apply-to', 'definition', 'priority'],
    banner: (ctx) => [`Listing policies for vhost "${ctx.vhost}" ...`],
    fetch: (ctx) => vhostList(ctx.client, `/api/policies/${seg(ctx.vhost)}`),
  }),
];
