/**
 * The delayed-message exchange (type `x-delayed-message`), built in. It behaves as the exchange type
 * named by its `x-delayed-type` argument, except that a message whose `x-delay` header asks for a
 * delay is held (see held-messages.ts) and routed when the delay is over, with `x-delay` then set to
 * minus the delay, as RabbitMQ's rabbitmq-delayed-message-exchange plugin does, so that exchanges
 * further along do not delay it again.
 *
 * Which `x-delay` values delay (rabbit_delayed_message_utils:get_delay): integers of any width,
 * decimal strings, and floats (truncated), when the result is above 0 and at most 2^32 - 1 ms (the
 * longest Erlang timer). Anything else routes at once.
 *
 * One deliberate difference from the plugin: a held message counts as routed. The plugin reports it
 * unroutable (a basic.return for a mandatory publish, and a copy through the alternate exchange) and
 * then delivers it anyway when its delay is over.
 */
import { Message } from '../message.js';
import { fv, type FieldValue } from '../protocol/field-table.js';
import { Exchange, type Binding, type ExchangeOptions, type RouteSink } from './exchange.js';
import type { HeldMessages } from './held-messages.js';

export const DELAYED_EXCHANGE_TYPE = 'x-delayed-message';
/** The longest delay the plugin accepts (an Erlang timer's limit); longer ones route at once. */
export const MAX_DELAY_MS = 4_294_967_295;

export class DelayedExchange extends Exchange {
  readonly type = DELAYED_EXCHANGE_TYPE;
  /** Set by the vhost: where held messages wait. */
  held: HeldMessages | undefined;

  constructor(
    name: string,
    vhost: string,
    options: ExchangeOptions,
    /** An exchange of the `x-delayed-type` type that does the routing. */
    private readonly inner: Exchange,
  ) {
    super(name, vhost, options);
  }

  override validateBinding(args: Parameters<Exchange['validateBinding']>[0]): string | undefined {
    return this.inner.validateBinding(args);
  }

  protected onBind(b: Binding): void {
    this.inner.addBinding(b);
  }

  protected onUnbind(b: Binding): void {
    this.inner.removeBinding(b.key);
  }

  route(msg: Message, routingKey: string, sink: RouteSink): void {
    if (this.held !== undefined && msg.hasHeaders && delayOf(msg) > 0) sink.add(this.held);
    else this.inner.route(msg, routingKey, sink);
  }
}

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
