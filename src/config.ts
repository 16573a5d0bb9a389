/**
 * Broker settings, their defaults (RabbitMQ's where it has one), and how the command line and the
 * environment set them.
 */
import { parseArgs as parseNodeArgs, type ParseArgsConfig } from 'node:util';
import { DEFAULT_AUTH_MECHANISMS } from './auth.js';
import { RABBITMQ_VERSIONS, personalityFor, type RabbitMqVersion } from './personality.js';
import {
  DEFAULT_DISK_FREE_LIMIT,
  DEFAULT_MEMORY_WATERMARK,
  parseInformationUnit,
  parseMemoryWatermark,
  type MemoryWatermark,
} from './resource-alarms.js';

export type Durability = 'fsync' | 'os' | 'memory';
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

export interface BrokerConfig {
  /** TCP port; 0 picks a free one. */
  port: number;
  host: string;
  dataDir: string;
  durability: Durability;
  logLevel: LogLevel;
  /** Offered in connection.tune; RabbitMQ's defaults. */
  channelMax: number;
  frameMax: number;
  heartbeat: number;
  /** Largest message body accepted (RabbitMQ's max_message_size: 16 MiB in 4.x, 128 MiB in 3.x). */
  maxMessageSize: number;
  /** Time a client has to complete the handshake (RabbitMQ's handshake_timeout). */
  handshakeTimeoutMs: number;
  /**
   * Pause before closing the socket of a client that failed the handshake, so a misbehaving client
   * cannot retry in a tight loop (RabbitMQ's SILENT_CLOSE_DELAY, 3 s).
   */
  silentCloseDelayMs: number;
  /** Longest wait for a client's connection.close-ok before the socket is closed anyway (RabbitMQ: 30 s). */
  closeTimeoutMs: number;
  /**
   * What a first start creates (RabbitMQ's default_user, default_pass, default_vhost,
   * default_user_tags, default_permissions): a user with these tags and permissions on the vhost.
   * A data directory that has users and vhosts already keeps its own.
   */
  defaultUser: string;
  defaultPass: string;
  defaultVhost: string;
  defaultUserTags: readonly string[];
  /** configure, write, read */
  defaultPermissions: readonly [string, string, string];
  /** RabbitMQ's loopback_users: these users may only connect through a loopback interface. */
  loopbackUsers: readonly string[];
  /**
   * RabbitMQ's load_definitions: a definitions JSON file (or a directory of them) imported at every
   * start, before clients are accepted. With it, a first start creates no default user and vhost.
   */
  loadDefinitions: string | undefined;
  /** RabbitMQ's auth_mechanisms: the SASL mechanisms offered (EXTERNAL only on TLS with a client certificate). */
  authMechanisms: readonly string[];
  /** listeners.ssl.default: the AMQPS port (0 picks a free one); undefined: no TLS listener. */
  tlsPort: number | undefined;
  /** ssl_options.certfile, keyfile, cacertfile: PEM files. */
  tlsCertFile: string | undefined;
  tlsKeyFile: string | undefined;
  tlsCaFile: string | undefined;
  /** ssl_options.verify = verify_peer: ask for a client certificate and refuse one the CA did not sign. */
  tlsVerifyPeer: boolean;
  /** ssl_options.fail_if_no_peer_cert: with verify_peer, refuse a client without a certificate. */
  tlsFailIfNoPeerCert: boolean;
  /** rabbitmq_auth_mechanism_ssl's ssl_cert_login_from: which name of the certificate EXTERNAL logs in as. */
  sslCertLoginFrom: 'distinguished_name' | 'common_name';
  /** Whether to listen for plain AMQP at all (`listeners.tcp = none` turns it off, for TLS only). */
  tcpListener: boolean;
  /**
   * Quorum queues without x-delivery-limit get RabbitMQ 4's default limit of 20 deliveries
   * (RabbitMQ 3.x: unlimited).
   */
  quorumDeliveryLimitDefault: boolean;
  /**
   * consumer_timeout in ms: a delivery unacknowledged this long closes its channel with 406 and
   * requeues the channel's unacknowledged messages (RabbitMQ's default: 30 minutes). 0 turns it off.
   */
  consumerTimeoutMs: number;
  /**
   * The RabbitMQ release whose behaviour Warren reproduces (src/personality.ts). Unset: the newest
   * release's behaviour, with Warren naming itself in connection.start.
   */
  rabbitmqVersion: RabbitMqVersion | undefined;
  /** Log (and count) each use of something the next RabbitMQ major removes or changes. */
  strictUpgrade: boolean;
  /**
   * RabbitMQ's vm_memory_high_watermark: above this much resident memory (a fraction of the machine's
   * or cgroup's memory, or an absolute amount) a memory alarm blocks publishers. Default 0.4.
   */
  vmMemoryHighWatermark: MemoryWatermark;
  /**
   * RabbitMQ's disk_free_limit, bytes: with less free space than this on the data directory's
   * filesystem a disk alarm blocks publishers. Default 50000000.
   */
  diskFreeLimit: number;
  /**
   * The MQTT listener's port (mqtt.listeners.tcp.default), on the AMQP listener's address; undefined:
   * no MQTT listener. The command line's default is 1883 (`--mqtt-port 0` turns it off); the
   * embedding API has none unless asked, and there 0 picks a free port.
   */
  mqttPort: number | undefined;
  /**
   * MQTT over TLS (mqtt.listeners.ssl.default), with the AMQP TLS listener's certificate, key, CA
   * and peer verification (ssl_options); undefined: none. 0 picks a free port.
   */
  mqttTlsPort: number | undefined;
  /** mqtt.allow_anonymous: a CONNECT without credentials logs in as mqttDefaultUser (RabbitMQ: true). */
  mqttAllowAnonymous: boolean;
  /** mqtt.default_user and mqtt.default_pass (RabbitMQ: guest, guest). */
  mqttDefaultUser: string;
  mqttDefaultPass: string;
  /** mqtt.vhost: the vhost of MQTT users who do not name one ("vhost:user"). */
  mqttVhost: string;
  /** mqtt.exchange: the topic exchange MQTT publishes into and subscriptions bind to. */
  mqttExchange: string;
  /** mqtt.prefetch: unacknowledged QoS 1 deliveries per MQTT subscriber (RabbitMQ: 10). */
  mqttPrefetch: number;
  /**
   * The management HTTP API's port (RabbitMQ's management.tcp.port, 15672); 0 picks a free one.
   * Undefined: no HTTP API (the command line's `--management-port 0`, and embedded brokers by default).
   */
  managementPort: number | undefined;
  /** The Prometheus endpoint's port (rabbitmq_prometheus's prometheus.tcp.port, 15692); like managementPort otherwise. */
  prometheusPort: number | undefined;
  /** Serve the test hooks under /api/test/ of the management API, to administrators (broker/test-hooks.ts). */
  testHooks: boolean;
}

/** Settings whose default is the imitated release's (personality.ts): unset means that default. */
type ReleaseDefaulted = 'maxMessageSize' | 'quorumDeliveryLimitDefault' | 'consumerTimeoutMs';

/** Settings as given: those with a release-dependent default may be left out. */
export type BrokerSettings = Omit<BrokerConfig, ReleaseDefaulted> & Partial<Pick<BrokerConfig, ReleaseDefaulted>>;

export const DEFAULTS: BrokerSettings = {
  port: 5672,
  host: '::',
  dataDir: './data',
  durability: 'fsync',
  logLevel: 'info',
  channelMax: 2047,
  frameMax: 131072,
  heartbeat: 60,
  handshakeTimeoutMs: 10_000,
  silentCloseDelayMs: 3_000,
  closeTimeoutMs: 30_000,
  rabbitmqVersion: undefined,
  strictUpgrade: false,
  defaultUser: 'guest',
  defaultPass: 'guest',
  defaultVhost: '/',
  defaultUserTags: ['administrator'],
  defaultPermissions: ['.*', '.*', '.*'],
  loopbackUsers: ['guest'],
  loadDefinitions: undefined,
  authMechanisms: DEFAULT_AUTH_MECHANISMS,
  tlsPort: undefined,
  tlsCertFile: undefined,
  tlsKeyFile: undefined,
  tlsCaFile: undefined,
  tlsVerifyPeer: false,
  tlsFailIfNoPeerCert: false,
  sslCertLoginFrom: 'distinguished_name',
  tcpListener: true,
  vmMemoryHighWatermark: DEFAULT_MEMORY_WATERMARK,
  diskFreeLimit: DEFAULT_DISK_FREE_LIMIT,
  mqttPort: 1883,
  mqttTlsPort: undefined,
  mqttAllowAnonymous: true,
  mqttDefaultUser: 'guest',
  mqttDefaultPass: 'guest',
  mqttVhost: '/',
  mqttExchange: 'amq.topic',
  mqttPrefetch: 10,
  managementPort: 15672,
  prometheusPort: 15692,
  testHooks: false,
};

/** The smallest frame_max a client may negotiate (the spec's FRAME-MIN-SIZE). */
export const FRAME_MIN_SIZE = 4096;

/** The settings with every release-dependent default filled in from the chosen personality. */
export function resolveConfig(s: BrokerSettings): BrokerConfig {
  const p = personalityFor(s.rabbitmqVersion);
  return {
    ...s,
    maxMessageSize: s.maxMessageSize ?? p.maxMessageSize,
    quorumDeliveryLimitDefault: s.quorumDeliveryLimitDefault ?? p.quorumDeliveryLimit !== undefined,
    consumerTimeoutMs: s.consumerTimeoutMs ?? p.consumerTimeoutMs,
  };
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** How log lines are written: one JSON object per line, or a line for people to read. */
export type LogFormat = 'json' | 'pretty';

/** What the command line gives: broker settings plus the CLI's own (which only the CLI uses). */
export interface CliOptions extends Partial<BrokerConfig> {
  /** Not a broker setting: embedders pass their own logger. Unset: pretty on a terminal, else JSON. */
  logFormat?: LogFormat;
  /** The rabbitmq.conf to read (the command line reads it; its settings go under the flags'). */
  configFile?: string;
  help?: true;
  version?: true;
}

interface OptionSpec {
  key: keyof BrokerConfig | 'logFormat' | 'configFile';
  /** The long flag, `--name`. */
  flag: string;
  /** A one-letter alias for the options people type most. */
  short?: string;
  /** What the value is, for the usage text. */
  arg: string;
  /** For a switch: the value the flag means when given alone (`--strict-upgrade`). */
  bare?: string;
  env: string;
  parse: (v: string) => unknown;
  help: string;
}

const int = (name: string, min: number, max: number) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got '${v}'`);
  return n;
};
const bool = (name: string) => (v: string) => {
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw new ConfigError(`${name} must be true or false, got '${v}'`);
};
const oneOf = <T extends string>(name: string, values: readonly T[]) => (v: string) => {
  if (!values.includes(v as T)) throw new ConfigError(`${name} must be one of ${values.join(', ')}, got '${v}'`);
  return v as T;
};
/** A listener's port where 0 turns the listener off (RabbitMQ's plugins have no "any free port"). */
const portOrOff = (name: string) => (v: string) => {
  const n = int(name, 0, 65535)(v);
  return n === 0 ? undefined : n;
};
const mechanisms = (v: string) => {
  const names = v.split(',').map((m) => m.trim().toUpperCase()).filter((m) => m !== '');
  const unknown = names.filter((m) => !['PLAIN', 'AMQPLAIN', 'EXTERNAL'].includes(m));
  if (names.length === 0 || unknown.length > 0) throw new ConfigError(`auth-mechanisms must list PLAIN, AMQPLAIN or EXTERNAL, got '${v}'`);
  return names;
};
/** loopback_users as a list: comma-separated names, or `none`. */
const userList = (v: string) => (v === 'none' ? [] : v.split(',').map((u) => u.trim()).filter((u) => u !== ''));
const watermark = (v: string) => {
  const w = parseMemoryWatermark(v);
  if (w === undefined) throw new ConfigError(`vm-memory-high-watermark must be a fraction from 0 to 1 or an amount like 2GB, got '${v}'`);
  return w;
};
const bytes = (name: string) => (v: string) => {
  const n = parseInformationUnit(v);
  if (n === undefined || !Number.isSafeInteger(n)) throw new ConfigError(`${name} must be a number of bytes, optionally with a unit (kB MB GB, KiB MiB GiB), got '${v}'`);
  return n;
};

/** --mqtt-port: 0 means no listener (undefined), as `mqtt.listeners.tcp = none`. */
const mqttPort = (v: string) => {
  const n = int('mqtt-port', 0, 65535)(v);
  return n === 0 ? undefined : n;
};

export const OPTIONS: readonly OptionSpec[] = [
  { key: 'port', flag: '--port', short: 'p', arg: 'port', env: 'WARREN_PORT', parse: int('port', 0, 65535), help: 'TCP port to listen on (default 5672; 0 = any free port)' },
  { key: 'host', flag: '--host', arg: 'address', env: 'WARREN_HOST', parse: String, help: 'address to listen on (default :: , all interfaces)' },
  { key: 'dataDir', flag: '--data-dir', short: 'd', arg: 'dir', env: 'WARREN_DATA_DIR', parse: String, help: 'directory for durable data (default ./data)' },
  { key: 'durability', flag: '--durability', arg: 'mode', env: 'WARREN_DURABILITY', parse: oneOf('durability', ['fsync', 'os', 'memory'] as const), help: 'fsync (default): confirm after fdatasync; os: after the write reached the kernel; memory: nothing on disk' },
  { key: 'logLevel', flag: '--log-level', short: 'l', arg: 'level', env: 'WARREN_LOG_LEVEL', parse: oneOf('log level', ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const), help: 'trace, debug, info (default), warn, error, fatal or silent' },
  { key: 'logFormat', flag: '--log-format', arg: 'format', env: 'WARREN_LOG_FORMAT', parse: oneOf('log format', ['pretty', 'json'] as const), help: 'pretty: a line to read (default on a terminal); json: one JSON object per line (default otherwise)' },
  { key: 'heartbeat', flag: '--heartbeat', arg: 'seconds', env: 'WARREN_HEARTBEAT', parse: int('heartbeat', 0, 65535), help: 'heartbeat interval offered to clients in seconds (default 60)' },
  { key: 'frameMax', flag: '--frame-max', arg: 'bytes', env: 'WARREN_FRAME_MAX', parse: int('frame-max', FRAME_MIN_SIZE, 0xffffffff), help: 'largest frame offered to clients (default 131072)' },
  { key: 'channelMax', flag: '--channel-max', arg: 'n', env: 'WARREN_CHANNEL_MAX', parse: int('channel-max', 1, 65535), help: 'most channels per connection (default 2047)' },
  { key: 'consumerTimeoutMs', flag: '--consumer-timeout', arg: 'ms', env: 'WARREN_CONSUMER_TIMEOUT', parse: int('consumer-timeout', 0, 2 ** 31 - 1), help: 'close a channel whose delivery stays unacknowledged this many ms (406, as RabbitMQ; default 1800000); 0 = off' },
  { key: 'quorumDeliveryLimitDefault', flag: '--quorum-delivery-limit-default', arg: 'bool', env: 'WARREN_QUORUM_DELIVERY_LIMIT_DEFAULT', parse: bool('quorum-delivery-limit-default'), help: "true: quorum queues without x-delivery-limit get RabbitMQ 4's default of 20 (default: true for 4.x, false for 3.x)" },
  { key: 'vmMemoryHighWatermark', flag: '--vm-memory-high-watermark', arg: 'value', env: 'WARREN_VM_MEMORY_HIGH_WATERMARK', parse: watermark, help: 'block publishers above this much memory: a fraction of total RAM (default 0.4) or an amount like 2GB' },
  { key: 'diskFreeLimit', flag: '--disk-free-limit', arg: 'value', env: 'WARREN_DISK_FREE_LIMIT', parse: bytes('disk-free-limit'), help: "block publishers when the data directory's disk has less free space (default 50MB; units kB MB GB KiB MiB GiB)" },
  { key: 'maxMessageSize', flag: '--max-message-size', arg: 'bytes', env: 'WARREN_MAX_MESSAGE_SIZE', parse: int('max-message-size', 1, 512 * 1024 * 1024), help: 'largest message body in bytes (default: 16777216 for 4.x, 134217728 for 3.x)' },
  { key: 'rabbitmqVersion', flag: '--rabbitmq-version', arg: 'release', env: 'WARREN_RABBITMQ_VERSION', parse: oneOf('rabbitmq-version', RABBITMQ_VERSIONS), help: "behave as this RabbitMQ release and name it in connection.start: 3.10, 3.13 or 4.x (default: 4.x's behaviour, named Warren)" },
  { key: 'strictUpgrade', flag: '--strict-upgrade', arg: 'bool', env: 'WARREN_STRICT_UPGRADE', bare: 'true', parse: bool('strict-upgrade'), help: 'warn once per connection about each use of something the next RabbitMQ major removes or changes (default false)' },
  { key: 'managementPort', flag: '--management-port', arg: 'port', env: 'WARREN_MANAGEMENT_PORT', parse: portOrOff('management-port'), help: "the management HTTP API's port, RabbitMQ's (default 15672); 0 = off" },
  { key: 'testHooks', flag: '--test-hooks', arg: 'bool', env: 'WARREN_TEST_HOOKS', bare: 'true', parse: bool('test-hooks'), help: 'serve the test hooks under /api/test/ of the management API, to administrators (default false; never in production)' },
  { key: 'prometheusPort', flag: '--prometheus-port', arg: 'port', env: 'WARREN_PROMETHEUS_PORT', parse: portOrOff('prometheus-port'), help: "the Prometheus metrics endpoint's port, RabbitMQ's (default 15692); 0 = off" },
  // RabbitMQ's own variables where it has one (its container image documents them).
  { key: 'configFile', flag: '--config', short: 'c', arg: 'file', env: 'RABBITMQ_CONFIG_FILE', parse: String, help: 'a rabbitmq.conf to read (default /etc/rabbitmq/rabbitmq.conf if it exists); flags and variables win over it' },
  { key: 'loadDefinitions', flag: '--load-definitions', arg: 'file', env: 'WARREN_LOAD_DEFINITIONS', parse: String, help: 'a RabbitMQ definitions JSON file (or a directory of them) to import at every start' },
  { key: 'defaultUser', flag: '--default-user', arg: 'name', env: 'RABBITMQ_DEFAULT_USER', parse: String, help: 'the user a first start creates (default guest)' },
  { key: 'defaultPass', flag: '--default-pass', arg: 'password', env: 'RABBITMQ_DEFAULT_PASS', parse: String, help: "that user's password (default guest)" },
  { key: 'defaultVhost', flag: '--default-vhost', arg: 'name', env: 'RABBITMQ_DEFAULT_VHOST', parse: String, help: 'the vhost a first start creates (default /)' },
  { key: 'loopbackUsers', flag: '--loopback-users', arg: 'users', env: 'WARREN_LOOPBACK_USERS', parse: userList, help: 'users who may connect only through loopback, comma-separated, or none (default guest)' },
  { key: 'authMechanisms', flag: '--auth-mechanisms', arg: 'names', env: 'WARREN_AUTH_MECHANISMS', parse: mechanisms, help: 'SASL mechanisms to offer, comma-separated, of PLAIN, AMQPLAIN, EXTERNAL (default PLAIN,AMQPLAIN)' },
  { key: 'tlsPort', flag: '--tls-port', arg: 'port', env: 'WARREN_TLS_PORT', parse: int('tls-port', 0, 65535), help: 'also listen for AMQP over TLS (amqps) on this port; needs --tls-cert and --tls-key' },
  { key: 'tlsCertFile', flag: '--tls-cert', arg: 'file', env: 'WARREN_TLS_CERT', parse: String, help: "the server's certificate chain (PEM)" },
  { key: 'tlsKeyFile', flag: '--tls-key', arg: 'file', env: 'WARREN_TLS_KEY', parse: String, help: "the server's private key (PEM)" },
  { key: 'tlsCaFile', flag: '--tls-ca', arg: 'file', env: 'WARREN_TLS_CA', parse: String, help: 'CA certificates that sign client certificates (PEM)' },
  { key: 'tlsVerifyPeer', flag: '--tls-verify-peer', arg: 'bool', env: 'WARREN_TLS_VERIFY_PEER', parse: bool('tls-verify-peer'), help: "true: ask for a client certificate and refuse one the CA did not sign (ssl_options.verify = verify_peer)" },
  { key: 'tlsFailIfNoPeerCert', flag: '--tls-fail-if-no-peer-cert', arg: 'bool', env: 'WARREN_TLS_FAIL_IF_NO_PEER_CERT', parse: bool('tls-fail-if-no-peer-cert'), help: 'true: with --tls-verify-peer, refuse clients without a certificate' },
  { key: 'mqttPort', flag: '--mqtt-port', arg: 'port', env: 'WARREN_MQTT_PORT', parse: mqttPort, help: 'listen for MQTT 3.1.0 and 3.1.1 on this port (default 1883; 0 = no MQTT listener)' },
  { key: 'mqttTlsPort', flag: '--mqtt-tls-port', arg: 'port', env: 'WARREN_MQTT_TLS_PORT', parse: int('mqtt-tls-port', 0, 65535), help: 'also listen for MQTT over TLS on this port (8883 is usual), with the --tls-cert, --tls-key and --tls-ca of AMQPS' },
  { key: 'sslCertLoginFrom', flag: '--ssl-cert-login-from', arg: 'name', env: 'WARREN_SSL_CERT_LOGIN_FROM', parse: oneOf('ssl-cert-login-from', ['distinguished_name', 'common_name'] as const), help: "EXTERNAL logs in as the certificate's distinguished_name (default) or common_name" },
];

/** Flags that take no value and stop the parse: they print something and exit. */
const ACTIONS = [
  { key: 'help', flag: '--help', short: 'h', help: 'print this text and exit' },
  { key: 'version', flag: '--version', short: 'v', help: "print Warren's version and exit" },
] as const;

/** node:util parseArgs' description of the flags; values are checked here, not there. */
const NODE_OPTIONS: ParseArgsConfig['options'] = Object.fromEntries([
  ...OPTIONS.map((o) => [o.flag.slice(2), { type: o.bare === undefined ? ('string' as const) : ('boolean' as const), ...(o.short ? { short: o.short } : {}) }]),
  ...ACTIONS.map((a) => [a.flag.slice(2), { type: 'boolean' as const, short: a.short }]),
]);

/**
 * Reads settings from the environment, then the command line (which wins; of a flag given twice,
 * the last). `--help` and `--version` win over everything else.
 *
 * Node's own parser (util.parseArgs) splits the arguments: long and short flags, `--flag=value`,
 * `-p5672`, `--`. It runs non-strict, so that every mistake gets a message of ours naming the flag
 * and the fix, rather than Node's error text.
 */
export function parseArgs(argv: readonly string[], env: NodeJS.ProcessEnv): CliOptions {
  const { tokens } = parseNodeArgs({ args: [...argv], options: NODE_OPTIONS, strict: false, allowPositionals: true, tokens: true });
  for (const a of ACTIONS) {
    if (tokens.some((t) => t.kind === 'option' && t.name === a.flag.slice(2) && t.value === undefined)) return { [a.key]: true };
  }
  const out: Record<string, unknown> = {};
  for (const o of OPTIONS) {
    const v = env[o.env];
    if (v === undefined || v === '') continue;
    try {
      out[o.key] = o.parse(v);
    } catch (e) {
      if (e instanceof ConfigError) throw new ConfigError(`${o.env}: ${e.message}`);
      throw e;
    }
  }
  for (const t of tokens) {
    if (t.kind === 'option-terminator') continue;
    if (t.kind === 'positional') throw new ConfigError(`unexpected argument '${t.value}': every setting is a flag (see --help)`);
    const given = t.inlineValue ? `${t.rawName}=${t.value}` : t.rawName;
    const action = ACTIONS.find((a) => a.flag.slice(2) === t.name);
    if (action !== undefined) throw new ConfigError(`${action.flag} takes no value, got '${given}'`);
    const o = OPTIONS.find((x) => x.flag.slice(2) === t.name);
    if (o === undefined) throw new ConfigError(`unknown option '${given}' (see --help)`);
    if (t.value === undefined) {
      if (o.bare === undefined) throw new ConfigError(`${o.flag} needs a value`);
      out[o.key] = o.parse(o.bare);
      continue;
    }
    // `--data-dir --port 1` would take "--port" as the directory: a value that looks like a flag
    // must be given as --flag=value (the rule util.parseArgs applies in strict mode).
    if (!t.inlineValue && t.value.startsWith('-') && t.value.length > 1) {
      throw new ConfigError(`${o.flag} needs a value, got the flag '${t.value}' (write ${o.flag}=${t.value} if that is the value)`);
    }
    out[o.key] = o.parse(t.value);
  }
  return out as CliOptions;
}

export function usage(): string {
  const name = (flag: string, short: string | undefined, arg?: string, bare = false) =>
    `${short ? `-${short}, ` : '    '}${flag}${arg === undefined ? '' : bare ? `[=<${arg}>]` : ` <${arg}>`}`;
  const rows = [
    ...OPTIONS.map((o) => ({ name: name(o.flag, o.short, o.arg, o.bare !== undefined), help: o.help, env: o.env })),
    ...ACTIONS.map((a) => ({ name: name(a.flag, a.short), help: a.help, env: undefined })),
  ];
  const width = Math.max(...rows.map((r) => r.name.length)) + 2;
  const lines = rows.map((r) => `  ${r.name.padEnd(width)}${r.help}${r.env ? `\n  ${''.padEnd(width)}env ${r.env}` : ''}`);
  return [
    'Usage: warren [options]',
    '       warren ctl <command> [options]   rabbitmqctl\'s commands against a running node (warren ctl help)',
    '',
    'Warren, an AMQP 0-9-1 broker compatible with RabbitMQ clients.',
    'Every option can also be set by its environment variable; a flag wins over the variable, and both',
    'over the configuration file (rabbitmq.conf).',
    '',
    ...lines,
    '',
  ].join('\n');
}
