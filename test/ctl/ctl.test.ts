/**
 * `warren ctl`: the real command line (bin/warren.js ctl ..., and bin/warrenctl.js) run as a process
 * against an in-process broker's management API. Outputs, banners and exit codes are those of
 * rabbitmqctl 3.10.8 (compat/ctl.test.ts compares them with the reference side by side).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { eventually, withBroker } from '../helpers/broker.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const fx = withBroker({ managementPort: 0 });
const scratch = mkdtempSync(join(tmpdir(), 'warren-ctl-'));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** One command line to its end, pointed at the fixture's API through WARREN_MANAGEMENT_URL. */
function ctl(args: string[], options: { env?: Record<string, string>; bin?: string; stdin?: string } = {}): Promise<Run> {
  const bin = options.bin ?? 'bin/warren.js';
  const argv = bin === 'bin/warren.js' ? [join(ROOT, bin), 'ctl', ...args] : [join(ROOT, bin), ...args];
  const env = { ...process.env, WARREN_MANAGEMENT_URL: fx.broker.managementUrl!, ...options.env };
  const child = spawn(process.execPath, argv, { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  child.stdin.end(options.stdin ?? '');
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

/** A loopback port nothing listens on (it was free a moment ago). */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

const vhostOf = (name: string) => fx.broker.broker.vhosts.get(name)!;

describe('list commands', () => {
  it('list_queues: the banners, the default columns, chosen columns, -q, --no-table-headers, --formatter json', async () => {
    const ch = await fx.channel();
    await ch.assertQueue('lq-a', { durable: true, arguments: { 'x-max-length': 10 } });
    await ch.assertQueue('lq-b', { durable: false });
    ch.sendToQueue('lq-a', Buffer.from('one'));
    ch.sendToQueue('lq-a', Buffer.from('two'));
    await eventually(() => expect(vhostOf('/').queues.get('lq-a')!.messageCount).toBe(2));

    const plain = await ctl(['list_queues']);
    expect(plain).toEqual({ code: 0, stdout: 'Timeout: 60.0 seconds ...\nListing queues for vhost / ...\nname\tmessages\nlq-a\t2\nlq-b\t0\n', stderr: '' });
    const cols = await ctl(['list_queues', 'name', 'durable', 'arguments', 'messages_ready', 'consumers', '-q']);
    expect(cols.stdout).toBe('name\tdurable\targuments\tmessages_ready\tconsumers\nlq-a\ttrue\t[{"x-max-length",10}]\t2\t0\nlq-b\tfalse\t[]\t0\t0\n');
    expect((await ctl(['-q', 'list_queues', '--no-table-headers', 'name'])).stdout).toBe('lq-a\nlq-b\n');
    const json = await ctl(['list_queues', '--formatter', 'json', 'name', 'messages', 'arguments']);
    expect(json.stdout).toBe('[\n{"name":"lq-a","messages":2,"arguments":[["x-max-length","long",10]]}\n,{"name":"lq-b","messages":0,"arguments":[]}\n]\n');
  });

  it('refuses an unknown column and an unknown option with 64 and the usage; an unknown vhost lists nothing', async () => {
    const bad = await ctl(['list_queues', 'bogus']);
    expect(bad.code).toBe(64);
    expect(bad.stderr).toMatch(/^Error \(argument validation\): Info key\(s\) bogus are not supported\nArguments given:\n\tlist_queues bogus\n/);
    expect(bad.stderr).toContain('list_queues [--vhost <vhost>]');
    const option = await ctl(['list_queues', '--bogus']);
    expect([option.code, option.stderr.split('\n')[0]]).toEqual([64, 'Error (argument validation): Invalid options for this command:']);
    const unknown = await ctl(['no_such_command']);
    expect([unknown.code, unknown.stderr]).toEqual([64, expect.stringContaining("Command 'no_such_command' not found.")]);
    expect(await ctl(['list_queues', '-p', 'no-such-vhost'])).toEqual({ code: 0, stdout: 'Timeout: 60.0 seconds ...\nListing queues for vhost no-such-vhost ...\n', stderr: '' });
  });

  it('list_exchanges, list_bindings, list_consumers and list_connections with their default columns', async () => {
    fx.broker.broker.access.addVhost({ name: 'lists' });
    fx.broker.broker.access.setPermissions('guest', 'lists', '.*', '.*', '.*');
    const conn = await fx.connect({ clientProperties: { connection_name: 'lister' } }, `${fx.url}/lists`);
    const ch = await conn.createChannel();
    await ch.assertExchange('lx', 'topic');
    await ch.assertQueue('lb');
    await ch.bindQueue('lb', 'lx', 'a.#', { k: 'v' });
    await ch.consume('lb', () => {}, { consumerTag: 'tag-1', noAck: false });

    const x = await ctl(['list_exchanges', '-p', 'lists', '-q']);
    expect(x.stdout.split('\n')).toEqual(expect.arrayContaining(['name\ttype', '\tdirect', 'amq.topic\ttopic', 'lx\ttopic']));
    const b = await ctl(['list_bindings', '-p', 'lists']);
    expect(b.stdout).toBe('Listing bindings for vhost lists...\nsource_name\tsource_kind\tdestination_name\tdestination_kind\trouting_key\targuments\n\texchange\tlb\tqueue\tlb\t[]\nlx\texchange\tlb\tqueue\ta.#\t[{"k","v"}]\n');
    const k = await ctl(['list_consumers', '-p', 'lists', '-q']);
    expect(k.stdout).toMatch(/^queue_name\tchannel_pid\tconsumer_tag\tack_required\tprefetch_count\tactive\targuments\nlb\t<.+ \(1\)>\ttag-1\ttrue\t0\ttrue\t\[\]\n$/);
    const c = await ctl(['list_connections', '-q', 'user', 'vhost', 'state', 'channels', 'client_properties']);
    const row = c.stdout.split('\n').find((l) => l.includes('"lister"'))!;
    expect(row).toMatch(/^guest\tlists\trunning\t1\t\[\{/);
    expect(row).toContain('{"connection_name","lister"}');
    expect(row).toMatch(/\{"capabilities",\[.*\{"publisher_confirms",true\}/);
  });
});

describe('changing commands', () => {
  it('users: add_user, change_password, set_user_tags, with 70 for an existing user and 67 for a missing one', async () => {
    const access = fx.broker.broker.access;
    expect(await ctl(['add_user', 'ctl-u', 'p1'])).toEqual({
      code: 0,
      stdout: 'Adding user "ctl-u" ...\nDone. Don\'t forget to grant the user permissions to some virtual hosts! See \'rabbitmqctl help set_permissions\' to learn more.\n',
      stderr: '',
    });
    expect(access.authenticate('ctl-u', 'p1').ok).toBe(true);
    expect(await ctl(['add_user', 'ctl-u', 'p1'])).toEqual({ code: 70, stdout: 'Adding user "ctl-u" ...\n', stderr: 'Error:\nUser "ctl-u" already exists\n' });
    expect((await ctl(['change_password', 'ctl-u', 'p2'])).stdout).toBe('Changing password for user "ctl-u" ...\n');
    expect([access.authenticate('ctl-u', 'p1').ok, access.authenticate('ctl-u', 'p2').ok]).toEqual([false, true]);
    expect((await ctl(['set_user_tags', 'ctl-u', 'administrator', 'monitoring'])).stdout).toBe('Setting tags for user "ctl-u" to [administrator, monitoring] ...\n');
    expect(access.user('ctl-u')!.tags).toEqual(['administrator', 'monitoring']);
    expect(access.authenticate('ctl-u', 'p2').ok).toBe(true);
    expect(await ctl(['change_password', 'nobody', 'p'])).toEqual({ code: 67, stdout: 'Changing password for user "nobody" ...\n', stderr: 'Error:\nUser "nobody" does not exist\n' });
    expect((await ctl(['set_user_tags', 'nobody', 'x'])).code).toBe(67);
    const few = await ctl(['add_user', 'only-name']);
    expect([few.code, few.stderr.split('\n')[0]]).toEqual([64, 'Error (argument validation): not enough arguments.']);
  });

  it('vhosts and permissions: add_vhost, set_permissions, 69 for a missing vhost, 67 for a missing user', async () => {
    const access = fx.broker.broker.access;
    access.addUser({ name: 'perm-u', password: 'p', tags: [] });
    expect(await ctl(['add_vhost', 'ctl-v'])).toEqual({ code: 0, stdout: 'Adding vhost "ctl-v" ...\n', stderr: '' });
    expect(fx.broker.broker.vhosts.has('ctl-v')).toBe(true);
    expect((await ctl(['add_vhost', 'ctl-v'])).code).toBe(0);
    expect((await ctl(['set_permissions', '-p', 'ctl-v', 'perm-u', '^a', '^b', '^c'])).stdout).toBe('Setting permissions for user "perm-u" in vhost "ctl-v" ...\n');
    expect(access.permission('perm-u', 'ctl-v')).toMatchObject({ configure: '^a', write: '^b', read: '^c' });
    expect(await ctl(['set_permissions', '-p', 'nov', 'perm-u', '.*', '.*', '.*'])).toEqual({ code: 69, stdout: 'Setting permissions for user "perm-u" in vhost "nov" ...\n', stderr: 'Error:\nVirtual host nov does not exist\n' });
    expect(await ctl(['set_permissions', 'nobody', '.*', '.*', '.*'])).toEqual({ code: 67, stdout: 'Setting permissions for user "nobody" in vhost "/" ...\n', stderr: 'Error:\nUser nobody does not exist\n' });
  });

  it('policies: set_policy with --priority and --apply-to, RabbitMQ\'s validation as 69, clear_policy', async () => {
    const set = await ctl(['set_policy', 'ctl-ttl', '^ttl\\.', '{"message-ttl":1000}', '--priority', '3', '--apply-to', 'queues']);
    expect(set).toEqual({ code: 0, stdout: 'Setting policy "ctl-ttl" for pattern "^ttl\\." to "{"message-ttl":1000}" with priority "3" for vhost "/" ...\n', stderr: '' });
    expect(vhostOf('/').policies.list().find((p) => p.name === 'ctl-ttl')).toMatchObject({ priority: 3, applyTo: 'queues', definition: { 'message-ttl': 1000 } });
    const bad = await ctl(['set_policy', 'ctl-bad', '^q', '{"message-ttl":-1}']);
    expect([bad.code, bad.stderr]).toEqual([69, 'Error:\nValidation failed\n\n-1 is not a valid message TTL\n\n']);
    expect((await ctl(['set_policy', 'ctl-bad', '^q', 'notjson'])).stderr).toBe('Error:\nJSON decoding error. Reason: badarg\n');
    expect(await ctl(['clear_policy', 'ctl-ttl'])).toEqual({ code: 0, stdout: 'Clearing policy "ctl-ttl" on vhost "/" ...\n', stderr: '' });
    expect(await ctl(['clear_policy', 'ctl-ttl'])).toEqual({ code: 69, stdout: 'Clearing policy "ctl-ttl" on vhost "/" ...\n', stderr: 'Error:\nParameter does not exist\n' });
  });

  it('purge_queue and delete_queue, with --if-empty and RabbitMQ\'s codes for a missing queue (69 and 64)', async () => {
    const ch = await fx.channel();
    await ch.assertQueue('pq');
    ch.sendToQueue('pq', Buffer.from('x'));
    await eventually(() => expect(vhostOf('/').queues.get('pq')!.messageCount).toBe(1));
    expect(await ctl(['delete_queue', 'pq', '--if-empty'])).toEqual({ code: 64, stdout: "Deleting queue 'pq' on vhost '/' if queue is empty ...\n", stderr: 'Error:\nQueue is not empty\n' });
    expect(await ctl(['purge_queue', 'pq'])).toEqual({ code: 0, stdout: "Purging queue 'pq' in vhost '/' ...\n", stderr: '' });
    expect(vhostOf('/').queues.get('pq')!.messageCount).toBe(0);
    ch.sendToQueue('pq', Buffer.from('y'));
    await eventually(() => expect(vhostOf('/').queues.get('pq')!.messageCount).toBe(1));
    expect(await ctl(['delete_queue', 'pq'])).toEqual({ code: 0, stdout: "Deleting queue 'pq' on vhost '/' ...\nQueue was successfully deleted with 1 ready messages\n", stderr: '' });
    expect(vhostOf('/').queues.has('pq')).toBe(false);
    expect(await ctl(['purge_queue', 'pq'])).toEqual({ code: 69, stdout: "Purging queue 'pq' in vhost '/' ...\n", stderr: 'Error:\nnot_found\n' });
    expect(await ctl(['-q', 'delete_queue', 'pq'])).toEqual({ code: 64, stdout: '', stderr: 'Error:\nQueue not found\n' });
  });

  it('close_connection closes the connection list_connections names, with the reason given', async () => {
    const conn = await fx.connect();
    const closed = new Promise<Error>((resolve) => conn.once('close', resolve));
    const listed = await ctl(['-q', 'list_connections', '--no-table-headers', 'pid']);
    const pid = listed.stdout.trim().split('\n').at(-1)!;
    expect(pid).toMatch(/^<.+>$/);
    expect(await ctl(['close_connection', pid, 'go away'])).toEqual({ code: 0, stdout: `Closing connection ${pid}, reason: go away...\n`, stderr: '' });
    expect((await closed).message).toContain('CONNECTION_FORCED - go away');
    expect((await ctl(['close_connection', '<nothing>', 'x'])).code).toBe(69);
  });

  it('export_definitions and import_definitions, to a file and through stdin, 65 for a missing file or bad data', async () => {
    const file = join(scratch, 'defs.json');
    expect(await ctl(['export_definitions', file])).toEqual({ code: 0, stdout: `Exporting definitions in JSON to a file at "${file}" ...\n`, stderr: '' });
    const defs = JSON.parse(readFileSync(file, 'utf8'));
    expect(defs.users.map((u: { name: string }) => u.name)).toContain('guest');
    const toStdout = await ctl(['export_definitions', '-']);
    expect(JSON.parse(toStdout.stdout).vhosts).toEqual(defs.vhosts);
    defs.queues.push({ name: 'imported-q', vhost: '/', durable: true, auto_delete: false, arguments: {} });
    writeFileSync(file, JSON.stringify(defs));
    expect(await ctl(['import_definitions', file])).toEqual({
      code: 0,
      stdout: `Importing definitions in JSON from a file at "${file}" ...\nSuccessfully started definition import. This process is asynchronous and can take some time.\n`,
      stderr: '',
    });
    expect(vhostOf('/').queues.has('imported-q')).toBe(true);
    const stdinImport = await ctl(['-q', 'import_definitions', '-'], { stdin: JSON.stringify({ queues: [{ name: 'stdin-q', vhost: '/', durable: true, auto_delete: false, arguments: {} }] }) });
    expect(stdinImport.code).toBe(0);
    expect(vhostOf('/').queues.has('stdin-q')).toBe(true);
    const missing = await ctl(['import_definitions', join(scratch, 'nope.json')]);
    expect([missing.code, missing.stderr.split('\n')[0]]).toEqual([65, `Error (argument validation): Bad argument: File ${join(scratch, 'nope.json')} does not exist`]);
    writeFileSync(join(scratch, 'bad.json'), '{"queues":[{"name":"q","vhost":"no-such-vhost","durable":true}]}');
    const bad = await ctl(['import_definitions', join(scratch, 'bad.json')]);
    expect(bad.code).toBe(65);
    expect(vhostOf('/').queues.has('q')).toBe(false);
  });
});

describe('the node', () => {
  it('status names the node, its totals and listeners; await_startup returns at once for a running node', async () => {
    const s = await ctl(['status']);
    expect(s.code).toBe(0);
    // The section titles in bold, as rabbitmqctl 3.10.8 writes them even into a pipe.
    expect(s.stdout).toMatch(/^Status of node \S+@\S+ \.\.\.\n/);
    expect(s.stdout).toContain('\u001b[1mRuntime\u001b[0m\n');
    expect(s.stdout).toContain(`OS PID: ${process.pid}\n`);
    expect(s.stdout).toMatch(/\nQueue count: \d+\n/);
    expect(s.stdout).toContain(`port: ${new URL(fx.broker.url).port}, protocol: amqp`);
    expect(JSON.parse((await ctl(['status', '--formatter', 'json'])).stdout)).toMatchObject({ pid: process.pid, alarms: [] });
    expect(await ctl(['await_startup'])).toEqual({ code: 0, stdout: '', stderr: '' });
  });

  it('an unreachable node is 69 with the reason; a refused login is 69; flags win over WARREN_MANAGEMENT_URL', async () => {
    const closed = await closedPort();
    const down = await ctl(['list_queues', '--port', String(closed)]);
    expect(down.code).toBe(69);
    expect(down.stderr).toMatch(new RegExp(`^Error: unable to perform an operation on node 'http://127\\.0\\.0\\.1:${closed}'`));
    expect(down.stderr).toContain('ECONNREFUSED');
    const wait = await ctl(['await_startup', '--timeout', '0.3'], { env: { WARREN_MANAGEMENT_URL: `http://127.0.0.1:${closed}` } });
    expect(wait.code).toBe(69);
    const refused = await ctl(['list_queues', '--username', 'guest', '--password', 'wrong']);
    expect([refused.code, refused.stderr]).toEqual([69, `Error:\nguest is refused by ${fx.broker.managementUrl}: Login failed\n`]);
    const port = new URL(fx.broker.managementUrl!).port;
    const byFlags = await ctl(['-q', 'list_vhosts', '--host', '127.0.0.1', '--port', port], { env: { WARREN_MANAGEMENT_URL: `http://guest:guest@127.0.0.1:${closed}` } });
    expect([byFlags.code, byFlags.stdout.split('\n')[0]]).toEqual([0, 'name']);
  });

  it('warrenctl is the same command', async () => {
    const r = await ctl(['-q', 'list_users'], { bin: 'bin/warrenctl.js' });
    expect([r.code, r.stdout.split('\n')]).toEqual([0, expect.arrayContaining(['user\ttags', 'guest\t[administrator]'])]);
  });
});
