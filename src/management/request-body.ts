/**
 * Request bodies: every body is untrusted. The text is parsed as JSON here (not by the HTTP
 * framework) so that numbers keep their exact value, as RabbitMQ's decoder keeps them, and a body
 * that is not JSON, or not an object, is a 400 before anything is changed.
 */
import { jsonToTable, TableConversionError } from '../definitions/amqp-table-json.js';
import type { FieldTable } from '../protocol/field-table.js';
import { isJsonInteger, isJsonObject, JsonParseError, jsonNumber, parseJson, type JsonValue } from '../util/json.js';
import { badRequest } from './http-errors.js';

export type JsonObject = { [key: string]: JsonValue };

/** The body as a JSON object; an empty body is `{}` (RabbitMQ declares with defaults then). */
export function bodyObject(raw: unknown): JsonObject {
  const text = typeof raw === 'string' ? raw : Buffer.isBuffer(raw) ? raw.toString('utf8') : '';
  if (text.trim() === '') return {};
  let v: JsonValue;
  try {
    v = parseJson(text);
  } catch (e) {
    if (e instanceof JsonParseError || e instanceof RangeError) throw badRequest('not_json');
    throw e;
  }
  if (!isJsonObject(v)) throw badRequest('not_json');
  return v;
}

/** The raw text of a body that is handed on whole (a definitions import parses it itself). */
export function bodyText(raw: unknown): string {
  return typeof raw === 'string' ? raw : Buffer.isBuffer(raw) ? raw.toString('utf8') : '';
}

/**
 * A boolean field: JSON true/false, or the strings "true"/"false" that rabbitmqadmin and the UI's
 * forms send (rabbit_mgmt_util:parse_bool/1); anything else is RabbitMQ's ["not_boolean", value].
 */
export function boolField(body: JsonObject, key: string, dflt: boolean): boolean {
  const v = body[key];
  if (v === undefined || v === null) return dflt;
  if (v === true || v === 'true') return true;
  if (v === false || v === 'false') return false;
  throw badRequest(['not_boolean', v]);
}

export function stringField(body: JsonObject, key: string, dflt: string): string {
  const v = body[key];
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'string') throw badRequest(`${key} must be a string`);
  return v;
}

/** A non-negative integer field (a number or its decimal text, as the UI's forms send). */
export function intField(body: JsonObject, key: string, dflt: number, max = Number.MAX_SAFE_INTEGER): number {
  const v = body[key];
  if (v === undefined || v === null) return dflt;
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : isJsonInteger(v) ? jsonNumber(v) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 0 || n > max) throw badRequest(`${key} must be an integer from 0 to ${max}`);
  return n;
}

/** An "arguments" object as an AMQP field table (the definitions files' conversion). */
export function argumentsField(body: JsonObject, key = 'arguments'): FieldTable {
  const v = body[key];
  if (v === undefined || v === null || v === '') return new Map();
  // rabbitmqadmin sends {} for no arguments; an array (Erlang's empty list) means none too.
  if (Array.isArray(v) && v.length === 0) return new Map();
  try {
    return jsonToTable(v, key);
  } catch (e) {
    if (e instanceof TableConversionError) throw badRequest(e.message);
    throw e;
  }
}
