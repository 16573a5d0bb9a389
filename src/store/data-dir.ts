/**
 * The data directory: its format version, the lock that keeps two brokers out of one directory, and
 * the marker of a clean shutdown.
 *
 *   <dir>/FORMAT            "warren-store 3" (1 and 2 are read and upgraded: 2 added extra routing keys to
 *                           records, 3 users, vhosts, permissions and policies to the definitions log)
 *   <dir>/LOCK              the pid of the broker using the directory
 *   <dir>/CLEAN             present only between a clean shutdown and the next start
 *   <dir>/definitions.log   users, vhosts, permissions, policies, durable exchanges, queues and bindings (definitions.ts)
 *   <dir>/queues/<id>/      one durable queue's segments (segment-store.ts)
 *   <dir>/pages/<id>/       transient queues' paged-out messages, wiped at every start
 */
import { closeSync, existsSync, fdatasyncSync, fsyncSync, mkdirSync, openSync, readFileSync, realpathSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';

export const FORMAT = 'warren-store 3';
/** Older formats this Warren reads (and upgrades in place: FORMAT is rewritten, so older builds stop). */
const UPGRADABLE = ['warren-store 1', 'warren-store 2'];

export class DataDirError extends Error {
  override name = 'DataDirError';
}

export interface OpenedDataDir {
  readonly dir: string;
  /** The previous run ended with a clean shutdown. */
  readonly clean: boolean;
  release(clean: boolean): void;
}

/** Directories locked by brokers of this process (an embedded broker restarted in a test, say). */
const heldHere = new Set<string>();

export function openDataDir(dir: string): OpenedDataDir {
  try {
    return open(dir);
  } catch (e) {
    throw unusable(dir, e);
  }
}

/** Why a directory cannot be used, in words, for the errors a person can fix. */
const UNUSABLE: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'the filesystem is read-only',
  ENOTDIR: 'part of the path is a file, not a directory',
  EEXIST: 'it is a file, not a directory',
  ENOSPC: 'the disk is full',
};

/** A system error from opening the directory as a DataDirError of one line; anything else as it is. */
function unusable(dir: string, e: unknown): unknown {
  if (e instanceof DataDirError) return e;
  const err = e as NodeJS.ErrnoException;
  const reason = err.code !== undefined ? UNUSABLE[err.code] : undefined;
  if (reason === undefined) return e;
  const where = err.path !== undefined && err.path !== dir ? ` on ${err.path}` : '';
  return new DataDirError(`cannot use data directory ${dir}: ${reason} (${err.code}${where})`, { cause: e });
}

function open(dir: string): OpenedDataDir {
  makeDirectory(dir);
  const real = realpathSync(dir);
  if (heldHere.has(real)) throw new DataDirError(`data directory ${dir} is in use by another broker in this process`);
  const formatPath = join(dir, 'FORMAT');
  if (existsSync(formatPath)) {
    const found = readFileSync(formatPath, 'utf8').trim();
    if (UPGRADABLE.includes(found)) writeDurably(formatPath, `${FORMAT}\n`);
    else if (found !== FORMAT) throw new DataDirError(`data directory ${dir} has format '${found}', this Warren reads '${FORMAT}'`);
  } else {
    writeDurably(formatPath, `${FORMAT}\n`);
  }
  acquireLock(join(dir, 'LOCK'), dir);
  heldHere.add(real);
  const cleanPath = join(dir, 'CLEAN');
  const clean = existsSync(cleanPath);
  rmSync(cleanPath, { force: true });
  rmSync(join(dir, 'pages'), { recursive: true, force: true });
  if (!existsSync(join(dir, 'queues'))) {
    mkdirSync(join(dir, 'queues'));
    syncDirectory(dir);
  }
  return {
    dir,
    clean,
    release(cleanShutdown: boolean) {
      if (cleanShutdown) writeDurably(cleanPath, `${new Date().toISOString()}\n`);
      rmSync(join(dir, 'LOCK'), { force: true });
      heldHere.delete(real);
    },
  };
}

function makeDirectory(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    // Node's recursive mkdir reports some failures as ENOENT (a read-only filesystem: it stats the
    // directory it could not make); when the parent exists, the plain call names the real reason.
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' && existsSync(dirname(dir))) mkdirSync(dir);
    throw e;
  }
}

/**
 * One broker per directory. The lock file names its owner; a lock left by a process that no longer
 * exists (a crash, kill -9) is taken over.
 */
function acquireLock(path: string, dir: string): void {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o644);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const owner = Number(readFileSync(path, 'utf8').trim());
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && isAlive(owner)) {
        throw new DataDirError(`data directory ${dir} is in use by another Warren (pid ${owner}); remove ${path} if that is not so`);
      }
      rmSync(path, { force: true });
    }
  }
  throw new DataDirError(`could not lock data directory ${dir}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function writeDurably(path: string, text: string): void {
  writeFileSync(path, text);
  const fd = openSync(path, 'r');
  fdatasyncSync(fd);
  closeSync(fd);
  syncDirectory(dirname(path));
}

/**
 * Makes a directory's entries durable (a file created, renamed or removed in it survives power
 * loss only once its directory is synced). Start-up and shutdown only: at run time the persister
 * syncs directories of new files with their first sync.
 */
export function syncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch (e) {
    // Some filesystems cannot sync a directory (EINVAL); there is nothing more to do there.
    if ((e as NodeJS.ErrnoException).code !== 'EINVAL') throw e;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
