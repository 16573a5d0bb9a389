// Byte-level scenarios: protocol header negotiation, tune limits, frame errors, methods out of place,
// and field tables with every type tag. Sent with compat's own codec (harness/wire.ts).
import type { Ctx } from '../harness/scenario.js';
import { scenarios } from '../harness/scenario.js';
import { contentHeader, encodeMethod, encodeTable, frame, RawConn, type Table } from '../harness/wire.js';

async function raw(t: Ctx): Promise<RawConn> {
  const r = await RawConn.open(t);
  t.onTeardown(() => r.close());
  return r;
}

async function opened(t: Ctx, opts: Parameters<RawConn['handshake']>[0] = {}): Promise<RawConn> {
  const r = await raw(t);
  await r.handshake(opts);
  await r.until('connection.open-ok');
  return r;
}

const ALL_TYPES: Table = {
  bool: ['t', true],
  int8: ['b', -5],
  uint8: ['B', 200],
  int16: ['s', -300],
  uint16: ['u', 60000],
  int32: ['I', -70000],
  uint32: ['i', 4000000000],
  int64: ['l', -5000000000],
  float: ['f', 1.5],
  double: ['d', 2.25],
  decimal: ['D', [2, 12345]],
  longstr: ['S', 'text ünicode'],
  bytes: ['x', 'deadbeef'],
  timestamp: ['T', 1700000000],
  table: ['F', { inner: ['I', 1], deeper: ['F', { s: ['S', 'x'] }] }],
  array: ['A', [['I', 1], ['S', 'two'], ['t', false], ['V', null], ['A', [['b', 1]]]]],
  void: ['V', null],
};

export default scenarios('raw', 'raw', (scenario) => {
  for (const [name, header] of Object.entries({
    'header-0-9-1': 'AMQP\x00\x00\x09\x01',
    'header-0-9-1-legacy': 'AMQP\x01\x01\x00\x09',
    'header-0-8': 'AMQP\x01\x01\x08\x00',
    'header-0-10': 'AMQP\x01\x01\x00\x0a',
    'header-1-0': 'AMQP\x00\x01\x00\x00',
    'header-http': 'GET / HTTP/1.1\r\n\r\n',
    'header-short-then-close': 'AMQ',
  })) {
    scenario(name, async (t) => {
      const r = await raw(t);
      r.header(header);
      if (name === 'header-0-9-1') {
        await r.until('connection.start');
        return;
      }
      if (name === 'header-short-then-close') {
        await t.sleep(50);
        r.close();
        t.record('closed by client');
        return;
      }
      await r.headerRejected();
    });
  }

  scenario('start-fields', async (t) => {
    const r = await raw(t);
    r.header();
    await r.until('connection.start');
  });

  scenario('start-ok-unknown-mechanism', async (t) => {
    const r = await raw(t);
    r.header();
    await r.until('connection.start');
    r.method(0, 'connection.start-ok', { 'client-properties': {}, mechanism: 'CRAM-MD5', response: 'x', locale: 'en_US' });
    await r.closedBy();
  });

  scenario('start-ok-amqplain', async (t) => {
    const r = await raw(t);
    r.header();
    await r.until('connection.start');
    const resp = encodeTable({ LOGIN: ['S', 'guest'], PASSWORD: ['S', 'guest'] }).subarray(4);
    r.method(0, 'connection.start-ok', { 'client-properties': {}, mechanism: 'AMQPLAIN', response: resp, locale: 'en_US' });
    await r.until('connection.tune');
  });

  scenario('start-ok-bad-password', async (t) => {
    const r = await raw(t);
    r.header();
    await r.until('connection.start');
    r.method(0, 'connection.start-ok', { 'client-properties': { capabilities: ['F', { authentication_failure_close: ['t', true] }] }, mechanism: 'PLAIN', response: '\0guest\0wrong', locale: 'en_US' });
    await r.closedBy();
  });

  scenario('start-ok-bad-password-without-capability', async (t) => {
    const r = await raw(t);
    r.header();
    await r.until('connection.start');
    r.method(0, 'connection.start-ok', { 'client-properties': {}, mechanism: 'PLAIN', response: '\0guest\0wrong', locale: 'en_US' });
    await r.closedBy();
  });

  scenario('start-ok-malformed-plain', async (t) => {
    const r = await raw(t);
    r.header();
    await r.until('connection.start');
    r.method(0, 'connection.start-ok', { 'client-properties': {}, mechanism: 'PLAIN', response: 'no-nul-separators', locale: 'en_US' });
    await r.closedBy();
  });

  scenario('tune-ok-echo', async (t) => {
    await opened(t);
  });

  for (const [name, tune] of Object.entries({
    'tune-frame-max-4096': { frameMax: 4096 },
    'tune-frame-max-4095': { frameMax: 4095 },
    'tune-frame-max-above-server': { frameMax: 131073 },
    'tune-frame-max-zero': { frameMax: 0 },
    'tune-channel-max-above-server': { channelMax: 4000 },
    'tune-channel-max-zero': { channelMax: 0 },
    'tune-heartbeat-5': { heartbeat: 5 },
  })) {
    scenario(name, async (t) => {
      const r = await raw(t);
      await r.handshake(tune);
      await r.closedBy();
      // A silent client is dropped between two and three heartbeat intervals (rabbit_heartbeat), so
      // how many heartbeats arrive first varies from run to run: keep one record for the run of them.
      t.events.splice(0, t.events.length, ...t.events.filter((e, i) => !(e.recv === 'frame type 8' && t.events[i - 1]?.recv === 'frame type 8')));
    });
  }

  scenario('open-missing-vhost', async (t) => {
    const r = await raw(t);
    await r.handshake({ vhost: 'no-such-vhost' });
    await r.closedBy();
  });

  scenario('channel-open-before-connection-open', async (t) => {
    const r = await raw(t);
    r.header();
    await r.until('connection.start');
    r.method(1, 'channel.open');
    await r.closedBy();
  });

  scenario('channel-open-twice', async (t) => {
    const r = await opened(t);
    await r.openChannel(1);
    r.method(1, 'channel.open');
    await r.closedBy();
  });

  scenario('method-on-unopened-channel', async (t) => {
    const r = await opened(t);
    r.method(3, 'queue.declare', { queue: 'x', exclusive: true });
    await r.closedBy();
  });

  scenario('channel-above-channel-max', async (t) => {
    const r = await opened(t, { channelMax: 5 });
    r.method(6, 'channel.open');
    await r.recv();
    r.method(6, 'queue.declare', { queue: t.n('q'), exclusive: true });
    await r.recv();
  });

  scenario('channel-zero-channel-method', async (t) => {
    const r = await opened(t);
    r.method(0, 'channel.open');
    await r.closedBy();
  });

  scenario('unknown-frame-type', async (t) => {
    const r = await opened(t);
    r.write(frame(9, 0, Buffer.from([1, 2, 3])));
    await r.closedBy();
  });

  scenario('bad-frame-end', async (t) => {
    const r = await opened(t);
    await r.openChannel(1);
    r.write(frame(1, 1, encodeMethod('basic.qos', { 'prefetch-count': 1 }), 0x00));
    await r.closedBy();
  });

  scenario('frame-larger-than-frame-max', async (t) => {
    const r = await opened(t, { frameMax: 4096 });
    await r.openChannel(1);
    r.method(1, 'basic.publish', { exchange: '', 'routing-key': 'nowhere' });
    r.write(frame(2, 1, contentHeader(10000)));
    r.write(frame(3, 1, Buffer.alloc(10000, 97)));
    await r.closedBy();
  });

  scenario('unknown-method', async (t) => {
    const r = await opened(t);
    await r.openChannel(1);
    r.write(frame(1, 1, Buffer.from([0, 60, 0, 250])));
    await r.closedBy();
  });

  scenario('unknown-class', async (t) => {
    const r = await opened(t);
    await r.openChannel(1);
    r.write(frame(1, 1, Buffer.from([0, 99, 0, 10])));
    await r.closedBy();
  });

  scenario('truncated-method', async (t) => {
    const r = await opened(t);
    await r.openChannel(1);
    r.write(frame(1, 1, Buffer.from([0, 50, 0, 10, 0])));
    await r.closedBy();
  });

  scenario('header-without-method', async (t) => {
    const r = await opened(t);
    await r.openChannel(1);
    r.write(frame(2, 1, contentHeader(1)));
    await r.closedBy();
  });

  scenario('body-without-header', async (t) => {
    const r = await opened(t);
    await r.openChannel(1);
    r.method(1, 'basic.publish', { exchange: '', 'routing-key': 'nowhere' });
    r.write(frame(3, 1, Buffer.from('x')));
    await r.closedBy();
  });

  scenario('method-instead-of-header', async (t) => {
    const r = await opened(t);
    await r.openChannel(1);
    r.method(1, 'basic.publish', { exchange: '', 'routing-key': 'nowhere' });
    r.method(1, 'basic.qos', { 'prefetch-count': 1 });
    await r.closedBy();
  });

  scenario('body-longer-than-declared', async (t) => {
    const r = await opened(t);
    await r.openChannel(1);
    r.method(1, 'basic.publish', { exchange: '', 'routing-key': 'nowhere' });
    r.write(frame(2, 1, contentHeader(2)));
    r.write(frame(3, 1, Buffer.from('xyz')));
    await r.closedBy();
  });

  scenario('header-wrong-class', async (t) => {
    const r = await opened(t);
    await r.openChannel(1);
    r.method(1, 'basic.publish', { exchange: '', 'routing-key': 'nowhere' });
    const h = contentHeader(1);
    h.writeUInt16BE(50, 0);
    r.write(frame(2, 1, h));
    await r.closedBy();
  });

  scenario('heartbeat-on-channel-1', async (t) => {
    const r = await opened(t);
    await r.openChannel(1);
    r.write(frame(8, 1, Buffer.alloc(0)));
    await r.closedBy();
  });

  scenario('heartbeat-on-channel-0-ignored', async (t) => {
    const r = await opened(t);
    r.write(frame(8, 0, Buffer.alloc(0)));
    await r.openChannel(1);
  });

  scenario('connection-close-by-client', async (t) => {
    const r = await opened(t);
    r.method(0, 'connection.close', { 'reply-code': 200, 'reply-text': 'bye' });
    await r.closedBy();
  });

  scenario('channel-close-by-client', async (t) => {
    const r = await opened(t);
    await r.openChannel(1);
    r.method(1, 'channel.close', { 'reply-code': 200, 'reply-text': 'bye' });
    await r.until('channel.close-ok');
    await r.openChannel(1);
  });

  scenario('method-after-channel-close-sent', async (t) => {
    // After the server closes a channel it ignores everything on it until channel.close-ok.
    const r = await opened(t);
    await r.openChannel(1);
    r.method(1, 'queue.declare', { queue: 'missing-x', passive: true });
    await r.until('channel.close');
    r.method(1, 'queue.declare', { queue: 'still-missing', passive: true });
    r.method(1, 'channel.close-ok');
    await r.openChannel(1);
  });

  scenario('publish-immediate', async (t) => {
    const r = await opened(t);
    await r.openChannel(1);
    r.method(1, 'basic.publish', { exchange: '', 'routing-key': 'nowhere', immediate: true });
    r.write(frame(2, 1, contentHeader(1)));
    r.write(frame(3, 1, Buffer.from('x')));
    await r.closedBy();
  });

  scenario('publish-empty-body-no-body-frame', async (t) => {
    const r = await opened(t);
    await r.openChannel(1);
    const q = t.n('q');
    r.method(1, 'queue.declare', { queue: q, exclusive: true });
    await r.until('queue.declare-ok');
    r.method(1, 'basic.publish', { exchange: '', 'routing-key': q });
    r.write(frame(2, 1, contentHeader(0)));
    r.method(1, 'basic.get', { queue: q, 'no-ack': true });
    await r.until('basic.get-ok');
    r.method(1, 'basic.get', { queue: q, 'no-ack': true });
    await r.until('basic.get-empty');
  });

  scenario('publish-body-in-many-frames', async (t) => {
    const r = await opened(t);
    await r.openChannel(1);
    const q = t.n('q');
    r.method(1, 'queue.declare', { queue: q, exclusive: true });
    await r.until('queue.declare-ok');
    r.method(1, 'basic.publish', { exchange: '', 'routing-key': q });
    r.write(frame(2, 1, contentHeader(6)));
    for (const part of ['ab', 'cd', 'ef']) r.write(frame(3, 1, Buffer.from(part)));
    r.method(1, 'basic.get', { queue: q, 'no-ack': true });
    await r.until('basic.get-ok');
    await r.recv();
    await r.recv();
  });

  scenario('field-table-all-types-round-trip', async (t) => {
    const r = await opened(t);
    await r.openChannel(1);
    const q = t.n('q');
    r.method(1, 'queue.declare', { queue: q, exclusive: true });
    await r.until('queue.declare-ok');
    r.method(1, 'basic.publish', { exchange: '', 'routing-key': q });
    r.write(frame(2, 1, contentHeader(1, { headers: ALL_TYPES, contentType: 'a/b', deliveryMode: 2 })));
    r.write(frame(3, 1, Buffer.from('x')));
    r.method(1, 'basic.get', { queue: q, 'no-ack': true });
    await r.until('basic.get-ok');
    await r.recv();
  });

  scenario('field-table-all-types-in-queue-arguments', async (t) => {
    const r = await opened(t);
    await r.openChannel(1);
    r.method(1, 'queue.declare', { queue: t.n('q'), exclusive: true, arguments: ALL_TYPES });
    await r.until('queue.declare-ok');
  });

  scenario('field-table-unknown-tag', async (t) => {
    const r = await opened(t);
    await r.openChannel(1);
    const q = t.n('q');
    r.method(1, 'queue.declare', { queue: q, exclusive: true });
    await r.until('queue.declare-ok');
    r.method(1, 'basic.publish', { exchange: '', 'routing-key': q });
    const h = contentHeader(1, { headers: { a: ['I', 1] } });
    // Corrupt the type tag of the only header: 'I' -> 'Z'.
    h[h.indexOf(Buffer.from('I'), 16)] = 'Z'.charCodeAt(0);
    r.write(frame(2, 1, h));
    r.write(frame(3, 1, Buffer.from('x')));
    r.method(1, 'basic.get', { queue: q, 'no-ack': true });
    await r.closedBy();
  });

  scenario('queue-declare-nowait', async (t) => {
    const r = await opened(t);
    await r.openChannel(1);
    const q = t.n('q');
    r.method(1, 'queue.declare', { queue: q, exclusive: true, 'no-wait': true });
    r.method(1, 'queue.declare', { queue: q, passive: true });
    await r.until('queue.declare-ok');
  });

  scenario('exchange-declare-nowait-error', async (t) => {
    const r = await opened(t);
    await r.openChannel(1);
    r.method(1, 'exchange.declare', { exchange: t.n('x'), type: 'bogus', 'no-wait': true });
    await r.closedBy();
  });

  scenario('basic-consume-nowait', async (t) => {
    const r = await opened(t);
    await r.openChannel(1);
    const q = t.n('q');
    r.method(1, 'queue.declare', { queue: q, exclusive: true });
    await r.until('queue.declare-ok');
    r.method(1, 'basic.consume', { queue: q, 'consumer-tag': 'tag1', 'no-ack': true, 'no-wait': true });
    r.method(1, 'basic.publish', { exchange: '', 'routing-key': q });
    r.write(frame(2, 1, contentHeader(1)));
    r.write(frame(3, 1, Buffer.from('x')));
    await r.until('basic.deliver');
    await r.recv();
    await r.recv();
  });

  scenario('access-request', async (t) => {
    const r = await opened(t);
    await r.openChannel(1);
    r.method(1, 'access.request', { realm: '/data', active: true, read: true });
    await r.recv();
  });

  scenario('channel-close-ok-unsolicited', async (t) => {
    // A close-ok the server did not ask for, on an open channel: 503, as any method it does not expect.
    const r = await opened(t);
    await r.openChannel(1);
    r.method(1, 'channel.close-ok');
    await r.closedBy();
  });

  scenario('methods-after-client-channel-close-ignored', async (t) => {
    // Sent after channel.close, before close-ok arrived: dropped (the declare creates nothing).
    const r = await opened(t);
    await r.openChannel(1);
    const q = t.n('q');
    r.write(
      Buffer.concat([
        frame(1, 1, encodeMethod('channel.close', { 'reply-code': 200, 'reply-text': 'bye', 'class-id': 0, 'method-id': 0 })),
        frame(1, 1, encodeMethod('queue.declare', { queue: q, durable: false, 'auto-delete': true })),
        frame(1, 1, encodeMethod('basic.qos', { 'prefetch-count': 5 })),
        frame(1, 1, encodeMethod('basic.publish', { exchange: '', 'routing-key': q })),
        frame(2, 1, contentHeader(1)),
        frame(3, 1, Buffer.from('x')),
      ]),
    );
    await r.until('channel.close-ok');
    await r.openChannel(2);
    r.method(2, 'queue.declare', { queue: q, passive: true });
    await r.until('channel.close');
    r.method(2, 'channel.close-ok');
    await r.openChannel(1);
  });

  for (const [name, payload] of Object.entries({
    'channel-zero-tx-select-trailing-byte': [0, 90, 0, 10, 0],
    'channel-zero-access-request-empty': [0, 30, 0, 10],
    'channel-zero-open-ok-empty': [0, 10, 0, 41],
    'channel-zero-connection-close-truncated': [0, 10, 0, 50, 0],
    'channel-zero-basic-qos-truncated': [0, 60, 0, 10, 0],
  })) {
    // A method on channel 0 whose arguments do not decode: RabbitMQ's reader answers 541 (no method).
    scenario(name, async (t) => {
      const r = await opened(t);
      r.write(frame(1, 0, Buffer.from(payload)));
      await r.closedBy();
    });
  }

  scenario('channel-zero-tx-select', async (t) => {
    const r = await opened(t);
    r.method(0, 'tx.select');
    await r.closedBy();
  });

  scenario('unknown-method-60-210', async (t) => {
    const r = await opened(t);
    await r.openChannel(1);
    r.write(frame(1, 1, Buffer.from([0, 60, 0, 210])));
    await r.closedBy();
  });

  scenario('basic-credit-unknown-tag', async (t) => {
    // RabbitMQ's credit extension (60,200): decoded, and refused for a tag no consumer has.
    const r = await opened(t);
    await r.openChannel(1);
    r.method(1, 'basic.credit', { 'consumer-tag': 'nobody', credit: 5, drain: false });
    await r.until('channel.close');
    r.method(1, 'channel.close-ok');
    await r.openChannel(1);
  });

  scenario('basic-credit-truncated', async (t) => {
    const r = await opened(t);
    await r.openChannel(1);
    r.write(frame(1, 1, Buffer.from([0, 60, 0, 201])));
    await r.closedBy();
  });

  for (const name of ['basic.credit-ok', 'basic.credit-drained']) {
    scenario(`${name.replace('.', '-')}-from-client`, async (t) => {
      // Methods only the server sends: 503 unimplemented method.
      const r = await opened(t);
      await r.openChannel(1);
      r.method(1, name, { available: 1, 'consumer-tag': 'c', 'credit-drained': 1 });
      await r.closedBy();
    });
  }
});

