/**
 * Message properties between the management API's JSON and AMQP basic properties
 * (rabbit_mgmt_format:format_basic_properties and rabbit_mgmt_wm_exchange_publish's parsing):
 * snake_case names, headers as a JSON object, timestamp in seconds.
 */
import { jsonToTable, tableToJson, TableConversionError } from '../definitions/amqp-table-json.js';
import type { BasicProperties } from '../protocol/generated/properties.js';
import { isJsonInteger, isJsonObject, jsonNumber, type JsonValue } from '../util/json.js';
import { badRequest } from './http-errors.js';
import type { JsonObject } from './request-body.js';

const STRINGS = [
  ['content_type', 'contentType'],
  ['content_encoding', 'contentEncoding'],
  ['correlation_id', 'correlationId'],
  ['reply_to', 'replyTo'],
  ['expiration', 'expiration'],
  ['message_id', 'messageId'],
  ['type', 'type'],
  ['user_id', 'userId'],
  ['app_id', 'appId'],
  ['cluster_id', 'clusterId'],
] as const;

const OCTETS = [
  ['delivery_mode', 'deliveryMode'],
  ['priority', 'priority'],
] as const;

/** The `properties` of a publish request; unknown keys are refused as RabbitMQ refuses them. */
export function propertiesFromJson(v: JsonValue | undefined): BasicProperties {
  if (v === undefined || v === null || (Array.isArray(v) && v.length === 0)) return {};
  if (!isJsonObject(v)) throw badRequest('properties must be an object');
  const p: BasicProperties = {};
  for (const [key, value] of Object.entries(v)) {
    const s = STRINGS.find(([k]) => k === key);
    if (s !== undefined) {
      if (typeof value !== 'string' || Buffer.byteLength(value) > 255) throw badRequest(`property ${key} must be a string of at most 255 bytes`);
      p[s[1]] = value;
      continue;
    }
    const o = OCTETS.find(([k]) => k === key);
    if (o !== undefined) {
      const n = isJsonInteger(value) ? jsonNumber(value) : typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : Number.NaN;
      if (!Number.isInteger(n) || n < 0 || n > 255) throw badRequest(`property ${key} must be an integer from 0 to 255`);
      p[o[1]] = n;
      continue;
    }
    if (key === 'timestamp') {
      if (!isJsonInteger(value) || jsonNumber(value) < 0) throw badRequest('property timestamp must be a non-negative integer');
      p.timestamp = typeof value === 'bigint' ? value : value;
      continue;
    }
    if (key === 'headers') {
      try {
        p.headers = jsonToTable(value, 'properties.headers');
      } catch (e) {
        if (e instanceof TableConversionError) throw badRequest(e.message);
        throw e;
      }
      continue;
    }
    throw badRequest(`unknown property ${key}`);
  }
  return p;
}

/** The properties of a message as the API shows them; none at all is Erlang's empty list, `[]`. */
export function propertiesToJson(p: BasicProperties): JsonValue {
  const out: JsonObject = {};
  for (const [json, field] of STRINGS) if (p[field] !== undefined) out[json] = p[field];
  for (const [json, field] of OCTETS) if (p[field] !== undefined) out[json] = p[field];
  if (p.timestamp !== undefined) out.timestamp = typeof p.timestamp === 'bigint' ? p.timestamp : p.timestamp;
  if (p.headers !== undefined) out.headers = tableToJson(p.headers);
  return Object.keys(out).length === 0 ? [] : out;
}
