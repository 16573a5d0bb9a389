/**
 * A queue's two timers: x-expires (the queue itself goes after the interval unused: no consumers,
 * no basic.get, no redeclare) and the message TTL of the ready head (an expired head is removed on
 * time even when nothing else happens). setTimeout waits at most 2^31 - 1 ms; longer waits re-arm.
 */

/** setTimeout's longest delay (2^31 - 1 ms); a longer one fires at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** x-expires: deletion of a queue left unused for its interval. */
export class IdleExpiry {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly queue: { readonly deleted: boolean; readonly consumerCount: number },
    /** The interval went by unused: the queue is to be deleted. */
    private readonly expired: () => void,
  ) {}

  /** Starts the wait of `ms` again (called at declaration and whenever the queue becomes unused). */
  restart(ms: number): void {
    this.cancel();
    if (this.queue.consumerCount > 0) return;
    this.arm(Date.now() + ms);
  }

  cancel(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** x-expires may be up to ten years, setTimeout's longest wait about 24.8 days: longer ones re-arm. */
  private arm(at: number): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.queue.deleted || this.queue.consumerCount > 0) return;
      if (Date.now() < at) this.arm(at);
      else this.expired();
    }, Math.min(Math.max(0, at - Date.now()), MAX_TIMER_MS));
    this.timer.unref?.();
  }
}

/** The timer for the ready head's expiry. */
export class HeadTtlTimer {
  private timer: NodeJS.Timeout | undefined;
  private at = 0;

  /** `due` runs when the armed time came: the queue removes what expired and delivers. */
  constructor(private readonly due: () => void) {}

  /** Arms the timer for `at` (ms since the epoch), unless it is armed for that time or earlier. */
  arm(at: number): void {
    if (this.timer !== undefined && this.at <= at) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.at = at;
    // A TTL beyond setTimeout's range fires early: the queue finds nothing due and re-arms.
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.at = 0;
      this.due();
    }, Math.min(Math.max(0, at - Date.now()) + 1, MAX_TIMER_MS));
    this.timer.unref?.();
  }

  cancel(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
  }
}
