/**
 * `warren [options]`: runs a broker until SIGTERM or SIGINT, then closes every connection with
 * 320 CONNECTION_FORCED and exits 0.
 */
import { ConfigError, DEFAULTS, parseArgs, usage } from './config.js';
import { createLogger, flushLog } from './log.js';
import { startBroker } from './server.js';
import { startIdleGc } from './util/idle-gc.js';
import { DataDirError } from './store/data-dir.js';

export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  let options: ReturnType<typeof parseArgs>;
  try {
    options = parseArgs(argv, process.env);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`warren: ${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
  if (options.help) {
    process.stdout.write(usage());
    return;
  }
  const config = { ...DEFAULTS, ...options };
  const log = createLogger(config.logLevel);
  let running: Awaited<ReturnType<typeof startBroker>>;
  try {
    running = await startBroker({ ...config, logger: log });
  } catch (e) {
    if (e instanceof DataDirError) {
      log.fatal(e.message);
      process.stderr.write(`warren: ${e.message}\n`);
      await flushLog(log);
      process.exit(1);
    }
    throw e;
  }
  log.info({ url: running.url, dataDir: config.dataDir, durability: config.durability, pid: process.pid }, 'Warren is ready');
  startIdleGc({ onCollect: (bytes) => log.debug({ bufferBytes: bytes }, 'idle: collected garbage to release buffer memory') });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    running.close().then(
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
}
