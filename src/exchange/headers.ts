/**
 * Headers exchange: bindings match on message headers, per RabbitMQ's rabbit_exchange_type_headers.
 *
 * x-match `all` (default) needs every binding header present with an equal value; `any` needs one.
 * Binding arguments starting with `x-` are ignored unless x-match is `all-with-x` or `any-with-x`. A
 * binding argument of type void only asks for the header to be present. Values compare as Erlang's
 * `==` does: numbers by value whatever their width, strings and byte arrays by bytes.
 */
import { isUtf8 } from 'node:buffer';
import type { Message } from '../message/message.js';
import { FIELD_TYPE_NAMES, sameStructure, type FieldTable, type FieldValue } from '../protocol/field-table.js';
import { Exchange, type Binding, type RouteSink } from './exchange.js';
import { erlangTerm } from '../protocol/erlang-format.js';

type MatchKind = 'all' | 'any' | 'all-with-x' | 'any-with-x';

interface CompiledBinding {
  readonly binding: Binding;
  readonly all: boolean;
  /** The binding arguments that take part in matching (x-match removed, x-* unless *-with-x). */
  readonly pattern: readonly (readonly [string, FieldValue])[];
  /** Routing number of the publish that last considered it, so candidates are checked once. */
  mark: number;
}

/**
 * Matching every binding against every message costs bindings x headers. Instead each binding is
 * indexed under the header values that could make it match: an `all` binding under one of its
 * (key, value) pairs, which any matching message must carry; an `any` binding under each of its pairs.
 * A message's own headers then name the few candidate bindings, which are checked in full. Pattern
 * entries of type void (presence only) are indexed by key; bindings with nothing to index on (an
 * empty `all` pattern, or values of composite types) are always candidates.
 */
export class HeadersExchange extends Exchange {
  readonly type = 'headers';
  private readonly compiled = new Map<Binding, CompiledBinding>();
  private readonly byValue = new Map<string, CompiledBinding[]>();
  private readonly byKey = new Map<string, CompiledBinding[]>();
  private readonly always: CompiledBinding[] = [];
  private epoch = 0;

  override validateBinding(args: FieldTable): string | undefined {
    const m = args.get('x-match');
    if (m === undefined) return undefined;
    if (m.type !== 'S') {
      return `Invalid x-match field type ${FIELD_TYPE_NAMES[m.type]} (value ${erlangTerm(m)}); expected longstr`;
    }
    const v = typeof m.value === 'string' ? m.value : m.value.toString('latin1');
    if (v === 'all' || v === 'any' || v === 'all-with-x' || v === 'any-with-x') return undefined;
    return `Invalid x-match field value ${erlangTerm(m)}; expected all, any, all-with-x, or any-with-x`;
  }

  protected onBind(b: Binding): void {
    const m = b.arguments.get('x-match');
    const kind: MatchKind =
      m !== undefined && m.type === 'S' && ['all', 'any', 'all-with-x', 'any-with-x'].includes(String(m.value))
        ? (String(m.value) as MatchKind)
        : 'all';
    const withX = kind === 'all-with-x' || kind === 'any-with-x';
    const pattern = [...b.arguments].filter(([k]) => k !== 'x-match' && (withX || !k.startsWith('x-')));
    const c: CompiledBinding = { binding: b, all: kind === 'all' || kind === 'all-with-x', pattern, mark: 0 };
    this.compiled.set(b, c);
    for (const [list, key] of this.indexSlots(c)) {
      const existing = list.get(key);
      if (existing === undefined) list.set(key, [c]);
      else existing.push(c);
    }
    if (this.indexSlots(c).length === 0) this.always.push(c);
  }

  protected onUnbind(b: Binding): void {
    const c = this.compiled.get(b);
    if (c === undefined) return;
    this.compiled.delete(b);
    const slots = this.indexSlots(c);
    for (const [list, key] of slots) {
      const existing = list.get(key)!;
      existing.splice(existing.indexOf(c), 1);
      if (existing.length === 0) list.delete(key);
    }
    if (slots.length === 0) this.always.splice(this.always.indexOf(c), 1);
  }

  /** Where a binding is indexed (see the class comment). */
  private indexSlots(c: CompiledBinding): [Map<string, CompiledBinding[]>, string][] {
    const slotOf = ([k, v]: readonly [string, FieldValue]): [Map<string, CompiledBinding[]>, string] | undefined => {
      if (v.type === 'V') return [this.byKey, k];
      const cv = canonical(v);
      return cv === undefined ? undefined : [this.byValue, `${k}\u0000${cv}`];
    };
    if (c.all) {
      // One pair every matching message must carry; prefer a value over mere presence.
      for (const e of c.pattern) {
        const s = slotOf(e);
        if (s !== undefined && s[0] === this.byValue) return [s];
      }
      for (const e of c.pattern) {
        const s = slotOf(e);
        if (s !== undefined) return [s];
      }
      return [];
    }
    const slots: [Map<string, CompiledBinding[]>, string][] = [];
    for (const e of c.pattern) {
      const s = slotOf(e);
      if (s === undefined) return []; // a composite value: check this binding every time
      slots.push(s);
    }
    return slots;
  }

  route(msg: Message, _routingKey: string, sink: RouteSink): void {
    if (this.compiled.size === 0) return;
    const headers = msg.hasHeaders ? msg.decodedProperties.headers : undefined;
    const epoch = ++this.epoch;
    const consider = (c: CompiledBinding) => {
      if (c.mark === epoch) return;
      c.mark = epoch;
      if (matches(c, headers)) sink.add(c.binding.destination);
    };
    for (const c of this.always) consider(c);
    if (headers === undefined) return;
    for (const [k, v] of headers) {
      const byKey = this.byKey.get(k);
      if (byKey !== undefined) for (const c of byKey) consider(c);
      const cv = canonical(v);
      if (cv === undefined) continue;
      const byValue = this.byValue.get(`${k}\u0000${cv}`);
      if (byValue !== undefined) for (const c of byValue) consider(c);
    }
  }
}

/**
 * A string under which values equal by Erlang's `==` coincide: numbers of any width by value,
 * longstr and byte arrays by their bytes. Undefined for composite values (tables, arrays, decimals).
 */
function canonical(v: FieldValue): string | undefined {
  switch (v.type) {
    case 'b': case 'B': case 's': case 'u': case 'I': case 'i': case 'l': case 'T': case 'f': case 'd':
      return `n${Number(v.value)}`;
    case 'S':
    case 'x':
      if (typeof v.value === 'string') return `s${v.value}`;
      return isUtf8(v.value) ? `s${v.value.toString('utf8')}` : `x${v.value.toString('hex')}`;
    case 't':
      return v.value ? 'T' : 'F';
    default:
      return undefined;
  }
}

function matches(c: CompiledBinding, headers: FieldTable | undefined): boolean {
  if (c.all) {
    for (const [k, pv] of c.pattern) {
      const dv = headers?.get(k);
      if (dv === undefined) return false;
      if (pv.type !== 'V' && !erlangEqual(pv, dv)) return false;
    }
    return true;
  }
  for (const [k, pv] of c.pattern) {
    const dv = headers?.get(k);
    if (dv === undefined) continue;
    if (pv.type === 'V' || erlangEqual(pv, dv)) return true;
  }
  return false;
}

function isNumeric(v: FieldValue): v is Extract<FieldValue, { value: number | bigint }> {
  return 'bBsuIilfdT'.includes(v.type);
}

/** Erlang's `==` on decoded field values (RabbitMQ compares header values with it). */
export function erlangEqual(a: FieldValue, b: FieldValue): boolean {
  if (isNumeric(a) && isNumeric(b)) {
    // Timestamps are tagged tuples in RabbitMQ's table terms but plain integers once matched.
    return Number(a.value) === Number(b.value);
  }
  if ((a.type === 'S' || a.type === 'x') && (b.type === 'S' || b.type === 'x')) {
    if (typeof a.value === 'string' && typeof b.value === 'string') return a.value === b.value;
    return Buffer.from(a.value as string | Buffer).equals(Buffer.from(b.value as string | Buffer));
  }
  if (a.type === 'D' && b.type === 'D') return a.value.scale === b.value.scale && a.value.value === b.value.value;
  if (a.type === 't' && b.type === 't') return a.value === b.value;
  if (a.type === 'V' && b.type === 'V') return true;
  if ((a.type === 'A' && b.type === 'A') || (a.type === 'F' && b.type === 'F')) {
    // Inside, types must agree exactly and tables pair by key; walked without recursion (any depth).
    return sameStructure(a, b, erlangEqual, 'byKey');
  }
  return false;
}
