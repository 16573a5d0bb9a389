/**
 * The persister (src/store/persister.ts): rounds of one writev and one fdatasync per file, callbacks
 * only once the round is done, many appends per sync (group commit driven by the loop, not a timer),
 * and failures confined to the appends of the failing file from the failing round on.
 */
import { openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Persister, type AppendFile, type SyncMode } from '../../src/store/persister.js';
import { eventually } from '../helpers/broker.js';
import { captureLog, FaultyIo, silentLog, useTempDirs } from '../helpers/disk-brokers.js';

const tempDir = useTempDirs();

interface Opened {
  persister: Persister;
  io: FaultyIo;
  files: AppendFile[];
  paths: string[];
}

function open(mode: SyncMode, count: number, io = new FaultyIo()): Opened {
  const dir = tempDir();
  const persister = new Persister(io, mode, silentLog);
  const paths = Array.from({ length: count }, (_, i) => join(dir, `f${i}`));
  const files = paths.map((p) => persister.appendFile(p, openSync(p, 'w'), 0));
  return { persister, io, files, paths };
}

/** Appends and records the outcome of the callback. */
function appendTracked(f: AppendFile, data: string, outcomes: Array<Error | undefined | 'pending'>): number {
  const i = outcomes.push('pending') - 1;
  f.append(Buffer.from(data), (err) => {
    expect(outcomes[i]).toBe('pending'); // exactly once
    outcomes[i] = err;
  });
  return i;
}

describe('Persister', () => {
  it('writes each file once and syncs each file once for all the appends of a round', async () => {
    const { persister, io, files, paths } = open('fsync', 4);
    const outcomes: Array<Error | undefined | 'pending'> = [];
    const expected = ['', '', '', ''];
    for (let i = 0; i < 400; i++) {
      const text = `record ${i};`;
      appendTracked(files[i % 4]!, text, outcomes);
      expected[i % 4] += text;
    }
    await eventually(() => expect(outcomes.every((o) => o === undefined)).toBe(true));
    expect(persister.rounds).toBe(1);
    expect(io.writevCalls).toBe(4);
    expect(io.fdatasyncCalls).toBe(4);
    expect(persister.syncs).toBe(4);
    paths.forEach((p, i) => expect(readFileSync(p, 'utf8')).toBe(expected[i]));
    await Promise.all(files.map((f) => f.close()));
  });

  it('calls back only after every file of the round is synced; appends made meanwhile share the next round', async () => {
    const io = new FaultyIo();
    io.holdFdatasync = () => true;
    const { persister, files } = open('fsync', 3, io);
    const first: Array<Error | undefined | 'pending'> = [];
    for (let i = 0; i < 30; i++) appendTracked(files[i % 3]!, `a${i}`, first);
    await io.whenHeld();
    // Appends trickling in over many turns of the event loop while the disk is busy.
    const second: Array<Error | undefined | 'pending'> = [];
    for (let turn = 0; turn < 50; turn++) {
      for (let i = 0; i < 6; i++) appendTracked(files[i % 3]!, `b${turn}.${i}`, second);
      await new Promise((r) => setImmediate(r));
    }
    // One more turn of the event loop: whatever the persister does without the held disk has run.
    await new Promise((r) => setImmediate(r));
    expect(first.every((o) => o === 'pending')).toBe(true);
    expect(second.every((o) => o === 'pending')).toBe(true);
    io.release();
    await eventually(() => expect([...first, ...second].every((o) => o === undefined)).toBe(true));
    // 330 appends, 2 rounds: one sync per file per round.
    expect(persister.rounds).toBe(2);
    expect(io.fdatasyncCalls).toBe(6);
    await Promise.all(files.map((f) => f.close()));
  });

  it('keeps syncing far less often than appending under a steady stream (no timer, no sync per append)', async () => {
    const { persister, io, files } = open('fsync', 2);
    let done = 0;
    const total = 3000;
    for (let i = 0; i < total; i++) {
      files[i % 2]!.append(Buffer.alloc(100, i & 0xff), () => done++);
      if (i % 20 === 19) await new Promise((r) => setImmediate(r));
    }
    await eventually(() => expect(done).toBe(total), 10_000);
    expect(io.fdatasyncCalls).toBe(persister.syncs);
    expect(persister.syncs).toBeLessThan(total / 10);
    expect(persister.syncs).toBeGreaterThan(0);
    await Promise.all(files.map((f) => f.close()));
  });

  it('returns the offset of each append, continuing from the size it was opened at', async () => {
    const dir = tempDir();
    const path = join(dir, 'existing');
    writeFileSync(path, 'HEADER--');
    const persister = new Persister(new FaultyIo(), 'fsync', silentLog);
    const f = persister.appendFile(path, openSync(path, 'r+'), 8);
    expect(f.append(Buffer.from('abc'))).toBe(8);
    expect(f.append(Buffer.from('defg'))).toBe(11);
    await f.flush();
    expect(f.append(Buffer.from('h'))).toBe(15);
    await f.close();
    expect(readFileSync(path, 'utf8')).toBe('HEADER--abcdefgh');
  });

  it('durability os: no fdatasync at all, callbacks once the write returned', async () => {
    const io = new FaultyIo();
    io.holdWritev = () => true;
    const { persister, files } = open('os', 2, io);
    const outcomes: Array<Error | undefined | 'pending'> = [];
    for (let i = 0; i < 10; i++) appendTracked(files[i % 2]!, `x${i}`, outcomes);
    await io.whenHeld();
    // A turn of the event loop: whatever the persister does without the held disk has run.
    await new Promise((r) => setImmediate(r));
    expect(outcomes.every((o) => o === 'pending')).toBe(true);
    io.release();
    await eventually(() => expect(outcomes.every((o) => o === undefined)).toBe(true));
    persister.syncLater(openSync(join(tempDir(), 'defs'), 'w'), 'defs');
    await persister.idle();
    expect(io.fdatasyncCalls).toBe(0);
    expect(persister.syncs).toBe(0);
    await Promise.all(files.map((f) => f.close()));
  });

  it('syncLater syncs a file written elsewhere with the next round (fsync)', async () => {
    const io = new FaultyIo();
    const { persister } = open('fsync', 0, io);
    const path = join(tempDir(), 'definitions.log');
    const fd = openSync(path, 'w');
    persister.syncLater(fd, path);
    persister.syncLater(fd, path);
    await persister.idle();
    expect(io.fdatasyncCalls).toBe(1);
  });

  for (const op of ['writev', 'fdatasync'] as const) {
    it(`a failing ${op} fails exactly that file's appends of the round and every later one on it`, async () => {
      const io = new FaultyIo();
      const log = captureLog('error');
      const dir = tempDir();
      const persister = new Persister(io, 'fsync', log.logger);
      const [bad, good] = ['bad', 'good'].map((n) => persister.appendFile(join(dir, n), openSync(join(dir, n), 'w'), 0)) as [AppendFile, AppendFile];

      const round1: Array<Error | undefined | 'pending'> = [];
      appendTracked(bad, 'ok1;', round1);
      appendTracked(good, 'ok1;', round1);
      await eventually(() => expect(round1).toEqual([undefined, undefined]));

      const rule = (path: string) => (path.endsWith('/bad') ? (op === 'writev' ? 'ENOSPC' : 'EIO') : undefined);
      if (op === 'writev') io.failWritev = rule;
      else io.failFdatasync = rule;
      const round2: Array<Error | undefined | 'pending'> = [];
      appendTracked(bad, 'lost2;', round2);
      appendTracked(bad, 'lost2b;', round2);
      appendTracked(good, 'ok2;', round2);
      await eventually(() => expect(round2.every((o) => o !== 'pending')).toBe(true));
      const code = op === 'writev' ? 'ENOSPC' : 'EIO';
      expect((round2[0] as NodeJS.ErrnoException | undefined)?.code).toBe(code);
      expect((round2[1] as NodeJS.ErrnoException | undefined)?.code).toBe(code);
      expect(round2[2]).toBeUndefined();

      // The failure sticks to the file even once the disk recovers; other files carry on.
      io.failWritev = io.failFdatasync = undefined;
      const writesBefore = io.writevCalls;
      const round3: Array<Error | undefined | 'pending'> = [];
      appendTracked(bad, 'refused3;', round3);
      appendTracked(good, 'ok3;', round3);
      await eventually(() => expect(round3.every((o) => o !== 'pending')).toBe(true));
      expect((round3[0] as NodeJS.ErrnoException | undefined)?.code).toBe(code);
      expect(round3[1]).toBeUndefined();
      expect(io.writevCalls).toBe(writesBefore + 1);
      expect(bad.failed).toBeDefined();

      expect(readFileSync(join(dir, 'good'), 'utf8')).toBe('ok1;ok2;ok3;');
      expect(readFileSync(join(dir, 'bad'), 'utf8')).toBe(op === 'writev' ? 'ok1;' : 'ok1;lost2;lost2b;');
      expect(log.find('store write failed')).toHaveLength(1);
      expect(log.find('store write failed')[0]).toMatchObject({ file: join(dir, 'bad') });
      await Promise.all([bad.close(), good.close()]);
    });
  }

  it('a callback that throws does not stop the round or the loop', async () => {
    const log = captureLog('error');
    const io = new FaultyIo();
    const persister = new Persister(io, 'fsync', log.logger);
    const path = join(tempDir(), 'f');
    const f = persister.appendFile(path, openSync(path, 'w'), 0);
    let after = 0;
    f.append(Buffer.from('a'), () => {
      throw new Error('boom');
    });
    f.append(Buffer.from('b'), () => after++);
    await persister.idle();
    expect(after).toBe(1);
    f.append(Buffer.from('c'), () => after++);
    await f.flush();
    expect(after).toBe(2);
    expect(log.find('store callback failed')).toHaveLength(1);
    await f.close();
    expect(readFileSync(path, 'utf8')).toBe('abc');
  });

  it('close stores what is pending first', async () => {
    const { files, paths } = open('fsync', 1);
    let stored = false;
    files[0]!.append(Buffer.from('last words'), (err) => (stored = err === undefined));
    await files[0]!.close();
    expect(stored).toBe(true);
    expect(readFileSync(paths[0]!, 'utf8')).toBe('last words');
  });
});
