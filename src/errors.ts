/**
 * AMQP errors, mapped to replies in one place.
 *
 * A ChannelError closes one channel (channel.close); a ConnectionError closes the connection
 * (connection.close). Each carries RabbitMQ's reply code, its explanation, and the class and method of
 * the command that failed; `replyText` renders them the way RabbitMQ's `rabbit_binary_generator:
 * map_exception/3` does: "NOT_FOUND - no queue 'x' in vhost '/'", cut to 255 bytes with "...".
 *
 * Throw these from anywhere on the command path; the channel or connection that dispatched the command
 * catches them and replies. Anything else thrown there becomes 541 INTERNAL_ERROR for that connection.
 */
import { REPLY_CODE_INFO, ReplyCode, type ReplyCodeName } from './protocol/generated/constants.js';

export type ErrorScope = 'channel' | 'connection';

export abstract class AmqpError extends Error {
  abstract readonly scope: ErrorScope;
  /** Class and method of the failed command; 0, 0 when none (RabbitMQ's `method = none`). */
  classId: number;
  methodId: number;
  /** Why, for the log only (a bare 541 tells the client nothing). */
  detail: string | undefined;

  constructor(
    readonly code: number,
    readonly explanation: string,
    classId = 0,
    methodId = 0,
  ) {
    super(explanation);
    this.classId = classId;
    this.methodId = methodId;
  }

  get codeName(): ReplyCodeName {
    return REPLY_CODE_INFO.get(this.code)?.name ?? 'INTERNAL_ERROR';
  }

  /** The reply-text field as RabbitMQ writes it. */
  get replyText(): string {
    return formatReplyText(this.codeName, this.explanation);
  }

  /**
   * The reply-text bytes for the wire. Frame errors quote raw frame bytes (`all octets = <<"A\xe9">>`)
   * which RabbitMQ sends unconverted, so their texts go out as Latin-1; all others as UTF-8.
   */
  get replyTextBytes(): Buffer {
    const latin1 = this.code === ReplyCode.FRAME_ERROR || this.code === ReplyCode.UNEXPECTED_FRAME;
    return truncateReplyText(Buffer.from(`${this.codeName} - ${this.explanation}`, latin1 ? 'latin1' : 'utf8'));
  }

  /** Sets the failing command unless one was already named by the code that threw. */
  withMethod(classId: number, methodId: number): this {
    if (this.classId === 0 && this.methodId === 0) {
      this.classId = classId;
      this.methodId = methodId;
    }
    return this;
  }

  withDetail(detail: string): this {
    this.detail = detail;
    return this;
  }

  /** withMethod for a method key of the generated codec (`Method.BasicPublish`: class << 16 | method). */
  withMethodOf(key: number): this {
    return this.withMethod(key >>> 16, key & 0xffff);
  }
}

/** A soft error: the channel is closed, the connection and its other channels carry on. */
export class ChannelError extends AmqpError {
  readonly scope = 'channel';
  override name = 'ChannelError';
}

/** A hard error: the whole connection is closed. */
export class ConnectionError extends AmqpError {
  readonly scope = 'connection';
  override name = 'ConnectionError';
}

/**
 * Input RabbitMQ cannot even answer: a method id it does not know, a field table it cannot parse.
 * Its reader process crashes and the socket closes without a reply; we log why and do the same.
 */
export class SocketDrop extends Error {
  override name = 'SocketDrop';
}

/** RabbitMQ keeps the first 252 bytes of a reply text over 255 bytes and appends "...". */
function truncateReplyText(b: Buffer): Buffer {
  return b.length <= 255 ? b : Buffer.concat([b.subarray(0, 252), Buffer.from('...')]);
}

function formatReplyText(codeName: string, explanation: string): string {
  const text = `${codeName} - ${explanation}`;
  if (Buffer.byteLength(text) <= 255) return text;
  // RabbitMQ keeps the first 252 bytes and appends "..."; cut on a character boundary.
  let cut = Buffer.from(text).subarray(0, 252).toString('utf8');
  while (Buffer.byteLength(cut) > 252 || cut.endsWith('\uFFFD')) cut = cut.slice(0, -1);
  return `${cut}...`;
}

// Constructors named after RabbitMQ's error atoms, so call sites read like its source.
export const notFound = (text: string) => new ChannelError(ReplyCode.NOT_FOUND, text);
export const accessRefused = (text: string) => new ChannelError(ReplyCode.ACCESS_REFUSED, text);
/**
 * ACCESS_REFUSED's code and reply-text bytes for a close that is only sent, never thrown: a refused
 * login. Building an AmqpError there captured a stack trace per attempt, about a sixth of a failed
 * login's cost, on the path a password-guessing client drives.
 */
export const accessRefusedReply = (text: string) => ({ code: ReplyCode.ACCESS_REFUSED, text: truncateReplyText(Buffer.from(`ACCESS_REFUSED - ${text}`)) });
export const resourceLocked = (text: string) => new ChannelError(ReplyCode.RESOURCE_LOCKED, text);
export const preconditionFailed = (text: string) => new ChannelError(ReplyCode.PRECONDITION_FAILED, text);
export const notAllowed = (text: string) => new ConnectionError(ReplyCode.NOT_ALLOWED, text);
export const notImplemented = (text: string) => new ConnectionError(ReplyCode.NOT_IMPLEMENTED, text);
export const channelError = (text: string) => new ConnectionError(ReplyCode.CHANNEL_ERROR, text);
export const commandInvalid = (text: string) => new ConnectionError(ReplyCode.COMMAND_INVALID, text);
export const syntaxError = (text: string) => new ConnectionError(ReplyCode.SYNTAX_ERROR, text);
export const frameError = (text: string) => new ConnectionError(ReplyCode.FRAME_ERROR, text);
export const unexpectedFrame = (text: string) => new ConnectionError(ReplyCode.UNEXPECTED_FRAME, text);
export const connectionForced = (text: string) => new ConnectionError(ReplyCode.CONNECTION_FORCED, text);
export const internalError = (text: string) => new ConnectionError(ReplyCode.INTERNAL_ERROR, text);

/** Names and quotes a resource the way RabbitMQ's `rabbit_misc:rs/1` does: "queue 'q' in vhost '/'". */
export function resourceName(kind: 'queue' | 'exchange', name: string, vhost: string): string {
  return `${kind} '${name}' in vhost '${vhost}'`;
}
