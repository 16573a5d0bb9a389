/**
 * A transaction (tx.select, RabbitMQ's semantics page): publishes are routed when they arrive and
 * handed to their queues at tx.commit; acknowledgements and rejections are held and applied at
 * commit; tx.rollback drops the publishes and makes the held deliveries unacknowledged again.
 * commit-ok waits until every persistent message of the transaction is stored; if a queue refused
 * a message (or a write failed) the commit fails with 406 "partial tx completion", as RabbitMQ's
 * does, the rest staying done.
 */
import type { Message } from '../message/message.js';
import type { MessageTarget } from '../queue/target.js';
import type { Settlement, Unacked } from './deliveries.js';

interface HeldPublish {
  readonly msg: Message;
  readonly targets: MessageTarget[];
  readonly mandatory: boolean;
}

interface HeldSettlement {
  readonly how: Settlement;
  readonly items: Unacked[];
}

export class Transaction {
  private publishes: HeldPublish[] = [];
  private settlements: HeldSettlement[] = [];

  hold(msg: Message, targets: MessageTarget[], mandatory: boolean): void {
    this.publishes.push({ msg, targets, mandatory });
  }

  holdSettlement(how: Settlement, items: Unacked[]): void {
    this.settlements.push({ how, items });
  }

  /** What tx.commit applies; the transaction starts afresh. */
  takeAll(): { publishes: readonly HeldPublish[]; settlements: readonly HeldSettlement[] } {
    const taken = { publishes: this.publishes, settlements: this.settlements };
    this.publishes = [];
    this.settlements = [];
    return taken;
  }

  /** tx.rollback: the publishes are dropped; returns the deliveries whose settlement is undone. */
  rollback(): Unacked[] {
    const back = this.settlements.flatMap((s) => s.items);
    this.publishes = [];
    this.settlements = [];
    return back;
  }
}
