/**
 * Malformed and hostile MQTT input: each closes only its own connection, with a log line, and the
 * broker goes on serving. Then a small fuzz: valid sessions (CONNECT, SUBSCRIBE, PUBLISH at QoS 0
 * and 1, PUBACK, UNSUBSCRIBE, PINGREQ, DISCONNECT) mutated at the byte and packet level and sent in
 * random chunks; every one must end with the broker closing the socket once the input is used up,
 * a well-behaved client keeps round-tripping meanwhile, and no connection is left at the end.
 *
 *   WARREN_MQTT_FUZZ_SESSIONS=5000 WARREN_MQTT_FUZZ_SEED=7 npx vitest run --project unit test/fuzz/mqtt-input.test.ts
 */
import { Writable } from 'node:stream';
import fc from 'fast-check';
import mqttPacket from 'mqtt-packet';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { connectPacket, nextMessage, rawPeer, withMqttBroker } from '../helpers/mqtt.js';

const SESSIONS = Number(process.env.WARREN_MQTT_FUZZ_SESSIONS ?? 300);
const SEED = Number(process.env.WARREN_MQTT_FUZZ_SEED ?? 0x5eed_0016);

const logLines: { msg: string }[] = [];
const logger = pino(
  { level: 'info' },
  new Writable({
    write(chunk, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line !== '') logLines.push(JSON.parse(line));
      done();
    },
  }),
);
const fx = withMqttBroker({ logger });

function logged(text: string): boolean {
  return logLines.some((l) => l.msg.includes(text));
}

async function expectClosedWithoutAnswer(bytes: Buffer[], logText: string) {
  const peer = rawPeer(await fx.raw());
  const answers: string[] = [];
  peer.socket.on('data', () => answers.push('data'));
  for (const b of bytes) peer.send(b);
  await peer.closed;
  expect(logged(logText)).toBe(true);
  return answers;
}

const gen = (p: Record<string, unknown>) => mqttPacket.generate(p as unknown as mqttPacket.Packet, { protocolVersion: 4 });

describe('malformed MQTT input', () => {
  it('closes on a remaining length of more than four bytes', async () => {
    expect(await expectClosedWithoutAnswer([Buffer.from([0x10, 0xff, 0xff, 0xff, 0xff, 0x01])], 'Invalid variable byte integer')).toEqual([]);
  });

  it('closes on a packet declared over the limit before its bytes arrive (64 KiB before CONNECT)', async () => {
    // CONNECT claiming 1 MiB of remaining length, then a few bytes of it.
    expect(await expectClosedWithoutAnswer([Buffer.from([0x10, 0x80, 0x80, 0x40, 0x00, 0x04])], 'is over the limit')).toEqual([]);
  });

  it('closes on reserved flag bits set', async () => {
    await expectClosedWithoutAnswer([Buffer.from([0x13, 0x00])], 'MQTT detected framing error');
  });

  it('closes on SUBSCRIBE before CONNECT, without a SUBACK', async () => {
    const answers = await expectClosedWithoutAnswer([gen({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'a', qos: 0 }] })], 'SUBSCRIBE before CONNECT');
    expect(answers).toEqual([]);
  });

  it('closes on a second CONNECT, and only that connection', async () => {
    const bystander = await fx.client({ clientId: 'bystander' });
    await bystander.subscribeAsync('by/t', { qos: 1 });
    const peer = rawPeer(await fx.raw());
    peer.send(connectPacket({ clientId: 'twice' }));
    expect(await peer.next()).toMatchObject({ cmd: 'connack', returnCode: 0 });
    peer.send(connectPacket({ clientId: 'twice' }));
    await peer.closed;
    expect(logged('a second CONNECT')).toBe(true);
    await bystander.publishAsync('by/t', 'still here', { qos: 1 });
    expect((await nextMessage(bystander)).payload).toBe('still here');
  });
});

/** One valid session's packets. */
const sessionArb = fc.record({
  clientId: fc.stringMatching(/^[a-z0-9]{1,12}$/),
  clean: fc.boolean(),
  topics: fc.array(fc.constantFrom('f/a', 'f/+', 'f/#', 'f/b/c', '#'), { minLength: 1, maxLength: 3 }),
  publishes: fc.array(fc.record({ topic: fc.constantFrom('f/a', 'f/b/c', 'g'), qos: fc.constantFrom(0, 1, 2), retain: fc.boolean(), payload: fc.uint8Array({ maxLength: 64 }) }), { maxLength: 6 }),
});

const mutationArb = fc.array(
  fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
    fc.record({ kind: fc.constant('duplicate' as const), packet: fc.nat() }),
  ),
  { minLength: 1, maxLength: 4 },
);

type FuzzSession = typeof sessionArb extends fc.Arbitrary<infer T> ? T : never;
type Mutations = typeof mutationArb extends fc.Arbitrary<infer T> ? T : never;

function sessionBytes(s: FuzzSession, mutations: Mutations): Buffer {
  const packets: Buffer[] = [gen(connectPacket({ clientId: `fz-${s.clientId}`, clean: s.clean }))];
  packets.push(gen({ cmd: 'subscribe', messageId: 1, subscriptions: s.topics.map((topic) => ({ topic, qos: 1 })) }));
  s.publishes.forEach((p, i) => packets.push(gen({ cmd: 'publish', topic: p.topic, qos: p.qos, retain: p.retain, payload: Buffer.from(p.payload), ...(p.qos > 0 ? { messageId: i + 2 } : {}) })));
  packets.push(gen({ cmd: 'puback', messageId: 1 }), gen({ cmd: 'pingreq' }), gen({ cmd: 'unsubscribe', messageId: 99, unsubscriptions: s.topics }), gen({ cmd: 'disconnect' }));
  let bytes = Buffer.concat(packets);
  for (const m of mutations) {
    if (m.kind === 'duplicate') bytes = Buffer.concat([bytes, packets[m.packet % packets.length]!]);
    else if (bytes.length === 0) continue;
    else if (m.kind === 'flip') bytes[m.at % bytes.length] = m.value;
    else if (m.kind === 'cut') bytes = bytes.subarray(0, m.at % bytes.length);
    else bytes = Buffer.concat([bytes.subarray(0, m.at % bytes.length), Buffer.from(m.bytes), bytes.subarray(m.at % bytes.length)]);
  }
  return bytes;
}

describe('MQTT fuzz', () => {
  it(`ends every one of ${SESSIONS} mutated sessions with the broker closing, and keeps serving`, { timeout: 120_000 }, async () => {
    const watcher = await fx.client({ clientId: 'fuzz-watcher' });
    await watcher.subscribeAsync('watch/t', { qos: 1 });
    const samples = fc.sample(fc.tuple(sessionArb, mutationArb, fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 8 })), { numRuns: SESSIONS, seed: SEED });
    let roundTrips = 0;
    for (let i = 0; i < samples.length; i += 16) {
      await Promise.all(
        samples.slice(i, i + 16).map(async ([s, mutations, chunks]) => {
          const peer = rawPeer(await fx.raw());
          const bytes = sessionBytes(s, mutations);
          let at = 0;
          for (let k = 0; at < bytes.length; k++) {
            const n = chunks[k % chunks.length]!;
            peer.socket.write(bytes.subarray(at, at + n));
            at += n;
          }
          // The input is used up: the broker must close (DISCONNECT, an error, or our end of the stream).
          peer.socket.end();
          await peer.closed;
        }),
      );
      await watcher.publishAsync('watch/t', `rt${i}`, { qos: 1 });
      expect((await nextMessage(watcher)).payload).toBe(`rt${i}`);
      roundTrips++;
    }
    expect(roundTrips).toBe(Math.ceil(SESSIONS / 16));
    // Only the watcher is left.
    expect([...fx.broker.mqtt!.connections].map((c) => c.clientId)).toEqual(['fuzz-watcher']);
  });
});
