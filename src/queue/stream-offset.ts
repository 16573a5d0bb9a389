/**
 * basic.consume on a stream (rabbit_stream_queue:consume/3 and rabbit_amqqueue's consume argument
 * checks of RabbitMQ 3.10.8, each text recorded against it): where the consumer starts
 * (x-stream-offset), and what a stream consumer must be.
 *
 * x-stream-offset: "first", "last" (the first offset of the last chunk), "next" (the default), an
 * integer offset (below the stream's start: its first offset; beyond its end: the consumer waits
 * until the stream reaches it), an AMQP
 * timestamp (seconds), or an interval back from now in x-max-age's units ("30m", "1D"). A string that
 * is none of these gets a 406 {invalid_stream_offset_arg,...}; one without leading digits ("foo"), a
 * boolean or a float crash RabbitMQ's parser and close the connection with a bare 541.
 */
import { internalError, preconditionFailed, resourceName } from '../errors.js';
import { erlangTerm } from '../protocol/erlang-format.js';
import { FIELD_TYPE_NAMES, type FieldTable, type FieldValue } from '../protocol/field-table.js';
import { maxAgeMs } from './arguments.js';

export type OffsetSpec =
  | { readonly kind: 'first' | 'last' | 'next' }
  | { readonly kind: 'offset'; readonly offset: number }
  /** The first chunk at or after this time (ms since the epoch). */
  | { readonly kind: 'timestamp'; readonly ms: number };

const INTEGER_TYPES = new Set(['b', 's', 'I', 'l', 'B', 'u', 'i']);

/** The consumer's starting point, or RabbitMQ's error for the argument. Changes nothing. */
function parseStreamOffset(queue: string, vhost: string, v: FieldValue | undefined, now = Date.now()): OffsetSpec {
  if (v === undefined) return { kind: 'next' };
  if (INTEGER_TYPES.has(v.type)) return { kind: 'offset', offset: Math.max(0, Number(v.value as number | bigint)) };
  if (v.type === 'T') return { kind: 'timestamp', ms: Number(v.value) * 1000 };
  if (v.type === 'S' || v.type === 'x') {
    const text = Buffer.isBuffer(v.value) ? v.value.toString('utf8') : v.value;
    if (text === 'first' || text === 'last' || text === 'next') return { kind: text };
    // A byte array that is not a keyword falls through RabbitMQ's clauses, as other types do.
    if (v.type === 'S') {
      const ms = maxAgeMs(text);
      if (ms !== undefined) return { kind: 'timestamp', ms: now - ms };
      throw preconditionFailed(
        `invalid arg 'x-stream-offset' for ${resourceName('queue', queue, vhost)}: {invalid_stream_offset_arg,{${FIELD_TYPE_NAMES[v.type]},${erlangTerm(v)}}}`,
      );
    }
  }
  throw internalError('').withDetail(`x-stream-offset of type ${FIELD_TYPE_NAMES[v.type]} crashes RabbitMQ's offset parser`);
}

/**
 * The checks of a consumer on a stream, in RabbitMQ's order: x-stream-offset, then x-priority (a
 * stream has no consumer priorities), then a prefetch count (manual acknowledgement with basic.qos:
 * no-ack consumers have none). Returns where the consumer starts.
 */
export function checkStreamConsume(queue: string, vhost: string, args: FieldTable, noAck: boolean, prefetch: number, consumerTag: string): StreamStart {
  const spec = parseStreamOffset(queue, vhost, args.get('x-stream-offset'));
  const where = resourceName('queue', queue, vhost);
  if (args.has('x-priority')) throw preconditionFailed(`invalid arg 'x-priority' for ${where} of queue type rabbit_stream_queue`);
  if (noAck || prefetch === 0) throw preconditionFailed(`consumer prefetch count is not set for '${where}'`);
  return { offset: spec, track: offsetTracking(args, consumerTag) };
}

/** Warren's server-side offset tracking (LavinMQ's argument): store/stream-offsets.ts. */
const OFFSET_TRACKING = 'x-stream-automatic-offset-tracking';

/** Where a stream consumer starts, and whether the broker keeps its offset. */
export interface StreamStart {
  readonly offset: OffsetSpec;
  readonly track: boolean;
}

/**
 * Whether the broker keeps the consumer's offset: the argument true and a consumer tag of the
 * client's own (the name the offset is kept under; a generated tag is never seen again). RabbitMQ
 * accepts the argument with any value and ignores it, so anything else means no tracking, not an error.
 */
function offsetTracking(args: FieldTable, consumerTag: string): boolean {
  const v = args.get(OFFSET_TRACKING);
  return v?.type === 't' && v.value && consumerTag !== '';
}

/** A consumer's stream filter (3.13 and later): the filter values it wants, and whether unfiltered messages too. */
export interface StreamFilter {
  readonly values: ReadonlySet<string>;
  readonly matchUnfiltered: boolean;
}

const text = (v: FieldValue): string | undefined => (v.type === 'S' ? (Buffer.isBuffer(v.value) ? v.value.toString('utf8') : v.value) : undefined);

/**
 * x-stream-filter (a string, or an array of strings) and x-stream-match-unfiltered (a boolean), as
 * rabbit_stream_queue reads them; without x-stream-filter the consumer gets every chunk.
 */
export function streamFilterOf(args: FieldTable): StreamFilter | undefined {
  const f = args.get('x-stream-filter');
  if (f === undefined) return undefined;
  const values = new Set<string>();
  const one = text(f);
  if (one !== undefined) values.add(one);
  else if (f.type === 'A') for (const v of f.value) if (text(v) !== undefined) values.add(text(v)!);
  const unfiltered = args.get('x-stream-match-unfiltered');
  return { values, matchUnfiltered: unfiltered?.type === 't' && unfiltered.value };
}

