import pino, { type Logger } from 'pino';
import type { LogLevel } from './config.js';
import { LogSink } from './log-sink.js';

/**
 * Structured logs (pino). Each connection logs through a child carrying its id, peer address, user
 * and vhost; channels add their number; queues their name.
 */
export function createLogger(level: LogLevel, destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = { level, base: { name: 'warren' } };
  if (destination !== undefined) return pino(options, destination);
  // Standard output, asynchronously and bounded: a stdout nobody reads must never stop the broker.
  return pino(options, new LogSink(1));
}

/** Gives buffered log lines up to `ms` to be written (before the process exits). */
export function flushLog(log: Logger, ms = 1000): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    t.unref();
    try {
      log.flush(() => {
        clearTimeout(t);
        resolve();
      });
    } catch {
      clearTimeout(t);
      resolve();
    }
  });
}
