// Durable state across a broker restart. Every `before` runs, the broker restarts once, every `after`
// runs (compare.ts: RabbitMQ stop_app/start_app on a node of our own; Warren close() + startBroker()
// on the same data directory with durability 'os').
import { restartScenarios } from '../harness/scenario.js';
import { drainBodies } from './helpers.js';

export default restartScenarios('restart', 'amqplib', (scenario) => {
  scenario('durable-queue-persistent-messages', {
    before: async (t) => {
      const ch = await t.confirmChannel();
      await ch.assertQueue(t.n('q'), { durable: true });
      ch.sendToQueue(t.n('q'), 'persistent', { persistent: true, headers: { h: 1 }, messageId: 'p1' });
      ch.sendToQueue(t.n('q'), 'transient', { persistent: false });
      await ch.waitConfirms();
    },
    after: async (t) => {
      const ch = await t.channel();
      await ch.checkQueue(t.n('q'));
      await ch.get(t.n('q'), { noAck: true });
      await ch.get(t.n('q'), { noAck: true });
      await ch.deleteQueue(t.n('q'));
    },
  });

  scenario('transient-queue-gone', {
    before: async (t) => {
      const ch = await t.channel();
      await ch.assertQueue(t.n('q'), { durable: false });
    },
    after: async (t) => {
      const ch = await t.channel();
      await t.fails(ch.checkQueue(t.n('q')));
    },
  });

  scenario('durable-exchange-and-bindings', {
    before: async (t) => {
      const ch = await t.channel();
      await ch.assertExchange(t.n('x'), 'topic', { durable: true });
      await ch.assertExchange(t.n('tx'), 'topic', { durable: false });
      await ch.assertQueue(t.n('q'), { durable: true });
      await ch.bindQueue(t.n('q'), t.n('x'), 'a.#');
    },
    after: async (t) => {
      const ch = await t.channel();
      await ch.checkExchange(t.n('x'));
      ch.publish(t.n('x'), 'a.b', 'routed-after-restart');
      await drainBodies(t, ch, t.n('q'));
      await ch.deleteExchange(t.n('x'));
      await ch.deleteQueue(t.n('q'));
      await t.fails(ch.checkExchange(t.n('tx')));
    },
  });

  scenario('unacked-persistent-redelivered', {
    before: async (t) => {
      const ch = await t.confirmChannel();
      await ch.assertQueue(t.n('q'), { durable: true });
      ch.sendToQueue(t.n('q'), 'unacked', { persistent: true });
      await ch.waitConfirms();
      await ch.get(t.n('q'));
    },
    after: async (t) => {
      const ch = await t.channel();
      await ch.get(t.n('q'), { noAck: true });
      await ch.deleteQueue(t.n('q'));
    },
  });

  scenario('acked-not-redelivered', {
    before: async (t) => {
      const ch = await t.confirmChannel();
      await ch.assertQueue(t.n('q'), { durable: true });
      for (const b of ['a', 'b', 'c']) ch.sendToQueue(t.n('q'), b, { persistent: true });
      await ch.waitConfirms();
      const m = await ch.get(t.n('q'));
      if (m) ch.ack(m);
      await ch.checkQueue(t.n('q'));
    },
    after: async (t) => {
      const ch = await t.channel();
      await drainBodies(t, ch, t.n('q'));
      await ch.deleteQueue(t.n('q'));
    },
  });

  scenario('queue-arguments-survive', {
    before: async (t) => {
      const ch = await t.channel();
      await ch.assertQueue(t.n('q'), { durable: true, maxLength: 2, deadLetterExchange: 'amq.fanout' });
    },
    after: async (t) => {
      const ch = await t.channel();
      await ch.assertQueue(t.n('q'), { durable: true, maxLength: 2, deadLetterExchange: 'amq.fanout' });
      const other = await t.channel();
      await t.fails(other.assertQueue(t.n('q'), { durable: true }));
      const ch3 = await t.channel();
      await ch3.deleteQueue(t.n('q'));
    },
  });

  scenario('priority-queue-order-survives', {
    before: async (t) => {
      const ch = await t.confirmChannel();
      await ch.assertQueue(t.n('q'), { durable: true, maxPriority: 5 });
      for (const p of [1, 5, 3]) ch.sendToQueue(t.n('q'), `p${p}`, { persistent: true, priority: p });
      await ch.waitConfirms();
    },
    after: async (t) => {
      const ch = await t.channel();
      await drainBodies(t, ch, t.n('q'));
      await ch.deleteQueue(t.n('q'));
    },
  });

  scenario('exclusive-queue-gone', {
    before: async (t) => {
      const ch = await t.channel();
      await ch.assertQueue(t.n('q'), { exclusive: true, durable: true });
    },
    after: async (t) => {
      const ch = await t.channel();
      await t.fails(ch.checkQueue(t.n('q')));
    },
  });

  scenario('auto-delete-durable-queue', {
    before: async (t) => {
      const ch = await t.channel();
      await ch.assertQueue(t.n('q'), { durable: true, autoDelete: true });
    },
    after: async (t) => {
      const ch = await t.channel();
      await t.tryOp(ch.checkQueue(t.n('q')));
      const ch2 = await t.channel();
      await ch2.deleteQueue(t.n('q'));
    },
  });

  scenario('e2e-binding-survives', {
    before: async (t) => {
      const ch = await t.channel();
      await ch.assertExchange(t.n('src'), 'fanout', { durable: true });
      await ch.assertExchange(t.n('dst'), 'fanout', { durable: true });
      await ch.bindExchange(t.n('dst'), t.n('src'), '');
      await ch.assertQueue(t.n('q'), { durable: true });
      await ch.bindQueue(t.n('q'), t.n('dst'), '');
    },
    after: async (t) => {
      const ch = await t.channel();
      ch.publish(t.n('src'), '', 'through-e2e');
      await drainBodies(t, ch, t.n('q'));
      await ch.deleteExchange(t.n('src'));
      await ch.deleteExchange(t.n('dst'));
      await ch.deleteQueue(t.n('q'));
    },
  });

  scenario('quorum-queue-survives', {
    before: async (t) => {
      const ch = await t.confirmChannel();
      await ch.assertQueue(t.n('q'), { durable: true, arguments: { 'x-queue-type': 'quorum' } });
      ch.sendToQueue(t.n('q'), 'qq', { persistent: true });
      await ch.waitConfirms();
    },
    after: async (t) => {
      const ch = await t.channel();
      await t.sleep(500);
      await ch.get(t.n('q'), { noAck: true });
      await ch.deleteQueue(t.n('q'));
    },
  });

  scenario('message-count-survives', {
    before: async (t) => {
      const ch = await t.confirmChannel();
      await ch.assertQueue(t.n('q'), { durable: true });
      for (let i = 0; i < 50; i++) ch.sendToQueue(t.n('q'), `m${i}`, { persistent: true });
      await ch.waitConfirms();
    },
    after: async (t) => {
      const ch = await t.channel();
      await ch.checkQueue(t.n('q'));
      await ch.deleteQueue(t.n('q'));
    },
  });
});
