/**
 * Content-header property flags that name no property (bit 1, and bit 0, the continuation bit that
 * basic never needs). Observed against RabbitMQ 3.10.8: a publish whose flags are 0x0002, or
 * 0x2002 with a headers table (a CC header included), is accepted, routed, and delivered with its
 * property bytes unchanged.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type RunningBroker } from '../../src/index.js';
import { Writer } from '../../src/protocol/codec-primitives.js';
import { fv, table, type FieldTable } from '../../src/protocol/field-table.js';
import { encodeBasicGet, encodeBasicPublish, encodeQueueDeclare } from '../../src/protocol/generated/methods.js';
import { RawClient } from '../helpers/raw-client.js';

let running: RunningBroker;
beforeAll(async () => {
  running = await startBroker({ port: 0, logLevel: 'silent', silentCloseDelayMs: 50, rabbitmqVersion: '3.10' });
});
afterAll(async () => {
  await running.close();
});

/** Property bytes: the given flag word, then a headers table when bit 13 is set. */
function properties(flags: number, headers?: FieldTable): Buffer {
  const w = new Writer();
  w.short(flags);
  if (headers !== undefined) w.table(headers);
  return Buffer.from(w.bytes());
}

async function publishAndGet(props: Buffer): Promise<{ delivered: Buffer | undefined; close: ReturnType<RawClient['closeMethod']> }> {
  const c = await RawClient.connect(running.port);
  try {
    await c.handshake();
    await c.openChannel(1);
    const queue = `flags-${process.pid}-${props.toString('hex')}`;
    c.sendEncoded((w) => encodeQueueDeclare(w, 1, { queue, exclusive: true }));
    await c.method('queue.declare-ok', 1, 2000);
    c.sendEncoded((w) => encodeBasicPublish(w, 1, { exchange: '', routingKey: queue }));
    const head = Buffer.alloc(12);
    head.writeUInt16BE(60, 0);
    head.writeBigUInt64BE(3n, 4);
    c.sendFrame(2, 1, Buffer.concat([head, props]));
    c.sendBody(1, Buffer.from('abc'));
    c.sendEncoded((w) => encodeBasicGet(w, 1, { queue, noAck: true }));
    await c.waitFor((fs) => fs.some((f) => f.type === 'body') || undefined, 2000);
    // The content header's property bytes exactly as delivered.
    const header = c.frames.find((f) => (f.type === 'raw' && f.frameType === 2) || f.type === 'header');
    const delivered = header?.type === 'raw' || header?.type === 'header' ? header.payload.subarray(12) : undefined;
    return { delivered, close: c.closeMethod() };
  } finally {
    c.destroy();
  }
}

describe('property flag bits 0 and 1', () => {
  it('flags 0x0002: accepted and delivered unchanged, as RabbitMQ', async () => {
    const props = properties(0x0002);
    const { delivered, close } = await publishAndGet(props);
    expect(close).toBeUndefined();
    expect(delivered?.toString('hex')).toBe(props.toString('hex'));
  });

  it('flags 0x2002 with a CC header: accepted and delivered unchanged, as RabbitMQ', async () => {
    // The CC header makes the broker decode the properties (sender-selected distribution); the
    // decoder must then read the flags the way the publish-time scan did.
    const headers = table([
      ['a', fv.int(1)],
      ['CC', fv.array([fv.str('elsewhere')])],
    ]);
    const props = properties(0x2002, headers);
    const { delivered, close } = await publishAndGet(props);
    expect(close).toBeUndefined();
    expect(delivered?.toString('hex')).toBe(props.toString('hex'));
  });
});
