/**
 * Strict-upgrade mode (`--strict-upgrade`): a warning in the log each time a client uses something
 * the next RabbitMQ major release removes or changes, for a team planning the upgrade from the release
 * Warren imitates. Each feature is reported once per connection (the first use), so a busy client
 * does not flood the log, and counted broker-wide (`Broker.upgradeWarnings.count()`).
 *
 * Only the rare paths report (the handshake, basic.qos, queue.declare, dead-lettering, an oversized
 * publish): nothing here runs per ordinary message. Sources for each change: docs/rabbitmq-versions.md.
 */
import type { Logger } from 'pino';
import type { Personality } from './personality.js';
import { integerValue, stringValue, type FieldTable } from './protocol/field-table.js';

export type UpgradeFeature =
  | 'amqp_0_8'
  | 'frame_max_below_8192'
  | 'global_qos'
  | 'transient_nonexcl_queues'
  | 'x-queue-mode'
  | 'x-queue-version-1'
  | 'x-queue-master-locator'
  | 'quorum_default_delivery_limit'
  | 'republished_x_death'
  | 'message_over_16MiB'
  | 'consumer_timeout_classic_queue';

/** 4.0's default max_message_size: larger messages are refused there unless configured. */
export const MAX_MESSAGE_SIZE_4 = 16 * 1024 * 1024;

/** What changes in RabbitMQ 4.x for a client of 3.10 or 3.13. */
const CHANGES_IN_4: Readonly<Record<UpgradeFeature, string>> = {
  amqp_0_8: 'AMQP 0-8 protocol header: RabbitMQ 4.0 removed AMQP 0-8 and refuses the connection',
  frame_max_below_8192: 'frame_max below 8192 negotiated: RabbitMQ 4.1 refuses it and closes the connection during the handshake',
  global_qos:
    'basic.qos with global=true: RabbitMQ 4.3 denies the deprecated feature global_qos by default and applies the prefetch to each new consumer instead of the channel',
  transient_nonexcl_queues:
    'queue declared neither durable nor exclusive: RabbitMQ 4.3 denies the deprecated feature transient_nonexcl_queues by default (541 INTERNAL_ERROR); make it durable, exclusive, or durable with x-expires',
  'x-queue-mode': 'x-queue-mode argument: ignored since RabbitMQ 3.12 (classic queues always keep messages on disk) and no longer checked by 4.3',
  'x-queue-version-1': 'x-queue-version 1: RabbitMQ 4.3 removed classic queue storage version 1 and refuses the declaration with 406 PRECONDITION_FAILED',
  'x-queue-master-locator':
    'x-queue-master-locator argument: RabbitMQ 4.3 denies the deprecated feature queue_master_locator by default (541 INTERNAL_ERROR); use x-queue-leader-locator',
  quorum_default_delivery_limit:
    'quorum queue without x-delivery-limit: RabbitMQ 4.0 gives it a delivery limit of 20, after which a message is dead-lettered or dropped',
  republished_x_death:
    'a message published with an x-death header was dead-lettered: RabbitMQ 4.0 no longer reads published x-death headers, so the count starts again at 1',
  message_over_16MiB: 'message larger than 16 MiB: RabbitMQ 4.0 lowered the default max_message_size to 16777216 bytes and refuses it unless configured',
  consumer_timeout_classic_queue: 'consumer_timeout fired for a classic queue delivery: RabbitMQ 4.3 no longer applies consumer_timeout to classic queues',
};

/** What the next major after 4.x will remove: the deprecated features 4.3 still lets a client touch. */
const CHANGES_AFTER_4: Partial<Record<UpgradeFeature, string>> = {
  global_qos: 'basic.qos with global=true: the global flag is ignored (deprecated feature global_qos, denied by default), and a future major removes it',
  'x-queue-mode': 'x-queue-mode argument: it has no effect (classic queue storage version 1 was removed in 4.3)',
};

/** The broker-wide counts, and the per-connection trackers that report into them. */
export class UpgradeWarnings {
  private readonly counts = new Map<UpgradeFeature, number>();
  private readonly texts: Partial<Record<UpgradeFeature, string>>;

  constructor(readonly personality: Personality) {
    this.texts = personality.nextMajor === '4.0' ? CHANGES_IN_4 : CHANGES_AFTER_4;
  }

  /** How many warnings about `feature` were logged (at most one per connection that used it). */
  count(feature: UpgradeFeature): number {
    return this.counts.get(feature) ?? 0;
  }

  /** Every warning logged so far. */
  get total(): number {
    let n = 0;
    for (const v of this.counts.values()) n += v;
    return n;
  }

  /** Whether the next major changes anything about `feature` (else there is nothing to check). */
  watches(feature: UpgradeFeature): boolean {
    return this.texts[feature] !== undefined;
  }

  /** A connection's tracker; `log` gives the connection's logger at the time of a report. */
  forConnection(log: () => Logger): ConnectionUpgradeWarnings {
    return new ConnectionUpgradeWarnings(this, log);
  }

  /** @internal a tracker's first report of a feature. */
  report(log: Logger, feature: UpgradeFeature, detail: Record<string, unknown>): void {
    const text = this.texts[feature];
    if (text === undefined) return;
    this.counts.set(feature, this.count(feature) + 1);
    log.warn({ upgrade: feature, nextMajor: this.personality.nextMajor, ...detail }, `strict upgrade: ${text}`);
  }
}

/** One connection's reports: each feature once. */
export class ConnectionUpgradeWarnings {
  private readonly reported = new Set<UpgradeFeature>();

  constructor(
    private readonly warnings: UpgradeWarnings,
    private readonly log: () => Logger,
  ) {}

  watches(feature: UpgradeFeature): boolean {
    return this.warnings.watches(feature);
  }

  used(feature: UpgradeFeature, detail: Record<string, unknown> = {}): void {
    if (this.reported.has(feature)) return;
    this.reported.add(feature);
    this.warnings.report(this.log(), feature, detail);
  }

  /** A queue.declare: the queue properties and arguments the next major treats differently. */
  queueDeclare(m: { queue: string; passive: boolean; durable: boolean; exclusive: boolean; arguments: FieldTable }): void {
    if (m.passive) return;
    const queue = m.queue;
    const type = stringValue(m.arguments.get('x-queue-type')) ?? 'classic';
    if (!m.durable && !m.exclusive) this.used('transient_nonexcl_queues', { queue });
    if (type === 'classic') {
      if (m.arguments.has('x-queue-mode')) this.used('x-queue-mode', { queue });
      if (integerValue(m.arguments.get('x-queue-version')) === 1) this.used('x-queue-version-1', { queue });
      if (m.arguments.has('x-queue-master-locator')) this.used('x-queue-master-locator', { queue });
    }
    if (type === 'quorum' && !m.arguments.has('x-delivery-limit')) this.used('quorum_default_delivery_limit', { queue });
  }
}
