/**
 * The stream parser (src/wire/frame-parser.ts): however the socket happens to chunk a byte stream,
 * the same frames come out, in order, with the same bytes; frames that lose sync with the peer stop
 * the parser with RabbitMQ's explanation text, and nothing is delivered after that.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Writer } from '../../src/protocol/codec-primitives.js';
import { fv, table } from '../../src/protocol/field-table.js';
import { FRAME_BODY, FRAME_HEADER, FRAME_HEARTBEAT, FRAME_METHOD } from '../../src/protocol/generated/constants.js';
import {
  encodeBasicAck,
  encodeBasicPublish,
  encodeChannelOpen,
  encodeQueueDeclare,
} from '../../src/protocol/generated/methods.js';
import { encodeBasicProperties } from '../../src/protocol/generated/properties.js';
import { FrameParser, erlangBinary, snippet, type FrameHandler } from '../../src/wire/frame-parser.js';

interface Seen {
  type: number;
  channel: number;
  /** The payload view as handed over (checked again at the end: views must stay valid). */
  view: Buffer;
  /** A copy taken at delivery. */
  hex: string;
}

class Recorder implements FrameHandler {
  frames: Seen[] = [];
  fatal: string[] = [];
  onFrameHook: ((n: number) => void) | undefined;
  onFrame(type: number, channel: number, payload: Buffer, start: number, end: number): void {
    const view = payload.subarray(start, end);
    this.frames.push({ type, channel, view, hex: view.toString('hex') });
    this.onFrameHook?.(this.frames.length);
  }
  onFatal(explanation: string): void {
    this.fatal.push(explanation);
  }
}

function frame(type: number, channel: number, payload: Buffer, frameEnd = 0xce): Buffer {
  const b = Buffer.alloc(payload.length + 8);
  b[0] = type;
  b.writeUInt16BE(channel, 1);
  b.writeUInt32BE(payload.length, 3);
  payload.copy(b, 7);
  b[b.length - 1] = frameEnd;
  return b;
}

/** A patterned body, so that a misplaced byte is noticed. */
function body(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed * 7 + (i >> 8)) & 0xff;
  return b;
}

/** A publish as a client sends it: method, content header, body split into frames of `frameMax`. */
function publish(w: Writer, channel: number, payload: Buffer, frameMax: number): void {
  encodeBasicPublish(w, channel, { exchange: 'amq.direct', routingKey: `rk.${payload.length}`, mandatory: true });
  const h = w.frameStart(FRAME_HEADER, channel);
  w.short(60);
  w.short(0);
  w.longlong(payload.length);
  encodeBasicProperties(w, { contentType: 'application/octet-stream', deliveryMode: 2, headers: table([['n', fv.int(payload.length)]]) });
  w.frameEnd(h);
  for (let at = 0; at < payload.length; at += frameMax - 8) {
    const b = w.frameStart(FRAME_BODY, channel);
    w.raw(payload, at, Math.min(payload.length, at + frameMax - 8));
    w.frameEnd(b);
  }
}

function heartbeat(w: Writer): void {
  w.frameEnd(w.frameStart(FRAME_HEARTBEAT, 0));
}

/** A small stream: a few methods, a heartbeat, publishes with empty, tiny and small bodies. */
function smallStream(): Buffer {
  const w = new Writer();
  encodeChannelOpen(w, 1, {});
  heartbeat(w);
  encodeQueueDeclare(w, 1, { queue: 'q', durable: true, arguments: table([['x-max-length', fv.long(10)]]) });
  publish(w, 1, Buffer.alloc(0), 4096);
  publish(w, 2, body(1, 1), 4096);
  publish(w, 65535, body(40, 2), 4096);
  encodeBasicAck(w, 1, { deliveryTag: 2 ** 40, multiple: true });
  return Buffer.from(w.bytes());
}

/** A larger stream: bodies around and beyond 64 KiB, single frames above 64 KiB and split ones. */
function largeStream(frameMax: number): Buffer {
  const w = new Writer();
  encodeChannelOpen(w, 3, {});
  for (const [i, n] of [0, 16, 4088, 4089, 65535, 65536, 65537, 200_000, 300_001].entries()) {
    publish(w, 3, body(n, i), frameMax);
    if (i % 3 === 0) heartbeat(w);
  }
  return Buffer.from(w.bytes());
}

/** The frames of a stream as parsed in one piece. */
function parseWhole(stream: Buffer, frameMax: number): Recorder {
  const r = new Recorder();
  new FrameParser(r, frameMax).feed(stream);
  return r;
}

function feedChunks(stream: Buffer, frameMax: number, sizes: readonly number[]): Recorder {
  const r = new Recorder();
  const p = new FrameParser(r, frameMax);
  let at = 0;
  for (let i = 0; at < stream.length; i++) {
    const n = sizes[i % sizes.length]!;
    // A fresh Buffer per chunk, as the socket gives: a view must not depend on its neighbours.
    p.feed(Buffer.from(stream.subarray(at, at + n)));
    at += n;
  }
  return r;
}

function summary(r: Recorder) {
  return { frames: r.frames.map((f) => `${f.type}/${f.channel}/${f.hex}`), fatal: r.fatal };
}

function expectSameFrames(actual: Recorder, expected: Recorder): void {
  expect(actual.fatal).toEqual([]);
  expect(actual.frames.length).toBe(expected.frames.length);
  // Compare in bulk first (fast), then prove the views still hold the bytes delivered.
  expect(summary(actual)).toEqual(summary(expected));
  for (const f of actual.frames) expect(f.view.toString('hex')).toBe(f.hex);
}

describe('the same frames however the stream is chunked', () => {
  const small = smallStream();
  const whole = parseWhole(small, 4096);

  it('the reference parse sees every frame of the small stream', () => {
    // channel.open, heartbeat, queue.declare, 3 x (publish + header + bodies), ack.
    const types = whole.frames.map((f) => f.type);
    expect(types).toEqual([1, 8, 1, 1, 2, 1, 2, 3, 1, 2, 3, 1]);
    expect(whole.frames.map((f) => f.channel)).toEqual([1, 0, 1, 1, 1, 2, 2, 2, 65535, 65535, 65535, 1]);
    expect(whole.fatal).toEqual([]);
  });

  it(`split in two at every byte boundary (${small.length - 1} splits)`, () => {
    for (let i = 1; i < small.length; i++) {
      expectSameFrames(feedChunks(small, 4096, [i, small.length]), whole);
    }
  });

  it('split in three at every pair of byte boundaries', () => {
    const head = small.subarray(0, 120);
    const ref = parseWhole(head, 4096);
    for (let i = 1; i < head.length; i++) {
      for (let j = i + 1; j < head.length; j++) {
        const r = new Recorder();
        const p = new FrameParser(r, 4096);
        p.feed(Buffer.from(head.subarray(0, i)));
        p.feed(Buffer.from(head.subarray(i, j)));
        p.feed(Buffer.from(head.subarray(j)));
        expect(summary(r)).toEqual(summary(ref));
      }
    }
  });

  it('byte by byte', () => {
    expectSameFrames(feedChunks(small, 4096, [1]), whole);
  });

  it('empty chunks in between change nothing', () => {
    const r = new Recorder();
    const p = new FrameParser(r, 4096);
    for (let i = 0; i < small.length; i++) {
      p.feed(Buffer.alloc(0));
      p.feed(small.subarray(i, i + 1));
    }
    expectSameFrames(r, whole);
  });

  const FRAME_MAX = 131072;
  const large = largeStream(FRAME_MAX);
  const largeWhole = parseWhole(large, FRAME_MAX);

  it('a large stream (bodies of 64 KiB and more, up to 300 KB across frames) byte by byte', () => {
    expect(largeWhole.fatal).toEqual([]);
    expect(Math.max(...largeWhole.frames.map((f) => f.view.length))).toBe(FRAME_MAX - 8);
    expectSameFrames(feedChunks(large, FRAME_MAX, [1]), largeWhole);
  });

  it('a large stream in random chunk sizes', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 150_000 }), { minLength: 1, maxLength: 20 }), (sizes) => {
        expectSameFrames(feedChunks(large, FRAME_MAX, sizes), largeWhole);
      }),
      { numRuns: 60 },
    );
  });

  it('a small stream in random small chunk sizes', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 30 }), (sizes) => {
        expectSameFrames(feedChunks(small, 4096, sizes), whole);
      }),
      { numRuns: 300 },
    );
  });

  it('suspended after content frames (a blocked connection) and resumed later: the same frames, in order', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 30 }),
        fc.array(fc.boolean(), { minLength: 1, maxLength: 10 }),
        (sizes, resumeBeforeFeed) => {
          const r = new Recorder();
          const p = new FrameParser(r, 4096);
          // Suspend after every header and body frame, as a connection blocked by an alarm does.
          r.onFrameHook = (n) => {
            const t = r.frames[n - 1]!.type;
            if (t === FRAME_HEADER || t === FRAME_BODY) p.suspend();
          };
          let at = 0;
          for (let i = 0; at < small.length; i++) {
            // Sometimes resume before the next chunk, sometimes let input pile up while suspended.
            if (resumeBeforeFeed[i % resumeBeforeFeed.length]) while (p.isSuspended) p.resume();
            const n = sizes[i % sizes.length]!;
            p.feed(Buffer.from(small.subarray(at, at + n)));
            at += n;
          }
          while (p.isSuspended) p.resume();
          expectSameFrames(r, whole);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('a suspended parser delivers nothing until resumed', () => {
    const r = new Recorder();
    const p = new FrameParser(r, 4096);
    r.onFrameHook = (n) => {
      if (r.frames[n - 1]!.type === FRAME_HEADER) p.suspend();
    };
    p.feed(small);
    const upToHeader = whole.frames.findIndex((f) => f.type === FRAME_HEADER) + 1;
    expect(r.frames.length).toBe(upToHeader);
    p.feed(Buffer.from(small.subarray(0, 20)));
    expect(r.frames.length).toBe(upToHeader);
    r.onFrameHook = undefined;
    p.resume();
    expect(p.isSuspended).toBe(false);
    expect(r.frames.length).toBeGreaterThan(whole.frames.length);
    expect(summary(r).frames.slice(0, whole.frames.length)).toEqual(summary(whole).frames);
  });

  it('bodies reassembled from the body frames equal what was published', () => {
    const bodies: Buffer[] = [];
    let current: Buffer[] | undefined;
    for (const f of feedChunks(large, FRAME_MAX, [7919]).frames) {
      if (f.type === FRAME_HEADER) {
        if (current) bodies.push(Buffer.concat(current));
        current = [];
      } else if (f.type === FRAME_BODY) current!.push(f.view);
    }
    if (current) bodies.push(Buffer.concat(current));
    const sizes = [0, 16, 4088, 4089, 65535, 65536, 65537, 200_000, 300_001];
    expect(bodies.map((b) => b.length)).toEqual(sizes);
    bodies.forEach((b, i) => expect(b.equals(body(sizes[i]!, i))).toBe(true));
  });
});

describe('fatal errors', () => {
  const valid = frame(FRAME_METHOD, 1, Buffer.from([0, 60, 0, 10, 0, 0, 0, 0, 0, 0, 0]));

  /** Feeds `stream` in the given chunk sizes and checks: the valid frames before, then one fatal. */
  function expectFatal(stream: Buffer, frameMax: number, before: number, text: string): void {
    for (const sizes of [[stream.length], [1], [3, 5], [valid.length + 2]]) {
      const r = feedChunks(stream, frameMax, sizes);
      expect({ sizes, frames: r.frames.length, fatal: r.fatal }).toEqual({ sizes, frames: before, fatal: [text] });
    }
  }

  it("an oversized frame: RabbitMQ's frame_too_large text, in every chunking", () => {
    const header = Buffer.from([3, 0, 1, 0, 0, 0x13, 0x88]); // type 3, channel 1, size 5000
    const stream = Buffer.concat([valid, valid, header, Buffer.alloc(5001), valid]);
    expectFatal(stream, 4096, 2, 'type 3, all octets = <<>>: {frame_too_large,5000,4088}');
  });

  it('the limit is frame_max: a payload of frame_max octets passes, one more is too large', () => {
    const ok = feedChunks(frame(FRAME_BODY, 1, Buffer.alloc(4096)), 4096, [100]);
    expect(ok.fatal).toEqual([]);
    expect(ok.frames.length).toBe(1);
    expectFatal(frame(FRAME_BODY, 1, Buffer.alloc(4097)), 4096, 0, 'type 3, all octets = <<>>: {frame_too_large,4097,4088}');
  });

  it('the size is refused from the header alone, before the payload arrives', () => {
    const r = new Recorder();
    new FrameParser(r, 4096).feed(Buffer.from([3, 0, 1, 0xff, 0xff, 0xff, 0xff]));
    expect(r.fatal).toEqual(['type 3, all octets = <<>>: {frame_too_large,4294967295,4088}']);
  });

  it("a bad frame-end: RabbitMQ's invalid_frame_end_marker text with the payload snippet", () => {
    const payload = Buffer.from([0, 60, 0, 10, 0, 0, 0, 0, 0, 0, 0]);
    const stream = Buffer.concat([valid, frame(FRAME_METHOD, 1, payload, 0), valid, valid]);
    expectFatal(stream, 4096, 1, 'type 1, all octets = <<0,60,0,10,0,0,0,0,0,0,0>>: {invalid_frame_end_marker,0}');
  });

  it('a bad frame-end after a long payload shows its first 16 octets; text payloads print as text', () => {
    const long = frame(FRAME_BODY, 1, body(100, 0), 0x41);
    expectFatal(long, 4096, 0, `type 3, first 16 octets = ${erlangBinary(body(100, 0).subarray(0, 16))}: {invalid_frame_end_marker,65}`);
    expect(erlangBinary(body(100, 0).subarray(0, 3))).toBe('<<0,31,62>>');
    expectFatal(frame(FRAME_BODY, 1, Buffer.from('hello'), 0), 4096, 0, 'type 3, all octets = <<"hello">>: {invalid_frame_end_marker,0}');
  });

  it('nothing is delivered after a fatal error, whatever is fed later', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 8 }), fc.boolean(), (sizes, oversize) => {
        const bad = oversize ? Buffer.from([1, 0, 0, 0, 1, 0, 0]) : frame(FRAME_METHOD, 0, Buffer.from([0, 10, 0, 11]), 0xcd);
        const r = new Recorder();
        const p = new FrameParser(r, 4096);
        const stream = Buffer.concat([valid, bad, valid, smallStream()]);
        let at = 0;
        for (let i = 0; at < stream.length; i++) {
          p.feed(stream.subarray(at, at + sizes[i % sizes.length]!));
          at += sizes[i % sizes.length]!;
        }
        expect(r.frames.length).toBe(1);
        expect(r.fatal.length).toBe(1);
        expect(p.isStopped).toBe(true);
        // More input later, including a partial frame: still nothing.
        p.feed(smallStream());
        p.feed(valid.subarray(0, 3));
        p.feed(valid.subarray(3));
        expect(r.frames.length).toBe(1);
        expect(r.fatal.length).toBe(1);
      }),
      { numRuns: 200 },
    );
  });

  it('stop() from inside onFrame ends delivery, in a whole chunk and in a reassembled frame', () => {
    const stream = smallStream();
    for (const sizes of [[stream.length], [1], [13]]) {
      const r = new Recorder();
      const p = new FrameParser(r, 4096);
      r.onFrameHook = (n) => {
        if (n === 3) p.stop();
      };
      let at = 0;
      for (let i = 0; at < stream.length; i++) {
        const n = sizes[i % sizes.length]!;
        p.feed(stream.subarray(at, at + n));
        at += n;
      }
      expect({ sizes, frames: r.frames.length, stopped: p.isStopped }).toEqual({ sizes, frames: 3, stopped: true });
    }
  });
});

describe('snippet', () => {
  it("renders payloads as Erlang's ~p does", () => {
    expect(snippet(Buffer.alloc(0), 0, 0)).toBe('all octets = <<>>');
    expect(snippet(Buffer.from('hello'), 0, 5)).toBe('all octets = <<"hello">>');
    expect(snippet(Buffer.from('say "hi"\n'), 0, 9)).toBe('all octets = <<"say \\"hi\\"\\n">>');
    expect(snippet(Buffer.from([1, 2, 255]), 0, 3)).toBe('all octets = <<1,2,255>>');
    expect(snippet(Buffer.alloc(17, 0x61), 0, 17)).toBe('first 16 octets = <<"aaaaaaaaaaaaaaaa">>');
  });

  it('treats Latin-1 160..255 and \\v \\e \\b \\f as printable, as RabbitMQ 3.10.8 does', () => {
    // Observed: a body frame with a bad frame-end and payload <<65,233>> is reported by RabbitMQ
    // 3.10.8 as `all octets = <<"A\u00e9">>` (the reply text carrying the Latin-1 byte 0xE9), and
    // <<65,11,27,8,12>> as `<<"A\\v\\e\\b\\f">>`: Erlang's ~p prints a binary as a string when every
    // byte is in its Latin-1 printable set.
    expect(erlangBinary(Buffer.from([0x41, 0xe9]))).toBe('<<"A\u00e9">>');
    expect(erlangBinary(Buffer.from([0x41, 0xa0, 0xff]))).toBe('<<"A\u00a0\u00ff">>');
    expect(erlangBinary(Buffer.from([0x41, 0x0b, 0x1b, 0x08, 0x0c]))).toBe('<<"A\\v\\e\\b\\f">>');
    // Still numbers: DEL, C1 controls, other control characters.
    expect(erlangBinary(Buffer.from([0x41, 0x7f]))).toBe('<<65,127>>');
    expect(erlangBinary(Buffer.from([0x41, 0x85]))).toBe('<<65,133>>');
    expect(erlangBinary(Buffer.from([0x41, 0x01]))).toBe('<<65,1>>');
  });
});

describe('large body frames split across chunks (onSplitBody)', () => {
  class SplitRecorder extends Recorder {
    split: { channel: number; pieces: readonly Buffer[]; size: number; hex: string }[] = [];
    onSplitBody(channel: number, pieces: readonly Buffer[], size: number): void {
      this.split.push({ channel, pieces, size, hex: Buffer.concat(pieces).toString('hex') });
    }
  }

  function bodyFrame(channel: number, payload: Buffer, end = 0xce): Buffer {
    const f = Buffer.alloc(8 + payload.length);
    f[0] = FRAME_BODY;
    f.writeUInt16BE(channel, 1);
    f.writeUInt32BE(payload.length, 3);
    payload.copy(f, 7);
    f[7 + payload.length] = end;
    return f;
  }

  const heartbeat = Buffer.from([FRAME_HEARTBEAT, 0, 0, 0, 0, 0, 0, 0xce]);

  it('passes views of the chunks, whatever the cuts, and parses on after the frame-end', () => {
    fc.assert(
      fc.property(fc.integer({ min: 16 * 1024, max: 100_000 }), fc.array(fc.integer({ min: 1, max: 200_000 }), { minLength: 1, maxLength: 6 }), (size, cuts) => {
        const payload = Buffer.alloc(size);
        for (let i = 0; i < size; i++) payload[i] = (i * 31) & 0xff;
        const stream = Buffer.concat([bodyFrame(5, payload), heartbeat]);
        const points = [...new Set(cuts.map((c) => c % stream.length))].filter((c) => c > 0).sort((a, b) => a - b);
        const chunks: Buffer[] = [];
        let at = 0;
        for (const p of [...points, stream.length]) {
          chunks.push(Buffer.from(stream.subarray(at, p)));
          at = p;
        }
        const rec = new SplitRecorder();
        const parser = new FrameParser(rec, 131072);
        for (const c of chunks) parser.feed(c);
        const whole = chunks.length > 1 && points[0]! < 8 + size; // the body frame did span chunks
        if (whole && points[0]! >= 7) {
          expect(rec.split).toHaveLength(1);
          expect(rec.split[0]!.channel).toBe(5);
          expect(rec.split[0]!.size).toBe(size);
          expect(rec.split[0]!.hex).toBe(payload.toString('hex'));
          // Views, not copies: every piece lies in one of the chunks fed.
          for (const p of rec.split[0]!.pieces) expect(chunks.some((c) => c.buffer === p.buffer)).toBe(true);
          expect(rec.frames.map((f) => f.type)).toEqual([FRAME_HEARTBEAT]);
        } else {
          // Whole in one chunk, or its header was split: the ordinary path.
          expect(rec.split).toHaveLength(0);
          expect(rec.frames.map((f) => f.type)).toEqual([FRAME_BODY, FRAME_HEARTBEAT]);
          expect(rec.frames[0]!.hex).toBe(payload.toString('hex'));
        }
        expect(rec.fatal).toEqual([]);
      }),
      { numRuns: 200 },
    );
  });

  it('waits for a frame-end that comes alone in the next chunk', () => {
    const payload = Buffer.alloc(20_000, 7);
    const f = bodyFrame(1, payload);
    const rec = new SplitRecorder();
    const parser = new FrameParser(rec, 131072);
    parser.feed(f.subarray(0, 10_000));
    parser.feed(f.subarray(10_000, f.length - 1));
    expect(rec.split).toHaveLength(0);
    parser.feed(Buffer.concat([f.subarray(f.length - 1), heartbeat]));
    expect(rec.split.map((s) => s.size)).toEqual([20_000]);
    expect(rec.frames.map((x) => x.type)).toEqual([FRAME_HEARTBEAT]);
  });

  it("a bad frame-end gets the same invalid_frame_end_marker text as an assembled frame", () => {
    const payload = Buffer.alloc(20_000, 0x41);
    const f = bodyFrame(1, payload, 0x00);
    const rec = new SplitRecorder();
    const parser = new FrameParser(rec, 131072);
    parser.feed(f.subarray(0, 5000));
    parser.feed(f.subarray(5000));
    parser.feed(heartbeat);
    expect(rec.split).toHaveLength(0);
    expect(rec.frames).toHaveLength(0);
    expect(rec.fatal).toEqual([`type 3, first 16 octets = ${erlangBinary(payload.subarray(0, 16))}: {invalid_frame_end_marker,0}`]);
  });

  it('a handler without onSplitBody gets the frame assembled', () => {
    const payload = Buffer.alloc(20_000, 9);
    const rec = new Recorder();
    const parser = new FrameParser(rec, 131072);
    const f = bodyFrame(2, payload);
    parser.feed(f.subarray(0, 3000));
    parser.feed(f.subarray(3000));
    expect(rec.frames.map((x) => [x.type, x.channel, x.view.length])).toEqual([[FRAME_BODY, 2, 20_000]]);
  });
});
