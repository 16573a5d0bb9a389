/**
 * Limits with RabbitMQ's errors, end to end: a vhost's max-connections and max-queues, a user's
 * max-connections and max-channels (over all of the user's connections). The same file runs against
 * RabbitMQ 3.10.8 (limits set there with rabbitmqctl), whose answers these texts were recorded from.
 */
import { AMQPClient } from '@cloudamqp/amqp-client';
import amqp from 'amqplib';
import { describe, expect } from 'vitest';
import { accessSetup, accessTest } from '../helpers/access.js';
import { uniqueName, withBroker } from '../helpers/broker.js';

const fx = withBroker();
const setup = accessSetup(fx);

/** amqp-client shows the text of a refused connection.open (amqplib does not). */
async function opened(url: string): Promise<AMQPClient | string> {
  const c = new AMQPClient(url);
  try {
    await c.connect();
    c.onerror = () => {};
    return c;
  } catch (e) {
    return (e as Error).message;
  }
}

function fresh(): { vhost: string; user: string; url: string } {
  const vhost = uniqueName('lim');
  const user = uniqueName('limu');
  setup.addVhost(vhost);
  setup.addUser(user, 'pw');
  setup.setPermissions(user, vhost, '.*', '.*', '.*');
  return { vhost, user, url: setup.url(user, 'pw', vhost) };
}

function cleanUp(f: { vhost: string; user: string }, clients: (AMQPClient | string)[]) {
  for (const c of clients) if (typeof c !== 'string') c.close().catch(() => {});
  setup.deleteUser(f.user);
  setup.deleteVhost(f.vhost);
}

describe('limits', () => {
  accessTest("a vhost's max-connections refuses connection.open past it (530)", async () => {
    const f = fresh();
    setup.setVhostLimits(f.vhost, { 'max-connections': 1 });
    const first = await opened(f.url);
    expect(typeof first).not.toBe('string');
    expect(await opened(f.url)).toBe(`connection closed: NOT_ALLOWED - access to vhost '${f.vhost}' refused for user '${f.user}': connection limit (1) is reached (530)`);
    cleanUp(f, [first]);
  });

  accessTest("a user's max-connections refuses connection.open past it (530)", async () => {
    const f = fresh();
    setup.setUserLimits(f.user, { 'max-connections': 2 });
    const clients = [await opened(f.url), await opened(f.url)];
    expect(clients.every((c) => typeof c !== 'string')).toBe(true);
    expect(await opened(f.url)).toBe(`connection closed: NOT_ALLOWED - connection refused for user '${f.user}': user connection limit (2) is reached (530)`);
    cleanUp(f, clients);
  });

  accessTest("a user's max-channels counts the channels of all its connections; one more closes the connection (530)", async () => {
    const f = fresh();
    setup.setUserLimits(f.user, { 'max-channels': 2 });
    const a = (await opened(f.url)) as AMQPClient;
    await a.channel();
    await a.channel();
    const b = (await opened(f.url)) as AMQPClient;
    await expect(b.channel()).rejects.toThrow(`connection closed: NOT_ALLOWED - number of channels opened for user '${f.user}' has reached the maximum allowed user limit of (2) (530)`);
    cleanUp(f, [a]);
  });

  accessTest("a vhost's max-queues refuses a new queue past it (406), not a redeclare", async () => {
    const f = fresh();
    setup.setVhostLimits(f.vhost, { 'max-queues': 1 });
    const c = await amqp.connect(f.url);
    c.on('error', () => {});
    const ch = await c.createChannel();
    ch.on('error', () => {});
    await ch.assertQueue('q1', { durable: false });
    await ch.assertQueue('q1', { durable: false });
    await expect(ch.assertQueue('q2', { durable: false })).rejects.toThrow(
      `Operation failed: QueueDeclare; 406 (PRECONDITION-FAILED) with message "PRECONDITION_FAILED - cannot declare queue 'q2': queue limit in vhost '${f.vhost}' (1) is reached"`,
    );
    await c.close().catch(() => {});
    cleanUp(f, []);
  });
});
