/**
 * Permissions enforced end to end: amqplib against the broker, every row of the access-control table
 * (src/access/method-access.ts), allowed and refused, with the reply codes and texts RabbitMQ 3.10.8
 * gave to the same operations (test/access/fixtures/permission-matrix.rabbitmq-3.10.8.json, recorded
 * by record-permission-matrix.mjs; names here carry a suffix so that runs never collide). The same
 * file runs against a real RabbitMQ (see test/helpers/access.ts).
 */
import { AMQPClient } from '@cloudamqp/amqp-client';
import amqp, { type Channel, type ChannelModel, type Options } from 'amqplib';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { accessSetup, accessTest } from '../helpers/access.js';
import { uniqueName, withBroker } from '../helpers/broker.js';
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

/** A publish has no reply: a round trip on the same channel shows whether it closed the channel. */
async function publish(ch: Channel, exchange: string, key: string, props: Options.Publish = {}) {
  ch.publish(exchange, key, Buffer.from('x'), props);
  await ch.checkExchange('amq.direct');
}

const STEPS: [string, (ch: Channel) => Promise<unknown>][] = [
  ['queue.declare allowed', (ch) => ch.assertQueue('cfg-new', { durable: false })],
  ['queue.declare refused', (ch) => ch.assertQueue('other-new', { durable: false })],
  ['queue.declare existing refused', (ch) => ch.assertQueue('other-q', { durable: false })],
  ['queue.declare passive needs nothing', (ch) => ch.checkQueue('other-q')],
  ['queue.declare amq. prefix before permission', (ch) => ch.assertQueue('amq.mine', { durable: false })],
  ['queue.declare server-named refused', (ch) => ch.assertQueue('', { exclusive: true })],
  ['queue.declare dlx allowed', (ch) => ch.assertQueue('both-dlx-ok', { durable: false, deadLetterExchange: 'both-x' })],
  ['queue.declare dlx needs read on queue', (ch) => ch.assertQueue('cfg-dlx', { durable: false, deadLetterExchange: 'both-x' })],
  ['queue.declare dlx needs write on dlx', (ch) => ch.assertQueue('both-dlx', { durable: false, deadLetterExchange: 'other-x' })],
  ['queue.delete allowed', (ch) => ch.deleteQueue('cfg-del')],
  ['queue.delete refused', (ch) => ch.deleteQueue('other-q')],
  ['queue.purge allowed', (ch) => ch.purgeQueue('r-q')],
  ['queue.purge refused', (ch) => ch.purgeQueue('other-q')],
  ['queue.bind allowed', (ch) => ch.bindQueue('w-q', 'r-x', 'k')],
  ['queue.bind refused on queue', (ch) => ch.bindQueue('other-q', 'r-x', 'k')],
  ['queue.bind refused on exchange', (ch) => ch.bindQueue('w-q', 'other-x', 'k')],
  ['queue.bind default exchange', (ch) => ch.bindQueue('w-q', '', 'k')],
  ['queue.unbind allowed', (ch) => ch.unbindQueue('w-q', 'r-x', 'k')],
  ['queue.unbind refused on queue', (ch) => ch.unbindQueue('other-q', 'r-x', 'k')],
  ['queue.unbind refused on exchange', (ch) => ch.unbindQueue('w-q', 'other-x', 'k')],
  ['exchange.declare allowed', (ch) => ch.assertExchange('cfg-newx', 'direct', { durable: false })],
  ['exchange.declare refused', (ch) => ch.assertExchange('other-newx', 'direct', { durable: false })],
  ['exchange.declare passive needs nothing', (ch) => ch.checkExchange('other-x')],
  ['exchange.declare default exchange', (ch) => ch.assertExchange('', 'direct', { durable: false })],
  ['exchange.declare amq. refused before prefix', (ch) => ch.assertExchange('amq.mine', 'direct', { durable: false })],
  ['exchange.declare ae allowed', (ch) => ch.assertExchange('both-ae-ok', 'direct', { durable: false, alternateExchange: 'both-x' })],
  ['exchange.declare ae needs read on exchange', (ch) => ch.assertExchange('cfg-ae', 'direct', { durable: false, alternateExchange: 'both-x' })],
  ['exchange.declare ae needs write on ae', (ch) => ch.assertExchange('both-ae', 'direct', { durable: false, alternateExchange: 'other-x' })],
  ['exchange.delete allowed', (ch) => ch.deleteExchange('cfg-newx')],
  ['exchange.delete refused', (ch) => ch.deleteExchange('other-x')],
  ['exchange.delete system exchange', (ch) => ch.deleteExchange('amq.direct')],
  ['exchange.delete default exchange', (ch) => ch.deleteExchange('')],
  ['exchange.bind allowed', (ch) => ch.bindExchange('w-x', 'r-x', 'k')],
  ['exchange.bind refused on destination', (ch) => ch.bindExchange('other-x', 'r-x', 'k')],
  ['exchange.bind refused on source', (ch) => ch.bindExchange('w-x', 'other-x', 'k')],
  ['exchange.bind default exchange destination', (ch) => ch.bindExchange('', 'r-x', 'k')],
  ['exchange.unbind allowed', (ch) => ch.unbindExchange('w-x', 'r-x', 'k')],
  ['exchange.unbind refused on destination', (ch) => ch.unbindExchange('other-x', 'r-x', 'k')],
  ['exchange.unbind refused on source', (ch) => ch.unbindExchange('w-x', 'other-x', 'k')],
  ['basic.publish allowed', (ch) => publish(ch, 'w-x', 'k')],
  ['basic.publish refused', (ch) => publish(ch, 'other-x', 'k')],
  ['basic.publish default exchange allowed', (ch) => publish(ch, '', 'w-q')],
  ['basic.publish missing exchange refused before lookup', (ch) => publish(ch, 'nope', 'k')],
  ['basic.publish missing exchange allowed', (ch) => publish(ch, 'w-nope', 'k')],
  ['basic.publish internal exchange', (ch) => publish(ch, 'w-int', 'k')],
  ['basic.publish topic allowed', (ch) => publish(ch, 'both-topic', `${LIMITED}.orders`)],
  ['basic.publish topic refused', (ch) => publish(ch, 'both-topic', 'other.orders')],
  ['basic.publish topic exchange without topic permissions', (ch) => publish(ch, 'both-topic-open', 'anything')],
  ['basic.publish user_id mismatch', (ch) => publish(ch, 'w-x', 'k', { userId: 'someone-else' })],
  ['basic.publish user_id own', (ch) => publish(ch, 'w-x', 'k', { userId: LIMITED })],
  ['queue.bind topic allowed', (ch) => ch.bindQueue('both-q', 'both-topic', `${PERM}.#`)],
  ['queue.bind topic refused', (ch) => ch.bindQueue('both-q', 'both-topic', 'other.#')],
  ['basic.get allowed', (ch) => ch.get('r-q')],
  ['basic.get refused', (ch) => ch.get('other-q')],
  ['basic.consume allowed', (ch) => ch.consume('r-q', () => {})],
  ['basic.consume refused', (ch) => ch.consume('other-q', () => {})],
];

async function runStep(conn: ChannelModel, fn: (ch: Channel) => Promise<unknown>): Promise<Outcome> {
  const ch = await conn.createChannel();
  ch.on('error', () => {});
  try {
    await fn(ch);
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
    for (const q of ['cfg-q', 'w-q', 'r-q', 'other-q', 'both-q', 'cfg-del']) await ch.assertQueue(q, { durable: false });
    for (const x of ['cfg-x', 'w-x', 'r-x', 'other-x', 'both-x']) await ch.assertExchange(x, 'direct', { durable: false });
    await ch.assertExchange('both-topic', 'topic', { durable: false });
    await ch.assertExchange('both-topic-open', 'topic', { durable: false });
    await ch.assertExchange('w-int', 'direct', { durable: false, internal: true });
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
    for (const [name, fn] of STEPS) {
      const got = await runStep(conn, fn);
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
    expect(await runStep(c, (ch) => publish(ch, 'w-x', 'k', { userId: 'someone-else' }))).toEqual(matrix.impersonatorUserId);
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
