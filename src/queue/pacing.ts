/**
 * Publisher pacing. When the event loop is saturated, every message taken in is time not spent
 * delivering, and a backlog that grows while consumers are busy taking messages helps nobody (past
 * the in-memory window it also costs disk writes and reads). So a queue whose consumers are taking
 * messages (one settled a delivery within PACE_ACTIVE_MS) while more than PACE_BACKLOG messages wait
 * and the loop is saturated lets its publishers get at most PACE_AHEAD messages ahead of its
 * deliveries; then they pause until it has delivered half of that (or, while the backlog is above
 * PACE_BACKLOG, PACE_AHEAD more than that, so the backlog shrinks back into memory), or until the
 * loop has time again, or its consumers go quiet. RabbitMQ reaches the same balance through credit
 * flow between its channel and queue processes. A broker with time to spare, a queue without
 * consumers or with consumers that are not acknowledging, takes messages as fast as they come:
 * queues still absorb bursts for slow consumers.
 */
import type { PacedPublisher, PacingSource } from '../publisher-throttle.js';
import { eventLoopBusy } from '../util/event-loop-load.js';

export const PACE_BACKLOG = 10_000;
export const PACE_AHEAD = 2_000;
const PACE_ACTIVE_MS = 20;

/** The queue as pacing sees it: `overPace` is a plain field of its own, read on every publish. */
interface PacedQueue extends PacingSource {
  overPace: boolean;
}

export class QueuePacing {
  /** Messages taken in beyond deliveries while pacing applies (read inline by the queue). */
  ahead = 0;
  /** When a consumer last settled (acknowledged, rejected) a delivery of the queue. */
  private lastCreditAt = 0;
  private readonly waiters = new Set<PacedPublisher>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    /** The queue, as its waiting publishers know it. */
    private readonly source: PacedQueue,
    private readonly isDeleted: () => boolean,
  ) {}

  /** A message was taken in while `backlog` messages wait for consumers that are attached. */
  taken(backlog: number): void {
    if (backlog <= PACE_BACKLOG) return;
    if (Date.now() - this.lastCreditAt > PACE_ACTIVE_MS || !eventLoopBusy()) return;
    if (++this.ahead > PACE_AHEAD) this.source.overPace = true;
  }

  /**
   * A message was delivered; `backlog` messages still wait. The queue calls this only when `ahead`
   * is not 0 or the backlog is long (the common case pays one comparison).
   */
  delivered(backlog: number): void {
    if (this.ahead > 0 || (this.ahead > -PACE_AHEAD && backlog > PACE_BACKLOG)) this.ahead--;
  }

  /** After a round of deliveries: the waiting publishers go once the deliveries have caught up. */
  deliveriesDone(backlog: number): void {
    if (this.source.overPace && this.ahead <= this.releaseAt(backlog)) this.release(backlog > PACE_BACKLOG);
  }

  /** A consumer settled deliveries: the queue's consumers are taking messages. */
  settled(): void {
    this.lastCreditAt = Date.now();
  }

  wait(publisher: PacedPublisher): void {
    this.waiters.add(publisher);
    this.timer ??= setTimeout(this.check, PACE_ACTIVE_MS);
  }

  /**
   * Lets the waiting publishers go; `forgive` also forgets how far ahead they were (the backlog is
   * still long, or the queue is gone).
   */
  release(forgive = false): void {
    this.source.overPace = false;
    if (forgive) this.ahead = 0;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const w of waiters) w.paceReleased(this.source);
  }

  /**
   * How far the deliveries must catch up before paused publishers go on: half the allowance, or,
   * while the backlog is still above PACE_BACKLOG, a full allowance beyond the publishers' lead (and
   * the lead is then forgotten), so that each pause shrinks the backlog by PACE_AHEAD, back towards
   * the in-memory window, instead of holding it where it was.
   */
  private releaseAt(backlog: number): number {
    return backlog > PACE_BACKLOG ? -PACE_AHEAD : PACE_AHEAD / 2;
  }

  /** Consumers went quiet (or the queue is gone): publishers need not wait for them. */
  private readonly check = (): void => {
    this.timer = undefined;
    if (this.waiters.size === 0) return;
    if (this.isDeleted() || Date.now() - this.lastCreditAt >= PACE_ACTIVE_MS || !eventLoopBusy()) this.release(true);
    else this.timer = setTimeout(this.check, PACE_ACTIVE_MS);
  };
}
