/**
 * The test hooks (broker/test-hooks.ts), in-process through `broker.testHooks` and over HTTP under
 * /api/test/ (with --test-hooks, for administrators): depth waits, message outcomes (acked,
 * nacked, dead-lettered, dropped), injection, forced closes with a chosen code, alarms, vhost reset.
 * Every wait here is on an event or on the hook itself, never on time.
 */
import { describe, expect, it } from 'vitest';
import { startBroker } from '../../src/index.js';
import { closedWith, withBroker } from '../helpers/broker.js';
import { apiClient } from '../helpers/http-api.js';

const fx = withBroker({ managementPort: 0, testHooks: true });
const api = apiClient(() => fx.broker.managementUrl!);
const hooks = () => fx.broker.testHooks;

describe('waiting for a queue depth', () => {
  it('in-process: resolves when the queue reaches N ready messages, and with exactly 0 when it is drained', async () => {
    const ch = await fx.channel();
    await ch.assertQueue('depth-a');
    const reached = hooks().waitForMessages('depth-a', 3);
    for (const body of ['1', '2', '3']) ch.sendToQueue('depth-a', Buffer.from(body));
    expect(await reached).toBe(3);
    const drained = hooks().waitForMessages('depth-a', 0, { exactly: true });
    await ch.consume('depth-a', () => {}, { noAck: true });
    expect(await drained).toBe(0);
  });

  it('in-process: rejects with TestHookTimeout when the count is not reached, and for a missing queue at once', async () => {
    const ch = await fx.channel();
    await ch.assertQueue('depth-b');
    await expect(hooks().waitForMessages('depth-b', 1, { timeoutMs: 30 })).rejects.toMatchObject({ name: 'TestHookTimeout' });
    expect(() => hooks().waitForMessages('no-such-queue', 1)).toThrow(/no queue 'no-such-queue'/);
  });

  it('HTTP: GET .../wait?count=N answers with the count, 408 on timeout, 404 for a missing queue', async () => {
    const ch = await fx.channel();
    await ch.assertQueue('depth-c');
    const waiting = api.get('/api/test/queues/%2F/depth-c/wait?count=2&timeout=5000');
    ch.sendToQueue('depth-c', Buffer.from('a'));
    ch.sendToQueue('depth-c', Buffer.from('b'));
    const r = await waiting;
    expect([r.status, r.json]).toEqual([200, { messages_ready: 2 }]);
    const late = await api.get('/api/test/queues/%2F/depth-c/wait?count=5&timeout=20');
    expect([late.status, late.json.error]).toEqual([408, 'timeout']);
    expect((await api.get('/api/test/queues/%2F/nope/wait?count=1')).status).toBe(404);
  });
});

describe('waiting for a message outcome', () => {
  it('in-process: acked, nacked with and without requeue, by message-id or correlation-id', async () => {
    const ch = await fx.channel();
    await ch.assertQueue('out-a');
    const acked = hooks().waitForOutcome({ messageId: 'm-ack' });
    const requeued = hooks().waitForOutcome({ correlationId: 'c-requeue' });
    ch.sendToQueue('out-a', Buffer.from('x'), { messageId: 'm-ack' });
    ch.sendToQueue('out-a', Buffer.from('y'), { correlationId: 'c-requeue' });
    const seen: string[] = [];
    await ch.consume('out-a', (m) => {
      if (m === null) return;
      const id = m.properties.messageId ?? m.properties.correlationId;
      seen.push(`${id}${m.fields.redelivered ? ' again' : ''}`);
      if (id === 'm-ack') ch.ack(m);
      else if (!m.fields.redelivered) ch.nack(m, false, true);
      else ch.nack(m, false, false);
    });
    expect(await acked).toEqual({ outcome: 'acked', vhost: '/', queue: 'out-a', messageId: 'm-ack', correlationId: undefined });
    expect(await requeued).toMatchObject({ outcome: 'nacked', requeued: true, correlationId: 'c-requeue' });
    const dropped = await hooks().waitForOutcome({ correlationId: 'c-requeue' });
    expect(dropped).toMatchObject({ outcome: 'nacked', requeued: false });
    expect(seen).toEqual(['m-ack', 'c-requeue', 'c-requeue again']);
    // Nothing waits now: the queue carries no watch, settlements cost one undefined check.
    expect(fx.broker.broker.vhosts.get('/')!.queues.get('out-a')!.settlementWatch).toBeUndefined();
  });

  it('in-process: dead-lettered (rejected, expired) with the reason, and dropped without a DLX', async () => {
    const ch = await fx.channel();
    await ch.assertQueue('dlq');
    await ch.assertQueue('out-b', { arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'dlq' } });
    await ch.assertQueue('out-c', { arguments: { 'x-message-ttl': 1 } });
    const rejected = hooks().waitForOutcome({ messageId: 'm-rej', queue: 'out-b' });
    const expired = hooks().waitForOutcome({ messageId: 'm-ttl' });
    ch.sendToQueue('out-b', Buffer.from('r'), { messageId: 'm-rej' });
    ch.sendToQueue('out-c', Buffer.from('t'), { messageId: 'm-ttl' });
    await ch.consume('out-b', (m) => m && ch.reject(m, false));
    expect(await rejected).toMatchObject({ outcome: 'dead-lettered', reason: 'rejected', queue: 'out-b' });
    expect(await expired).toMatchObject({ outcome: 'dropped', reason: 'expired', queue: 'out-c' });
    expect(await hooks().waitForMessages('dlq', 1)).toBe(1);
  });

  it('in-process: a watch times out with TestHookTimeout, and one without an id is refused', async () => {
    await expect(hooks().waitForOutcome({ messageId: 'never', timeoutMs: 20 })).rejects.toMatchObject({ name: 'TestHookTimeout' });
    expect(() => hooks().watchOutcome({})).toThrow(/message_id or a correlation_id/);
  });

  it('HTTP: POST /api/test/watches, then GET waits for the outcome; a timed-out watch is 408', async () => {
    const ch = await fx.channel();
    await ch.assertQueue('out-d');
    const created = await api.post('/api/test/watches', { message_id: 'h-1', queue: 'out-d' });
    expect(created.status).toBe(201);
    const waiting = api.get(`/api/test/watches/${created.json.id}?timeout=5000`);
    ch.sendToQueue('out-d', Buffer.from('h'), { messageId: 'h-1' });
    await ch.consume('out-d', (m) => m && ch.ack(m));
    const r = await waiting;
    expect([r.status, r.json]).toEqual([200, { outcome: 'acked', vhost: '/', queue: 'out-d', message_id: 'h-1' }]);
    // Fetched again: the same outcome.
    expect((await api.get(`/api/test/watches/${created.json.id}`)).json.outcome).toBe('acked');
    const short = await api.post('/api/test/watches', { message_id: 'h-never', timeout: 10 });
    const timedOut = await api.get(`/api/test/watches/${short.json.id}`);
    expect([timedOut.status, timedOut.json.error]).toEqual([408, 'timeout']);
    expect((await api.post('/api/test/watches', { queue: 'out-d' })).status).toBe(400);
    expect((await api.delete(`/api/test/watches/${short.json.id}`)).status).toBe(204);
    expect((await api.get(`/api/test/watches/${short.json.id}`)).status).toBe(404);
  });
});

describe('injecting messages', () => {
  it('in-process and HTTP: the message lands in the queue with its properties, no exchange involved', async () => {
    const ch = await fx.channel();
    await ch.assertQueue('inj');
    hooks().injectMessage('inj', 'in-process', { properties: { messageId: 'i-1' } });
    const r = await api.post('/api/test/queues/%2F/inj/inject', { payload: 'aGk=', payload_encoding: 'base64', properties: { correlation_id: 'i-2', content_type: 'text/plain' } });
    expect(r.status).toBe(204);
    const first = await ch.get('inj', { noAck: true });
    const second = await ch.get('inj', { noAck: true });
    expect(first && [first.content.toString(), first.properties.messageId, first.fields.exchange, first.fields.routingKey]).toEqual(['in-process', 'i-1', '', 'inj']);
    expect(second && [second.content.toString(), second.properties.correlationId, second.properties.contentType]).toEqual(['hi', 'i-2', 'text/plain']);
    expect((await api.post('/api/test/queues/%2F/nope/inject', { payload: 'x' })).status).toBe(404);
    expect((await api.post('/api/test/queues/%2F/inj/inject', { payload: '!', payload_encoding: 'base64' })).status).toBe(400);
  });
});

describe('closing connections with a chosen code', () => {
  it('in-process by connection_name, HTTP by the API name; a code that is not an error code is refused', async () => {
    const a = await fx.connect({ clientProperties: { connection_name: 'victim' } });
    const closedA = closedWith(a);
    expect(hooks().closeConnection('victim', 541, 'simulated crash')).toBe(1);
    expect(await closedA).toMatchObject({ code: 541, message: expect.stringContaining('INTERNAL_ERROR - simulated crash') });
    const b = await fx.connect({ clientProperties: { connection_name: 'victim-2' } });
    // amqplib emits no 'error' for 320 (it counts as a graceful close); its 'close' carries the reason.
    const closedB = new Promise<Error>((resolve) => b.once('close', resolve));
    const listed = await api.get('/api/connections');
    const name = listed.json.find((c: { client_properties: { connection_name?: string } }) => c.client_properties.connection_name === 'victim-2').name;
    const r = await api.post(`/api/test/connections/${encodeURIComponent(name)}/close`, { code: 320, text: 'maintenance' });
    expect(r.status).toBe(204);
    expect((await closedB).message).toContain('320 (CONNECTION-FORCED) with message "CONNECTION_FORCED - maintenance"');
    expect(() => hooks().closeConnection(() => true, 200, 'x')).toThrow(/not an AMQP error reply code/);
    expect((await api.post('/api/test/connections/nobody/close', { code: 320 })).status).toBe(404);
  });
});

describe('alarms', () => {
  it('in-process and HTTP: raise and clear; a publishing connection is blocked meanwhile', async () => {
    const conn = await fx.connect();
    const ch = await conn.createChannel();
    const blocked = new Promise<string>((resolve) => conn.once('blocked', resolve));
    hooks().raiseAlarm('memory');
    // As in RabbitMQ, a connection is blocked when it publishes during the alarm.
    ch.publish('amq.fanout', '', Buffer.from('x'));
    expect(await blocked).toBe('low on memory');
    const unblocked = new Promise<void>((resolve) => conn.once('unblocked', () => resolve()));
    hooks().clearAlarm('memory');
    await unblocked;
    expect((await api.put('/api/test/alarms/disk')).status).toBe(204);
    expect((await api.get('/api/health/checks/alarms')).status).toBe(503);
    expect((await api.delete('/api/test/alarms/disk')).status).toBe(204);
    expect((await api.get('/api/health/checks/alarms')).status).toBe(200);
    expect((await api.put('/api/test/alarms/cpu')).status).toBe(400);
  });
});

describe('resetting a vhost', () => {
  it('in-process and HTTP: queues, own exchanges, bindings between amq.* exchanges and policies go; amq.* and users stay', async () => {
    const access = fx.broker.broker.access;
    for (const name of ['reset-a', 'reset-b']) {
      access.addVhost({ name });
      access.setPermissions('guest', name, '.*', '.*', '.*');
      const conn = await fx.connect(undefined, `${fx.url}/${name}`);
      const ch = await conn.createChannel();
      await ch.assertQueue('q1');
      await ch.assertExchange('own', 'fanout');
      await ch.bindQueue('q1', 'own', '');
      await ch.bindExchange('amq.fanout', 'amq.topic', '#');
      ch.sendToQueue('q1', Buffer.from('left over'));
      await conn.close();
      fx.broker.broker.setPolicy(name, 'p', { pattern: '.*', definition: { 'max-length': 5 } });
    }
    expect(hooks().resetVhost('reset-a')).toEqual({ queues: 1, exchanges: 1, policies: 1 });
    const r = await api.post('/api/test/vhosts/reset-b/reset');
    expect([r.status, r.json]).toEqual([200, { queues: 1, exchanges: 1, policies: 1 }]);
    for (const name of ['reset-a', 'reset-b']) {
      const v = fx.broker.broker.vhosts.get(name)!;
      expect(v.queues.size).toBe(0);
      expect([...v.exchanges.keys()].sort()).toEqual(['', 'amq.direct', 'amq.fanout', 'amq.headers', 'amq.match', 'amq.rabbitmq.trace', 'amq.topic']);
      expect([...v.exchanges.values()].flatMap((x) => [...x.bindings.values()])).toEqual([]);
      expect(v.policies.list()).toEqual([]);
      expect(access.permission('guest', name)).toBeDefined();
    }
    expect((await api.post('/api/test/vhosts/no-such/reset')).status).toBe(404);
  });
});

describe('who may use the HTTP hooks', () => {
  it('only administrators, and only with --test-hooks (otherwise /api/test/ does not exist)', async () => {
    fx.broker.broker.access.putUser({ name: 'mon', password: 'p', tags: ['monitoring'] });
    const mon = apiClient(() => fx.broker.managementUrl!, 'mon', 'p');
    const refused = await mon.put('/api/test/alarms/memory');
    expect([refused.status, refused.json]).toEqual([401, { error: 'not_authorised', reason: 'Not administrator user' }]);
    expect(fx.broker.broker.alarms.has('memory')).toBe(false);
    const plain = await startBroker({ port: 0, managementPort: 0, logLevel: 'silent' });
    try {
      const r = await apiClient(() => plain.managementUrl!).put('/api/test/alarms/memory');
      expect([r.status, r.json]).toEqual([404, { error: 'Object Not Found', reason: 'Not Found' }]);
      expect(plain.broker.alarms.has('memory')).toBe(false);
    } finally {
      await plain.close();
    }
  });
});
