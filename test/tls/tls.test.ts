/**
 * AMQP over TLS, with certificates made at test time: amqplib connecting with amqps://, the server
 * certificate checked against the CA; verify_peer and fail_if_no_peer_cert as RabbitMQ's ssl_options
 * mean them; SASL EXTERNAL logging in as the client certificate's name (its distinguished name by
 * default, or its common name), offered only where there is a verified client certificate; the
 * certificates reloaded without a restart.
 */
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import amqp from 'amqplib';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { startBroker, type RunningBroker, type StartOptions } from '../../src/index.js';
import { makeCertificates, type Pem } from '../helpers/certificates.js';
import { captureLog } from '../helpers/disk-brokers.js';
import { RawClient } from '../helpers/raw-client.js';

const dir = mkdtempSync(join(tmpdir(), 'warren-tls-'));
const certs = makeCertificates(dir);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const running: RunningBroker[] = [];
const open: amqp.ChannelModel[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close().catch(() => {})));
  await Promise.all(running.splice(0).map((b) => b.close()));
});

async function start(options: StartOptions = {}): Promise<RunningBroker> {
  const b = await startBroker({
    port: 0,
    tlsPort: 0,
    tlsCertFile: certs.server.certFile,
    tlsKeyFile: certs.server.keyFile,
    tlsCaFile: certs.caFile,
    logLevel: 'silent',
    silentCloseDelayMs: 20,
    ...options,
  });
  running.push(b);
  return b;
}

/** An amqps:// connection as `user`, trusting the test CA, with a client certificate if given. */
async function connect(b: RunningBroker, client?: Pem, options: Record<string, unknown> = {}, user = 'guest:guest'): Promise<amqp.ChannelModel> {
  const c = await amqp.connect(`amqps://${user}@127.0.0.1:${b.tlsPort}`, { ca: [certs.ca], ...(client ? { cert: client.cert, key: client.key } : {}), ...options });
  c.on('error', () => {});
  open.push(c);
  return c;
}

const refused = (p: Promise<unknown>) =>
  p.then(
    () => 'connected',
    (e: Error) => e.message,
  );

/** The SASL mechanisms a connection.start offers, over a TLS socket (with a client certificate if given). */
async function offered(b: RunningBroker, client?: Pem): Promise<string> {
  const socket = tlsConnect({ host: '127.0.0.1', port: b.tlsPort!, ca: [certs.ca], ...(client ? { cert: client.cert, key: client.key } : {}) });
  await new Promise<void>((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject));
  const c = RawClient.fromStream(socket);
  c.send(Buffer.from('AMQP\x00\x00\x09\x01', 'latin1'));
  const start = (await c.method('connection.start')) as { mechanisms: Buffer };
  c.destroy();
  return start.mechanisms.toString();
}

/** The serial number of the certificate the TLS listener presents to a new connection. */
async function servedSerial(b: RunningBroker): Promise<string> {
  const s = tlsConnect({ host: '127.0.0.1', port: b.tlsPort!, ca: [certs.ca] });
  await new Promise<void>((resolve, reject) => s.once('secureConnect', resolve).once('error', reject));
  const serial = s.getPeerCertificate().serialNumber;
  s.destroy();
  return serial;
}

const serialOf = (p: Pem) => new X509Certificate(p.cert).serialNumber;

/** Polls `condition` until it holds (bounded: the watch interval is 25 ms, so this is generous). */
async function until(condition: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}

describe('the TLS listener', () => {
  it('serves AMQP over TLS (amqps) next to plain AMQP; the client checks the server against the CA', async () => {
    const b = await start();
    expect(b.tlsUrl).toBe(`amqps://guest:guest@127.0.0.1:${b.tlsPort}`);
    const c = await connect(b);
    const ch = await c.createChannel();
    await ch.assertQueue('over-tls', { durable: true });
    ch.sendToQueue('over-tls', Buffer.from('secret'));
    const m = await amqp.connect(b.url).then(async (plain) => {
      open.push(plain);
      return (await plain.createChannel()).get('over-tls', { noAck: true });
    });
    expect(m !== false && m.content.toString()).toBe('secret');
    // A client that does not trust the CA refuses the server.
    expect(await refused(amqp.connect(`amqps://guest:guest@127.0.0.1:${b.tlsPort}`))).toMatch(/self[- ]signed|unable to verify|unable to get local issuer/);
  });

  it('verify_none (the default) asks for no client certificate, so EXTERNAL is not offered', async () => {
    const b = await start({ authMechanisms: ['PLAIN', 'AMQPLAIN', 'EXTERNAL'] });
    expect(await offered(b, certs.client)).toBe('AMQPLAIN PLAIN');
  });

  it('verify_peer with fail_if_no_peer_cert: no certificate, or one another CA signed, is refused', async () => {
    const b = await start({ tlsVerifyPeer: true, tlsFailIfNoPeerCert: true });
    expect(await refused(connect(b))).not.toBe('connected');
    expect(await refused(connect(b, certs.stranger))).not.toBe('connected');
    expect(await refused(connect(b, certs.client))).toBe('connected');
  });

  it('verify_peer alone: a client without a certificate is let in, one with a bad certificate is not', async () => {
    const b = await start({ tlsVerifyPeer: true });
    expect(await refused(connect(b))).toBe('connected');
    expect(await refused(connect(b, certs.stranger))).not.toBe('connected');
    expect(await refused(connect(b, certs.client))).toBe('connected');
  });

  it('a certificate file that cannot be read stops the start with one sentence naming it', async () => {
    await expect(start({ tlsCertFile: join(dir, 'missing.pem') })).rejects.toThrow(`cannot read the certificate ${join(dir, 'missing.pem')} (--tls-cert): it does not exist`);
    await expect(start({ tlsKeyFile: undefined })).rejects.toThrow('the TLS listener needs the private key: --tls-key (ssl_options.keyfile in rabbitmq.conf)');
    const garbled = join(dir, 'garbled.pem');
    writeFileSync(garbled, '-----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----\n');
    await expect(start({ tlsKeyFile: garbled })).rejects.toThrow(/^the TLS certificate, key or CA cannot be used \(--tls-cert, --tls-key, --tls-ca\): /);
  });

  it('reloads the certificate without a restart', async () => {
    const own = certs.makeServer('reloaded');
    const b = await start({ tlsCertFile: own.certFile, tlsKeyFile: own.keyFile, tlsWatchIntervalMs: 0 });
    const servedSerial = async () => {
      const s = tlsConnect({ host: '127.0.0.1', port: b.tlsPort!, ca: [certs.ca] });
      await new Promise<void>((resolve, reject) => s.once('secureConnect', resolve).once('error', reject));
      const serial = s.getPeerCertificate().serialNumber;
      s.destroy();
      return serial;
    };
    const before = await servedSerial();
    const renewed = certs.makeServer('renewed');
    writeFileSync(own.certFile, renewed.cert);
    writeFileSync(own.keyFile, renewed.key);
    b.reloadTls();
    expect(await servedSerial()).not.toBe(before);
    // A file that does not parse leaves the working certificate in place.
    writeFileSync(own.keyFile, 'not a key');
    expect(() => b.reloadTls()).toThrow(/the TLS certificate, key or CA cannot be used/);
    expect(await refused(connect(b))).toBe('connected');
  });

  it('picks up certificate files changed on disk, and keeps serving the old ones while the new cannot be used', async () => {
    const own = certs.makeServer('watched');
    const log = captureLog('info');
    const b = await start({ tlsCertFile: own.certFile, tlsKeyFile: own.keyFile, tlsWatchIntervalMs: 25, logger: log.logger });
    const before = await servedSerial(b);
    // Renewed in place, certificate first and key second, as a renewal script writes them.
    const renewed = certs.makeServer('renewed-in-place');
    writeFileSync(own.certFile, renewed.cert);
    writeFileSync(own.keyFile, renewed.key);
    const renewedSerial = serialOf(renewed);
    expect(renewedSerial).not.toBe(before);
    await until(async () => (await servedSerial(b)) === renewedSerial, 'the renewed certificate is served');
    // A key that does not parse: logged, and the renewed certificate stays in use.
    writeFileSync(own.keyFile, 'not a key');
    await until(async () => log.lines.some((l) => l.msg === 'TLS certificates changed on disk but not reloaded; the old ones stay in use'), 'the failed reload is logged');
    expect(await servedSerial(b)).toBe(renewedSerial);
    expect(await refused(connect(b))).toBe('connected');
    // Replaced by rename (a new inode, as certbot's and Kubernetes' symlink swaps do): picked up too.
    const third = certs.makeServer('renamed-in');
    renameSync(third.keyFile, own.keyFile);
    renameSync(third.certFile, own.certFile);
    await until(async () => (await servedSerial(b)) === serialOf(third), 'the renamed-in certificate is served');
    expect(log.lines.filter((l) => l.msg === 'TLS certificates reloaded').length).toBeGreaterThanOrEqual(2);
  });

  it('without plain AMQP (listeners.tcp = none), the TLS listener is the broker', async () => {
    const b = await start({ tcpListener: false });
    expect(b.port).toBe(b.tlsPort);
    expect(b.url).toBe(b.tlsUrl);
    expect(await refused(connect(b))).toBe('connected');
  });
});

describe('SASL EXTERNAL', () => {
  const external = { credentials: amqp.credentials.external() };
  const withExternal: StartOptions = { tlsVerifyPeer: true, authMechanisms: ['PLAIN', 'AMQPLAIN', 'EXTERNAL'] };

  it("logs in as the certificate's distinguished name by default, with no password", async () => {
    const b = await start(withExternal);
    expect(await offered(b, certs.client)).toBe('AMQPLAIN EXTERNAL PLAIN');
    // The subject is O=Warren Test, then CN=tls-user; RabbitMQ writes the last RDN first.
    b.broker.access.addUser({ name: 'CN=tls-user,O=Warren Test', tags: [] });
    b.broker.access.setPermissions('CN=tls-user,O=Warren Test', '/', '.*', '.*', '.*');
    const c = await connect(b, certs.client, external, '');
    await (await c.createChannel()).checkExchange('amq.direct');
    expect([...b.broker.connections].map((x) => x.userName)).toContain('CN=tls-user,O=Warren Test');
  });

  it("logs in as the common name with ssl_cert_login_from = common_name; an unknown user is refused (403)", async () => {
    const b = await start({ ...withExternal, sslCertLoginFrom: 'common_name' });
    expect(await refused(connect(b, certs.client, external, ''))).toMatch(/ACCESS_REFUSED - Login was refused using authentication mechanism EXTERNAL/);
    b.broker.access.addUser({ name: 'tls-user', tags: [] });
    b.broker.access.setPermissions('tls-user', '/', '.*', '.*', '.*');
    const c = await connect(b, certs.client, external, '');
    await (await c.createChannel()).checkExchange('amq.direct');
    expect([...b.broker.connections].map((x) => x.userName)).toContain('tls-user');
  });

  it('is not offered without a client certificate, nor on plain AMQP, nor unless configured', async () => {
    const b = await start(withExternal);
    expect(await offered(b)).toBe('AMQPLAIN PLAIN');
    const raw = await RawClient.connect(b.port);
    raw.send(Buffer.from('AMQP\x00\x00\x09\x01', 'latin1'));
    expect(((await raw.method('connection.start')) as { mechanisms: Buffer }).mechanisms.toString()).toBe('AMQPLAIN PLAIN');
    // Choosing it anyway: RabbitMQ's "invalid authentication mechanism", a silent close.
    await raw.handshake({ mechanism: 'EXTERNAL' }).catch(() => {});
    expect(await raw.waitClosed()).toBe(true);
    const plainOnly = await start({ tlsVerifyPeer: true });
    expect(await offered(plainOnly, certs.client)).toBe('AMQPLAIN PLAIN');
  });
});
