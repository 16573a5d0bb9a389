// Access control and policies as a definitions file configures them: one file (ACCESS_DEFINITIONS
// below: users with RabbitMQ's password hashes, vhosts, permissions, topic permissions, entities,
// policies) is loaded into RabbitMQ 3.10.8 at boot (load_definitions) and into Warren
// (--load-definitions), and then:
//   - access/<user>/<group>: every group of the permission matrix (test/access/fixtures/permission-matrix.mjs,
//     the steps test/access/enforcement.test.ts holds Warren to) as each user, in the user's vhost;
//   - access/connections/<user>: connection.open to every vhost, allowed and refused;
//   - access/logins: wrong passwords, unknown users, users without a password, a SHA-512 hash;
//   - access/policies/*: policies from the file applied (message-ttl with a dead-letter exchange,
//     the higher priority of two matching policies, policy and x-arguments together) and a policy
//     set, changed and cleared over the management API applying to a queue that already exists.
// Both brokers run on nodes of this suite's own (compare.ts, OwnBrokers), so the names are fixed.
import type { Channel } from 'amqplib';
import { type Ctx, type RChannel, ScenarioAbort, scenarios, sleep } from '../harness/scenario.js';
import {
  LIMITED_PERMISSIONS,
  LIMITED_TOPIC_PERMISSIONS,
  MATRIX_EXCHANGES,
  MATRIX_QUEUES,
  type StepCall,
  matrixSteps,
} from '../../test/access/fixtures/permission-matrix.mjs';

interface MatrixUser {
  name: string;
  /** Password = the user's name; hashes made by RabbitMQ 3.10.8 (`rabbitmqctl add_user`, read back with `export_definitions -`). */
  hash: string;
  tags: string[];
  /** The vhost the user's matrix steps run in (it holds the matrix entities). */
  vhost: string;
}

const SHA256 = 'rabbit_password_hashing_sha256';

const USERS: MatrixUser[] = [
  { name: 'admin', hash: 'IGdfNlY1nlLTc+sP0jVFGVnpumT6BS3m9L/9wRTdq1Co+hVM', tags: ['administrator'], vhost: 'm-admin' },
  { name: 'limited', hash: 'K6fYfK8dr8xw0DFxCrEGyE/g2uJTI3I1xWG6XnX0uCUkP6j6', tags: [], vhost: 'm-limited' },
  { name: 'reader', hash: 'FtMxG3wMxGW+eph9U2+h/bd6ZDTs7rrAhI0zALJfew/uMnwM', tags: ['monitoring'], vhost: 'm-reader' },
  { name: 'writer', hash: 'LE9uvjHS7dbDPcEhA6xMS6vGWxH7KEZqWC0WcNIE8gVFGZq8', tags: [], vhost: 'm-writer' },
  { name: 'impersonator', hash: 'e9PHag87cWiQU7iXDaYBde6mxnz+/mjRezTy2KpAqc39KQOi', tags: ['impersonator'], vhost: 'm-impersonator' },
];

const ALL = { configure: '.*', write: '.*', read: '.*' };
const POLICY_VHOST = 'policies';

/** The definitions file both brokers load: what a team would export from RabbitMQ and hand to Warren. */
export function accessDefinitions(): string {
  const matrixVhosts = USERS.map((u) => u.vhost);
  const vhosts = ['/', ...matrixVhosts, 'noperm', POLICY_VHOST];
  const permission = (user: string, vhost: string, p: { configure: string; write: string; read: string }) => ({ user, vhost, ...p });
  const entityQueues = matrixVhosts.flatMap((vhost) => MATRIX_QUEUES.map((name) => ({ name, vhost, durable: false, auto_delete: false, arguments: {} })));
  const entityExchanges = matrixVhosts.flatMap((vhost) =>
    MATRIX_EXCHANGES.map((x) => ({ name: x.name, vhost, type: x.type, durable: false, auto_delete: false, internal: x.internal === true, arguments: {} })),
  );
  const policyQueue = (name: string) => ({ name, vhost: POLICY_VHOST, durable: true, auto_delete: false, arguments: {} });
  const fanout = (name: string) => ({ name, vhost: POLICY_VHOST, type: 'fanout', durable: true, auto_delete: false, internal: false, arguments: {} });
  const binding = (source: string, destination: string) => ({ source, vhost: POLICY_VHOST, destination, destination_type: 'queue', routing_key: '', arguments: {} });
  const policy = (name: string, pattern: string, priority: number, definition: Record<string, unknown>) => ({
    vhost: POLICY_VHOST,
    name,
    pattern,
    'apply-to': 'queues',
    definition,
    priority,
  });
  const definitions = {
    rabbit_version: '3.10.8',
    rabbitmq_version: '3.10.8',
    product_name: 'RabbitMQ',
    product_version: '3.10.8',
    users: [
      // The harness checks that a broker is up as guest.
      { name: 'guest', password_hash: '6fWyiUv4UmUaUl4rymqL+mCRnWNzNiD/jVRbGBI8u+A3SRxb', hashing_algorithm: SHA256, tags: ['administrator'] },
      ...USERS.map((u) => ({ name: u.name, password_hash: u.hash, hashing_algorithm: SHA256, tags: u.tags })),
      // No password: only EXTERNAL could log in.
      { name: 'nopass', password_hash: '', hashing_algorithm: SHA256, tags: [] },
      // Password 'sha512 pass' (test/access/fixtures/password-hashes.rabbitmq-3.10.8.json).
      {
        name: 'sha512-user',
        password_hash: 'St4aAdpLx8ZW0AJDpvHpkTrjWtXfKOKJq4Ax+wPoLjLFz2zjKadNLxkFanDu1W5UdVrBHMpmg2Sl7SYbkSVRP7FLiKY=',
        hashing_algorithm: 'rabbit_password_hashing_sha512',
        tags: [],
      },
    ],
    vhosts: vhosts.map((name) => ({ name })),
    permissions: [
      permission('guest', '/', ALL),
      permission('guest', POLICY_VHOST, ALL),
      ...matrixVhosts.map((vhost) => permission('guest', vhost, ALL)),
      permission('admin', 'm-admin', ALL),
      permission('admin', 'm-limited', ALL),
      permission('limited', 'm-limited', LIMITED_PERMISSIONS),
      permission('reader', 'm-reader', { configure: '^$', write: '^$', read: '.*' }),
      permission('writer', 'm-writer', { configure: '^$', write: '.*', read: '^$' }),
      permission('impersonator', 'm-impersonator', ALL),
      permission('nopass', 'm-limited', ALL),
      permission('sha512-user', 'm-reader', ALL),
    ],
    topic_permissions: [
      { user: 'limited', vhost: 'm-limited', ...LIMITED_TOPIC_PERMISSIONS },
      { user: 'writer', vhost: 'm-writer', exchange: 'both-topic', write: '^{vhost}\\.', read: '^$' },
      { user: 'writer', vhost: 'm-writer', exchange: 'amq.topic', write: '^orders\\.', read: '.*' },
    ],
    parameters: [],
    global_parameters: [],
    policies: [
      policy('ttl-dlx', '^ttl\\.', 0, { 'message-ttl': 0, 'dead-letter-exchange': 'dlx.ttl' }),
      policy('len-low', '^len\\.', 1, { 'max-length': 1 }),
      policy('len-high', '^len\\.', 7, { 'max-length': 3, 'dead-letter-exchange': 'dlx.len' }),
    ],
    queues: [...entityQueues, ...['ttl.q', 'dead.ttl', 'len.q', 'dead.len', 'dead.arg'].map(policyQueue)],
    exchanges: [...entityExchanges, ...['dlx.ttl', 'dlx.len', 'dlx.arg'].map(fanout)],
    bindings: [binding('dlx.ttl', 'dead.ttl'), binding('dlx.len', 'dead.len'), binding('dlx.arg', 'dead.arg')],
  };
  return `${JSON.stringify(definitions, null, 2)}\n`;
}

/** One matrix step on a recorded channel (a publish followed by a recorded round trip, as the other runners do). */
async function runStep(ch: RChannel, { method, args }: StepCall): Promise<unknown> {
  if (method === 'publish') {
    ch.publish(args[0], args[1], 'x', args[2]);
    return ch.checkExchange('amq.direct');
  }
  if (method === 'consume') return ch.consume(args[0]);
  return (ch[method] as (...a: unknown[]) => Promise<unknown>).apply(ch, args);
}

const matrix = scenarios('access', 'amqplib', (scenario) => {
  for (const user of USERS) {
    for (const [group, steps] of Object.entries(matrixSteps(user.name, user.vhost))) {
      scenario(`${user.name}/${group}`, async (t) => {
        const conn = await t.connect({ user: user.name, password: user.name, vhost: user.vhost });
        // Each step on a channel of its own: a refusal closes only that one.
        for (const [name, step] of steps) {
          t.record('step', name);
          const ch = await conn.channel();
          if ((await t.tryOp(runStep(ch, step))) !== undefined) await ch.close();
        }
      });
    }
  }
});

const VHOSTS_TRIED = [...USERS.map((u) => u.vhost), 'noperm', 'no-such-vhost'];

const connections = scenarios('access', 'amqplib', (scenario) => {
  for (const user of USERS) {
    scenario(`connections/${user.name}`, async (t) => {
      for (const vhost of VHOSTS_TRIED) {
        const c = await t.tryOp(t.connect({ label: vhost, user: user.name, password: user.name, vhost }));
        if (c === undefined) continue;
        t.record(`${vhost} open`);
        await c.closeConn();
      }
    });
  }
  scenario('logins', async (t) => {
    const attempts: [string, string, string][] = [
      ['wrong password', 'limited', 'wrong'],
      ['unknown user', 'nobody', 'limited'],
      ['no password, empty', 'nopass', ''],
      ['no password, some', 'nopass', 'nopass'],
      ['sha512 hash', 'sha512-user', 'sha512 pass'],
      ['sha512 hash, wrong password', 'sha512-user', 'sha512'],
      ['case of the name', 'Limited', 'limited'],
    ];
    for (const [label, user, password] of attempts) {
      const c = await t.tryOp(t.connect({ label, user, password, vhost: user === 'sha512-user' ? 'm-reader' : 'm-limited' }));
      if (c === undefined) continue;
      t.record(`${label} open`);
      await c.closeConn();
    }
  });
});

// ---- policies ------------------------------------------------------------------------------------

/** A management API request as guest; the status is recorded (the body only where asked). */
async function api(t: Ctx, method: 'GET' | 'PUT' | 'DELETE', path: string, body?: unknown, recorded = true): Promise<{ status: number; json: unknown }> {
  const base = t.target.managementUrl;
  if (base === undefined) throw new ScenarioAbort('this suite runs its brokers with the management API');
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (recorded) t.record(`${method} ${path}`, res.status);
  return { status: res.status, json: text === '' ? null : JSON.parse(text) };
}

/**
 * Waits (unrecorded, bounded) until `queue` holds at most `count` messages: a policy change reaches
 * a RabbitMQ queue process asynchronously. Then records the count on the script's channel.
 */
async function countDropsTo(ch: RChannel, queue: string, count: number): Promise<void> {
  const probe: Channel = ch.raw;
  const deadline = Date.now() + 2_000;
  while ((await probe.checkQueue(queue)).messageCount > count && Date.now() < deadline) await sleep(5);
  await ch.checkQueue(queue);
}

/** Takes every message of a queue (basic.get, no-ack), recorded with its headers, after it holds `count`. */
async function takeAll(ch: RChannel, queue: string, count: number): Promise<void> {
  await ch.waitForCount(queue, count);
  for (let i = 0; i < count; i++) await ch.get(queue, { noAck: true });
  await ch.get(queue, { noAck: true });
}

const policies = scenarios('access', 'amqplib', (scenario) => {
  const vhost = POLICY_VHOST;
  // RabbitMQ's management API shows a queue's policy once the queue has emitted its first statistics
  // (every 5 s): wait (bounded) until it does, then record what it shows.
  const queueView = async (t: Ctx, queue: string) => {
    const path = `/api/queues/${vhost}/${encodeURIComponent(queue)}`;
    const deadline = Date.now() + 10_000;
    let q = (await api(t, 'GET', path)).json as { policy?: unknown; operator_policy?: unknown; effective_policy_definition?: unknown };
    while (typeof q.policy !== 'string' && Date.now() < deadline) {
      await sleep(100);
      q = (await api(t, 'GET', path, undefined, false)).json as typeof q;
    }
    t.record('queue policy', { policy: q.policy ?? null, operator_policy: q.operator_policy ?? null, effective_policy_definition: q.effective_policy_definition ?? null });
  };

  scenario('policies/ttl-and-dead-letter-from-the-file', async (t) => {
    const conn = await t.connect({ vhost });
    const ch = await conn.confirmChannel();
    for (const body of ['one', 'two']) ch.publish('', 'ttl.q', body, { headers: { n: body } });
    await ch.waitConfirms();
    await takeAll(ch, 'dead.ttl', 2);
    await ch.checkQueue('ttl.q');
    await queueView(t, 'ttl.q');
  });

  scenario('policies/higher-priority-wins', async (t) => {
    const conn = await t.connect({ vhost });
    const ch = await conn.confirmChannel();
    for (let i = 1; i <= 5; i++) ch.publish('', 'len.q', `m${i}`);
    await ch.waitConfirms();
    await ch.checkQueue('len.q');
    await takeAll(ch, 'dead.len', 2);
    await queueView(t, 'len.q');
  });

  scenario('policies/policy-and-arguments', async (t) => {
    const conn = await t.connect({ vhost });
    const ch = await conn.confirmChannel();
    // max-length: the lower of argument and policy; dead-letter-exchange: the argument's.
    const q = `len.arg.${t.n()}`;
    await ch.assertQueue(q, { exclusive: true, arguments: { 'x-max-length': 2, 'x-dead-letter-exchange': 'dlx.arg' } });
    for (let i = 1; i <= 5; i++) ch.publish('', q, `m${i}`);
    await ch.waitConfirms();
    await ch.checkQueue(q);
    await takeAll(ch, 'dead.arg', 3);
    await queueView(t, q);
  });

  scenario('policies/change-applies-to-an-existing-queue', async (t) => {
    const conn = await t.connect({ vhost });
    const ch = await conn.confirmChannel();
    const q = `chg.${t.n()}`;
    const name = `chg-${t.n()}`;
    await ch.assertQueue(q, { exclusive: true });
    for (let i = 1; i <= 5; i++) ch.publish('', q, `a${i}`);
    await ch.waitConfirms();
    await ch.checkQueue(q);
    const pattern = '^chg\\.';
    await api(t, 'PUT', `/api/policies/${vhost}/${name}`, { pattern, definition: { 'max-length': 2 }, 'apply-to': 'queues', priority: 0 });
    await countDropsTo(ch, q, 2);
    // Changed: a higher limit keeps what is there and lets more in.
    await api(t, 'PUT', `/api/policies/${vhost}/${name}`, { pattern, definition: { 'max-length': 3 }, 'apply-to': 'queues', priority: 0 });
    for (let i = 1; i <= 3; i++) ch.publish('', q, `b${i}`);
    await ch.waitConfirms();
    await ch.checkQueue(q);
    await drainBodiesRecorded(ch, q);
    // Cleared: no limit any more.
    await api(t, 'DELETE', `/api/policies/${vhost}/${name}`);
    await api(t, 'GET', `/api/policies/${vhost}/${name}`);
    // The clear reaches a RabbitMQ queue process asynchronously: probe (unrecorded, on a channel of
    // its own) until a fourth message stays.
    const probe = (await conn.channel()).raw;
    let cleared = false;
    const deadline = Date.now() + 2_000;
    while (!cleared && Date.now() < deadline) {
      await probe.purgeQueue(q);
      for (let i = 0; i < 4; i++) probe.sendToQueue(q, Buffer.from('probe'));
      cleared = (await probe.checkQueue(q)).messageCount === 4;
    }
    await probe.purgeQueue(q);
    for (let i = 1; i <= 6; i++) ch.publish('', q, `c${i}`);
    await ch.waitConfirms();
    await ch.checkQueue(q);
  });
});

/** The bodies of a queue, in order, each recorded by its basic.get. */
async function drainBodiesRecorded(ch: RChannel, queue: string): Promise<void> {
  for (;;) {
    const m = await ch.get(queue, { noAck: true });
    if (m === false) return;
  }
}

export default [...matrix, ...connections, ...policies];
