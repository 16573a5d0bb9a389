/**
 * Bytes to frames: an incremental parser for the AMQP frame layer (spec 4.2.3).
 *
 *   type:octet  channel:short  size:long  payload:size  frame-end:0xCE
 *
 * Fed whatever chunks the socket delivers, it calls `onFrame` once per complete frame with a view of
 * the payload. Payload views stay valid after the call (a frame split across chunks is assembled into
 * a buffer of its own, never a reused one), so the channel may keep a body without copying. A large
 * body frame split across chunks is not assembled: `onSplitBody` gets views of the chunks instead.
 *
 * Errors that lose sync with the peer (an oversized frame, a wrong frame-end octet) are fatal: the
 * parser stops and reports them through `onFatal` with RabbitMQ's explanation text, after which the
 * connection must not read any more input.
 *
 * A handler may `suspend()` the parser from inside `onFrame`: the frames after the current one are
 * kept, in order with anything fed later, until `resume()` (a connection blocked by a resource alarm
 * stops right after the content frame that blocked it, as RabbitMQ's reader does).
 */
import { FRAME_BODY, FRAME_END } from '../protocol/generated/constants.js';

const FRAME_HEADER_SIZE = 7;
/** Header plus frame-end: what a frame costs beyond its payload. */
export const FRAME_OVERHEAD = 8;

/**
 * Body frames at least this large that arrive split across socket chunks are passed on as views of
 * those chunks instead of being assembled (a copy): with 64 KiB reads, every 64 KiB body is split.
 */
const SPLIT_BODY_MIN = 16 * 1024;

export interface FrameHandler {
  onFrame(type: number, channel: number, payload: Buffer, start: number, end: number): void;
  /**
   * A body frame of at least SPLIT_BODY_MIN bytes that arrived split across chunks, as views of them
   * (valid after the call, like onFrame's payload). Handlers without it get the frame assembled.
   */
  onSplitBody?(channel: number, pieces: readonly Buffer[], size: number): void;
  onFatal(explanation: string): void;
}

export class FrameParser {
  /** Largest payload accepted. RabbitMQ allows FrameMax - 8 plus 8 bytes of fudge, i.e. FrameMax. */
  maxPayload: number;
  private partial: Buffer | null = null;
  private partialLen = 0;
  private partialNeed = 0;
  /** A split body frame being collected as views (see SPLIT_BODY_MIN), or null. */
  private pieces: Buffer[] | null = null;
  private piecesHave = 0;
  private piecesSize = 0;
  private piecesChannel = 0;
  private stopped = false;
  private suspended = false;
  /** Stopped or suspended: the one flag the frame loop checks. */
  private halted = false;
  /** Input received while suspended, not parsed yet. */
  private held: Buffer | null = null;

  constructor(
    /** Receives the frames; may be replaced between (or during) feeds. */
    public handler: FrameHandler,
    frameMax: number,
  ) {
    this.maxPayload = frameMax;
  }

  /** Applies a negotiated frame_max (0 means no limit, which RabbitMQ never negotiates). */
  setFrameMax(frameMax: number): void {
    this.maxPayload = frameMax === 0 ? 0xffffffff : frameMax;
  }

  stop(): void {
    this.stopped = true;
    this.halted = true;
    this.partial = null;
    this.pieces = null;
    this.suspended = false;
    this.held = null;
  }

  /** Parses no further frame until `resume()`; input fed meanwhile is kept. */
  suspend(): void {
    if (this.stopped) return;
    this.suspended = true;
    this.halted = true;
  }

  get isSuspended(): boolean {
    return this.suspended;
  }

  /** Parses what was kept while suspended (which may suspend the parser again). */
  resume(): void {
    if (!this.suspended) return;
    this.suspended = false;
    this.halted = this.stopped;
    const held = this.held;
    this.held = null;
    if (held !== null) this.feed(held);
  }

  private hold(chunk: Buffer, pos: number): void {
    if (pos >= chunk.length) return;
    const rest = pos === 0 ? chunk : chunk.subarray(pos);
    this.held = this.held === null ? rest : Buffer.concat([this.held, rest]);
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  feed(chunk: Buffer): void {
    if (this.halted) {
      if (this.suspended) this.hold(chunk, 0);
      return;
    }
    let pos = 0;
    const len = chunk.length;
    if (this.pieces !== null) {
      pos = this.continuePieces(chunk);
      if (pos < 0) return;
    } else if (this.partial !== null) {
      pos = this.continuePartial(chunk);
      if (pos < 0) return;
    }
    while (!this.halted) {
      const avail = len - pos;
      if (avail < FRAME_HEADER_SIZE) {
        if (avail > 0) this.startPartial(chunk, pos, len, FRAME_HEADER_SIZE);
        return;
      }
      const type = chunk[pos]!;
      const channel = (chunk[pos + 1]! << 8) | chunk[pos + 2]!;
      const size = chunk.readUInt32BE(pos + 3);
      if (size > this.maxPayload) {
        this.fatal(`type ${type}, all octets = <<>>: {frame_too_large,${size},${this.maxPayload - FRAME_OVERHEAD}}`);
        return;
      }
      const total = size + FRAME_OVERHEAD;
      if (avail < total) {
        if (type === FRAME_BODY && size >= SPLIT_BODY_MIN && this.handler.onSplitBody !== undefined) {
          this.pieces = len > pos + FRAME_HEADER_SIZE ? [chunk.subarray(pos + FRAME_HEADER_SIZE, len)] : [];
          this.piecesHave = len - pos - FRAME_HEADER_SIZE;
          this.piecesSize = size;
          this.piecesChannel = channel;
          return;
        }
        this.startPartial(chunk, pos, len, total);
        return;
      }
      const start = pos + FRAME_HEADER_SIZE;
      const end = start + size;
      if (chunk[end] !== FRAME_END) {
        this.fatal(
          `type ${type}, ${snippet(chunk, start, end)}: {invalid_frame_end_marker,${chunk[end]}}`,
        );
        return;
      }
      pos = end + 1;
      this.handler.onFrame(type, channel, chunk, start, end);
    }
    if (this.suspended) this.hold(chunk, pos);
  }

  /** Stashes the start of a frame that continues in a later chunk. */
  private startPartial(chunk: Buffer, pos: number, len: number, need: number): void {
    const have = len - pos;
    // Until the header is complete we do not know the frame's size: stash the header bytes only.
    const buf = Buffer.allocUnsafe(Math.max(need, FRAME_HEADER_SIZE));
    chunk.copy(buf, 0, pos, len);
    this.partial = buf;
    this.partialLen = have;
    this.partialNeed = need;
  }

  /** Completes a stashed frame from the new chunk; returns the offset to continue from, or -1. */
  private continuePartial(chunk: Buffer): number {
    let pos = 0;
    for (;;) {
      let buf = this.partial!;
      const take = Math.min(this.partialNeed - this.partialLen, chunk.length - pos);
      chunk.copy(buf, this.partialLen, pos, pos + take);
      this.partialLen += take;
      pos += take;
      if (this.partialLen < this.partialNeed) return -1;
      if (this.partialNeed === FRAME_HEADER_SIZE) {
        // Header complete: now the payload size is known.
        const size = buf.readUInt32BE(3);
        if (size > this.maxPayload) {
          this.fatal(`type ${buf[0]}, all octets = <<>>: {frame_too_large,${size},${this.maxPayload - FRAME_OVERHEAD}}`);
          return -1;
        }
        const grown = Buffer.allocUnsafe(size + FRAME_OVERHEAD);
        buf.copy(grown, 0, 0, FRAME_HEADER_SIZE);
        this.partial = buf = grown;
        this.partialNeed = size + FRAME_OVERHEAD;
        continue;
      }
      this.partial = null;
      const type = buf[0]!;
      const channel = (buf[1]! << 8) | buf[2]!;
      const end = this.partialNeed - 1;
      if (buf[end] !== FRAME_END) {
        this.fatal(`type ${type}, ${snippet(buf, FRAME_HEADER_SIZE, end)}: {invalid_frame_end_marker,${buf[end]}}`);
        return -1;
      }
      this.handler.onFrame(type, channel, buf, FRAME_HEADER_SIZE, end);
      if (!this.halted) return pos;
      if (this.suspended) this.hold(chunk, pos);
      return -1;
    }
  }

  /** Collects the rest of a split body frame; returns the offset to continue from, or -1. */
  private continuePieces(chunk: Buffer): number {
    const pieces = this.pieces!;
    let pos = 0;
    const want = this.piecesSize - this.piecesHave;
    if (want > 0) {
      pos = Math.min(want, chunk.length);
      pieces.push(pos === chunk.length ? chunk : chunk.subarray(0, pos));
      this.piecesHave += pos;
      if (this.piecesHave < this.piecesSize) return -1;
    }
    if (pos >= chunk.length) return -1; // the frame-end octet comes with the next chunk
    this.pieces = null;
    const marker = chunk[pos]!;
    if (marker !== FRAME_END) {
      const payload = Buffer.concat(pieces, this.piecesSize);
      this.fatal(`type ${FRAME_BODY}, ${snippet(payload, 0, payload.length)}: {invalid_frame_end_marker,${marker}}`);
      return -1;
    }
    pos++;
    const handler = this.handler; // may have been replaced since the frame began
    if (handler.onSplitBody !== undefined) handler.onSplitBody(this.piecesChannel, pieces, this.piecesSize);
    else handler.onFrame(FRAME_BODY, this.piecesChannel, Buffer.concat(pieces, this.piecesSize), 0, this.piecesSize);
    if (!this.halted) return pos;
    if (this.suspended) this.hold(chunk, pos);
    return -1;
  }

  private fatal(explanation: string): void {
    this.stop();
    this.handler.onFatal(explanation);
  }
}

/**
 * RabbitMQ's `payload_snippet/1` rendering for error texts: "all octets = <<...>>" for payloads up
 * to 16 bytes, else "first 16 octets = <<...>>", in Erlang's binary notation.
 */
export function snippet(buf: Buffer, start: number, end: number): string {
  const n = end - start;
  if (n <= 16) return `all octets = ${erlangBinary(buf.subarray(start, end))}`;
  return `first 16 octets = ${erlangBinary(buf.subarray(start, start + 16))}`;
}

/**
 * Formats bytes as Erlang's `~p` prints a binary: <<"text">> when every byte is in its Latin-1
 * printable set (32..126, 160..255, and \b \t \n \v \f \r \e, printed as escapes), else <<1,2,3>>.
 * High bytes become the Latin-1 characters they are; frame-error reply texts are sent as Latin-1 so
 * they reach the client as the single bytes RabbitMQ sends (see `replyTextBytes`).
 */
export function erlangBinary(b: Buffer): string {
  if (b.length === 0) return '<<>>';
  let printable = true;
  for (const c of b) {
    if (!((c >= 32 && c <= 126) || c >= 160 || (c >= 8 && c <= 13) || c === 27)) {
      printable = false;
      break;
    }
  }
  if (!printable) return `<<${[...b].join(',')}>>`;
  let s = '';
  for (const c of b) s += ESCAPES[c] ?? String.fromCharCode(c);
  return `<<"${s}">>`;
}

const ESCAPES: Readonly<Record<number, string>> = {
  8: '\\b',
  9: '\\t',
  10: '\\n',
  11: '\\v',
  12: '\\f',
  13: '\\r',
  27: '\\e',
  34: '\\"',
  92: '\\\\',
};
