import pino, { type Logger } from 'pino';
import { isatty } from 'node:tty';
import type { LogFormat, LogLevel } from './config.js';
import { formatPretty } from './log-pretty.js';
import { LogSink } from './log-sink.js';

/**
 * Structured logs (pino). Each connection logs through a child carrying its id, peer address, user
 * and vhost; channels add their number; queues their name.
 */
export function createLogger(level: LogLevel, destination?: pino.DestinationStream, format: LogFormat = 'json'): Logger {
  const options: pino.LoggerOptions = { level, base: { name: 'warren' } };
  if (destination !== undefined) return pino(options, destination);
  // Standard output, asynchronously and bounded: a stdout nobody reads must never stop the broker.
  if (format === 'json') return pino(options, new LogSink(1));
  const color = isatty(1) && process.env.NO_COLOR === undefined;
  return pino(options, new LogSink(1, (line) => formatPretty(line, color)));
}

/** The command line's default: lines to read on a terminal, JSON lines for anything collecting them. */
export function defaultLogFormat(): LogFormat {
  return isatty(1) ? 'pretty' : 'json';
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
