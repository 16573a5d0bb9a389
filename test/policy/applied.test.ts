/**
 * Policies and operator policies take effect, end to end with amqplib: set one, observe the limit,
 * the TTL, the dead-lettering, the expiry or the alternate exchange; clear it, observe it gone. A
 * policy reaches queues that exist already, at once (RabbitMQ's policy_changed). The same file runs
 * against RabbitMQ 3.10.8 (see test/helpers/access.ts), policies set there with rabbitmqctl.
 */
import type { Channel, ConfirmChannel } from 'amqplib';
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { accessSetup, accessTest } from '../helpers/access.js';
import { eventually, uniqueName, warrenOnly, withBroker } from '../helpers/broker.js';

const fx = withBroker();
const setup = accessSetup(fx);
const VHOST = uniqueName('policies');

let conn: amqp.ChannelModel;
async function channel(): Promise<ConfirmChannel> {
  const ch = await conn.createConfirmChannel();
  ch.on('error', () => {});
  return ch;
}
const count = async (ch: Channel, q: string) => (await ch.checkQueue(q)).messageCount;
async function publishConfirmed(ch: ConfirmChannel, q: string, bodies: string[]): Promise<('ack' | 'nack')[]> {
  const outcomes = bodies.map(
    (b) => new Promise<'ack' | 'nack'>((resolve) => ch.sendToQueue(q, Buffer.from(b), {}, (err) => resolve(err ? 'nack' : 'ack'))),
  );
  return Promise.all(outcomes);
}
const exactly = (name: string) => `^${name.replace(/[.]/g, '\\.')}$`;

beforeAll(async () => {
  setup.addVhost(VHOST);
  setup.setPermissions('guest', VHOST, '.*', '.*', '.*');
  conn = await amqp.connect(setup.url('guest', 'guest', VHOST));
  conn.on('error', () => {});
});
afterAll(async () => {
  await conn?.close().catch(() => {});
  setup.deleteVhost(VHOST);
});

describe('a policy on queues', () => {
  accessTest('max-length drops the oldest of an existing queue at once; cleared, the queue grows again', async () => {
    const ch = await channel();
    const q = uniqueName('len');
    await ch.assertQueue(q, { durable: false });
    await publishConfirmed(ch, q, ['0', '1', '2', '3', '4']);
    setup.setPolicy(VHOST, `${q}-p`, exactly(q), { 'max-length': 2 }, { applyTo: 'queues' });
    await eventually(async () => expect(await count(ch, q)).toBe(2));
    const head = await ch.get(q, { noAck: true });
    expect(head !== false && head.content.toString()).toBe('3');
    setup.clearPolicy(VHOST, `${q}-p`);
    await eventually(async () => {
      await publishConfirmed(ch, q, ['more']);
      expect(await count(ch, q)).toBeGreaterThan(2);
    });
  });

  accessTest('message-ttl applies to what arrives after it; what was there keeps its expiry', async () => {
    const ch = await channel();
    const old = uniqueName('ttl-old');
    const fresh = uniqueName('ttl-new');
    await ch.assertQueue(old, { durable: false });
    await ch.assertQueue(fresh, { durable: false });
    await publishConfirmed(ch, old, ['kept']);
    setup.setPolicy(VHOST, `${old}-p`, `^(${old}|${fresh})$`, { 'message-ttl': 50 }, { applyTo: 'queues' });
    // The policy is in force once a message published now expires.
    await eventually(async () => {
      await publishConfirmed(ch, fresh, ['short-lived']);
      await eventually(async () => expect(await count(ch, fresh)).toBe(0), 1000);
    });
    expect(await count(ch, old)).toBe(1);
    setup.clearPolicy(VHOST, `${old}-p`);
  });

  accessTest('overflow reject-publish with max-length: the publisher is nacked beyond the limit', async () => {
    const ch = await channel();
    const q = uniqueName('reject');
    setup.setPolicy(VHOST, `${q}-p`, exactly(q), { 'max-length': 1, overflow: 'reject-publish' }, { applyTo: 'queues' });
    await ch.assertQueue(q, { durable: false });
    expect(await publishConfirmed(ch, q, ['1', '2', '3'])).toEqual(['ack', 'nack', 'nack']);
    expect(await count(ch, q)).toBe(1);
    setup.clearPolicy(VHOST, `${q}-p`);
  });

  accessTest('dead-letter-exchange and routing key from a policy take a rejected message', async () => {
    const ch = await channel();
    const q = uniqueName('dlx-src');
    const dlq = uniqueName('dlx-dst');
    await ch.assertQueue(q, { durable: false });
    await ch.assertQueue(dlq, { durable: false });
    setup.setPolicy(VHOST, `${q}-p`, exactly(q), { 'dead-letter-exchange': '', 'dead-letter-routing-key': dlq }, { applyTo: 'queues' });
    await eventually(async () => {
      await publishConfirmed(ch, q, ['dead']);
      const m = await ch.get(q);
      if (m === false) throw new Error('no message');
      ch.nack(m, false, false);
      expect(await count(ch, dlq)).toBeGreaterThan(0);
    });
    setup.clearPolicy(VHOST, `${q}-p`);
  });

  accessTest('expires from a policy deletes an unused queue', async () => {
    const ch = await channel();
    const q = uniqueName('expires');
    setup.setPolicy(VHOST, `${q}-p`, exactly(q), { expires: 100 }, { applyTo: 'queues' });
    await ch.assertQueue(q, { durable: false });
    // A passive declare counts as use (it restarts the idle time): look less often than it expires.
    await eventually(
      async () => {
        const probe = await channel();
        await expect(probe.checkQueue(q)).rejects.toThrow(/404/);
      },
      5000,
      300,
    );
    setup.clearPolicy(VHOST, `${q}-p`);
  });

  accessTest('the x-argument and the policy combine per key: the lower max-length, the argument\'s DLX', async () => {
    const ch = await channel();
    const q = uniqueName('both');
    const plain = `${q}-plain`;
    const argDlq = uniqueName('arg-dlq');
    const policyDlq = uniqueName('policy-dlq');
    for (const d of [argDlq, policyDlq]) await ch.assertQueue(d, { durable: false });
    await ch.assertQueue(q, { durable: false, maxLength: 4, deadLetterExchange: '', deadLetterRoutingKey: argDlq });
    await ch.assertQueue(plain, { durable: false });
    setup.setPolicy(VHOST, `${q}-p`, `^${q}`, { 'max-length': 3, 'dead-letter-exchange': '', 'dead-letter-routing-key': policyDlq }, { applyTo: 'queues' });
    await eventually(async () => {
      await publishConfirmed(ch, plain, ['x']);
      await publishConfirmed(ch, q, ['x']);
      expect(await count(ch, plain)).toBe(3);
      expect(await count(ch, q)).toBe(3);
    });
    // The lower limit (the policy's 3, not the argument's 4), and the argument's dead-letter target.
    const toArgDlq = await count(ch, argDlq);
    const toPolicyDlq = await count(ch, policyDlq);
    await publishConfirmed(ch, q, ['1', '2']);
    expect(await count(ch, q)).toBe(3);
    expect(await count(ch, argDlq)).toBe(toArgDlq + 2);
    expect(await count(ch, policyDlq)).toBe(toPolicyDlq);
    await publishConfirmed(ch, plain, ['1']);
    expect(await count(ch, policyDlq)).toBe(toPolicyDlq + 1);
    setup.clearPolicy(VHOST, `${q}-p`);
  });

  accessTest('only the highest priority policy applies; an operator policy caps it (the lower value wins)', async () => {
    const ch = await channel();
    const q = uniqueName('prio');
    await ch.assertQueue(q, { durable: false });
    setup.setPolicy(VHOST, `${q}-low`, exactly(q), { 'max-length': 1 }, { priority: 1, applyTo: 'queues' });
    setup.setPolicy(VHOST, `${q}-high`, exactly(q), { 'max-length': 4 }, { priority: 9, applyTo: 'queues' });
    await eventually(async () => {
      await ch.purgeQueue(q);
      await publishConfirmed(ch, q, ['1', '2', '3', '4', '5', '6']);
      expect(await count(ch, q)).toBe(4);
    });
    setup.setPolicy(VHOST, `${q}-cap`, exactly(q), { 'max-length': 2 }, { applyTo: 'queues', operator: true });
    await eventually(async () => expect(await count(ch, q)).toBe(2));
    setup.clearPolicy(VHOST, `${q}-cap`, true);
    setup.clearPolicy(VHOST, `${q}-low`);
    setup.clearPolicy(VHOST, `${q}-high`);
  });

  accessTest('a stream takes max-length-bytes and stream-max-segment-size-bytes from a policy: its oldest segments go', async () => {
    const ch = await channel();
    const q = uniqueName('stream');
    await ch.assertQueue(q, { durable: true, arguments: { 'x-queue-type': 'stream' } });
    setup.setPolicy(VHOST, `${q}-p`, exactly(q), { 'max-length-bytes': 3000, 'stream-max-segment-size-bytes': 1000 }, { applyTo: 'queues' });
    for (let i = 0; i < 60; i++) await publishConfirmed(ch, q, [`m${i}`.padEnd(100, '.')]);
    const reader = await conn.createChannel();
    await reader.prefetch(100);
    const firstOffset = await new Promise<number>((resolve) => {
      void reader.consume(q, (m) => m !== null && resolve(m.properties.headers!['x-stream-offset'] as number), { arguments: { 'x-stream-offset': 'first' } });
    });
    expect(firstOffset).toBeGreaterThan(0);
    await reader.close();
    setup.clearPolicy(VHOST, `${q}-p`);
    await ch.deleteQueue(q);
  });
});

describe('a policy on exchanges', () => {
  accessTest('alternate-exchange from a policy takes unroutable messages; cleared, they are dropped', async () => {
    const ch = await channel();
    const x = uniqueName('ex');
    const ae = uniqueName('ae');
    const caught = uniqueName('caught');
    await ch.assertExchange(x, 'direct', { durable: false });
    await ch.assertExchange(ae, 'fanout', { durable: false });
    await ch.assertQueue(caught, { durable: false });
    await ch.bindQueue(caught, ae, '');
    setup.setPolicy(VHOST, `${x}-p`, exactly(x), { 'alternate-exchange': ae }, { applyTo: 'exchanges' });
    await eventually(async () => {
      ch.publish(x, 'nowhere', Buffer.from('unroutable'));
      await ch.waitForConfirms();
      expect(await count(ch, caught)).toBeGreaterThan(0);
    });
    setup.clearPolicy(VHOST, `${x}-p`);
    await ch.purgeQueue(caught);
    await eventually(async () => {
      ch.publish(x, 'nowhere', Buffer.from('dropped'));
      await ch.waitForConfirms();
      expect(await count(ch, caught)).toBe(0);
    });
  });
});

describe("a vhost's default queue type", () => {
  accessTest('durable queues declared without x-queue-type get it; others stay classic', async () => {
    const v = uniqueName('dqt');
    setup.addVhostWithDefaultQueueType(v, 'quorum');
    setup.setPermissions('guest', v, '.*', '.*', '.*');
    const c = await amqp.connect(setup.url('guest', 'guest', v));
    c.on('error', () => {});
    const refused = async (name: string, opts: amqp.Options.AssertQueue) => {
      const ch = await c.createChannel();
      ch.on('error', () => {});
      return ch.assertQueue(name, opts).then(
        () => 'ok',
        (e: Error) => e.message,
      );
    };
    // A quorum queue refuses x-max-priority: the declare shows which type the queue got.
    expect(await refused('d', { durable: true, arguments: { 'x-max-priority': 5 } })).toContain(
      `PRECONDITION_FAILED - invalid arg 'x-max-priority' for queue 'd' in vhost '${v}' of queue type rabbit_quorum_queue`,
    );
    expect(await refused('', { durable: true })).toContain('PRECONDITION_FAILED - Cannot declare a server-named queue for type rabbit_quorum_queue');
    expect(await refused('t', { durable: false, arguments: { 'x-max-priority': 5 } })).toBe('ok');
    expect(await refused('a', { durable: true, autoDelete: true, arguments: { 'x-max-priority': 5 } })).toBe('ok');
    expect(await refused('c', { durable: true, arguments: { 'x-queue-type': 'classic', 'x-max-priority': 5 } })).toBe('ok');
    await c.close().catch(() => {});
    setup.deleteVhost(v);
  });
});

describe('what the broker shows', () => {
  warrenOnly('the effective settings and the policies that made them', async () => {
    const ch = await channel();
    const q = uniqueName('shown');
    await ch.assertQueue(q, { durable: false, messageTtl: 5000 });
    setup.setPolicy(VHOST, `${q}-p`, exactly(q), { 'message-ttl': 60000, 'max-length': 7 }, { applyTo: 'queues' });
    setup.setPolicy(VHOST, `${q}-op`, exactly(q), { 'max-length': 3 }, { applyTo: 'queues', operator: true });
    const v = fx.broker.broker.vhosts.get(VHOST)!;
    expect(v.queueSettings(v.queues.get(q)!)).toMatchObject({
      policy: `${q}-p`,
      operatorPolicy: `${q}-op`,
      effectivePolicyDefinition: { 'max-length': 3, 'message-ttl': 60000 },
      messageTtl: 5000,
      maxLength: 3,
    });
    setup.clearPolicy(VHOST, `${q}-p`);
    setup.clearPolicy(VHOST, `${q}-op`, true);
  });
});
