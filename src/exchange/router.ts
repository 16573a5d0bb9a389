/**
 * Routing: the targets a message reaches from an exchange. The routing key and then any CC and BCC
 * keys are matched; exchange-to-exchange bindings are followed breadth first, each exchange once;
 * an exchange that matched nothing passes the message to its alternate exchange (RabbitMQ's ae
 * page). The default exchange routes by queue name alone and takes no bindings.
 */
import type { Message } from '../message/message.js';
import type { MessageTarget } from '../queue/target.js';
import type { Destination, Exchange, RouteSink } from './exchange.js';

/** Routing numbers are unique across collectors, so a routing nested in another never sees its marks. */
let routingEpoch = 0;

/**
 * The destinations of one routing, gathered without allocation: a routing number marks targets and
 * exchanges already reached, so each is taken once even through several bindings or exchanges.
 */
export class RouteCollector implements RouteSink {
  private epoch = 0;
  readonly targets: MessageTarget[] = [];
  readonly exchanges: Exchange[] = [];
  /** Calls to add() by the exchange being routed, duplicates included (for alternate exchanges). */
  added = 0;
  private readonly exchangeMarks = new WeakMap<Exchange, number>();

  begin(): void {
    this.epoch = ++routingEpoch;
    this.targets.length = 0;
    this.exchanges.length = 0;
  }

  add(d: Destination | MessageTarget): void {
    this.added++;
    if (d.kind !== 'exchange') {
      if (d.routeMark !== this.epoch) {
        d.routeMark = this.epoch;
        this.targets.push(d);
      }
    } else if (this.exchangeMarks.get(d) !== this.epoch) {
      this.exchangeMarks.set(d, this.epoch);
      this.exchanges.push(d);
    }
  }

  /** Marks an exchange as reached; false if it already was in this routing. */
  markExchange(x: Exchange): boolean {
    if (this.exchangeMarks.get(x) === this.epoch) return false;
    this.exchangeMarks.set(x, this.epoch);
    return true;
  }
}

export class Router {
  constructor(
    private readonly exchanges: ReadonlyMap<string, Exchange>,
    private readonly defaultExchange: Exchange,
  ) {}

  /** Routes into `r` (reset first); the targets are valid until `r` is used again. */
  route(r: RouteCollector, x: Exchange, routingKey: string, msg: Message, extraKeys: readonly string[] | undefined): readonly MessageTarget[] {
    r.begin();
    if (x === this.defaultExchange) {
      x.route(msg, routingKey, r);
      if (extraKeys !== undefined) for (const k of extraKeys) x.route(msg, k, r);
      return r.targets;
    }
    r.markExchange(x);
    r.exchanges.push(x);
    for (let i = 0; i < r.exchanges.length; i++) {
      const e = r.exchanges[i]!;
      r.added = 0;
      e.route(msg, routingKey, r);
      if (extraKeys !== undefined) for (const k of extraKeys) e.route(msg, k, r);
      if (r.added === 0) {
        const ae = this.alternateExchange(e);
        if (ae !== undefined && r.markExchange(ae)) r.exchanges.push(ae);
      }
    }
    return r.targets;
  }

  private alternateExchange(x: Exchange): Exchange | undefined {
    const ae = x.alternateExchange;
    return ae === undefined ? undefined : this.exchanges.get(ae);
  }
}
