/**
 * Deeply nested field tables and arrays, written byte by byte (not with the Writer under test), for the
 * deep-nesting tests: a header or argument whose value is `depth` tables or arrays, one inside the other,
 * with a longstr at the bottom.
 *
 * Every level's container ends where the whole value ends (the nested value is its last entry), so the
 * bytes are each level's prefix in turn, then the leaf, and each length is "everything after it".
 */
import { Method } from '../../src/protocol/generated/methods.js';
import type { RawClient } from './raw-client.js';

export type Nesting = 'table' | 'array' | 'mixed';

/** Bytes one level adds: table = tag + length + key "d" + the nested value's tag; array = tag + length. */
const LEVEL_BYTES = { table: 1 + 4 + 2, array: 1 + 4 } as const;

function levelKind(nesting: Nesting, level: number): 'table' | 'array' {
  return nesting === 'mixed' ? (level % 2 === 0 ? 'table' : 'array') : nesting;
}

/** The size of `deepFieldValue(depth, nesting, leaf)`. */
export function deepFieldValueSize(depth: number, nesting: Nesting, leaf: string): number {
  let n = 1 + 4 + Buffer.byteLength(leaf);
  for (let i = 0; i < depth; i++) n += LEVEL_BYTES[levelKind(nesting, i)];
  return n;
}

/**
 * A field value (type tag first): `depth` nested containers, the outermost first, holding the longstr
 * `leaf` at the bottom. Tables hold it under the key "d".
 */
export function deepFieldValue(depth: number, nesting: Nesting, leaf = 'bottom'): Buffer {
  const size = deepFieldValueSize(depth, nesting, leaf);
  const b = Buffer.alloc(size);
  let p = 0;
  for (let i = 0; i < depth; i++) {
    const kind = levelKind(nesting, i);
    if (kind === 'table') {
      b[p] = 0x46; // F
      b.writeUInt32BE(size - (p + 5), p + 1);
      b[p + 5] = 1;
      b[p + 6] = 0x64; // "d"
      p += 7;
    } else {
      b[p] = 0x41; // A
      b.writeUInt32BE(size - (p + 5), p + 1);
      p += 5;
    }
  }
  b[p] = 0x53; // S
  b.writeUInt32BE(Buffer.byteLength(leaf), p + 1);
  b.write(leaf, p + 5);
  return b;
}

/** A field table (length prefix first) with one entry, `key`, holding `value` (a field value's bytes). */
export function tableWith(key: string, value: Buffer): Buffer {
  const k = Buffer.from(key);
  const b = Buffer.alloc(4 + 1 + k.length + value.length);
  b.writeUInt32BE(b.length - 4, 0);
  b[4] = k.length;
  k.copy(b, 5);
  value.copy(b, 5 + k.length);
  return b;
}

/** Basic properties (flags first) carrying only a headers table given as bytes. */
export function headersOnlyProperties(headersTable: Buffer): Buffer {
  const b = Buffer.alloc(2 + headersTable.length);
  b.writeUInt16BE(0x2000, 0);
  headersTable.copy(b, 2);
  return b;
}

/** Headers-only properties (headersOnlyProperties) with delivery-mode 2 added, after the headers. */
function persistent(headersOnly: Buffer): Buffer {
  const props = Buffer.concat([headersOnly, Buffer.from([2])]);
  props.writeUInt16BE(props.readUInt16BE(0) | 0x1000, 0);
  return props;
}

/** How deep the value nests, and its leaf, read back iteratively from decoded field values. */
export function measureNesting(v: { type: string; value: unknown }): { depth: number; leaf: unknown } {
  let depth = 0;
  let cur = v;
  for (;;) {
    if (cur.type === 'F') cur = (cur.value as Map<string, typeof cur>).get('d')!;
    else if (cur.type === 'A') cur = (cur.value as (typeof cur)[])[0]!;
    else return { depth, leaf: cur.value };
    depth++;
  }
}

/**
 * Raw frames whose tables are given as bytes (the generated encoders take decoded tables), for a
 * RawClient. Each writes one method frame (and content frames for a publish) on `channel`.
 */
export const rawMethods = {
  queueDeclare(c: RawClient, channel: number, queue: string, o: { durable?: boolean }, argumentsTable: Buffer): void {
    c.sendFrame(1, channel, method(Method.QueueDeclare, [shortstr(queue), Buffer.from([o.durable === true ? 0x02 : 0]), argumentsTable]));
  },
  exchangeDeclare(c: RawClient, channel: number, exchange: string, type: string, o: { durable?: boolean }, argumentsTable: Buffer): void {
    c.sendFrame(1, channel, method(Method.ExchangeDeclare, [shortstr(exchange), shortstr(type), Buffer.from([o.durable === true ? 0x02 : 0]), argumentsTable]));
  },
  queueBind(c: RawClient, channel: number, queue: string, exchange: string, routingKey: string, argumentsTable: Buffer): void {
    c.sendFrame(1, channel, method(Method.QueueBind, [shortstr(queue), shortstr(exchange), shortstr(routingKey), Buffer.from([0]), argumentsTable]));
  },
  basicGet(c: RawClient, channel: number, queue: string): void {
    c.sendFrame(1, channel, method(Method.BasicGet, [shortstr(queue), Buffer.from([1 /* no-ack */])]));
  },
  /** basic.publish with `properties` (flags and property list, as bytes) and the body in one frame. */
  basicPublish(c: RawClient, channel: number, exchange: string, routingKey: string, properties: Buffer, body: Buffer, o: { persistent?: boolean } = {}): void {
    c.sendFrame(1, channel, method(Method.BasicPublish, [shortstr(exchange), shortstr(routingKey), Buffer.from([0])]));
    const props = o.persistent === true ? persistent(properties) : properties;
    const header = Buffer.alloc(12 + props.length);
    header.writeUInt16BE(60, 0);
    header.writeBigUInt64BE(BigInt(body.length), 4);
    props.copy(header, 12);
    c.sendFrame(2, channel, header);
    c.sendFrame(3, channel, body);
  },
};

function shortstr(s: string): Buffer {
  const b = Buffer.from(s);
  return Buffer.concat([Buffer.from([b.length]), b]);
}

/** A method payload: class and method id, the reserved short every one of these starts with, fields. */
function method(id: number, fields: Buffer[]): Buffer {
  const head = Buffer.alloc(6);
  head.writeUInt32BE(id, 0);
  return Buffer.concat([head, ...fields]);
}

/**
 * The properties bytes (flags first) of the next content header on `channel` among the frames after
 * index `after`, however the raw client filed the frame.
 */
export async function nextContentProperties(c: RawClient, channel: number, after: number, timeoutMs = 5000): Promise<Buffer | undefined> {
  const f = await c.waitFor(
    (fs) => fs.slice(after).find((f) => (f.type === 'header' || (f.type === 'raw' && f.frameType === 2)) && f.channel === channel),
    timeoutMs,
  );
  return f === undefined ? undefined : (f as { payload: Buffer }).payload.subarray(12);
}
