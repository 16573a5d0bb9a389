/**
 * Malformed and hostile MQTT 5 input (the 4.x personality, where MQTT 5 is served): each closes
 * only its own connection, after a DISCONNECT with the reason code MQTT 5 defines when the session
 * was past CONNECT, and the broker goes on serving. Then mutated MQTT 5 sessions (CONNECT with
 * properties, SUBSCRIBE with options, PUBLISH with properties and topic aliases) in random chunks,
 * every one ending with the broker closing the socket.
 *
 *   WARREN_MQTT_FUZZ_SESSIONS=5000 npx vitest run --project unit test/fuzz/mqtt5-input.test.ts
 */
import fc from 'fast-check';
import mqttPacket from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { connectPacket, nextMessage, rawPeer, withMqttBroker } from '../helpers/mqtt.js';

const SESSIONS = Number(process.env.WARREN_MQTT_FUZZ_SESSIONS ?? 200);
const SEED = Number(process.env.WARREN_MQTT_FUZZ_SEED ?? 0x5eed_0005);
const fx = withMqttBroker({ rabbitmqVersion: '4.x' });
const gen = (p: Record<string, unknown>) => mqttPacket.generate(p as unknown as mqttPacket.Packet, { protocolVersion: 5 });

/** A connected MQTT 5 raw peer. */
async function connected(clientId: string) {
  const peer = rawPeer(await fx.raw(), 5);
  peer.send(connectPacket({ clientId, protocolVersion: 5 }));
  expect(await peer.next()).toMatchObject({ cmd: 'connack', reasonCode: 0 });
  return peer;
}

async function disconnectedWith(clientId: string, bytes: Buffer): Promise<number | undefined> {
  const peer = await connected(clientId);
  peer.send(bytes);
  const p = await peer.next();
  await peer.closed;
  return p.cmd === 'disconnect' ? p.reasonCode : -1;
}

describe('malformed MQTT 5 input', () => {
  it('a PUBLISH with an unknown property identifier: DISCONNECT 0x81 (malformed packet)', async () => {
    // PUBLISH QoS 0, topic "t", properties length 2: identifier 0x7f (none such), one byte.
    expect(await disconnectedWith('m5-prop', Buffer.from([0x30, 0x06, 0x00, 0x01, 0x74, 0x02, 0x7f, 0x00]))).toBe(0x81);
  });

  it('topic alias 0: DISCONNECT 0x94; an empty topic without an alias: 0x82', async () => {
    expect(await disconnectedWith('m5-alias0', gen({ cmd: 'publish', topic: 't', payload: Buffer.from('x'), qos: 0, properties: { topicAlias: 0 } }))).toBe(0x94);
    expect(await disconnectedWith('m5-empty', gen({ cmd: 'publish', topic: '', payload: Buffer.from('x'), qos: 0 }))).toBe(0x82);
  });

  it('an alias never set: 0x82; a QoS 2 publish: 0x9B', async () => {
    expect(await disconnectedWith('m5-unset', gen({ cmd: 'publish', topic: '', payload: Buffer.from('x'), qos: 0, properties: { topicAlias: 5 } }))).toBe(0x82);
    expect(await disconnectedWith('m5-qos2', gen({ cmd: 'publish', topic: 'q', payload: Buffer.from('x'), qos: 2, messageId: 4 }))).toBe(0x9b);
  });

  it('a second CONNECT: DISCONNECT 0x82 (protocol error)', async () => {
    expect(await disconnectedWith('m5-twice', gen(connectPacket({ clientId: 'm5-twice', protocolVersion: 5 })))).toBe(0x82);
  });
});

const sessionArb = fc.record({
  clientId: fc.stringMatching(/^[a-z0-9]{1,10}$/),
  topics: fc.array(fc.record({ topic: fc.constantFrom('f/a', 'f/+', 'f/#', '#'), nl: fc.boolean(), rap: fc.boolean(), rh: fc.constantFrom(0, 1, 2) }), { minLength: 1, maxLength: 3 }),
  publishes: fc.array(
    fc.record({ topic: fc.constantFrom('f/a', 'f/b/c', 'g'), qos: fc.constantFrom(0, 1), alias: fc.option(fc.integer({ min: 1, max: 16 }), { nil: undefined }), user: fc.boolean(), payload: fc.uint8Array({ maxLength: 48 }) }),
    { maxLength: 5 },
  ),
});
const mutationArb = fc.array(fc.oneof(fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }), fc.record({ kind: fc.constant('cut' as const), at: fc.nat() })), { minLength: 1, maxLength: 3 });

type FuzzSession = typeof sessionArb extends fc.Arbitrary<infer T> ? T : never;

function sessionBytes(s: FuzzSession, mutations: { kind: 'flip' | 'cut'; at: number; value?: number }[]): Buffer {
  const packets: Buffer[] = [gen(connectPacket({ clientId: `fz5-${s.clientId}`, protocolVersion: 5, properties: { sessionExpiryInterval: 0, receiveMaximum: 5, topicAliasMaximum: 4 } }))];
  packets.push(gen({ cmd: 'subscribe', messageId: 1, subscriptions: s.topics.map((t) => ({ ...t, qos: 1 })) }));
  s.publishes.forEach((p, i) => {
    const properties = { ...(p.alias !== undefined ? { topicAlias: p.alias } : {}), ...(p.user ? { userProperties: { k: 'v' }, contentType: 'x/y' } : {}) };
    packets.push(gen({ cmd: 'publish', topic: p.topic, qos: p.qos, payload: Buffer.from(p.payload), properties, ...(p.qos > 0 ? { messageId: i + 2 } : {}) }));
  });
  packets.push(gen({ cmd: 'unsubscribe', messageId: 99, unsubscriptions: s.topics.map((t) => t.topic) }), gen({ cmd: 'disconnect', reasonCode: 0 }));
  let bytes = Buffer.concat(packets);
  for (const m of mutations) {
    if (bytes.length === 0) continue;
    if (m.kind === 'flip') bytes[m.at % bytes.length] = m.value!;
    else bytes = bytes.subarray(0, m.at % bytes.length);
  }
  return bytes;
}

describe('MQTT 5 fuzz', () => {
  it(`ends every one of ${SESSIONS} mutated MQTT 5 sessions with the broker closing, and keeps serving`, { timeout: 120_000 }, async () => {
    const watcher = await fx.client({ clientId: 'fuzz5-watcher' });
    await watcher.subscribeAsync('watch5/t', { qos: 1 });
    const samples = fc.sample(fc.tuple(sessionArb, mutationArb, fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 6 })), { numRuns: SESSIONS, seed: SEED });
    let roundTrips = 0;
    for (let i = 0; i < samples.length; i += 16) {
      await Promise.all(
        samples.slice(i, i + 16).map(async ([s, mutations, chunks]) => {
          const peer = rawPeer(await fx.raw(), 5);
          const bytes = sessionBytes(s, mutations);
          let at = 0;
          for (let k = 0; at < bytes.length; k++) {
            const n = chunks[k % chunks.length]!;
            peer.socket.write(bytes.subarray(at, at + n));
            at += n;
          }
          peer.socket.end();
          await peer.closed;
        }),
      );
      await watcher.publishAsync('watch5/t', `rt${i}`, { qos: 1 });
      expect((await nextMessage(watcher)).payload).toBe(`rt${i}`);
      roundTrips++;
    }
    expect(roundTrips).toBe(Math.ceil(SESSIONS / 16));
    expect([...fx.broker.mqtt!.connections].map((c) => c.clientId)).toEqual(['fuzz5-watcher']);
  });
});
