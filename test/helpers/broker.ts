/**
 * Test helpers: an in-process broker per test file (port 0, so files run in parallel), amqplib
 * connections and channels that are closed after each test, and `eventually` for asynchronous effects.
 */
import amqp, { type Channel, type ChannelModel, type ConfirmChannel } from 'amqplib';
import { afterAll, afterEach, beforeAll, it } from 'vitest';
import { startBroker, type RunningBroker, type StartOptions } from '../../src/index.js';

export interface BrokerFixture {
  readonly broker: RunningBroker;
  readonly url: string;
  /** An amqplib connection closed after the current test. */
  connect(options?: Parameters<typeof amqp.connect>[1], url?: string): Promise<ChannelModel>;
  channel(): Promise<Channel>;
  confirmChannel(): Promise<ConfirmChannel>;
}

/**
 * When set, behaviour tests run against this broker (a real RabbitMQ) instead of an in-process Warren:
 * the way each test's expectations are checked against the reference before Warren must meet them.
 * Tests that look inside Warren (`fx.broker`) are marked with `warrenOnly`.
 */
export const REFERENCE_URL = process.env.WARREN_TEST_REFERENCE_URL;

/** `it` for tests that inspect Warren's internals and cannot run against the reference broker. */
export const warrenOnly = (REFERENCE_URL === undefined ? it : it.skip) as typeof it;

/**
 * Starts one broker for the test file; connections opened through the fixture close after each test.
 * Behaviour tests describe RabbitMQ 3.10.8 (the reference they can run against), so the broker
 * imitates 3.10 unless a test asks for another release.
 */
export function withBroker(options: StartOptions = {}): BrokerFixture {
  let running: RunningBroker | undefined;
  const open: ChannelModel[] = [];
  beforeAll(async () => {
    if (REFERENCE_URL !== undefined) return;
    running = await startBroker({ port: 0, logLevel: 'silent', silentCloseDelayMs: 50, rabbitmqVersion: '3.10', ...options });
  });
  afterEach(async () => {
    const conns = open.splice(0);
    await Promise.all(conns.map((c) => c.close().catch(() => {})));
  });
  afterAll(async () => {
    await running?.close();
  });
  const fixture: BrokerFixture = {
    get broker() {
      if (running === undefined) throw new Error('broker not started');
      return running;
    },
    get url() {
      return REFERENCE_URL ?? fixture.broker.url;
    },
    async connect(opts, url) {
      const c = await amqp.connect(url ?? fixture.url, opts);
      c.on('error', () => {});
      open.push(c);
      return c;
    },
    async channel() {
      const c = await fixture.connect();
      const ch = await c.createChannel();
      ch.on('error', () => {});
      return ch;
    },
    async confirmChannel() {
      const c = await fixture.connect();
      const ch = await c.createConfirmChannel();
      ch.on('error', () => {});
      return ch;
    },
  };
  return fixture;
}

/** Retries an assertion until it passes or the time runs out (for effects that happen asynchronously). */
export async function eventually<T>(fn: () => T | Promise<T>, timeoutMs = 3000, intervalMs = 10): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }
}

/** Resolves with the error an amqplib channel or connection closes with. */
export function closedWith(emitter: { once(event: 'close' | 'error', cb: (e?: unknown) => void): unknown }): Promise<Error & { code?: number; classId?: number; methodId?: number }> {
  return new Promise((resolve) => {
    emitter.once('error', (e) => resolve(e as Error & { code?: number }));
  });
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A unique name per call, so tests sharing a broker never collide. */
let counter = 0;
export function uniqueName(prefix = 'q'): string {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${counter++}`;
}
