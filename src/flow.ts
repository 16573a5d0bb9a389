/**
 * Publisher flow control. When the store cannot keep up with publishers (its backlog of unwritten
 * bytes passes a high-water mark), connections that publish stop being read until it catches up.
 * This is the job RabbitMQ's credit flow does: memory stays bounded, and publishers slow to the
 * speed of the disk instead of filling the broker. Connections that only consume are never paused.
 *
 * It is one of the two reasons a connection blocks; the other is a resource alarm
 * (src/resource-alarms.ts). The connection combines them as rabbit_reader does: it reads again only
 * when neither holds, and only alarms are reported with connection.blocked (credit flow never is).
 */
export interface Pausable {
  /** The flow is blocked and this connection published: stop reading it. */
  pauseInput(): void;
  /** The flow is unblocked: read again unless something else (an alarm) still blocks. */
  resumeInput(): void;
}

export class PublishFlow {
  private blocked = false;
  private readonly paused = new Set<Pausable>();

  get isBlocked(): boolean {
    return this.blocked;
  }

  set(blocked: boolean): void {
    this.blocked = blocked;
    if (blocked) return;
    const waiting = [...this.paused];
    this.paused.clear();
    for (const p of waiting) p.resumeInput();
  }

  /** A connection that just published: paused if the flow is blocked. */
  published(p: Pausable): void {
    if (!this.blocked || this.paused.has(p)) return;
    this.paused.add(p);
    p.pauseInput();
  }

  forget(p: Pausable): void {
    this.paused.delete(p);
  }
}
