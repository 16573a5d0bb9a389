/**
 * The outbound slab writer: every byte reaches the socket in order, and the slab does not grow
 * without bound when flushes leave it part-full (it once doubled to 2 GiB during a 1 KiB run).
 */
import { Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Outbound } from '../../src/wire/outbound.js';

class Sink extends Duplex {
  chunks: Buffer[] = [];
  override _read(): void {}
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.chunks.push(Buffer.from(chunk)); // copy: the writer may reuse its slabs once written
    cb();
  }
}

describe('Outbound', () => {
  it('writes every frame in order and keeps its slab bounded', async () => {
    const sink = new Sink();
    const out = new Outbound(sink);
    const expected: Buffer[] = [];
    let maxSlab = 0;
    let seed = 12345;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (let turn = 0; turn < 400; turn++) {
      const frames = 1 + rnd(200);
      for (let f = 0; f < frames; f++) {
        const body = Buffer.alloc(50 + rnd(3000), (turn + f) & 0xff);
        const start = out.frameStart(3, 1);
        out.raw(body);
        out.frameEnd(start);
        out.frameDone();
        const frame = Buffer.alloc(8 + body.length);
        frame[0] = 3;
        frame[2] = 1;
        frame.writeUInt32BE(body.length, 3);
        body.copy(frame, 7);
        frame[7 + body.length] = 0xce;
        expected.push(frame);
        maxSlab = Math.max(maxSlab, out.buf.length);
      }
      await new Promise((r) => setImmediate(r)); // the end-of-turn flush
    }
    out.flush();
    await new Promise((r) => setImmediate(r));
    expect(Buffer.concat(sink.chunks).equals(Buffer.concat(expected))).toBe(true);
    expect(maxSlab).toBeLessThanOrEqual(2 * 1024 * 1024);
  });
});
