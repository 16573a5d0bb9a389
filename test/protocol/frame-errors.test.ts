/**
 * Malformed and out-of-order frames: each closes with the code and text RabbitMQ 3.10.8 gives for it
 * (observed with this same raw client against RabbitMQ), and other connections carry on.
 */
import { describe, expect, it } from 'vitest';
import { Writer } from '../../src/protocol/codec-primitives.js';
import * as M from '../../src/protocol/generated/methods.js';
import { RawClient } from '../helpers/raw-client.js';
import { withBroker } from '../helpers/broker.js';

const fx = withBroker();

const enc = (f: (w: Writer) => void) => {
  const w = new Writer();
  f(w);
  return Buffer.from(w.bytes());
};

type Expect = { code: number; text: string; classId: number; methodId: number; on?: 'connection' | 'channel' } | 'socket-closed';

interface Case {
  name: string;
  frameMax?: number;
  run: (c: RawClient) => void | Promise<void>;
  expect: Expect;
}

const publish = (c: RawClient, routingKey = 'x') => c.sendEncoded((w) => M.encodeBasicPublish(w, 1, { routingKey }));

const cases: Case[] = [
  {
    name: 'a frame larger than the negotiated frame_max',
    frameMax: 4096,
    run: (c) => c.sendFrame(3, 1, Buffer.alloc(5000)),
    expect: { code: 501, text: 'FRAME_ERROR - type 3, all octets = <<>>: {frame_too_large,5000,4088}', classId: 0, methodId: 0 },
  },
  {
    name: 'a frame one byte over frame_max',
    frameMax: 4096,
    run: (c) => c.sendFrame(3, 1, Buffer.alloc(4097)),
    expect: { code: 501, text: 'FRAME_ERROR - type 3, all octets = <<>>: {frame_too_large,4097,4088}', classId: 0, methodId: 0 },
  },
  {
    name: 'a wrong frame-end octet',
    run: (c) => c.sendFrame(1, 1, enc((w) => { w.short(60); w.short(10); w.long(0); w.short(1); w.octet(0); }), 0),
    expect: { code: 501, text: 'FRAME_ERROR - type 1, all octets = <<0,60,0,10,0,0,0,0,0,1,0>>: {invalid_frame_end_marker,0}', classId: 0, methodId: 0 },
  },
  {
    name: 'an unknown frame type on a channel',
    run: (c) => c.sendFrame(9, 1, Buffer.alloc(0)),
    expect: { code: 501, text: 'FRAME_ERROR - type 9, all octets = <<>>: unknown_frame', classId: 0, methodId: 0 },
  },
  {
    name: 'an unknown frame type on channel 0',
    run: (c) => c.sendFrame(9, 0, Buffer.alloc(0)),
    expect: { code: 501, text: 'FRAME_ERROR - type 9, all octets = <<>>: unknown_frame', classId: 0, methodId: 0 },
  },
  {
    name: 'a heartbeat on a channel other than 0',
    run: (c) => c.sendFrame(8, 1, Buffer.alloc(0)),
    expect: { code: 505, text: 'UNEXPECTED_FRAME - type 8, all octets = <<>>', classId: 0, methodId: 0 },
  },
  {
    name: 'a heartbeat with a payload',
    run: (c) => c.sendFrame(8, 0, Buffer.from([1, 2])),
    expect: { code: 501, text: 'FRAME_ERROR - type 8, all octets = <<1,2>>: unknown_frame', classId: 0, methodId: 0 },
  },
  {
    name: 'a body frame without a header',
    run: (c) => c.sendBody(1, Buffer.from('x')),
    expect: { code: 505, text: 'UNEXPECTED_FRAME - expected method frame, got non method frame instead', classId: 0, methodId: 0 },
  },
  {
    name: 'a content header without a method',
    run: (c) => c.sendHeader(1, 1),
    expect: { code: 505, text: 'UNEXPECTED_FRAME - expected method frame, got non method frame instead', classId: 0, methodId: 0 },
  },
  {
    name: 'a content header on channel 0',
    run: (c) => c.sendHeader(0, 1),
    expect: { code: 505, text: 'UNEXPECTED_FRAME - type 2, all octets = <<0,60,0,0,0,0,0,0,0,0,0,1,0,0>>', classId: 0, methodId: 0 },
  },
  {
    name: 'a content header whose class does not match',
    run: (c) => { publish(c); c.sendHeader(1, 1, {}, 50); },
    expect: { code: 505, text: 'UNEXPECTED_FRAME - expected content header for class 60, got one for class 50 instead', classId: 60, methodId: 40 },
  },
  {
    name: 'a content header with a non-zero weight',
    run: (c) => { publish(c); c.sendHeader(1, 1, {}, 60, 1); },
    expect: { code: 505, text: 'UNEXPECTED_FRAME - expected content header for class 60, got non content header frame instead', classId: 60, methodId: 40 },
  },
  {
    name: 'a method where body frames were expected',
    run: (c) => { publish(c); c.sendHeader(1, 5); c.sendEncoded((w) => M.encodeBasicQos(w, 1, { prefetchCount: 1 })); },
    expect: { code: 505, text: 'UNEXPECTED_FRAME - expected content body, got non content body frame instead', classId: 60, methodId: 40 },
  },
  {
    name: 'more body than the header announced, then a method',
    run: (c) => { publish(c); c.sendHeader(1, 2); c.sendBody(1, Buffer.from('abcd')); c.sendEncoded((w) => M.encodeBasicQos(w, 1, { prefetchCount: 1 })); },
    expect: { code: 505, text: 'UNEXPECTED_FRAME - expected content body, got non content body frame instead', classId: 60, methodId: 40 },
  },
  {
    name: 'a method frame too short to hold its ids',
    run: (c) => c.sendFrame(1, 1, Buffer.from([0, 60])),
    expect: { code: 501, text: 'FRAME_ERROR - type 1, all octets = <<0,60>>: unknown_frame', classId: 0, methodId: 0 },
  },
  {
    name: 'truncated method arguments',
    run: (c) => c.sendFrame(1, 1, enc((w) => { w.short(60); w.short(10); w.long(0); })),
    expect: { code: 501, text: 'FRAME_ERROR - cannot decode <<0,0,0,0>>', classId: 60, methodId: 10 },
  },
  {
    name: 'trailing bytes after method arguments',
    run: (c) => c.sendFrame(1, 1, enc((w) => { w.short(60); w.short(10); w.long(0); w.short(1); w.octet(0); w.octet(9); })),
    expect: { code: 501, text: 'FRAME_ERROR - cannot decode <<0,0,0,0,0,1,0,9>>', classId: 60, methodId: 10 },
  },
  {
    name: 'an unknown method id (RabbitMQ drops the socket)',
    run: (c) => c.sendFrame(1, 1, enc((w) => { w.short(60); w.short(999); })),
    expect: 'socket-closed',
  },
  {
    name: 'an unknown class id (RabbitMQ drops the socket)',
    run: (c) => c.sendFrame(1, 1, enc((w) => { w.short(77); w.short(10); })),
    expect: 'socket-closed',
  },
  {
    name: 'an unparseable field table in method arguments (RabbitMQ drops the socket)',
    run: (c) => c.sendFrame(1, 1, enc((w) => { w.short(50); w.short(10); w.short(0); w.shortstr('q'); w.octet(0); w.long(3); w.octet(1); w.octet(0x61); w.octet(0x5a); })),
    expect: 'socket-closed',
  },
  {
    name: 'malformed content properties',
    run: (c) => { publish(c); c.sendFrame(2, 1, enc((w) => { w.short(60); w.short(0); w.longlong(0); w.short(0x8000); w.octet(10); })); },
    expect: { code: 541, text: 'INTERNAL_ERROR', classId: 0, methodId: 0 },
  },
  {
    name: 'trailing bytes after content properties',
    run: (c) => { publish(c); c.sendFrame(2, 1, enc((w) => { w.short(60); w.short(0); w.longlong(0); w.short(0); w.octet(10); })); },
    expect: { code: 541, text: 'INTERNAL_ERROR', classId: 0, methodId: 0 },
  },
  {
    name: 'a server-only method sent by the client',
    run: (c) => c.sendEncoded((w) => M.encodeBasicConsumeOk(w, 1, { consumerTag: 'x' })),
    expect: { code: 503, text: 'COMMAND_INVALID - unimplemented method', classId: 60, methodId: 21 },
  },
  {
    name: 'a channel method on channel 0',
    run: (c) => c.sendEncoded((w) => M.encodeChannelOpen(w, 0, {})),
    expect: { code: 504, text: "CHANNEL_ERROR - unexpected method in connection state running", classId: 20, methodId: 10 },
  },
  {
    name: 'connection.start-ok after the handshake',
    run: (c) => c.sendEncoded((w) => M.encodeConnectionStartOk(w, 0, { clientProperties: new Map(), mechanism: 'PLAIN', response: Buffer.from('\0guest\0guest'), locale: 'en_US' })),
    expect: { code: 504, text: 'CHANNEL_ERROR - unexpected method in connection state running', classId: 10, methodId: 11 },
  },
  {
    name: 'basic.publish with immediate=true',
    run: (c) => { c.sendEncoded((w) => M.encodeBasicPublish(w, 1, { routingKey: 'x', immediate: true })); c.sendHeader(1, 0); },
    expect: { code: 540, text: 'NOT_IMPLEMENTED - immediate=true', classId: 60, methodId: 40 },
  },
  {
    name: 'basic.qos with a prefetch size',
    run: (c) => c.sendEncoded((w) => M.encodeBasicQos(w, 1, { prefetchSize: 10 })),
    expect: { code: 540, text: 'NOT_IMPLEMENTED - prefetch_size!=0 (10)', classId: 60, methodId: 10 },
  },
  {
    name: 'channel.flow active=false',
    run: (c) => c.sendEncoded((w) => M.encodeChannelFlow(w, 1, { active: false })),
    expect: { code: 540, text: 'NOT_IMPLEMENTED - active=false', classId: 20, methodId: 20 },
  },
  {
    name: 'basic.recover with requeue=false',
    run: (c) => c.sendEncoded((w) => M.encodeBasicRecover(w, 1, { requeue: false })),
    expect: { code: 540, text: 'NOT_IMPLEMENTED - requeue=false', classId: 60, methodId: 110 },
  },
  {
    name: 'an ack for an unknown delivery tag (soft error: channel closed)',
    run: (c) => c.sendEncoded((w) => M.encodeBasicAck(w, 1, { deliveryTag: 5 })),
    expect: { code: 406, text: 'PRECONDITION_FAILED - unknown delivery tag 5', classId: 60, methodId: 80, on: 'channel' },
  },
  {
    name: 'a publish to a missing exchange (soft error)',
    run: (c) => { c.sendEncoded((w) => M.encodeBasicPublish(w, 1, { exchange: 'nope', routingKey: 'x' })); c.sendHeader(1, 0); },
    expect: { code: 404, text: "NOT_FOUND - no exchange 'nope' in vhost '/'", classId: 60, methodId: 40, on: 'channel' },
  },
  {
    name: 'a consume on a missing queue (soft error)',
    run: (c) => c.sendEncoded((w) => M.encodeBasicConsume(w, 1, { queue: 'nope-q' })),
    expect: { code: 404, text: "NOT_FOUND - no queue 'nope-q' in vhost '/'", classId: 60, methodId: 20, on: 'channel' },
  },
  {
    name: 'a consume naming no queue before any declare',
    run: (c) => c.sendEncoded((w) => M.encodeBasicConsume(w, 1, { queue: '' })),
    expect: { code: 404, text: 'NOT_FOUND - no previously declared queue', classId: 60, methodId: 20, on: 'channel' },
  },
  {
    name: 'a reply text longer than 255 bytes is cut as RabbitMQ cuts it',
    run: (c) => c.sendEncoded((w) => M.encodeQueueDeclare(w, 1, { queue: 'a'.repeat(255), passive: true })),
    expect: { code: 404, text: `NOT_FOUND - no queue '${'a'.repeat(255)}' in vhost '/'`.slice(0, 252) + '...', classId: 50, methodId: 10, on: 'channel' },
  },
];

describe('malformed and unexpected frames', () => {
  it.each(cases)('$name', async ({ run, expect: want, frameMax }) => {
    const c = await RawClient.connect(fx.broker.port);
    await c.handshake(frameMax === undefined ? {} : { frameMax });
    await c.openChannel(1);
    await run(c);
    if (want === 'socket-closed') {
      expect(await c.waitClosed()).toBe(true);
      expect(c.closeMethod()).toBeUndefined();
    } else {
      const close = await c.waitForClose();
      expect(close).toEqual({
        name: want.on === 'channel' ? 'channel.close' : 'connection.close',
        channel: want.on === 'channel' ? 1 : 0,
        replyCode: want.code,
        replyText: want.text,
        classId: want.classId,
        methodId: want.methodId,
      });
    }
    c.destroy();
  });

  it('keeps serving other connections while one misbehaves', async () => {
    const ch = await fx.channel();
    const q = await ch.assertQueue('', { exclusive: true });
    const bad = await RawClient.connect(fx.broker.port);
    await bad.handshake();
    bad.send(Buffer.from([1, 0, 1, 0xff, 0xff, 0xff, 0xff])); // announces a 4 GiB frame
    expect((await bad.waitForClose())?.replyCode).toBe(501);
    ch.sendToQueue(q.queue, Buffer.from('still here'));
    const got = await new Promise<string>((resolve) => ch.consume(q.queue, (m) => resolve(m!.content.toString()), { noAck: true }));
    expect(got).toBe('still here');
  });

  it('refuses a body over the maximum message size with 406 and reads the rest of it', async () => {
    const small = await (async () => {
      const { startBroker } = await import('../../src/index.js');
      return startBroker({ port: 0, logLevel: 'silent', maxMessageSize: 1000, rabbitmqVersion: '3.10' });
    })();
    try {
      const c = await RawClient.connect(small.port);
      await c.handshake();
      await c.openChannel(1);
      publish(c);
      c.sendHeader(1, 1001);
      c.sendBody(1, Buffer.alloc(1001));
      const close = await c.waitForClose();
      expect(close).toEqual({
        name: 'channel.close',
        channel: 1,
        replyCode: 406,
        replyText: 'PRECONDITION_FAILED - message size 1001 is larger than configured max size 1000',
        classId: 60,
        methodId: 40,
      });
      c.destroy();
    } finally {
      await small.close();
    }
  });
});
