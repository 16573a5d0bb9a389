/**
 * Session behaviour seen on the wire with a raw peer (what mqtt.js hides: it always acknowledges,
 * and pings on its own): mqtt.prefetch, redelivery with DUP, keep-alive at 1.5 times the interval.
 */
import { describe, expect, it } from 'vitest';
import { connectPacket, rawPeer, withMqttBroker } from '../helpers/mqtt.js';

const fx = withMqttBroker({ mqttPrefetch: 3 });

async function connected(clientId: string, fields: Record<string, unknown> = {}) {
  const peer = rawPeer(await fx.raw());
  peer.send(connectPacket({ clientId, ...fields }));
  const ack = await peer.next();
  expect(ack).toMatchObject({ cmd: 'connack', returnCode: 0 });
  return { peer, sessionPresent: (ack as { sessionPresent: boolean }).sessionPresent };
}

describe('MQTT sessions on the wire', () => {
  it('holds QoS 1 deliveries at mqtt.prefetch unacknowledged, and sends the next on PUBACK', async () => {
    const { peer } = await connected('prefetch', { clean: true });
    peer.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'pf/t', qos: 1 }] });
    expect(await peer.next()).toMatchObject({ cmd: 'suback', granted: [1] });
    const { peer: pub } = await connected('prefetch-pub');
    for (let i = 1; i <= 5; i++) pub.send({ cmd: 'publish', topic: 'pf/t', payload: `m${i}`, qos: 1, messageId: i });
    for (let i = 1; i <= 5; i++) expect(await pub.next()).toMatchObject({ cmd: 'puback', messageId: i });
    const first = [await peer.next(), await peer.next(), await peer.next()];
    expect(first.map((p) => (p as { payload: Buffer }).payload.toString())).toEqual(['m1', 'm2', 'm3']);
    // A ping's answer comes after anything already written: a fourth would be here by now.
    peer.send({ cmd: 'pingreq' });
    expect((await peer.next()).cmd).toBe('pingresp');
    peer.send({ cmd: 'puback', messageId: (first[0] as { messageId: number }).messageId });
    const fourth = await peer.next();
    expect(fourth.cmd === 'publish' && fourth.payload.toString()).toBe('m4');
    peer.send({ cmd: 'pingreq' });
    expect((await peer.next()).cmd).toBe('pingresp');
  });

  it('sends an unacknowledged QoS 1 delivery again with DUP to the next connection of a persistent session', async () => {
    const { peer } = await connected('redeliver', { clean: false });
    peer.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'rd/t', qos: 1 }] });
    await peer.next();
    const { peer: pub } = await connected('redeliver-pub');
    pub.send({ cmd: 'publish', topic: 'rd/t', payload: 'once', qos: 1, messageId: 9 });
    expect(await peer.next()).toMatchObject({ cmd: 'publish', dup: false, qos: 1 });
    peer.socket.destroy();
    await peer.closed;
    const again = await connected('redeliver', { clean: false });
    expect(again.sessionPresent).toBe(true);
    const p = await again.peer.next();
    expect(p).toMatchObject({ cmd: 'publish', dup: true, qos: 1, topic: 'rd/t' });
  });

  it('closes a connection silent for 1.5 times its keep-alive, and publishes its will', async () => {
    const { peer: watcher } = await connected('ka-watch');
    watcher.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'ka/will', qos: 0 }] });
    await watcher.next();
    const { peer } = await connected('ka', { keepalive: 1, will: { topic: 'ka/will', payload: Buffer.from('timed out'), qos: 0, retain: false } });
    const started = Date.now();
    await peer.closed;
    expect(Date.now() - started).toBeGreaterThanOrEqual(1400);
    expect(await watcher.next()).toMatchObject({ cmd: 'publish', topic: 'ka/will' });
  });
});
