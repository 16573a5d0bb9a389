/**
 * Exchanges: named routers. Each type decides which of its bindings a message matches; the router
 * (router.ts) walks exchange-to-exchange bindings and alternate exchanges.
 *
 * A binding is identified, as in RabbitMQ, by its source, destination, routing key and arguments, the
 * arguments sorted by key (rabbit_binding sorts them before comparing).
 */
import type { Message } from '../message/message.js';
import { Writer } from '../protocol/codec-primitives.js';
import type { FieldTable } from '../protocol/field-table.js';
import type { Queue } from '../queue/queue.js';
import type { MessageTarget } from '../queue/target.js';

/** What a binding points at. */
export type Destination = Queue | Exchange;

export interface Binding {
  readonly source: Exchange;
  readonly destination: Destination;
  readonly routingKey: string;
  readonly arguments: FieldTable;
  /** Identity of the binding within its source. */
  readonly key: string;
}

export interface ExchangeOptions {
  readonly durable: boolean;
  readonly autoDelete: boolean;
  readonly internal: boolean;
  readonly arguments: FieldTable;
}

/** Collects routing results without duplicates, in one reused structure per vhost. */
export interface RouteSink {
  add(d: Destination | MessageTarget): void;
}

export abstract class Exchange {
  readonly kind = 'exchange';
  abstract readonly type: string;
  /** Bindings where this exchange is the source, by identity. */
  readonly bindings = new Map<string, Binding>();
  /** Bindings where this exchange is the destination (exchange-to-exchange). */
  readonly incoming = new Set<Binding>();
  deleted = false;
  /**
   * Where unroutable messages go: the alternate-exchange argument, else a policy's (the vhost sets it
   * when policies change, rabbit_exchange:policy_changed).
   */
  alternateExchange: string | undefined;

  constructor(
    readonly name: string,
    readonly vhost: string,
    readonly options: ExchangeOptions,
  ) {
    const ae = options.arguments.get('alternate-exchange');
    this.alternateExchange = ae === undefined || ae.type !== 'S' ? undefined : typeof ae.value === 'string' ? ae.value : ae.value.toString('utf8');
  }

  /** RabbitMQ's validate_binding: an error text (a 406) or undefined. */
  validateBinding(_args: FieldTable): string | undefined {
    return undefined;
  }

  /** Adds a binding's route; returns false if an identical binding already exists. */
  addBinding(b: Binding): boolean {
    if (this.bindings.has(b.key)) return false;
    this.bindings.set(b.key, b);
    this.onBind(b);
    return true;
  }

  removeBinding(key: string): Binding | undefined {
    const b = this.bindings.get(key);
    if (b === undefined) return undefined;
    this.bindings.delete(key);
    this.onUnbind(b);
    return b;
  }

  protected abstract onBind(b: Binding): void;
  protected abstract onUnbind(b: Binding): void;

  /** Adds every destination bound to this exchange that the message matches. */
  abstract route(msg: Message, routingKey: string, sink: RouteSink): void;
}

/** A queue or exchange binding identity: destination, routing key, arguments sorted by key. */
export function bindingKey(destination: Destination, routingKey: string, args: FieldTable): string {
  const dest = destination.kind === 'exchange' ? `e:${destination.name}` : `q:${destination.name}`;
  if (args.size === 0) return `${dest}\u0000${routingKey}`;
  const sorted = new Map([...args].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  const w = new Writer(64);
  w.table(sorted);
  return `${dest}\u0000${routingKey}\u0000${w.bytes().toString('base64')}`;
}
