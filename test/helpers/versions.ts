/**
 * Brokers with a chosen personality (--rabbitmq-version), one per release a test file compares, and
 * a log that keeps what they write.
 */
import amqp, { type Channel, type ChannelModel, type ConfirmChannel } from 'amqplib';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { startBroker, type RunningBroker, type StartOptions } from '../../src/index.js';
import type { RabbitMqVersion } from '../../src/personality.js';
import { captureLog, type LogLine } from './disk-brokers.js';

export type Release = RabbitMqVersion | 'default';

export interface Personal {
  readonly broker: RunningBroker;
  readonly log: LogLine[];
  connect(): Promise<ChannelModel>;
  channel(): Promise<Channel>;
  confirmChannel(): Promise<ConfirmChannel>;
}

/** One broker per release named, started for the file; connections are closed after each test. */
export function withReleases(releases: readonly Release[], options: StartOptions = {}): Record<Release, Personal> {
  const out = {} as Record<Release, Personal>;
  const open: ChannelModel[] = [];
  for (const release of releases) {
    let running: RunningBroker | undefined;
    const cap = captureLog('info');
    beforeAll(async () => {
      running = await startBroker({
        port: 0,
        logger: cap.logger,
        silentCloseDelayMs: 50,
        ...(release === 'default' ? {} : { rabbitmqVersion: release }),
        ...options,
      });
    });
    afterAll(async () => {
      await running?.close();
    });
    const p: Personal = {
      get broker() {
        if (running === undefined) throw new Error('broker not started');
        return running;
      },
      log: cap.lines,
      async connect() {
        const c = await amqp.connect(p.broker.url, { noDelay: true });
        c.on('error', () => {});
        open.push(c);
        return c;
      },
      async channel() {
        const ch = await (await p.connect()).createChannel();
        ch.on('error', () => {});
        return ch;
      },
      async confirmChannel() {
        const ch = await (await p.connect()).createConfirmChannel();
        ch.on('error', () => {});
        return ch;
      },
    };
    out[release] = p;
  }
  afterEach(async () => {
    await Promise.all(open.splice(0).map((c) => c.close().catch(() => {})));
  });
  return out;
}
