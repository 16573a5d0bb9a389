/**
 * Strict-upgrade mode (--strict-upgrade): each use of something the next RabbitMQ major removes or
 * changes is logged once per connection and counted on the broker (`broker.upgradeWarnings`). From
 * 3.10 or 3.13 the next major is 4.x; from 4.x, the deprecated features 4.3 still accepts.
 */
import { describe, expect, it } from 'vitest';
import { RawClient } from '../helpers/raw-client.js';
import { withReleases } from '../helpers/versions.js';

const strict = withReleases(['3.10', '4.x'], { strictUpgrade: true });
const relaxed = withReleases(['3.13'], {});
let n = 0;
const name = (what: string) => `${what}-${process.pid}-${++n}`;

const warnings = (release: '3.10' | '4.x', feature: string) => strict[release].log.filter((l) => l.upgrade === feature);

describe('strict upgrade from 3.10 to 4.x', () => {
  const p = strict['3.10'];
  const count = (feature: Parameters<NonNullable<typeof p.broker.broker.upgradeWarnings>['count']>[0]) => p.broker.broker.upgradeWarnings!.count(feature);

  it('warns once per connection about global QoS, and counts each connection', async () => {
    const before = count('global_qos');
    for (let i = 0; i < 2; i++) {
      const conn = await p.connect();
      const ch = await conn.createChannel();
      await ch.prefetch(1, true);
      await ch.prefetch(2, true);
      const other = await conn.createChannel();
      await other.prefetch(3, true);
    }
    expect(count('global_qos') - before).toBe(2);
    const line = warnings('3.10', 'global_qos').at(-1)!;
    expect(line).toMatchObject({ level: 40, nextMajor: '4.0', prefetchCount: 1 });
    expect(line.msg).toBe(
      'strict upgrade: basic.qos with global=true: RabbitMQ 4.3 denies the deprecated feature global_qos by default and applies the prefetch to each new consumer instead of the channel',
    );
    // Without --strict-upgrade there is nothing to count, and nothing is logged.
    const quiet = relaxed['3.13'];
    await (await quiet.channel()).prefetch(1, true);
    expect(quiet.broker.broker.upgradeWarnings).toBeUndefined();
    expect(quiet.log.filter((l) => l.upgrade !== undefined)).toEqual([]);
  });

  it('warns about the queue declarations 4.x treats differently', async () => {
    const ch = await p.channel();
    await ch.assertQueue(name('transient'), { durable: false, exclusive: false, autoDelete: true });
    await ch.assertQueue(name('lazy'), { exclusive: true, arguments: { 'x-queue-mode': 'lazy' } });
    await ch.assertQueue(name('v1'), { exclusive: true, arguments: { 'x-queue-version': 1 } });
    const qq = name('qq');
    await ch.assertQueue(qq, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    await ch.deleteQueue(qq);
    for (const feature of ['transient_nonexcl_queues', 'x-queue-mode', 'x-queue-version-1', 'quorum_default_delivery_limit'] as const) {
      expect(count(feature), feature).toBeGreaterThanOrEqual(1);
    }
    expect(warnings('3.10', 'quorum_default_delivery_limit').at(-1)).toMatchObject({ queue: qq });
  });

  it('does not warn about what 4.x does the same way', async () => {
    const before = p.broker.broker.upgradeWarnings!.total;
    const ch = await p.channel();
    await ch.prefetch(10);
    await ch.assertQueue(name('durable'), { durable: true, autoDelete: true });
    await ch.assertQueue(name('excl'), { exclusive: true, arguments: { 'x-queue-version': 2 } });
    await ch.assertQueue(name('qq'), { durable: true, arguments: { 'x-queue-type': 'quorum', 'x-delivery-limit': 5 } });
    expect(p.broker.broker.upgradeWarnings!.total).toBe(before);
  });

  it('warns about frame_max below 8192 and the AMQP 0-8 header', async () => {
    const c = await RawClient.connect(p.broker.port);
    await c.handshake({ frameMax: 4096 });
    expect(c.frames.some((f) => f.type === 'method' && f.name === 'connection.open-ok')).toBe(true);
    c.destroy();
    expect(warnings('3.10', 'frame_max_below_8192').at(-1)).toMatchObject({ frameMax: 4096 });

    const old = await RawClient.connect(p.broker.port);
    old.send(Buffer.from('AMQP\x01\x01\x08\x00', 'latin1'));
    await old.method('connection.start');
    old.destroy();
    expect(count('amqp_0_8')).toBeGreaterThanOrEqual(1);
  });

  it('warns about a published x-death (4.0 stops reading it) and a message over 16 MiB, once per channel', async () => {
    const ch = await p.channel();
    const q = (await ch.assertQueue('', { exclusive: true })).queue;
    const before = count('republished_x_death');
    ch.sendToQueue(q, Buffer.from('m'), { headers: { 'x-death': [{ queue: 'q', reason: 'rejected', count: 1 }] } });
    ch.sendToQueue(q, Buffer.from('m'), { headers: { 'x-death': [] } });
    ch.sendToQueue(q, Buffer.alloc(16 * 1024 * 1024 + 1));
    await ch.checkQueue(q);
    expect(count('republished_x_death') - before).toBe(1);
    expect(warnings('3.10', 'message_over_16MiB').at(-1)).toMatchObject({ bodySize: 16777217 });
  });
});

describe('strict upgrade from 4.x', () => {
  it('warns about global QoS (ignored now, removed by a future major), not about what 4.x already refuses', async () => {
    const p = strict['4.x'];
    const ch = await p.channel();
    await ch.prefetch(1, true);
    await ch.assertQueue(name('mode'), { exclusive: true, arguments: { 'x-queue-mode': 'lazy' } });
    const w = p.broker.broker.upgradeWarnings!;
    expect(w.count('global_qos')).toBe(1);
    expect(w.count('x-queue-mode')).toBe(1);
    expect(warnings('4.x', 'global_qos')[0]!.msg).toBe(
      'strict upgrade: basic.qos with global=true: the global flag is ignored (deprecated feature global_qos, denied by default), and a future major removes it',
    );
    const c = await RawClient.connect(p.broker.port);
    c.send(Buffer.from('AMQP\x01\x01\x08\x00', 'latin1'));
    expect(await c.waitClosed()).toBe(true);
    expect(w.count('amqp_0_8')).toBe(0);
  });
});

