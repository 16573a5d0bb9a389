/**
 * Direct reply-to across releases: a mandatory reply comes back as a basic.return until 4.1, and
 * counts as routed since 4.2.0 (release notes 4.2.0, "`Mandatory` flag in Direct Reply-To"); binding a
 * queue name under amq.rabbitmq.reply-to. is a 404 for a missing queue in 3.10 (observed on 3.10.8)
 * and a 403 since 4.3.0 (rabbitmq-server#15935, rabbit_channel:reject_volatile_queue_as_binding_target/2).
 */
import type { Channel, ConsumeMessage, Message } from 'amqplib';
import { describe, expect, it } from 'vitest';
import { expectChannelClosed } from '../helpers/model.js';
import { withReleases } from '../helpers/versions.js';

const b = withReleases(['3.10', '4.x']);

/** A requester consuming replies, and the reply-to address its request carries. */
async function requester(ch: Channel): Promise<{ address: string; replies: ConsumeMessage[] }> {
  const replies: ConsumeMessage[] = [];
  await ch.consume('amq.rabbitmq.reply-to', (m) => m && replies.push(m), { noAck: true });
  const q = (await ch.assertQueue('', { exclusive: true })).queue;
  ch.sendToQueue(q, Buffer.from('request'), { replyTo: 'amq.rabbitmq.reply-to' });
  const request = await ch.get(q, { noAck: true });
  if (request === false) throw new Error('no request');
  return { address: request.properties.replyTo as string, replies };
}

describe('a mandatory direct reply', () => {
  it('is delivered, and returned by 3.10 but not by 4.x', async () => {
    for (const [release, returns] of [
      ['3.10', 1],
      ['4.x', 0],
    ] as const) {
      const { address, replies } = await requester(await b[release].channel());
      const responder = await b[release].channel();
      const returned: Message[] = [];
      responder.on('return', (m: Message) => returned.push(m));
      responder.publish('', address, Buffer.from('reply'), { mandatory: true });
      // A return is written before the reply to a later command on the same channel.
      await responder.checkExchange('amq.direct');
      expect(returned, release).toHaveLength(returns);
      await expect.poll(() => replies.length).toBe(1);
    }
  });
});

describe('binding a direct reply-to name', () => {
  it('3.10: no such queue, 404; 4.x: refused, 403, for bind and unbind', async () => {
    const ch = await b['3.10'].channel();
    await expectChannelClosed(ch, () => ch.bindQueue('amq.rabbitmq.reply-to.abc', 'amq.direct', 'k'), {
      code: 404,
      text: "NOT_FOUND - no queue 'amq.rabbitmq.reply-to.abc' in vhost '/'",
      classId: 50,
      methodId: 20,
    });
    for (const op of ['bind', 'unbind'] as const) {
      const four = await b['4.x'].channel();
      await expectChannelClosed(four, () => (op === 'bind' ? four.bindQueue : four.unbindQueue).call(four, 'amq.rabbitmq.reply-to.abc', 'amq.direct', 'k'), {
        code: 403,
        text: 'ACCESS_REFUSED - cannot bind or unbind to a volatile (direct reply-to) queue',
        classId: 50,
        methodId: op === 'bind' ? 20 : 50,
      });
    }
  });
});
