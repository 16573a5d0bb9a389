/**
 * rabbitmq.conf onto BrokerConfig (src/config-file/broker-settings.ts): each supported key becomes the
 * setting it names, default_permissions as RabbitMQ 3.10.8 applies it, and what Warren cannot do is a
 * warning or, where it would leave the broker unusable, an error.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp from 'amqplib';
import { describe, expect, it } from 'vitest';
import { startBroker } from '../../src/index.js';
import { RawClient } from '../helpers/raw-client.js';
import { brokerSettingsFromConf, readConfigFile } from '../../src/config-file/broker-settings.js';
import { parseRabbitConf } from '../../src/config-file/rabbitmq-conf.js';

const settings = (text: string, totalMemory = () => 8_000_000_000) => brokerSettingsFromConf(parseRabbitConf(text).config, 'test.conf', totalMemory);

describe('rabbitmq.conf as broker settings', () => {
  it('maps the listener, tuning, limits, alarms, log level and defaults', () => {
    const { settings: s, warnings } = settings(
      [
        'listeners.tcp.default = 127.0.0.1:5999',
        'heartbeat = 30',
        'frame_max = 65536',
        'channel_max = 100',
        'max_message_size = 1048576',
        'consumer_timeout = 900000',
        'vm_memory_high_watermark.absolute = 2GB',
        'disk_free_limit.relative = 1.5',
        'log.console.level = warning',
        'default_user = admin',
        'default_pass = s3cret',
        'default_vhost = app',
        'default_user_tags.administrator = true',
        'default_user_tags.monitoring = true',
        'loopback_users = none',
        'load_definitions = /etc/rabbitmq/definitions.json',
      ].join('\n'),
    );
    expect(warnings).toEqual([]);
    expect(s).toEqual({
      port: 5999,
      host: '127.0.0.1',
      heartbeat: 30,
      frameMax: 65536,
      channelMax: 100,
      maxMessageSize: 1048576,
      consumerTimeoutMs: 900000,
      vmMemoryHighWatermark: { absolute: 2_000_000_000 },
      diskFreeLimit: 12_000_000_000,
      logLevel: 'warn',
      defaultUser: 'admin',
      defaultPass: 's3cret',
      defaultVhost: 'app',
      defaultUserTags: ['administrator', 'monitoring'],
      loopbackUsers: [],
      loadDefinitions: '/etc/rabbitmq/definitions.json',
    });
  });

  it('maps listeners.ssl and ssl_options onto the TLS listener, auth_mechanisms and ssl_cert_login_from', () => {
    const { settings: s, warnings } = settings(
      [
        'listeners.tcp = none',
        'listeners.ssl.default = 5671',
        'ssl_options.cacertfile = /etc/ca.pem',
        'ssl_options.certfile = /etc/server.pem',
        'ssl_options.keyfile = /etc/server.key',
        'ssl_options.verify = verify_peer',
        'ssl_options.fail_if_no_peer_cert = true',
        'auth_mechanisms.1 = EXTERNAL',
        'auth_mechanisms.2 = PLAIN',
        'ssl_cert_login_from = common_name',
      ].join('\n'),
    );
    expect(warnings).toEqual([]);
    expect(s).toEqual({
      tcpListener: false,
      tlsPort: 5671,
      tlsCaFile: '/etc/ca.pem',
      tlsCertFile: '/etc/server.pem',
      tlsKeyFile: '/etc/server.key',
      tlsVerifyPeer: true,
      tlsFailIfNoPeerCert: true,
      authMechanisms: ['EXTERNAL', 'PLAIN'],
      sslCertLoginFrom: 'common_name',
    });
    expect(() => settings('listeners.ssl.default = 5671')).toThrow('listeners.ssl needs ssl_options.certfile and ssl_options.keyfile');
  });

  it('sets nothing the file does not name', () => {
    expect(settings('# nothing\n')).toEqual({ settings: {}, warnings: [] });
  });

  it('applies default_permissions.read as the write permission and .write as read, as RabbitMQ 3.10.8 does', () => {
    expect(settings('default_permissions.configure = ^c\ndefault_permissions.read = ^r\ndefault_permissions.write = ^w').settings.defaultPermissions).toEqual(['^c', '^r', '^w']);
    expect(settings('default_permissions.write = ^w').settings.defaultPermissions).toEqual(['.*', '.*', '^w']);
  });

  it('maps every log level onto one of pino', () => {
    const levels = ['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency', 'none'];
    expect(levels.map((l) => settings(`log.console.level = ${l}`).settings.logLevel)).toEqual(['debug', 'info', 'info', 'warn', 'error', 'fatal', 'fatal', 'fatal', 'silent']);
  });

  it('takes the MQTT listener and the MQTT plugin settings (rabbitmq_mqtt.schema); none or port 0 turns MQTT off', () => {
    expect(settings('mqtt.listeners.tcp.default = 1884').settings.mqttPort).toBe(1884);
    for (const off of ['mqtt.listeners.tcp = none', 'mqtt.listeners.tcp.default = 0']) {
      const s = settings(off).settings;
      expect('mqttPort' in s && s.mqttPort === undefined).toBe(true);
    }
    expect(settings('mqtt.listeners.tcp.a = 1883\nmqtt.listeners.tcp.b = 1884').warnings).toEqual(['mqtt.listeners.tcp.b: Warren listens for MQTT on one port; it uses mqtt.listeners.tcp.a']);
    const conf = ['mqtt.allow_anonymous = false', 'mqtt.default_user = u', 'mqtt.default_pass = p', 'mqtt.vhost = v', 'mqtt.exchange = x', 'mqtt.prefetch = 5'].join('\n');
    expect(settings(conf).settings).toEqual({ mqttAllowAnonymous: false, mqttDefaultUser: 'u', mqttDefaultPass: 'p', mqttVhost: 'v', mqttExchange: 'x', mqttPrefetch: 5 });
    expect(() => settings('mqtt.prefetch = lots')).toThrow(/mqtt.prefetch/);
    expect(() => settings('mqtt.listeners.ssl.default = 8883')).toThrow('mqtt.listeners.ssl needs ssl_options.certfile and ssl_options.keyfile');
  });

  it('takes web_mqtt.tcp.port for MQTT over WebSocket (0 turns it off) and mqtt.ssl_cert_login', () => {
    expect(settings('web_mqtt.tcp.port = 15676').settings).toEqual({ mqttWsPort: 15676 });
    const off = settings('web_mqtt.tcp.port = 0').settings;
    expect('mqttWsPort' in off && off.mqttWsPort === undefined).toBe(true);
    expect(settings('mqtt.ssl_cert_login = true').settings).toEqual({ mqttSslCertLogin: true });
  });

  it('takes management.tcp.port for the HTTP API, 0 turning it off', () => {
    expect(settings('management.tcp.port = 15673')).toEqual({ settings: { managementPort: 15673 }, warnings: [] });
    const off = settings('management.tcp.port = 0');
    expect(off.warnings).toEqual([]);
    expect('managementPort' in off.settings && off.settings.managementPort === undefined).toBe(true);
    expect(settings('prometheus.tcp.port = 15693')).toEqual({ settings: { prometheusPort: 15693 }, warnings: [] });
  });

  it('warns about what Warren does not do, and refuses what would leave it unusable', () => {
    expect(settings('listeners.tcp.a = 5671\nlisteners.tcp.b = 5672').warnings).toEqual(['listeners.tcp.b: Warren listens on one address; it uses listeners.tcp.a']);
    expect(() => settings('listeners.tcp = none')).toThrow('test.conf: listeners.tcp = none and no listeners.ssl: Warren would not listen at all');
    expect(() => settings('frame_max = 0')).toThrow(/frame_max: 0 is below 4096/);
  });

  it('reads the file a flag names, with line numbers in warnings and errors', () => {
    const dir = mkdtempSync(join(tmpdir(), 'warren-conf-'));
    const file = join(dir, 'rabbitmq.conf');
    writeFileSync(file, 'heartbeat = 10\ncluster_formation.peer_discovery_backend = classic_config\n');
    expect(readConfigFile(file)).toEqual({
      path: file,
      settings: { heartbeat: 10 },
      warnings: [`${file}, line 2: cluster_formation.peer_discovery_backend is not a setting Warren supports; ignored`],
    });
    // Without the extension, as RabbitMQ takes RABBITMQ_CONFIG_FILE.
    expect(readConfigFile(join(dir, 'rabbitmq')).settings).toEqual({ heartbeat: 10 });
    writeFileSync(file, 'heartbeat = often\n');
    expect(() => readConfigFile(file)).toThrow(`${file}, line 1: heartbeat: 'often' is not an integer number of seconds from 0 to 65535`);
    expect(() => readConfigFile(join(dir, 'missing.conf'))).toThrow(`${join(dir, 'missing.conf')}: cannot read the configuration file: it does not exist`);
    writeFileSync(file, `load_definitions = ${join(dir, 'nope.json')}\n`);
    expect(() => readConfigFile(file)).toThrow(/line 1: load_definitions: file does not exist or cannot be read by the node/);
  });
});

describe('channel_max = 0 (no limit)', () => {
  it('is offered as 0 and a client taking it opens channels (numbers up to 65535)', async () => {
    const b = await startBroker({ port: 0, logLevel: 'silent', ...settings('channel_max = 0').settings });
    try {
      // amqplib takes 0 as 65535; a client may also answer 0 itself.
      const c = await amqp.connect(b.url);
      expect((c.connection as unknown as { channelMax: number }).channelMax).toBe(65535);
      await (await c.createChannel()).checkExchange('amq.direct');
      await c.close();
      const raw = await RawClient.connect(b.port);
      await raw.handshake({ channelMax: 0 });
      await raw.openChannel(1);
      await raw.openChannel(40000);
      raw.destroy();
    } finally {
      await b.close();
    }
  });
});
