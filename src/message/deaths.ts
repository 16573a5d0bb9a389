/**
 * Dead-letter history and header order the way RabbitMQ 3.13 and later render them for an AMQP 0-9-1
 * client (its message containers, mc.erl and mc_amqpl.erl). 3.10 rewrote the x-death header in place
 * (queue/dead-letter.ts); since 3.13 the broker keeps a list of death records, most recent first, one
 * per (queue, reason), and renders x-death from it on every delivery, together with the headers in
 * key order:
 *
 * - mc_amqpl:death_table/7 writes each record as [original-expiration,] count, reason, queue, time,
 *   exchange, routing-keys, in that order;
 * - mc_amqpl:protocol_state/2 usorts the headers: by key, byte by byte, the first of equal keys kept;
 * - 3.13's mc_amqpl:headers_to_deaths/2 reads a published x-death back into records (entries missing
 *   a field are dropped); 4.0 stopped doing that (release notes 4.0.1, "AMQP 0.9.1 x-death header").
 */
import { Reader } from '../protocol/codec-primitives.js';
import { fv, integerValue, stringValue, type FieldTable, type FieldValue } from '../protocol/field-table.js';
import type { Message } from './message.js';

export interface DeathRecord {
  readonly queue: string;
  readonly reason: string;
  readonly count: number;
  /** Seconds since the epoch of the first death of this (queue, reason). */
  readonly time: number | bigint;
  readonly exchange: string;
  readonly routingKeys: readonly string[];
  /** The expiration the message had when it first died here (its per-message TTL). */
  readonly originalExpiration: string | undefined;
}

/** rabbit_dead_letter:reason(): the reasons a death record can carry. */
const REASONS = new Set(['rejected', 'expired', 'maxlen', 'delivery_limit']);

/** mc_amqpl:death_table/7. */
export function deathTable(d: DeathRecord): FieldValue {
  const t: FieldTable = new Map();
  if (d.originalExpiration !== undefined) t.set('original-expiration', fv.str(d.originalExpiration));
  t.set('count', fv.long(d.count));
  t.set('reason', fv.str(d.reason));
  t.set('queue', fv.str(d.queue));
  t.set('time', fv.timestamp(d.time));
  t.set('exchange', fv.str(d.exchange));
  t.set('routing-keys', fv.array(d.routingKeys.map((k) => fv.str(k))));
  return fv.table(t);
}

/**
 * Death records from an x-death header RabbitMQ rendered (or, in 3.13, one a client published):
 * mc_amqpl:recover_deaths/2 keeps the tables that have exchange, queue, routing-keys, reason, count
 * and an integer time, in their order; anything else in the array is dropped. Undefined when the
 * header is not an array (then RabbitMQ leaves it alone).
 */
export function recoverDeaths(v: FieldValue | undefined): DeathRecord[] | undefined {
  if (v === undefined || v.type !== 'A') return undefined;
  const out: DeathRecord[] = [];
  for (const e of v.value) {
    if (e.type !== 'F') continue;
    const t = e.value;
    const queue = stringValue(t.get('queue'));
    const reason = stringValue(t.get('reason'));
    const exchange = stringValue(t.get('exchange'));
    const count = integerValue(t.get('count'));
    const time = t.get('time');
    const keys = t.get('routing-keys');
    if (queue === undefined || reason === undefined || !REASONS.has(reason) || exchange === undefined || count === undefined) continue;
    if (time === undefined || !(typeof time.value === 'number' || typeof time.value === 'bigint') || time.type === 'f' || time.type === 'd') continue;
    if (keys === undefined || keys.type !== 'A') continue;
    const routingKeys = keys.value.map((k) => stringValue(k)).filter((k): k is string => k !== undefined);
    out.push({ queue, reason, count, time: time.value, exchange, routingKeys, originalExpiration: stringValue(t.get('original-expiration')) });
  }
  return out;
}

/** The top-level entries of a field table in wire order, duplicates included (a Map would merge them). */
function tableEntries(p: Buffer, start: number, end: number): [string, FieldValue][] {
  const r = new Reader(p, start + 4, end);
  const out: [string, FieldValue][] = [];
  while (r.pos < end) out.push([r.shortstr(), r.fieldValue()]);
  return out;
}

/** Where the value at `pos` (its tag) ends, in a table scanProperties already validated. */
function valueEnd(p: Buffer, pos: number): number {
  switch (p[pos]) {
    case 0x46: case 0x41: case 0x53: case 0x78: return pos + 5 + p.readUInt32BE(pos + 1); // F A S x
    case 0x74: case 0x62: case 0x42: return pos + 2; // t b B
    case 0x73: case 0x75: return pos + 3; // s u
    case 0x49: case 0x69: case 0x66: return pos + 5; // I i f
    case 0x44: return pos + 6; // D
    case 0x56: return pos + 1; // V
    default: return pos + 9; // l L d T
  }
}

const X_DEATH = Buffer.from('x-death');

/**
 * One walk over the top-level keys, values skipped: whether they are strictly increasing (bytewise,
 * so a usort has nothing to do) and whether x-death is among them.
 */
function scanKeys(p: Buffer, start: number, end: number): { inOrder: boolean; hasXDeath: boolean } {
  let inOrder = true;
  let hasXDeath = false;
  let prevStart = -1;
  let prevEnd = -1;
  let pos = start + 4;
  while (pos < end) {
    const keyStart = pos + 1;
    const keyEnd = keyStart + p[pos]!;
    if (prevStart >= 0 && p.compare(p, prevStart, prevEnd, keyStart, keyEnd) <= 0) inOrder = false;
    if (keyEnd - keyStart === X_DEATH.length && X_DEATH.compare(p, keyStart, keyEnd) === 0) hasXDeath = true;
    prevStart = keyStart;
    prevEnd = keyEnd;
    pos = valueEnd(p, keyEnd);
  }
  return { inOrder, hasXDeath };
}

const byKeyBytes = (a: readonly [string, FieldValue], b: readonly [string, FieldValue]) => Buffer.compare(Buffer.from(a[0]), Buffer.from(b[0]));

/** lists:usort on {Key, Type, Value} by key: sorted, and of equal keys the first one kept. */
export function usortHeaders(entries: readonly (readonly [string, FieldValue])[]): FieldTable {
  const sorted = [...entries].sort(byKeyBytes);
  const out: FieldTable = new Map();
  for (const [k, v] of sorted) if (!out.has(k)) out.set(k, v);
  return out;
}

/** Whether the message's headers have an x-death entry (a walk over the keys, nothing decoded). */
export function hasXDeathHeader(msg: Message): boolean {
  return msg.headersEnd - msg.headersStart > 4 && scanKeys(msg.properties, msg.headersStart, msg.headersEnd).hasXDeath;
}

/**
 * A publish as 3.13 and later deliver it (their publish builds the message container; every output
 * renders it): headers in key order, and (3.13 only) a published x-death read back into records and
 * rendered again. Runs once per publish, and only for a message with a non-empty headers table; the
 * bytes are rewritten only when something changes. Returns whether the message carries an x-death
 * header its publisher wrote (4.x ignores it when dead-lettering).
 */
export function renderPublishedHeaders(msg: Message, recoverPublishedDeaths: boolean): boolean {
  const start = msg.headersStart;
  const end = msg.headersEnd;
  if (start < 0 || end - start <= 4) return false;
  const p = msg.properties;
  const { inOrder, hasXDeath } = scanKeys(p, start, end);
  const recover = recoverPublishedDeaths && hasXDeath;
  if (inOrder && !recover) return hasXDeath;
  let entries: (readonly [string, FieldValue])[] = tableEntries(p, start, end);
  if (recover) {
    // amqp_table/1 makes a map of the headers: of two x-death entries the last one is read.
    const deaths = recoverDeaths(entries.findLast(([k]) => k === 'x-death')![1]);
    if (deaths !== undefined) entries = entries.map(([k, v]) => [k, k === 'x-death' ? fv.array(deaths.map(deathTable)) : v] as const);
  }
  msg.setProperties({ ...msg.decodedProperties, headers: usortHeaders(entries) });
  return hasXDeath;
}
