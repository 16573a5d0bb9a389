/**
 * Server-side consumer offsets of one stream: Warren's extension for 0-9-1 clients, behind the
 * consume argument x-stream-automatic-offset-tracking (LavinMQ's name for the same thing; RabbitMQ
 * offers it only over its stream protocol, store_offset/query_offset by a consumer reference). The
 * name a consumer's offset is kept under is its consumer tag.
 *
 * In memory: the highest acknowledged offset per tag. On disk (durable streams): `offsets.json` in
 * the stream's directory, written a moment after a change (at most once per FLUSH_DELAY_MS, so acks
 * cost a map update, never a write each) and at once when a tracking consumer goes away. A new copy
 * is written beside the old and renamed over it, so a crash leaves the old or the new one whole,
 * never a torn one; what a kill -9 can lose is the last moment's acks, which the consumer then
 * reads again (at least once, as with any offset a client stores itself).
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

const FLUSH_DELAY_MS = 1000;

export class TrackedOffsets {
  private readonly offsets = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private dirty = false;

  /** `path` undefined: a stream in memory, whose offsets live as long as the broker. */
  constructor(
    private readonly path: string | undefined,
    /** A write failed (disk full, gone): the offsets stay in memory and are written with the next change. */
    private readonly onError: (err: Error) => void,
  ) {}

  /** The stored offsets of a restarted stream; an unreadable file is reported and ignored (consumers start afresh). */
  load(): string | undefined {
    if (this.path === undefined || !existsSync(this.path)) return undefined;
    try {
      const parsed: unknown = JSON.parse(readFileSync(this.path, 'utf8'));
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return 'not a JSON object';
      for (const [tag, offset] of Object.entries(parsed)) if (Number.isSafeInteger(offset) && offset >= 0) this.offsets.set(tag, offset as number);
      return undefined;
    } catch (err) {
      return (err as Error).message;
    }
  }

  /** The last acknowledged offset stored for a consumer tag. */
  get(tag: string): number | undefined {
    return this.offsets.get(tag);
  }

  /** A tracking consumer acknowledged `offset`: kept if it is past what was stored, written soon. */
  acked(tag: string, offset: number): void {
    const before = this.offsets.get(tag);
    if (before !== undefined && before >= offset) return;
    this.offsets.set(tag, offset);
    this.dirty = true;
    if (this.path !== undefined && this.timer === undefined) {
      this.timer = setTimeout(() => this.flush(), FLUSH_DELAY_MS);
      this.timer.unref();
    }
  }

  /** Writes the offsets now, if they changed (a consumer went away, or the delay passed). */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.dirty || this.path === undefined) return;
    try {
      mkdirSync(dirname(this.path), { recursive: true });
      const tmp = `${this.path}.tmp`;
      writeFileSync(tmp, JSON.stringify(Object.fromEntries(this.offsets)));
      renameSync(tmp, this.path);
      this.dirty = false;
    } catch (err) {
      this.onError(err as Error);
    }
  }

  /** The stream was deleted: nothing more is written (its directory goes). */
  discard(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.dirty = false;
    this.offsets.clear();
  }
}
