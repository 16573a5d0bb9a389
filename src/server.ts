/**
 * The TCP listener and the embedding API: `startBroker({ port: 0 })` gives a running broker with its
 * bound port, an amqp:// URL, and `close()`.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import { Broker } from './broker.js';
import { DEFAULTS, type BrokerConfig, type BrokerSettings } from './config.js';
import { createLogger } from './log.js';
import type { FileIo } from './store/io.js';
import type { ResourceProbes } from './resource-alarms.js';
import { TlsSetupError, peerCertificateNames, peerRefusal, tlsServerOptions } from './tls.js';
import { MqttService } from './mqtt/service.js';
import { apiNodeName, startManagementServer, type ManagementServer } from './management/http-server.js';
import { startPrometheusServer, type PrometheusServer } from './management/prometheus-server.js';
import type { Listener } from './management/context.js';
import { testHooksOf, type TestHooks } from './broker/test-hooks.js';

export interface StartOptions extends Partial<BrokerConfig> {
  /** A logger to use instead of one built from `logLevel`. */
  logger?: Logger;
  /** File operations of the store (tests inject failures through this). */
  storeIo?: FileIo;
  /** Segment file size of queue stores (tests use small ones to exercise rolling). */
  segmentSize?: number;
  /** Replacements for the memory and disk measurements behind the resource alarms (tests). */
  resourceProbes?: Partial<ResourceProbes>;
}

export interface RunningBroker {
  readonly broker: Broker;
  /** The plain AMQP port (the TLS one when there is no plain listener). */
  readonly port: number;
  readonly host: string;
  /** amqp://user:pass@host:port with the default user (and vhost, unless '/'), for clients. */
  readonly url: string;
  /** The AMQPS port and URL, when a TLS listener runs. */
  readonly tlsPort: number | undefined;
  readonly tlsUrl: string | undefined;
  /** The MQTT listener's port and its service (connections, retained messages), when one runs. */
  readonly mqttPort: number | undefined;
  /** The MQTT-over-TLS port, when that listener runs. */
  readonly mqttTlsPort: number | undefined;
  readonly mqtt: MqttService | undefined;
  /** The management HTTP API's port and base URL (http://host:port), when it runs (`managementPort`). */
  readonly managementPort: number | undefined;
  readonly managementUrl: string | undefined;
  /** The Prometheus endpoint's port (`prometheusPort`), when it runs. */
  readonly prometheusPort: number | undefined;
  /** Hooks for test suites: waits on queue depth and message outcomes, injection, forced closes, alarms, vhost reset (README). */
  readonly testHooks: TestHooks;
  /** Reads the TLS certificate, key and CA files again (SIGHUP); a failure keeps the old ones and throws. */
  reloadTls(): void;
  /** Stops listening, closes every connection with 320 CONNECTION_FORCED, and releases resources. */
  close(): Promise<void>;
}

/** What embedded use changes in the defaults; no HTTP listener unless asked (`managementPort: 0`: a free port). */
const EMBEDDED_DEFAULTS: Partial<BrokerSettings> = {
  host: '127.0.0.1',
  durability: 'memory',
  logLevel: 'warn',
  managementPort: undefined,
  prometheusPort: undefined,
  mqttPort: undefined,
};

/**
 * Starts a broker. Embedded use defaults to loopback, an in-memory store and warnings-only logs;
 * the command line overrides these with its own defaults.
 */
export async function startBroker(options: StartOptions = {}): Promise<RunningBroker> {
  const { logger, storeIo, segmentSize, resourceProbes, ...rest } = options;
  const config: BrokerSettings = { ...DEFAULTS, ...EMBEDDED_DEFAULTS, ...stripUndefined(rest) };
  const log = logger ?? createLogger(config.logLevel);
  const broker = new Broker(config, log, { io: storeIo, segmentSize });
  if (broker.personality.identity !== undefined) log.info({ rabbitmqVersion: broker.personality.release }, `behaving as RabbitMQ ${broker.personality.release}`);
  try {
    await broker.recover();
    if (config.loadDefinitions !== undefined) broker.loadDefinitionsFrom(config.loadDefinitions);
  } catch (e) {
    // Half-recovered: give the data directory back without marking a clean shutdown.
    broker.abandon();
    throw e;
  }
  const server = config.tcpListener ? createAmqpListener(broker) : undefined;
  let tlsServer: ReturnType<typeof createTlsServer> | undefined;
  let address: { host: string; port: number } | undefined;
  let tlsAddress: { host: string; port: number } | undefined;
  let mqtt: MqttListeners | undefined;
  let http: HttpListeners | undefined;
  try {
    if (config.mqttPort !== undefined || config.mqttTlsPort !== undefined) mqtt = new MqttListeners(broker, log);
    if (config.tlsPort !== undefined) tlsServer = createTlsListener(broker, broker.config, log);
    await broker.startResourceMonitors(resourceProbes);
    if (server !== undefined) address = await listen(server, config.port, config.host);
    if (tlsServer !== undefined) tlsAddress = await listen(tlsServer, config.tlsPort!, config.host);
    await mqtt?.listen();
    http = new HttpListeners();
    await http.start(broker, config, log, listenersOf(address, tlsAddress, mqtt, config.host));
  } catch (e) {
    // Recovered but never served (the port is taken): a clean shutdown releases the directory.
    server?.close();
    tlsServer?.close();
    mqtt?.stop();
    await http?.close();
    await broker.shutdown();
    throw e;
  }
  if (address !== undefined) log.info({ host: address.host, port: address.port }, 'listening');
  if (tlsAddress !== undefined) log.info({ host: tlsAddress.host, port: tlsAddress.port, verifyPeer: config.tlsVerifyPeer }, 'listening for TLS');
  let closing: Promise<void> | undefined;
  const main = (address ?? tlsAddress)!;
  const urlHost = main.host.includes(':') ? (main.host === '::' ? '127.0.0.1' : `[${main.host}]`) : main.host === '0.0.0.0' ? '127.0.0.1' : main.host;
  const tlsUrl = tlsAddress !== undefined ? amqpUrl(broker.config, urlHost, tlsAddress.port, 'amqps') : undefined;
  return {
    broker,
    port: main.port,
    host: main.host,
    url: address !== undefined ? amqpUrl(broker.config, urlHost, address.port) : tlsUrl!,
    tlsPort: tlsAddress?.port,
    tlsUrl,
    mqttPort: mqtt?.port,
    mqttTlsPort: mqtt?.tlsPort,
    mqtt: mqtt?.service,
    managementPort: http.management?.port,
    managementUrl: http.management === undefined ? undefined : `http://${urlHost}:${http.management.port}`,
    prometheusPort: http.prometheus?.port,
    testHooks: testHooksOf(broker),
    reloadTls() {
      reloadCertificates(config, [tlsServer, mqtt?.tlsServer], log);
    },
    close() {
      closing ??= (async () => {
        const stopped = Promise.all([server, tlsServer, ...(mqtt?.servers ?? [])].map((s) => (s === undefined ? undefined : new Promise<void>((resolve) => s.close(() => resolve())))));
        mqtt?.service.closeAll('shutdown');
        await http.close();
        await broker.shutdown();
        await stopped;
        log.info('stopped');
      })();
      return closing;
    },
  };
}

/** The plain AMQP listener around the broker's acceptStream. */
function createAmqpListener(broker: Broker): Server {
  return createServer((socket: Socket) => {
    socket.setNoDelay(true);
    broker.acceptStream(socket, {
      remoteAddress: socket.remoteAddress,
      remotePort: socket.remotePort,
      localAddress: socket.localAddress,
      localPort: socket.localPort,
    });
  });
}

/** SIGHUP: the TLS listeners (AMQPS, MQTT over TLS) read the files again; a failure keeps the old ones. */
function reloadCertificates(config: BrokerSettings, servers: readonly (ReturnType<typeof createTlsServer> | undefined)[], log: Logger): void {
  const running = servers.filter((s) => s !== undefined);
  if (running.length === 0) return;
  const options = tlsServerOptions(config);
  try {
    for (const s of running) s.setSecureContext(options);
  } catch (e) {
    throw new TlsSetupError(`the TLS certificate, key or CA cannot be used (--tls-cert, --tls-key, --tls-ca): ${(e as Error).message}`);
  }
  log.info('TLS certificates reloaded');
}

/**
 * The AMQPS listener around the same acceptStream: the TLS handshake first (node:tls), then the
 * peer checks of verify_peer, then AMQP with the client certificate's names for EXTERNAL.
 */
function createTlsListener(broker: Broker, config: BrokerConfig, log: Logger) {
  const options = tlsServerOptions(config);
  let tlsServer: ReturnType<typeof createTlsServer>;
  try {
    tlsServer = createTlsServer(options);
  } catch (e) {
    throw new TlsSetupError(`the TLS certificate, key or CA cannot be used (--tls-cert, --tls-key, --tls-ca): ${(e as Error).message}`);
  }
  tlsServer.on('secureConnection', (socket: TLSSocket) => {
    const refused = peerRefusal(socket, config);
    if (refused !== undefined) {
      log.info({ peer: `${socket.remoteAddress}:${socket.remotePort}` }, `TLS connection refused: ${refused}`);
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    broker.acceptStream(socket, {
      remoteAddress: socket.remoteAddress,
      remotePort: socket.remotePort,
      localAddress: socket.localAddress,
      localPort: socket.localPort,
      certificate: peerCertificateNames(socket, config),
    });
  });
  tlsServer.on('tlsClientError', (err, socket) => {
    log.info({ peer: `${socket.remoteAddress}:${socket.remotePort}`, err: err.message }, 'TLS handshake failed');
  });
  return tlsServer;
}

/** The management API and the Prometheus endpoint, each when its port is set. */
class HttpListeners {
  management: ManagementServer | undefined;
  prometheus: PrometheusServer | undefined;

  async start(broker: Broker, config: BrokerSettings, log: Logger, listeners: () => Listener[]): Promise<void> {
    if (config.managementPort !== undefined) this.management = await startManagement(broker, config.managementPort, config.host, log, listeners);
    if (config.prometheusPort !== undefined) this.prometheus = await startPrometheus(broker, config.prometheusPort, config.host, log);
  }

  async close(): Promise<void> {
    await this.management?.close();
    await this.prometheus?.close();
  }
}

async function startPrometheus(broker: Broker, port: number, host: string, log: Logger): Promise<PrometheusServer> {
  try {
    return await startPrometheusServer(broker, { port, host, log, nodeName: apiNodeName(broker) });
  } catch (e) {
    throw listenFailure(e, host, port, 'prometheus');
  }
}

/** The AMQP listeners, as the management API's health checks and overview list them. */
function listenersOf(
  amqp: { host: string; port: number } | undefined,
  amqps: { host: string; port: number } | undefined,
  mqtt: MqttListeners | undefined,
  host: string,
): () => Listener[] {
  const out: Listener[] = [];
  if (amqp !== undefined) out.push({ protocol: 'amqp', port: amqp.port, ipAddress: amqp.host });
  if (amqps !== undefined) out.push({ protocol: 'amqp/ssl', port: amqps.port, ipAddress: amqps.host });
  if (mqtt?.port !== undefined) out.push({ protocol: 'mqtt', port: mqtt.port, ipAddress: host });
  if (mqtt?.tlsPort !== undefined) out.push({ protocol: 'mqtt/ssl', port: mqtt.tlsPort, ipAddress: host });
  return () => out;
}

/** The management API's listener, its listen failure as a ListenError like the AMQP listeners'. */
async function startManagement(broker: Broker, port: number, host: string, log: Logger, listeners: () => Listener[]): Promise<ManagementServer> {
  try {
    return await startManagementServer(broker, { port, host, log, listeners });
  } catch (e) {
    throw listenFailure(e, host, port, 'management');
  }
}

/** An HTTP listener's failure to listen as a ListenError (other errors as they are). */
function listenFailure(e: unknown, host: string, port: number, listener: 'management' | 'prometheus'): unknown {
  const err = e as NodeJS.ErrnoException;
  if (err.code === undefined || !['EADDRINUSE', 'EADDRNOTAVAIL', 'EACCES'].includes(err.code)) return e;
  return new ListenError(err.code, host, port, err, listener);
}

/**
 * The MQTT listeners (rabbitmq_mqtt's tcp_listeners and ssl_listeners) around one MQTT service's
 * acceptStream; the TLS one with the AMQPS listener's certificate, key, CA and peer checks.
 */
class MqttListeners {
  readonly service: MqttService;
  private readonly server: Server | undefined;
  readonly tlsServer: ReturnType<typeof createTlsServer> | undefined;
  port: number | undefined;
  tlsPort: number | undefined;

  constructor(
    broker: Broker,
    private readonly log: Logger,
  ) {
    const c = broker.config;
    this.service = new MqttService(broker, {
      allowAnonymous: c.mqttAllowAnonymous,
      defaultUser: c.mqttDefaultUser,
      defaultPass: c.mqttDefaultPass,
      vhost: c.mqttVhost,
      exchange: c.mqttExchange,
      prefetch: c.mqttPrefetch,
    });
    const accept = (socket: Socket) => {
      socket.setNoDelay(true);
      this.service.acceptStream(socket, { remoteAddress: socket.remoteAddress, remotePort: socket.remotePort, localAddress: socket.localAddress, localPort: socket.localPort });
    };
    if (c.mqttPort !== undefined) this.server = createServer(accept);
    if (c.mqttTlsPort !== undefined) this.tlsServer = this.createTlsServer(c, accept);
  }

  private createTlsServer(c: BrokerConfig, accept: (socket: Socket) => void): ReturnType<typeof createTlsServer> {
    let tlsServer: ReturnType<typeof createTlsServer>;
    try {
      tlsServer = createTlsServer(tlsServerOptions(c));
    } catch (e) {
      if (e instanceof TlsSetupError) throw e;
      throw new TlsSetupError(`the TLS certificate, key or CA cannot be used (--tls-cert, --tls-key, --tls-ca): ${(e as Error).message}`);
    }
    tlsServer.on('secureConnection', (socket: TLSSocket) => {
      const refused = peerRefusal(socket, c);
      if (refused === undefined) return accept(socket);
      this.log.info({ peer: `${socket.remoteAddress}:${socket.remotePort}` }, `MQTT TLS connection refused: ${refused}`);
      socket.destroy();
    });
    tlsServer.on('tlsClientError', (err, socket) => this.log.info({ peer: `${socket.remoteAddress}:${socket.remotePort}`, err: err.message }, 'MQTT TLS handshake failed'));
    return tlsServer;
  }

  get servers(): Server[] {
    return [this.server, this.tlsServer].filter((s): s is Server => s !== undefined);
  }

  async listen(): Promise<void> {
    const c = this.service.broker.config;
    if (this.server !== undefined) {
      const a = await listen(this.server, c.mqttPort!, c.host, 'mqtt');
      this.port = a.port;
      this.log.info(a, 'listening for MQTT');
    }
    if (this.tlsServer !== undefined) {
      const a = await listen(this.tlsServer, c.mqttTlsPort!, c.host, 'mqtt');
      this.tlsPort = a.port;
      this.log.info(a, 'listening for MQTT over TLS');
    }
  }

  /** Start-up failed: stop listening. */
  stop(): void {
    for (const s of this.servers) s.close();
  }
}

/**
 * The listener could not be opened. The message names the address, the port and the reason in a
 * line (the command line adds which flag changes it); `code` is the system's (EADDRINUSE, ...).
 */
export class ListenError extends Error {
  override name = 'ListenError';
  constructor(
    readonly code: string,
    readonly host: string,
    readonly port: number,
    cause: Error,
    /** Which listener: the AMQP (and AMQPS) one, MQTT's, or the HTTP API's and Prometheus's. */
    readonly listener: 'amqp' | 'mqtt' | 'management' | 'prometheus' = 'amqp',
  ) {
    super(`cannot listen on ${host.includes(':') ? `[${host}]` : host} port ${port}: ${LISTEN_FAILURES[code] ?? cause.message} (${code})`, { cause });
  }
}

const LISTEN_FAILURES: Record<string, string> = {
  EADDRINUSE: 'the port is already in use',
  EADDRNOTAVAIL: 'the address is not one of this machine\'s',
  EACCES: 'permission denied (ports below 1024 need privileges)',
};

function listen(server: Server, port: number, host: string, listener: 'amqp' | 'mqtt' = 'amqp'): Promise<{ host: string; port: number }> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      // A host without IPv6: fall back from "all interfaces" in IPv6 form to IPv4's.
      if (host === '::' && (err.code === 'EAFNOSUPPORT' || err.code === 'EADDRNOTAVAIL')) {
        server.off('error', onError);
        listen(server, port, '0.0.0.0', listener).then(resolve, reject);
        return;
      }
      reject(new ListenError(err.code ?? 'EUNKNOWN', host, port, err, listener));
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      const a = server.address();
      if (a === null || typeof a === 'string') return reject(new Error('unexpected server address'));
      resolve({ host: a.address, port: a.port });
    });
  });
}

function amqpUrl(config: BrokerConfig, host: string, port: number, scheme = 'amqp'): string {
  const e = encodeURIComponent;
  const vhost = config.defaultVhost === '/' ? '' : `/${e(config.defaultVhost)}`;
  return `${scheme}://${e(config.defaultUser)}:${e(config.defaultPass)}@${host}:${port}${vhost}`;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
