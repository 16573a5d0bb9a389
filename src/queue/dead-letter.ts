/**
 * Dead-lettering: the message a queue republishes to its dead-letter exchange, with the x-death
 * history RabbitMQ writes (rabbit_dead_letter:make_msg/5 and update_x_death_header/2 of 3.10), and
 * the cycle rule.
 *
 * x-death is an array of tables, one per (queue, reason), most recent first. A first death writes
 * `count` (long) then reason, queue, time (timestamp, seconds), exchange, routing-keys (array) and,
 * when the message had a per-message TTL, original-expiration; it also sets x-first-death-reason,
 * -queue and -exchange. A later death of the same (queue, reason) increments that table's count and
 * moves it to the front (its other fields kept); the older tables behind the new one come out in
 * reverse order when there are two or more (groupByQueueAndReason). Either way the tables written
 * then have their keys sorted, and so do the message headers, as rabbit_misc:set_table_value/4
 * leaves them. The expiration property is removed; with an x-dead-letter-routing-key the CC header
 * goes too.
 *
 * 3.13 and 4.x keep death records instead (message/deaths.ts, mc:record_death/3): the same (queue,
 * reason) grouping and recency order, but rendered afresh each time, with x-last-death-reason, -queue
 * and -exchange beside the first-death headers, and the CC header kept (rabbit_dead_letter:publish/5
 * only replaces the routing keys). 4.x ignores an x-death header the publisher wrote.
 */
import { deathTable, recoverDeaths, usortHeaders, type DeathRecord } from '../message/deaths.js';
import { Message } from '../message/message.js';
import type { DeathModel } from '../personality.js';
import type { BasicProperties } from '../protocol/generated/properties.js';
import { fv, stringValue, type FieldTable, type FieldValue } from '../protocol/field-table.js';

export type DeathReason = 'rejected' | 'expired' | 'maxlen' | 'delivery_limit';

export interface DeadLetter {
  readonly message: Message;
  /** Routing keys for the dead-letter exchange: the first is the message's routing key. */
  readonly routingKeys: readonly string[];
}

const byKey = (t: FieldTable): FieldTable => new Map([...t].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

export function deadLetterMessage(
  msg: Message,
  reason: DeathReason,
  queue: string,
  dlx: string,
  dlrk: string | undefined,
  nowMs: number,
  model: DeathModel = '3.10',
): DeadLetter {
  if (model !== '3.10') return deadLetterWithRecords(msg, reason, queue, dlx, dlrk, nowMs, model);
  const props = msg.decodedProperties;
  let headers: FieldTable = new Map(props.headers ?? []);
  // The first key is the publish's routing key; the others come from the CC header (BCC is gone).
  const cc = headers.get('CC');
  const deathKeys = [msg.routingKey, ...(cc?.type === 'A' ? cc.value.filter((v) => v.type === 'S').map((v) => stringValue(v)!) : [])];
  const info: [string, FieldValue][] = [
    ['reason', fv.str(reason)],
    ['queue', fv.str(queue)],
    ['time', fv.timestamp(Math.floor(nowMs / 1000))],
    ['exchange', fv.str(msg.exchange)],
    ['routing-keys', fv.array(deathKeys.map((k) => fv.str(k)))],
  ];
  if (props.expiration !== undefined) info.push(['original-expiration', fv.str(props.expiration)]);

  const existing = headers.get('x-death');
  if (existing === undefined) {
    headers.set('x-first-death-reason', fv.str(reason));
    headers.set('x-first-death-queue', fv.str(queue));
    headers.set('x-first-death-exchange', fv.str(msg.exchange));
    headers.set('x-death', fv.array([fv.table(new Map([['count', fv.long(1)], ...info]))]));
  } else if (existing.type === 'A') {
    const tables = groupByQueueAndReason(existing.value);
    const i = tables.findIndex((t) => t.type === 'F' && stringValue(t.value.get('queue')) === queue && stringValue(t.value.get('reason')) === reason);
    let updated: FieldTable;
    if (i >= 0) {
      updated = new Map((tables[i] as { value: FieldTable }).value);
      const count = updated.get('count');
      updated.set('count', fv.long(count === undefined ? 1 : Number(count.value as number | bigint) + 1));
    } else {
      updated = new Map([['count', fv.long(1)], ...info]);
    }
    const others = tables.filter((_, k) => k !== i);
    headers.set('x-death', fv.array([fv.table(byKey(updated)), ...others]));
  } else {
    // Not an array (a client re-published it as something else): RabbitMQ starts it afresh.
    headers.set('x-death', fv.array([fv.table(new Map([['count', fv.long(1)], ...info]))]));
  }
  if (dlrk !== undefined) headers.delete('CC');
  headers = byKey(headers);
  return republished(msg, { ...props, headers, expiration: undefined }, dlx, dlrk, nowMs);
}

/** The dead-lettered copy, addressed to the dead-letter exchange with the routing keys it goes by. */
function republished(msg: Message, props: BasicProperties, dlx: string, dlrk: string | undefined, nowMs: number): DeadLetter {
  const routingKeys = dlrk !== undefined ? [dlrk] : [msg.routingKey, ...(msg.extraKeys ?? [])];
  const dead = new Message(dlx, routingKeys[0]!, Buffer.alloc(0), msg.bodyPieces ?? msg.body);
  dead.setProperties(props);
  dead.extraKeys = routingKeys.length > 1 ? routingKeys.slice(1) : undefined;
  dead.publishedAt = nowMs;
  return { message: dead, routingKeys };
}

/**
 * 3.13 and 4.x (mc:record_death/3, mc_amqpl:protocol_state/2): the death goes to the front of the
 * records (a repeated (queue, reason) moves there with its count raised, its other fields kept); the
 * first-death headers are written when the message had no records yet, the last-death headers every
 * time; the headers come out in key order.
 */
function deadLetterWithRecords(
  msg: Message,
  reason: DeathReason,
  queue: string,
  dlx: string,
  dlrk: string | undefined,
  nowMs: number,
  model: DeathModel,
): DeadLetter {
  const props = msg.decodedProperties;
  const headers: FieldTable = new Map(props.headers ?? []);
  // 4.x reads no x-death a publisher wrote: its records are the broker's own (release notes 4.0.1).
  const prior = model === '4.x' && msg.publishedXDeath ? undefined : recoverDeaths(headers.get('x-death'));
  // The routing keys of the death exclude BCC (mc:record_death/3): the publish's key and its CC keys,
  // or, for a message dead-lettered before, the keys it was dead-lettered with.
  const cc = headers.get('CC');
  const deathKeys = msg.deathRoutingKeys ?? [msg.routingKey, ...(cc?.type === 'A' ? cc.value.map((v) => stringValue(v)).filter((k): k is string => k !== undefined) : [])];
  const i = prior === undefined ? -1 : prior.findIndex((d) => d.queue === queue && d.reason === reason);
  let records: DeathRecord[];
  if (prior !== undefined && i >= 0) {
    records = [{ ...prior[i]!, count: prior[i]!.count + 1 }, ...prior.filter((_, k) => k !== i)];
  } else {
    const ttl = msg.ttl;
    const death: DeathRecord = {
      queue,
      reason,
      count: 1,
      time: Math.floor(nowMs / 1000),
      exchange: msg.exchange,
      routingKeys: deathKeys,
      originalExpiration: ttl >= 0 ? String(ttl) : undefined,
    };
    records = [death, ...(prior ?? [])];
  }
  if (prior === undefined) {
    headers.set('x-first-death-reason', fv.str(reason));
    headers.set('x-first-death-queue', fv.str(queue));
    headers.set('x-first-death-exchange', fv.str(msg.exchange));
  }
  headers.set('x-last-death-reason', fv.str(reason));
  headers.set('x-last-death-queue', fv.str(queue));
  headers.set('x-last-death-exchange', fv.str(msg.exchange));
  headers.set('x-death', fv.array(records.map(deathTable)));
  const dead = republished(msg, { ...props, headers: usortHeaders([...headers]), expiration: undefined }, dlx, dlrk, nowMs);
  dead.message.deathRoutingKeys = dlrk !== undefined ? [dlrk] : deathKeys;
  return dead;
}

/**
 * rabbit_dead_letter:group_by_queue_and_reason/1 (3.10), applied to the existing tables before a new
 * death is recorded: one table per (queue, reason), the first of each, given a count (how many tables
 * it stands for) if it has none. It folds with a prepend, so two or more tables come out in reverse
 * order, and 3.10.8 writes them back that way behind the new death: [b, a] becomes [c, a, b], then
 * [d, b, a, c]. The cycle rule then reads that order.
 */
function groupByQueueAndReason(tables: readonly FieldValue[]): FieldValue[] {
  if (tables.length < 2) return [...tables];
  const keyOf = (t: FieldValue): string | undefined =>
    t.type === 'F' ? JSON.stringify([stringValue(t.value.get('queue')) ?? null, stringValue(t.value.get('reason')) ?? null]) : undefined;
  const seen = new Set<string>();
  const grouped: FieldValue[] = [];
  for (const t of tables) {
    const key = keyOf(t);
    if (key === undefined) {
      // Not a table (a client put it there; RabbitMQ would fail on it): kept, in the same reversed order.
      grouped.unshift(t);
      continue;
    }
    if (seen.has(key)) continue;
    seen.add(key);
    const matches = tables.filter((o) => keyOf(o) === key);
    const first = matches[0] as { type: 'F'; value: FieldTable };
    grouped.unshift(first.value.has('count') ? first : fv.table(new Map([['count', fv.long(matches.length)], ...first.value])));
  }
  return grouped;
}

/**
 * RabbitMQ's is_cycle/2: the message already died in `queue`, and nothing in the deaths since then
 * (that one included) was a rejection: it would go round for ever, so it is dropped for that queue.
 */
export function isDeadLetterCycle(queue: string, headers: FieldTable | undefined): boolean {
  const deaths = headers?.get('x-death');
  if (deaths === undefined || deaths.type !== 'A') return false;
  const tables = deaths.value;
  let i = 0;
  while (i < tables.length) {
    const t = tables[i]!;
    if (t.type === 'F' && stringValue(t.value.get('queue')) === queue) break;
    i++;
  }
  if (i === tables.length) return false;
  for (let k = 0; k <= i; k++) {
    const t = tables[k]!;
    // Anything unexpected was put there by a client: not a fully automatic cycle.
    if (t.type !== 'F') return false;
    if (stringValue(t.value.get('reason')) === 'rejected') return false;
  }
  return true;
}
