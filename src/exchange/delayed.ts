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
import type { Message } from '../message/message.js';
import { delayOf } from './delay.js';
import { Exchange, type Binding, type ExchangeOptions, type RouteSink } from './exchange.js';
import type { HeldMessages } from './held-messages.js';

export const DELAYED_EXCHANGE_TYPE = 'x-delayed-message';

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
