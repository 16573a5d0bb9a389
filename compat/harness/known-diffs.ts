// Accepted differences, applied mechanically per scenario id. Warren must produce RabbitMQ 3.10.8's
// transcript exactly, or, for the scenarios listed here, the transcript of the later RabbitMQ release
// that deliberately changed the behaviour, as checked by `accepts`. Every entry has a section with the
// same key in compat/KNOWN_DIFFS.md saying what differs and why that is acceptable; meta.test.ts keeps
// the two in step and checks that every id names a scenario.
import type { Event, Json } from './scenario.js';

export interface KnownDiff {
  key: string;
  ids: string[];
  summary: string;
  /** True when Warren's transcript is the accepted alternative to the reference's. */
  accepts(ref: Event[], warren: Event[]): boolean;
}

const same = (a: Json | undefined, b: Json | undefined) => JSON.stringify(a) === JSON.stringify(b);

/** The final state of connection `c1` in the closing `end` record. */
function endState(events: Event[], label = 'c1'): { [k: string]: Json } | undefined {
  const end = events.find((e) => 'end' in e)?.end as { [k: string]: Json } | undefined;
  const v = end?.[label];
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as { [k: string]: Json }) : undefined;
}

/**
 * RabbitMQ 4.3 denies deprecated features by default: the method that uses one fails with a connection
 * close 541 INTERNAL_ERROR whose (255-byte truncated) text starts with this sentence.
 */
function deniedFeature(feature: string, op: string, classId: number, methodId: number) {
  return (ref: Event[], war: Event[]): boolean => {
    const i = ref.findIndex((e) => e.op === op && (op !== 'prefetch' || (Array.isArray(e.args) && e.args[1] === true)));
    if (i < 0 || !war.slice(0, i).every((e, k) => same(e, ref[k]))) return false;
    const failed = war[i];
    if (!failed || failed.op !== op || !('err' in failed)) return false;
    const c = endState(war);
    return (
      c?.closedBy === 'server' &&
      c.code === 541 &&
      c.classId === classId &&
      c.methodId === methodId &&
      typeof c.text === 'string' &&
      c.text.startsWith(`INTERNAL_ERROR - Feature \`${feature}\` is deprecated.`)
    );
  };
}

export const KNOWN_DIFFS: KnownDiff[] = [
  {
    key: 'KD-1',
    ids: ['raw/tune-frame-max-4096'],
    summary: 'tune-ok frame_max=4096: accepted by 3.10.8, refused since RabbitMQ 4.1 (minimum raised to 8192)',
    // 4.1 refuses it exactly as 3.10.8 refuses 4095 (raw/tune-frame-max-4095): no connection.open-ok,
    // the socket closes after the handshake's silent delay.
    accepts: (ref, war) => {
      const i = ref.findIndex((e) => e.recv === 'connection.tune');
      return i >= 0 && war.length === i + 2 && war.slice(0, i + 1).every((e, k) => same(e, ref[k])) && same(war[i + 1], { socket: 'closed' });
    },
  },
  {
    key: 'KD-2',
    ids: ['queues/declare-transient-non-exclusive'],
    summary: 'durable=false, exclusive=false queue: accepted by 3.10.8, denied by default since RabbitMQ 4.3',
    accepts: deniedFeature('transient_nonexcl_queues', 'assertQueue', 50, 10),
  },
  {
    key: 'KD-3',
    ids: ['prefetch/global-qos-shared-by-consumers', 'prefetch/global-and-consumer-limits-combined', 'quorum/global-qos-refused-for-quorum'],
    summary: 'basic.qos global=true: per-channel prefetch in 3.10.8, denied by default since RabbitMQ 4.3',
    accepts: deniedFeature('global_qos', 'prefetch', 60, 10),
  },
  {
    key: 'KD-4',
    ids: ['raw/header-0-8'],
    summary: 'AMQP 0-8 header: spoken by 3.10.8, refused with the 0-9-1 header since RabbitMQ 4.0 removed 0-8',
    accepts: (ref, war) => {
      const refused = { protocolHeader: [65, 77, 81, 80, 0, 0, 9, 1], socket: 'closed', frames: 0 };
      return ref.length === war.length && ref.every((e, k) => same(war[k], 'protocolHeader' in e ? refused : e));
    },
  },
  {
    key: 'KD-5',
    ids: ['cross/pika-dead-letters-amqplib-reads-x-death', 'dlx/cc-header-routing-keys', 'dlx/dead-letter-keeps-original-routing-key', 'dlx/dead-letter-routing-key', 'dlx/dead-letter-to-consumer', 'dlx/dead-letter-to-default-exchange', 'dlx/expiration-property-removed', 'dlx/expired-dead-letters', 'dlx/nack-dead-letters', 'dlx/per-message-expiration-dead-letters', 'dlx/properties-preserved', 'dlx/reject-dead-letters', 'dlx/x-death-count-increments', 'dlx/x-death-two-queues', 'maxlength/reject-publish-dlx', 'pika/dead-letter-x-death'],
    summary: 'dead-lettered messages also carry x-last-death-* headers (RabbitMQ 3.13+)',
    accepts: (ref, war) => ref.length === war.length && ref.every((e, k) => same(withoutLastDeath(war[k]!) as Json, e)),
  },
];

/** A copy of a transcript record without any x-last-death-* key, at any depth. */
function withoutLastDeath(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutLastDeath);
  if (v !== null && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).filter(([k]) => !k.startsWith('x-last-death-')).map(([k, x]) => [k, withoutLastDeath(x)]));
  }
  return v;
}

export function knownDiffFor(id: string): KnownDiff | undefined {
  return KNOWN_DIFFS.find((d) => d.ids.includes(id));
}
