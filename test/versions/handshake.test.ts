/**
 * What each personality says and accepts before connection.open: server-properties (rabbit_reader:
 * server_properties/1), protocol negotiation (rabbit_reader: handshake/2 of 3.10 and 3.13,
 * version_negotiation/2 of 4.x) and the frame_max minimum (?FRAME_MIN_SIZE: 4096, 8192 since 4.1.0).
 * The 3.10 values were observed on the reference RabbitMQ 3.10.8 with a raw socket; the 3.13 and 4.x
 * ones are read from the v3.13.7 and v4.3.5 sources named in docs/rabbitmq-versions.md.
 */
import { describe, expect, it } from 'vitest';
import type { Writer } from '../../src/protocol/codec-primitives.js';
import { fv, table, toPlain } from '../../src/protocol/field-table.js';
import { Method, encodeConnectionStartOk, encodeConnectionTuneOk, encodeConnectionOpen } from '../../src/protocol/generated/methods.js';
import { VERSION } from '../../src/version.js';
import { RawClient } from '../helpers/raw-client.js';
import { withReleases } from '../helpers/versions.js';

const b = withReleases(['default', '3.10', '3.13', '4.x']);

const CAPABILITIES = {
  publisher_confirms: true,
  exchange_exchange_bindings: true,
  'basic.nack': true,
  consumer_cancel_notify: true,
  'connection.blocked': true,
  consumer_priorities: true,
  authentication_failure_close: true,
  per_consumer_qos: true,
  direct_reply_to: true,
};

async function start(port: number, header: Buffer) {
  const c = await RawClient.connect(port);
  c.send(header);
  const m = await c.method('connection.start');
  if (m?.id !== Method.ConnectionStart) throw new Error('no connection.start');
  return { c, start: m, props: toPlain(m.serverProperties) };
}

const HEADER_091 = Buffer.from('AMQP\x00\x00\x09\x01', 'latin1');
const HEADER_08 = Buffer.from('AMQP\x01\x01\x08\x00', 'latin1');
const HEADER_08_SPEC = Buffer.from('AMQP\x01\x01\x09\x01', 'latin1');
const HEADER_10_SASL = Buffer.from('AMQP\x03\x01\x00\x00', 'latin1');

async function refusal(port: number, header: Buffer): Promise<Buffer> {
  const c = await RawClient.connect(port);
  c.send(header);
  expect(await c.waitClosed()).toBe(true);
  return c.rawBytes;
}

describe('server-properties', () => {
  const RELEASES = [
    ['3.10', '3.10.8', 'Copyright (c) 2007-2022 VMware, Inc. or its affiliates.', 'Erlang/OTP 25.2.3'],
    ['3.13', '3.13.7', 'Copyright (c) 2007-2024 Broadcom Inc and/or its subsidiaries', 'Erlang/OTP 26.2.5'],
    ['4.x', '4.3.5', 'Copyright (c) 2007-2026 Broadcom Inc and/or its subsidiaries', 'Erlang/OTP 27.3.4'],
  ] as const;

  it('say what the chosen RabbitMQ release says, and Warren its own version under `warren`; without a release, Warren', async () => {
    for (const [release, version, copyright, platform] of RELEASES) {
      const { c, props } = await start(b[release].broker.port, HEADER_091);
      // rabbit_reader:server_properties/1 usorts the keys; `warren` sorts last.
      expect(Object.keys(props), release).toEqual(['capabilities', 'cluster_name', 'copyright', 'information', 'platform', 'product', 'version', 'warren']);
      expect(props).toMatchObject({
        capabilities: CAPABILITIES,
        copyright,
        information: 'Licensed under the MPL 2.0. Website: https://rabbitmq.com',
        platform,
        product: 'RabbitMQ',
        version,
        warren: VERSION,
      });
      expect(props.cluster_name).toMatch(/^rabbit@/);
      c.destroy();
    }
    const { c, props } = await start(b.default.broker.port, HEADER_091);
    expect(Object.keys(props)).toEqual(['capabilities', 'cluster_name', 'copyright', 'information', 'platform', 'product', 'version']);
    expect(props).toMatchObject({ capabilities: CAPABILITIES, product: 'Warren', version: VERSION });
    c.destroy();
  });
});

describe('protocol negotiation', () => {
  it('3.10 and 3.13 answer an AMQP 0-8 header with a 0-8 connection.start, capabilities empty; other headers with 0-9-1', async () => {
    for (const release of ['3.10', '3.13'] as const) {
      for (const header of [HEADER_08, HEADER_08_SPEC]) {
        const { c, start: m, props } = await start(b[release].broker.port, header);
        // As the reference 3.10.8 sends it: version 8-0, server_capabilities/1 is [] for 0-8.
        expect([m.versionMajor, m.versionMinor]).toEqual([8, 0]);
        expect(props.capabilities).toEqual({});
        expect(props.product).toBe('RabbitMQ');
        expect(m.mechanisms.toString()).toBe('AMQPLAIN PLAIN');
        expect(m.locales.toString()).toBe('en_US');
        c.destroy();
      }
      expect(await refusal(b[release].broker.port, Buffer.from('AMQP\x00\x01\x00\x00', 'latin1'))).toEqual(HEADER_091);
      expect(await refusal(b[release].broker.port, Buffer.from('GET / HTTP/1.1\r\n\r\n'))).toEqual(HEADER_091);
    }
  });

  it('after the 0-8 connection.start, Warren goes no further: a start-ok gets no reply and the socket closes', async () => {
    const { c } = await start(b['3.10'].broker.port, HEADER_08);
    const response = Buffer.from('\u0000guest\u0000guest');
    c.sendEncoded((w: Writer) => encodeConnectionStartOk(w, 0, { clientProperties: table([['product', fv.str('t')]]), mechanism: 'PLAIN', response, locale: 'en_US' }));
    expect(await c.waitClosed()).toBe(true);
    expect(c.frames.filter((f) => f.type === 'method').map((f) => f.type === 'method' && f.name)).toEqual(['connection.start']);
  });

  it('4.x refuses AMQP 0-8 (removed in 4.0) and unknown headers with the AMQP 1.0 SASL header', async () => {
    const port = b['4.x'].broker.port;
    expect(await refusal(port, HEADER_08)).toEqual(HEADER_10_SASL);
    expect(await refusal(port, HEADER_08_SPEC)).toEqual(HEADER_10_SASL);
    expect(await refusal(port, Buffer.from('GET / HTTP/1.1\r\n\r\n'))).toEqual(HEADER_10_SASL);
    // AMQP 1.0 without SASL: sasl_required, the SASL header again.
    expect(await refusal(port, Buffer.from('AMQP\x00\x01\x00\x00', 'latin1'))).toEqual(HEADER_10_SASL);
    // `AMQP 0 0 9+ x` still gets 0-9-1's header.
    expect(await refusal(port, Buffer.from('AMQP\x00\x00\x09\x02', 'latin1'))).toEqual(HEADER_091);
    expect(await refusal(port, Buffer.from('AMQP\x00\x00\x0a\x00', 'latin1'))).toEqual(HEADER_091);
    // 4.x would speak AMQP 1.0 to its SASL header; Warren has no 1.0, and answers 0-9-1's.
    expect(await refusal(port, HEADER_10_SASL)).toEqual(HEADER_091);
    // Warren as itself answers 0-9-1's header to everything it refuses (the 0-9-1 spec's rule).
    expect(await refusal(b.default.broker.port, HEADER_08)).toEqual(HEADER_091);
    expect(await refusal(b.default.broker.port, HEADER_10_SASL)).toEqual(HEADER_091);
  });
});

/** A handshake that offers `frameMax` in tune-ok: open-ok, or the silent close of a refused tune. */
async function tuneWith(port: number, frameMax: number): Promise<'open' | 'closed silently'> {
  const c = await RawClient.connect(port);
  try {
    await c.handshake({ frameMax });
    if (c.frames.some((f) => f.type === 'method' && f.name === 'connection.open-ok')) return 'open';
    expect(await c.waitClosed()).toBe(true);
    expect(c.closeMethod()).toBeUndefined();
    return 'closed silently';
  } finally {
    c.destroy();
  }
}

describe('frame_max minimum', () => {
  it('3.x accepts 4096; 4.x (4.1.0 and later) refuses below 8192, the way 3.10 refuses 4095', async () => {
    expect(await tuneWith(b['3.10'].broker.port, 4096)).toBe('open');
    expect(await tuneWith(b['3.13'].broker.port, 4096)).toBe('open');
    expect(await tuneWith(b['3.10'].broker.port, 4095)).toBe('closed silently');
    expect(await tuneWith(b['4.x'].broker.port, 8191)).toBe('closed silently');
    expect(await tuneWith(b['4.x'].broker.port, 8192)).toBe('open');
    expect(await tuneWith(b.default.broker.port, 4096)).toBe('closed silently');
  });

  it('logs the refusal with RabbitMQ\'s text naming the release\'s minimum', async () => {
    const p = b['4.x'];
    expect(await tuneWith(p.broker.port, 4096)).toBe('closed silently');
    expect(p.log.map((l) => l.msg)).toContain(
      'handshake error in state tuning: NOT_ALLOWED - negotiated frame_max = 4096 is lower than the minimum allowed value (8192)',
    );
  });

  it('before tune-ok, frames up to the release\'s minimum are allowed: a 6000-byte start-ok passes 4.x, not 3.10', async () => {
    const startOk = (c: RawClient) => {
      // A long client property (as a JWT-carrying client sends) makes the frame 6000 bytes or more.
      const clientProperties = table([['padding', fv.str('x'.repeat(6000))]]);
      c.sendEncoded((w: Writer) => encodeConnectionStartOk(w, 0, { clientProperties, mechanism: 'PLAIN', response: Buffer.from('\u0000guest\u0000guest'), locale: 'en_US' }));
    };
    const four = await start(b['4.x'].broker.port, HEADER_091);
    startOk(four.c);
    expect(await four.c.method('connection.tune')).toBeDefined();
    four.c.sendEncoded((w: Writer) => encodeConnectionTuneOk(w, 0, { channelMax: 2047, frameMax: 131072, heartbeat: 0 }));
    four.c.sendEncoded((w: Writer) => encodeConnectionOpen(w, 0, { virtualHost: '/' }));
    expect(await four.c.method('connection.open-ok')).toBeDefined();
    four.c.destroy();

    const three = await start(b['3.10'].broker.port, HEADER_091);
    startOk(three.c);
    expect(await three.c.waitClosed()).toBe(true);
    expect(three.c.frames.some((f) => f.type === 'method' && f.name === 'connection.tune')).toBe(false);
  });
});
