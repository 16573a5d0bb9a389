/**
 * Short strings that are not UTF-8. Observed against RabbitMQ 3.10.8: in a method's arguments such a
 * shortstr closes the connection with 501 "FRAME_ERROR - Malformed UTF-8 in shortstr" (class and
 * method 0); in content-header properties and in field-table keys it is accepted and passed on
 * byte for byte.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type RunningBroker } from '../../src/index.js';
import { RawClient } from '../helpers/raw-client.js';

let running: RunningBroker;
beforeAll(async () => {
  running = await startBroker({ port: 0, logLevel: 'silent', silentCloseDelayMs: 50, rabbitmqVersion: '3.10' });
});
afterAll(async () => {
  await running.close();
});

const shortstr = (b: Buffer) => Buffer.concat([Buffer.from([b.length]), b]);
const INVALID = Buffer.from([0x70, 0xff, 0x71]);

async function client(): Promise<RawClient> {
  const c = await RawClient.connect(running.port);
  await c.handshake();
  await c.openChannel(1);
  return c;
}

/** queue.declare with raw name bytes and raw argument-table bytes. */
function declare(name: Buffer, tableBody: Buffer = Buffer.alloc(0)): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(tableBody.length);
  return Buffer.concat([Buffer.from([0, 50, 0, 10, 0, 0]), shortstr(name), Buffer.from([0x08]), len, tableBody]);
}

describe('shortstr that is not UTF-8', () => {
  it('in a method argument: connection.close 501 "Malformed UTF-8 in shortstr", as RabbitMQ', async () => {
    const c = await client();
    try {
      c.sendFrame(1, 1, declare(INVALID));
      const close = await c.waitForClose(1500);
      expect(close).toEqual({
        name: 'connection.close',
        channel: 0,
        replyCode: 501,
        replyText: 'FRAME_ERROR - Malformed UTF-8 in shortstr',
        classId: 0,
        methodId: 0,
      });
    } finally {
      c.destroy();
    }
  });

  it('as a field-table key in method arguments: accepted, as RabbitMQ', async () => {
    const c = await client();
    try {
      const name = Buffer.from(`utf8-key-${process.pid}`);
      // key <<0xff>> -> V (void)
      c.sendFrame(1, 1, declare(name, Buffer.from([1, 0xff, 0x56])));
      const ok = await c.method('queue.declare-ok', 1, 3000);
      expect(ok).toBeDefined();
      expect(c.closeMethod()).toBeUndefined();
    } finally {
      c.destroy();
    }
  });
});
