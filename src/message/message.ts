/**
 * A published message as the broker holds it: where it was published, its content header properties
 * kept as the raw bytes the publisher sent, and its body.
 *
 * Properties are not decoded on the hot path. `scanProperties` walks them once at publish time, checks
 * that they are well formed, and picks out the few fields routing and queueing need (delivery mode,
 * priority, expiration, where the headers table lies). Deliveries write the raw bytes back out, so a
 * header reaches consumers byte for byte as it was published. Code that needs the decoded form (the
 * headers exchange, dead-lettering) asks for it and the result is cached.
 */
import { DecodeError, Reader, Writer } from '../protocol/codec-primitives.js';
import { decodeBasicProperties, encodeBasicProperties, type BasicProperties } from '../protocol/generated/properties.js';
import { FIELD_TYPE_NAMES } from '../protocol/field-table.js';

const F_CONTENT_TYPE = 0x8000;
const F_CONTENT_ENCODING = 0x4000;
const F_HEADERS = 0x2000;
const F_DELIVERY_MODE = 0x1000;
const F_PRIORITY = 0x0800;
const F_CORRELATION_ID = 0x0400;
const F_REPLY_TO = 0x0200;
const F_EXPIRATION = 0x0100;
const F_MESSAGE_ID = 0x0080;
const F_TIMESTAMP = 0x0040;
const F_TYPE = 0x0020;
const F_USER_ID = 0x0010;
const F_APP_ID = 0x0008;
const F_CLUSTER_ID = 0x0004;

/** Scratch space for re-encoding properties (dead-lettering, CC/BCC, x-delay): grows once, reused. */
const propertiesWriter = new Writer(1024);

export class Message {
  /** delivery-mode 2. */
  persistent = false;
  /** When the broker received it (ms since the epoch); expiry counts from here, across restarts. */
  publishedAt = 0;
  /** Routing keys beyond the first: the CC and BCC header keys it was published with. */
  extraKeys: readonly string[] | undefined = undefined;
  /** The delivery-mode property, or -1 when absent (RabbitMQ refuses values other than 1 and 2). */
  deliveryMode = -1;
  /** The priority property, or -1 when absent. */
  priority = -1;
  /** Offsets of the expiration shortstr's bytes within `properties`, or -1 when absent. */
  expirationStart = -1;
  expirationEnd = -1;
  /** Offsets of the headers table (length prefix included) within `properties`, or -1 when absent. */
  headersStart = -1;
  headersEnd = -1;
  /** Offsets of the reply-to shortstr's bytes, or -1 when absent (direct reply-to rewrites it). */
  replyToStart = -1;
  replyToEnd = -1;
  /** Offsets of the user-id shortstr's bytes, or -1 when absent (publishes are checked against the login). */
  userIdStart = -1;
  userIdEnd = -1;
  /** The headers hold CC or BCC keys (sender-selected distribution), found while scanning. */
  hasRoutingHeaders = false;
  /** Its publisher wrote an x-death header (RabbitMQ 4.x does not count those deaths: message/deaths.ts). */
  publishedXDeath = false;
  /** For a message dead-lettered under 3.13 or 4.x: the routing keys its next death records. */
  deathRoutingKeys: readonly string[] | undefined = undefined;
  private decoded: BasicProperties | undefined;

  constructor(
    public exchange: string,
    public routingKey: string,
    /** The property flags and property list exactly as received (content header after body size). */
    public properties: Buffer,
    /** The body, or the views of the socket chunks a large body frame arrived split across. */
    body: Buffer | readonly Buffer[],
  ) {
    if (Buffer.isBuffer(body)) {
      this.joined = body;
      this.bodySize = body.length;
    } else {
      this.pieces = body;
      let n = 0;
      for (const p of body) n += p.length;
      this.bodySize = n;
    }
  }

  readonly bodySize: number;
  private joined: Buffer | undefined;
  private pieces: readonly Buffer[] | undefined;

  /**
   * The body in one buffer. A body that arrived in pieces is joined (copied) the first time
   * something needs it whole (the store, dead-lettering...); deliveries write the pieces as they are.
   */
  get body(): Buffer {
    if (this.joined === undefined) {
      this.joined = Buffer.concat(this.pieces!, this.bodySize);
      this.pieces = undefined;
    }
    return this.joined;
  }

  /** The pieces of a body not joined yet, else undefined. */
  get bodyPieces(): readonly Buffer[] | undefined {
    return this.pieces;
  }

  get hasHeaders(): boolean {
    return this.headersStart >= 0;
  }

  get userId(): string | undefined {
    return this.userIdStart < 0 ? undefined : this.properties.toString('utf8', this.userIdStart, this.userIdEnd);
  }

  get replyTo(): string | undefined {
    return this.replyToStart < 0 ? undefined : this.properties.toString('utf8', this.replyToStart, this.replyToEnd);
  }

  get expiration(): string | undefined {
    return this.expirationStart < 0 ? undefined : this.properties.toString('latin1', this.expirationStart, this.expirationEnd);
  }

  /** The per-message TTL in ms from the expiration property, or -1 when it has none. */
  get ttl(): number {
    if (this.expirationStart < 0) return -1;
    // Validated at publish (expirationError): a non-negative decimal integer, maybe with a sign.
    return Number(this.properties.toString('latin1', this.expirationStart, this.expirationEnd));
  }

  /** The decoded properties (computed once). Callers must not mutate the result. */
  get decodedProperties(): BasicProperties {
    if (this.decoded === undefined) this.decoded = decodeBasicProperties(new Reader(this.properties));
    return this.decoded;
  }

  /** Replaces the properties (dead-lettering, CC/BCC removal); re-encodes and rescans them. */
  setProperties(p: BasicProperties): void {
    const w = propertiesWriter;
    w.pos = 0;
    encodeBasicProperties(w, p);
    // One exact-size copy (small ones come from Node's buffer pool); the scratch writer is reused.
    this.properties = Buffer.from(w.bytes());
    this.decoded = undefined;
    scanProperties(this, this.properties);
  }
}

/**
 * Walks the property list once: validates its structure (so that a malformed header is refused at
 * publish, as RabbitMQ's eager decode does) and records where the fields the broker needs lie.
 * Throws DecodeError on malformed properties.
 */
export function scanProperties(m: Message, p: Buffer): void {
  const end = p.length;
  if (end < 2) throw new DecodeError('truncated property flags');
  const flags = (p[0]! << 8) | p[1]!;
  let pos = 2;
  const shortstr = () => {
    if (pos >= end) throw new DecodeError('truncated shortstr');
    const n = p[pos]!;
    const s = pos + 1;
    pos = s + n;
    if (pos > end) throw new DecodeError('truncated shortstr');
    return s;
  };
  if (flags & F_CONTENT_TYPE) shortstr();
  if (flags & F_CONTENT_ENCODING) shortstr();
  m.hasRoutingHeaders = false;
  if (flags & F_HEADERS) {
    m.headersStart = pos;
    pos = skipTable(p, pos, end, m);
    m.headersEnd = pos;
  } else {
    m.headersStart = m.headersEnd = -1;
  }
  if (flags & F_DELIVERY_MODE) {
    if (pos >= end) throw new DecodeError('truncated delivery-mode');
    m.deliveryMode = p[pos++]!;
    m.persistent = m.deliveryMode === 2;
  } else {
    m.deliveryMode = -1;
    m.persistent = false;
  }
  if (flags & F_PRIORITY) {
    if (pos >= end) throw new DecodeError('truncated priority');
    m.priority = p[pos++]!;
  } else {
    m.priority = -1;
  }
  if (flags & F_CORRELATION_ID) shortstr();
  if (flags & F_REPLY_TO) {
    m.replyToStart = shortstr();
    m.replyToEnd = pos;
  } else {
    m.replyToStart = m.replyToEnd = -1;
  }
  if (flags & F_EXPIRATION) {
    const s = shortstr();
    m.expirationStart = s;
    m.expirationEnd = pos;
  } else {
    m.expirationStart = m.expirationEnd = -1;
  }
  if (flags & F_MESSAGE_ID) shortstr();
  if (flags & F_TIMESTAMP) {
    pos += 8;
    if (pos > end) throw new DecodeError('truncated timestamp');
  }
  if (flags & F_TYPE) shortstr();
  if (flags & F_USER_ID) {
    m.userIdStart = shortstr();
    m.userIdEnd = pos;
  } else {
    m.userIdStart = m.userIdEnd = -1;
  }
  if (flags & F_APP_ID) shortstr();
  if (flags & F_CLUSTER_ID) shortstr();
  // RabbitMQ's decoder requires the property list to end exactly here.
  if (pos !== end) throw new DecodeError('trailing bytes after properties');
}

/**
 * Skips a field table starting at its length prefix, validating every entry; returns the end offset.
 * Given a message, notes whether the table has the CC or BCC keys (top level only).
 *
 * Tables and arrays inside it are followed with an explicit stack rather than recursion, so that any
 * nesting that fits in a frame is accepted, as RabbitMQ accepts it (issue 19: 18,000 levels).
 */
export function skipTable(p: Buffer, pos: number, end: number, m?: Message): number {
  if (pos + 4 > end) throw new DecodeError('truncated table');
  const tEnd = pos + 4 + p.readUInt32BE(pos);
  if (tEnd > end) throw new DecodeError('truncated table');
  pos += 4;
  // The container being walked (where it ends, whether its entries have keys) and those around it.
  let containerEnd = tEnd;
  let inTable = true;
  let outerEnds: number[] | undefined;
  let outerIsTable: boolean[] | undefined;
  for (;;) {
    if (pos >= containerEnd) {
      if (outerEnds === undefined || outerEnds.length === 0) return tEnd;
      containerEnd = outerEnds.pop()!;
      inTable = outerIsTable!.pop()!;
      continue;
    }
    if (inTable) {
      const keyLen = p[pos]!;
      const topLevel = outerEnds === undefined || outerEnds.length === 0;
      if (m !== undefined && topLevel && isRoutingHeaderKey(p, pos + 1, keyLen)) m.hasRoutingHeaders = true;
      pos += 1 + keyLen;
      if (pos >= containerEnd) throw new DecodeError('truncated table entry');
    }
    const tag = p[pos++]!;
    if (tag === 0x46 /* F */ || tag === 0x41 /* A */) {
      const what = tag === 0x46 ? 'table' : 'array';
      if (pos + 4 > containerEnd) throw new DecodeError(`truncated ${what}`);
      const innerEnd = pos + 4 + p.readUInt32BE(pos);
      if (innerEnd > containerEnd) throw new DecodeError(`truncated ${what}`);
      (outerEnds ??= []).push(containerEnd);
      (outerIsTable ??= []).push(inTable);
      containerEnd = innerEnd;
      inTable = tag === 0x46;
      pos += 4;
      continue;
    }
    pos = skipScalar(p, pos, tag, containerEnd);
  }
}

/** "CC" or "BCC" */
function isRoutingHeaderKey(p: Buffer, at: number, len: number): boolean {
  if (len === 2) return p[at] === 0x43 && p[at + 1] === 0x43;
  if (len === 3) return p[at] === 0x42 && p[at + 1] === 0x43 && p[at + 2] === 0x43;
  return false;
}

/** Skips a value that is neither a table nor an array, its tag already read; returns where it ends. */
function skipScalar(p: Buffer, pos: number, tag: number, end: number): number {
  let n: number;
  switch (tag) {
    case 0x74: case 0x62: case 0x42: n = 1; break; // t b B
    case 0x73: case 0x75: n = 2; break; // s u
    case 0x49: case 0x69: case 0x66: n = 4; break; // I i f
    case 0x6c: case 0x4c: case 0x64: case 0x54: n = 8; break; // l L d T
    case 0x44: n = 5; break; // D
    case 0x56: n = 0; break; // V
    case 0x53: case 0x78: { // S x
      if (pos + 4 > end) throw new DecodeError('truncated string');
      n = 4 + p.readUInt32BE(pos);
      break;
    }
    default:
      throw new DecodeError(`unknown field type tag 0x${tag.toString(16)}`);
  }
  pos += n;
  if (pos > end) throw new DecodeError('truncated field value');
  return pos;
}

/**
 * Sender-selected distribution (RabbitMQ's "sender-selected" docs page): the longstr entries of the
 * CC and BCC header arrays are extra routing keys. BCC is removed from the message before delivery.
 * A CC or BCC header that is not an array makes the publish invalid, as RabbitMQ's
 * rabbit_basic:header_routes/1 says.
 */
export function takeRoutingHeaders(m: Message): string[] {
  const props = m.decodedProperties;
  const headers = props.headers;
  if (headers === undefined) return [];
  const keys: string[] = [];
  for (const name of ['CC', 'BCC'] as const) {
    const v = headers.get(name);
    if (v === undefined) continue;
    if (v.type !== 'A') throw new InvalidMessage(`{unacceptable_type_in_header,"${name}",${FIELD_TYPE_NAMES[v.type]}}`);
    for (const item of v.value) {
      if (item.type === 'S') keys.push(typeof item.value === 'string' ? item.value : item.value.toString('utf8'));
    }
  }
  if (headers.has('BCC')) {
    const stripped = new Map(headers);
    stripped.delete('BCC');
    m.setProperties({ ...props, headers: stripped });
  }
  return keys;
}

/** A publish RabbitMQ refuses as "invalid message: <reason>" (406). */
export class InvalidMessage extends Error {
  override name = 'InvalidMessage';
}

/**
 * RabbitMQ's parse_expiration (string:to_integer then check_expiry): undefined when valid, else the
 * Erlang-formatted reason for the 406 "invalid expiration" error.
 */
export function expirationError(expiration: string): string | undefined {
  const m = /^([+-]?\d+)(.*)$/s.exec(expiration);
  if (m === null) return 'no_integer';
  if (m[2] !== '') return `{leftover_string,${JSON.stringify(m[2])}}`;
  const n = Number(m[1]);
  if (n < 0) return `{value_negative,${n}}`;
  if (n > 315_360_000_000) return `{value_too_large,${n}}`;
  return undefined;
}
