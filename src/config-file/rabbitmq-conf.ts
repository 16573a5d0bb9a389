/**
 * RabbitMQ's new-style configuration file, rabbitmq.conf, for the keys Warren supports.
 *
 * Syntax (cuttlefish 3.0.1's conf_parse, which RabbitMQ 3.10.8 ships): one `key = value` per line;
 * a key is dot-separated words of letters, digits, `_` and `-` (`\.` puts a dot inside a word);
 * the value runs to the end of the line or to a `#`, which starts a comment even without a space
 * before it (so a password cannot contain `#`); surrounding spaces and tabs are dropped; quotes are
 * kept as part of the value; blank lines and `#` lines are skipped; an empty value is a syntax error.
 *
 * Values are checked as RabbitMQ's schema (deps/rabbit/priv/schema/rabbit.schema and the
 * management and MQTT schemas) types them, and against what AMQP can carry: a bad value is an error
 * naming its line; a key Warren does not know is a warning naming its line (RabbitMQ refuses to
 * start on it; Warren starts and says what it ignored). A key given twice keeps its last value,
 * with a warning.
 *
 * The typed result keeps only what the file says; defaults and the precedence of command-line
 * flags over environment over file are the caller's (see docs/access-control.md).
 */
import { parseInformationUnit, type MemoryWatermark } from '../resource-alarms.js';

export interface ConfigLine {
  /** The key's words, dots inside words unescaped. */
  readonly key: readonly string[];
  readonly value: string;
  readonly line: number;
}

export class ConfigFileError extends Error {
  override name = 'ConfigFileError';
  constructor(
    readonly line: number,
    readonly reason: string,
    readonly file?: string,
  ) {
    super(line > 0 ? `${file ?? 'rabbitmq.conf'}, line ${line}: ${reason}` : `${file ?? 'rabbitmq.conf'}: ${reason}`);
  }
}

interface ConfigWarning {
  readonly line: number;
  readonly message: string;
}

const WORD = /^(?:\\\.|[A-Za-z0-9_-])+/;

/** conf_parse: the settings of a file, in order. Throws ConfigFileError on a line it cannot read. */
export function parseConfLines(text: string, file?: string): ConfigLine[] {
  const out: ConfigLine[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const n = i + 1;
    let s = lines[i]!;
    if (s.endsWith('\r')) s = s.slice(0, -1);
    const body = s.replace(/^[ \t]+/, '');
    if (body === '' || /^[ \t]*$/.test(body) || body.startsWith('#')) continue;
    if (/^include[ \t]/.test(body)) throw new ConfigFileError(n, 'include directives are not supported by Warren', file);
    // key
    const key: string[] = [];
    let rest = body;
    for (;;) {
      const w = WORD.exec(rest);
      if (w === null) throw new ConfigFileError(n, `syntax error: expected a key of letters, digits, '_' and '-' at column ${s.length - rest.length + 1}`, file);
      key.push(w[0].replace(/\\\./g, '.'));
      rest = rest.slice(w[0].length);
      if (rest.startsWith('.')) rest = rest.slice(1);
      else break;
    }
    rest = rest.replace(/^[ \t]+/, '');
    if (!rest.startsWith('=')) throw new ConfigFileError(n, `syntax error: expected '=' after ${key.join('.')} at column ${s.length - rest.length + 1}`, file);
    rest = rest.slice(1).replace(/^[ \t]+/, '');
    const hash = rest.indexOf('#');
    const value = (hash >= 0 ? rest.slice(0, hash) : rest).replace(/[ \t]+$/, '');
    if (value === '') throw new ConfigFileError(n, `syntax error: ${key.join('.')} has no value`, file);
    out.push({ key, value, line: n });
  }
  return out;
}

interface Listener {
  /** The name in listeners.tcp.<name>. */
  readonly name: string;
  /** An IP address, or undefined for all interfaces. */
  readonly host?: string;
  readonly port: number;
}

type LogLevel = 'debug' | 'info' | 'notice' | 'warning' | 'error' | 'critical' | 'alert' | 'emergency' | 'none';

interface SslOptions {
  readonly cacertfile?: string;
  readonly certfile?: string;
  readonly keyfile?: string;
  readonly verify?: 'verify_peer' | 'verify_none';
  readonly failIfNoPeerCert?: boolean;
}

/** The MQTT plugin's settings (rabbitmq_mqtt.schema). */
interface MqttConf {
  allowAnonymous?: boolean;
  defaultUser?: string;
  defaultPass?: string;
  vhost?: string;
  exchange?: string;
  prefetch?: number;
  sslCertLogin?: boolean;
  maxPacketSize?: number;
}

/** The settings of a rabbitmq.conf that Warren supports; absent = not in the file. */
export interface RabbitConf {
  /** listeners.tcp.*; [] for `listeners.tcp = none`. */
  readonly tcpListeners?: readonly Listener[];
  readonly sslListeners?: readonly Listener[];
  readonly sslOptions?: SslOptions;
  readonly defaultUser?: string;
  readonly defaultPass?: string;
  readonly defaultVhost?: string;
  /** default_user_tags.<tag> = true */
  readonly defaultUserTags?: readonly string[];
  readonly defaultPermissions?: { readonly configure?: string; readonly read?: string; readonly write?: string };
  /** loopback_users.<user> = true; [] for `loopback_users = none`. */
  readonly loopbackUsers?: readonly string[];
  /** vm_memory_high_watermark.relative (which wins when both are given) or .absolute */
  readonly vmMemoryHighWatermark?: MemoryWatermark;
  /** disk_free_limit.absolute in bytes, or .relative to the machine's memory (which wins) */
  readonly diskFreeLimit?: { readonly absolute: number } | { readonly relative: number };
  readonly heartbeat?: number;
  readonly frameMax?: number;
  readonly channelMax?: number;
  readonly maxMessageSize?: number;
  /** milliseconds */
  readonly consumerTimeout?: number;
  readonly logConsoleLevel?: LogLevel;
  readonly managementTcpPort?: number;
  readonly prometheusTcpPort?: number;
  readonly mqttTcpListeners?: readonly Listener[];
  readonly mqttSslListeners?: readonly Listener[];
  /** web_mqtt.tcp.port (0: no MQTT-over-WebSocket listener). */
  readonly webMqttTcpPort?: number;
  /** mqtt.allow_anonymous, mqtt.default_user, mqtt.default_pass, mqtt.vhost, mqtt.exchange, mqtt.prefetch */
  readonly mqtt?: MqttConf;
  readonly loadDefinitions?: string;
  /** auth_mechanisms.<n>, in file order (RabbitMQ offers them in its own order regardless). */
  readonly authMechanisms?: readonly string[];
  /** ssl_cert_login_from: which name of a client certificate EXTERNAL logs in as. */
  readonly sslCertLoginFrom?: 'distinguished_name' | 'common_name';
}

export interface ParseOptions {
  /** For error messages. */
  readonly file?: string;
  /**
   * The file_accessible validator of load_definitions and ssl_options.*file: whether a path can be
   * read. Without it paths are not checked (the parse stays pure).
   */
  readonly fileAccessible?: (path: string) => boolean;
}

export interface ParsedRabbitConf {
  readonly config: RabbitConf;
  readonly warnings: readonly ConfigWarning[];
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency', 'none'];
/** The SASL mechanisms Warren offers (EXTERNAL needs TLS client certificates). */
const KNOWN_MECHANISMS = ['PLAIN', 'AMQPLAIN', 'EXTERNAL'];

/** cuttlefish's integer datatype: list_to_integer (an optional sign, decimal digits). */
function integer(v: string): number | undefined {
  if (!/^[+-]?[0-9]+$/.test(v)) return undefined;
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** cuttlefish's float datatype: list_to_float (digits, a point, digits, an optional exponent). */
function float(v: string): number | undefined {
  return /^[+-]?[0-9]+\.[0-9]+(?:[eE][+-]?[0-9]+)?$/.test(v) ? Number(v) : undefined;
}

/**
 * cuttlefish_bytesize: a number with an optional KB/MB/GB (powers of 1024; either case). cuttlefish
 * also takes fractions ("1.5KB" is 1536.0, a float no connection.tune can carry): only integers here.
 */
function bytesize(v: string): number | undefined {
  const m = /^([+-]?[0-9]+)(kb|KB|mb|MB|gb|GB)?$/.exec(v);
  if (m === null) return undefined;
  const mult = m[2] === undefined ? 1 : { kb: 1024, KB: 1024, mb: 1048576, MB: 1048576, gb: 1073741824, GB: 1073741824 }[m[2]]!;
  return Number(m[1]) * mult;
}

/** cuttlefish's [integer, ip] listener: a port, or IPv4/IPv6 address and port split at the last ':'. */
function listener(name: string, v: string): Listener | string {
  const port = integer(v);
  if (port !== undefined) return port >= 0 && port <= 65535 ? { name, port } : `port ${port} is not between 0 and 65535`;
  const colon = v.lastIndexOf(':');
  if (colon > 0) {
    const host = v.slice(0, colon);
    const p = integer(v.slice(colon + 1));
    if (p !== undefined && isIpAddress(host)) return p >= 0 && p <= 65535 ? { name, host, port: p } : `port ${p} is not between 0 and 65535`;
  }
  return `'${v}' is neither a port nor an IP address and port (like 127.0.0.1:5672 or ::1:5672)`;
}

function isIpAddress(s: string): boolean {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (v4 !== null) return v4.slice(1).every((x) => Number(x) <= 255);
  if (!/^[0-9A-Fa-f:.]+$/.test(s) || !s.includes(':')) return false;
  const parts = s.split('::');
  if (parts.length > 2) return false;
  const groups = parts.flatMap((p) => (p === '' ? [] : p.split(':')));
  const last = groups[groups.length - 1];
  const hasV4 = last !== undefined && last.includes('.');
  if (hasV4 && !isIpAddress(last!)) return false;
  const hex = hasV4 ? groups.slice(0, -1) : groups;
  if (!hex.every((g) => /^[0-9A-Fa-f]{1,4}$/.test(g))) return false;
  const count = hex.length + (hasV4 ? 2 : 0);
  return parts.length === 2 ? count < 8 : count === 8;
}

function inRange(n: number | undefined, min: number, max: number): n is number {
  return n !== undefined && n >= min && n <= max;
}

/** One file's settings as its lines are read: the typed values, and the pieces several lines build. */
class ConfReader {
  readonly c: Mutable<RabbitConf> = {};
  readonly warnings: ConfigWarning[] = [];
  tls: Mutable<SslOptions> | undefined;
  permissions: { configure?: string; read?: string; write?: string } | undefined;
  readonly tcp = new Map<string, Listener>();
  readonly ssl = new Map<string, Listener>();
  readonly mqtt = new Map<string, Listener>();
  readonly mqttSsl = new Map<string, Listener>();
  readonly tags = new Map<string, boolean>();
  readonly loopback = new Map<string, boolean>();
  readonly mechanisms = new Map<string, string>();
  tcpNone = false;
  sslNone = false;
  mqttNone = false;
  loopbackNone = false;
  memoryRelative: number | undefined;
  memoryAbsolute: number | undefined;
  diskRelative: number | undefined;
  diskAbsolute: number | undefined;

  constructor(private readonly options: ParseOptions) {}

  fail(l: ConfigLine, reason: string): never {
    throw new ConfigFileError(l.line, `${l.key.join('.')}: ${reason}`, this.options.file);
  }

  file(l: ConfigLine): string {
    if (this.options.fileAccessible !== undefined && !this.options.fileAccessible(l.value)) this.fail(l, 'file does not exist or cannot be read by the node');
    return l.value;
  }

  enumOf<T extends string>(l: ConfigLine, values: readonly T[]): T {
    return (values as readonly string[]).includes(l.value) ? (l.value as T) : this.fail(l, `'${l.value}' is not one of ${values.join(', ')}`);
  }

  /** `none`, the one value of listeners.tcp, listeners.ssl, mqtt.listeners.tcp and loopback_users. */
  none(l: ConfigLine): boolean {
    return this.enumOf(l, ['none'] as const) === 'none';
  }

  // rabbit.schema turns these into binaries with list_to_binary/1: a character past U+00FF stops
  // RabbitMQ from starting, one in U+0080..U+00FF becomes a latin1 byte that no UTF-8 client can
  // send. Either way the same file would not work on RabbitMQ, so it is refused here.
  ascii(l: ConfigLine): string {
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the range is all of ASCII
    return /^[\x00-\x7f]*$/.test(l.value) ? l.value : this.fail(l, 'non-ASCII characters: RabbitMQ 3.10.8 stores this value as latin1 bytes (or fails to start), so clients could not use it');
  }

  bool(l: ConfigLine): boolean {
    return this.enumOf(l, ['true', 'false'] as const) === 'true';
  }

  int(l: ConfigLine, min: number, max: number, what = `an integer from ${min} to ${max}`): number {
    const n = integer(l.value);
    return inRange(n, min, max) ? n : this.fail(l, `'${l.value}' is not ${what}`);
  }

  /** A whole number, checked by `valid` (RabbitMQ's validator, which says why it refuses). */
  integerWith(l: ConfigLine, valid: (n: number) => boolean, refusal: string): number {
    const v = integer(l.value);
    if (v === undefined) return this.fail(l, `'${l.value}' is not an integer`);
    return valid(v) ? v : this.fail(l, refusal);
  }

  /** A float datatype (digits, a point, digits), not negative; `like` describes one for the error. */
  fraction(l: ConfigLine, like: string): number {
    const f = float(l.value);
    return f !== undefined && f >= 0 ? f : this.fail(l, `'${l.value}' is not ${like} (digits, a point, digits)`);
  }

  addListener(l: ConfigLine, into: Map<string, Listener>): void {
    const r = listener(l.key[l.key.length - 1]!, l.value);
    if (typeof r === 'string') this.fail(l, r);
    else into.set(r.name, r);
  }

  bytes(l: ConfigLine): number {
    // [integer, string]: an integer, or an information unit RabbitMQ parses later (2GB, 500MiB).
    const n = integer(l.value);
    if (n !== undefined) return n >= 0 ? n : this.fail(l, `'${l.value}' is negative`);
    const u = parseInformationUnit(l.value);
    return u !== undefined && Number.isSafeInteger(u) ? u : this.fail(l, `'${l.value}' is not a number of bytes, optionally with a unit (kB MB GB, KiB MiB GiB)`);
  }

  /** The settings several lines make up, once every line is read. */
  result(): RabbitConf {
    const c = this.c;
    if (this.tls !== undefined) c.sslOptions = this.tls;
    if (this.permissions !== undefined) c.defaultPermissions = this.permissions;
    if (this.tcpNone) c.tcpListeners = [];
    else if (this.tcp.size > 0) c.tcpListeners = [...this.tcp.values()];
    if (this.sslNone) c.sslListeners = [];
    else if (this.ssl.size > 0) c.sslListeners = [...this.ssl.values()];
    if (this.mqttNone) c.mqttTcpListeners = [];
    else if (this.mqtt.size > 0) c.mqttTcpListeners = [...this.mqtt.values()];
    if (this.mqttSsl.size > 0) c.mqttSslListeners = [...this.mqttSsl.values()];
    if (this.tags.size > 0) c.defaultUserTags = [...this.tags].filter(([, on]) => on).map(([t]) => t);
    if (this.loopbackNone) c.loopbackUsers = [];
    else if (this.loopback.size > 0) c.loopbackUsers = [...this.loopback].filter(([, on]) => on).map(([u]) => u);
    // The translations: relative wins over absolute when both are given.
    if (this.memoryRelative !== undefined) c.vmMemoryHighWatermark = { relative: this.memoryRelative };
    else if (this.memoryAbsolute !== undefined) c.vmMemoryHighWatermark = { absolute: this.memoryAbsolute };
    if (this.diskRelative !== undefined) c.diskFreeLimit = { relative: this.diskRelative };
    else if (this.diskAbsolute !== undefined) c.diskFreeLimit = { absolute: this.diskAbsolute };
    if (this.mechanisms.size > 0) c.authMechanisms = [...this.mechanisms.values()];
    return c;
  }
}

type Setting = (r: ConfReader, l: ConfigLine) => void;

/** The settings named by their whole key. */
const SETTINGS: ReadonlyMap<string, Setting> = new Map<string, Setting>([
  ['listeners.tcp', (r, l) => (r.tcpNone = r.none(l))],
  ['listeners.ssl', (r, l) => (r.sslNone = r.none(l))],
  ['mqtt.listeners.tcp', (r, l) => (r.mqttNone = r.none(l))],
  ['mqtt.allow_anonymous', (r, l) => ((r.c.mqtt ??= {}).allowAnonymous = r.bool(l))],
  ['mqtt.default_user', (r, l) => ((r.c.mqtt ??= {}).defaultUser = r.ascii(l))],
  ['mqtt.default_pass', (r, l) => ((r.c.mqtt ??= {}).defaultPass = r.ascii(l))],
  ['mqtt.vhost', (r, l) => ((r.c.mqtt ??= {}).vhost = r.ascii(l))],
  ['mqtt.exchange', (r, l) => ((r.c.mqtt ??= {}).exchange = r.ascii(l))],
  ['mqtt.prefetch', (r, l) => ((r.c.mqtt ??= {}).prefetch = r.int(l, 0, 65535))],
  ['mqtt.ssl_cert_login', (r, l) => ((r.c.mqtt ??= {}).sslCertLogin = r.bool(l))],
  ['mqtt.max_packet_size_authenticated', (r, l) => ((r.c.mqtt ??= {}).maxPacketSize = r.int(l, 1, 268435455))],
  ['web_mqtt.tcp.port', (r, l) => (r.c.webMqttTcpPort = r.int(l, 0, 65535, 'a port from 0 to 65535'))],
  ['ssl_options.cacertfile', (r, l) => ((r.tls ??= {}).cacertfile = r.file(l))],
  ['ssl_options.certfile', (r, l) => ((r.tls ??= {}).certfile = r.file(l))],
  ['ssl_options.keyfile', (r, l) => ((r.tls ??= {}).keyfile = r.file(l))],
  ['ssl_options.verify', (r, l) => ((r.tls ??= {}).verify = r.enumOf(l, ['verify_peer', 'verify_none'] as const))],
  ['ssl_options.fail_if_no_peer_cert', (r, l) => ((r.tls ??= {}).failIfNoPeerCert = r.bool(l))],
  ['default_user', (r, l) => (r.c.defaultUser = r.ascii(l))],
  ['default_pass', (r, l) => (r.c.defaultPass = r.ascii(l))],
  ['default_vhost', (r, l) => (r.c.defaultVhost = r.ascii(l))],
  ['default_permissions.configure', (r, l) => ((r.permissions ??= {}).configure = l.value)],
  ['default_permissions.read', (r, l) => ((r.permissions ??= {}).read = l.value)],
  ['default_permissions.write', (r, l) => ((r.permissions ??= {}).write = l.value)],
  ['loopback_users', (r, l) => (r.loopbackNone = r.none(l))],
  ['vm_memory_high_watermark.relative', (r, l) => (r.memoryRelative = r.fraction(l, 'a fraction like 0.4'))],
  ['vm_memory_high_watermark.absolute', (r, l) => (r.memoryAbsolute = r.bytes(l))],
  ['disk_free_limit.relative', (r, l) => (r.diskRelative = r.fraction(l, 'a factor like 1.5'))],
  ['disk_free_limit.absolute', (r, l) => (r.diskAbsolute = r.bytes(l))],
  ['heartbeat', (r, l) => (r.c.heartbeat = r.int(l, 0, 65535, 'an integer number of seconds from 0 to 65535'))],
  [
    'frame_max',
    (r, l) => {
      const v = bytesize(l.value);
      if (v === undefined) return r.fail(l, `'${l.value}' is not a whole number of bytes (optionally with KB, MB or GB)`);
      r.c.frameMax = inRange(v, 0, 0xffffffff) ? v : r.fail(l, `${v} does not fit in connection.tune's frame-max (0 to 4294967295)`);
    },
  ],
  ['channel_max', (r, l) => (r.c.channelMax = r.int(l, 0, 65535, 'an integer from 0 (no limit) to 65535'))],
  // rabbit.schema's max_message_size validator
  ['max_message_size', (r, l) => (r.c.maxMessageSize = r.integerWith(l, (v) => inRange(v, 1, 536870912), 'Max message size should be between 0 and 512MB'))],
  // the non_zero_positive_integer validator
  ['consumer_timeout', (r, l) => (r.c.consumerTimeout = r.integerWith(l, (v) => v >= 1, 'number should be greater or equal to one'))],
  ['log.console.level', (r, l) => (r.c.logConsoleLevel = r.enumOf(l, LOG_LEVELS))],
  ['management.tcp.port', (r, l) => (r.c.managementTcpPort = r.int(l, 0, 65535, 'a port from 0 to 65535'))],
  ['prometheus.tcp.port', (r, l) => (r.c.prometheusTcpPort = r.int(l, 0, 65535, 'a port from 0 to 65535'))],
  ['load_definitions', (r, l) => (r.c.loadDefinitions = r.file(l))],
  ['ssl_cert_login_from', (r, l) => (r.c.sslCertLoginFrom = r.enumOf(l, ['distinguished_name', 'common_name'] as const))],
]);

/**
 * The settings named by a prefix and one word more (its last word: a listener's, tag's, user's or
 * mechanism's name), keyed by the prefix's words joined with NUL (no key word contains one).
 */
const PREFIXED_SETTINGS: ReadonlyMap<string, (r: ConfReader, l: ConfigLine, last: string) => void> = new Map([
  ['listeners\u0000tcp', (r: ConfReader, l: ConfigLine) => r.addListener(l, r.tcp)],
  ['listeners\u0000ssl', (r: ConfReader, l: ConfigLine) => r.addListener(l, r.ssl)],
  ['mqtt\u0000listeners\u0000tcp', (r: ConfReader, l: ConfigLine) => r.addListener(l, r.mqtt)],
  ['mqtt\u0000listeners\u0000ssl', (r: ConfReader, l: ConfigLine) => r.addListener(l, r.mqttSsl)],
  ['default_user_tags', (r: ConfReader, l: ConfigLine, tag: string) => r.tags.set(tag, r.bool(l))],
  [
    'loopback_users',
    (r: ConfReader, l: ConfigLine, user: string) => {
      // The schema's datatype is any atom and only `true` lists the user; say so when it is neither.
      if (l.value !== 'true' && l.value !== 'false') r.warnings.push({ line: l.line, message: `${l.key.join('.')} = ${l.value}: only 'true' makes ${user} loopback-only; this leaves it out` });
      r.loopback.set(user, l.value === 'true');
    },
  ],
  [
    'auth_mechanisms',
    (r: ConfReader, l: ConfigLine, n: string) => {
      const k = l.key.join('.');
      if (!KNOWN_MECHANISMS.includes(l.value)) r.warnings.push({ line: l.line, message: `${k} = ${l.value}: Warren has no such mechanism (it has ${KNOWN_MECHANISMS.join(', ')})` });
      r.mechanisms.set(n, l.value);
    },
  ],
]);

/**
 * Reads rabbitmq.conf text into the typed settings Warren supports. Throws ConfigFileError (with the
 * line) on a syntax error or a bad value; unknown keys come back as warnings.
 */
export function parseRabbitConf(text: string, options: ParseOptions = {}): ParsedRabbitConf {
  const lines = parseConfLines(text, options.file);
  const r = new ConfReader(options);
  const seen = new Map<string, number>();
  for (const l of lines) {
    const k = l.key.join('.');
    const earlier = seen.get(k);
    if (earlier !== undefined) r.warnings.push({ line: l.line, message: `${k} was already set on line ${earlier}; this value replaces it` });
    seen.set(k, l.line);
    const setting = SETTINGS.get(k);
    if (setting !== undefined) {
      setting(r, l);
      continue;
    }
    const prefixed = PREFIXED_SETTINGS.get(l.key.slice(0, -1).join('\u0000'));
    if (prefixed !== undefined) prefixed(r, l, l.key[l.key.length - 1]!);
    else r.warnings.push({ line: l.line, message: `${k} is not a setting Warren supports; ignored` });
  }
  return { config: r.result(), warnings: r.warnings };
}

/** A file's bytes as rabbitmq.conf text: bytes that are not UTF-8 are refused (conf_to_unicode). */
export function decodeConfFile(bytes: Uint8Array, file?: string): string {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let start = 0;
  let line = 1;
  for (let i = 0; i <= bytes.length; i++) {
    if (i === bytes.length || bytes[i] === 0x0a) {
      try {
        decoder.decode(bytes.subarray(start, i));
      } catch {
        throw new ConfigFileError(line, 'not valid UTF-8', file);
      }
      start = i + 1;
      line++;
    }
  }
  return decoder.decode(bytes);
}
