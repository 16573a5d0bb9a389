/**
 * MQTT logins beyond user name and password, and MQTT connections in the connection limits, as
 * RabbitMQ 3.10's plugin does them:
 *
 * - max-connections of a vhost and of a user count MQTT and AMQP connections together (the plugin's
 *   are direct AMQP connections); a CONNECT over a limit gets CONNACK 5 (not authorised).
 * - the global runtime parameter mqtt_port_to_vhost_mapping picks the vhost by the port connected
 *   to, unless the user name names one ("vhost:user").
 * - mqtt.ssl_cert_login: a client without credentials whose certificate was verified logs in as its
 *   certificate's CN (ssl_cert_login_from = common_name) or distinguished name, without a password.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp from 'amqplib';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { startBroker, type RunningBroker, type StartOptions } from '../../src/index.js';
import { makeCertificates } from '../helpers/certificates.js';
import { closed, withMqttBroker } from '../helpers/mqtt.js';

const fx = withMqttBroker();

function connectionOf(clientId: string) {
  return [...fx.broker.mqtt!.connections].find((c) => c.clientId === clientId);
}

describe('MQTT connections in the connection limits', () => {
  it("count in a vhost's max-connections with AMQP connections; over the limit CONNACK is 5", async () => {
    const db = fx.broker.broker.access;
    db.putVhost({ name: 'limited' });
    db.setPermissions('guest', 'limited', '.*', '.*', '.*');
    db.setVhostLimits('limited', { 'max-connections': 1 });
    const user = 'limited:guest';
    const first = await fx.client({ clientId: 'lim-1', username: user, password: 'guest' });
    expect((await fx.tryConnect({ clientId: 'lim-2', username: user, password: 'guest' })).returnCode).toBe(5);
    // The MQTT connection holds the vhost's one connection: AMQP is refused too (530).
    const refused = await amqp.connect(`${fx.broker.url}/limited`).then(
      () => 'connected',
      (e: Error) => e.message,
    );
    // amqplib reports the connection.close (530) that answered connection.open, without its text.
    expect(refused).toMatch(/Expected ConnectionOpenOk; got <ConnectionClose/);
    const gone = closed(first);
    await first.endAsync();
    await gone;
    expect((await fx.tryConnect({ clientId: 'lim-3', username: user, password: 'guest' })).returnCode).toBe(0);
  });

  it("count in a user's max-connections, across vhosts and with AMQP", async () => {
    const db = fx.broker.broker.access;
    db.putUser({ name: 'capped', password: 'pw', tags: [] });
    db.setPermissions('capped', '/', '.*', '.*', '.*');
    db.setUserLimits('capped', { 'max-connections': 2 });
    const conn = await amqp.connect(fx.broker.url.replace('guest:guest', 'capped:pw'));
    try {
      expect((await fx.tryConnect({ clientId: 'cap-1', username: 'capped', password: 'pw' })).returnCode).toBe(0);
      expect((await fx.tryConnect({ clientId: 'cap-2', username: 'capped', password: 'pw' })).returnCode).toBe(5);
    } finally {
      await conn.close();
    }
  });
});

describe('mqtt_port_to_vhost_mapping', () => {
  it('picks the vhost by the port connected to, unless the user name names one', async () => {
    const b = fx.broker.broker;
    b.access.putVhost({ name: 'by-port' });
    b.access.setPermissions('guest', 'by-port', '.*', '.*', '.*');
    b.setGlobalParameter('mqtt_port_to_vhost_mapping', { [String(fx.broker.mqttPort)]: 'by-port', '1': 'elsewhere' });
    try {
      await fx.client({ clientId: 'map-1' });
      await fx.client({ clientId: 'map-2', username: '/:guest', password: 'guest' });
      expect([connectionOf('map-1')?.vhostName, connectionOf('map-2')?.vhostName]).toEqual(['by-port', '/']);
      // A mapping to a vhost that does not exist: return code 4, as a "vhost:user" naming one.
      b.setGlobalParameter('mqtt_port_to_vhost_mapping', { [String(fx.broker.mqttPort)]: 'no-such-vhost' });
      expect((await fx.tryConnect({ clientId: 'map-3' })).returnCode).toBe(4);
    } finally {
      b.globalParameters.delete('mqtt_port_to_vhost_mapping');
    }
  });
});

describe('mqtt.ssl_cert_login', () => {
  const dir = mkdtempSync(join(tmpdir(), 'warren-mqtt-cert-'));
  const certs = makeCertificates(dir);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const running: RunningBroker[] = [];
  const clients: MqttClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.endAsync(true).catch(() => {})));
    await Promise.all(running.splice(0).map((b) => b.close()));
  });

  async function start(options: StartOptions): Promise<RunningBroker> {
    const b = await startBroker({ port: 0, mqttTlsPort: 0, tlsCertFile: certs.server.certFile, tlsKeyFile: certs.server.keyFile, tlsCaFile: certs.caFile, tlsVerifyPeer: true, logLevel: 'silent', ...options });
    running.push(b);
    b.broker.access.putUser({ name: 'tls-user', password: 'unused', tags: [] });
    b.broker.access.setPermissions('tls-user', '/', '.*', '.*', '.*');
    return b;
  }

  function tryConnect(b: RunningBroker, extra: Record<string, unknown> = {}): Promise<{ returnCode: number; user: string | undefined }> {
    return new Promise((resolve) => {
      const clientId = `cert-${clients.length}`;
      const c = mqtt.connect(`mqtts://127.0.0.1:${b.mqttTlsPort}`, { clientId, ca: [certs.ca], cert: certs.client.cert, key: certs.client.key, protocolVersion: 4, reconnectPeriod: 0, ...extra });
      clients.push(c);
      c.on('connect', () => resolve({ returnCode: 0, user: [...b.mqtt!.connections].find((x) => x.clientId === clientId)?.userName }));
      c.on('error', (e) => {
        const code = (e as { code?: number }).code;
        if (typeof code === 'number') resolve({ returnCode: code, user: undefined });
      });
    });
  }

  it("logs a client without credentials in as its certificate's CN; credentials given still win", async () => {
    const b = await start({ mqttSslCertLogin: true, sslCertLoginFrom: 'common_name' });
    expect(await tryConnect(b)).toEqual({ returnCode: 0, user: 'tls-user' });
    expect(await tryConnect(b, { username: 'guest', password: 'guest' })).toEqual({ returnCode: 0, user: 'guest' });
    expect(await tryConnect(b, { username: 'guest', password: 'wrong' })).toEqual({ returnCode: 4, user: undefined });
  });

  it('uses the distinguished name by default, and a name that is no user is refused (4)', async () => {
    const b = await start({ mqttSslCertLogin: true });
    expect((await tryConnect(b)).returnCode).toBe(4);
    b.broker.access.putUser({ name: 'CN=tls-user,O=Warren Test', password: 'unused', tags: [] });
    b.broker.access.setPermissions('CN=tls-user,O=Warren Test', '/', '.*', '.*', '.*');
    expect(await tryConnect(b)).toEqual({ returnCode: 0, user: 'CN=tls-user,O=Warren Test' });
  });

  it('without the setting, a certificate does not log in: the anonymous default user does', async () => {
    const b = await start({ sslCertLoginFrom: 'common_name' });
    expect(await tryConnect(b)).toEqual({ returnCode: 0, user: 'guest' });
  });
});
