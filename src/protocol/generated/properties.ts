// GENERATED FILE - DO NOT EDIT.
// Produced by scripts/generate-codec.mjs from spec/amqp-rabbitmq-0.9.1.json,
// spec/amqp0-9-1.extended.xml and spec/credit_extension.json. Run `npm run generate` after changing the spec or the generator;
// test/codec/generated-drift.test.ts fails when this file and the spec disagree.

import type { FieldTable } from '../field-table.js';
import type { Reader, Writer } from '../codec-primitives.js';

/** The 14 properties of a basic-class content header; absent properties are undefined. */
export interface BasicProperties {
  contentType?: string | undefined;
  contentEncoding?: string | undefined;
  headers?: FieldTable | undefined;
  deliveryMode?: number | undefined;
  priority?: number | undefined;
  correlationId?: string | undefined;
  replyTo?: string | undefined;
  expiration?: string | undefined;
  messageId?: string | undefined;
  timestamp?: number | bigint | undefined;
  type?: string | undefined;
  userId?: string | undefined;
  appId?: string | undefined;
  clusterId?: string | undefined;
}

export const BasicPropertyFlag = {
  contentType: 0x8000,
  contentEncoding: 0x4000,
  headers: 0x2000,
  deliveryMode: 0x1000,
  priority: 0x0800,
  correlationId: 0x0400,
  replyTo: 0x0200,
  expiration: 0x0100,
  messageId: 0x0080,
  timestamp: 0x0040,
  type: 0x0020,
  userId: 0x0010,
  appId: 0x0008,
  clusterId: 0x0004,
} as const;

/**
 * Decodes the property flags and list of a basic content header (after class, weight and body size).
 * Like RabbitMQ's generated decoder, it reads the presence bits of the basic properties and ignores
 * the two low bits of the flag word (the continuation bit included): there is no second word.
 */
export function decodeBasicProperties(r: Reader): BasicProperties {
  const flags = r.short();
  const p: BasicProperties = {};
  if (flags & 0x8000) p.contentType = r.shortstr();
  if (flags & 0x4000) p.contentEncoding = r.shortstr();
  if (flags & 0x2000) p.headers = r.table();
  if (flags & 0x1000) p.deliveryMode = r.octet();
  if (flags & 0x0800) p.priority = r.octet();
  if (flags & 0x0400) p.correlationId = r.shortstr();
  if (flags & 0x0200) p.replyTo = r.shortstr();
  if (flags & 0x0100) p.expiration = r.shortstr();
  if (flags & 0x0080) p.messageId = r.shortstr();
  if (flags & 0x0040) p.timestamp = r.timestamp();
  if (flags & 0x0020) p.type = r.shortstr();
  if (flags & 0x0010) p.userId = r.shortstr();
  if (flags & 0x0008) p.appId = r.shortstr();
  if (flags & 0x0004) p.clusterId = r.shortstr();
  return p;
}

/** Writes the property flags and list of a basic content header. */
export function encodeBasicProperties(w: Writer, p: BasicProperties): void {
  let flags = 0;
  if (p.contentType !== undefined) flags |= 0x8000;
  if (p.contentEncoding !== undefined) flags |= 0x4000;
  if (p.headers !== undefined) flags |= 0x2000;
  if (p.deliveryMode !== undefined) flags |= 0x1000;
  if (p.priority !== undefined) flags |= 0x0800;
  if (p.correlationId !== undefined) flags |= 0x0400;
  if (p.replyTo !== undefined) flags |= 0x0200;
  if (p.expiration !== undefined) flags |= 0x0100;
  if (p.messageId !== undefined) flags |= 0x0080;
  if (p.timestamp !== undefined) flags |= 0x0040;
  if (p.type !== undefined) flags |= 0x0020;
  if (p.userId !== undefined) flags |= 0x0010;
  if (p.appId !== undefined) flags |= 0x0008;
  if (p.clusterId !== undefined) flags |= 0x0004;
  w.short(flags);
  if (p.contentType !== undefined) w.shortstr(p.contentType);
  if (p.contentEncoding !== undefined) w.shortstr(p.contentEncoding);
  if (p.headers !== undefined) w.table(p.headers);
  if (p.deliveryMode !== undefined) w.octet(p.deliveryMode);
  if (p.priority !== undefined) w.octet(p.priority);
  if (p.correlationId !== undefined) w.shortstr(p.correlationId);
  if (p.replyTo !== undefined) w.shortstr(p.replyTo);
  if (p.expiration !== undefined) w.shortstr(p.expiration);
  if (p.messageId !== undefined) w.shortstr(p.messageId);
  if (p.timestamp !== undefined) w.timestamp(p.timestamp);
  if (p.type !== undefined) w.shortstr(p.type);
  if (p.userId !== undefined) w.shortstr(p.userId);
  if (p.appId !== undefined) w.shortstr(p.appId);
  if (p.clusterId !== undefined) w.shortstr(p.clusterId);
}
