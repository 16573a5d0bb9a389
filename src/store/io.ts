/**
 * The file operations the store uses, behind an interface so that tests can inject failures (ENOSPC,
 * EIO) into a real broker. Everything here is asynchronous (libuv's thread pool) except `readSync`,
 * which the store uses only at start-up and as a last resort for basic.get.
 */
import { close, fdatasync, open, read, readSync, unlink, writev } from 'node:fs';

export interface FileIo {
  open(path: string, flags: string): Promise<number>;
  /** Writes all buffers at `position`. */
  writev(fd: number, buffers: readonly Buffer[], position: number): Promise<void>;
  fdatasync(fd: number): Promise<void>;
  read(fd: number, buffer: Buffer, offset: number, length: number, position: number): Promise<number>;
  close(fd: number): Promise<void>;
  unlink(path: string): Promise<void>;
  readSync(fd: number, buffer: Buffer, offset: number, length: number, position: number): number;
}

const callback =
  <T>(resolve: (v: T) => void, reject: (e: unknown) => void) =>
  (err: NodeJS.ErrnoException | null, v?: T) =>
    err ? reject(err) : resolve(v as T);

export const nodeIo: FileIo = {
  open: (path, flags) => new Promise((res, rej) => open(path, flags, 0o644, callback(res, rej))),
  async writev(fd, buffers, position) {
    // writev may write less than asked; carry on from where it stopped.
    let bufs = buffers as Buffer[];
    let pos = position;
    let left = bufs.reduce((n, b) => n + b.length, 0);
    while (left > 0) {
      const n = await new Promise<number>((res, rej) => writev(fd, bufs, pos, callback(res, rej)));
      left -= n;
      pos += n;
      if (left > 0) bufs = skip(bufs, n);
    }
  },
  fdatasync: (fd) => new Promise((res, rej) => fdatasync(fd, callback(res, rej))),
  read: (fd, buffer, offset, length, position) => new Promise((res, rej) => read(fd, buffer, offset, length, position, callback(res, rej))),
  close: (fd) => new Promise((res, rej) => close(fd, callback(res, rej))),
  unlink: (path) =>
    new Promise((res, rej) =>
      unlink(path, (err) => (err && err.code !== 'ENOENT' ? rej(err) : res())),
    ),
  readSync: (fd, buffer, offset, length, position) => readSync(fd, buffer, offset, length, position),
};

function skip(bufs: readonly Buffer[], n: number): Buffer[] {
  const out: Buffer[] = [];
  for (const b of bufs) {
    if (n >= b.length) {
      n -= b.length;
      continue;
    }
    out.push(n > 0 ? b.subarray(n) : b);
    n = 0;
  }
  return out;
}
