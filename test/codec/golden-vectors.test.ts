/**
 * Golden byte vectors: every method (in several argument patterns) and every basic property flag,
 * as amqplib's independently generated encoder writes them (scripts/make-golden-vectors.mjs).
 *
 * For each vector: Warren's encoder writes exactly those bytes, Warren's decoder reads them back to
 * the sample arguments (field tags and table order included), and amqplib still writes them too, so
 * that a change of the reference is a visible failure rather than a silent new truth.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Reader, Writer } from '../../src/protocol/codec-primitives.js';
import { FRAME_END, FRAME_HEADER, FRAME_METHOD } from '../../src/protocol/generated/constants.js';
import { METHOD_INFO, Method, decodeMethod, encodeMethod, type AnyMethod } from '../../src/protocol/generated/methods.js';
import {
  BasicPropertyFlag,
  decodeBasicProperties,
  encodeBasicProperties,
  type BasicProperties,
} from '../../src/protocol/generated/properties.js';
import { Message, scanProperties } from '../../src/message/message.js';
import { fromJson, toJson, type Json } from '../helpers/json-form.js';

interface MethodVector {
  method: string;
  key: number;
  variant: string;
  channel: number;
  args: Record<string, Json>;
  hex: string;
}
interface PropertyVector {
  flag: string;
  channel: number;
  bodySize: number;
  properties: Record<string, Json>;
  hex: string;
}
interface VectorScript {
  render(): string;
  amqplibMethodFrame(v: MethodVector): Buffer;
  amqplibHeaderFrame(v: PropertyVector): Buffer;
  AMQPLIB_VERSION: string;
}

const SCRIPT = new URL('../../scripts/make-golden-vectors.mjs', import.meta.url);
const VECTORS = new URL('./golden-vectors.json', import.meta.url);
const script = (await import(SCRIPT.href)) as VectorScript;
const fileText = readFileSync(VECTORS, 'utf8');
const vectors = JSON.parse(fileText) as { reference: string; methods: MethodVector[]; properties: PropertyVector[] };

function warrenMethodFrame(v: MethodVector): Buffer {
  const w = new Writer(64);
  // The "defaults" vectors leave out every argument with a spec default; the encoder fills them in.
  encodeMethod(w, v.channel, { id: v.key, ...(fromJson(v.args) as object) } as AnyMethod);
  return Buffer.from(w.bytes());
}

function warrenHeaderFrame(v: PropertyVector): Buffer {
  const w = new Writer(64);
  const start = w.frameStart(FRAME_HEADER, v.channel);
  w.short(60);
  w.short(0);
  w.longlong(v.bodySize);
  encodeBasicProperties(w, fromJson(v.properties) as BasicProperties);
  w.frameEnd(start);
  return Buffer.from(w.bytes());
}

/** Splits a frame into its header fields and payload, checking the frame-end octet. */
function unframe(frame: Buffer) {
  const size = frame.readUInt32BE(3);
  expect(frame.length).toBe(size + 8);
  expect(frame[frame.length - 1]).toBe(FRAME_END);
  return { type: frame[0], channel: frame.readUInt16BE(1), payload: frame.subarray(7, 7 + size) };
}

describe('golden vectors file', () => {
  it('is what scripts/make-golden-vectors.mjs renders from the spec with the installed amqplib', () => {
    // Fails after a spec change (run the script) or an amqplib upgrade that changed its output.
    expect(vectors.reference).toBe(`amqplib ${script.AMQPLIB_VERSION} lib/defs.js`);
    expect(script.render() === fileText).toBe(true);
  });

  it('has vectors for every method in the spec, each with all arguments in at least one', () => {
    // amqplib does not know RabbitMQ's credit extension (spec/credit_extension.json): its three
    // methods are checked against hand-written bytes in test/codec/credit-extension.test.ts.
    const credit = new Set([Method.BasicCredit, Method.BasicCreditOk, Method.BasicCreditDrained] as number[]);
    const covered = new Set(vectors.methods.map((v) => v.key));
    for (const key of METHOD_INFO.keys()) if (!credit.has(key)) expect(covered.has(key), METHOD_INFO.get(key)!.name).toBe(true);
    expect(covered.size).toBe(METHOD_INFO.size - credit.size);
  });

  it('has a vector for each property flag alone, for none, and for all fourteen', () => {
    const flags = new Set(vectors.properties.map((v) => v.flag));
    for (const name of Object.keys(BasicPropertyFlag)) expect(flags.has(name), name).toBe(true);
    expect(flags.has('none') && flags.has('all')).toBe(true);
    const all = vectors.properties.find((v) => v.flag === 'all')!;
    expect(Object.keys(all.properties).sort()).toEqual(Object.keys(BasicPropertyFlag).sort());
  });
});

const byMethod = new Map<string, MethodVector[]>();
for (const v of vectors.methods) byMethod.set(v.method, [...(byMethod.get(v.method) ?? []), v]);

describe.each([...byMethod])('%s', (_name, list) => {
  it.each(list.map((v) => [v.variant, v] as const))('%s: Warren encodes the reference bytes', (_variant, v) => {
    expect(warrenMethodFrame(v).toString('hex')).toBe(v.hex);
  });

  it.each(list.filter((v) => v.variant !== 'defaults').map((v) => [v.variant, v] as const))(
    '%s: Warren decodes the reference bytes to the sample arguments',
    (_variant, v) => {
      const { type, channel, payload } = unframe(Buffer.from(v.hex, 'hex'));
      expect(type).toBe(FRAME_METHOD);
      expect(channel).toBe(v.channel);
      const key = payload.readUInt32BE(0);
      expect(key).toBe(v.key);
      const r = new Reader(payload, 4);
      const m = decodeMethod(key, r);
      expect(r.pos).toBe(payload.length);
      expect(toJson(m)).toEqual({ id: v.key, ...v.args });
    },
  );

  it.each(list.map((v) => [v.variant, v] as const))('%s: amqplib still encodes the same bytes', (_variant, v) => {
    expect(script.amqplibMethodFrame(v).toString('hex')).toBe(v.hex);
  });
});

describe.each(vectors.properties.map((v) => [v.flag, v] as const))('content header, properties: %s', (_flag, v) => {
  it('Warren encodes the reference bytes', () => {
    expect(warrenHeaderFrame(v).toString('hex')).toBe(v.hex);
  });

  it('Warren decodes the reference bytes to the sample properties', () => {
    const { type, channel, payload } = unframe(Buffer.from(v.hex, 'hex'));
    expect(type).toBe(FRAME_HEADER);
    expect(channel).toBe(v.channel);
    expect(payload.readUInt16BE(0)).toBe(60);
    expect(payload.readUInt16BE(2)).toBe(0);
    expect(Number(payload.readBigUInt64BE(4))).toBe(v.bodySize);
    const r = new Reader(payload, 12);
    const p = decodeBasicProperties(r);
    expect(r.pos).toBe(payload.length);
    expect(toJson(p)).toEqual(v.properties);
  });

  it('scanProperties accepts the reference bytes and finds the fields the broker routes on', () => {
    const { payload } = unframe(Buffer.from(v.hex, 'hex'));
    const raw = Buffer.from(payload.subarray(12));
    const msg = new Message('', '', raw, Buffer.alloc(0));
    scanProperties(msg, raw);
    const p = fromJson(v.properties) as BasicProperties;
    expect(msg.persistent).toBe(p.deliveryMode === 2);
    expect(msg.priority).toBe(p.priority ?? -1);
    if (p.expiration === undefined) expect(msg.expirationStart).toBe(-1);
    else expect(raw.subarray(msg.expirationStart, msg.expirationEnd).toString('utf8')).toBe(p.expiration);
    if (p.headers === undefined) expect(msg.hasHeaders).toBe(false);
    else expect(toJson(new Reader(raw, msg.headersStart, msg.headersEnd).table())).toEqual(toJson(p.headers));
  });

  it('amqplib still encodes the same bytes', () => {
    expect(script.amqplibHeaderFrame(v).toString('hex')).toBe(v.hex);
  });
});
