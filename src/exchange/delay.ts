/**
 * The `x-delay` header of the delayed-message exchange: which values delay a message, and how a
 * message looks when its delay is over (rabbit_delayed_message_utils:get_delay and the plugin's
 * rewrite of the header).
 */
import { Message } from '../message/message.js';
import { fv, type FieldValue } from '../protocol/field-table.js';

/** The longest delay the plugin accepts (an Erlang timer's limit); longer ones route at once. */
const MAX_DELAY_MS = 4_294_967_295;

/**
 * The delay a message's `x-delay` header asks for, in ms, or 0 when it asks for none (no header, a
 * value that is not a number, or one out of range).
 */
export function delayOf(msg: Message): number {
  if (!msg.hasHeaders) return 0;
  const v = msg.decodedProperties.headers?.get('x-delay');
  if (v === undefined) return 0;
  const n = numericValue(v);
  return n !== undefined && n > 0 && n <= MAX_DELAY_MS ? n : 0;
}

function numericValue(v: FieldValue): number | undefined {
  switch (v.type) {
    case 'b': case 'B': case 's': case 'u': case 'I': case 'i':
      return v.value;
    case 'l':
      return Number(v.value);
    case 'f': case 'd':
      return Math.trunc(v.value);
    case 'D':
      return Math.trunc(v.value.value / 10 ** v.value.scale);
    case 'S': {
      const s = typeof v.value === 'string' ? v.value : v.value.toString('utf8');
      return /^[+-]?\d+$/.test(s) ? Number(s) : undefined;
    }
    default:
      return undefined;
  }
}

/**
 * The message as it is routed when its delay is over: `x-delay` becomes minus the delay (a signed
 * 32-bit integer when it fits, as the plugin writes it), in place among the other headers.
 */
export function withDelayServed(msg: Message, delay: number): Message {
  const props = msg.decodedProperties;
  const headers = new Map(props.headers ?? []);
  headers.set('x-delay', delay <= 2 ** 31 ? { type: 'I', value: -delay } : fv.long(-delay));
  const copy = new Message(msg.exchange, msg.routingKey, msg.properties, msg.bodyPieces ?? msg.body);
  copy.setProperties({ ...props, headers });
  copy.extraKeys = msg.extraKeys;
  copy.publishedAt = msg.publishedAt;
  return copy;
}
