/**
 * A stream (x-queue-type stream) as /api/queues shows it. RabbitMQ 3.10.8's management reports a
 * stream with the fields of its stream process rather than a classic queue's (recorded against it,
 * test/management/stream-view.test.ts): members, online and readers per node, memory, reductions;
 * no consumer_capacity, consumer_utilisation, exclusive_consumer_tag, head_message_timestamp or
 * message_bytes*; and no leader or segments either (3.10.8 leaves them out of the listing). Its
 * consumers count every reader, although queue.declare-ok counts none. Show adds
 * garbage_collection with the -1s a stream reports, and consumer_details with the consumers'
 * arguments and active false (3.10.8 marks stream consumers so).
 *
 * Warren's own figures, which RabbitMQ has no field for, are under `warren_stream`: the stream's size
 * in bytes and segments, its first offset and the offset of its last stored message; each consumer
 * in consumer_details carries `stream_offset`, the offset of the next message it will be delivered.
 */
import type { ChannelConsumer } from '../channel/deliveries.js';
import { tableToJson } from '../definitions/amqp-table-json.js';
import type { StreamQueue } from '../queue/stream-queue.js';
import type { ManagementContext } from './context.js';
import type { JsonObject } from './request-body.js';

/** What a classic queue shows and a stream does not. */
const CLASSIC_ONLY = ['consumer_capacity', 'consumer_utilisation', 'exclusive_consumer_tag', 'head_message_timestamp', 'message_bytes', 'message_bytes_ready', 'message_bytes_unacknowledged'];

export function streamQueueView(ctx: ManagementContext, q: StreamQueue, classic: JsonObject): JsonObject {
  const out: JsonObject = { ...classic };
  for (const k of CLASSIC_ONLY) delete out[k];
  const d = q.details;
  const node = ctx.nodeName;
  Object.assign(out, {
    consumers: q.readerCount,
    members: [node],
    memory: d.residentBytes,
    online: [node],
    readers: { [node]: q.readerCount },
    reductions: 0,
    reductions_details: { rate: 0 },
    warren_stream: { bytes: d.bytes, segments: d.segments, first_offset: d.first, last_offset: d.lastStored ?? null },
  });
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** The fields GET /api/queues/{vhost}/{name} adds for a stream, after the listing's. */
export const STREAM_GARBAGE_COLLECTION = { fullsweep_after: -1, max_heap_size: -1, min_bin_vheap_size: -1, min_heap_size: -1, minor_gcs: -1 };

/** A consumer of the stream as consumer_details shows it: its arguments, active false, where it reads. */
export function streamConsumerView(q: StreamQueue, k: ChannelConsumer, view: JsonObject): JsonObject {
  const reader = q.readerOf(k);
  return { ...view, active: false, arguments: reader?.args === undefined ? {} : tableToJson(reader.args), stream_offset: reader?.offset ?? null };
}
