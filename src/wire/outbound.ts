/**
 * Frames out: one growable buffer per connection that every outgoing frame is encoded into, flushed
 * to the socket once per event-loop turn (or sooner when it grows large) as one write, or one writev
 * when large message bodies are passed by reference instead of being copied.
 *
 * Flushed bytes are handed to the socket without copying; the writer then carries on in the unused
 * tail of the same slab, and starts a new slab when the tail is small. A slab is never written to
 * again once its bytes have been handed over, so the socket may hold them as long as it likes.
 */
import type { Duplex } from 'node:stream';
import { Writer } from '../protocol/codec-primitives.js';

/**
 * Slabs start small, so that thousands of idle connections cost little, and double (up to the
 * maximum) while a connection's flushes keep filling them.
 */
const MIN_SLAB = 16 * 1024;
const MAX_SLAB = 1024 * 1024;
/** Flush early, at a frame boundary, when this much is waiting. */
const FLUSH_THRESHOLD = 128 * 1024;
/** Bodies at least this large are written by reference rather than copied into the slab. */
export const BODY_BY_REFERENCE = 16 * 1024;

/**
 * Retired slabs, by size, for reuse once the socket has written them. Without reuse a busy connection
 * allocates hundreds of megabytes of slabs a second, which V8 frees only when a major GC happens to
 * collect their (by then old) wrappers: a broker at rest was seen holding over a gigabyte that way.
 */
const slabPool = new Map<number, Buffer[]>();
let pooledBytes = 0;
const POOL_MAX_BYTES = 32 * 1024 * 1024;

function takeSlab(size: number): Buffer {
  const free = slabPool.get(size);
  if (free !== undefined && free.length > 0) {
    pooledBytes -= size;
    return free.pop()!;
  }
  return Buffer.allocUnsafe(size);
}

function returnSlab(slab: Buffer): void {
  // Buffers grown past the largest slab for one huge frame are not worth keeping.
  if (slab.length > MAX_SLAB || pooledBytes + slab.length > POOL_MAX_BYTES) return;
  let free = slabPool.get(slab.length);
  if (free === undefined) slabPool.set(slab.length, (free = []));
  free.push(slab);
  pooledBytes += slab.length;
}

const pendingFlush = new Set<Outbound>();
let flushScheduled = false;

function flushAll(): void {
  flushScheduled = false;
  for (const o of pendingFlush) o.flush();
  pendingFlush.clear();
}

export class Outbound extends Writer {
  /** Start of the bytes not yet handed to the socket. */
  private committed = 0;
  /** Pieces queued for the next write when bodies are passed by reference. */
  private pieces: Buffer[] = [];
  private closed = false;
  /** Total bytes handed to the socket (the heartbeat sender watches it). */
  bytesOut = 0;
  /**
   * Set when the socket holds more unsent bytes than `highWater`: the peer is not reading. Consumers
   * stop receiving until the socket drains (the connection clears the flag on 'drain').
   */
  congested = false;
  highWater = 4 * 1024 * 1024;

  private slabSize = MIN_SLAB;

  constructor(private readonly socket: Duplex) {
    super(MIN_SLAB);
  }

  override ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    // Growing mid-frame: copy only the unflushed bytes, keeping their offsets so that a frame's
    // recorded start stays valid.
    let cap = Math.max(this.slabSize, this.buf.length);
    while (cap < this.pos + n) cap *= 2;
    const next = Buffer.allocUnsafe(cap);
    this.buf.copy(next, this.committed, this.committed, this.pos);
    this.buf = next;
  }

  /** Queues a buffer to be written after everything encoded so far, without copying it. */
  writeByReference(data: Buffer): void {
    if (this.pos > this.committed) {
      this.pieces.push(this.buf.subarray(this.committed, this.pos));
      this.committed = this.pos;
    }
    this.pieces.push(data);
  }

  /** Called after each complete frame (or batch of frames): arranges for a flush. */
  frameDone(): void {
    // A small slab flushes before it overflows (growing it mid-write costs a copy).
    if (this.pos - this.committed >= Math.min(FLUSH_THRESHOLD, this.slabSize >>> 1)) {
      this.flush();
      return;
    }
    if (!pendingFlush.has(this)) {
      pendingFlush.add(this);
      if (!flushScheduled) {
        flushScheduled = true;
        setImmediate(flushAll);
      }
    }
  }

  get pendingBytes(): number {
    return this.pos - this.committed + this.pieces.reduce((n, p) => n + p.length, 0);
  }

  flush(): void {
    if (this.closed) return;
    const socket = this.socket;
    const flushed = this.pos - this.committed;
    // When this flush leaves too little room, or the slab had to grow for a frame, the slab is
    // retired: it goes back to the pool once the socket is done with the last write that refers to it
    // (writes complete in order). A grown slab is never carried on: it kept the offsets of bytes
    // already flushed, and growing it again and again would double it without bound.
    const grown = this.buf.length > this.slabSize;
    const retire = grown || this.buf.length - this.pos < this.slabSize / 4;
    const slab = this.buf;
    const done = retire ? (): void => returnSlab(slab) : undefined;
    if (this.pieces.length === 0) {
      if (this.pos === this.committed) return;
      const out = this.buf.subarray(this.committed, this.pos);
      this.bytesOut += out.length;
      socket.write(out, done);
    } else {
      if (this.pos > this.committed) this.pieces.push(this.buf.subarray(this.committed, this.pos));
      socket.cork();
      const last = this.pieces.length - 1;
      for (let i = 0; i <= last; i++) {
        const p = this.pieces[i]!;
        this.bytesOut += p.length;
        if (i === last) socket.write(p, done);
        else socket.write(p);
      }
      socket.uncork();
      this.pieces = [];
    }
    this.committed = this.pos;
    if (socket.writableLength > this.highWater) this.congested = true;
    if (retire) {
      if ((grown || flushed > this.slabSize / 2) && this.slabSize < MAX_SLAB) this.slabSize *= 2;
      this.buf = takeSlab(this.slabSize);
      this.pos = this.committed = 0;
    }
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Drops anything unsent and stops writing (the socket is gone or being destroyed). */
  close(): void {
    this.closed = true;
    this.pieces = [];
    this.committed = this.pos;
    pendingFlush.delete(this);
  }
}
