/**
 * Message rates: the queues' plain counters (queue/queue-counters.ts) read on a timer, as
 * RabbitMQ's management agent samples its counters every collect_statistics_interval (5 s). The
 * hot path only ever increments; everything here runs once per interval, and an idle broker's
 * sampling costs one pass over its queues.
 */
import type { Broker } from '../broker.js';
import { QueueCounters } from '../queue/queue-counters.js';
import type { Queue } from '../queue/queue.js';
import type { JsonObject } from './request-body.js';

const COUNTER_NAMES = ['publish', 'deliver', 'deliverNoAck', 'get', 'getNoAck', 'getEmpty', 'ack', 'redeliver'] as const;
type CounterName = (typeof COUNTER_NAMES)[number];

const JSON_NAMES: Record<CounterName, string> = {
  publish: 'publish',
  deliver: 'deliver',
  deliverNoAck: 'deliver_no_ack',
  get: 'get',
  getNoAck: 'get_no_ack',
  getEmpty: 'get_empty',
  ack: 'ack',
  redeliver: 'redeliver',
};

/** The counters at the last sample and the rates (per second) between the last two. */
class Sample {
  readonly at = new QueueCounters();
  readonly rates = new QueueCounters();
  messages = 0;
  messagesRate = 0;
  ready = 0;
  readyRate = 0;
  unacked = 0;
  unackedRate = 0;

  take(now: QueueCounters, seconds: number, messages: number, ready: number, unacked: number): void {
    for (const k of COUNTER_NAMES) {
      this.rates[k] = seconds > 0 ? (now[k] - this.at[k]) / seconds : 0;
      this.at[k] = now[k];
    }
    this.messagesRate = seconds > 0 ? (messages - this.messages) / seconds : 0;
    this.readyRate = seconds > 0 ? (ready - this.ready) / seconds : 0;
    this.unackedRate = seconds > 0 ? (unacked - this.unacked) / seconds : 0;
    this.messages = messages;
    this.ready = ready;
    this.unacked = unacked;
  }
}

/** RabbitMQ's rounding of rates in the API (one decimal place is what the UI shows). */
const rate = (r: number) => ({ rate: Math.round(r * 10) / 10 });

export class StatsSampler {
  private readonly queues = new WeakMap<Queue, Sample>();
  private readonly totals = new Sample();
  private publishedAt = 0;
  publishRate = 0;
  private last: number;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly broker: Broker,
    readonly intervalMs = 5000,
    /** The clock (tests move it themselves). */
    private readonly now: () => number = Date.now,
  ) {
    this.last = now();
  }

  start(): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Reads every counter once (the timer's work; tests call it to move time on their own terms). */
  sample(): void {
    const now = this.now();
    const seconds = (now - this.last) / 1000;
    this.last = now;
    const total = new QueueCounters();
    let messages = 0;
    let ready = 0;
    let unacked = 0;
    let published = 0;
    for (const v of this.broker.vhosts.values()) {
      published += v.published;
      for (const d of v.deletedQueueCounters.values()) total.add(d);
      for (const q of v.queues.values()) {
        let s = this.queues.get(q);
        if (s === undefined) this.queues.set(q, (s = new Sample()));
        s.take(q.counters, seconds, q.messageCount + q.unackedCount, q.messageCount, q.unackedCount);
        total.add(q.counters);
        messages += q.messageCount + q.unackedCount;
        ready += q.messageCount;
        unacked += q.unackedCount;
      }
    }
    this.totals.take(total, seconds, messages, ready, unacked);
    this.publishRate = seconds > 0 ? (published - this.publishedAt) / seconds : 0;
    this.publishedAt = published;
  }

  /** A queue's message_stats, as rabbit_mgmt_format writes them (counts and `_details.rate`). */
  queueMessageStats(q: Queue): JsonObject {
    return messageStats(q.counters, this.queues.get(q)?.rates);
  }

  queueDepthRates(q: Queue): { messages: number; ready: number; unacked: number } {
    const s = this.queues.get(q);
    return { messages: s?.messagesRate ?? 0, ready: s?.readyRate ?? 0, unacked: s?.unackedRate ?? 0 };
  }

  /** The whole broker's message_stats (overview): queue totals plus the client publishes. */
  overviewMessageStats(): JsonObject {
    let published = 0;
    const total = new QueueCounters();
    for (const v of this.broker.vhosts.values()) {
      published += v.published;
      for (const d of v.deletedQueueCounters.values()) total.add(d);
      for (const q of v.queues.values()) total.add(q.counters);
    }
    const out = messageStats(total, this.totals.rates);
    out.publish = published;
    out.publish_details = rate(this.publishRate);
    return out;
  }

  totalDepthRates(): { messages: number; ready: number; unacked: number } {
    return { messages: this.totals.messagesRate, ready: this.totals.readyRate, unacked: this.totals.unackedRate };
  }
}

function messageStats(c: QueueCounters, rates: QueueCounters | undefined): JsonObject {
  const out: JsonObject = {};
  for (const k of COUNTER_NAMES) {
    out[JSON_NAMES[k]] = c[k];
    out[`${JSON_NAMES[k]}_details`] = rate(rates?.[k] ?? 0);
  }
  out.deliver_get = c.deliver + c.deliverNoAck + c.get + c.getNoAck;
  const r = rates;
  out.deliver_get_details = rate(r === undefined ? 0 : r.deliver + r.deliverNoAck + r.get + r.getNoAck);
  return out;
}
