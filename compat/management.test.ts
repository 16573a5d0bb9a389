// The management HTTP API of both brokers, driven by tools that use it unmodified: Debian's
// rabbitmqadmin (a Python script, run with /usr/bin/python3) and the health-check requests of
// compose files and probes. Each runs the same steps against the reference RabbitMQ (started by the
// harness with its management plugin) and against Warren, and the normalised transcripts must match.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, test, type TestContext } from 'vitest';
import { startBroker, type RunningBroker } from '../src/index.js';

const exec = promisify(execFile);
const env = inject('compat');
const RABBITMQADMIN = '/usr/bin/rabbitmqadmin';
const PYTHON = '/usr/bin/python3';

let warren: RunningBroker | undefined;
const scratch = mkdtempSync(path.join(os.tmpdir(), 'warren-compat-mgmt-'));

beforeAll(async () => {
  if (env.referenceManagementUrl === null) return;
  warren = await startBroker({ port: 0, managementPort: 0, logLevel: 'silent', rabbitmqVersion: env.personality ?? undefined });
});

afterAll(async () => {
  await warren?.close();
  rmSync(scratch, { recursive: true, force: true });
});

/** Without a reference with the management plugin there is nothing to compare: fail under CI, else skip. */
function requireReference(ctx: TestContext): { reference: string; warren: string } {
  const why = env.referenceManagementUrl === null ? `no reference RabbitMQ with its management plugin (${env.unavailableReason ?? env.referenceDescription})` : undefined;
  if (why === undefined && existsSync(RABBITMQADMIN)) return { reference: env.referenceManagementUrl!, warren: warren!.managementUrl! };
  const reason = why ?? `${RABBITMQADMIN} is not installed (apt-get install rabbitmq-server)`;
  if (process.env.CI || process.env.COMPAT_REQUIRE_REFERENCE) throw new Error(reason);
  ctx.skip(reason);
  throw new Error('unreachable');
}

const portOf = (url: string) => new URL(url).port;

/** One rabbitmqadmin command: what it printed and its exit code, as a transcript line. */
async function admin(base: string, args: string[]): Promise<string> {
  const argv = [RABBITMQADMIN, '-H', '127.0.0.1', '-P', portOf(base), '-u', 'guest', '-p', 'guest', ...args];
  try {
    const { stdout, stderr } = await exec(PYTHON, argv, { timeout: 30_000 });
    return `$ ${args.join(' ')}\n${stdout}${stderr}[exit 0]`;
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; code?: number };
    return `$ ${args.join(' ')}\n${err.stdout ?? ''}${err.stderr ?? ''}[exit ${err.code}]`;
  }
}

/** The same commands in order against one broker; the export file's path and the port are normalised. */
async function transcript(base: string, commands: (exportFile: string) => string[][]): Promise<string> {
  const exportFile = path.join(scratch, `export-${portOf(base)}.json`);
  const out: string[] = [];
  for (const args of commands(exportFile)) out.push(await admin(base, args));
  return out.join('\n').replaceAll(exportFile, '<export file>').replaceAll(portOf(base), '<port>');
}

/** Rows of a `list` table that name this test's objects (the reference is shared with other test files). */
function only(text: string, names: readonly string[]): string {
  return text
    .split('\n')
    .filter((line) => !line.startsWith('|') || line.includes(' name ') || line.includes('source') || line.includes(' user ') || names.some((n) => line.includes(`| ${n} `)))
    .join('\n');
}

// One after the other: while the rabbitmqadmin transcript creates its vhost, RabbitMQ's virtual-hosts
// health check reports it as down, so the health checks must not run at the same time.
describe.sequential('rabbitmqadmin against both brokers', () => {
  test('declare, list, publish, get, purge, export, delete, import: the same output', async (ctx) => {
    const urls = requireReference(ctx);
    const vhost = `admin-${Math.random().toString(36).slice(2, 8)}`;
    const V = ['-V', vhost];
    const commands = (exportFile: string): string[][] => [
      ['declare', 'vhost', `name=${vhost}`],
      ['declare', 'permission', `vhost=${vhost}`, 'user=guest', 'configure=.*', 'write=.*', 'read=.*'],
      [...V, 'declare', 'exchange', 'name=x1', 'type=topic', 'durable=true'],
      [...V, 'declare', 'queue', 'name=q1', 'durable=true'],
      [...V, 'declare', 'queue', 'name=q2', 'durable=true', 'arguments={"x-max-length":10}'],
      [...V, 'declare', 'queue', 'name=q3', 'durable=true', 'arguments={"x-max-length":"ten"}'],
      [...V, 'declare', 'binding', 'source=x1', 'destination=q1', 'routing_key=a.#'],
      [...V, 'publish', 'exchange=x1', 'routing_key=a.b', 'payload=hello'],
      [...V, 'publish', 'exchange=x1', 'routing_key=nowhere', 'payload=lost'],
      [...V, 'publish', 'exchange=amq.default', 'routing_key=q2', 'payload=two', 'properties={"content_type":"text/plain","headers":{"h":"v"}}'],
      [...V, 'list', 'queues', 'name', 'durable', 'auto_delete', 'arguments'],
      [...V, '-f', 'tsv', 'list', 'queues', 'name', 'durable'],
      [...V, 'list', 'exchanges', 'name', 'type', 'durable', 'internal'],
      [...V, 'list', 'bindings', 'source', 'destination', 'routing_key'],
      [...V, 'get', 'queue=q1', 'ackmode=ack_requeue_true'],
      [...V, 'get', 'queue=q1', 'ackmode=ack_requeue_false'],
      [...V, 'get', 'queue=q2', 'ackmode=ack_requeue_false', 'count=5'],
      [...V, 'get', 'queue=q2', 'ackmode=ack_requeue_false'],
      [...V, 'purge', 'queue', 'name=q1'],
      [...V, 'export', exportFile],
      [...V, 'delete', 'queue', 'name=q2'],
      [...V, 'delete', 'binding', 'source=x1', 'destination_type=queue', 'destination=q1', 'properties_key=a.%23'],
      [...V, 'list', 'bindings', 'source', 'destination', 'routing_key'],
      [...V, 'delete', 'queue', 'name=q1'],
      [...V, 'delete', 'exchange', 'name=x1'],
      [...V, 'delete', 'queue', 'name=nosuch'],
      [...V, 'import', exportFile],
      [...V, 'list', 'queues', 'name', 'durable'],
      [...V, 'list', 'bindings', 'source', 'destination', 'routing_key'],
      ['list', 'vhosts', 'name'],
      ['list', 'permissions', 'user', 'vhost', 'configure'],
      ['delete', 'vhost', `name=${vhost}`],
      ['-V', `${vhost}-missing`, 'list', 'queues'],
    ];
    const [reference, ours] = await Promise.all([transcript(urls.reference, commands), transcript(urls.warren, commands)]);
    const names = [vhost, 'q1', 'q2', 'q3', 'x1'];
    expect(only(ours, names)).toEqual(only(reference, names));
  });
});

/** A health check's answer: the status and the body, ports normalised (each broker has its own). */
async function check(base: string, path: string, ports: Record<string, string>): Promise<string> {
  const res = await fetch(`${base}${path}`, { headers: { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` } });
  let text = await res.text();
  for (const [port, name] of Object.entries(ports)) text = text.replaceAll(port, name);
  // The list of the node's other ports differs by construction (distribution, plugins).
  return `${path} ${res.status} ${text.replace(/"ports":\[[^\]]*\]/, '"ports":[...]')}`;
}

describe.sequential('health checks against both brokers', () => {
  test('alarms, local alarms, vhosts, quorum, port and protocol listeners, aliveness: the same answers', async (ctx) => {
    const urls = requireReference(ctx);
    const paths = (amqpPort: string) => [
      '/api/health/checks/alarms',
      '/api/health/checks/local-alarms',
      '/api/health/checks/virtual-hosts',
      '/api/health/checks/node-is-quorum-critical',
      `/api/health/checks/port-listener/${amqpPort}`,
      '/api/health/checks/port-listener/1',
      '/api/health/checks/port-listener/not-a-port',
      '/api/aliveness-test/%2F',
      '/api/aliveness-test/no-such-vhost',
    ];
    const run = async (base: string, amqpUrl: string) => {
      const amqpPort = new URL(amqpUrl).port;
      const out: string[] = [];
      for (const p of paths(amqpPort)) out.push(await check(base, p, { [amqpPort]: '<amqp port>' }));
      return out.map((l) => l.replace(`/${amqpPort} `, '/<amqp port> '));
    };
    const [reference, ours] = await Promise.all([run(urls.reference, env.referenceUrl!), run(urls.warren, warren!.url)]);
    expect(ours).toEqual(reference);
  });
});
