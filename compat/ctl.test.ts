// `warren ctl` against rabbitmqctl: the same command lines run with Debian's rabbitmqctl against the
// reference RabbitMQ (which the harness starts: rabbitmqctl reaches it by its node name and the
// harness's own epmd, with the Erlang cookie of the rabbitmq user, as for the harness's own calls)
// and with `warren ctl` against Warren's management API. Outputs are normalised (row order, pids,
// node names, file paths; usage errors by their first line only, since the usage text names the
// program) and must match, exit codes included.
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import amqp, { type ChannelModel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, inject, test, type TestContext } from 'vitest';
import { startBroker, type RunningBroker } from '../src/index.js';

const env = inject('compat');
const BIN = fileURLToPath(new URL('../bin/warren.js', import.meta.url));
const scratch = mkdtempSync(path.join(os.tmpdir(), 'warren-compat-ctl-'));
// rabbitmqctl runs as the rabbitmq user (Debian's wrapper), and export_definitions writes here.
chmodSync(scratch, 0o777);
let warren: RunningBroker | undefined;

beforeAll(async () => {
  if (env.referenceCtl === null) return;
  warren = await startBroker({ port: 0, managementPort: 0, logLevel: 'silent', rabbitmqVersion: env.personality ?? undefined });
});

afterAll(async () => {
  await warren?.close();
  rmSync(scratch, { recursive: true, force: true });
});

interface Side {
  readonly name: 'reference' | 'warren';
  readonly amqpUrl: string;
  /** Runs one command line: exit code and both outputs. */
  run(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  /** What differs by construction and is replaced before comparing (node name, ports). */
  readonly replacements: readonly [string, string][];
}

function exec(file: string, args: readonly string[], extraEnv: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, [...args], { env: { ...process.env, ...extraEnv }, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

function sides(ctx: TestContext): [Side, Side] {
  const ctl = env.referenceCtl;
  if (ctl === null || !existsSync('/usr/sbin/rabbitmqctl')) {
    const reason = `no local reference RabbitMQ for rabbitmqctl (${env.unavailableReason ?? env.referenceDescription})`;
    if (process.env.CI || process.env.COMPAT_REQUIRE_REFERENCE) throw new Error(reason);
    ctx.skip(reason);
    throw new Error('unreachable');
  }
  const w = warren!;
  const wPort = String(w.port);
  return [
    {
      name: 'reference',
      amqpUrl: env.referenceUrl!,
      run: (args) => exec('rabbitmqctl', ['-n', ctl.node, ...args], { ERL_EPMD_PORT: String(ctl.epmdPort) }),
      replacements: [[ctl.node, '<node>'], [new URL(env.referenceUrl!).port, '<amqp port>']],
    },
    {
      name: 'warren',
      amqpUrl: w.url,
      run: (args) => exec(process.execPath, [BIN, 'ctl', ...args], { WARREN_MANAGEMENT_URL: w.managementUrl! }),
      replacements: [[wPort, '<amqp port>']],
    },
  ];
}

/** One command's answer as a transcript entry; lists are compared as sets of lines. */
function entry(side: Side, args: readonly string[], r: { code: number; stdout: string; stderr: string }): string {
  // Pids: RabbitMQ's Erlang ones, Warren's connection and channel names in angle brackets.
  const pids = /<[^<>\s]+(\.\d+){3}>|<\d+\.\d+\.\d+\.\d+:\d+ -> \d+\.\d+\.\d+\.\d+:\d+( \(\d+\))?>/g;
  let out = r.stdout.replace(pids, '<pid>');
  let err = r.stderr;
  for (const [from, to] of side.replacements) {
    out = out.replaceAll(from, to);
    err = err.replaceAll(from, to);
  }
  err = err.replace(/\d\d:\d\d:\d\d\.\d+ \[\w+\] .*\n/g, '');
  // A usage error's text after its first line is the program's usage; the first line says why.
  if (err.startsWith('Error (argument validation)')) err = `${err.split('\n')[0]}\n`;
  // An unknown command: the line that says so, not the list of commands (each tool has its own).
  if (err.startsWith('\nCommand ')) err = `${err.split('\n')[1]}\n`;
  if (args.some((a) => a.startsWith('list_'))) {
    out = out
      .split('\n')
      .map((l) => l.replace(/^,/, ''))
      .sort()
      .join('\n');
  }
  return `$ ${args.join(' ')}\n${out}${err === '' ? '' : `[stderr]\n${err}`}[exit ${r.code}]`;
}

async function transcript(side: Side, commands: readonly (readonly string[])[]): Promise<string[]> {
  const out: string[] = [];
  for (const args of commands) out.push(entry(side, args, await side.run(args)));
  return out;
}

/** The AMQP objects the list commands show, made by a client in the vhost. */
async function populate(side: Side, vhost: string): Promise<ChannelModel> {
  const conn = await amqp.connect(`${side.amqpUrl}/${encodeURIComponent(vhost)}`);
  conn.on('error', () => {});
  const ch = await conn.createChannel();
  await ch.assertQueue('q1', { durable: true, arguments: { 'x-max-length': 10 } });
  await ch.assertQueue('q2', { durable: false });
  await ch.assertExchange('x1', 'topic', { durable: true });
  await ch.bindQueue('q1', 'x1', 'a.#', { k: 'v' });
  ch.sendToQueue('q1', Buffer.from('one'));
  ch.sendToQueue('q1', Buffer.from('two'));
  await ch.consume('q2', () => {}, { consumerTag: 'ctag-1' });
  // A round trip after the publishes: both are in q1 when the list commands run.
  await ch.checkQueue('q1');
  return conn;
}

describe.sequential('rabbitmqctl and warren ctl', () => {
  test('list, user, vhost, permission, policy, queue and definitions commands: the same output and exit codes', async (ctx) => {
    const both = sides(ctx);
    const tag = Math.random().toString(36).slice(2, 8);
    const V = `ctl-${tag}`;
    const U = `ctl-user-${tag}`;
    const file = path.join(scratch, `defs-${tag}.json`);
    const setup = [['add_vhost', V], ['set_permissions', '-p', V, 'guest', '.*', '.*', '.*']];
    const lists = [
      ['list_queues', '-p', V],
      ['list_queues', '-p', V, 'name', 'durable', 'auto_delete', 'arguments', 'messages_ready', 'messages_unacknowledged', 'messages', 'consumers', 'policy', 'exclusive', 'state', 'type'],
      ['-q', 'list_queues', '-p', V, 'name', 'messages'],
      ['list_queues', '-p', V, '--no-table-headers', 'name'],
      ['list_queues', '-p', V, '--formatter', 'json', 'name', 'messages', 'durable'],
      ['list_queues', '-p', V, 'bogus'],
      ['list_queues', '-p', `${V}-missing`],
      ['list_exchanges', '-p', V, 'name', 'type', 'durable', 'auto_delete', 'internal'],
      ['list_bindings', '-p', V],
      ['list_consumers', '-p', V],
    ];
    const changes = [
      ['add_user', U, 'p1'],
      ['add_user', U, 'p1'],
      ['change_password', U, 'p2'],
      ['change_password', `${U}-missing`, 'p'],
      ['set_user_tags', U, 'monitoring', 'management'],
      ['set_user_tags', `${U}-missing`, 'x'],
      ['set_permissions', '-p', V, U, '^a', '^b', '^c'],
      ['set_permissions', '-p', `${V}-missing`, U, '.*', '.*', '.*'],
      ['set_permissions', '-p', V, `${U}-missing`, '.*', '.*', '.*'],
      ['set_policy', '-p', V, 'pol', '^q', '{"max-length":5}', '--priority', '2', '--apply-to', 'queues'],
      ['list_queues', '-p', V, 'name', 'policy'],
      ['set_policy', '-p', V, 'bad', '^q', '{"message-ttl":-1}'],
      ['set_policy', '-p', V, 'bad2', '^q', 'notjson'],
      ['clear_policy', '-p', V, 'pol'],
      ['clear_policy', '-p', V, 'pol'],
      ['purge_queue', '-p', V, 'q1'],
      ['purge_queue', '-p', V, 'nosuch'],
      ['delete_queue', '-p', V, 'q2', '--if-unused'],
      ['delete_queue', '-p', V, 'q1'],
      ['delete_queue', '-p', V, 'nosuch'],
      ['import_definitions', path.join(scratch, 'nonexistent.json')],
      ['export_definitions', file],
      ['await_startup'],
      ['no_such_command'],
    ];
    const teardown = [['delete_user', U], ['delete_vhost', V]];
    const run = async (side: Side) => {
      const out = await transcript(side, setup);
      const conn = await populate(side, V);
      try {
        out.push(...(await transcript(side, lists)));
        out.push(...(await transcript(side, changes)));
      } finally {
        await conn.close().catch(() => {});
      }
      out.push(...(await transcript(side, teardown)));
      return out.map((e) => e.replaceAll(file, '<file>').replaceAll(scratch, '<scratch>'));
    };
    const [reference, ours] = await Promise.all(both.map(run));
    expect(ours).toEqual(reference);
  }, 600_000);

  test('close_connection closes the connection list_connections names, with the reason, on both', async (ctx) => {
    const both = sides(ctx);
    const V = `ctl-close-${Math.random().toString(36).slice(2, 8)}`;
    const run = async (side: Side) => {
      await side.run(['add_vhost', V]);
      await side.run(['set_permissions', '-p', V, 'guest', '.*', '.*', '.*']);
      const conn = await amqp.connect(`${side.amqpUrl}/${encodeURIComponent(V)}`);
      const closed = new Promise<Error>((resolve) => conn.once('close', resolve));
      const listed = await side.run(['-q', 'list_connections', '--no-table-headers', 'pid', 'vhost']);
      const pid = listed.stdout.split('\n').find((l) => l.endsWith(`\t${V}`))!.split('\t')[0]!;
      const closing = entry(side, ['close_connection', '<pid>', 'bye'], await side.run(['close_connection', pid, 'bye']));
      const reason = (await closed).message;
      await side.run(['delete_vhost', V]);
      return [closing, reason];
    };
    const [reference, ours] = await Promise.all(both.map(run));
    expect(ours).toEqual(reference);
  }, 300_000);
});
