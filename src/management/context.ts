/** What the controllers work on: the broker model, the statistics, and the node's listeners. */
import type { Broker } from '../broker.js';
import type { StatsSampler } from './stats-sampler.js';

export interface Listener {
  readonly protocol: 'amqp' | 'amqp/ssl' | 'mqtt' | 'mqtt/ssl' | 'http' | 'http/web-mqtt';
  readonly port: number;
  readonly ipAddress: string;
}

export interface ManagementContext {
  readonly broker: Broker;
  readonly stats: StatsSampler;
  /** The ports the node listens on now (health/checks/port-listener, overview's listeners). */
  listeners(): readonly Listener[];
  /** The RabbitMQ node name the API reports (rabbit@host). */
  readonly nodeName: string;
}
