/**
 * Definitions and messages nested 18,000 deep (issue 19) survive a restart: the definitions log stores
 * arguments in their AMQP encoding and the message store keeps properties as published, so both go
 * through the same iterative codec. A durable quorum queue whose x-delivery-limit (compared on
 * redeclare, not validated by RabbitMQ 3.10.8) nests 18,000 deep, a durable headers binding as deep,
 * and a persistent message whose headers are: after the restart the argument still compares equal (and
 * unequal to one that differs at the bottom), the binding still routes, the message comes back intact.
 */
import { describe, expect, it } from 'vitest';
import type { RunningBroker } from '../../src/index.js';
import { Reader, Writer } from '../../src/protocol/codec-primitives.js';
import { decodeBasicProperties } from '../../src/protocol/generated/properties.js';
import { RawClient } from '../helpers/raw-client.js';
import { deepFieldValue, headersOnlyProperties, nextContentProperties, rawMethods as raw, tableWith } from '../helpers/deep-fields.js';
import { useDiskBrokers, useTempDirs } from '../helpers/disk-brokers.js';

const tempDir = useTempDirs();
const { start } = useDiskBrokers();

const DEPTH = 18_000;
const empty = Buffer.from([0, 0, 0, 0]);

function quorumArgs(leaf: string): Buffer {
  const quorum = Buffer.concat([Buffer.from([12]), Buffer.from('x-queue-type'), Buffer.from([0x53, 0, 0, 0, 6]), Buffer.from('quorum')]);
  const limit = tableWith('x-delivery-limit', deepFieldValue(DEPTH, 'mixed', leaf)).subarray(4);
  const t = Buffer.concat([Buffer.alloc(4), quorum, limit]);
  t.writeUInt32BE(t.length - 4, 0);
  return t;
}

async function client(b: RunningBroker): Promise<RawClient> {
  const c = await RawClient.connect(b.port);
  await c.handshake();
  await c.openChannel(1);
  return c;
}

/** The "deep" header of these properties, re-encoded. */
function deepHeader(properties: Buffer | undefined): Buffer | undefined {
  const v = properties === undefined ? undefined : decodeBasicProperties(new Reader(properties)).headers?.get('deep');
  if (v === undefined) return undefined;
  const w = new Writer(16);
  w.fieldValue(v);
  return Buffer.from(w.bytes());
}

/** The frames after `mark` hold this method. */
const sent = (c: RawClient, mark: number, name: string) =>
  c.waitFor((fs) => fs.slice(mark).find((f) => f.type === 'method' && f.name === name));

describe('deeply nested definitions and headers across a restart', () => {
  it(`a durable queue argument, a binding and a persistent message ${DEPTH.toLocaleString('en')} deep come back`, async () => {
    const dir = tempDir();
    const pattern = tableWith('deep', deepFieldValue(DEPTH, 'mixed', 'match'));
    const props = headersOnlyProperties(pattern);
    let b = await start(dir);
    let c = await client(b);
    raw.exchangeDeclare(c, 1, 'deep-x', 'headers', { durable: true }, empty);
    raw.queueDeclare(c, 1, 'deep-q', { durable: true }, quorumArgs('a'));
    raw.queueBind(c, 1, 'deep-q', 'deep-x', '', pattern);
    expect(await c.method('queue.bind-ok', 1)).toBeDefined();
    raw.basicPublish(c, 1, 'deep-x', '', props, Buffer.from('before'), { persistent: true });
    // A round trip after the publish, then a clean shutdown (which syncs the store).
    let mark = c.frames.length;
    raw.queueDeclare(c, 1, 'deep-q', { durable: true }, quorumArgs('a'));
    expect(await sent(c, mark, 'queue.declare-ok')).toBeDefined();
    c.destroy();
    await b.close();

    b = await start(dir);
    c = await client(b);
    mark = c.frames.length;
    raw.basicGet(c, 1, 'deep-q');
    // A quorum queue's basic.get adds x-delivery-count (0 here), so the headers are compared decoded.
    expect(deepHeader(await nextContentProperties(c, 1, mark))?.equals(deepFieldValue(DEPTH, 'mixed', 'match'))).toBe(true);
    raw.basicPublish(c, 1, 'deep-x', '', props, Buffer.from('after'));
    mark = c.frames.length;
    raw.basicGet(c, 1, 'deep-q');
    expect(deepHeader(await nextContentProperties(c, 1, mark))?.equals(deepFieldValue(DEPTH, 'mixed', 'match'))).toBe(true);
    mark = c.frames.length;
    raw.queueDeclare(c, 1, 'deep-q', { durable: true }, quorumArgs('a'));
    expect(await sent(c, mark, 'queue.declare-ok')).toBeDefined();
    raw.queueDeclare(c, 1, 'deep-q', { durable: true }, quorumArgs('b'));
    const close = await c.waitForClose();
    expect(close?.replyCode).toBe(406);
    expect(close?.replyText).toMatch(/^PRECONDITION_FAILED - inequivalent arg 'x-delivery-limit' for queue 'deep-q'/);
    c.destroy();
  });
});
