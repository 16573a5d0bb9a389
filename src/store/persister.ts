/**
 * The persister: every append to every store file goes through it, and it decides when bytes reach
 * the kernel and the disk. It runs in rounds: a round takes everything appended so far, writes each
 * file's pending bytes with one writev, then (durability `fsync`) one fdatasync per file written, then
 * calls back every append of the round. Appends made while a round runs wait for the next one, which
 * starts as soon as this one ends. So a busy broker syncs as often as the disk allows and every sync
 * covers all the confirms waiting for it (group commit, driven by the loop itself, not by a timer).
 *
 * With durability `os` a round ends after the writes (the data is in the kernel: it survives kill -9,
 * not power loss). Durability `memory` has no persister at all.
 */
import type { Logger } from 'pino';
import type { FileIo } from './io.js';

export type SyncMode = 'fsync' | 'os';
export type StoredCallback = (err: Error | undefined) => void;

/** Appends are copied into chunks of this size: one allocation per chunk, not per record. */
const CHUNK_SIZE = 64 * 1024;

/** A file the persister appends to. Its position is where the next byte goes. */
export class AppendFile {
  /** Filled chunks (views) not yet handed to a write. */
  private full: Buffer[] = [];
  private chunk: Buffer = Buffer.alloc(0);
  private chunkUsed = 0;
  /** Bytes of `chunk` before this were handed to a write and must not change. */
  private chunkTaken = 0;
  pendingBytes = 0;
  /** Callbacks for the pending bytes. */
  callbacks: StoredCallback[] = [];
  /** File offset of the first pending byte. */
  position: number;
  /** Whether a write since the last sync needs one. */
  unsynced = false;
  /**
   * Whether durability fsync syncs this file at all. Page files of a transient queue hold copies of
   * messages that do not survive a restart anyway: syncing them only made every round (and so every
   * page-out, and the memory it releases) wait for the disk.
   */
  needsSync = true;
  /**
   * Directories whose entries must be synced with this file's next sync: a new file (and a new
   * directory) is durable only once the directory holding its name is.
   */
  syncDirs: string[] | undefined;
  /** Set after a write or sync failed: later appends fail at once (the store rolls to a new file). */
  failed: Error | undefined;
  closing = false;
  private closed: Promise<void> | undefined;

  constructor(
    readonly path: string,
    readonly fd: number,
    size: number,
    private readonly persister: Persister,
  ) {
    this.position = size;
  }

  /** Appends bytes; returns their offset in the file. The callback runs once they are stored. */
  append(data: Buffer, done?: StoredCallback): number {
    return this.appendWith(data.length, (b, at) => data.copy(b, at), done);
  }

  /**
   * Appends `size` bytes written in place by `fill` (no intermediate buffer); returns their offset
   * in the file. The callback runs once they are stored.
   */
  appendWith(size: number, fill: (buf: Buffer, at: number) => void, done?: StoredCallback): number {
    const offset = this.position + this.pendingBytes;
    if (this.failed !== undefined) {
      if (done !== undefined) queueMicrotask(() => done(this.failed));
      return offset;
    }
    if (this.chunk.length - this.chunkUsed < size) {
      if (this.chunkUsed > this.chunkTaken) this.full.push(this.chunk.subarray(this.chunkTaken, this.chunkUsed));
      this.chunk = Buffer.allocUnsafe(Math.max(CHUNK_SIZE, size));
      this.chunkUsed = this.chunkTaken = 0;
    }
    fill(this.chunk, this.chunkUsed);
    this.chunkUsed += size;
    this.pendingBytes += size;
    this.persister.queued(size);
    if (done !== undefined) this.callbacks.push(done);
    this.persister.schedule(this);
    return offset;
  }

  /** Hands the pending bytes over to a write. */
  takePending(): Buffer[] {
    const out = this.full;
    this.full = [];
    if (this.chunkUsed > this.chunkTaken) {
      out.push(this.chunk.subarray(this.chunkTaken, this.chunkUsed));
      this.chunkTaken = this.chunkUsed;
    }
    return out;
  }

  /** Bytes handed to the write now running, and where they go: readable until it completes. */
  inFlight: { position: number; buffers: Buffer[] } | undefined;

  /**
   * Reads bytes appended but not yet in the file (waiting for, or in, the current write), so that a
   * record can be read back at once. Undefined when the range is already in the file.
   */
  readUnwritten(offset: number, size: number): Buffer | undefined {
    const fromBuffers = (buffers: readonly Buffer[], start: number): Buffer | undefined => {
      let pos = start;
      for (const b of buffers) {
        if (offset >= pos && offset + size <= pos + b.length) return Buffer.from(b.subarray(offset - pos, offset - pos + size));
        pos += b.length;
      }
      return undefined;
    };
    if (offset >= this.position) {
      const pending = [...this.full];
      if (this.chunkUsed > this.chunkTaken) pending.push(this.chunk.subarray(this.chunkTaken, this.chunkUsed));
      return fromBuffers(pending, this.position);
    }
    const f = this.inFlight;
    return f === undefined ? undefined : fromBuffers(f.buffers, f.position);
  }

  /** Resolves once everything appended so far is stored (as the durability mode defines it). */
  flush(): Promise<void> {
    return new Promise((resolve) => this.append(Buffer.alloc(0), () => resolve()));
  }

  /** Closes the file after pending appends are stored. */
  close(): Promise<void> {
    this.closed ??= (async () => {
      this.closing = true;
      await this.flush();
      await this.persister.io.close(this.fd).catch(() => {});
    })();
    return this.closed;
  }
}

export class Persister {
  private readonly dirty = new Set<AppendFile>();
  /** Files written synchronously elsewhere (the definitions log) that the next round must sync. */
  private readonly syncOnly = new Map<number, string>();
  private running = false;
  private scheduled = false;
  /** Rounds completed, and files synced: for tests and the benchmark note. */
  rounds = 0;
  syncs = 0;
  /** Bytes appended and not yet written. */
  private backlog = 0;
  /**
   * Told when the backlog of unwritten bytes crosses the high-water mark (true) and falls back
   * below the low-water mark (false): the broker pauses publishers meanwhile, so memory stays
   * bounded when they outrun the disk.
   */
  onPressure: ((high: boolean) => void) | undefined;
  private underPressure = false;
  highWater = 8 * 1024 * 1024;
  lowWater = 2 * 1024 * 1024;

  constructor(
    readonly io: FileIo,
    readonly mode: SyncMode,
    private readonly log: Logger,
  ) {}

  /** Wraps an open file descriptor for appending at `size`. */
  appendFile(path: string, fd: number, size: number): AppendFile {
    return new AppendFile(path, fd, size, this);
  }

  queued(bytes: number): void {
    this.backlog += bytes;
    if (!this.underPressure && this.backlog > this.highWater) {
      this.underPressure = true;
      this.onPressure?.(true);
    }
  }

  private written(bytes: number): void {
    this.backlog -= bytes;
    if (this.underPressure && this.backlog < this.lowWater) {
      this.underPressure = false;
      this.onPressure?.(false);
    }
  }

  /** Syncs a file written outside the persister with the next round (durability `fsync` only). */
  syncLater(fd: number, path: string): void {
    if (this.mode !== 'fsync') return;
    this.syncOnly.set(fd, path);
    this.kick();
  }

  schedule(f: AppendFile): void {
    this.dirty.add(f);
    this.kick();
  }

  private kick(): void {
    if (this.running || this.scheduled) return;
    this.scheduled = true;
    // Let the current turn of the event loop append everything it will before the round starts.
    setImmediate(() => {
      this.scheduled = false;
      void this.round();
    });
  }

  private async round(): Promise<void> {
    if (this.running || (this.dirty.size === 0 && this.syncOnly.size === 0)) return;
    this.running = true;
    const files = [...this.dirty];
    this.dirty.clear();
    const extraSyncs = [...this.syncOnly];
    this.syncOnly.clear();
    const work = files.map((f) => {
      const buffers = f.takePending();
      const bytes = f.pendingBytes;
      const callbacks = f.callbacks;
      const position = f.position;
      f.pendingBytes = 0;
      f.callbacks = [];
      f.inFlight = { position, buffers };
      f.position += bytes;
      return { f, buffers, bytes, callbacks, position };
    });
    const synced = extraSyncs.map(async ([fd, path]) => {
      try {
        await this.io.fdatasync(fd);
        this.syncs++;
      } catch (e) {
        this.log.error({ file: path, err: (e as Error).message }, 'store sync failed');
      }
    });
    await Promise.all([
      ...synced,
      ...work.map(async (w) => {
        try {
          if (w.f.failed === undefined && w.bytes > 0) {
            await this.io.writev(w.f.fd, w.buffers, w.position);
            w.f.unsynced = true;
          }
          if (w.f.failed === undefined && this.mode === 'fsync' && w.f.unsynced && w.f.needsSync) {
            w.f.unsynced = false;
            await this.io.fdatasync(w.f.fd);
            this.syncs++;
            const dirs = w.f.syncDirs;
            if (dirs !== undefined) {
              w.f.syncDirs = undefined;
              for (const d of dirs) await this.syncDirectory(d);
            }
          }
        } catch (e) {
          w.f.failed = e as Error;
          this.log.error({ file: w.f.path, err: (e as Error).message }, 'store write failed');
        }
      }),
    ]);
    // Callbacks run once the whole round is done: a confirm never precedes the sync of anything
    // written before it (the queue's definition, for one).
    for (const w of work) this.written(w.bytes);
    for (const w of work) {
      if (w.f.inFlight?.buffers === w.buffers) w.f.inFlight = undefined;
      for (const cb of w.callbacks) {
        try {
          cb(w.f.failed);
        } catch (e) {
          this.log.error({ err: e }, 'store callback failed');
        }
      }
    }
    this.rounds++;
    this.running = false;
    if (this.dirty.size > 0 || this.syncOnly.size > 0) void this.round();
  }

  private async syncDirectory(dir: string): Promise<void> {
    const fd = await this.io.open(dir, 'r');
    try {
      await this.io.fdatasync(fd);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EINVAL') throw e;
    } finally {
      await this.io.close(fd);
    }
  }

  /** Resolves when no round is running and nothing is waiting. */
  async idle(): Promise<void> {
    while (this.running || this.dirty.size > 0 || this.syncOnly.size > 0 || this.scheduled) await new Promise((r) => setTimeout(r, 1));
  }
}
