/**
 * RabbitMQ's credit extension of basic (spec/credit_extension.json): basic.credit (60,200),
 * basic.credit-ok (60,201) and basic.credit-drained (60,202), encoded and decoded as RabbitMQ 3.10.8's
 * framing does (bytes written out by hand from their fields; amqplib, whose encoder provides the
 * other golden vectors, does not know these methods).
 */
import { describe, expect, it } from 'vitest';
import { Reader, Writer } from '../../src/protocol/codec-primitives.js';
import { METHOD_INFO, Method, decodeMethod, encodeMethod, type AnyMethod } from '../../src/protocol/generated/methods.js';

const cases: { m: AnyMethod; payload: number[] }[] = [
  // consumer-tag "ctag", credit 5, drain true
  { m: { id: Method.BasicCredit, consumerTag: 'ctag', credit: 5, drain: true }, payload: [0, 60, 0, 200, 4, 0x63, 0x74, 0x61, 0x67, 0, 0, 0, 5, 1] },
  { m: { id: Method.BasicCreditOk, available: 7 }, payload: [0, 60, 0, 201, 0, 0, 0, 7] },
  { m: { id: Method.BasicCreditDrained, consumerTag: 'c', creditDrained: 258 }, payload: [0, 60, 0, 202, 1, 0x63, 0, 0, 1, 2] },
];

describe('the credit extension', () => {
  it('encodes each method as RabbitMQ frames it', () => {
    for (const { m, payload } of cases) {
      const w = new Writer();
      encodeMethod(w, 1, m);
      const frame = Buffer.from(w.bytes());
      expect([...frame.subarray(7, frame.length - 1)], METHOD_INFO.get(m.id)!.name).toEqual(payload);
    }
  });

  it('decodes the same bytes back', () => {
    for (const { m, payload } of cases) {
      const b = Buffer.from(payload);
      expect(decodeMethod(b.readUInt32BE(0), new Reader(b, 4, b.length))).toEqual(m);
    }
  });

  it('marks which peer sends each: the server receives only basic.credit', () => {
    expect(METHOD_INFO.get(Method.BasicCredit)!.serverReceives).toBe(true);
    expect(METHOD_INFO.get(Method.BasicCreditOk)!.serverReceives).toBe(false);
    expect(METHOD_INFO.get(Method.BasicCreditDrained)!.serverReceives).toBe(false);
  });
});
