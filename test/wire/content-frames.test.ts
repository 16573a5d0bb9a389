/**
 * The fused basic.deliver writer must produce exactly the bytes of the generated method encoder
 * followed by the content header and body frames written field by field.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Writer } from '../../src/protocol/codec-primitives.js';
import { encodeBasicDeliver } from '../../src/protocol/generated/methods.js';
import { encodeBasicProperties } from '../../src/protocol/generated/properties.js';
import { RouteBytesCache, encodeShortstr, writeDeliveryFrames } from '../../src/wire/content-frames.js';
import { basicProperties, bytes, shortstr } from '../helpers/arbitraries.js';

function expected(ch: number, tag: string, dtag: number, redelivered: boolean, ex: string, rk: string, props: Buffer, body: Buffer, withBody: boolean): Buffer {
  const w = new Writer(16);
  encodeBasicDeliver(w, ch, { consumerTag: tag, deliveryTag: dtag, redelivered, exchange: ex, routingKey: rk });
  let s = w.frameStart(2, ch);
  w.short(60);
  w.short(0);
  w.longlong(body.length);
  w.raw(props);
  w.frameEnd(s);
  if (withBody && body.length > 0) {
    s = w.frameStart(3, ch);
    w.raw(body);
    w.frameEnd(s);
  }
  return Buffer.from(w.bytes());
}

describe('writeDeliveryFrames', () => {
  it('writes the same bytes as the generated encoders', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 65535 }),
        shortstr(),
        fc.maxSafeNat(),
        fc.boolean(),
        shortstr(),
        shortstr(),
        basicProperties(),
        bytes(600),
        fc.integer({ min: 0, max: 700 }),
        (ch, tag, dtag, redelivered, ex, rk, p, body, inlineMax) => {
          const pw = new Writer(8);
          encodeBasicProperties(pw, p);
          const props = Buffer.from(pw.bytes());
          const w = new Writer(4); // starts too small: the writer must grow once for all frames
          w.octet(0x55); // something already in the buffer stays in front
          const cache = new RouteBytesCache();
          const inline = body.length <= inlineMax ? body : undefined;
          writeDeliveryFrames(w, ch, encodeShortstr(tag), dtag, redelivered, cache.get(ex, rk), props, body.length, inline);
          const want = Buffer.concat([Buffer.from([0x55]), expected(ch, tag, dtag, redelivered, ex, rk, props, body, inline !== undefined)]);
          expect(Buffer.from(w.bytes()).equals(want)).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('re-encodes the route when either part changes', () => {
    const cache = new RouteBytesCache();
    const a = cache.get('x', 'k1');
    expect(cache.get('x', 'k1')).toBe(a);
    expect([...cache.get('x', 'k2')]).toEqual([1, 0x78, 2, 0x6b, 0x32]);
    expect([...cache.get('', 'k2')]).toEqual([0, 2, 0x6b, 0x32]);
    expect([...cache.get('é', '')]).toEqual([2, 0xc3, 0xa9, 0]);
  });
});
