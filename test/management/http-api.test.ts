/**
 * The management HTTP API against answers recorded from RabbitMQ 3.10.8 with its management
 * plugin: authentication and tags, error shapes, and that what the API changes is what AMQP sees
 * (the same model methods underneath).
 */
import { describe, expect } from 'vitest';
import { warrenOnly as it, withBroker } from '../helpers/broker.js';
import { apiClient } from '../helpers/http-api.js';

const fx = withBroker({ managementPort: 0 });
const base = () => fx.broker.managementUrl!;
const api = apiClient(base);

describe('authentication and tags', () => {
  it('answers a request without credentials with a bare 401 and the Basic challenge', async () => {
    const r = await apiClient(base, '').get('/api/overview');
    expect(r.status).toBe(401);
    expect(r.headers.get('www-authenticate')).toBe('Basic realm="RabbitMQ Management"');
    expect(r.text).toBe('');
  });

  it('refuses a wrong password, and a user without a management tag, with RabbitMQ\'s bodies', async () => {
    const wrong = await apiClient(base, 'guest', 'nope').get('/api/overview');
    expect([wrong.status, wrong.json]).toEqual([401, { error: 'not_authorized', reason: 'Login failed' }]);
    fx.broker.broker.access.putUser({ name: 'plain', password: 'p', tags: [] });
    const plain = await apiClient(base, 'plain', 'p').get('/api/overview');
    expect([plain.status, plain.json]).toEqual([401, { error: 'not_authorised', reason: 'Not management user' }]);
  });

  it('keeps users, vhosts and definitions to administrators, and a vhost to those with permissions there', async () => {
    const db = fx.broker.broker.access;
    db.putUser({ name: 'mgr', password: 'p', tags: ['management'] });
    db.putVhost({ name: 'mgr-elsewhere' });
    const mgr = apiClient(base, 'mgr', 'p');
    for (const path of ['/api/users', '/api/definitions', '/api/vhosts/%2F']) {
      const r = await mgr.get(path);
      expect([path, r.status, r.json]).toEqual([path, 401, { error: 'not_authorised', reason: 'Not administrator user' }]);
    }
    const put = await mgr.put('/api/queues/mgr-elsewhere/q');
    expect([put.status, put.json]).toEqual([401, { error: 'not_authorised', reason: 'User not authorised to access virtual host' }]);
    expect(fx.broker.broker.vhosts.get('mgr-elsewhere')!.queues.size).toBe(0);
    expect((await mgr.get('/api/vhosts')).json).toEqual([]);
    expect((await mgr.get('/api/whoami')).json).toEqual({ name: 'mgr', tags: ['management'] });
  });

  it('runs the AMQP permission rows: a user without configure permission cannot declare', async () => {
    const db = fx.broker.broker.access;
    db.putUser({ name: 'reader', password: 'p', tags: ['management'] });
    db.setPermissions('reader', '/', '^$', '.*', '.*');
    const r = await apiClient(base, 'reader', 'p').put('/api/queues/%2F/reader-q', { durable: true });
    expect(r.status).toBe(401);
    expect(r.json).toEqual({ error: 'not_authorised', reason: "access to queue 'reader-q' in vhost '/' refused for user 'reader'" });
    expect(fx.broker.broker.vhosts.get('/')!.queues.has('reader-q')).toBe(false);
  });
});

describe('errors and untrusted bodies', () => {
  it('answers an unknown path and a missing object with Object Not Found', async () => {
    for (const path of ['/api/nothing-here', '/api/queues/%2F/no-such-queue', '/api/exchanges/%2F/no-such']) {
      const r = await api.get(path);
      expect([path, r.status, r.json]).toEqual([path, 404, { error: 'Object Not Found', reason: 'Not Found' }]);
    }
    const noVhost = await api.put('/api/queues/no-vhost/q', {});
    expect([noVhost.status, noVhost.json]).toEqual([404, { error: 'not_found', reason: 'vhost_not_found' }]);
  });

  it('refuses bad JSON, wrong types and an oversized body with 4xx, declaring nothing', async () => {
    const v = fx.broker.broker.vhosts.get('/')!;
    const bad = await api.put('/api/queues/%2F/bad-json', '{bad');
    expect([bad.status, bad.json]).toEqual([400, { error: 'bad_request', reason: 'not_json' }]);
    const notBool = await api.put('/api/queues/%2F/bad-type', { durable: 'yes' });
    expect([notBool.status, notBool.json]).toEqual([400, { error: 'bad_request', reason: ['not_boolean', 'yes'] }]);
    const badArg = await api.put('/api/queues/%2F/bad-arg', { durable: true, arguments: { 'x-max-length': 'a' } });
    expect([badArg.status, badArg.json]).toEqual([400, { error: 'bad_request', reason: "invalid arg 'x-max-length' for queue 'bad-arg' in vhost '/': \"expected integer, got longstr\"" }]);
    const huge = await api.put('/api/queues/%2F/huge', JSON.stringify({ durable: true, arguments: { pad: 'x'.repeat(21_000_000) } }));
    expect(huge.status).toBe(413);
    for (const name of ['bad-json', 'bad-type', 'bad-arg', 'huge']) expect(v.queues.has(name)).toBe(false);
  });

  it('answers an inequivalent redeclaration with the AMQP text as a 400', async () => {
    expect((await api.put('/api/queues/%2F/equiv', { durable: true })).status).toBe(201);
    expect((await api.put('/api/queues/%2F/equiv', { durable: true })).status).toBe(204);
    const r = await api.put('/api/queues/%2F/equiv', { durable: false });
    expect([r.status, r.json]).toEqual([400, { error: 'bad_request', reason: "inequivalent arg 'durable' for queue 'equiv' in vhost '/': received 'false' but current is 'true'" }]);
  });
});

describe('queues, exchanges and bindings through the model AMQP uses', () => {
  it('declares, publishes, gets (requeue and ack), purges and deletes', async () => {
    const ch = await fx.channel();
    expect((await api.put('/api/queues/%2F/work', { durable: true })).status).toBe(201);
    expect((await ch.checkQueue('work')).queue).toBe('work');
    const pub = await api.post('/api/exchanges/%2F/amq.default/publish', { routing_key: 'work', payload: 'aGk=', payload_encoding: 'base64', properties: { delivery_mode: 2, headers: { h: 1 } } });
    expect(pub.json).toEqual({ routed: true });
    const peek = await api.post('/api/queues/%2F/work/get', { count: 5, ackmode: 'ack_requeue_true', encoding: 'auto' });
    expect(peek.json).toEqual([{ payload_bytes: 2, redelivered: false, exchange: '', routing_key: 'work', message_count: 0, properties: { delivery_mode: 2, headers: { h: 1 } }, payload: 'hi', payload_encoding: 'string' }]);
    const again = await api.post('/api/queues/%2F/work/get', { count: 1, ackmode: 'ack_requeue_false', encoding: 'base64', truncate: 1 });
    expect(again.json).toEqual([{ payload_bytes: 2, redelivered: true, exchange: '', routing_key: 'work', message_count: 0, properties: { delivery_mode: 2, headers: { h: 1 } }, payload: 'aA==', payload_encoding: 'base64' }]);
    expect((await ch.checkQueue('work')).messageCount).toBe(0);
    ch.sendToQueue('work', Buffer.from('x'));
    ch.sendToQueue('work', Buffer.from('y'));
    await ch.checkQueue('work');
    const shown = await api.get('/api/queues/%2F/work');
    expect(shown.json).toMatchObject({ name: 'work', vhost: '/', durable: true, messages: 2, messages_ready: 2, messages_unacknowledged: 0, consumers: 0, type: 'classic' });
    expect(shown.json.message_stats).toMatchObject({ publish: 3, get: 2, get_no_ack: 0, ack: 1, redeliver: 1 });
    expect((await api.delete('/api/queues/%2F/work/contents')).status).toBe(204);
    expect((await ch.checkQueue('work')).messageCount).toBe(0);
    expect((await api.delete('/api/queues/%2F/work')).status).toBe(204);
    expect(fx.broker.broker.vhosts.get('/')!.queues.has('work')).toBe(false);
    expect((await api.delete('/api/queues/%2F/work')).status).toBe(404);
  });

  it('reports publish and redeliver counts the AMQP side made', async () => {
    const ch = await fx.channel();
    await ch.assertQueue('counted');
    for (let i = 0; i < 3; i++) ch.sendToQueue('counted', Buffer.from(String(i)));
    await ch.checkQueue('counted');
    const m = await ch.get('counted');
    ch.nack(m as never, false, true);
    const m2 = await ch.get('counted');
    ch.ack(m2 as never);
    await ch.checkQueue('counted');
    const stats = (await api.get('/api/queues/%2F/counted')).json.message_stats;
    expect(stats).toMatchObject({ publish: 3, get: 2, ack: 1, redeliver: 1, deliver_get: 2 });
  });

  it('binds with POST (Location names the properties key), lists the forms, and unbinds by that key', async () => {
    await api.put('/api/queues/%2F/bq', {});
    await api.put('/api/exchanges/%2F/bx', { type: 'topic', durable: true });
    const made = await api.post('/api/bindings/%2F/e/bx/q/bq', { routing_key: 'k.#', arguments: {} });
    expect([made.status, made.headers.get('location')]).toEqual([201, 'bq/k.%2523']);
    const expected = { source: 'bx', vhost: '/', destination: 'bq', destination_type: 'queue', routing_key: 'k.#', arguments: {}, properties_key: 'k.%23' };
    expect((await api.get('/api/bindings/%2F/e/bx/q/bq')).json).toEqual([expected]);
    // The key is a path segment of its own: quoted once more, as rabbitmqadmin and the UI send it.
    expect((await api.get('/api/bindings/%2F/e/bx/q/bq/k.%2523')).json).toEqual(expected);
    expect((await api.get('/api/exchanges/%2F/bx/bindings/source')).json).toEqual([expected]);
    expect((await api.get('/api/queues/%2F/bq/bindings')).json).toEqual([
      { source: '', vhost: '/', destination: 'bq', destination_type: 'queue', routing_key: 'bq', arguments: {}, properties_key: 'bq' },
      expected,
    ]);
    const ch = await fx.channel();
    ch.publish('bx', 'k.a', Buffer.from('routed'));
    expect((await ch.checkQueue('bq')).messageCount).toBe(1);
    expect((await api.delete('/api/bindings/%2F/e/bx/q/bq/k.%2523')).status).toBe(204);
    expect((await api.get('/api/bindings/%2F/e/bx/q/bq')).json).toEqual([]);
    expect((await api.delete('/api/bindings/%2F/e/bx/q/bq/k.%2523')).status).toBe(404);
  });

  it('declares and deletes exchanges, refusing what AMQP refuses', async () => {
    const unknown = await api.put('/api/exchanges/%2F/x-bad', { type: 'nope' });
    expect([unknown.status, unknown.json]).toEqual([400, { error: 'bad_request', reason: "unknown exchange type 'nope'" }]);
    expect((await api.put('/api/exchanges/%2F/x-ok', { type: 'fanout', durable: true, arguments: { a: 1 } })).status).toBe(201);
    expect((await api.get('/api/exchanges/%2F/x-ok')).json).toEqual({ arguments: { a: 1 }, auto_delete: false, durable: true, incoming: [], internal: false, name: 'x-ok', outgoing: [], type: 'fanout', user_who_performed_action: 'guest', vhost: '/' });
    const system = await api.delete('/api/exchanges/%2F/amq.direct');
    expect(system.status).toBe(401);
    expect((await api.delete('/api/exchanges/%2F/x-ok')).status).toBe(204);
    expect(fx.broker.broker.vhosts.get('/')!.exchanges.has('x-ok')).toBe(false);
  });
});

describe('limits and queue actions', () => {
  it('sets, lists and clears a vhost limit that queue.declare then enforces', async () => {
    await api.put('/api/vhosts/limited', {});
    await api.put('/api/permissions/limited/guest', { configure: '.*', write: '.*', read: '.*' });
    const missing = await api.put('/api/vhost-limits/limited/max-queues', { 'max-queues': 1 });
    expect([missing.status, missing.json]).toEqual([400, { error: 'bad_request', reason: '[{key_missing,value}]' }]);
    expect((await api.put('/api/vhost-limits/limited/max-queues', { value: 1 })).status).toBe(204);
    expect((await api.get('/api/vhost-limits/limited')).json).toEqual([{ vhost: 'limited', value: { 'max-queues': 1 } }]);
    expect((await api.put('/api/queues/limited/first', {})).status).toBe(201);
    const second = await api.put('/api/queues/limited/second', {});
    expect(second.status).toBe(400);
    expect(fx.broker.broker.vhosts.get('limited')!.queues.has('second')).toBe(false);
    expect((await api.delete('/api/vhost-limits/limited/max-queues')).status).toBe(204);
    expect((await api.put('/api/queues/limited/second', {})).status).toBe(201);
  });

  it('accepts sync and cancel_sync on a queue and refuses other actions', async () => {
    await api.put('/api/queues/%2F/acted', {});
    expect((await api.post('/api/queues/%2F/acted/actions', { action: 'sync' })).status).toBe(204);
    const bogus = await api.post('/api/queues/%2F/acted/actions', { action: 'bogus' });
    expect([bogus.status, bogus.json]).toEqual([400, { error: 'bad_request', reason: ['unknown', 'bogus'] }]);
  });
});

describe('lists', () => {
  it('paginates, filters by name, sorts and picks columns as RabbitMQ does', async () => {
    for (const n of ['page-a', 'page-b', 'page-c']) await api.put(`/api/queues/%2F/${n}`, {});
    const page = await api.get('/api/queues/%2F?page=2&page_size=1&name=page-&sort=name&sort_reverse=true&columns=name');
    expect(page.json).toEqual({ filtered_count: 3, item_count: 1, items: [{ name: 'page-b' }], page: 2, page_count: 3, page_size: 1, total_count: fx.broker.broker.vhosts.get('/')!.queues.size });
    const tooBig = await api.get('/api/queues?page=1&page_size=600');
    expect([tooBig.status, tooBig.json]).toEqual([400, { error: 'invalid_pagination_parameters', reason: 'Invalid pagination parameters: page number 1, page size 600' }]);
    const notNumber = await api.get('/api/queues?page=abc');
    expect([notNumber.status, notNumber.json]).toEqual([400, { error: 'bad_request', reason: 'Pagination parameters are invalid' }]);
  });
});

describe('connections, definitions and health', () => {
  it('closes a connection with 320 and the X-Reason text', async () => {
    const conn = await fx.connect();
    const list = await api.get('/api/connections?columns=name,user,vhost');
    expect(list.json).toHaveLength(1);
    expect(list.json[0]).toMatchObject({ user: 'guest', vhost: '/' });
    // amqplib reports 320 through 'close' (with the error), not 'error'.
    const closed = new Promise<Error>((resolve) => conn.once('close', (e: Error) => resolve(e)));
    const r = await api.delete(`/api/connections/${encodeURIComponent(list.json[0].name)}`, { 'x-reason': 'maintenance' });
    expect(r.status).toBe(204);
    const e = await closed;
    expect(e.message).toContain('CONNECTION_FORCED - maintenance');
  });

  it('exports definitions and imports them, refusing a bad file whole', async () => {
    await api.put('/api/queues/%2F/defs-q', { durable: true });
    const exported = await api.get('/api/definitions');
    expect(exported.json.queues).toContainEqual(expect.objectContaining({ name: 'defs-q', vhost: '/', durable: true }));
    const refused = await api.post('/api/definitions', { queues: [{ name: 'never', vhost: 'no-such-vhost', durable: true, auto_delete: false, arguments: {} }] });
    expect(refused.status).toBe(400);
    expect(fx.broker.broker.vhosts.get('/')!.queues.has('never')).toBe(false);
    const imported = await api.post('/api/definitions', { vhosts: [{ name: 'imported' }], queues: [{ name: 'iq', vhost: 'imported', durable: true, auto_delete: false, arguments: {} }] });
    expect(imported.status).toBe(204);
    expect(fx.broker.broker.vhosts.get('imported')!.queues.has('iq')).toBe(true);
  });

  it('answers the health checks as RabbitMQ does', async () => {
    expect((await api.get('/api/health/checks/alarms')).json).toEqual({ status: 'ok' });
    expect((await api.get('/api/health/checks/virtual-hosts')).json).toEqual({ status: 'ok' });
    expect((await api.get('/api/health/checks/node-is-quorum-critical')).json).toEqual({ status: 'ok', reason: 'single node cluster' });
    expect((await api.get(`/api/health/checks/port-listener/${fx.broker.port}`)).json).toEqual({ status: 'ok', port: fx.broker.port });
    const bad = await api.get('/api/health/checks/port-listener/abc');
    expect([bad.status, bad.json]).toEqual([400, { error: 'bad_request', reason: 'Invalid port' }]);
    const missing = await api.get('/api/health/checks/port-listener/1');
    expect(missing.status).toBe(503);
    expect(missing.json).toMatchObject({ status: 'failed', reason: 'No active listener', missing: 1 });
    fx.broker.broker.alarms.set('memory');
    try {
      const alarmed = await api.get('/api/health/checks/alarms');
      expect([alarmed.status, alarmed.json.status, alarmed.json.alarms[0].resource]).toEqual([503, 'failed', 'memory']);
    } finally {
      fx.broker.broker.alarms.clear('memory');
    }
    expect((await api.get('/api/aliveness-test/%2F')).json).toEqual({ status: 'ok' });
  });
});
