/** The Prometheus endpoint: values read from the model at scrape time, RabbitMQ's names and labels. */
import { describe, expect } from 'vitest';
import { warrenOnly as it, withBroker } from '../helpers/broker.js';

const fx = withBroker({ prometheusPort: 0 });

async function scrape(path: string): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${fx.broker.prometheusPort}${path}`);
  expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4');
  return res.text();
}

const line = (text: string, start: string) => text.split('\n').find((l) => l.startsWith(start));

describe('Prometheus metrics', () => {
  it('counts queues, messages and deliveries; per object with vhost and queue labels, escaped', async () => {
    const ch = await fx.channel();
    const name = 'prom "q"\\';
    await ch.assertQueue(name);
    ch.sendToQueue(name, Buffer.from('a'));
    ch.sendToQueue(name, Buffer.from('b'));
    ch.sendToQueue(name, Buffer.from('c'));
    const m = await ch.get(name, { noAck: true });
    expect(m).not.toBe(false);
    const aggregated = await scrape('/metrics');
    expect(line(aggregated, 'rabbitmq_queues ')).toBe('rabbitmq_queues 1');
    expect(line(aggregated, 'rabbitmq_queue_messages_ready ')).toBe('rabbitmq_queue_messages_ready 2');
    expect(line(aggregated, 'rabbitmq_connections ')).toBe('rabbitmq_connections 1');
    expect(line(aggregated, 'rabbitmq_global_messages_received_total')).toBe('rabbitmq_global_messages_received_total{protocol="amqp091"} 3');
    expect(line(aggregated, 'rabbitmq_global_messages_delivered_get_auto_ack_total')).toBe('rabbitmq_global_messages_delivered_get_auto_ack_total{protocol="amqp091",queue_type="rabbit_classic_queue"} 1');
    expect(aggregated).toContain('# TYPE rabbitmq_global_messages_received_total counter\n');
    const perObject = await scrape('/metrics/per-object');
    expect(line(perObject, 'rabbitmq_queue_messages_ready{')).toBe('rabbitmq_queue_messages_ready{vhost="/",queue="prom \\"q\\"\\\\"} 2');
    await ch.deleteQueue(name);
  });

  it('shows a memory alarm while it is in effect', async () => {
    expect(line(await scrape('/metrics'), 'rabbitmq_alarms_memory_used_watermark ')).toBe('rabbitmq_alarms_memory_used_watermark 0');
    fx.broker.broker.alarms.set('memory');
    try {
      expect(line(await scrape('/metrics'), 'rabbitmq_alarms_memory_used_watermark ')).toBe('rabbitmq_alarms_memory_used_watermark 1');
    } finally {
      fx.broker.broker.alarms.clear('memory');
    }
  });
});
