/**
 * How a connection goes away, apart from its state: what an error becomes (the connection.close it
 * is answered with), the bounded waits (for the client's close-ok, RabbitMQ's silent-close pause)
 * and the end of the socket.
 */
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { BrokerConfig } from '../config.js';
import { ChannelError, ConnectionError, internalError } from '../errors.js';
import { ReplyCode } from '../protocol/generated/constants.js';
import { encodeConnectionClose } from '../protocol/generated/methods.js';
import type { Outbound } from '../wire/outbound.js';

/**
 * An error raised on a connection as the connection error it is answered with: a soft error on
 * channel 0 (or outside any channel) closes the connection, as in RabbitMQ; anything that is no
 * AMQP error is logged and answered as an internal error.
 */
export function asConnectionError(e: unknown, log: Logger): ConnectionError {
  if (e instanceof ChannelError) return new ConnectionError(e.code, e.explanation, e.classId, e.methodId);
  if (e instanceof ConnectionError) return e;
  log.error({ err: e }, 'internal error');
  return internalError('');
}

/** Writes connection.close for `err` (an internal error carries no explanation in RabbitMQ's reply text). */
export function writeConnectionClose(out: Outbound, err: ConnectionError): void {
  const replyText = err.code === ReplyCode.INTERNAL_ERROR && err.explanation === '' ? 'INTERNAL_ERROR' : err.replyTextBytes;
  encodeConnectionClose(out, 0, { replyCode: err.code, replyText, classId: err.classId, methodId: err.methodId });
  out.frameDone();
}

/** The timer that ends a closing connection, and the socket's end. */
export class SocketClosing {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly socket: Duplex,
    private readonly config: Pick<BrokerConfig, 'closeTimeoutMs' | 'silentCloseDelayMs'>,
    private readonly terminate: (reason: string) => void,
  ) {}

  /**
   * Bounds the wait for the client to finish closing: the heartbeat interval when that is shorter,
   * else the configured maximum (RabbitMQ: heartbeat timeout, at most 30 s). A wait already armed stays.
   */
  awaitClientClose(heartbeatSeconds: number): void {
    if (this.timer !== undefined) return;
    const max = this.config.closeTimeoutMs;
    const ms = heartbeatSeconds > 0 && heartbeatSeconds * 1000 < max ? heartbeatSeconds * 1000 : max;
    this.timer = setTimeout(() => this.terminate('close timeout'), ms);
    this.timer.unref?.();
  }

  /** Terminates for `reason` after RabbitMQ's silent-close delay, instead of any wait armed before. */
  terminateAfterPause(reason: string): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.terminate(reason), this.config.silentCloseDelayMs);
    this.timer.unref?.();
  }

  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
  }

  /**
   * end() lets queued output (a close frame, our protocol header) go out first; the socket is read
   * again so the peer's end is seen, and destroyed if the peer never finishes.
   */
  endSocket(last?: Buffer): void {
    if (last !== undefined) this.socket.end(last);
    else this.socket.end();
    this.socket.resume();
    if (!this.socket.destroyed) {
      const t = setTimeout(() => this.socket.destroy(), 1000);
      t.unref();
      this.socket.once('close', () => clearTimeout(t));
    }
  }
}
