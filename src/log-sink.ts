/**
 * Where log lines go by default: standard output, never blocking the broker.
 *
 * A broker must keep serving, and stop when told, even when nobody reads its logs (a full pipe, a
 * reader that went away). A pipe or socket is written through a non-blocking stream on the event
 * loop (not the thread pool: a thread stuck in a blocking write to a full pipe would also keep the
 * process from exiting); a file or terminal with asynchronous writes. Either way lines queue up to
 * MAX_QUEUED bytes; beyond that they are dropped and counted, and a line saying how many were
 * dropped goes out once the output takes lines again. `flush` calls back once what is queued is
 * written; callers bound the wait. An optional `format` rewrites each line (pino's JSON) before it
 * is queued: the pretty format for terminals (log-pretty.ts).
 */
import { fstatSync, write } from 'node:fs';
import { Socket } from 'node:net';

const MAX_QUEUED = 16 * 1024 * 1024;

export class LogSink {
  private readonly stream: Socket | undefined;
  private queued: string[] = [];
  private queuedBytes = 0;
  private writing = false;
  private broken = false;
  private dropped = 0;
  private waiters: (() => void)[] = [];

  constructor(
    private readonly fd: number,
    private readonly format?: (line: string) => string,
  ) {
    let pipe = false;
    try {
      const st = fstatSync(fd);
      pipe = st.isFIFO() || st.isSocket();
    } catch {
      this.broken = true;
    }
    if (pipe) {
      this.stream = new Socket({ fd, readable: false, writable: true });
      this.stream.on('error', () => {
        // The reader went away (EPIPE): logging stops, the broker carries on.
        this.broken = true;
        this.release();
      });
      this.stream.on('drain', () => this.release());
    }
  }

  /** pino's destination interface: one serialized line (with its newline). */
  write(line: string): void {
    if (this.broken) return;
    const pending = this.stream !== undefined ? this.stream.writableLength : this.queuedBytes;
    if (pending + line.length > MAX_QUEUED) {
      this.dropped++;
      return;
    }
    const formatted = this.format !== undefined ? this.format(line) : line;
    const text = this.dropped > 0 ? `${this.droppedLine()}${formatted}` : formatted;
    if (this.stream !== undefined) {
      this.stream.write(text);
      return;
    }
    this.queued.push(text);
    this.queuedBytes += text.length;
    if (!this.writing) this.pump();
  }

  private droppedLine(): string {
    const n = this.dropped;
    this.dropped = 0;
    const line = `{"level":40,"time":${Date.now()},"name":"warren","dropped":${n},"msg":"log lines dropped: the output did not take them"}\n`;
    return this.format !== undefined ? this.format(line) : line;
  }

  /** Files and terminals: one asynchronous write at a time, of everything queued. */
  private pump(): void {
    if (this.queued.length === 0 || this.broken) {
      this.writing = false;
      this.release();
      return;
    }
    this.writing = true;
    const buf = Buffer.from(this.queued.join(''));
    this.queued = [];
    this.queuedBytes = 0;
    this.writeOut(buf);
  }

  private writeOut(buf: Buffer): void {
    write(this.fd, buf, 0, buf.length, null, (err, n) => {
      if (err !== null) {
        this.broken = true;
        this.queued = [];
        this.queuedBytes = 0;
        this.pump();
        return;
      }
      if (n < buf.length) this.writeOut(buf.subarray(n));
      else this.pump();
    });
  }

  private get idle(): boolean {
    if (this.broken) return true;
    return this.stream !== undefined ? this.stream.writableLength === 0 : !this.writing && this.queued.length === 0;
  }

  private release(): void {
    if (!this.idle) return;
    const w = this.waiters;
    this.waiters = [];
    for (const cb of w) cb();
  }

  /** pino's flush: calls back once everything queued so far is written. */
  flush(cb?: (err?: Error) => void): void {
    if (this.idle) {
      cb?.();
      return;
    }
    if (cb !== undefined) this.waiters.push(() => cb());
  }
}
