/**
 * Virtual hosts and users changed while the broker runs, seen by clients: a new vhost is usable at
 * once and isolated from the others; deleting a vhost closes its connections with 320 and takes its
 * queues and exchanges along; deleting a user closes that user's connections; a permission change
 * applies to open channels.
 */
import amqp, { type ChannelModel } from 'amqplib';
import { describe, expect } from 'vitest';
import { accessSetup, accessTest } from '../helpers/access.js';
import { REFERENCE_URL, closedWith, uniqueName, warrenOnly, withBroker } from '../helpers/broker.js';

const fx = withBroker();
const setup = accessSetup(fx);

/** amqplib reports a 320 CONNECTION_FORCED as a plain close (not an 'error'), with the close as its argument. */
function forcedClose(c: ChannelModel): Promise<Error & { code?: number }> {
  return new Promise((resolve) => c.once('close', (e?: Error & { code?: number }) => resolve(e ?? new Error('closed without a reason'))));
}

async function connect(user: string, password: string, vhost: string) {
  const c = await amqp.connect(setup.url(user, password, vhost));
  c.on('error', () => {});
  return c;
}

describe('vhosts at run time', () => {
  accessTest('a new vhost is usable at once, and a queue name in it is its own', async () => {
    const a = uniqueName('va');
    const b = uniqueName('vb');
    setup.addVhost(a);
    setup.addVhost(b);
    setup.setPermissions('guest', a, '.*', '.*', '.*');
    setup.setPermissions('guest', b, '.*', '.*', '.*');
    const ca = await connect('guest', 'guest', a);
    const cb = await connect('guest', 'guest', b);
    const cha = await ca.createChannel();
    const chb = await cb.createChannel();
    await cha.assertQueue('same-name', { durable: false });
    await chb.assertQueue('same-name', { durable: false });
    cha.sendToQueue('same-name', Buffer.from('in a'));
    expect((await cha.checkQueue('same-name')).messageCount).toBe(1);
    expect((await chb.checkQueue('same-name')).messageCount).toBe(0);
    const got = await cha.get('same-name', { noAck: true });
    expect(got !== false && got.content.toString()).toBe('in a');
    await ca.close();
    await cb.close();
    setup.deleteVhost(a);
    setup.deleteVhost(b);
  });

  accessTest('deleting a vhost closes its connections with 320 and removes its queues and exchanges', async () => {
    const doomed = uniqueName('vdel');
    const other = uniqueName('vkeep');
    for (const v of [doomed, other]) {
      setup.addVhost(v);
      setup.setPermissions('guest', v, '.*', '.*', '.*');
    }
    const inDoomed = await connect('guest', 'guest', doomed);
    const inOther = await connect('guest', 'guest', other);
    const ch = await inDoomed.createChannel();
    ch.on('error', () => {});
    await ch.assertQueue('durable-q', { durable: true });
    await ch.assertExchange('durable-x', 'fanout', { durable: true });
    const closed = forcedClose(inDoomed);
    setup.deleteVhost(doomed);
    const e = await closed;
    expect(e.code).toBe(320);
    // RabbitMQ 3.10.8 closes them from two places at once: "is deleted" or, when the vhost's
    // supervisor stops first, "is down". Warren says "is deleted".
    expect(e.message).toMatch(
      REFERENCE_URL === undefined
        ? new RegExp(`CONNECTION_FORCED - vhost '${doomed}' is deleted"$`)
        : new RegExp(`CONNECTION_FORCED - vhost '${doomed}' is (deleted|down)"$`),
    );
    // The other vhost's connection is untouched.
    const chOther = await inOther.createChannel();
    await chOther.checkExchange('amq.direct');
    // A vhost of the same name made again starts empty.
    setup.addVhost(doomed);
    setup.setPermissions('guest', doomed, '.*', '.*', '.*');
    const again = await connect('guest', 'guest', doomed);
    const probe = await again.createChannel();
    probe.on('error', () => {});
    await expect(probe.checkQueue('durable-q')).rejects.toThrow(/404 \(NOT-FOUND\) with message "NOT_FOUND - no queue 'durable-q'/);
    const probe2 = await again.createChannel();
    probe2.on('error', () => {});
    await expect(probe2.checkExchange('durable-x')).rejects.toThrow(/404 \(NOT-FOUND\) with message "NOT_FOUND - no exchange 'durable-x'/);
    await again.close();
    await inOther.close();
    setup.deleteVhost(doomed);
    setup.deleteVhost(other);
  });
});

describe('users at run time', () => {
  accessTest('a new user logs in at once; deleting one closes its connections with 320', async () => {
    const vhost = uniqueName('vu');
    const user = uniqueName('user');
    setup.addVhost(vhost);
    setup.addUser(user, 'secret');
    setup.setPermissions(user, vhost, '.*', '.*', '.*');
    setup.setPermissions('guest', vhost, '.*', '.*', '.*');
    const mine = await connect(user, 'secret', vhost);
    const guests = await connect('guest', 'guest', vhost);
    const closed = forcedClose(mine);
    setup.deleteUser(user);
    const e = await closed;
    expect(e.code).toBe(320);
    expect(e.message).toMatch(new RegExp(`CONNECTION_FORCED - user '${user}' is deleted"$`));
    await (await guests.createChannel()).checkExchange('amq.direct');
    await expect(amqp.connect(setup.url(user, 'secret', vhost))).rejects.toThrow(/ACCESS_REFUSED - Login was refused/);
    await guests.close();
    setup.deleteVhost(vhost);
  });

  // RabbitMQ keeps a channel's last 12 allowed decisions until the channel idles, so it may still let
  // this publish through; Warren drops its cached decisions when the grant changes.
  warrenOnly('a permission change applies to open channels at their next command', async () => {
    const vhost = uniqueName('vp');
    const user = uniqueName('user');
    setup.addVhost(vhost);
    setup.addUser(user, 'secret');
    setup.setPermissions(user, vhost, '.*', '.*', '.*');
    const c = await connect(user, 'secret', vhost);
    const ch = await c.createChannel();
    ch.on('error', () => {});
    await ch.assertQueue('q', { durable: false });
    ch.sendToQueue('q', Buffer.from('1'));
    expect((await ch.checkQueue('q')).messageCount).toBe(1);
    setup.setPermissions(user, vhost, '.*', '^$', '.*');
    const closed = closedWith(ch);
    ch.sendToQueue('q', Buffer.from('2'));
    const e = await closed;
    expect(e.message).toMatch(new RegExp(`403 \\(ACCESS-REFUSED\\) with message "ACCESS_REFUSED - access to exchange 'amq.default' in vhost '${vhost}' refused for user '${user}'"`));
    // Permissions cleared altogether: every resource is refused, and new connections too.
    const ch2 = await c.createChannel();
    ch2.on('error', () => {});
    setup.clearPermissions(user, vhost);
    await expect(ch2.get('q')).rejects.toThrow(/ACCESS_REFUSED - access to queue 'q'/);
    await c.close();
    setup.deleteUser(user);
    setup.deleteVhost(vhost);
  });
});
