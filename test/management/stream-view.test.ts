/**
 * A stream in /api/queues and /api/queues/{vhost}/{name}: the fields RabbitMQ 3.10.8's management
 * shows for a stream queue (recorded against it with a stream of 10 messages and a consumer from
 * "first", prefetch 3), and Warren's own figures under `warren_stream` and in consumer_details'
 * `stream_offset` (src/management/stream-view.ts).
 */
import type { Channel, ConsumeMessage } from 'amqplib';
import { describe, expect } from 'vitest';
import { eventually, uniqueName, warrenOnly as it, withBroker } from '../helpers/broker.js';
import { apiClient } from '../helpers/http-api.js';

const fx = withBroker({ managementPort: 0 });
const api = apiClient(() => fx.broker.managementUrl!);

/** The listing's fields for a stream, as 3.10.8 answered (GET /api/queues). */
const RABBITMQ_STREAM_FIELDS = [
  'arguments', 'auto_delete', 'consumers', 'durable', 'effective_policy_definition', 'exclusive', 'members', 'memory', 'message_stats',
  'messages', 'messages_details', 'messages_ready', 'messages_ready_details', 'messages_unacknowledged', 'messages_unacknowledged_details',
  'name', 'node', 'online', 'operator_policy', 'policy', 'readers', 'reductions', 'reductions_details', 'state', 'type', 'vhost',
];
/** What GET /api/queues/{vhost}/{name} adds to them. */
const RABBITMQ_STREAM_SHOW_FIELDS = ['consumer_details', 'deliveries', 'garbage_collection', 'incoming'];
const RABBITMQ_CONSUMER_FIELDS = ['ack_required', 'active', 'activity_status', 'arguments', 'channel_details', 'consumer_tag', 'exclusive', 'prefetch_count', 'queue'];

async function streamWith(ch: Channel, count: number, args: Record<string, unknown> = {}): Promise<string> {
  const q = uniqueName('stream');
  await ch.assertQueue(q, { durable: true, arguments: { 'x-queue-type': 'stream', ...args } });
  const pub = await fx.confirmChannel();
  for (let i = 0; i < count; i++) {
    pub.sendToQueue(q, Buffer.from(`message ${i}`));
    await pub.waitForConfirms(); // one chunk each: retention can then cut between them
  }
  return q;
}

const show = async (q: string) => (await api.get(`/api/queues/%2F/${q}`)).json;
const listed = async (q: string) => ((await api.get('/api/queues/%2F')).json as { name: string }[]).find((x) => x.name === q) as Record<string, unknown>;

describe('a stream in the queue listing and view', () => {
  it("shows RabbitMQ 3.10.8's stream fields, not a classic queue's, plus warren_stream", async () => {
    const ch = await fx.channel();
    const q = await streamWith(ch, 10, { 'x-max-length-bytes': 100_000_000 });
    const item = await listed(q);
    const node = item.node as string;
    expect(Object.keys(item).sort()).toEqual([...RABBITMQ_STREAM_FIELDS, 'warren_stream'].sort());
    expect(item).toMatchObject({
      arguments: { 'x-max-length-bytes': 100_000_000, 'x-queue-type': 'stream' },
      auto_delete: false,
      consumers: 0,
      durable: true,
      exclusive: false,
      members: [node],
      messages: 10,
      messages_ready: 10,
      messages_unacknowledged: 0,
      online: [node],
      readers: { [node]: 0 },
      reductions: 0,
      reductions_details: { rate: 0 },
      state: 'running',
      type: 'stream',
    });
    const view = await show(q);
    expect(Object.keys(view).sort()).toEqual([...RABBITMQ_STREAM_FIELDS, ...RABBITMQ_STREAM_SHOW_FIELDS, 'warren_stream'].sort());
    expect(view.garbage_collection).toEqual({ fullsweep_after: -1, max_heap_size: -1, min_bin_vheap_size: -1, min_heap_size: -1, minor_gcs: -1 });
  });

  it('leaves a classic queue as it was (its fields, no warren_stream)', async () => {
    const ch = await fx.channel();
    const q = uniqueName('classic');
    await ch.assertQueue(q, { durable: true });
    const item = await listed(q);
    expect(item).toHaveProperty('consumer_capacity');
    expect(item).toHaveProperty('message_bytes');
    expect(item).not.toHaveProperty('warren_stream');
    expect(item).not.toHaveProperty('readers');
  });

  it("gives the stream's size, segments, first and last offset, and follows retention", async () => {
    const ch = await fx.channel();
    const empty = await streamWith(ch, 0);
    expect((await listed(empty)).warren_stream).toMatchObject({ first_offset: 0, last_offset: null, segments: 0 });
    const q = await streamWith(ch, 40, { 'x-stream-max-segment-size-bytes': 500, 'x-max-length-bytes': 1500 });
    const s = (await listed(q)).warren_stream as { bytes: number; segments: number; first_offset: number; last_offset: number };
    expect(s.last_offset).toBe(39);
    // Whole segments went, oldest first: what is left starts past 0 and is about the limit in size.
    expect(s.first_offset).toBeGreaterThan(0);
    expect(s.segments).toBeGreaterThan(1);
    expect(s.bytes).toBeLessThanOrEqual(1500 + 500 + 200);
    expect((await listed(q)).messages).toBe(40 - s.first_offset);
  });
});

describe("consumers' positions", () => {
  it('counts the readers and shows each one with its arguments and its next offset', async () => {
    const ch = await fx.channel();
    const q = await streamWith(ch, 10);
    const a = await fx.channel();
    await a.prefetch(3);
    const unacked: ConsumeMessage[] = [];
    await a.consume(q, (m) => m && unacked.push(m), { consumerTag: 'from-first', arguments: { 'x-stream-offset': 'first' } });
    const b = await fx.channel();
    await b.prefetch(100);
    await b.consume(q, (m) => m && b.ack(m), { consumerTag: 'from-7', arguments: { 'x-stream-offset': 7 } });
    await eventually(() => expect(unacked.length).toBe(3));

    const view = await show(q);
    const node = view.node;
    expect([view.consumers, view.readers]).toEqual([2, { [node]: 2 }]);
    const byTag = Object.fromEntries((view.consumer_details as { consumer_tag: string }[]).map((c) => [c.consumer_tag, c]));
    expect(Object.keys(byTag['from-first']).sort()).toEqual([...RABBITMQ_CONSUMER_FIELDS, 'stream_offset'].sort());
    expect(byTag['from-first']).toMatchObject({ active: false, arguments: { 'x-stream-offset': 'first' }, prefetch_count: 3, stream_offset: 3 });
    expect(byTag['from-7']).toMatchObject({ active: false, arguments: { 'x-stream-offset': 7 }, stream_offset: 10 });

    // Acks give credit back: the first reader moves on to the end, and waits there.
    for (const m of unacked.splice(0)) a.ack(m);
    await eventually(async () => {
      for (const m of unacked.splice(0)) a.ack(m);
      const now = await show(q);
      expect((now.consumer_details as { consumer_tag: string; stream_offset: number }[]).find((c) => c.consumer_tag === 'from-first')!.stream_offset).toBe(10);
    });
    await a.cancel('from-first');
    await eventually(async () => expect((await listed(q)).consumers).toBe(1));
  });
});
