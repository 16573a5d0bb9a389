/**
 * How a queue sees its consumers, and which consumer gets the next message.
 *
 * The queue knows consumers only through the `Consumer` interface (the channel implements it), so
 * queues never import channels. `ConsumerSet` keeps the consumers that can take a message now
 * ("active") apart from those that cannot (prefetch window full, socket congested): choosing the next
 * consumer never scans blocked ones. Among active consumers the highest priority wins (x-priority,
 * RabbitMQ's consumer priorities); within a priority they take turns (round robin).
 */
import type { QueueEntry } from '../message/queue-entry.js';
import { Deque } from '../util/deque.js';

export interface Consumer {
  readonly tag: string;
  readonly noAck: boolean;
  readonly exclusive: boolean;
  /** x-priority; 0 by default. */
  readonly priority: number;
  /** Whether the consumer can take one more message now. */
  hasCredit(): boolean;
  /** Hands over an entry of the consumer's queue, already removed from its ready list. */
  deliver(entry: QueueEntry): void;
  /** The queue went away under the consumer (deleted): tell the client if it wants to know. */
  cancelledByQueue(): void;
  /** Used by ConsumerSet to know where the consumer is without a lookup. */
  active: boolean;
}

export class ConsumerSet {
  private readonly all: Consumer[] = [];
  /** Active consumers per priority, highest priority first. */
  private levels: { priority: number; active: Deque<Consumer> }[] = [];

  get size(): number {
    return this.all.length;
  }

  get consumers(): readonly Consumer[] {
    return this.all;
  }

  add(c: Consumer): void {
    this.all.push(c);
    c.active = false;
    if (c.hasCredit()) this.activate(c);
  }

  remove(c: Consumer): boolean {
    const i = this.all.indexOf(c);
    if (i < 0) return false;
    this.all.splice(i, 1);
    if (c.active) this.deactivate(c);
    return true;
  }

  has(c: Consumer): boolean {
    return this.all.includes(c);
  }

  /** Marks a consumer as able to take messages again (after an ack, a qos change, a drained socket). */
  activate(c: Consumer): void {
    if (c.active) return;
    c.active = true;
    this.level(c.priority).active.push(c);
  }

  private deactivate(c: Consumer): void {
    c.active = false;
    for (const l of this.levels) {
      const d = l.active;
      for (let i = 0; i < d.length; i++) {
        if (d.at(i) === c) {
          d.removeAt(i);
          return;
        }
      }
    }
  }

  /**
   * The consumer to deliver the next message to, taking turns within the highest active priority;
   * consumers found without credit are set aside until activated again. Undefined when none can take.
   */
  next(): Consumer | undefined {
    for (const l of this.levels) {
      const d = l.active;
      while (d.length > 0) {
        const c = d.shift()!;
        if (c.hasCredit()) {
          d.push(c);
          return c;
        }
        c.active = false;
      }
    }
    return undefined;
  }

  private level(priority: number): { priority: number; active: Deque<Consumer> } {
    let i = 0;
    while (i < this.levels.length && this.levels[i]!.priority > priority) i++;
    const l = this.levels[i];
    if (l !== undefined && l.priority === priority) return l;
    const created = { priority, active: new Deque<Consumer>(4) };
    this.levels.splice(i, 0, created);
    return created;
  }
}
