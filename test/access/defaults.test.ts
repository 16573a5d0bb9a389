/**
 * What a broker is started with: the default user, password, vhost, tags and permissions it creates,
 * and loopback_users (which users may only connect through a loopback interface).
 */
import { Duplex, PassThrough } from 'node:stream';
import amqp from 'amqplib';
import { afterEach, describe, expect, it } from 'vitest';
import { startBroker, type RunningBroker, type StartOptions } from '../../src/index.js';
import { RawClient } from '../helpers/raw-client.js';

const running: RunningBroker[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((b) => b.close()));
});

async function start(options: StartOptions): Promise<RunningBroker> {
  const b = await startBroker({ port: 0, logLevel: 'silent', silentCloseDelayMs: 20, rabbitmqVersion: '3.10', ...options });
  running.push(b);
  return b;
}

/** A login through a non-loopback local address, as a client on another machine would make it. */
async function remoteLogin(b: RunningBroker, user: string, password: string): Promise<'open' | number | undefined> {
  const toBroker = new PassThrough();
  const toClient = new PassThrough();
  b.broker.acceptStream(Duplex.from({ readable: toBroker, writable: toClient }), { localAddress: '10.1.2.3', remoteAddress: '10.9.9.9', remotePort: 4000 });
  const c = RawClient.fromStream(Duplex.from({ readable: toClient, writable: toBroker }));
  await c.handshake({ user, password });
  const opened = c.frames.some((f) => f.type === 'method' && f.name === 'connection.open-ok');
  const close = opened ? undefined : await c.waitForClose();
  c.destroy();
  return opened ? 'open' : close?.replyCode;
}

describe('the defaults a first start creates', () => {
  it('default user, password, vhost, tags and permissions as configured; guest does not exist then', async () => {
    const b = await start({ defaultUser: 'admin', defaultPass: 's3cret', defaultVhost: 'app', defaultUserTags: ['monitoring'], defaultPermissions: ['^cfg', '.*', '.*'] });
    expect(b.url).toBe(`amqp://admin:s3cret@127.0.0.1:${b.port}/app`);
    expect(b.broker.access.listUsers().map((u) => [u.name, u.tags])).toEqual([['admin', ['monitoring']]]);
    expect(b.broker.access.listVhosts().map((v) => [v.name, v.description])).toEqual([['app', 'Default virtual host']]);
    const c = await amqp.connect(b.url);
    const ch = await c.createChannel();
    ch.on('error', () => {});
    await ch.assertQueue('cfg-q', { durable: false });
    await expect(ch.assertQueue('other-q', { durable: false })).rejects.toThrow(/ACCESS_REFUSED - access to queue 'other-q' in vhost 'app' refused for user 'admin'/);
    await c.close().catch(() => {});
    await expect(amqp.connect(`amqp://guest:guest@127.0.0.1:${b.port}`)).rejects.toThrow(/ACCESS_REFUSED/);
  });

  it('loopback_users: guest only via loopback by default; the list can name others or none', async () => {
    const plain = await start({});
    expect(await remoteLogin(plain, 'guest', 'guest')).toBe(403);
    const none = await start({ loopbackUsers: [] });
    expect(await remoteLogin(none, 'guest', 'guest')).toBe('open');
    const other = await start({ loopbackUsers: ['ops'] });
    other.broker.access.addUser({ name: 'ops', password: 'ops' });
    other.broker.access.setPermissions('ops', '/', '.*', '.*', '.*');
    expect(await remoteLogin(other, 'guest', 'guest')).toBe('open');
    expect(await remoteLogin(other, 'ops', 'ops')).toBe(403);
  });
});
