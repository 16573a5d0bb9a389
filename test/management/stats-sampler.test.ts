/** Message rates: the queues' counters read by the sampler, per second between two samples. */
import { describe, expect } from 'vitest';
import { StatsSampler } from '../../src/management/stats-sampler.js';
import { warrenOnly as it, withBroker } from '../helpers/broker.js';

const fx = withBroker();

describe('the statistics sampler', () => {
  it('turns the counters into rates over the sampled interval, for a queue and for the broker', async () => {
    let now = 1_000_000;
    const sampler = new StatsSampler(fx.broker.broker, 5000, () => now);
    const ch = await fx.channel();
    await ch.assertQueue('rated');
    sampler.sample();
    for (let i = 0; i < 10; i++) ch.sendToQueue('rated', Buffer.from(String(i)));
    await ch.checkQueue('rated');
    for (let i = 0; i < 4; i++) expect(await ch.get('rated', { noAck: true })).not.toBe(false);
    now += 2000;
    sampler.sample();
    const q = fx.broker.broker.vhosts.get('/')!.queues.get('rated')!;
    expect(sampler.queueMessageStats(q)).toMatchObject({ publish: 10, publish_details: { rate: 5 }, get_no_ack: 4, get_no_ack_details: { rate: 2 }, deliver_get: 4, deliver_get_details: { rate: 2 } });
    expect(sampler.queueDepthRates(q)).toEqual({ messages: 3, ready: 3, unacked: 0 });
    expect(sampler.overviewMessageStats()).toMatchObject({ publish: 10, publish_details: { rate: 5 } });
    now += 5000;
    sampler.sample();
    expect(sampler.queueMessageStats(q)).toMatchObject({ publish: 10, publish_details: { rate: 0 } });
  });
});
