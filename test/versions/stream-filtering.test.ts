/**
 * Stream filtering (RabbitMQ 3.13.0, docs page "stream-filtering"), part of the 3.13 and 4.x
 * personalities: a publisher sets x-stream-filter-value, a consumer asks with x-stream-filter (a
 * string or an array) and x-stream-match-unfiltered. The broker decides chunk by chunk: a chunk with
 * no wanted value is skipped without being read; a chunk with one is delivered whole, so a consumer
 * re-checks each message (the documented probabilistic guarantee; chunk matching itself is in
 * test/store/stream-log.test.ts). 3.10 has no filtering: the
 * arguments change nothing. Warren's own (the reference here is 3.10.8).
 */
import type { Channel, ConfirmChannel, ConsumeMessage } from 'amqplib';
import { describe, expect } from 'vitest';
import { roundTrip } from '../helpers/model.js';
import { uniqueName, warrenOnly, withBroker } from '../helpers/broker.js';

const STREAM = { 'x-queue-type': 'stream' };

function suite(version: '3.10' | '3.13' | '4.x') {
  const fx = withBroker({ rabbitmqVersion: version });

  /** One message per chunk (each confirmed before the next), with its filter value (or none). */
  async function filled(values: readonly (string | undefined)[]): Promise<{ pub: ConfirmChannel; q: string }> {
    const pub = await fx.confirmChannel();
    const q = uniqueName('filtered');
    await pub.assertQueue(q, { durable: true, arguments: STREAM });
    for (const [i, v] of values.entries()) {
      pub.sendToQueue(q, Buffer.from(`${i}:${v ?? '-'}`), v === undefined ? {} : { headers: { 'x-stream-filter-value': v } });
      await pub.waitForConfirms();
    }
    return { pub, q };
  }

  /** Everything a filtering consumer from "first" gets, once the broker has answered a round trip after it. */
  async function readFiltered(q: string, args: Record<string, unknown>): Promise<string[]> {
    const ch: Channel = await fx.channel();
    await ch.prefetch(100);
    const got: ConsumeMessage[] = [];
    await ch.consume(q, (m) => {
      if (m === null) return;
      got.push(m);
      ch.ack(m);
    }, { arguments: { 'x-stream-offset': 'first', ...args } });
    await roundTrip(ch, q);
    return got.map((m) => m.content.toString());
  }

  return { fx, filled, readFiltered };
}

describe('stream filtering under --rabbitmq-version 3.13', () => {
  const { filled, readFiltered } = suite('3.13');

  warrenOnly('a consumer filtering on one value gets only the chunks that hold it', async () => {
    const { q } = await filled(['red', 'blue', undefined, 'red']);
    expect(await readFiltered(q, { 'x-stream-filter': 'red' })).toEqual(['0:red', '3:red']);
  });

  warrenOnly('an array of values, and x-stream-match-unfiltered for the messages without one', async () => {
    const { q } = await filled(['red', 'blue', undefined, 'green']);
    expect(await readFiltered(q, { 'x-stream-filter': ['red', 'blue'] })).toEqual(['0:red', '1:blue']);
    expect(await readFiltered(q, { 'x-stream-filter': 'green', 'x-stream-match-unfiltered': true })).toEqual(['2:-', '3:green']);
  });

  warrenOnly('without x-stream-filter a consumer gets everything', async () => {
    const { q } = await filled(['red', undefined]);
    expect(await readFiltered(q, { 'x-stream-match-unfiltered': false })).toEqual(['0:red', '1:-']);
  });
});

describe('stream filtering under --rabbitmq-version 4.x', () => {
  const { filled, readFiltered } = suite('4.x');

  warrenOnly('filters as 3.13 does', async () => {
    const { q } = await filled(['red', 'blue']);
    expect(await readFiltered(q, { 'x-stream-filter': 'blue' })).toEqual(['1:blue']);
  });
});

describe('under --rabbitmq-version 3.10 (no stream filtering)', () => {
  const { filled, readFiltered } = suite('3.10');

  warrenOnly('x-stream-filter changes nothing', async () => {
    const { q } = await filled(['red', 'blue', undefined]);
    expect(await readFiltered(q, { 'x-stream-filter': 'red' })).toEqual(['0:red', '1:blue', '2:-']);
  });
});
