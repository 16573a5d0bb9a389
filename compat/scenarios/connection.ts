// Connection negotiation and connection-level errors, as amqplib sees them.
// Frame-level and handshake byte sequences are in raw.ts.
import { scenarios } from '../harness/scenario.js';

export default scenarios('connection', 'amqplib', (scenario) => {
  scenario('open-defaults', async (t) => {
    const c = await t.connect({ recordOpen: true });
    await c.closeConn();
  });

  scenario('heartbeat-client-lower', async (t) => {
    await t.connect({ heartbeat: 5, recordOpen: true });
  });

  scenario('heartbeat-disabled', async (t) => {
    await t.connect({ heartbeat: 0, recordOpen: true });
  });

  scenario('frame-max-client-lower', async (t) => {
    await t.connect({ frameMax: 65536, recordOpen: true });
  });

  scenario('frame-max-client-higher', async (t) => {
    await t.connect({ frameMax: 1048576, recordOpen: true });
  });

  scenario('channel-max-client-lower', async (t) => {
    await t.connect({ channelMax: 10, recordOpen: true });
  });

  scenario('auth-wrong-password', async (t) => {
    await t.fails(t.connect({ password: 'not-the-password' }));
  });

  scenario('auth-unknown-user', async (t) => {
    await t.fails(t.connect({ user: 'nobody-here', password: 'x' }));
  });

  scenario('vhost-missing', async (t) => {
    await t.fails(t.connect({ vhost: 'no-such-vhost' }));
  });

  scenario('client-properties-connection-name', async (t) => {
    const c = await t.connect({ clientProperties: { connection_name: 'compat', custom: { nested: [1, 'a'] } } });
    const ch = await c.channel();
    await ch.assertQueue(t.n('q'), { exclusive: true });
  });

  scenario('close-with-open-channels', async (t) => {
    const c = await t.connect();
    const a = await c.channel();
    await c.channel();
    await a.assertQueue(t.n('q'), { exclusive: true });
    await c.closeConn();
  });

  scenario('two-connections-independent', async (t) => {
    const c1 = await t.connect();
    const c2 = await t.connect();
    const a = await c1.channel();
    const b = await c2.channel();
    const q = t.n('q');
    await a.assertQueue(q, { exclusive: false, autoDelete: true });
    await b.checkQueue(q);
    await c1.closeConn();
    await b.checkQueue(q);
  });

  scenario('connection-error-closes-all-channels', async (t) => {
    const c = await t.connect();
    const a = await c.channel();
    const b = await c.channel();
    // An unknown exchange type is a connection error (503), not a channel error.
    await t.fails(a.assertExchange(t.n('x'), 'no-such-type'));
    await c.closed();
    await t.fails(b.assertQueue(t.n('q')));
  });

  scenario('many-channels', async (t) => {
    const c = await t.connect();
    for (let i = 0; i < 20; i++) {
      const ch = await c.channel();
      if (i % 5 === 0) await ch.close();
    }
    const last = await c.channel();
    await last.assertQueue(t.n('q'), { exclusive: true });
  });

  scenario('channel-max-reached', async (t) => {
    const c = await t.connect({ channelMax: 3 });
    await c.channel();
    await c.channel();
    await c.channel();
    await t.fails(c.channel());
  });
});
