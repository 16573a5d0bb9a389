/**
 * rabbitmqctl's queue, connection, definitions and node commands over the management API:
 * purge_queue, delete_queue, close_connection, export_definitions, import_definitions, status,
 * await_startup. Banners, texts and exit codes as RabbitMQ 3.10.8's (a missing queue is 69 for a
 * purge but 64 for a delete, as there).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { reasonOf, seg } from './client.js';
import type { Command, CtlContext } from './context.js';
import { CtlError, EXIT, UsageError } from './errors.js';

type Json = Record<string, unknown>;

async function purgeQueue(ctx: CtlContext, [name]: readonly string[]): Promise<void> {
  ctx.info(`Purging queue '${name}' in vhost '${ctx.vhost}' ...`);
  const a = await ctx.client.request('DELETE', `/api/queues/${seg(ctx.vhost)}/${seg(name!)}/contents`);
  if (a.status === 404) throw new CtlError(EXIT.unavailable, 'not_found');
  if (a.status >= 300) throw new CtlError(EXIT.unavailable, reasonOf(a));
}

function deleteCondition(ifEmpty: boolean, ifUnused: boolean): string {
  if (ifEmpty && ifUnused) return ' if queue is empty and if queue is unused';
  if (ifEmpty) return ' if queue is empty';
  return ifUnused ? ' if queue is unused' : '';
}

async function deleteQueue(ctx: CtlContext, [name]: readonly string[]): Promise<void> {
  const ifEmpty = ctx.flags['if-empty'] === true;
  const ifUnused = ctx.flags['if-unused'] === true;
  ctx.info(`Deleting queue '${name}' on vhost '${ctx.vhost}'${deleteCondition(ifEmpty, ifUnused)} ...`);
  const path = `/api/queues/${seg(ctx.vhost)}/${seg(name!)}`;
  const q = await ctx.client.request('GET', path);
  if (q.status === 404) throw new CtlError(EXIT.usage, 'Queue not found');
  const ready = (q.json as Json | undefined)?.messages_ready ?? 0;
  const query = [ifEmpty ? 'if-empty=true' : '', ifUnused ? 'if-unused=true' : ''].filter((s) => s !== '').join('&');
  const a = await ctx.client.request('DELETE', query === '' ? path : `${path}?${query}`);
  if (a.status === 404) throw new CtlError(EXIT.usage, 'Queue not found');
  if (a.status >= 300) {
    const reason = reasonOf(a);
    if (/not empty/.test(reason)) throw new CtlError(EXIT.usage, 'Queue is not empty');
    if (/in use/.test(reason)) throw new CtlError(EXIT.usage, 'Queue is in use');
    throw new CtlError(EXIT.unavailable, reason);
  }
  ctx.out(`Queue was successfully deleted with ${ready} ready messages\n`);
}

/** The connection's API name; list_connections prints it in angle brackets as its pid, and either is taken. */
async function closeConnection(ctx: CtlContext, [pid, explanation]: readonly string[]): Promise<void> {
  ctx.info(`Closing connection ${pid}, reason: ${explanation}...`);
  const name = pid!.startsWith('<') && pid!.endsWith('>') ? pid!.slice(1, -1) : pid!;
  const a = await ctx.client.request('DELETE', `/api/connections/${seg(name)}`, undefined, { 'x-reason': explanation! });
  if (a.status === 404) throw new CtlError(EXIT.unavailable, `no connection named ${pid}`);
  if (a.status >= 300) throw new CtlError(EXIT.unavailable, reasonOf(a));
}

async function exportDefinitions(ctx: CtlContext, [file]: readonly string[]): Promise<void> {
  const text = (await ctx.client.request('GET', '/api/definitions')).text;
  if (file === '-') {
    ctx.out(text);
    return;
  }
  ctx.info(`Exporting definitions in JSON to a file at "${file}" ...`);
  try {
    writeFileSync(file!, text);
  } catch (e) {
    throw new CtlError(EXIT.dataError, `could not write ${file}: ${(e as Error).message}`);
  }
}

async function importDefinitions(ctx: CtlContext, [file]: readonly string[]): Promise<void> {
  if (file !== '-' && !existsSync(file!)) throw new UsageError(`Bad argument: File ${file} does not exist`, EXIT.dataError);
  const text = file === '-' ? await ctx.io.readStdin() : readFileSync(file!, 'utf8');
  ctx.info(file === '-' ? 'Importing definitions in JSON from standard input ...' : `Importing definitions in JSON from a file at "${file}" ...`);
  try {
    JSON.parse(text);
  } catch (e) {
    throw new CtlError(EXIT.dataError, `Failed to deserialise input (format: JSON) (error: ${(e as Error).message})`);
  }
  const a = await ctx.client.request('POST', '/api/definitions', text);
  if (a.status >= 300) throw new CtlError(EXIT.dataError, reasonOf(a));
  ctx.info('Successfully started definition import. This process is asynchronous and can take some time.');
}

const bold = (s: string) => `\x1b[1m${s}\x1b[0m`;
const gb = (bytes: number) => `${(bytes / 1e9).toFixed(4).replace(/\.?0+$/, '')} gb`;

/** status: the sections of rabbitmqctl's that Warren has figures for. */
async function status(ctx: CtlContext): Promise<void> {
  const overview = (await ctx.client.get('/api/overview')) as Json;
  const [node] = (await ctx.client.get('/api/nodes')) as Json[];
  const totals = overview.object_totals as Json;
  const vhosts = (await ctx.client.get('/api/vhosts')) as Json[];
  const alarms = [node?.mem_alarm === true ? 'memory' : undefined, node?.disk_free_alarm === true ? 'disk' : undefined].filter((a) => a !== undefined);
  const listeners = overview.listeners as Json[];
  if (ctx.json) {
    ctx.out(`${JSON.stringify({ pid: Number(node?.os_pid), product_name: overview.product_name, product_version: overview.product_version, rabbitmq_version: overview.rabbitmq_version, uptime: Math.round(Number(node?.uptime) / 1000), alarms, memory: { total: { rss: node?.mem_used } }, vm_memory_high_watermark_limit: node?.mem_limit, disk_free_limit: node?.disk_free_limit, totals: { connection_count: totals.connections, queue_count: totals.queues, virtual_host_count: vhosts.length }, listeners })}\n`);
    return;
  }
  ctx.info(`Status of node ${overview.node} ...`);
  const lines = [
    bold('Runtime'),
    '',
    `OS PID: ${node?.os_pid}`,
    `OS: ${process.platform === 'linux' ? 'Linux' : process.platform}`,
    `Uptime (seconds): ${Math.round(Number(node?.uptime) / 1000)}`,
    `${overview.product_name} version: ${overview.product_version}`,
    `Node name: ${overview.node}`,
    `Runtime: ${overview.erlang_full_version}`,
    '',
    bold('Alarms'),
    '',
    ...(alarms.length === 0 ? ['(none)'] : alarms.map((a) => `Free ${a === 'disk' ? 'disk space' : 'memory'} alarm on node ${overview.node}`)),
    '',
    bold('Memory'),
    '',
    `Total memory used: ${gb(Number(node?.mem_used))}`,
    'Calculation strategy: rss',
    `Memory high watermark setting: computed to: ${gb(Number(node?.mem_limit))}`,
    '',
    bold('Free Disk Space'),
    '',
    `Low free disk space watermark: ${gb(Number(node?.disk_free_limit))}`,
    '',
    bold('Totals'),
    '',
    `Connection count: ${totals.connections}`,
    `Queue count: ${totals.queues}`,
    `Virtual host count: ${vhosts.length}`,
    '',
    bold('Listeners'),
    '',
    ...listeners.map((l) => `Interface: ${l.ip_address}, port: ${l.port}, protocol: ${l.protocol}, purpose: ${PURPOSE[String(l.protocol)] ?? l.protocol}`),
  ];
  ctx.out(`${lines.join('\n')}\n`);
}

const PURPOSE: Record<string, string> = {
  amqp: 'AMQP 0-9-1 and AMQP 1.0',
  'amqp/ssl': 'AMQP 0-9-1 and AMQP 1.0 over TLS',
  mqtt: 'MQTT',
  'mqtt/ssl': 'MQTT over TLS',
  http: 'HTTP API',
};

/**
 * await_startup: until the API answers for the user (a broker starting up refuses connections, or a
 * proxy answers 502 meanwhile), within --timeout (default 300 s, as rabbitmqctl's). Polls every
 * 100 ms: a CLI waiting for another process has nothing else to wait on.
 */
async function awaitStartup(ctx: CtlContext): Promise<void> {
  const deadline = Date.now() + ctx.timeoutMs;
  let last = 'no answer';
  for (;;) {
    try {
      const a = await ctx.client.send('GET', '/api/overview');
      if (a.status === 200) return;
      if (a.status === 401) throw new CtlError(EXIT.unavailable, `${ctx.client.target.username} is refused by ${ctx.client.target.baseUrl}: ${reasonOf(a)}`);
      last = `HTTP ${a.status}`;
    } catch (e) {
      if (!(e instanceof CtlError) || !e.inline) throw e;
      last = e.message;
    }
    if (Date.now() >= deadline) throw new CtlError(EXIT.unavailable, last, last.startsWith('unable'));
    await new Promise((r) => setTimeout(r, 100));
  }
}

export const nodeCommands: readonly Command[] = [
  { name: 'purge_queue', usage: 'purge_queue [--vhost <vhost>] <queue>', description: 'Purges a queue (removes all messages in it)', args: [1, 1], run: purgeQueue },
  {
    name: 'delete_queue',
    usage: 'delete_queue [--vhost <vhost>] <queue_name> [--if-empty|-e] [--if-unused|-u]',
    description: 'Deletes a queue',
    args: [1, 1],
    options: ['if-empty', 'if-unused'],
    run: deleteQueue,
  },
  { name: 'close_connection', usage: 'close_connection <connection pid> <explanation>', description: 'Instructs the broker to close the connection associated with the pid (name) list_connections shows', args: [2, 2], run: closeConnection },
  { name: 'export_definitions', usage: 'export_definitions <file_path | "-">', description: 'Exports definitions in JSON', args: [1, 1], run: exportDefinitions },
  { name: 'import_definitions', usage: 'import_definitions <file_path | "-">', description: 'Imports definitions in JSON', args: [1, 1], run: importDefinitions },
  { name: 'status', usage: 'status', description: 'Displays status of a node', args: [0, 0], run: (ctx) => status(ctx) },
  { name: 'await_startup', usage: 'await_startup [--timeout <timeout>]', description: 'Waits for the broker to start on the target node', args: [0, 0], run: (ctx) => awaitStartup(ctx) },
];
