/**
 * Broker settings, their defaults (RabbitMQ's where it has one), and how the command line and the
 * environment set them.
 */
import type { UserDefinition } from './auth.js';
import { DEFAULT_USERS } from './auth.js';
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
  /** Largest message body accepted (RabbitMQ's max_message_size, 128 MiB by default). */
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
  users: readonly UserDefinition[];
  vhosts: readonly string[];
  /**
   * Quorum queues without x-delivery-limit get RabbitMQ 4's default limit of 20 deliveries
   * (RabbitMQ 3.x: unlimited, the default here).
   */
  quorumDeliveryLimitDefault: boolean;
  /**
   * consumer_timeout in ms: a delivery unacknowledged this long closes its channel with 406 and
   * requeues the channel's unacknowledged messages. 0 (the default here) turns it off.
   */
  consumerTimeoutMs: number;
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
}

export const DEFAULTS: BrokerConfig = {
  port: 5672,
  host: '::',
  dataDir: './data',
  durability: 'fsync',
  logLevel: 'info',
  channelMax: 2047,
  frameMax: 131072,
  heartbeat: 60,
  maxMessageSize: 128 * 1024 * 1024,
  handshakeTimeoutMs: 10_000,
  silentCloseDelayMs: 3_000,
  closeTimeoutMs: 30_000,
  users: DEFAULT_USERS,
  vhosts: ['/'],
  quorumDeliveryLimitDefault: false,
  consumerTimeoutMs: 0,
  vmMemoryHighWatermark: DEFAULT_MEMORY_WATERMARK,
  diskFreeLimit: DEFAULT_DISK_FREE_LIMIT,
};

/** The smallest frame_max a client may negotiate (the spec's FRAME-MIN-SIZE). */
export const FRAME_MIN_SIZE = 4096;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

interface OptionSpec {
  key: keyof BrokerConfig;
  flag: string;
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

const OPTIONS: readonly OptionSpec[] = [
  { key: 'port', flag: '--port', env: 'WARREN_PORT', parse: int('port', 0, 65535), help: 'TCP port to listen on (default 5672; 0 = any free port)' },
  { key: 'host', flag: '--host', env: 'WARREN_HOST', parse: String, help: 'address to listen on (default :: , all interfaces)' },
  { key: 'dataDir', flag: '--data-dir', env: 'WARREN_DATA_DIR', parse: String, help: 'directory for durable data (default ./data)' },
  { key: 'durability', flag: '--durability', env: 'WARREN_DURABILITY', parse: oneOf('durability', ['fsync', 'os', 'memory'] as const), help: 'fsync (default): confirm after fdatasync; os: after the write reached the kernel; memory: nothing on disk' },
  { key: 'logLevel', flag: '--log-level', env: 'WARREN_LOG_LEVEL', parse: oneOf('log level', ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const), help: 'trace, debug, info (default), warn, error, fatal or silent' },
  { key: 'heartbeat', flag: '--heartbeat', env: 'WARREN_HEARTBEAT', parse: int('heartbeat', 0, 65535), help: 'heartbeat interval offered to clients in seconds (default 60)' },
  { key: 'frameMax', flag: '--frame-max', env: 'WARREN_FRAME_MAX', parse: int('frame-max', FRAME_MIN_SIZE, 0xffffffff), help: 'largest frame offered to clients (default 131072)' },
  { key: 'channelMax', flag: '--channel-max', env: 'WARREN_CHANNEL_MAX', parse: int('channel-max', 1, 65535), help: 'most channels per connection (default 2047)' },
  { key: 'consumerTimeoutMs', flag: '--consumer-timeout', env: 'WARREN_CONSUMER_TIMEOUT', parse: int('consumer-timeout', 0, 2 ** 31 - 1), help: 'close a channel whose delivery stays unacknowledged this many ms (406, as RabbitMQ); 0 = off (default)' },
  { key: 'quorumDeliveryLimitDefault', flag: '--quorum-delivery-limit-default', env: 'WARREN_QUORUM_DELIVERY_LIMIT_DEFAULT', parse: bool('quorum-delivery-limit-default'), help: "true: quorum queues without x-delivery-limit get RabbitMQ 4's default of 20 (default false)" },
  { key: 'vmMemoryHighWatermark', flag: '--vm-memory-high-watermark', env: 'WARREN_VM_MEMORY_HIGH_WATERMARK', parse: watermark, help: 'block publishers above this much memory: a fraction of total RAM (default 0.4) or an amount like 2GB' },
  { key: 'diskFreeLimit', flag: '--disk-free-limit', env: 'WARREN_DISK_FREE_LIMIT', parse: bytes('disk-free-limit'), help: "block publishers when the data directory's disk has less free space (default 50MB; units kB MB GB KiB MiB GiB)" },
  { key: 'maxMessageSize', flag: '--max-message-size', env: 'WARREN_MAX_MESSAGE_SIZE', parse: int('max-message-size', 1, 512 * 1024 * 1024), help: 'largest message body in bytes (default 134217728)' },
];

/** Reads settings from the environment, then the command line (which wins). */
export function parseArgs(argv: readonly string[], env: NodeJS.ProcessEnv): Partial<BrokerConfig> & { help?: boolean } {
  const out: Record<string, unknown> = {};
  for (const o of OPTIONS) {
    const v = env[o.env];
    if (v !== undefined && v !== '') out[o.key] = o.parse(v);
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') return { help: true };
    const eq = arg.indexOf('=');
    const flag = eq >= 0 ? arg.slice(0, eq) : arg;
    const o = OPTIONS.find((x) => x.flag === flag);
    if (o === undefined) throw new ConfigError(`unknown option '${arg}' (see --help)`);
    const value = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new ConfigError(`${flag} needs a value`);
    out[o.key] = o.parse(value);
  }
  return out as Partial<BrokerConfig>;
}

export function usage(): string {
  const width = Math.max(28, ...OPTIONS.map((o) => o.flag.length + 8));
  const lines = OPTIONS.map((o) => `  ${(o.flag + ' <value>').padEnd(width)} ${o.help}\n  ${''.padEnd(width)} env ${o.env}`);
  return `Usage: warren [options]\n\nWarren, an AMQP 0-9-1 broker compatible with RabbitMQ clients.\n\n${lines.join('\n')}\n`;
}
