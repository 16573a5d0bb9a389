/**
 * Headers exchange: bindings match on message headers, per RabbitMQ's rabbit_exchange_type_headers.
 *
 * x-match `all` (default) needs every binding header present with an equal value; `any` needs one.
 * Binding arguments starting with `x-` are ignored unless x-match is `all-with-x` or `any-with-x`. A
 * binding argument of type void only asks for the header to be present. Values compare as Erlang's
 * `==` does: numbers by value whatever their width, strings and byte arrays by bytes.
 */
import type { Message } from '../message.js';
import { FIELD_TYPE_NAMES, type FieldTable, type FieldValue } from '../protocol/field-table.js';
import { Exchange, type Binding, type RouteSink } from './exchange.js';
import { erlangTerm } from './erlang-format.js';

type MatchKind = 'all' | 'any' | 'all-with-x' | 'any-with-x';

interface CompiledBinding {
  readonly binding: Binding;
  readonly kind: MatchKind;
  /** The binding arguments that take part in matching (x-match removed, x-* unless *-with-x). */
  readonly pattern: readonly (readonly [string, FieldValue])[];
}

export class HeadersExchange extends Exchange {
  readonly type = 'headers';
  private compiled: CompiledBinding[] = [];

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
    this.compiled.push({ binding: b, kind, pattern });
  }

  protected onUnbind(b: Binding): void {
    this.compiled = this.compiled.filter((c) => c.binding !== b);
  }

  route(msg: Message, _routingKey: string, sink: RouteSink): void {
    if (this.compiled.length === 0) return;
    const headers = msg.hasHeaders ? msg.decodedProperties.headers : undefined;
    for (const c of this.compiled) {
      if (matches(c, headers)) sink.add(c.binding.destination);
    }
  }
}

function matches(c: CompiledBinding, headers: FieldTable | undefined): boolean {
  const all = c.kind === 'all' || c.kind === 'all-with-x';
  if (all) {
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
    return Buffer.from(a.value as string | Buffer).equals(Buffer.from(b.value as string | Buffer));
  }
  if (a.type === 'D' && b.type === 'D') return a.value.scale === b.value.scale && a.value.value === b.value.value;
  if (a.type === 't' && b.type === 't') return a.value === b.value;
  if (a.type === 'V' && b.type === 'V') return true;
  if (a.type === 'A' && b.type === 'A') {
    return a.value.length === b.value.length && a.value.every((x, i) => x.type === b.value[i]!.type && erlangEqual(x, b.value[i]!));
  }
  if (a.type === 'F' && b.type === 'F') {
    const ka = [...a.value.keys()].sort();
    const kb = [...b.value.keys()].sort();
    if (ka.length !== kb.length || ka.some((k, i) => k !== kb[i])) return false;
    return ka.every((k) => {
      const x = a.value.get(k)!;
      const y = b.value.get(k)!;
      return x.type === y.type && erlangEqual(x, y);
    });
  }
  return false;
}
