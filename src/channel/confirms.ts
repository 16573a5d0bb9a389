/**
 * Publisher confirms (RabbitMQ's confirms page, rabbit_confirms): publishes are numbered from 1 once
 * confirm.select is on; each is acknowledged (basic.ack) once every queue it reached has taken it,
 * durably for a persistent message in a durable queue, or refused (basic.nack) if a queue refused
 * it. Outcomes are gathered and sent once per batch of input, so that consecutive ones coalesce into
 * one frame with multiple=true, as RabbitMQ's send_confirms_and_nacks does.
 */
import type { PublishTracker } from '../vhost.js';
import { encodeBasicAck, encodeBasicNack } from '../protocol/generated/methods.js';
import type { ChannelContext, ConfirmSender } from './host.js';

/** One publish (or a transaction's commit) waiting for its targets; `pending` counts the stores. */
export class PendingPublish implements PublishTracker {
  /** One for the publish itself, released by `handedOut` once every target has the message. */
  pending = 1;
  refused = false;

  constructor(
    readonly seq: number,
    private readonly onSettled: (p: PendingPublish) => void,
  ) {}

  readonly stored = (err: Error | undefined): void => {
    if (err !== undefined) this.refused = true;
    if (--this.pending === 0) this.onSettled(this);
  };

  /** The publish has handed the message to every target it reached. */
  handedOut(): void {
    this.stored(undefined);
  }
}

export class Confirms implements ConfirmSender {
  /** confirm.select was received. */
  enabled = false;
  private nextSeq = 1;
  /** Publishes waiting for their targets, oldest first (a Map keeps insertion order). */
  private readonly unconfirmed = new Map<number, PendingPublish>();
  private readonly acked: number[] = [];
  private readonly nacked: number[] = [];

  constructor(private readonly ctx: ChannelContext) {}

  /** Numbers the next publish and returns its tracker for the publish path. */
  track(): PendingPublish {
    const p = new PendingPublish(this.nextSeq++, this.settled);
    this.unconfirmed.set(p.seq, p);
    return p;
  }

  private readonly settled = (p: PendingPublish): void => {
    this.unconfirmed.delete(p.seq);
    (p.refused ? this.nacked : this.acked).push(p.seq);
    this.ctx.host.confirmsPending(this);
  };

  /**
   * Sends the outcomes gathered since the last call. Nothing goes out on a channel that is no longer
   * open (closing, or closed: no frame may follow close-ok).
   */
  flushConfirms(): void {
    const acked = this.acked;
    const nacked = this.nacked;
    if ((acked.length === 0 && nacked.length === 0) || !this.ctx.isOpen) {
      acked.length = 0;
      nacked.length = 0;
      return;
    }
    const out = this.ctx.host.out;
    const ch = this.ctx.number;
    if (acked.length === 1) {
      encodeBasicAck(out, ch, { deliveryTag: acked[0]!, multiple: false });
    } else if (acked.length > 1) {
      this.coalesce(acked, nacked, (tag, multiple) => encodeBasicAck(out, ch, { deliveryTag: tag, multiple }));
    }
    if (nacked.length > 0) {
      this.coalesce(nacked, acked, (tag, multiple) => encodeBasicNack(out, ch, { deliveryTag: tag, multiple, requeue: false }));
    }
    acked.length = 0;
    nacked.length = 0;
    out.frameDone();
  }

  /**
   * RabbitMQ's coalesce_and_send: the numbers below both the oldest publish still awaiting its
   * outcome and the lowest number of the opposite kind go out as one frame with multiple=true (for
   * the highest of them); the rest one by one.
   */
  private coalesce(tags: number[], opposite: readonly number[], send: (tag: number, multiple: boolean) => void): void {
    tags.sort((a, b) => a - b);
    let cutoff = this.oldestUnconfirmed() ?? tags[tags.length - 1]! + 1;
    for (const t of opposite) if (t < cutoff) cutoff = t;
    let i = 0;
    while (i < tags.length && tags[i]! < cutoff) i++;
    if (i > 0) send(tags[i - 1]!, true);
    for (; i < tags.length; i++) send(tags[i]!, false);
  }

  private oldestUnconfirmed(): number | undefined {
    for (const seq of this.unconfirmed.keys()) return seq;
    return undefined;
  }
}
