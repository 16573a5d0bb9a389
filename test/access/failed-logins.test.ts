/**
 * Failed logins: logged with the peer's address, counted by protocol as RabbitMQ 3.10.8 counts them
 * (rabbitmq_prometheus's rabbitmq_auth_attempts_* and the management API's /api/auth/attempts/{node},
 * shapes recorded from a 3.10.8 node), and the same whether the user or the password was wrong.
 */
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type RunningBroker } from '../../src/index.js';
import { captureLog } from '../helpers/disk-brokers.js';

const log = captureLog('info');
let b: RunningBroker;

beforeAll(async () => {
  b = await startBroker({ port: 0, logger: log.logger, managementPort: 0, prometheusPort: 0, silentCloseDelayMs: 10, rabbitmqVersion: '3.10' });
  b.broker.access.putUser({ name: 'alice', password: 'right', tags: [] });
  b.broker.access.setPermissions('alice', '/', '.*', '.*', '.*');
});

afterAll(async () => {
  await b.close();
});

const url = (user: string, pass: string) => `amqp://${user}:${pass}@127.0.0.1:${b.port}`;

/** The client's error for a refused login (amqplib advertises authentication_failure_close). */
async function refusal(user: string, pass: string): Promise<string> {
  try {
    await (await amqp.connect(url(user, pass))).close();
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error(`${user} logged in`);
}

const metric = (text: string, name: string) => text.split('\n').find((l) => l.startsWith(`${name}{protocol="amqp091"} `));

describe('failed logins', () => {
  it('are logged with the peer address, counted, and look the same whatever was wrong', async () => {
    const wrongPassword = await refusal('alice', 'wrong');
    const unknownUser = await refusal('mallory', 'right');
    expect(unknownUser).toBe(wrongPassword);
    await (await amqp.connect(url('alice', 'right'))).close();

    const refused = log.lines.filter((l) => String(l.msg).startsWith('PLAIN login refused'));
    expect(refused.map((l) => l.msg)).toEqual(["PLAIN login refused: user 'alice' - invalid credentials", "PLAIN login refused: user 'mallory' - invalid credentials"]);
    for (const l of refused) expect(l.peer).toMatch(/^127\.0\.0\.1:\d+$/);

    const metrics = await (await fetch(`http://127.0.0.1:${b.prometheusPort}/metrics`)).text();
    expect(metric(metrics, 'rabbitmq_auth_attempts_total')).toBe('rabbitmq_auth_attempts_total{protocol="amqp091"} 3');
    expect(metric(metrics, 'rabbitmq_auth_attempts_failed_total')).toBe('rabbitmq_auth_attempts_failed_total{protocol="amqp091"} 2');
    expect(metric(metrics, 'rabbitmq_auth_attempts_succeeded_total')).toBe('rabbitmq_auth_attempts_succeeded_total{protocol="amqp091"} 1');
    expect(metrics).toContain('# TYPE rabbitmq_auth_attempts_failed_total counter\n');
    const perObject = await (await fetch(`http://127.0.0.1:${b.prometheusPort}/metrics/per-object`)).text();
    expect(metric(perObject, 'rabbitmq_auth_attempts_failed_total')).toBe('rabbitmq_auth_attempts_failed_total{protocol="amqp091"} 2');

    const auth = { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` };
    const node = (await (await fetch(`${b.managementUrl}/api/overview`, { headers: auth })).json()) as { node: string };
    const attempts = await fetch(`${b.managementUrl}/api/auth/attempts/${encodeURIComponent(node.node)}`, { headers: auth });
    expect(await attempts.json()).toEqual([{ protocol: 'amqp091', auth_attempts: 3, auth_attempts_failed: 2, auth_attempts_succeeded: 1 }]);
    expect(await (await fetch(`${b.managementUrl}/api/auth/attempts/${encodeURIComponent(node.node)}/source`, { headers: auth })).json()).toEqual([]);
    expect((await fetch(`${b.managementUrl}/api/auth/attempts/no-such-node`, { headers: auth })).status).toBe(404);
  });
});
