/**
 * An independent decoder for what Warren writes: bitsyntax (Erlang's bit syntax for JavaScript,
 * the notation RabbitMQ's own codec is written in) reads the frames Warren's encoder produces —
 * frame header and end, method frames of a representative set including every bit-packed method
 * shape, content headers with any properties, and body frames — and every field is compared with
 * the value that was encoded. The patterns below are written from the spec's layouts, not from
 * Warren's code.
 */
import bitsyntax from 'bitsyntax';
import { isUtf8 } from 'node:buffer';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Writer } from '../../src/protocol/codec-primitives.js';
import type { FieldTable, FieldValue } from '../../src/protocol/field-table.js';
import { FRAME_BODY, FRAME_HEADER, FRAME_METHOD } from '../../src/protocol/generated/constants.js';
import { Method, encodeMethod, type AnyMethod } from '../../src/protocol/generated/methods.js';
import { BasicPropertyFlag, encodeBasicProperties, type BasicProperties } from '../../src/protocol/generated/properties.js';
import { basicProperties, bytes, fieldTable, narrow, shortstr } from '../helpers/arbitraries.js';
import { toJson } from '../helpers/json-form.js';

type Bindings = Record<string, number | Buffer>;

function match(pattern: string, buf: Buffer): Bindings {
  const b = bitsyntax.matcher(pattern)(buf);
  if (b === false) throw new Error(`bitsyntax: <${pattern}> does not match ${buf.toString('hex')}`);
  return b;
}

const num = (b: Bindings, k: string) => b[k] as number;
const bin = (b: Bindings, k: string) => b[k] as Buffer;
const str = (b: Bindings, k: string) => bin(b, k).toString('utf8');
const u64 = (b: Bindings, hi: string, lo: string) => (BigInt(num(b, hi) >>> 0) << 32n) | BigInt(num(b, lo) >>> 0);
const bit = (b: Bindings, k: string, i: number) => ((num(b, k) >> i) & 1) === 1;

// ---------------------------------------------------------------------------------------------
// Field tables, read with bitsyntax patterns one value at a time.

const VALUE_PATTERNS: Record<string, string> = {
  t: 'v:8', b: 'v:8/signed', B: 'v:8', s: 'v:16/signed', u: 'v:16', I: 'v:32/signed', i: 'v:32',
  l: 'hi:32, lo:32', T: 'hi:32, lo:32', f: 'v:32/float', d: 'v:64/float', D: 'scale:8, v:32',
  S: 'n:32, v:n/binary', x: 'n:32, v:n/binary', A: 'n:32, v:n/binary', F: 'n:32, v:n/binary', V: '',
};

function readValue(buf: Buffer): { value: FieldValue; rest: Buffer } {
  const head = match('tag:8, rest/binary', buf);
  const tag = String.fromCharCode(num(head, 'tag'));
  const pattern = VALUE_PATTERNS[tag];
  if (pattern === undefined) throw new Error(`unknown tag ${tag}`);
  const b = match(pattern === '' ? 'rest/binary' : `${pattern}, rest/binary`, bin(head, 'rest'));
  const rest = bin(b, 'rest');
  switch (tag) {
    case 't':
      return { value: { type: 't', value: num(b, 'v') !== 0 }, rest };
    case 'l':
      return { value: { type: 'l', value: narrow(BigInt.asIntN(64, u64(b, 'hi', 'lo'))) }, rest };
    case 'T':
      return { value: { type: 'T', value: narrow(u64(b, 'hi', 'lo')) }, rest };
    case 'D':
      return { value: { type: 'D', value: { scale: num(b, 'scale'), value: num(b, 'v') } }, rest };
    case 'S': {
      const v = Buffer.from(bin(b, 'v'));
      return { value: { type: 'S', value: isUtf8(v) ? v.toString('utf8') : v }, rest };
    }
    case 'x':
      return { value: { type: 'x', value: Buffer.from(bin(b, 'v')) }, rest };
    case 'A': {
      const items: FieldValue[] = [];
      for (let body = bin(b, 'v'); body.length > 0; ) {
        const r = readValue(body);
        items.push(r.value);
        body = r.rest;
      }
      return { value: { type: 'A', value: items }, rest };
    }
    case 'F':
      return { value: { type: 'F', value: readTableBody(bin(b, 'v')) }, rest };
    case 'V':
      return { value: { type: 'V', value: null }, rest };
    default:
      return { value: { type: tag, value: num(b, 'v') } as FieldValue, rest };
  }
}

function readTableBody(body: Buffer): FieldTable {
  const t: FieldTable = new Map();
  while (body.length > 0) {
    const k = match('n:8, key:n/binary, rest/binary', body);
    const v = readValue(bin(k, 'rest'));
    t.set(str(k, 'key'), v.value);
    body = v.rest;
  }
  return t;
}

// ---------------------------------------------------------------------------------------------
// Frames

function warrenFrame(encode: (w: Writer) => void): Buffer {
  const w = new Writer(16);
  encode(w);
  return Buffer.from(w.bytes());
}

/** Frame header, payload and frame-end read with bitsyntax; nothing may follow the frame-end. */
function readFrame(frame: Buffer) {
  const b = match('type:8, channel:16, size:32, payload:size/binary, 206:8, rest/binary', frame);
  expect(bin(b, 'rest').length).toBe(0);
  return { type: num(b, 'type'), channel: num(b, 'channel'), payload: bin(b, 'payload') };
}

// One layout per method: the argument pattern (spec 4.2.5, bits packed into shared octets) and how
// the bound variables map to argument values.
interface MethodCase {
  name: string;
  key: number;
  args: fc.Arbitrary<Record<string, unknown>>;
  pattern: string;
  read: (b: Bindings) => Record<string, unknown>;
}

const octet = fc.integer({ min: 0, max: 0xff });
const short = fc.integer({ min: 0, max: 0xffff });
const long = fc.integer({ min: 0, max: 0xffffffff });
const longlong = fc.maxSafeNat();
const bool = fc.boolean();
const sstr = (n: string) => `${n}L:8, ${n}:${n}L/binary`;
const table = (n: string) => `${n}L:32, ${n}:${n}L/binary`;

const CASES: MethodCase[] = [
  {
    name: 'connection.start',
    key: Method.ConnectionStart,
    args: fc.record({ versionMajor: octet, versionMinor: octet, serverProperties: fieldTable(), mechanisms: bytes(40), locales: bytes(40) }),
    pattern: `maj:8, min:8, ${table('props')}, mechL:32, mech:mechL/binary, locL:32, loc:locL/binary`,
    read: (b) => ({ versionMajor: num(b, 'maj'), versionMinor: num(b, 'min'), serverProperties: readTableBody(bin(b, 'props')), mechanisms: bin(b, 'mech'), locales: bin(b, 'loc') }),
  },
  {
    name: 'connection.tune',
    key: Method.ConnectionTune,
    args: fc.record({ channelMax: short, frameMax: long, heartbeat: short }),
    pattern: 'cm:16, fm:32, hb:16',
    read: (b) => ({ channelMax: num(b, 'cm'), frameMax: num(b, 'fm'), heartbeat: num(b, 'hb') }),
  },
  {
    name: 'connection.close',
    key: Method.ConnectionClose,
    args: fc.record({ replyCode: short, replyText: shortstr(), classId: short, methodId: short }),
    pattern: `code:16, ${sstr('text')}, cls:16, mth:16`,
    read: (b) => ({ replyCode: num(b, 'code'), replyText: str(b, 'text'), classId: num(b, 'cls'), methodId: num(b, 'mth') }),
  },
  {
    name: 'channel.flow',
    key: Method.ChannelFlow,
    args: fc.record({ active: bool }),
    pattern: 'bits:8',
    read: (b) => ({ active: bit(b, 'bits', 0) }),
  },
  {
    name: 'access.request',
    key: Method.AccessRequest,
    args: fc.record({ realm: shortstr(), exclusive: bool, passive: bool, active: bool, write: bool, read: bool }),
    pattern: `${sstr('realm')}, bits:8`,
    read: (b) => ({
      realm: str(b, 'realm'),
      exclusive: bit(b, 'bits', 0), passive: bit(b, 'bits', 1), active: bit(b, 'bits', 2), write: bit(b, 'bits', 3), read: bit(b, 'bits', 4),
    }),
  },
  {
    name: 'exchange.declare',
    key: Method.ExchangeDeclare,
    args: fc.record({ ticket: short, exchange: shortstr(), type: shortstr(), passive: bool, durable: bool, autoDelete: bool, internal: bool, nowait: bool, arguments: fieldTable() }),
    pattern: `ticket:16, ${sstr('ex')}, ${sstr('type')}, bits:8, ${table('args')}`,
    read: (b) => ({
      ticket: num(b, 'ticket'), exchange: str(b, 'ex'), type: str(b, 'type'),
      passive: bit(b, 'bits', 0), durable: bit(b, 'bits', 1), autoDelete: bit(b, 'bits', 2), internal: bit(b, 'bits', 3), nowait: bit(b, 'bits', 4),
      arguments: readTableBody(bin(b, 'args')),
    }),
  },
  {
    name: 'queue.declare',
    key: Method.QueueDeclare,
    args: fc.record({ ticket: short, queue: shortstr(), passive: bool, durable: bool, exclusive: bool, autoDelete: bool, nowait: bool, arguments: fieldTable() }),
    pattern: `ticket:16, ${sstr('q')}, bits:8, ${table('args')}`,
    read: (b) => ({
      ticket: num(b, 'ticket'), queue: str(b, 'q'),
      passive: bit(b, 'bits', 0), durable: bit(b, 'bits', 1), exclusive: bit(b, 'bits', 2), autoDelete: bit(b, 'bits', 3), nowait: bit(b, 'bits', 4),
      arguments: readTableBody(bin(b, 'args')),
    }),
  },
  {
    name: 'queue.declare-ok',
    key: Method.QueueDeclareOk,
    args: fc.record({ queue: shortstr(), messageCount: long, consumerCount: long }),
    pattern: `${sstr('q')}, mc:32, cc:32`,
    read: (b) => ({ queue: str(b, 'q'), messageCount: num(b, 'mc'), consumerCount: num(b, 'cc') }),
  },
  {
    name: 'basic.qos',
    key: Method.BasicQos,
    args: fc.record({ prefetchSize: long, prefetchCount: short, global: bool }),
    pattern: 'size:32, count:16, bits:8',
    read: (b) => ({ prefetchSize: num(b, 'size'), prefetchCount: num(b, 'count'), global: bit(b, 'bits', 0) }),
  },
  {
    name: 'basic.consume',
    key: Method.BasicConsume,
    args: fc.record({ ticket: short, queue: shortstr(), consumerTag: shortstr(), noLocal: bool, noAck: bool, exclusive: bool, nowait: bool, arguments: fieldTable() }),
    pattern: `ticket:16, ${sstr('q')}, ${sstr('tag')}, bits:8, ${table('args')}`,
    read: (b) => ({
      ticket: num(b, 'ticket'), queue: str(b, 'q'), consumerTag: str(b, 'tag'),
      noLocal: bit(b, 'bits', 0), noAck: bit(b, 'bits', 1), exclusive: bit(b, 'bits', 2), nowait: bit(b, 'bits', 3),
      arguments: readTableBody(bin(b, 'args')),
    }),
  },
  {
    name: 'basic.publish',
    key: Method.BasicPublish,
    args: fc.record({ ticket: short, exchange: shortstr(), routingKey: shortstr(), mandatory: bool, immediate: bool }),
    pattern: `ticket:16, ${sstr('ex')}, ${sstr('rk')}, bits:8`,
    read: (b) => ({ ticket: num(b, 'ticket'), exchange: str(b, 'ex'), routingKey: str(b, 'rk'), mandatory: bit(b, 'bits', 0), immediate: bit(b, 'bits', 1) }),
  },
  {
    name: 'basic.deliver',
    key: Method.BasicDeliver,
    args: fc.record({ consumerTag: shortstr(), deliveryTag: longlong, redelivered: bool, exchange: shortstr(), routingKey: shortstr() }),
    pattern: `${sstr('tag')}, hi:32, lo:32, bits:8, ${sstr('ex')}, ${sstr('rk')}`,
    read: (b) => ({ consumerTag: str(b, 'tag'), deliveryTag: Number(u64(b, 'hi', 'lo')), redelivered: bit(b, 'bits', 0), exchange: str(b, 'ex'), routingKey: str(b, 'rk') }),
  },
  {
    name: 'basic.get-ok',
    key: Method.BasicGetOk,
    args: fc.record({ deliveryTag: longlong, redelivered: bool, exchange: shortstr(), routingKey: shortstr(), messageCount: long }),
    pattern: `hi:32, lo:32, bits:8, ${sstr('ex')}, ${sstr('rk')}, mc:32`,
    read: (b) => ({ deliveryTag: Number(u64(b, 'hi', 'lo')), redelivered: bit(b, 'bits', 0), exchange: str(b, 'ex'), routingKey: str(b, 'rk'), messageCount: num(b, 'mc') }),
  },
  {
    name: 'basic.ack',
    key: Method.BasicAck,
    args: fc.record({ deliveryTag: longlong, multiple: bool }),
    pattern: 'hi:32, lo:32, bits:8',
    read: (b) => ({ deliveryTag: Number(u64(b, 'hi', 'lo')), multiple: bit(b, 'bits', 0) }),
  },
  {
    name: 'basic.nack',
    key: Method.BasicNack,
    args: fc.record({ deliveryTag: longlong, multiple: bool, requeue: bool }),
    pattern: 'hi:32, lo:32, bits:8',
    read: (b) => ({ deliveryTag: Number(u64(b, 'hi', 'lo')), multiple: bit(b, 'bits', 0), requeue: bit(b, 'bits', 1) }),
  },
  {
    name: 'confirm.select',
    key: Method.ConfirmSelect,
    args: fc.record({ nowait: bool }),
    pattern: 'bits:8',
    read: (b) => ({ nowait: bit(b, 'bits', 0) }),
  },
];

describe('method frames read with bitsyntax', () => {
  it.each(CASES.map((c) => [c.name, c] as const))('%s: every field as encoded', (_name, c) => {
    fc.assert(
      fc.property(c.args, fc.integer({ min: 0, max: 0xffff }), (args, channel) => {
        const frame = warrenFrame((w) => encodeMethod(w, channel, { id: c.key, ...args } as AnyMethod));
        const f = readFrame(frame);
        expect(f.type).toBe(FRAME_METHOD);
        expect(f.channel).toBe(channel);
        const head = match('cls:16, mth:16, args/binary', f.payload);
        expect((num(head, 'cls') << 16) | num(head, 'mth')).toBe(c.key);
        const b = match(`${c.pattern}, rest/binary`, bin(head, 'args'));
        expect(bin(b, 'rest').length).toBe(0);
        // Bits beyond the method's own are zero.
        if ('bits' in b) {
          const used = Object.values(args).filter((v) => typeof v === 'boolean').length;
          expect(num(b, 'bits') >> used).toBe(0);
        }
        expect(toJson(c.read(b))).toEqual(toJson(args));
      }),
      { numRuns: 150 },
    );
  });
});

describe('content frames read with bitsyntax', () => {
  const ORDER = Object.entries(BasicPropertyFlag) as [keyof BasicProperties, number][];
  const TYPE: Record<keyof BasicProperties, 'shortstr' | 'table' | 'octet' | 'timestamp'> = {
    contentType: 'shortstr', contentEncoding: 'shortstr', headers: 'table', deliveryMode: 'octet', priority: 'octet',
    correlationId: 'shortstr', replyTo: 'shortstr', expiration: 'shortstr', messageId: 'shortstr', timestamp: 'timestamp',
    type: 'shortstr', userId: 'shortstr', appId: 'shortstr', clusterId: 'shortstr',
  };

  it('a content header: class, weight, body size, flags and every property present', () => {
    fc.assert(
      fc.property(basicProperties(), fc.bigInt(0n, 2n ** 63n), fc.integer({ min: 1, max: 0xffff }), (p, bodySize, channel) => {
        const frame = warrenFrame((w) => {
          const start = w.frameStart(FRAME_HEADER, channel);
          w.short(60);
          w.short(0);
          w.longlong(bodySize);
          encodeBasicProperties(w, p);
          w.frameEnd(start);
        });
        const f = readFrame(frame);
        expect(f.type).toBe(FRAME_HEADER);
        expect(f.channel).toBe(channel);
        const h = match('60:16, 0:16, hi:32, lo:32, flags:16, props/binary', f.payload);
        expect(u64(h, 'hi', 'lo')).toBe(bodySize);
        const flags = num(h, 'flags');
        let rest = bin(h, 'props');
        const read: Record<string, unknown> = {};
        for (const [name, flag] of ORDER) {
          expect((flags & flag) !== 0).toBe(p[name] !== undefined);
          if ((flags & flag) === 0) continue;
          let b: Bindings;
          switch (TYPE[name]) {
            case 'shortstr':
              b = match('n:8, v:n/binary, rest/binary', rest);
              read[name] = str(b, 'v');
              break;
            case 'octet':
              b = match('v:8, rest/binary', rest);
              read[name] = num(b, 'v');
              break;
            case 'timestamp':
              b = match('hi:32, lo:32, rest/binary', rest);
              read[name] = narrow(u64(b, 'hi', 'lo'));
              break;
            case 'table':
              b = match('n:32, v:n/binary, rest/binary', rest);
              read[name] = readTableBody(bin(b, 'v'));
              break;
          }
          rest = bin(b, 'rest');
        }
        expect(flags & 0x3).toBe(0);
        expect(rest.length).toBe(0);
        expect(toJson(read)).toEqual(toJson(p));
      }),
      { numRuns: 300 },
    );
  });

  it('body frames: a body split at frame_max comes back whole, each frame within the limit', () => {
    fc.assert(
      fc.property(bytes(20_000), fc.integer({ min: 9, max: 5000 }), fc.integer({ min: 1, max: 0xffff }), (body, frameMax, channel) => {
        const room = frameMax - 8;
        const stream = warrenFrame((w) => {
          for (let at = 0; at < body.length; at += room) {
            const start = w.frameStart(FRAME_BODY, channel);
            w.raw(body, at, Math.min(body.length, at + room));
            w.frameEnd(start);
          }
        });
        const pieces: Buffer[] = [];
        let rest = stream;
        while (rest.length > 0) {
          const b = match('3:8, ch:16, size:32, payload:size/binary, 206:8, rest/binary', rest);
          expect(num(b, 'ch')).toBe(channel);
          expect(num(b, 'size')).toBeLessThanOrEqual(room);
          pieces.push(bin(b, 'payload'));
          rest = bin(b, 'rest');
        }
        expect(pieces.length).toBe(Math.ceil(body.length / room));
        expect(Buffer.concat(pieces).equals(body)).toBe(true);
      }),
      { numRuns: 100 },
    );
  });

  it('a heartbeat frame is type 8 on channel 0 with an empty payload', () => {
    const frame = warrenFrame((w) => w.frameEnd(w.frameStart(8, 0)));
    expect(match('8:8, 0:16, 0:32, 206:8', frame)).toEqual({});
  });
});
