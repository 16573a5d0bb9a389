/**
 * RabbitMQ's deprecated features as AMQP 0-9-1 clients meet them (rabbit_deprecated_features). 3.10
 * has no such notion; 3.13.0 (rabbitmq-server#7390) to 4.2 permit global_qos and
 * transient_nonexcl_queues with a warning in the log, once a day; 4.3.0 denies both by default
 * (release notes 4.3.0, "Deprecated Features are Now Disabled by Default"):
 * - global_qos (rabbit_channel.erl of v4.3.5, handle_method basic.qos): the qos is handled as if
 *   global were false, so the prefetch applies to each new consumer;
 * - transient_nonexcl_queues (rabbit_amqqueue:declare/7 of v4.3.5): a new queue neither durable nor
 *   exclusive is refused with 541 INTERNAL_ERROR and the feature's "when_denied" text
 *   (rabbit_deprecated_features:generate_warnings1/3), cut to 255 bytes.
 */
import type { Channel, ConsumeMessage } from 'amqplib';
import { describe, expect, it } from 'vitest';
import { encodeQueueDeclare } from '../../src/protocol/generated/methods.js';
import { expectConnectionClosed } from '../helpers/model.js';
import { RawClient } from '../helpers/raw-client.js';
import { withReleases } from '../helpers/versions.js';

const b = withReleases(['3.10', '3.13', '4.x', 'default']);
let n = 0;
const name = (what: string) => `${what}-${process.pid}-${++n}`;

/** Two consumers on one channel after basic.qos(1, global): how many deliveries are outstanding. */
async function outstandingWithGlobalQos(ch: Channel): Promise<number> {
  const q = (await ch.assertQueue('', { exclusive: true })).queue;
  for (let i = 0; i < 4; i++) ch.sendToQueue(q, Buffer.from(`m${i}`));
  await ch.prefetch(1, true);
  const got: ConsumeMessage[] = [];
  await ch.consume(q, (m) => m && got.push(m));
  await ch.consume(q, (m) => m && got.push(m));
  // A round trip after the consumes: every delivery the limits allow has been written before its reply.
  await ch.checkQueue(q);
  return got.length;
}

describe('global_qos', () => {
  it('3.10 and 3.13 apply basic.qos global=true to the channel; 4.x (and Warren by default) handle it as global=false', async () => {
    expect(await outstandingWithGlobalQos(await b['3.10'].channel())).toBe(1);
    expect(await outstandingWithGlobalQos(await b['3.13'].channel())).toBe(1);
    expect(await outstandingWithGlobalQos(await b['4.x'].channel())).toBe(2);
    expect(await outstandingWithGlobalQos(await b.default.channel())).toBe(2);
  });

  it('4.x lets a quorum queue be consumed after a global qos, which 3.10 refuses with 540', async () => {
    const q = name('qq');
    const four = await b['4.x'].channel();
    await four.assertQueue(q, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    await four.prefetch(5, true);
    await expect(four.consume(q, () => {})).resolves.toMatchObject({ consumerTag: expect.any(String) });
    await four.deleteQueue(q);

    const conn = await b['3.10'].connect();
    const three = await conn.createChannel();
    three.on('error', () => {});
    await three.assertQueue(q, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    await three.prefetch(5, true);
    await expectConnectionClosed(conn, () => three.consume(q, () => {}), {
      code: 540,
      text: `NOT_IMPLEMENTED - queue '${q}' in vhost '/' does not support global qos`,
    });
    const cleanup = await b['3.10'].channel();
    await cleanup.deleteQueue(q);
  });

  it('3.13 logs RabbitMQ\'s deprecation warning once, 4.x its error once, 3.10 nothing', async () => {
    for (const release of ['3.10', '3.13', '4.x'] as const) {
      const ch = await b[release].channel();
      await ch.prefetch(1, true);
      await ch.prefetch(2, true);
    }
    const lines = (release: '3.10' | '3.13' | '4.x') => b[release].log.filter((l) => l.deprecatedFeature === 'global_qos');
    expect(lines('3.10')).toEqual([]);
    expect(lines('3.13')).toHaveLength(1);
    expect(lines('3.13')[0]).toMatchObject({ level: 40 });
    expect(lines('3.13')[0]!.msg).toBe(
      'Deprecated features: `global_qos`: Feature `global_qos` is deprecated.\n' +
        'By default, this feature can still be used for now.\n' +
        'Its use will not be permitted by default in a future minor RabbitMQ version and the feature will be removed from a future major RabbitMQ version; actual versions to be determined.\n' +
        'To continue using this feature when it is not permitted by default, set the following parameter in your configuration:\n' +
        '    "deprecated_features.permit.global_qos = true"\n' +
        'To test RabbitMQ as if the feature was removed, set this in your configuration:\n' +
        '    "deprecated_features.permit.global_qos = false"',
    );
    expect(lines('4.x')).toHaveLength(1);
    expect(lines('4.x')[0]).toMatchObject({ level: 50 });
    expect(lines('4.x')[0]!.msg).toContain('By default, this feature is not permitted anymore.');
  });
});

/** 541's text as 4.3 sends it: "INTERNAL_ERROR - " and the when_denied text, cut at 252 bytes with "...". */
const DENIED_TEXT = (
  'INTERNAL_ERROR - Feature `transient_nonexcl_queues` is deprecated.\n' +
  'By default, this feature is not permitted anymore.\n' +
  'The feature will be removed from a future major RabbitMQ version, regardless of the configuration; actual version to be determined.\n' +
  'To continue using this feature when it is not permitted by default, set the following parameter in your configuration:\n' +
  '    "deprecated_features.permit.transient_nonexcl_queues = true"'
).slice(0, 252) + '...';

describe('transient_nonexcl_queues', () => {
  it('4.x refuses a new queue that is neither durable nor exclusive: 541, the connection closed; durable or exclusive ones are fine', async () => {
    for (const p of [b['4.x'], b.default]) {
      const conn = await p.connect();
      const ch = await conn.createChannel();
      ch.on('error', () => {});
      await expectConnectionClosed(conn, () => ch.assertQueue(name('transient'), { durable: false, exclusive: false }), { code: 541, text: DENIED_TEXT });
    }
    const ch = await b['4.x'].channel();
    await expect(ch.assertQueue(name('exclusive'), { durable: false, exclusive: true })).resolves.toBeDefined();
    const q = name('durable');
    await expect(ch.assertQueue(q, { durable: true })).resolves.toBeDefined();
    await ch.deleteQueue(q);
    // The arguments are checked first: a bad one is a 406 on the channel, not the 541.
    const bad = await b['4.x'].channel();
    const closed = new Promise<Error>((resolve) => bad.once('error', resolve));
    await bad.assertQueue(name('bad-arg'), { durable: false, arguments: { 'x-max-length': -1 } }).catch(() => {});
    expect((await closed).message).toContain("PRECONDITION_FAILED - invalid arg 'x-max-length'");
  });

  it('names queue.declare (class 50, method 10) in the connection.close', async () => {
    const c = await RawClient.connect(b['4.x'].broker.port);
    await c.handshake();
    await c.openChannel(1);
    c.sendEncoded((w) => encodeQueueDeclare(w, 1, { queue: name('raw'), durable: false, exclusive: false }));
    expect(await c.waitForClose()).toEqual({ name: 'connection.close', channel: 0, replyCode: 541, replyText: DENIED_TEXT, classId: 50, methodId: 10 });
    c.destroy();
  });

  it('4.x refuses it with auto-delete and server-named too, and before a quorum queue\'s own property checks', async () => {
    for (const [q, options] of [
      ['', { durable: false }],
      [name('ad'), { durable: false, autoDelete: true }],
      [name('qq'), { durable: false, arguments: { 'x-queue-type': 'quorum' } }],
    ] as const) {
      const conn = await b['4.x'].connect();
      const ch = await conn.createChannel();
      ch.on('error', () => {});
      await expectConnectionClosed(conn, () => ch.assertQueue(q, options), { code: 541, text: DENIED_TEXT });
    }
  });

  it('3.10 and 3.13 create it; 3.13 logs RabbitMQ\'s warning once', async () => {
    for (const release of ['3.10', '3.13'] as const) {
      const ch = await b[release].channel();
      for (let i = 0; i < 2; i++) {
        const q = name('transient');
        await expect(ch.assertQueue(q, { durable: false })).resolves.toMatchObject({ queue: q });
        await ch.deleteQueue(q);
      }
    }
    expect(b['3.10'].log.filter((l) => l.deprecatedFeature !== undefined)).toEqual([]);
    const warned = b['3.13'].log.filter((l) => l.deprecatedFeature === 'transient_nonexcl_queues');
    expect(warned).toHaveLength(1);
    expect(warned[0]!.msg.startsWith('Deprecated features: `transient_nonexcl_queues`: Feature `transient_nonexcl_queues` is deprecated.\nBy default, this feature can still be used for now.')).toBe(true);
  });
});
