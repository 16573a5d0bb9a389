/**
 * `warren [options]`: runs a broker until SIGTERM or SIGINT, then closes every connection with
 * 320 CONNECTION_FORCED and exits 0. `warren ctl <command>` is the rabbitmqctl-like client instead.
 *
 * Exit codes: 0 after a signal (or --help, --version); 1 when the broker cannot start (the port is
 * taken, the data directory cannot be used: one line on stderr saying which flag changes it); 2 for
 * a mistake on the command line or in a WARREN_* variable.
 */
import type { Logger } from 'pino';
import { ConfigError, DEFAULTS, parseArgs, usage, type CliOptions } from './config.js';
import { readConfigFile, type ConfigFileSettings } from './config-file/broker-settings.js';
import { ConfigFileError } from './config-file/rabbitmq-conf.js';
import { LoadDefinitionsError } from './broker/definitions-import.js';
import { TlsSetupError } from './tls.js';
import { createLogger, defaultLogFormat, flushLog } from './log.js';
import { ListenError, startBroker, type RunningBroker } from './server.js';
import { startIdleGc } from './util/idle-gc.js';
import { DataDirError } from './store/data-dir.js';
import { VERSION } from './version.js';

export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  // `warren ctl ...`: rabbitmqctl's commands against a running node's management API (src/ctl/),
  // loaded only when asked for. bin/warren.js goes there directly, without loading this module.
  if (argv[0] === 'ctl') {
    const { ctlMain } = await import('./ctl/main.js');
    await ctlMain(argv.slice(1));
    return;
  }
  const configured = configure(argv);
  if (configured === undefined) return;
  const { config, log } = configured;

  // Signals are taken from the start: one that arrives during recovery stops the broker as soon as
  // it is up, with a clean shutdown, instead of killing it half-recovered.
  let running: RunningBroker | undefined;
  let stopSignal: string | undefined;
  const stop = (signal: string) => {
    if (stopSignal !== undefined) return;
    stopSignal = signal;
    if (running !== undefined) shutDown(running, signal);
  };
  const shutDown = (broker: RunningBroker, signal: string) => {
    log.info({ signal }, 'shutting down');
    broker.close().then(
      async () => {
        await flushLog(log);
        process.exit(0);
      },
      async (err) => {
        log.error({ err }, 'error during shutdown');
        await flushLog(log);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  stopWithParent(() => stop('parent exited'));

  try {
    running = await startBroker({ ...config, logger: log });
  } catch (e) {
    const message = startFailure(e);
    if (message === undefined) throw e;
    await flushLog(log);
    fail(1, message);
  }
  log.info({ url: running.url, ...(running.tlsUrl !== undefined ? { tlsUrl: running.tlsUrl } : {}), ...(running.managementUrl !== undefined ? { managementUrl: running.managementUrl } : {}), dataDir: config.dataDir, durability: config.durability, pid: process.pid }, 'Warren is ready');
  // With TLS, SIGHUP reads the certificate, key and CA files again (a renewed certificate, without
  // a restart). Without TLS it keeps its default meaning.
  if (running.tlsUrl !== undefined) reloadTlsOnSighup(running, log);
  startIdleGc({ onCollect: (bytes) => log.debug({ bufferBytes: bytes }, 'idle: collected garbage to release buffer memory') });
  if (stopSignal !== undefined) shutDown(running, stopSignal);
}

/**
 * The configuration (flags over environment over the configuration file over the defaults) and the
 * logger it asks for; undefined after --help or --version, which are printed. A mistake exits 2.
 */
function configure(argv: readonly string[]) {
  let options: CliOptions;
  try {
    options = parseArgs(argv, process.env);
  } catch (e) {
    if (e instanceof ConfigError) fail(2, e.message);
    throw e;
  }
  if (options.help) {
    process.stdout.write(usage());
    return undefined;
  }
  if (options.version) {
    process.stdout.write(`warren ${VERSION}\n`);
    return undefined;
  }
  const { logFormat, configFile, help: _help, version: _version, ...settings } = options;
  let file: ConfigFileSettings;
  try {
    file = readConfigFile(configFile);
  } catch (e) {
    if (e instanceof ConfigFileError) fail(2, e.message);
    throw e;
  }
  // Flags over environment (both in `settings`) over the file over the defaults.
  const config = { ...DEFAULTS, ...file.settings, ...settings };
  const log = createLogger(config.logLevel, undefined, logFormat ?? defaultLogFormat());
  if (file.path !== undefined) log.info({ file: file.path }, 'configuration file read');
  for (const w of file.warnings) log.warn(w);
  return { config, log };
}

function reloadTlsOnSighup(broker: RunningBroker, log: Logger): void {
  process.on('SIGHUP', () => {
    try {
      broker.reloadTls();
    } catch (e) {
      log.error({ err: (e as Error).message }, 'TLS certificates not reloaded; the old ones stay in use');
    }
  });
}

/** The one line for a start that failed on something the user can change, or undefined (a bug: the stack is worth seeing). */
function startFailure(e: unknown): string | undefined {
  if (e instanceof DataDirError) return `${e.message}; to use another directory: --data-dir (-d) or WARREN_DATA_DIR`;
  if (e instanceof TlsSetupError) return e.message;
  if (e instanceof LoadDefinitionsError) return `${e.message}; the file is given by --load-definitions, WARREN_LOAD_DEFINITIONS or load_definitions in rabbitmq.conf`;
  if (e instanceof ListenError) {
    const port = e.listener === 'mqtt' ? 'another MQTT port: --mqtt-port or WARREN_MQTT_PORT (0: no MQTT listener)' : 'another port: --port (-p) or WARREN_PORT';
    const change = e.code === 'EADDRNOTAVAIL' ? 'another address: --host or WARREN_HOST' : port;
    if (e.listener === 'prometheus') return `${e.message}; to use another port for the Prometheus endpoint: --prometheus-port or WARREN_PROMETHEUS_PORT (0 turns it off)`;
    if (e.listener === 'management') return `${e.message}; to use another port for the management API: --management-port or WARREN_MANAGEMENT_PORT (0 turns it off)`;
    return `${e.message}; to use ${change}`;
  }
  return undefined;
}

function fail(code: number, message: string): never {
  process.stderr.write(`warren: ${message}\n`);
  process.exit(code);
}

/**
 * Run by npm (`npm start`, `npx warren`: npm sets npm_lifecycle_event), the broker also stops when
 * the process that started it goes away. npm forwards SIGTERM and SIGINT to the process it spawned;
 * that is a shell (`sh -c ...`) unless the script execs, and a shell killed by the signal leaves its
 * child behind, reparented, still listening and holding the data directory. `npm start` execs (see
 * package.json), npx cannot be made to, and neither survives npm itself being killed. Outside npm a
 * new parent is normal (nohup, a daemonizing shell), so the check is off there.
 */
function stopWithParent(stop: () => void): void {
  if (process.env.npm_lifecycle_event === undefined) return;
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    stop();
  }, 250);
  timer.unref();
}
