/**
 * Queue arguments and default limits that changed between releases:
 * - x-queue-version 1 refused and x-queue-mode no longer checked in 4.3.0 (CQv1 removed:
 *   rabbit_amqqueue:declare_args/0 and check_queue_version/2 of v4.3.5);
 * - max_message_size 16 MiB by default since 4.0.0 (128 MiB before; rabbit's Makefile), with
 *   rabbit_channel:check_msg_size/2's text;
 * - quorum queues' default delivery limit of 20 since 4.0.0 (release notes 4.0.1);
 * - x-queue-leader-locator accepted by classic queues since 4.0.0 (rabbit_classic_queue:capabilities/0),
 *   x-queue-master-locator refused with 541 since 4.3.0 (the deprecated feature queue_master_locator,
 *   rabbit_classic_queue:validate_arguments/1);
 * - x-queue-type added to a declaration without one since 4.0.0 (rabbit_amqqueue:augment_declare_args/5),
 *   which shows in the inequivalent-argument texts of a redeclaration with another type;
 * - consumer_timeout, 30 minutes by default in every release, no longer applied to classic queues in
 *   4.3.0 (release notes 4.3.0, "Consumer Timeouts are No Longer Evaluated for Classic Queues").
 */
import type { Channel, ConsumeMessage, Message } from 'amqplib';
import { describe, expect, it } from 'vitest';
import { DEFAULTS, resolveConfig } from '../../src/config.js';
import { expectChannelClosed, expectConnectionClosed } from '../helpers/model.js';
import { withReleases } from '../helpers/versions.js';

const b = withReleases(['3.10', '3.13', '4.x']);
let n = 0;
const name = (what: string) => `${what}-${process.pid}-${++n}`;

const precondition = (text: string) => ({ code: 406, text: `PRECONDITION_FAILED - ${text}`, classId: 50, methodId: 10 });

describe('classic queue storage arguments', () => {
  it('x-queue-version 1: accepted until 3.13, refused by 4.x with rabbit_amqqueue\'s text', async () => {
    for (const release of ['3.10', '3.13'] as const) {
      const ch = await b[release].channel();
      const q = name('v1');
      await expect(ch.assertQueue(q, { exclusive: true, arguments: { 'x-queue-version': 1 } })).resolves.toMatchObject({ queue: q });
    }
    const ch = await b['4.x'].channel();
    const q = name('v1');
    await expectChannelClosed(ch, () => ch.assertQueue(q, { exclusive: true, arguments: { 'x-queue-version': 1 } }), precondition(`invalid arg 'x-queue-version' for queue '${q}' in vhost '/': "unsupported queue version '1'"`));
    const ok = await b['4.x'].channel();
    await expect(ok.assertQueue(name('v2'), { exclusive: true, arguments: { 'x-queue-version': 2 } })).resolves.toBeDefined();
  });

  it('x-queue-mode: checked until 3.13 ("default" or "lazy"), any value accepted by 4.x', async () => {
    for (const release of ['3.10', '3.13'] as const) {
      const ch = await b[release].channel();
      const q = name('mode');
      await expectChannelClosed(ch, () => ch.assertQueue(q, { exclusive: true, arguments: { 'x-queue-mode': 'bogus' } }), precondition(`invalid arg 'x-queue-mode' for queue '${q}' in vhost '/': "unsupported queue mode 'bogus'"`));
    }
    const ch = await b['4.x'].channel();
    for (const mode of ['bogus', 'lazy', 7]) {
      await expect(ch.assertQueue(name('mode'), { exclusive: true, arguments: { 'x-queue-mode': mode } })).resolves.toBeDefined();
    }
  });
});

describe('queue locator arguments of classic queues', () => {
  it('x-queue-leader-locator: refused by 3.x as another type\'s argument, taken (and checked) by 4.x', async () => {
    const three = await b['3.10'].channel();
    const q = name('leader');
    await expectChannelClosed(three, () => three.assertQueue(q, { exclusive: true, arguments: { 'x-queue-leader-locator': 'balanced' } }), precondition(`invalid arg 'x-queue-leader-locator' for queue '${q}' in vhost '/' of queue type rabbit_classic_queue`));
    const four = await b['4.x'].channel();
    await expect(four.assertQueue(name('leader'), { exclusive: true, arguments: { 'x-queue-leader-locator': 'balanced' } })).resolves.toBeDefined();
    const bad = name('leader');
    await expectChannelClosed(four, () => four.assertQueue(bad, { exclusive: true, arguments: { 'x-queue-leader-locator': 'nearest' } }), precondition(`invalid arg 'x-queue-leader-locator' for queue '${bad}' in vhost '/': invalid_queue_locator_arg`));
  });

  it('x-queue-master-locator: taken by 3.x, refused by 4.x with 541 and the deprecated feature\'s text', async () => {
    const three = await b['3.13'].channel();
    await expect(three.assertQueue(name('master'), { exclusive: true, arguments: { 'x-queue-master-locator': 'min-masters' } })).resolves.toBeDefined();
    const conn = await b['4.x'].connect();
    const ch = await conn.createChannel();
    ch.on('error', () => {});
    const text = (
      'INTERNAL_ERROR - Feature `queue_master_locator` is deprecated.\n' +
      'By default, this feature is not permitted anymore.\n' +
      'The feature will be removed from a future major RabbitMQ version, regardless of the configuration; actual version to be determined.\n' +
      'To continue using this feature when it is not permitted by default, set the following parameter in your configuration:\n' +
      '    "deprecated_features.permit.queue_master_locator = true"'
    ).slice(0, 252) + '...';
    await expectConnectionClosed(conn, () => ch.assertQueue(name('master'), { exclusive: true, arguments: { 'x-queue-master-locator': 'min-masters' } }), { code: 541, text });
  });
});

describe('x-queue-type of a queue declared without one', () => {
  /** Declares `q` with `first` arguments, then again with `second`: the 406's text. */
  async function redeclared(release: '3.10' | '4.x', first: Record<string, unknown>, second: Record<string, unknown>) {
    const q = name('typed');
    const ch = await b[release].channel();
    await ch.assertQueue(q, { durable: true, arguments: first });
    const again = await b[release].channel();
    const closed = new Promise<Error>((resolve) => again.once('error', resolve));
    await again.assertQueue(q, { durable: true, arguments: second }).catch(() => {});
    const text = (await closed).message.replace(/^.*with message "(.*)"$/, '$1');
    await ch.deleteQueue(q);
    return text.replace(q, 'q');
  }
  const QUORUM = { 'x-queue-type': 'quorum' };

  it('3.10 has none to show (the texts observed on 3.10.8); 4.x shows the classic it added', async () => {
    expect(await redeclared('3.10', {}, QUORUM)).toBe(
      "PRECONDITION_FAILED - inequivalent arg 'x-queue-type' for queue 'q' in vhost '/': received the value 'quorum' of type 'longstr' but current is none",
    );
    expect(await redeclared('3.10', QUORUM, {})).toBe(
      "PRECONDITION_FAILED - inequivalent arg 'x-queue-type' for queue 'q' in vhost '/': received none but current is the value 'quorum' of type 'longstr'",
    );
    expect(await redeclared('4.x', {}, QUORUM)).toBe("PRECONDITION_FAILED - inequivalent arg 'x-queue-type' for queue 'q' in vhost '/': received 'quorum' but current is 'classic'");
    expect(await redeclared('4.x', QUORUM, {})).toBe("PRECONDITION_FAILED - inequivalent arg 'x-queue-type' for queue 'q' in vhost '/': received 'classic' but current is 'quorum'");
  });
});

describe('release defaults', () => {
  it('fill in what was not set, and give way to what was', () => {
    const d = (v: '3.10' | '3.13' | '4.x' | undefined) => resolveConfig({ ...DEFAULTS, rabbitmqVersion: v });
    expect(d('3.10')).toMatchObject({ maxMessageSize: 134217728, quorumDeliveryLimitDefault: false, consumerTimeoutMs: 1800000 });
    expect(d('3.13')).toMatchObject({ maxMessageSize: 134217728, quorumDeliveryLimitDefault: false, consumerTimeoutMs: 1800000 });
    expect(d('4.x')).toMatchObject({ maxMessageSize: 16777216, quorumDeliveryLimitDefault: true, consumerTimeoutMs: 1800000 });
    expect(d(undefined)).toMatchObject({ maxMessageSize: 16777216, quorumDeliveryLimitDefault: true, consumerTimeoutMs: 1800000 });
    expect(resolveConfig({ ...DEFAULTS, rabbitmqVersion: '4.x', maxMessageSize: 1000, quorumDeliveryLimitDefault: false, consumerTimeoutMs: 0 })).toMatchObject({
      maxMessageSize: 1000,
      quorumDeliveryLimitDefault: false,
      consumerTimeoutMs: 0,
    });
  });

  it('4.x refuses a message over 16 MiB that 3.x takes, with check_msg_size\'s text', async () => {
    const body = Buffer.alloc(16 * 1024 * 1024 + 1);
    const three = await b['3.10'].channel();
    const q3 = (await three.assertQueue('', { exclusive: true })).queue;
    three.sendToQueue(q3, body);
    expect((await three.checkQueue(q3)).messageCount).toBe(1);

    const ch = await b['4.x'].channel();
    const q = (await ch.assertQueue('', { exclusive: true })).queue;
    await expectChannelClosed(ch, () => ch.sendToQueue(q, body), {
      code: 406,
      text: 'PRECONDITION_FAILED - message size 16777217 is larger than configured max size 16777216',
      classId: 60,
      methodId: 40,
    });
  });
});

/** Gets and returns (nack, requeue) the queue's one message until it is gone: how many deliveries it had. */
async function deliveriesUntilGone(ch: Channel, q: string, most: number): Promise<number> {
  for (let i = 0; i < most; i++) {
    const m: Message | false = await ch.get(q, { noAck: false });
    if (m === false) return i;
    ch.nack(m, false, true);
  }
  return most;
}

describe('quorum queue delivery limit', () => {
  it('4.x gives a quorum queue without x-delivery-limit the limit 20 explicitly declaring it gives in 3.10', async () => {
    const limited = async (release: '3.10' | '4.x', args: Record<string, unknown>) => {
      const ch = await b[release].confirmChannel();
      const q = name('qq');
      await ch.assertQueue(q, { durable: true, arguments: { 'x-queue-type': 'quorum', ...args } });
      ch.sendToQueue(q, Buffer.from('poison'));
      await ch.waitForConfirms();
      const count = await deliveriesUntilGone(ch, q, 30);
      await ch.deleteQueue(q);
      return count;
    };
    const withLimit20 = await limited('3.10', { 'x-delivery-limit': 20 });
    expect(withLimit20).toBeLessThan(30);
    expect(await limited('4.x', {})).toBe(withLimit20);
    expect(await limited('3.10', {})).toBe(30);
  });
});

describe('consumer_timeout', () => {
  const short = withReleases(['3.10', '4.x'], { consumerTimeoutMs: 150 });

  it('3.10 times out a classic queue delivery; 4.x quorum queue deliveries only, an older classic one stays unacknowledged', async () => {
    const three = await short['3.10'].channel();
    const q3 = (await three.assertQueue('', { exclusive: true })).queue;
    three.sendToQueue(q3, Buffer.from('classic'));
    await expectChannelClosed(three, () => three.consume(q3, () => {}), {
      code: 406,
      text: 'PRECONDITION_FAILED - delivery acknowledgement on channel 1 timed out. Timeout value used: 150 ms. This timeout value can be configured, see consumers doc guide to learn more',
      classId: 0,
      methodId: 0,
    });

    const conn = await short['4.x'].connect();
    const classic = await conn.createChannel();
    classic.on('error', () => {});
    const cq = (await classic.assertQueue('', { exclusive: true })).queue;
    classic.sendToQueue(cq, Buffer.from('classic'));
    const got: ConsumeMessage[] = [];
    await classic.consume(cq, (m) => m && got.push(m));
    await classic.checkQueue(cq);
    expect(got).toHaveLength(1);

    // The quorum delivery comes later; its channel closing proves the timeout has passed for both.
    const quorum = await conn.createConfirmChannel();
    quorum.on('error', () => {});
    const qq = name('qq');
    await quorum.assertQueue(qq, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    quorum.sendToQueue(qq, Buffer.from('quorum'));
    await quorum.waitForConfirms();
    await expectChannelClosed(quorum, () => quorum.consume(qq, () => {}), {
      code: 406,
      text: 'PRECONDITION_FAILED - delivery acknowledgement on channel 2 timed out. Timeout value used: 150 ms. This timeout value can be configured, see consumers doc guide to learn more',
      classId: 0,
      methodId: 0,
    });
    expect((await classic.checkQueue(cq)).messageCount).toBe(0);
    classic.ack(got[0]!);
    await classic.checkQueue(cq);
    const cleanup = await short['4.x'].channel();
    await cleanup.deleteQueue(qq);
  });

});
