/**
 * Tracked stream offsets on disk (x-stream-automatic-offset-tracking, store/stream-offsets.ts): a
 * consumer resumes after its last acknowledged offset across a restart; an unreadable offsets file
 * is logged and ignored, never blocking start-up.
 */
import type { ConsumeMessage } from 'amqplib';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunningBroker } from '../../src/index.js';
import { eventually } from '../helpers/broker.js';
import { captureLog, useDiskBrokers, useTempDirs } from '../helpers/disk-brokers.js';

const tempDir = useTempDirs();
const { start, channel, confirmChannel } = useDiskBrokers();
const TRACK = 'x-stream-automatic-offset-tracking';

async function fill(b: RunningBroker, q: string, n: number): Promise<void> {
  const ch = await confirmChannel(b);
  await ch.assertQueue(q, { durable: true, arguments: { 'x-queue-type': 'stream' } });
  for (let i = 0; i < n; i++) ch.sendToQueue(q, Buffer.from(`m${i}`));
  await ch.waitForConfirms();
}

/** Consumes with tracking under `tag` from "first", acks the first `ack`, resolves with the offsets of the first `want`. */
async function consume(b: RunningBroker, q: string, tag: string, want: number, ack: number): Promise<number[]> {
  const ch = await channel(b);
  await ch.prefetch(100);
  const got: ConsumeMessage[] = [];
  await ch.consume(q, (m) => {
    if (m === null) return;
    got.push(m);
    if (got.length <= ack) ch.ack(m);
  }, { consumerTag: tag, arguments: { [TRACK]: true, 'x-stream-offset': 'first' } });
  await eventually(() => expect(got.length).toBeGreaterThanOrEqual(want));
  await ch.close(); // the consumer goes away: its offset is written at once
  return got.slice(0, want).map((m) => m.properties.headers!['x-stream-offset'] as number);
}

describe('tracked offsets across restarts', () => {
  it('resumes after the last acknowledged offset when the broker restarted', async () => {
    const dir = tempDir();
    const first = await start(dir);
    await fill(first, 'events', 10);
    expect(await consume(first, 'events', 'audit', 10, 6)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    await first.close();
    const again = await start(dir);
    expect(await consume(again, 'events', 'audit', 4, 0)).toEqual([6, 7, 8, 9]);
  });

  it('logs an unreadable offsets file and starts the consumer where its x-stream-offset says', async () => {
    const dir = tempDir();
    const first = await start(dir);
    await fill(first, 'events', 3);
    await consume(first, 'events', 'audit', 3, 3);
    await first.close();
    const queues = join(dir, 'queues');
    for (const id of readdirSync(queues)) {
      if (readdirSync(join(queues, id)).includes('stream')) writeFileSync(join(queues, id, 'stream', 'offsets.json'), '{"audit": 2,');
    }
    const { logger, find } = captureLog('warn');
    const again = await start(dir, { logger });
    expect(find('tracked offsets of a stream unreadable: its tracking consumers start afresh')).toHaveLength(1);
    expect(await consume(again, 'events', 'audit', 3, 0)).toEqual([0, 1, 2]);
  });
});
