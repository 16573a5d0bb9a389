// MQTT 3.1.1 scenarios (compat/mqtt.test.ts), each run against RabbitMQ 3.10.8's rabbitmq_mqtt and
// against Warren. Every step waits for what it needs (a CONNACK, a SUBACK, the n-th message), so
// the transcripts are in an order both brokers must produce. "Nothing arrives" is shown by a
// marker message that arrives first.
import mqttPacket from 'mqtt-packet';
import WebSocket from 'ws';
import type { MqttCtx, MqttScenario } from '../harness/mqtt.js';

const gen = (p: Record<string, unknown>) => mqttPacket.generate(p as unknown as mqttPacket.Packet, { protocolVersion: 4 });

/** Writes packets on a raw socket and records what comes back until the broker closes or `until` packets came. */
async function rawExchange(t: MqttCtx, label: string, packets: Buffer[], until: number): Promise<void> {
  const s = await t.raw();
  const parser = mqttPacket.parser({ protocolVersion: 4 });
  let n = 0;
  await new Promise<void>((resolve) => {
    parser.on('packet', (p: mqttPacket.Packet) => {
      const { cmd } = p;
      const fields = cmd === 'connack' ? { returnCode: p.returnCode, sessionPresent: p.sessionPresent } : cmd === 'puback' || cmd === 'suback' ? { messageId: p.messageId, ...(cmd === 'suback' ? { granted: p.granted } : {}) } : {};
      t.record({ [label]: cmd, ...fields });
      if (++n === until) resolve();
    });
    s.on('data', (d) => parser.parse(d));
    s.once('close', () => {
      t.record({ [label]: 'closed' });
      resolve();
    });
    for (const b of packets) s.write(b);
  });
  s.destroy();
}

const connect = (clientId: string, fields: Record<string, unknown> = {}) =>
  gen({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId, keepalive: 0, username: 'guest', password: Buffer.from('guest'), ...fields });

export const mqttScenarios: MqttScenario[] = [
  {
    id: 'mqtt/connect/return-codes',
    async body(t) {
      await t.connect('ok', { clientId: t.n('ok') });
      await t.connect('anonymous', { clientId: t.n('anon'), username: undefined, password: undefined });
      await t.connect('bad-password', { clientId: t.n('bad'), password: 'wrong' });
      await t.connect('no-vhost', { clientId: t.n('nov'), username: `${t.n('nowhere')}:guest` });
      await t.connect('named-vhost', { clientId: t.n('vh'), username: '/:guest' });
      await t.connect('user-without-password', { clientId: t.n('nopw'), password: undefined });
      // An empty client id needs clean session (mqtt.js refuses to send one: a raw CONNECT).
      const empty = connect('', { clean: true });
      empty[9]! &= ~0x02;
      await rawExchange(t, 'empty-id-persistent', [empty], 2);
    },
  },
  {
    id: 'mqtt/connect/unsupported-level',
    async body(t) {
      for (const level of [5, 6]) {
        const b = connect(t.n(`lvl${level}`));
        b[8] = level;
        await rawExchange(t, `level-${level}`, [b], 1);
      }
    },
  },
  {
    id: 'mqtt/protocol/subscribe-before-connect',
    async body(t) {
      await rawExchange(t, 'raw', [gen({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: t.n('x'), qos: 0 }] })], 1);
    },
  },
  {
    id: 'mqtt/publish/qos-levels-and-wildcards',
    async body(t) {
      const sub = await t.connect('sub', { clientId: t.n('sub') });
      await t.subscribe('sub', sub, { [t.n('a/+')]: { qos: 1 }, [t.n('b/#')]: { qos: 0 }, [t.n('c')]: { qos: 2 } });
      const pub = await t.connect('pub', { clientId: t.n('pub') });
      await pub.publishAsync(t.n('a/x'), 'one', { qos: 1 });
      await t.received('sub', 1);
      await pub.publishAsync(t.n('b/y/z'), 'two', { qos: 0 });
      await t.received('sub', 2);
      await pub.publishAsync(t.n('c'), 'three', { qos: 2 });
      await t.received('sub', 3);
      await pub.publishAsync(t.n('a/y'), 'four', { qos: 0 });
      await t.received('sub', 4);
    },
  },
  {
    id: 'mqtt/publish/qos2-answered-with-puback',
    async body(t) {
      await rawExchange(t, 'raw', [connect(t.n('q2')), gen({ cmd: 'publish', topic: t.n('q2/t'), payload: 'p', qos: 2, messageId: 7 })], 2);
    },
  },
  {
    id: 'mqtt/subscribe/unsubscribe',
    async body(t) {
      const sub = await t.connect('sub', { clientId: t.n('sub') });
      await t.subscribe('sub', sub, { [t.n('u/a')]: { qos: 1 }, [t.n('u/b')]: { qos: 1 } });
      await sub.unsubscribeAsync(t.n('u/a'));
      const pub = await t.connect('pub', { clientId: t.n('pub') });
      await pub.publishAsync(t.n('u/a'), 'unsubscribed', { qos: 1 });
      await pub.publishAsync(t.n('u/b'), 'marker', { qos: 1 });
      await t.received('sub', 1);
    },
  },
  {
    id: 'mqtt/retained/exact-topic-only-and-cleared',
    async body(t) {
      const pub = await t.connect('pub', { clientId: t.n('pub') });
      await pub.publishAsync(t.n('r/a'), 'kept', { qos: 1, retain: true });
      const exact = await t.connect('exact', { clientId: t.n('exact') });
      await t.subscribe('exact', exact, { [t.n('r/a')]: { qos: 1 } });
      await t.received('exact', 1);
      const wild = await t.connect('wild', { clientId: t.n('wild') });
      await t.subscribe('wild', wild, { [t.n('r/+')]: { qos: 0 } });
      await pub.publishAsync(t.n('r/marker'), 'marker', { qos: 1 });
      await t.received('wild', 1);
      await pub.publishAsync(t.n('r/a'), '', { qos: 1, retain: true });
      await t.received('exact', 2);
      await t.received('wild', 2);
      const late = await t.connect('late', { clientId: t.n('late') });
      await t.subscribe('late', late, { [t.n('r/a')]: { qos: 1 }, [t.n('r/marker')]: { qos: 1 } });
      await pub.publishAsync(t.n('r/marker'), 'marker', { qos: 1 });
      await t.received('late', 1);
    },
  },
  {
    id: 'mqtt/will/vanished-client-not-disconnect',
    async body(t) {
      const watcher = await t.connect('watcher', { clientId: t.n('watch') });
      await t.subscribe('watcher', watcher, { [t.n('will/#')]: { qos: 1 } });
      const polite = await t.connect('polite', { clientId: t.n('polite'), will: { topic: t.n('will/polite'), payload: Buffer.from('p'), qos: 1, retain: false } });
      await t.disconnect(polite);
      const abrupt = await t.connect('abrupt', { clientId: t.n('abrupt'), will: { topic: t.n('will/abrupt'), payload: Buffer.from('gone'), qos: 0, retain: false } });
      abrupt.stream.destroy();
      await t.received('watcher', 1);
    },
  },
  {
    id: 'mqtt/session/client-id-takeover',
    async body(t) {
      const watcher = await t.connect('watcher', { clientId: t.n('watch') });
      await t.subscribe('watcher', watcher, { [t.n('take/#')]: { qos: 1 } });
      const first = await t.connect('first', { clientId: t.n('same'), will: { topic: t.n('take/will'), payload: Buffer.from('w'), qos: 1, retain: false } });
      const firstClosed = t.closed('first', first);
      const second = await t.connect('second', { clientId: t.n('same') });
      await firstClosed;
      await second.publishAsync(t.n('take/marker'), 'marker', { qos: 1 });
      await t.received('watcher', 1);
    },
  },
  {
    id: 'mqtt/session/persistent-and-clean',
    async body(t) {
      const id = t.n('pers');
      const s1 = await t.connect('s1', { clientId: id, clean: false });
      await t.subscribe('s1', s1, { [t.n('p/t')]: { qos: 1 } });
      await t.disconnect(s1);
      const pub = await t.connect('pub', { clientId: t.n('pub') });
      await pub.publishAsync(t.n('p/t'), 'while away', { qos: 1 });
      await t.connect('s2', { clientId: id, clean: false });
      await t.received('s2', 1);
      await t.connect('clean', { clientId: id, clean: true });
      await t.connect('s3', { clientId: id, clean: false });
    },
  },
  {
    id: 'mqtt/cross/mqtt-to-amqp',
    async body(t) {
      const ch = await t.amqpChannel();
      const { queue } = await ch.assertQueue('', { exclusive: true });
      await ch.bindQueue(queue, 'amq.topic', `${t.n('home')}.*.temp`);
      const got: Record<string, unknown>[] = [];
      const three = new Promise<void>((resolve) => {
        void ch.consume(queue, (m) => {
          if (m === null) return;
          got.push({ amqp: 'deliver', exchange: m.fields.exchange, routingKey: m.fields.routingKey, body: m.content.toString(), properties: m.properties });
          if (got.length === 3) resolve();
        }, { noAck: true });
      });
      const pub = await t.connect('pub', { clientId: t.n('pub') });
      await pub.publishAsync(t.n('home/kitchen/temp'), '21.5', { qos: 1 });
      await pub.publishAsync(t.n('home/hall/temp'), '19', { qos: 0 });
      await pub.publishAsync(t.n('home/attic/temp'), '30', { qos: 1 });
      await three;
      // RabbitMQ 3.10 publishes QoS 0 and QoS 1 on two channels of its own, so their order is not
      // kept: the deliveries are compared by routing key.
      got.sort((a, b) => String(a.routingKey).localeCompare(String(b.routingKey)));
      for (const g of got) t.record(g);
    },
  },
  {
    id: 'mqtt/cross/amqp-to-mqtt',
    async body(t) {
      const sub = await t.connect('sub', { clientId: t.n('sub') });
      await t.subscribe('sub', sub, { [t.n('dev/+/cmd')]: { qos: 1 }, [t.n('q0/#')]: { qos: 0 } });
      const ch = await t.amqpChannel();
      ch.publish('amq.topic', `${t.n('dev')}.lamp.cmd`, Buffer.from('plain'));
      await ch.waitForConfirms();
      await t.received('sub', 1);
      ch.publish('amq.topic', `${t.n('dev')}.fan.cmd`, Buffer.from('header qos 0'), { headers: { 'x-mqtt-publish-qos': { '!': 'byte', value: 0 } } });
      await ch.waitForConfirms();
      await t.received('sub', 2);
      ch.publish('amq.topic', `${t.n('q0')}.x`, Buffer.from('to a qos 0 subscription'), { deliveryMode: 2 });
      await ch.waitForConfirms();
      await t.received('sub', 3);
    },
  },
  {
    id: 'mqtt/websocket/round-trip',
    async body(t) {
      const sub = await t.connect('ws-sub', { clientId: t.n('wssub') }, 'ws');
      await t.subscribe('ws-sub', sub, { [t.n('w/+')]: { qos: 1 }, [t.n('w/kept')]: { qos: 1 } });
      const tcp = await t.connect('tcp-pub', { clientId: t.n('tcppub') });
      await tcp.publishAsync(t.n('w/tcp'), 'over tcp', { qos: 1 });
      await t.received('ws-sub', 1);
      const wsPub = await t.connect('ws-pub', { clientId: t.n('wspub') }, 'ws');
      // Both filters match, the queue has it once.
      await wsPub.publishAsync(t.n('w/kept'), 'retained over ws', { qos: 1, retain: true });
      await t.received('ws-sub', 2);
      const ch = await t.amqpChannel();
      ch.publish('amq.topic', `${t.n('w')}.amqp`, Buffer.from('over amqp'));
      await ch.waitForConfirms();
      await t.received('ws-sub', 3);
      const late = await t.connect('ws-late', { clientId: t.n('wslate') }, 'ws');
      await t.subscribe('ws-late', late, { [t.n('w/kept')]: { qos: 1 } });
      await t.received('ws-late', 1);
    },
  },
  {
    id: 'mqtt/websocket/text-frame',
    async body(t) {
      // A CONNECT in a text frame, then a PINGREQ in a binary frame: CONNACK and PINGRESP if the
      // text frame was read, a close if it was refused or ignored.
      const ws = new WebSocket(`ws://127.0.0.1:${t.target.mqttWsPort}/ws`, ['mqtt']);
      ws.on('error', () => {});
      await new Promise<void>((resolve) => ws.once('open', () => resolve()));
      await new Promise<void>((resolve) => {
        const parser = mqttPacket.parser({ protocolVersion: 4 });
        let n = 0;
        parser.on('packet', (p: mqttPacket.Packet) => {
          t.record({ raw: p.cmd });
          if (++n === 2) resolve();
        });
        ws.on('message', (d: Buffer) => parser.parse(d));
        ws.once('close', (code: number) => {
          t.record({ raw: 'closed', code });
          resolve();
        });
        ws.send(connect(t.n('text')).toString('latin1'));
        ws.send(gen({ cmd: 'pingreq' }));
      });
      ws.terminate();
    },
  },
  {
    id: 'mqtt/websocket/upgrade-refusals',
    async body(t) {
      for (const [label, protocols, path] of [
        ['no-subprotocol', [], '/ws'],
        ['other-subprotocol', ['stomp'], '/ws'],
        ['mqttv3.1', ['mqttv3.1'], '/ws'],
        ['other-path', ['mqtt'], '/mqtt'],
      ] as const) {
        const ws = new WebSocket(`ws://127.0.0.1:${t.target.mqttWsPort}${path}`, [...protocols]);
        ws.on('error', () => {});
        const outcome = await new Promise<Record<string, unknown>>((resolve) => {
          ws.once('open', () => resolve({ opened: ws.protocol }));
          ws.once('unexpected-response', (_req, res) => resolve({ status: res.statusCode }));
        });
        ws.terminate();
        t.record({ [label]: outcome });
      }
    },
  },
];
