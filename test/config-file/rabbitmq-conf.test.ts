import { describe, expect, it } from 'vitest';
import { ConfigFileError, decodeConfFile, parseConfLines, parseRabbitConf, type RabbitConf } from '../../src/config-file/rabbitmq-conf.js';
import oracle from './fixtures/cuttlefish.rabbitmq-3.10.8.json' with { type: 'json' };

type OracleCase = { text: string; parse?: [string, string][]; parseError?: number; result?: string; rabbit?: string };
const cases = oracle.cases as unknown as Record<string, OracleCase>;

function outcome(text: string): { config?: RabbitConf; warnings?: string[]; error?: { line: number; reason: string } } {
  try {
    const r = parseRabbitConf(text);
    return { config: r.config, warnings: r.warnings.map((w) => `${w.line}: ${w.message}`) };
  } catch (e) {
    if (!(e instanceof ConfigFileError)) throw e;
    return { error: { line: e.line, reason: e.reason } };
  }
}

describe("syntax: the same keys and values as cuttlefish 3.0.1's conf_parse", () => {
  for (const [name, c] of Object.entries(cases)) {
    it(`${name}: ${c.parseError !== undefined ? `syntax error on line ${c.parseError}` : `${c.parse!.length} settings`}`, () => {
      if (c.parseError !== undefined) {
        expect(() => parseConfLines(c.text)).toThrow(ConfigFileError);
        try {
          parseConfLines(c.text);
        } catch (e) {
          expect((e as ConfigFileError).line).toBe(c.parseError);
        }
        return;
      }
      expect(parseConfLines(c.text).map((l) => [l.key.join('.'), l.value])).toEqual(c.parse);
    });
  }
});

/**
 * Files RabbitMQ accepts and Warren refuses, and why: values no AMQP field or socket can carry, and
 * names RabbitMQ would mangle. (Unknown keys go the other way: RabbitMQ refuses to start, Warren warns.)
 */
const STRICTER: Record<string, string> = {
  'listener-port-too-big': 'port 99999 is not between 0 and 65535',
  'heartbeat-negative': "'-5' is not an integer number of seconds from 0 to 65535",
  'frame-max-fraction': "'1.5KB' is not a whole number of bytes (optionally with KB, MB or GB)",
  'syntax-unicode-value': 'non-ASCII characters: RabbitMQ 3.10.8 stores this value as latin1 bytes (or fails to start), so clients could not use it',
};

describe('values: accepted where the RabbitMQ 3.10.8 schemas accept them, refused where they refuse', () => {
  for (const [name, c] of Object.entries(cases)) {
    if (c.parseError !== undefined) continue;
    const refusedByRabbit = c.result === 'error';
    it(`${name}: ${refusedByRabbit ? 'refused' : 'accepted'} by RabbitMQ`, () => {
      const o = outcome(c.text);
      if (name === 'unknown-key') {
        expect(o.warnings).toEqual(['2: unknown.key is not a setting Warren supports; ignored']);
        return;
      }
      const stricter = STRICTER[name];
      if (stricter !== undefined) {
        expect(o.error?.reason).toContain(stricter);
        return;
      }
      expect(o.error !== undefined).toBe(refusedByRabbit);
    });
  }
});

describe('the typed settings', () => {
  const config = (name: string) => outcome(cases[name]!.text).config!;

  it('listeners: ports, IPv4 and IPv6 addresses, none; management and MQTT', () => {
    expect(config('listeners')).toEqual({
      tcpListeners: [
        { name: 'default', port: 5673 },
        { name: 'local', host: '127.0.0.1', port: 5674 },
        { name: 'v6', host: '::1', port: 5675 },
      ],
      sslListeners: [{ name: 'default', port: 5671 }],
      mqttTcpListeners: [{ name: 'default', port: 1884 }],
      managementTcpPort: 15673,
    });
    expect(config('listeners-none')).toEqual({ tcpListeners: [] });
    expect(outcome(cases['listener-hostname']!.text).error).toEqual({
      line: 1,
      reason: "listeners.tcp.default: 'host.example:5672' is neither a port nor an IP address and port (like 127.0.0.1:5672 or ::1:5672)",
    });
  });

  it('TLS options', () => {
    expect(config('tls')).toEqual({ sslOptions: { verify: 'verify_peer', failIfNoPeerCert: true }, sslListeners: [{ name: 'default', port: 5671 }] });
    expect(outcome(cases['tls-bad-verify']!.text).error).toEqual({ line: 1, reason: "ssl_options.verify: 'maybe' is not one of verify_peer, verify_none" });
  });

  it('quotes are part of a value, and # ends it even inside quotes (cuttlefish 3.0.1)', () => {
    expect(config('syntax-quotes-kept')).toEqual({ defaultUser: "'we", defaultVhost: '"quoted"' });
    expect(config('syntax-hash-ends-value')).toEqual({ defaultPass: 'ab' });
  });

  it('the default user, vhost, tags and permissions', () => {
    expect(config('defaults')).toEqual({
      defaultUser: 'orders',
      defaultPass: 'secret',
      defaultVhost: 'orders',
      defaultUserTags: ['administrator'],
      defaultPermissions: { configure: '.*', read: '^r', write: '^w' },
    });
  });

  it('loopback users: only `true` lists a user; `none` empties the list wherever it is', () => {
    expect(config('loopback')).toEqual({ loopbackUsers: ['bob'] });
    expect(config('loopback-none-wins')).toEqual({ loopbackUsers: [] });
    expect(outcome(cases['loopback-yes']!.text)).toEqual({
      config: { loopbackUsers: [] },
      warnings: ["1: loopback_users.guest = yes: only 'true' makes guest loopback-only; this leaves it out"],
    });
    expect(config('syntax-escaped-dot')).toEqual({ loopbackUsers: ['my.user'] });
  });

  it('memory watermark and disk limit: relative wins over absolute; units', () => {
    expect(config('memory-relative')).toEqual({ vmMemoryHighWatermark: { relative: 0.6 } });
    expect(config('memory-absolute-unit')).toEqual({ vmMemoryHighWatermark: { absolute: 2_000_000_000 } });
    expect(config('memory-absolute-bytes')).toEqual({ vmMemoryHighWatermark: { absolute: 1073741824 } });
    expect(config('memory-both-relative-wins')).toEqual({ vmMemoryHighWatermark: { relative: 0.4 } });
    expect(config('disk-absolute-unit')).toEqual({ diskFreeLimit: { absolute: 1073741824 } });
    expect(outcome('disk_free_limit.absolute = lots\n').error?.reason).toBe(
      "disk_free_limit.absolute: 'lots' is not a number of bytes, optionally with a unit (kB MB GB, KiB MiB GiB)",
    );
  });

  it("tuning, frame_max with cuttlefish's 1024-based units, and a key given twice", () => {
    expect(config('tuning')).toEqual({ heartbeat: 30, frameMax: 131072, channelMax: 100, maxMessageSize: 1000000, consumerTimeout: 60000 });
    expect(config('frame-max-kb')).toEqual({ frameMax: 131072 });
    expect(config('frame-max-lower-mb')).toEqual({ frameMax: 1048576 });
    expect(config('heartbeat-plus')).toEqual({ heartbeat: 7 });
    expect(outcome(cases['heartbeat-twice']!.text)).toEqual({ config: { heartbeat: 20 }, warnings: ['2: heartbeat was already set on line 1; this value replaces it'] });
  });

  it("RabbitMQ's validator texts for consumer_timeout and max_message_size", () => {
    expect(outcome(cases['consumer-timeout-zero']!.text).error).toEqual({ line: 1, reason: 'consumer_timeout: number should be greater or equal to one' });
    expect(outcome(cases['max-message-size-too-big']!.text).error).toEqual({ line: 1, reason: 'max_message_size: Max message size should be between 0 and 512MB' });
  });

  it('log level, auth mechanisms (unknown ones warned about), load_definitions', () => {
    expect(config('syntax-basic')).toEqual({ tcpListeners: [{ name: 'default', port: 5673 }], heartbeat: 30, logConsoleLevel: 'info' });
    expect(config('auth-mechanisms')).toEqual({ authMechanisms: ['PLAIN', 'AMQPLAIN', 'EXTERNAL'] });
    expect(outcome('auth_mechanisms.1 = RABBIT-CR-DEMO\n').warnings).toEqual(['1: auth_mechanisms.1 = RABBIT-CR-DEMO: Warren has no such mechanism (it has PLAIN, AMQPLAIN, EXTERNAL)']);
    expect(parseRabbitConf('load_definitions = /etc/rabbitmq/definitions.json\n').config).toEqual({ loadDefinitions: '/etc/rabbitmq/definitions.json' });
  });

  it('checks that files exist when told how (the file_accessible validator)', () => {
    const seen: string[] = [];
    const fileAccessible = (p: string) => {
      seen.push(p);
      return p === '/ok.pem';
    };
    expect(() => parseRabbitConf('ssl_options.certfile = /missing.pem\n', { fileAccessible, file: '/etc/rabbitmq/rabbitmq.conf' })).toThrow(
      '/etc/rabbitmq/rabbitmq.conf, line 1: ssl_options.certfile: file does not exist or cannot be read by the node',
    );
    expect(parseRabbitConf('ssl_options.cacertfile = /ok.pem\n', { fileAccessible }).config).toEqual({ sslOptions: { cacertfile: '/ok.pem' } });
    expect(seen).toEqual(['/missing.pem', '/ok.pem']);
  });

  it('syntax errors name their line and column', () => {
    expect(outcome(cases['syntax-error-no-equals']!.text).error).toEqual({ line: 2, reason: "syntax error: expected '=' after bad at column 5" });
    expect(outcome(cases['syntax-error-bad-key']!.text).error).toEqual({ line: 2, reason: "syntax error: expected '=' after foo.b at column 6" });
    expect(outcome('include /etc/x.conf\n').error).toEqual({ line: 1, reason: 'include directives are not supported by Warren' });
  });

  it('refuses bytes that are not UTF-8, by line', () => {
    expect(decodeConfFile(Buffer.from('heartbeat = 1\n'))).toBe('heartbeat = 1\n');
    expect(() => decodeConfFile(Buffer.concat([Buffer.from('a = 1\nb = '), Buffer.from([0xff]), Buffer.from('\n')]))).toThrow('rabbitmq.conf, line 2: not valid UTF-8');
  });
});
