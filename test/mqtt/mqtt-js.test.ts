/**
 * MQTT 3.1.1 (and 3.1.0) with a real client, mqtt.js, against the behaviour recorded from RabbitMQ
 * 3.10.8's MQTT plugin (compat/mqtt.test.ts compares the two side by side). "Nothing arrives" is
 * shown by a marker: a later message on the same connection arrives first.
 */
import { describe, expect, it } from 'vitest';
import { closed, nextMessage, withMqttBroker } from '../helpers/mqtt.js';

const fx = withMqttBroker();

describe('MQTT 3.1.1 with mqtt.js', () => {
  it('accepts a connection with CONNACK 0, and MQTT 3.1.0 (MQIsdp) too', async () => {
    expect(await fx.tryConnect({ clientId: 'c-311' })).toEqual({ returnCode: 0, sessionPresent: false });
    const v3 = await fx.client({ clientId: 'c-310', protocolVersion: 3, protocolId: 'MQIsdp' });
    await v3.subscribeAsync('v3/t', { qos: 1 });
    const got = nextMessage(v3);
    await v3.publishAsync('v3/t', 'old', { qos: 1 });
    expect(await got).toMatchObject({ topic: 'v3/t', payload: 'old', qos: 1 });
  });

  it('delivers QoS 0 and QoS 1 publishes through wildcard subscriptions, QoS 2 granted as 1', async () => {
    const sub = await fx.client({ clientId: 'wild-sub' });
    const granted = await sub.subscribeAsync({ 'w/+/temp': { qos: 1 }, 'w/all/#': { qos: 0 }, 'w/two': { qos: 2 } });
    expect(granted.map((g) => g.qos)).toEqual([1, 0, 1]);
    const pub = await fx.client({ clientId: 'wild-pub' });
    const seen: { topic: string; qos: number }[] = [];
    const four = new Promise<void>((resolve) =>
      sub.on('message', (topic, _p, packet) => {
        seen.push({ topic, qos: packet.qos });
        if (seen.length === 4) resolve();
      }),
    );
    await pub.publishAsync('w/kitchen/temp', 'a', { qos: 1 });
    await pub.publishAsync('w/all/x/y', 'b', { qos: 0 });
    await pub.publishAsync('w/two', 'c', { qos: 2 });
    await pub.publishAsync('w/hall/temp', 'd', { qos: 0 });
    await four;
    expect(seen).toEqual([
      { topic: 'w/kitchen/temp', qos: 1 },
      { topic: 'w/all/x/y', qos: 0 },
      { topic: 'w/two', qos: 1 },
      // a QoS 0 publish reaches a QoS 1 subscription at QoS 0 (x-mqtt-publish-qos)
      { topic: 'w/hall/temp', qos: 0 },
    ]);
  });

  it('stops delivering a filter after UNSUBSCRIBE', async () => {
    const sub = await fx.client({ clientId: 'unsub' });
    await sub.subscribeAsync(['u/a', 'u/b'], { qos: 1 });
    await sub.unsubscribeAsync('u/a');
    const pub = await fx.client({ clientId: 'unsub-pub' });
    const got = nextMessage(sub);
    await pub.publishAsync('u/a', 'gone', { qos: 1 });
    await pub.publishAsync('u/b', 'marker', { qos: 1 });
    expect((await got).payload).toBe('marker');
  });

  it('keeps a retained message for later subscribers of its exact topic; an empty one clears it', async () => {
    const pub = await fx.client({ clientId: 'ret-pub' });
    await pub.publishAsync('r/a', 'kept', { qos: 1, retain: true });
    const exact = await fx.client({ clientId: 'ret-exact' });
    const first = nextMessage(exact);
    await exact.subscribeAsync('r/a', { qos: 0 });
    expect(await first).toEqual({ topic: 'r/a', payload: 'kept', qos: 0, retain: true, dup: false });
    // RabbitMQ 3.10 looks the filter up as a key: a wildcard subscription gets no retained message.
    const wild = await fx.client({ clientId: 'ret-wild' });
    await wild.subscribeAsync('r/+', { qos: 1 });
    const marker = nextMessage(wild);
    await pub.publishAsync('r/marker', 'marker', { qos: 1 });
    expect((await marker).payload).toBe('marker');
    await pub.publishAsync('r/a', '', { qos: 1, retain: true });
    const late = await fx.client({ clientId: 'ret-late' });
    await late.subscribeAsync(['r/a', 'r/marker2'], { qos: 1 });
    const after = nextMessage(late);
    await pub.publishAsync('r/marker2', 'marker', { qos: 1 });
    expect(await after).toMatchObject({ topic: 'r/marker2', retain: false });
  });

  it('publishes the will when the client vanishes, not after DISCONNECT', async () => {
    const watcher = await fx.client({ clientId: 'will-watch' });
    await watcher.subscribeAsync('will/#', { qos: 1 });
    const polite = await fx.client({ clientId: 'will-polite', will: { topic: 'will/polite', payload: Buffer.from('p'), qos: 1, retain: false } });
    await polite.endAsync();
    const abrupt = await fx.client({ clientId: 'will-abrupt', will: { topic: 'will/abrupt', payload: Buffer.from('gone'), qos: 1, retain: false } });
    abrupt.stream.destroy();
    expect(await nextMessage(watcher)).toMatchObject({ topic: 'will/abrupt', payload: 'gone', qos: 1 });
  });

  it('keeps a persistent session: subscriptions and QoS 1 messages wait for the client; clean session ends it', async () => {
    const first = await fx.client({ clientId: 'pers', clean: false });
    await first.subscribeAsync('pers/t', { qos: 1 });
    await first.endAsync();
    const pub = await fx.client({ clientId: 'pers-pub' });
    await pub.publishAsync('pers/t', 'while away', { qos: 1 });
    // A client id never seen has no session to find.
    expect(await fx.tryConnect({ clientId: 'pers-new', clean: false })).toEqual({ returnCode: 0, sessionPresent: false });
    const second = await fx.client({ clientId: 'pers', clean: false });
    const got = await nextMessage(second);
    expect(got).toMatchObject({ topic: 'pers/t', payload: 'while away', qos: 1 });
    await second.endAsync();
    expect(await fx.tryConnect({ clientId: 'pers', clean: false })).toEqual({ returnCode: 0, sessionPresent: true });
    expect(await fx.tryConnect({ clientId: 'pers', clean: true })).toEqual({ returnCode: 0, sessionPresent: false });
    expect(await fx.tryConnect({ clientId: 'pers', clean: false })).toEqual({ returnCode: 0, sessionPresent: false });
  });

  it('closes the older connection of a client id taken over, without its will', async () => {
    const watcher = await fx.client({ clientId: 'take-watch' });
    await watcher.subscribeAsync(['take/will', 'take/marker'], { qos: 1 });
    const old = await fx.client({ clientId: 'taken', will: { topic: 'take/will', payload: Buffer.from('w'), qos: 1, retain: false } });
    const oldClosed = closed(old);
    const fresh = await fx.client({ clientId: 'taken' });
    await oldClosed;
    const got = nextMessage(watcher);
    await fresh.publishAsync('take/marker', 'marker', { qos: 1 });
    expect((await got).topic).toBe('take/marker');
  });

  it('refuses logins with RabbitMQ 3.10.8 return codes', async () => {
    const db = fx.broker.broker.access;
    db.putVhost({ name: 'other' });
    db.putUser({ name: 'noperm', password: 'pw', tags: [] });
    db.putUser({ name: 'vuser', password: 'pw', tags: [] });
    db.setPermissions('vuser', 'other', '.*', '.*', '.*');
    expect((await fx.tryConnect({ clientId: 'l1', username: 'guest', password: 'wrong' })).returnCode).toBe(4);
    expect((await fx.tryConnect({ clientId: 'l2', username: 'nowhere:guest', password: 'guest' })).returnCode).toBe(4);
    expect((await fx.tryConnect({ clientId: 'l3', username: 'noperm', password: 'pw' })).returnCode).toBe(5);
    expect((await fx.tryConnect({ clientId: 'l4', username: 'vuser', password: 'pw' })).returnCode).toBe(5);
    expect((await fx.tryConnect({ clientId: 'l5', username: 'other:vuser', password: 'pw' })).returnCode).toBe(0);
    expect((await fx.tryConnect({ clientId: 'l6', username: 'guest' })).returnCode).toBe(4);
    // Anonymous: mqtt.allow_anonymous (on, as RabbitMQ's default) logs in as guest.
    expect((await fx.tryConnect({ clientId: 'l7' })).returnCode).toBe(0);
  });

  it('applies permissions and topic permissions: a refused publish or subscribe closes the connection', async () => {
    const db = fx.broker.broker.access;
    db.putUser({ name: 'topical', password: 'pw', tags: [] });
    db.setPermissions('topical', '/', '.*', '.*', '.*');
    db.setTopicPermissions('topical', '/', 'amq.topic', '^mine\\.{client_id}$', '^news\\..*');
    const ok = await fx.client({ clientId: 'tp1', username: 'topical', password: 'pw' });
    await ok.subscribeAsync('news/today', { qos: 1 });
    const got = nextMessage(ok);
    await ok.publishAsync('mine/tp1', 'allowed', { qos: 1 });
    const g = await fx.client({ clientId: 'tp-g' });
    await g.publishAsync('news/today', 'hello', { qos: 1 });
    expect((await got).payload).toBe('hello');
    const pubRefused = await fx.client({ clientId: 'tp2', username: 'topical', password: 'pw' });
    const c1 = closed(pubRefused);
    pubRefused.publish('mine/someone-else', 'no', { qos: 1 });
    await c1;
    const subRefused = await fx.client({ clientId: 'tp3', username: 'topical', password: 'pw' });
    const c2 = closed(subRefused);
    subRefused.subscribe('sport/#', { qos: 0 });
    await c2;
    expect(pubRefused.connected || subRefused.connected).toBe(false);
  });
});
