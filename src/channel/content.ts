/**
 * Content assembly (rabbit_command_assembler's states): a content-bearing method, then its content
 * header, then body frames until the announced size has arrived. The assembler only collects; the
 * channel acts on the completed command.
 */
import { preconditionFailed, unexpectedFrame } from '../errors.js';
import type { AnyMethod } from '../protocol/generated/methods.js';
import { Method } from '../protocol/generated/methods.js';
import { ClassId, FRAME_BODY, FRAME_HEADER } from '../protocol/generated/constants.js';
import { TWO_32 } from '../protocol/codec-primitives.js';

enum Expecting {
  Method,
  Header,
  Body,
}

const EMPTY = Buffer.alloc(0);

export class ContentAssembler {
  private expecting = Expecting.Method;
  /** The command being assembled, and its parts once complete. */
  method: AnyMethod | undefined;
  properties: Buffer = EMPTY;
  body: Buffer | readonly Buffer[] = EMPTY;
  /** The announced body size. */
  bodySize = 0;
  /** The announced body is larger than allowed: its frames are read and dropped. */
  tooLarge = false;
  private assembled: Buffer | undefined;
  private received = 0;

  constructor(private readonly maxMessageSize: number) {}

  get expectingMethod(): boolean {
    return this.expecting === Expecting.Method;
  }

  get expectingHeader(): boolean {
    return this.expecting === Expecting.Header;
  }

  /** A content-bearing method arrived: its header comes next. */
  begin(m: AnyMethod): void {
    this.method = m;
    this.expecting = Expecting.Header;
  }

  /** The content header; true when the command is complete (an empty body). */
  header(type: number, payload: Buffer, start: number, end: number): boolean {
    if (type !== FRAME_HEADER) throw headerExpected('got non content header frame instead');
    const classId = payload.readUInt16BE(start);
    const weight = payload.readUInt16BE(start + 2);
    if (weight !== 0) throw headerExpected('got non content header frame instead');
    if (classId !== ClassId.Basic) throw headerExpected(`got one for class ${classId} instead`);
    const size = payload.readUInt32BE(start + 4) * TWO_32 + payload.readUInt32BE(start + 8);
    this.properties = payload.subarray(start + 12, end);
    this.tooLarge = size > this.maxMessageSize;
    this.bodySize = size;
    this.received = 0;
    this.assembled = undefined;
    if (size === 0) return this.complete(EMPTY);
    this.expecting = Expecting.Body;
    return false;
  }

  /** A body frame; true when the body is complete. */
  bodyFrame(type: number, payload: Buffer, start: number, end: number): boolean {
    if (type !== FRAME_BODY) {
      throw unexpectedFrame('expected content body, got non content body frame instead').withMethodOf(Method.BasicPublish);
    }
    const n = end - start;
    const received = this.received + n;
    if (!this.tooLarge && received <= this.bodySize) {
      if (received === this.bodySize && this.assembled === undefined) {
        // The whole body in one frame (the common case): keep a view of the frame, no copy.
        this.received = received;
        return this.complete(payload.subarray(start, end));
      }
      this.assembled ??= Buffer.allocUnsafe(this.bodySize);
      payload.copy(this.assembled, this.received, start, end);
    }
    this.received = received;
    // More body than announced: like RabbitMQ, keep waiting; the next non-body frame is an error.
    return received === this.bodySize && this.complete(this.assembled ?? EMPTY);
  }

  /**
   * A large body frame that arrived as views of several socket chunks. When it is the whole body the
   * command keeps the views (no copy); anything else is assembled as an ordinary body frame.
   */
  splitBody(pieces: readonly Buffer[], size: number): boolean {
    if (this.expecting === Expecting.Body && !this.tooLarge && this.assembled === undefined && this.received + size === this.bodySize) {
      this.received = this.bodySize;
      return this.complete(pieces);
    }
    return this.bodyFrame(FRAME_BODY, Buffer.concat(pieces, size), 0, size);
  }

  /** RabbitMQ refuses an oversized message once its content is complete. */
  checkSize(): void {
    if (this.tooLarge) {
      this.tooLarge = false;
      throw preconditionFailed(`message size ${this.bodySize} is larger than configured max size ${this.maxMessageSize}`).withMethodOf(Method.BasicPublish);
    }
  }

  /** Forgets the completed command (its parts stay valid for whoever took them). */
  reset(): void {
    this.method = undefined;
    this.properties = EMPTY;
    this.body = EMPTY;
    this.assembled = undefined;
  }

  private complete(body: Buffer | readonly Buffer[]): true {
    this.body = body;
    this.expecting = Expecting.Method;
    return true;
  }
}

function headerExpected(detail: string) {
  return unexpectedFrame(`expected content header for class 60, ${detail}`).withMethodOf(Method.BasicPublish);
}
