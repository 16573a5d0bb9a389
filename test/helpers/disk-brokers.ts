/**
 * Helpers for the store and durability tests: temporary data directories removed after each test,
 * a pino logger whose lines the test can read, a FileIo that fails or holds chosen operations, and
 * small builders for messages and queue entries.
 */
import { mkdtempSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp, { type Channel, type ChannelModel, type ConfirmChannel } from 'amqplib';
import pino, { type Logger } from 'pino';
import { afterEach } from 'vitest';
import { startBroker, type RunningBroker, type StartOptions } from '../../src/index.js';
import { Message, scanProperties } from '../../src/message/message.js';
import { Writer } from '../../src/protocol/codec-primitives.js';
import { encodeBasicProperties, type BasicProperties } from '../../src/protocol/generated/properties.js';
import { QueueEntry } from '../../src/message/queue-entry.js';
import { nodeIo, type FileIo } from '../../src/store/io.js';

/** Temporary directories created by `make`, removed after each test of the file. */
export function useTempDirs(): (prefix?: string) => string {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  return (prefix = 'warren-store-') => {
    const d = mkdtempSync(join(tmpdir(), prefix));
    dirs.push(d);
    return d;
  };
}

/** Brokers on a data directory (fsync durability) and amqplib connections, all closed after each test. */
export interface DiskBrokers {
  start(dataDir: string, options?: StartOptions): Promise<RunningBroker>;
  /** `query` is appended to the broker's URL (for example `?frameMax=131072`). */
  connect(b: RunningBroker, query?: string): Promise<ChannelModel>;
  channel(b: RunningBroker): Promise<Channel>;
  confirmChannel(b: RunningBroker): Promise<ConfirmChannel>;
}

export function useDiskBrokers(): DiskBrokers {
  const running: RunningBroker[] = [];
  const connections: ChannelModel[] = [];
  afterEach(async () => {
    await Promise.all(connections.splice(0).map((c) => c.close().catch(() => {})));
    await Promise.all(running.splice(0).map((b) => b.close().catch(() => {})));
  });
  const connect = async (b: RunningBroker, query = ''): Promise<ChannelModel> => {
    // noDelay: amqplib's socket otherwise holds a basic.get behind an unanswered basic.ack (Nagle
    // against delayed ACKs, 40 ms per get+ack, RabbitMQ or Warren alike).
    const c = await amqp.connect(b.url + query, { noDelay: true });
    c.on('error', () => {});
    connections.push(c);
    return c;
  };
  return {
    async start(dataDir, options = {}) {
      const b = await startBroker({ port: 0, dataDir, durability: 'fsync', logLevel: 'silent', rabbitmqVersion: '3.10', ...options });
      running.push(b);
      return b;
    },
    connect,
    async channel(b) {
      const ch = await (await connect(b)).createChannel();
      ch.on('error', () => {});
      return ch;
    },
    async confirmChannel(b) {
      const ch = await (await connect(b)).createConfirmChannel();
      ch.on('error', () => {});
      return ch;
    },
  };
}

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

/** A pino logger writing JSON lines into an array (synchronously). */
export function captureLog(level: pino.LevelWithSilent = 'info'): { logger: Logger; lines: LogLine[]; find(msg: string): LogLine[] } {
  const lines: LogLine[] = [];
  const stream = {
    write(s: string) {
      for (const l of s.split('\n')) if (l.trim() !== '') lines.push(JSON.parse(l) as LogLine);
    },
  };
  const logger = pino({ level }, stream);
  return { logger, lines, find: (msg) => lines.filter((l) => l.msg === msg) };
}

export const silentLog: Logger = pino({ level: 'silent' });

function errnoError(code: string, syscall: string, path: string): NodeJS.ErrnoException {
  const e = new Error(`${code}: injected failure, ${syscall} '${path}'`) as NodeJS.ErrnoException;
  e.code = code;
  e.syscall = syscall;
  return e;
}

/** The path an open descriptor refers to (Linux). The store opens some files outside FileIo. */
function fdPath(fd: number): string {
  try {
    return readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    return `<fd ${fd}>`;
  }
}

type Rule = (path: string) => string | undefined;

/**
 * A FileIo over `nodeIo` that counts calls and, on demand, fails writev or fdatasync with an errno
 * (ENOSPC, EIO) or holds fdatasync/writev until released, for the files a predicate picks.
 */
export class FaultyIo implements FileIo {
  writevCalls = 0;
  fdatasyncCalls = 0;
  /** Returns an errno code to fail a writev of this path with, or undefined to let it through. */
  failWritev: Rule | undefined;
  failFdatasync: Rule | undefined;
  /** Holds matching writev / fdatasync calls until `release()`. */
  holdWritev: ((path: string) => boolean) | undefined;
  holdFdatasync: ((path: string) => boolean) | undefined;
  private held: Array<() => void> = [];
  /** Resolves the next time a call is held. */
  private onHeld: Array<() => void> = [];

  constructor(private readonly inner: FileIo = nodeIo) {}

  get heldCount(): number {
    return this.held.length;
  }

  /** Lets every held call (and later ones) through. */
  release(): void {
    this.holdWritev = undefined;
    this.holdFdatasync = undefined;
    for (const r of this.held.splice(0)) r();
  }

  /** Resolves once at least one call is being held. */
  whenHeld(): Promise<void> {
    if (this.held.length > 0) return Promise.resolve();
    return new Promise((r) => this.onHeld.push(r));
  }

  private async hold(): Promise<void> {
    await new Promise<void>((r) => {
      this.held.push(r);
      for (const w of this.onHeld.splice(0)) w();
    });
  }

  open(path: string, flags: string): Promise<number> {
    return this.inner.open(path, flags);
  }

  async writev(fd: number, buffers: readonly Buffer[], position: number): Promise<void> {
    this.writevCalls++;
    const path = fdPath(fd);
    if (this.holdWritev?.(path)) await this.hold();
    const code = this.failWritev?.(path);
    if (code !== undefined) throw errnoError(code, 'writev', path);
    return this.inner.writev(fd, buffers, position);
  }

  async fdatasync(fd: number): Promise<void> {
    this.fdatasyncCalls++;
    const path = fdPath(fd);
    if (this.holdFdatasync?.(path)) await this.hold();
    const code = this.failFdatasync?.(path);
    if (code !== undefined) throw errnoError(code, 'fdatasync', path);
    return this.inner.fdatasync(fd);
  }

  read(fd: number, buffer: Buffer, offset: number, length: number, position: number): Promise<number> {
    return this.inner.read(fd, buffer, offset, length, position);
  }

  close(fd: number): Promise<void> {
    return this.inner.close(fd);
  }

  unlink(path: string): Promise<void> {
    return this.inner.unlink(path);
  }

  readSync(fd: number, buffer: Buffer, offset: number, length: number, position: number): number {
    return this.inner.readSync(fd, buffer, offset, length, position);
  }
}

export interface MessageSpec {
  persistent?: boolean;
  exchange?: string;
  routingKey?: string;
  properties?: BasicProperties;
}

/** A message as the channel builds it: raw property bytes, scanned. */
function makeMessage(body: string | Buffer, spec: MessageSpec = {}): Message {
  const w = new Writer(64);
  encodeBasicProperties(w, { ...spec.properties, deliveryMode: spec.persistent === false ? 1 : 2 });
  const props = Buffer.from(w.bytes());
  const m = new Message(spec.exchange ?? 'amq.direct', spec.routingKey ?? 'rk', props, typeof body === 'string' ? Buffer.from(body) : body);
  scanProperties(m, props);
  m.publishedAt = 1_700_000_000_000 + m.body.length;
  return m;
}

export function makeEntry(seq: number, body: string | Buffer, spec: MessageSpec = {}): QueueEntry {
  return QueueEntry.of(makeMessage(body, spec), seq);
}

/** The parts of a message the store must give back exactly. */
export function messageParts(m: Message | null): { exchange: string; routingKey: string; properties: string; body: string; persistent: boolean } | null {
  if (m === null) return null;
  return { exchange: m.exchange, routingKey: m.routingKey, properties: m.properties.toString('hex'), body: m.body.toString('hex'), persistent: m.persistent };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
