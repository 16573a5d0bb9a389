/**
 * pika (Debian's python3-pika, run by /usr/bin/python3 with pika-tls-client.py) over TLS, with
 * certificates made at test time: the server certificate checked against the CA, without and with a
 * client certificate (verify_peer), a client without one refused by fail_if_no_peer_cert, and SASL
 * EXTERNAL logging in as the client certificate's distinguished name.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { startBroker, type RunningBroker, type StartOptions } from '../../src/index.js';
import { makeCertificates, type Pem } from '../helpers/certificates.js';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'warren-pika-tls-'));
const certs = makeCertificates(dir);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const running: RunningBroker[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((b) => b.close()));
});

async function start(options: StartOptions = {}): Promise<RunningBroker> {
  const b = await startBroker({ port: 0, tlsPort: 0, tlsCertFile: certs.server.certFile, tlsKeyFile: certs.server.keyFile, tlsCaFile: certs.caFile, logLevel: 'silent', silentCloseDelayMs: 20, rabbitmqVersion: '3.10', ...options });
  running.push(b);
  return b;
}

/** What the pika script saw: the round trip's results, or the error that stopped it. */
async function pika(b: RunningBroker, credentials: string, client?: Pem): Promise<Record<string, unknown>> {
  const script = new URL('./pika-tls-client.py', import.meta.url).pathname;
  const args = [script, String(b.tlsPort), certs.caFile, credentials, ...(client ? [client.certFile, client.keyFile] : [])];
  const { stdout } = await run('/usr/bin/python3', args, { timeout: 30_000 });
  return JSON.parse(stdout) as Record<string, unknown>;
}

const ROUND_TRIP = { connected: true, body: 'over tls', queue_is_server_named: true };

describe('pika over TLS', () => {
  it('connects without a client certificate (verify_none) and with PLAIN', async () => {
    const b = await start({ rabbitmqVersion: '3.10' });
    expect(await pika(b, 'guest:guest')).toMatchObject({ ...ROUND_TRIP, product: 'RabbitMQ', tls: expect.stringMatching(/^TLSv1\.[23]$/) });
  });

  it('presents a client certificate that verify_peer accepts; without one, fail_if_no_peer_cert refuses it', async () => {
    const b = await start({ tlsVerifyPeer: true, tlsFailIfNoPeerCert: true });
    expect(await pika(b, 'guest:guest', certs.client)).toMatchObject(ROUND_TRIP);
    // Refused in the TLS handshake: under TLS 1.3 the client has finished its side of the handshake
    // when the server's alert arrives, so pika sees the stream end before connection.start.
    // (pika sees the TLS alert, certificate_required, or only the end of the stream, depending on
    // which its reader meets first.)
    const lost = { error: 'IncompatibleProtocolError', message: expect.stringMatching(/^StreamLostError: .*(TLSV13_ALERT_CERTIFICATE_REQUIRED|End of input stream|EOF)/) };
    expect(await pika(b, 'guest:guest')).toEqual(lost);
    // A certificate another CA signed is refused the same way.
    expect(await pika(b, 'guest:guest', certs.stranger)).toEqual({ ...lost, message: expect.stringMatching(/^StreamLostError: .*(UNKNOWN_CA|BAD_CERTIFICATE|End of input stream|EOF)/) });
  });

  it('logs in with EXTERNAL as the certificate distinguished name, which needs no password', async () => {
    const b = await start({ tlsVerifyPeer: true, authMechanisms: ['PLAIN', 'AMQPLAIN', 'EXTERNAL'] });
    // Not yet a user: refused (pika reports the refused login as a probable authentication error).
    const before = await pika(b, 'EXTERNAL', certs.client);
    expect(before.connected).toBeUndefined();
    expect(String(before.error)).toMatch(/Authentication|ConnectionClosed|AMQPConnectionError/);
    b.broker.access.addUser({ name: 'CN=tls-user,O=Warren Test', tags: [] });
    b.broker.access.setPermissions('CN=tls-user,O=Warren Test', '/', '.*', '.*', '.*');
    expect(await pika(b, 'EXTERNAL', certs.client)).toMatchObject(ROUND_TRIP);
  });
});
