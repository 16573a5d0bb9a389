import type { Message } from '../message/message.js';
import { Exchange, type Binding, type Destination, type RouteSink } from './exchange.js';

/** Routes to bindings whose key equals the routing key exactly. */
export class DirectExchange extends Exchange {
  readonly type: string = 'direct';
  private readonly byKey = new Map<string, Destination[]>();

  protected onBind(b: Binding): void {
    const list = this.byKey.get(b.routingKey);
    if (list === undefined) this.byKey.set(b.routingKey, [b.destination]);
    else list.push(b.destination);
  }

  protected onUnbind(b: Binding): void {
    const list = this.byKey.get(b.routingKey);
    if (list === undefined) return;
    const i = list.indexOf(b.destination);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.byKey.delete(b.routingKey);
  }

  route(_msg: Message, routingKey: string, sink: RouteSink): void {
    const list = this.byKey.get(routingKey);
    if (list === undefined) return;
    for (let i = 0; i < list.length; i++) sink.add(list[i]!);
  }
}
