import type { Message } from '../message/message.js';
import { Exchange, type Binding, type Destination, type RouteSink } from './exchange.js';

/** Routes to every bound destination, whatever the routing key. */
export class FanoutExchange extends Exchange {
  readonly type = 'fanout';
  private destinations: Destination[] = [];

  protected onBind(b: Binding): void {
    this.destinations.push(b.destination);
  }

  protected onUnbind(b: Binding): void {
    const i = this.destinations.indexOf(b.destination);
    if (i >= 0) this.destinations.splice(i, 1);
  }

  route(_msg: Message, _routingKey: string, sink: RouteSink): void {
    const d = this.destinations;
    for (let i = 0; i < d.length; i++) sink.add(d[i]!);
  }
}
