import pino, { type Logger } from 'pino';
import type { LogLevel } from './config.js';

/**
 * Structured logs (pino). Each connection logs through a child carrying its id, peer address, user
 * and vhost; channels add their number; queues their name.
 */
export function createLogger(level: LogLevel, destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = { level, base: { name: 'warren' } };
  return destination === undefined ? pino(options) : pino(options, destination);
}
