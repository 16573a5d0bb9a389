/**
 * The JSON form of codec values used by test/codec/golden-vectors.json (see
 * scripts/make-golden-vectors.mjs): bytes as {$hex}, 64-bit integers beyond 2^53 as {$bigint},
 * NaN, infinities and -0 as {$float}, field tables as {$table: [[key, {type, value}], ...]}.
 *
 * `fromJson` turns it into Warren's values (Buffer, bigint, Map); `toJson` turns Warren's decoded
 * values back, so a decoded method compares with its vector as plain data, table order and field
 * tags included.
 */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v) && !(v instanceof Map);
}

export function fromJson(v: Json): unknown {
  if (Array.isArray(v)) return v.map(fromJson);
  if (!isObject(v)) return v;
  if ('$hex' in v) return Buffer.from(v.$hex as string, 'hex');
  if ('$bigint' in v) return BigInt(v.$bigint as string);
  if ('$float' in v) return v.$float === '-0' ? -0 : Number(v.$float);
  if ('$table' in v) return new Map((v.$table as [string, Json][]).map(([k, f]) => [k, fromJson(f)]));
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fromJson(x as Json)]));
}

export function toJson(v: unknown): Json {
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return v;
  if (typeof v === 'number') {
    if (Number.isNaN(v) || !Number.isFinite(v) || Object.is(v, -0)) return { $float: Object.is(v, -0) ? '-0' : String(v) };
    return v;
  }
  if (typeof v === 'bigint') return { $bigint: String(v) };
  if (Buffer.isBuffer(v)) return { $hex: v.toString('hex') };
  if (v instanceof Map) return { $table: [...v].map(([k, f]) => [k as string, toJson(f)]) };
  if (Array.isArray(v)) return v.map(toJson);
  if (isObject(v)) {
    const out: Record<string, Json> = {};
    for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = toJson(x);
    return out;
  }
  throw new Error(`no JSON form for ${typeof v}`);
}
