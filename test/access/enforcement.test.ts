/**
 * Permissions enforced end to end: amqplib against the broker, every row of the access-control table
 * (src/access/method-access.ts), allowed and refused (the steps of fixtures/permission-matrix.mjs, which
 * compat/scenarios/access.ts runs for several users against RabbitMQ itself), with the reply codes and texts RabbitMQ 3.10.8
 * gave to the same operations (test/access/fixtures/permission-matrix.rabbitmq-3.10.8.json, recorded
 * by record-permission-matrix.mjs; names here carry a suffix so that runs never collide). The same
 * file runs against a real RabbitMQ (see test/helpers/access.ts).
 */
import { AMQPClient } from '@cloudamqp/amqp-client';
import amqp, { type ChannelModel } from 'amqplib';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { accessSetup, accessTest } from '../helpers/access.js';
import { uniqueName, withBroker } from '../helpers/broker.js';
import { MATRIX_EXCHANGES, MATRIX_QUEUES, type StepCall, allMatrixSteps, runOnAmqplib } from './fixtures/permission-matrix.mjs';
import matrix from './fixtures/permission-matrix.rabbitmq-3.10.8.json' with { type: 'json' };

const fx = withBroker();
const setup = accessSetup(fx);

const tag = uniqueName('').slice(1);
const PERM = `perm-${tag}`;
const NOPERM = `noperm-${tag}`;
const LIMITED = `limited-${tag}`;
const IMPERSONATOR = `impersonator-${tag}`;
const NOPASS = `nopass-${tag}`;

/** A recorded text with this run's names. */
const named = (text: string) =>
  text.replaceAll(`'perm'`, `'${PERM}'`).replaceAll(`'noperm'`, `'${NOPERM}'`).replaceAll(`'limited'`, `'${LIMITED}'`).replaceAll('topic \'limited.', `topic '${LIMITED}.`).replaceAll(`topic 'perm.`, `topic '${PERM}.`);

type Outcome = { outcome: 'ok' } | { outcome: 'refused'; code: number; text: string; classId?: number; methodId?: number };

async function runStep(conn: ChannelModel, step: StepCall): Promise<Outcome> {
  const ch = await conn.createChannel();
  ch.on('error', () => {});
  try {
    await runOnAmqplib(ch, step);
    await ch.close();
    return { outcome: 'ok' };
  } catch (e) {
    const err = e as Error & { classId?: number; methodId?: number };
    const m = /(\d+) \(([A-Z-]+)\) with message "(.*)"$/s.exec(String(err.message));
    if (m === null) throw e;
    return { outcome: 'refused', code: Number(m[1]), text: m[3]!, classId: err.classId, methodId: err.methodId };
  }
}

/** amqplib does not show the text of a refused connection.open; amqp-client does. */
async function connectOutcome(url: string): Promise<Outcome> {
  const c = new AMQPClient(url);
  try {
    await c.connect();
    await c.close();
    return { outcome: 'ok' };
  } catch (e) {
    const m = /^connection closed: (.*) \((\d+)\)$/s.exec(String((e as Error).message));
    if (m === null) throw e;
    return { outcome: 'refused', code: Number(m[2]), text: m[1]! };
  }
}

describe('permissions, end to end', () => {
  let conn: ChannelModel;

  beforeAll(async () => {
    setup.addVhost(PERM);
    setup.addVhost(NOPERM);
    setup.addUser(LIMITED, LIMITED);
    setup.addUser(IMPERSONATOR, IMPERSONATOR, ['impersonator']);
    setup.addUser(NOPASS, 'temporary');
    setup.clearPassword(NOPASS);
    setup.setPermissions(NOPASS, PERM, '.*', '.*', '.*');
    setup.setPermissions(LIMITED, PERM, matrix.permissions.configure, matrix.permissions.write, matrix.permissions.read);
    setup.setPermissions(IMPERSONATOR, PERM, '.*', '.*', '.*');
    setup.setPermissions('guest', PERM, '.*', '.*', '.*');
    setup.setTopicPermissions(LIMITED, PERM, matrix.topicPermissions.exchange, matrix.topicPermissions.write, matrix.topicPermissions.read);
    // The entities the steps act on, made by an unrestricted user.
    const admin = await amqp.connect(setup.url('guest', 'guest', PERM));
    const ch = await admin.createChannel();
    for (const q of MATRIX_QUEUES) await ch.assertQueue(q, { durable: false });
    for (const x of MATRIX_EXCHANGES) await ch.assertExchange(x.name, x.type, { durable: false, internal: x.internal === true });
    await admin.close();
    conn = await amqp.connect(setup.url(LIMITED, LIMITED, PERM));
    conn.on('error', () => {});
  });

  afterAll(async () => {
    await conn?.close().catch(() => {});
    for (const v of [PERM, NOPERM]) setup.deleteVhost(v);
    for (const u of [LIMITED, IMPERSONATOR, NOPASS]) setup.deleteUser(u);
  });

  // One test, the steps in the recorded order: later steps see what earlier ones created or deleted.
  accessTest('answers every method as RabbitMQ 3.10.8 does, step by step', async () => {
    const recorded = matrix.methods as Record<string, Outcome>;
    for (const [name, step] of allMatrixSteps(LIMITED, PERM)) {
      const got = await runStep(conn, step);
      const want = recorded[name]!;
      if (want.outcome === 'refused' && name === 'queue.declare server-named refused') {
        // The generated name differs each time.
        expect(got, name).toMatchObject({ outcome: 'refused', code: want.code, classId: want.classId, methodId: want.methodId });
        expect((got as { text: string }).text, name).toMatch(new RegExp(`^ACCESS_REFUSED - access to queue 'amq\\.gen-[A-Za-z0-9_-]{22}' in vhost '${PERM}' refused for user '${LIMITED}'$`));
        continue;
      }
      expect(got, name).toEqual(want.outcome === 'ok' ? want : { ...want, text: named(want.text) });
    }
  });

  accessTest('lets an impersonator publish with any user_id', async () => {
    const c = await amqp.connect(setup.url(IMPERSONATOR, IMPERSONATOR, PERM));
    c.on('error', () => {});
    expect(await runStep(c, { method: 'publish', args: ['w-x', 'k', { userId: 'someone-else' }] })).toEqual(matrix.impersonatorUserId);
    await c.close();
  });

  accessTest('refuses connection.open and logins as RabbitMQ does', async () => {
    const recorded = matrix.connections as Record<string, Outcome>;
    const cases: [string, string][] = [
      ['vhost without permissions', setup.url(LIMITED, LIMITED, NOPERM)],
      ['vhost that does not exist', setup.url(LIMITED, LIMITED, 'no-such-vhost')],
      ['wrong password', setup.url(LIMITED, 'wrong', PERM)],
      ['unknown user', setup.url(`nobody-${tag}`, LIMITED, PERM)],
      ['user without password, empty password', setup.url(NOPASS, '', PERM)],
      ['user without password, some password', setup.url(NOPASS, 'temporary', PERM)],
    ];
    for (const [name, url] of cases) {
      const want = recorded[name]!;
      expect(await connectOutcome(url), name).toEqual(want.outcome === 'ok' ? want : { ...want, text: named(want.text) });
    }
  });
});
