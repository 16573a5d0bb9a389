// Exchange declare/delete and their equivalence rules, reserved names, internal and auto-delete
// exchanges, exchange-to-exchange bindings and alternate exchanges.
import { scenarios } from '../harness/scenario.js';
import { drainBodies } from './helpers.js';

export default scenarios('exchanges', 'amqplib', (scenario) => {
  for (const type of ['direct', 'fanout', 'topic', 'headers']) {
    scenario(`declare-${type}`, async (t) => {
      const ch = await t.channel();
      const x = t.n('x');
      await ch.assertExchange(x, type, { durable: false, autoDelete: false });
      await ch.checkExchange(x);
      await ch.assertExchange(x, type, { durable: false, autoDelete: false });
      await ch.deleteExchange(x);
      await t.fails(ch.checkExchange(x));
    });
  }

  scenario('declare-unknown-type', async (t) => {
    const ch = await t.channel();
    await t.fails(ch.assertExchange(t.n('x'), 'x-no-such-type'));
  });

  scenario('redeclare-different-type', async (t) => {
    const ch = await t.channel();
    const x = t.n('x');
    await ch.assertExchange(x, 'direct', { durable: false });
    await t.fails(ch.assertExchange(x, 'fanout', { durable: false }));
    const ch2 = await t.channel();
    await ch2.deleteExchange(x);
  });

  scenario('redeclare-different-durable', async (t) => {
    const ch = await t.channel();
    const x = t.n('x');
    await ch.assertExchange(x, 'direct', { durable: false });
    await t.fails(ch.assertExchange(x, 'direct', { durable: true }));
    await (await t.channel()).deleteExchange(x);
  });

  scenario('redeclare-different-auto-delete', async (t) => {
    const ch = await t.channel();
    const x = t.n('x');
    await ch.assertExchange(x, 'direct', { durable: false, autoDelete: false });
    await t.fails(ch.assertExchange(x, 'direct', { durable: false, autoDelete: true }));
    await (await t.channel()).deleteExchange(x);
  });

  scenario('redeclare-different-internal', async (t) => {
    const ch = await t.channel();
    const x = t.n('x');
    await ch.assertExchange(x, 'direct', { durable: false, internal: false });
    await t.fails(ch.assertExchange(x, 'direct', { durable: false, internal: true }));
    await (await t.channel()).deleteExchange(x);
  });

  scenario('redeclare-different-arguments', async (t) => {
    const ch = await t.channel();
    const x = t.n('x');
    await ch.assertExchange(x, 'direct', { durable: false, arguments: { a: 1 } });
    // RabbitMQ does not compare exchange arguments other than alternate-exchange.
    await ch.assertExchange(x, 'direct', { durable: false, arguments: { a: 2 } });
    await ch.deleteExchange(x);
  });

  scenario('redeclare-different-alternate-exchange', async (t) => {
    const ch = await t.channel();
    const x = t.n('x');
    await ch.assertExchange(x, 'direct', { durable: false, alternateExchange: t.n('ae1') });
    await t.tryOp(ch.assertExchange(x, 'direct', { durable: false, alternateExchange: t.n('ae2') }));
    await (await t.channel()).deleteExchange(x);
  });

  scenario('declare-passive-missing', async (t) => {
    const ch = await t.channel();
    await t.fails(ch.checkExchange(t.n('missing')));
  });

  for (const name of ['amq.direct', 'amq.fanout', 'amq.topic', 'amq.headers', 'amq.match', '']) {
    scenario(`passive-builtin-${name || 'default'}`, async (t) => {
      const ch = await t.channel();
      await t.tryOp(ch.checkExchange(name));
    });
  }

  scenario('declare-reserved-amq-prefix', async (t) => {
    const ch = await t.channel();
    await t.fails(ch.assertExchange(`amq.${t.n('x')}`, 'direct'));
  });

  scenario('redeclare-amq-direct', async (t) => {
    const ch = await t.channel();
    await t.tryOp(ch.assertExchange('amq.direct', 'direct', { durable: true }));
  });

  scenario('declare-default-exchange-name', async (t) => {
    const ch = await t.channel();
    await t.tryOp(ch.assertExchange('', 'direct', { durable: true }));
  });

  scenario('delete-missing', async (t) => {
    const ch = await t.channel();
    await t.tryOp(ch.deleteExchange(t.n('missing')));
    await ch.assertQueue(t.n('q'), { exclusive: true });
  });

  scenario('delete-if-unused-with-binding', async (t) => {
    const ch = await t.channel();
    const x = t.n('x');
    const q = t.n('q');
    await ch.assertExchange(x, 'direct', { durable: false });
    await ch.assertQueue(q, { exclusive: true });
    await ch.bindQueue(q, x, 'k');
    await t.fails(ch.deleteExchange(x, { ifUnused: true }));
    const ch2 = await t.channel();
    await ch2.deleteExchange(x);
  });

  scenario('delete-if-unused-unused', async (t) => {
    const ch = await t.channel();
    const x = t.n('x');
    await ch.assertExchange(x, 'direct', { durable: false });
    await ch.deleteExchange(x, { ifUnused: true });
    await t.fails(ch.checkExchange(x));
  });

  scenario('delete-if-unused-as-e2e-source', async (t) => {
    const ch = await t.channel();
    const a = t.n('a');
    const b = t.n('b');
    await ch.assertExchange(a, 'fanout', { durable: false });
    await ch.assertExchange(b, 'fanout', { durable: false });
    await ch.bindExchange(b, a, '');
    await t.tryOp(ch.deleteExchange(b, { ifUnused: true }));
    const ch2 = await t.channel();
    await t.tryOp(ch2.deleteExchange(a, { ifUnused: true }));
    const ch3 = await t.channel();
    await ch3.deleteExchange(a);
    await ch3.deleteExchange(b);
  });

  scenario('delete-default-exchange', async (t) => {
    const ch = await t.channel();
    await t.fails(ch.deleteExchange(''));
  });

  scenario('delete-amq-direct', async (t) => {
    const ch = await t.channel();
    await t.fails(ch.deleteExchange('amq.direct'));
  });

  scenario('delete-exchange-removes-bindings', async (t) => {
    const ch = await t.channel();
    const x = t.n('x');
    const q = t.n('q');
    await ch.assertExchange(x, 'fanout', { durable: false });
    await ch.assertQueue(q, { exclusive: true });
    await ch.bindQueue(q, x, '');
    await ch.deleteExchange(x);
    await ch.assertExchange(x, 'fanout', { durable: false });
    ch.publish(x, '', 'after');
    await ch.checkQueue(q);
    await ch.deleteExchange(x);
  });

  scenario('internal-exchange-publish-refused', async (t) => {
    const ch = await t.channel();
    const x = t.n('x');
    await ch.assertExchange(x, 'fanout', { durable: false, internal: true });
    ch.publish(x, '', 'm');
    await ch.closed();
    await (await t.channel()).deleteExchange(x);
  });

  scenario('internal-exchange-reachable-by-e2e', async (t) => {
    const ch = await t.channel();
    const src = t.n('src');
    const inner = t.n('inner');
    const q = t.n('q');
    await ch.assertExchange(src, 'fanout', { durable: false });
    await ch.assertExchange(inner, 'fanout', { durable: false, internal: true });
    await ch.assertQueue(q, { exclusive: true });
    await ch.bindExchange(inner, src, '');
    await ch.bindQueue(q, inner, '');
    ch.publish(src, '', 'via-internal');
    await ch.get(q, { noAck: true });
    await ch.deleteExchange(src);
    await ch.deleteExchange(inner);
  });

  scenario('auto-delete-after-last-queue-unbind', async (t) => {
    const ch = await t.channel();
    const x = t.n('x');
    const q = t.n('q');
    await ch.assertExchange(x, 'direct', { durable: false, autoDelete: true });
    await ch.assertQueue(q, { exclusive: true });
    await ch.bindQueue(q, x, 'a');
    await ch.bindQueue(q, x, 'b');
    await ch.unbindQueue(q, x, 'a');
    await ch.checkExchange(x);
    await ch.unbindQueue(q, x, 'b');
    await t.fails(ch.checkExchange(x));
  });

  scenario('auto-delete-never-bound-stays', async (t) => {
    const ch = await t.channel();
    const x = t.n('x');
    await ch.assertExchange(x, 'direct', { durable: false, autoDelete: true });
    await ch.checkExchange(x);
    await ch.deleteExchange(x);
  });

  scenario('auto-delete-after-queue-deleted', async (t) => {
    const ch = await t.channel();
    const x = t.n('x');
    const q = t.n('q');
    await ch.assertExchange(x, 'fanout', { durable: false, autoDelete: true });
    await ch.assertQueue(q, { exclusive: true });
    await ch.bindQueue(q, x, '');
    await ch.deleteQueue(q);
    await t.fails(ch.checkExchange(x));
  });

  scenario('auto-delete-after-e2e-unbind', async (t) => {
    const ch = await t.channel();
    const src = t.n('src');
    const dst = t.n('dst');
    await ch.assertExchange(src, 'fanout', { durable: false, autoDelete: true });
    await ch.assertExchange(dst, 'fanout', { durable: false });
    await ch.bindExchange(dst, src, '');
    await ch.unbindExchange(dst, src, '');
    await t.tryOp(ch.checkExchange(src));
    const ch2 = await t.channel();
    await ch2.deleteExchange(dst);
    await ch2.deleteExchange(src);
  });

  scenario('e2e-route', async (t) => {
    const ch = await t.channel();
    const src = t.n('src');
    const dst = t.n('dst');
    const q = t.n('q');
    await ch.assertExchange(src, 'topic', { durable: false });
    await ch.assertExchange(dst, 'direct', { durable: false });
    await ch.assertQueue(q, { exclusive: true });
    await ch.bindExchange(dst, src, 'a.*');
    await ch.bindQueue(q, dst, 'a.b');
    ch.publish(src, 'a.b', 'routed');
    ch.publish(src, 'a.c', 'not-bound-in-dst');
    ch.publish(src, 'x.b', 'not-matched-in-src');
    await ch.checkQueue(q);
    await ch.get(q, { noAck: true });
    await ch.get(q, { noAck: true });
    await ch.deleteExchange(src);
    await ch.deleteExchange(dst);
  });

  scenario('e2e-unbind', async (t) => {
    const ch = await t.channel();
    const src = t.n('src');
    const dst = t.n('dst');
    const q = t.n('q');
    await ch.assertExchange(src, 'fanout', { durable: false });
    await ch.assertExchange(dst, 'fanout', { durable: false });
    await ch.assertQueue(q, { exclusive: true });
    await ch.bindExchange(dst, src, '');
    await ch.bindQueue(q, dst, '');
    ch.publish(src, '', 'one');
    await ch.unbindExchange(dst, src, '');
    ch.publish(src, '', 'two');
    await ch.checkQueue(q);
    await ch.deleteExchange(src);
    await ch.deleteExchange(dst);
  });

  scenario('e2e-cycle-delivers-once', async (t) => {
    const ch = await t.channel();
    const a = t.n('a');
    const b = t.n('b');
    const q = t.n('q');
    await ch.assertExchange(a, 'fanout', { durable: false });
    await ch.assertExchange(b, 'fanout', { durable: false });
    await ch.assertQueue(q, { exclusive: true });
    await ch.bindExchange(b, a, '');
    await ch.bindExchange(a, b, '');
    await ch.bindQueue(q, a, '');
    await ch.bindQueue(q, b, '');
    ch.publish(a, '', 'once');
    await ch.checkQueue(q);
    await ch.deleteExchange(a);
    await ch.deleteExchange(b);
  });

  scenario('e2e-diamond-delivers-once', async (t) => {
    const ch = await t.channel();
    const top = t.n('top');
    const l = t.n('l');
    const r = t.n('r');
    const q = t.n('q');
    for (const x of [top, l, r]) await ch.assertExchange(x, 'fanout', { durable: false });
    await ch.assertQueue(q, { exclusive: true });
    await ch.bindExchange(l, top, '');
    await ch.bindExchange(r, top, '');
    await ch.bindQueue(q, l, '');
    await ch.bindQueue(q, r, '');
    ch.publish(top, '', 'once');
    await ch.checkQueue(q);
    for (const x of [top, l, r]) await ch.deleteExchange(x);
  });

  scenario('e2e-bind-missing-source', async (t) => {
    const ch = await t.channel();
    const dst = t.n('dst');
    await ch.assertExchange(dst, 'fanout', { durable: false });
    await t.fails(ch.bindExchange(dst, t.n('missing'), ''));
    await (await t.channel()).deleteExchange(dst);
  });

  scenario('e2e-bind-missing-destination', async (t) => {
    const ch = await t.channel();
    const src = t.n('src');
    await ch.assertExchange(src, 'fanout', { durable: false });
    await t.fails(ch.bindExchange(t.n('missing'), src, ''));
    await (await t.channel()).deleteExchange(src);
  });

  scenario('e2e-unbind-missing-binding', async (t) => {
    const ch = await t.channel();
    const a = t.n('a');
    const b = t.n('b');
    await ch.assertExchange(a, 'fanout', { durable: false });
    await ch.assertExchange(b, 'fanout', { durable: false });
    await t.tryOp(ch.unbindExchange(b, a, 'nothing'));
    const ch2 = await t.channel();
    await ch2.deleteExchange(a);
    await ch2.deleteExchange(b);
  });

  scenario('bind-to-default-exchange', async (t) => {
    const ch = await t.channel();
    const q = t.n('q');
    await ch.assertQueue(q, { exclusive: true });
    await t.fails(ch.bindQueue(q, '', 'k'));
  });

  scenario('unbind-from-default-exchange', async (t) => {
    const ch = await t.channel();
    const q = t.n('q');
    await ch.assertQueue(q, { exclusive: true });
    await t.fails(ch.unbindQueue(q, '', q));
  });

  scenario('alternate-exchange-unroutable', async (t) => {
    const ch = await t.channel();
    const x = t.n('x');
    const ae = t.n('ae');
    const q = t.n('q');
    const aq = t.n('aq');
    await ch.assertExchange(ae, 'fanout', { durable: false });
    await ch.assertExchange(x, 'direct', { durable: false, alternateExchange: ae });
    await ch.assertQueue(q, { exclusive: true });
    await ch.assertQueue(aq, { exclusive: true });
    await ch.bindQueue(q, x, 'known');
    await ch.bindQueue(aq, ae, '');
    ch.publish(x, 'known', 'to-q', { mandatory: true });
    ch.publish(x, 'unknown', 'to-ae', { mandatory: true });
    await ch.checkQueue(q);
    await ch.checkQueue(aq);
    await ch.get(aq, { noAck: true });
    await ch.deleteExchange(x);
    await ch.deleteExchange(ae);
  });

  scenario('alternate-exchange-missing-returns', async (t) => {
    const ch = await t.channel();
    const x = t.n('x');
    await ch.assertExchange(x, 'direct', { durable: false, alternateExchange: t.n('no-ae') });
    ch.publish(x, 'k', 'lost', { mandatory: true });
    await ch.takeReturns(1);
    await ch.deleteExchange(x);
  });

  scenario('alternate-exchange-also-unroutable-returns', async (t) => {
    const ch = await t.channel();
    const x = t.n('x');
    const ae = t.n('ae');
    await ch.assertExchange(ae, 'direct', { durable: false });
    await ch.assertExchange(x, 'direct', { durable: false, alternateExchange: ae });
    ch.publish(x, 'k', 'lost', { mandatory: true });
    await ch.takeReturns(1);
    await ch.deleteExchange(x);
    await ch.deleteExchange(ae);
  });

  scenario('alternate-exchange-chain', async (t) => {
    const ch = await t.channel();
    const x = t.n('x');
    const ae1 = t.n('ae1');
    const ae2 = t.n('ae2');
    const q = t.n('q');
    await ch.assertExchange(ae2, 'fanout', { durable: false });
    await ch.assertExchange(ae1, 'direct', { durable: false, alternateExchange: ae2 });
    await ch.assertExchange(x, 'direct', { durable: false, alternateExchange: ae1 });
    await ch.assertQueue(q, { exclusive: true });
    await ch.bindQueue(q, ae2, '');
    ch.publish(x, 'k', 'two-hops');
    await ch.checkQueue(q);
    for (const e of [x, ae1, ae2]) await ch.deleteExchange(e);
  });

  scenario('alternate-exchange-cycle', async (t) => {
    const ch = await t.channel();
    const a = t.n('a');
    const b = t.n('b');
    await ch.assertExchange(a, 'direct', { durable: false, alternateExchange: b });
    await ch.assertExchange(b, 'direct', { durable: false, alternateExchange: a });
    ch.publish(a, 'k', 'nowhere', { mandatory: true });
    await ch.takeReturns(1);
    await ch.deleteExchange(a);
    await ch.deleteExchange(b);
  });

  scenario('alternate-exchange-on-e2e-destination', async (t) => {
    const ch = await t.channel();
    const src = t.n('src');
    const dst = t.n('dst');
    const ae = t.n('ae');
    const aq = t.n('aq');
    await ch.assertExchange(ae, 'fanout', { durable: false });
    await ch.assertExchange(dst, 'direct', { durable: false, alternateExchange: ae });
    await ch.assertExchange(src, 'fanout', { durable: false });
    await ch.assertQueue(aq, { exclusive: true });
    await ch.bindQueue(aq, ae, '');
    await ch.bindExchange(dst, src, '');
    ch.publish(src, 'k', 'm', { mandatory: true });
    await ch.checkQueue(aq);
    await drainBodies(t, ch, aq);
    for (const e of [src, dst, ae]) await ch.deleteExchange(e);
  });
});
