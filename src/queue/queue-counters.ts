/**
 * Message totals a queue counts as it works, for the management statistics (RabbitMQ's
 * queue_stats: publish, deliver, deliver_no_ack, get, get_no_ack, get_empty, ack, redeliver).
 * Plain integer fields bumped on the hot path: no allocation and no timer per message; rates are
 * worked out elsewhere by sampling these on a timer.
 */
export class QueueCounters {
  publish = 0;
  deliver = 0;
  deliverNoAck = 0;
  get = 0;
  getNoAck = 0;
  getEmpty = 0;
  ack = 0;
  redeliver = 0;

  /** Adds another's totals (a vhost keeps those of its deleted queues). */
  add(o: QueueCounters): void {
    this.publish += o.publish;
    this.deliver += o.deliver;
    this.deliverNoAck += o.deliverNoAck;
    this.get += o.get;
    this.getNoAck += o.getNoAck;
    this.getEmpty += o.getEmpty;
    this.ack += o.ack;
    this.redeliver += o.redeliver;
  }
}
