/**
 * A rabbitmq.conf as Warren's settings: which file to read (the --config flag, RABBITMQ_CONFIG_FILE,
 * else /etc/rabbitmq/rabbitmq.conf if it exists, as RabbitMQ looks), its keys mapped onto
 * BrokerConfig, and what Warren cannot do with some of them said as warnings.
 *
 * The result holds only what the file sets: the caller puts it between the defaults and the command
 * line (flags over environment over file over defaults).
 */
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { FRAME_MIN_SIZE, type BrokerConfig, type LogLevel } from '../config.js';
import { systemProbes } from '../resource-alarms.js';
import { chooseConfigFile, defaultAccessFrom } from './environment.js';
import { ConfigFileError, decodeConfFile, parseRabbitConf, type RabbitConf } from './rabbitmq-conf.js';

export interface ConfigFileSettings {
  /** The file that was read, or undefined when there was none to read. */
  readonly path: string | undefined;
  readonly settings: Partial<BrokerConfig>;
  /** For the log, each naming its line where it has one. */
  readonly warnings: readonly string[];
}

/** cuttlefish's log levels onto pino's (notice is info to pino; the three above error are fatal). */
const LOG_LEVELS: Readonly<Record<NonNullable<RabbitConf['logConsoleLevel']>, LogLevel>> = {
  debug: 'debug',
  info: 'info',
  notice: 'info',
  warning: 'warn',
  error: 'error',
  critical: 'fatal',
  alert: 'fatal',
  emergency: 'fatal',
  none: 'silent',
};

/**
 * The BrokerConfig settings a parsed rabbitmq.conf gives. `totalMemory` turns a relative
 * disk_free_limit into bytes (RabbitMQ: a multiple of the memory the node may use).
 */
export function brokerSettingsFromConf(conf: RabbitConf, file = 'rabbitmq.conf', totalMemory = systemProbes.totalMemory): { settings: Partial<BrokerConfig>; warnings: string[] } {
  const s: Partial<BrokerConfig> = {};
  const warnings: string[] = [];
  if (conf.tcpListeners !== undefined) {
    const [first, ...more] = conf.tcpListeners;
    if (first === undefined) {
      if (conf.sslListeners === undefined || conf.sslListeners.length === 0) throw new ConfigFileError(0, 'listeners.tcp = none and no listeners.ssl: Warren would not listen at all', file);
      s.tcpListener = false;
    } else {
      s.port = first.port;
      if (first.host !== undefined) s.host = first.host;
      if (more.length > 0) warnings.push(`listeners.tcp.${more.map((l) => l.name).join(', listeners.tcp.')}: Warren listens on one address; it uses listeners.tcp.${first.name}`);
    }
  }
  if (conf.sslListeners !== undefined && conf.sslListeners.length > 0) {
    const [first, ...more] = conf.sslListeners;
    s.tlsPort = first!.port;
    // One address for both listeners: a TLS listener on another address than the TCP one is not kept.
    if (first!.host !== undefined && s.host === undefined) s.host = first!.host;
    if (more.length > 0) warnings.push(`listeners.ssl.${more.map((l) => l.name).join(', listeners.ssl.')}: Warren listens on one TLS address; it uses listeners.ssl.${first!.name}`);
    const o = conf.sslOptions ?? {};
    if (o.certfile === undefined || o.keyfile === undefined) throw new ConfigFileError(0, 'listeners.ssl needs ssl_options.certfile and ssl_options.keyfile', file);
  }
  if (conf.sslOptions !== undefined) {
    const o = conf.sslOptions;
    if (o.certfile !== undefined) s.tlsCertFile = o.certfile;
    if (o.keyfile !== undefined) s.tlsKeyFile = o.keyfile;
    if (o.cacertfile !== undefined) s.tlsCaFile = o.cacertfile;
    if (o.verify !== undefined) s.tlsVerifyPeer = o.verify === 'verify_peer';
    if (o.failIfNoPeerCert !== undefined) s.tlsFailIfNoPeerCert = o.failIfNoPeerCert;
  }
  if (conf.sslCertLoginFrom !== undefined) s.sslCertLoginFrom = conf.sslCertLoginFrom;
  mqttSettingsFromConf(conf, file, s, warnings);
  // management.tcp.port = 0: no HTTP API (as --management-port 0).
  if (conf.managementTcpPort !== undefined) s.managementPort = conf.managementTcpPort === 0 ? undefined : conf.managementTcpPort;
  if (conf.prometheusTcpPort !== undefined) s.prometheusPort = conf.prometheusTcpPort === 0 ? undefined : conf.prometheusTcpPort;
  if (conf.authMechanisms !== undefined) {
    const known = conf.authMechanisms.filter((m) => ['PLAIN', 'AMQPLAIN', 'EXTERNAL'].includes(m));
    if (known.length === 0) throw new ConfigFileError(0, `auth_mechanisms: none of ${conf.authMechanisms.join(', ')} is a mechanism Warren has (PLAIN, AMQPLAIN, EXTERNAL)`, file);
    s.authMechanisms = known;
  }
  if (conf.heartbeat !== undefined) s.heartbeat = conf.heartbeat;
  if (conf.frameMax !== undefined) {
    // RabbitMQ takes 0 (no limit) and values below the protocol's minimum, which no client can use.
    if (conf.frameMax < FRAME_MIN_SIZE) throw new ConfigFileError(0, `frame_max: ${conf.frameMax} is below ${FRAME_MIN_SIZE}, the smallest frame AMQP allows (Warren has no "no limit")`, file);
    s.frameMax = conf.frameMax;
  }
  if (conf.channelMax !== undefined) s.channelMax = conf.channelMax;
  if (conf.maxMessageSize !== undefined) s.maxMessageSize = conf.maxMessageSize;
  if (conf.consumerTimeout !== undefined) s.consumerTimeoutMs = conf.consumerTimeout;
  if (conf.vmMemoryHighWatermark !== undefined) s.vmMemoryHighWatermark = conf.vmMemoryHighWatermark;
  if (conf.diskFreeLimit !== undefined) {
    s.diskFreeLimit = 'absolute' in conf.diskFreeLimit ? conf.diskFreeLimit.absolute : Math.trunc(conf.diskFreeLimit.relative * totalMemory());
  }
  if (conf.logConsoleLevel !== undefined) s.logLevel = LOG_LEVELS[conf.logConsoleLevel];
  if (conf.defaultUser !== undefined) s.defaultUser = conf.defaultUser;
  if (conf.defaultPass !== undefined) s.defaultPass = conf.defaultPass;
  if (conf.defaultVhost !== undefined) s.defaultVhost = conf.defaultVhost;
  if (conf.defaultUserTags !== undefined) s.defaultUserTags = conf.defaultUserTags;
  // defaultAccessFrom applies default_permissions as RabbitMQ 3.10.8 does (read and write swapped).
  if (conf.defaultPermissions !== undefined) s.defaultPermissions = defaultAccessFrom(conf, {}).permissions as [string, string, string];
  if (conf.loopbackUsers !== undefined) s.loopbackUsers = conf.loopbackUsers;
  if (conf.loadDefinitions !== undefined) s.loadDefinitions = conf.loadDefinitions;
  return { settings: s, warnings };
}

/** mqtt.listeners.tcp and .ssl (none or port 0: no MQTT listener) and the plugin's mqtt.* settings. */
function mqttSettingsFromConf(conf: RabbitConf, file: string, s: Partial<BrokerConfig>, warnings: string[]): void {
  if (conf.mqttTcpListeners !== undefined) {
    const [first, ...more] = conf.mqttTcpListeners;
    // `mqtt.listeners.tcp = none` (or port 0, as --mqtt-port 0): no MQTT listener.
    s.mqttPort = first === undefined || first.port === 0 ? undefined : first.port;
    if (more.length > 0) warnings.push(`mqtt.listeners.tcp.${more.map((l) => l.name).join(', mqtt.listeners.tcp.')}: Warren listens for MQTT on one port; it uses mqtt.listeners.tcp.${first!.name}`);
  }
  if (conf.mqttSslListeners !== undefined) {
    const [first, ...more] = conf.mqttSslListeners;
    s.mqttTlsPort = first!.port;
    if (more.length > 0) warnings.push(`mqtt.listeners.ssl.${more.map((l) => l.name).join(', mqtt.listeners.ssl.')}: Warren listens for MQTT over TLS on one port; it uses mqtt.listeners.ssl.${first!.name}`);
    const o = conf.sslOptions ?? {};
    if (o.certfile === undefined || o.keyfile === undefined) throw new ConfigFileError(0, 'mqtt.listeners.ssl needs ssl_options.certfile and ssl_options.keyfile', file);
  }
  if (conf.mqtt !== undefined) {
    const m = conf.mqtt;
    if (m.allowAnonymous !== undefined) s.mqttAllowAnonymous = m.allowAnonymous;
    if (m.defaultUser !== undefined) s.mqttDefaultUser = m.defaultUser;
    if (m.defaultPass !== undefined) s.mqttDefaultPass = m.defaultPass;
    if (m.vhost !== undefined) s.mqttVhost = m.vhost;
    if (m.exchange !== undefined) s.mqttExchange = m.exchange;
    if (m.prefetch !== undefined) s.mqttPrefetch = m.prefetch;
    if (m.sslCertLogin !== undefined) s.mqttSslCertLogin = m.sslCertLogin;
    if (m.maxPacketSize !== undefined) s.mqttMaxPacketSize = m.maxPacketSize;
  }
  // web_mqtt.tcp.port = 0: no MQTT over WebSocket (as --mqtt-ws-port 0).
  if (conf.webMqttTcpPort !== undefined) s.mqttWsPort = conf.webMqttTcpPort === 0 ? undefined : conf.webMqttTcpPort;
}

function readable(path: string): boolean {
  try {
    accessSync(path, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Reads the rabbitmq.conf the flag (or RABBITMQ_CONFIG_FILE, which the command line passes as the
 * flag's variable) names, or the default location when it exists. Throws ConfigFileError for a file
 * that was asked for and cannot be read, a syntax error or a bad value.
 */
export function readConfigFile(flag: string | undefined): ConfigFileSettings {
  let choice: ReturnType<typeof chooseConfigFile>;
  try {
    choice = chooseConfigFile(flag, {});
  } catch (e) {
    throw new ConfigFileError(0, (e as Error).message, flag);
  }
  const path = choice.path;
  if (!choice.required && !readable(path)) return { path: undefined, settings: {}, warnings: [] };
  let bytes: Buffer;
  try {
    if (statSync(path).isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    bytes = readFileSync(path);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new ConfigFileError(0, `cannot read the configuration file: ${err.code === 'ENOENT' ? 'it does not exist' : err.message}`, path);
  }
  const parsed = parseRabbitConf(decodeConfFile(bytes, path), { file: path, fileAccessible: readable });
  const { settings, warnings } = brokerSettingsFromConf(parsed.config, path);
  return { path, settings, warnings: [...parsed.warnings.map((w) => `${path}, line ${w.line}: ${w.message}`), ...warnings.map((w) => `${path}: ${w}`)] };
}
