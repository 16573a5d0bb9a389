/**
 * MQTT over TLS (mqtt.listeners.ssl.default, --mqtt-tls-port) with the AMQPS listener's settings:
 * the same certificate and key, and verify_peer refusing a client certificate the CA did not sign.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { startBroker, type RunningBroker, type StartOptions } from '../../src/index.js';
import { makeCertificates } from '../helpers/certificates.js';

const dir = mkdtempSync(join(tmpdir(), 'warren-mqtt-tls-'));
const certs = makeCertificates(dir);
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const running: RunningBroker[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((b) => b.close()));
});

async function start(options: StartOptions = {}): Promise<RunningBroker> {
  const b = await startBroker({ port: 0, mqttTlsPort: 0, tlsCertFile: certs.server.certFile, tlsKeyFile: certs.server.keyFile, tlsCaFile: certs.caFile, logLevel: 'silent', ...options });
  running.push(b);
  return b;
}

describe('MQTT over TLS', () => {
  it('serves mqtts:// with the AMQPS certificate: publish and receive', async () => {
    const b = await start();
    expect(b.mqttPort).toBeUndefined();
    const c = await mqtt.connectAsync(`mqtts://127.0.0.1:${b.mqttTlsPort}`, { clientId: 'tls-1', ca: [certs.ca], protocolVersion: 4, reconnectPeriod: 0 });
    await c.subscribeAsync('tls/t', { qos: 1 });
    const got = new Promise<string>((resolve) => c.once('message', (_t, p) => resolve(p.toString())));
    await c.publishAsync('tls/t', 'secret', { qos: 1 });
    expect(await got).toBe('secret');
    await c.endAsync();
  });

  it('refuses a client certificate from another CA under verify_peer, accepts one the CA signed', async () => {
    const b = await start({ tlsVerifyPeer: true });
    const url = `mqtts://127.0.0.1:${b.mqttTlsPort}`;
    const stranger = mqtt.connect(url, { clientId: 'tls-2', ca: [certs.ca], cert: certs.stranger.cert, key: certs.stranger.key, protocolVersion: 4, reconnectPeriod: 0 });
    stranger.on('error', () => {});
    const outcome = await new Promise<string>((resolve) => {
      stranger.once('connect', () => resolve('connected'));
      stranger.once('close', () => resolve('closed'));
    });
    expect(outcome).toBe('closed');
    stranger.end(true);
    const known = await mqtt.connectAsync(url, { clientId: 'tls-3', ca: [certs.ca], cert: certs.client.cert, key: certs.client.key, protocolVersion: 4, reconnectPeriod: 0 });
    expect(known.connected).toBe(true);
    await known.endAsync();
  });
});
