/**
 * Exchanges: named routers. Each type decides which of its bindings a message matches; the vhost
 * walks exchange-to-exchange bindings and alternate exchanges (src/routing.ts).
 *
 * A binding is identified, as in RabbitMQ, by its source, destination, routing key and arguments, the
 * arguments sorted by key (rabbit_binding sorts them before comparing).
 */
import type { Message } from '../message.js';
import { Writer } from '../protocol/codec-primitives.js';
import type { FieldTable } from '../protocol/field-table.js';
import type { PublishOutcome, Queue } from '../queue/queue.js';
import type { StoredCallback } from '../store/persister.js';

/** What a binding points at. */
export type Destination = Queue | Exchange;

/**
 * Where routing leaves a message: a queue, or the holding area of a delayed-message exchange (which
 * takes the message now and routes it again when its delay is over).
 */
export interface RouteTarget {
  readonly kind: 'queue' | 'delayed';
  readonly name: string;
  readonly deleted: boolean;
  /** Routing marks a target as reached with the current routing's number, to skip duplicates. */
  routeMark: number;
  /** Takes the message; `onStored` runs once a durable copy is on disk (when the outcome is 'pending'). */
  publish(msg: Message, onStored?: StoredCallback): PublishOutcome;
  /** Publishers into this target should wait (see Queue's publisher pacing). */
  readonly overPace: boolean;
  /** Registers a publisher to resume once the target catches up. */
  paceWaiter?(w: PaceWaiter): void;
}

/** A publisher paused by a target's pacing. */
export interface PaceWaiter {
  paceReleased(target: RouteTarget): void;
}

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
  add(d: Destination | RouteTarget): void;
}

export abstract class Exchange {
  readonly kind = 'exchange';
  abstract readonly type: string;
  /** Bindings where this exchange is the source, by identity. */
  readonly bindings = new Map<string, Binding>();
  /** Bindings where this exchange is the destination (exchange-to-exchange). */
  readonly incoming = new Set<Binding>();
  deleted = false;

  constructor(
    readonly name: string,
    readonly vhost: string,
    readonly options: ExchangeOptions,
  ) {}

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
