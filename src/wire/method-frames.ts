/**
 * Frames in, as RabbitMQ's reader judges them before anything acts on them (rabbit_reader,
 * rabbit_binary_parser): frame types allowed on channel 0 and on other channels, payloads too short
 * for their type, and the method decoded from a method frame. Bytes that do not fit a method are a
 * 501 frame error quoting them; a malformed field table or an unknown method id makes RabbitMQ's
 * reader crash, so the socket is closed without a reply.
 */
import { frameError, internalError, SocketDrop, unexpectedFrame } from '../errors.js';
import { FRAME_BODY, FRAME_HEADER, FRAME_HEARTBEAT, FRAME_METHOD } from '../protocol/generated/constants.js';
import { DecodeError, MalformedUtf8Error, Reader } from '../protocol/codec-primitives.js';
import { decodeMethod, methodName, type AnyMethod } from '../protocol/generated/methods.js';
import { erlangBinary, snippet } from './frame-parser.js';

const reader = new Reader();

/**
 * Decodes the method of a method frame (`start` at its class id). On channel 0 RabbitMQ's reader
 * names the method in the error for malformed UTF-8 (on other channels it does not), and a method
 * whose arguments do not decode crashes it: 541 with no method, where other channels get 501.
 */
export function decodeMethodFrame(payload: Buffer, start: number, end: number, onChannel0: boolean): AnyMethod {
  const key = payload.readUInt32BE(start);
  const r = reader.reset(payload, start + 4, end);
  let m: AnyMethod | undefined;
  try {
    m = decodeMethod(key, r);
    if (m !== undefined && r.pos !== end) throw new DecodeError('trailing bytes');
  } catch (e) {
    if (e instanceof MalformedUtf8Error) throw onChannel0 ? frameError(e.message).withMethodOf(key) : frameError(e.message);
    if (!(e instanceof DecodeError)) throw e;
    if (e.insideTable) throw new SocketDrop(`malformed field table in ${methodName(key)}: ${e.message}`);
    if (onChannel0) throw internalError('').withDetail(`cannot decode ${methodName(key)}: ${erlangBinary(payload.subarray(start + 4, end))}`);
    throw frameError(`cannot decode ${erlangBinary(payload.subarray(start + 4, end))}`).withMethodOf(key);
  }
  if (m === undefined) throw new SocketDrop(`unknown method ${methodName(key)}`);
  return m;
}

/**
 * Refuses a frame whose type does not belong on its channel or whose payload is too short for its
 * type. What passes: heartbeats (channel 0 only), method frames, and on other channels content
 * header and body frames.
 */
export function checkFrame(type: number, channel: number, payload: Buffer, start: number, end: number): void {
  const size = end - start;
  switch (type) {
    case FRAME_METHOD:
      if (size < 4) throw frameError(`type 1, ${snippet(payload, start, end)}: unknown_frame`);
      return;
    case FRAME_HEADER:
      if (size < 12) throw frameError(`type 2, ${snippet(payload, start, end)}: unknown_frame`);
      if (channel === 0) throw unexpectedFrame(`type 2, ${snippet(payload, start, end)}`);
      return;
    case FRAME_BODY:
      if (channel === 0) throw unexpectedFrame(`type 3, ${snippet(payload, start, end)}`);
      return;
    case FRAME_HEARTBEAT:
      if (size !== 0) throw frameError(`type 8, ${snippet(payload, start, end)}: unknown_frame`);
      if (channel !== 0) throw unexpectedFrame(`type 8, ${snippet(payload, start, end)}`);
      return;
    default:
      throw frameError(`type ${type}, ${snippet(payload, start, end)}: unknown_frame`);
  }
}
