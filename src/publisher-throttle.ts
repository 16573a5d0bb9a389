/**
 * Back-pressure on publishers: every reason a connection stops being read, in one vocabulary.
 *
 *   alarm          a memory or disk alarm is in effect (src/resource-alarms.ts) and the connection
 *                  published: it is blocked right after that content frame, and clients with the
 *                  `connection.blocked` capability are told so (rabbit_reader's throttle).
 *   store-backlog  the store's backlog of unwritten bytes passed its high-water mark and the
 *                  connection published: it waits, silently, until the store catches up (the job
 *                  RabbitMQ's credit flow does between its reader, channel and queue processes).
 *   queue-pacing   a queue whose consumers are busy taking messages asks its publishers to let the
 *                  deliveries catch up (see Queue's publisher pacing): the connection waits for it.
 *
 * None of this is channel.flow, which a client uses to stop deliveries to itself.
 * Connections that only consume are never throttled. `PublisherThrottle` keeps one connection's
 * reasons; the connection asks it whether its socket may be read.
 */

export type ThrottleReason = 'alarm' | 'store-backlog' | 'queue-pacing';

/** Something a publisher may be asked to wait for (a queue with publisher pacing). */
export interface PacingSource {
  /** Publishers into this source should wait now. */
  readonly overPace: boolean;
  /** Registers a publisher to be released once the source has caught up. */
  paceWaiter?(publisher: PacedPublisher): void;
}

/** A publisher that waits for pacing sources. */
export interface PacedPublisher {
  /** The publish just made reached a source that asks its publishers to wait. */
  pacedBy(source: PacingSource): void;
  /** A source it waited for has caught up. */
  paceReleased(source: PacingSource): void;
}

/** What a throttle does to its connection's input. */
export interface ThrottledInput {
  /** Blocked: stop parsing (input after the frame that blocked is kept, in order) and reading. */
  suspendInput(): void;
  /** Paced: read no more from the socket once the input at hand is processed. */
  pauseSocket(): void;
  /** A reason went away: process kept input and read again, unless another reason still holds. */
  inputMayResume(): void;
  /** Whether each content frame must be reported with contentReceived (an alarm is in effect). */
  watchContent(on: boolean): void;
}

/** How a throttle tells the client about alarm blocks. */
export interface BlockNotifier {
  /** connection.blocked, if the client wants to know. */
  notifyBlocked(reason: string): void;
  /** connection.unblocked. */
  notifyUnblocked(): void;
}

/**
 * The broker-wide store-backlog flag and the connections it holds. The store reports pressure; each
 * connection that publishes while the flag is up is held until it goes down.
 */
export class StoreBacklog {
  private high = false;
  private readonly held = new Set<PublisherThrottle>();

  get isHigh(): boolean {
    return this.high;
  }

  set(high: boolean): void {
    this.high = high;
    if (high) return;
    const waiting = [...this.held];
    this.held.clear();
    for (const t of waiting) t.release('store-backlog');
  }

  /** A connection just published: it is held while the backlog is high. */
  published(t: PublisherThrottle): void {
    if (!this.high || this.held.has(t)) return;
    this.held.add(t);
    t.hold('store-backlog');
  }

  forget(t: PublisherThrottle): void {
    this.held.delete(t);
  }
}

/** The alarm state a throttle consults (ResourceAlarms implements it). */
export interface AlarmState {
  readonly any: boolean;
  blockedReason(): string;
}

/**
 * One connection's throttle, following rabbit_reader's control_throttle, maybe_block and
 * maybe_unblock. While an alarm is in effect (or the store's backlog holds the connection) a
 * running connection is `blocking`: it works as usual until it sends a content frame, then it is
 * `blocked` and its socket is not read. connection.blocked goes out when a connection is blocked by
 * an alarm (never for the store backlog alone), once; connection.unblocked when every alarm has
 * cleared. Queue pacing stops reading without any of that ceremony, until each source releases it.
 */
export class PublisherThrottle implements PacedPublisher {
  /** The socket is not read because of an alarm or the store backlog (rabbit_reader's `blocked`). */
  private blocked = false;
  private storeHeld = false;
  /** It sent content while there was a reason to block (throttle.should_block). */
  private shouldBlock = false;
  /** connection.blocked was sent (or would have been, to a client without the capability). */
  private blockedSent = false;
  /** Pacing sources this connection waits for. */
  private readonly pacedOn = new Set<PacingSource>();
  /** Whether the connection is past connection.open (only then does it follow the alarms). */
  private running = false;

  constructor(
    private readonly input: ThrottledInput,
    private readonly notifier: BlockNotifier,
    private readonly alarms: AlarmState,
    private readonly backlog: StoreBacklog,
  ) {}

  /** RabbitMQ's view: running, blocking (a reason exists, nothing published since), blocked, flow. */
  get state(): 'running' | 'blocking' | 'blocked' | 'flow' {
    if (this.blocked) return this.alarms.any ? 'blocked' : 'flow';
    return this.running && (this.alarms.any || this.storeHeld) ? 'blocking' : 'running';
  }

  /** Whether input may be read now (no reason at all holds the connection). */
  get readable(): boolean {
    return !this.blocked && this.pacedOn.size === 0;
  }

  /** Whether the socket is held for an alarm or the store (heartbeats from the client cannot arrive). */
  get isBlocked(): boolean {
    return this.blocked;
  }

  /** connection.open: from now on the connection follows the alarms (rabbit_alarm:register). */
  start(): void {
    this.running = true;
    this.control();
  }

  /** An alarm was set or cleared. */
  alarmsChanged(): void {
    if (this.running) this.control();
  }

  /** A batch of input that contained a publish was processed. */
  published(): void {
    this.backlog.published(this);
  }

  /** A content frame arrived while an alarm is in effect. */
  contentReceived(): void {
    if (!this.running) return;
    this.shouldBlock = true;
    this.maybeBlock();
  }

  /** The store backlog holds this connection (the only reason held from outside). */
  hold(reason: Extract<ThrottleReason, 'store-backlog'>): void {
    if (!this.running || reason !== 'store-backlog') return;
    this.storeHeld = true;
    this.shouldBlock = true;
    this.maybeBlock();
  }

  release(reason: Extract<ThrottleReason, 'store-backlog'>): void {
    if (reason !== 'store-backlog') return;
    this.storeHeld = false;
    if (this.running) this.control();
  }

  pacedBy(source: PacingSource): void {
    if (this.pacedOn.has(source) || source.paceWaiter === undefined) return;
    this.pacedOn.add(source);
    source.paceWaiter(this);
    this.input.pauseSocket();
  }

  paceReleased(source: PacingSource): void {
    this.pacedOn.delete(source);
    if (this.pacedOn.size === 0) this.input.inputMayResume();
  }

  /** The connection is closing: nothing may hold its input any more (the close handshake must finish). */
  stop(): void {
    this.running = false;
    this.backlog.forget(this);
    this.pacedOn.clear();
    this.input.watchContent(false);
    this.blocked = false;
    this.input.inputMayResume();
  }

  private control(): void {
    this.input.watchContent(this.alarms.any);
    if (this.blocked && !this.alarms.any && !this.storeHeld) this.unblock();
    else this.maybeBlock();
  }

  private maybeBlock(): void {
    if (!this.shouldBlock || !(this.alarms.any || this.storeHeld)) return;
    this.blocked = true;
    this.input.suspendInput();
    // maybe_send_blocked_or_unblocked: only alarms are reported, once per blocked period.
    if (this.alarms.any && !this.blockedSent) {
      this.blockedSent = true;
      this.notifier.notifyBlocked(this.alarms.blockedReason());
    } else {
      this.maybeSendUnblocked();
    }
  }

  private unblock(): void {
    this.blocked = false;
    this.shouldBlock = false;
    this.maybeSendUnblocked();
    this.input.inputMayResume();
  }

  private maybeSendUnblocked(): void {
    if (!this.blockedSent || this.alarms.any) return;
    this.blockedSent = false;
    this.notifier.notifyUnblocked();
  }
}
