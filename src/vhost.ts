/**
 * A virtual host: its exchanges and queues, and the one entry point every publish goes through.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { notFound, preconditionFailed, resourceLocked, resourceName } from './errors.js';
import type { Message } from './message.js';
import type { FieldTable } from './protocol/field-table.js';
import { Queue, type QueueOptions } from './queue/queue.js';

/** Routing results are collected in one reused array: no allocation per publish. */
const routeScratch: Queue[] = [];

export interface DeclareQueueRequest {
  name: string;
  passive: boolean;
  durable: boolean;
  exclusive: boolean;
  autoDelete: boolean;
  arguments: FieldTable;
  /** Id of the declaring connection (exclusive queues belong to it). */
  connectionId: number;
}

export class VHost {
  readonly queues = new Map<string, Queue>();

  constructor(
    readonly name: string,
    readonly log: Logger,
  ) {}

  /** Routes and enqueues a message; returns the number of queues it reached. */
  publish(exchange: string, routingKey: string, msg: Message): number {
    const routed = routeScratch;
    routed.length = 0;
    if (exchange === '') {
      const q = this.queues.get(routingKey);
      if (q !== undefined) routed.push(q);
    } else {
      throw notFound(`no ${resourceName('exchange', exchange, this.name)}`);
    }
    const n = routed.length;
    for (let i = 0; i < n; i++) routed[i]!.publish(msg);
    routed.length = 0;
    return n;
  }

  /** Checks that an exchange exists (publish and bind do this before anything else). */
  assertExchange(name: string): void {
    if (name !== '') throw notFound(`no ${resourceName('exchange', name, this.name)}`);
  }

  declareQueue(req: DeclareQueueRequest): Queue {
    const name = req.name === '' ? generateQueueName() : req.name;
    const existing = this.queues.get(name);
    if (existing !== undefined) {
      this.checkExclusiveAccess(existing, req.connectionId);
      if (!req.passive) checkQueueEquivalence(existing, req);
      return existing;
    }
    if (req.passive) throw notFound(`no ${resourceName('queue', name, this.name)}`);
    const options: QueueOptions = {
      durable: req.durable,
      exclusive: req.exclusive,
      autoDelete: req.autoDelete,
      arguments: req.arguments,
      owner: req.exclusive ? req.connectionId : undefined,
    };
    const q = new Queue(name, this.name, options);
    this.queues.set(name, q);
    this.log.debug({ queue: name }, 'queue declared');
    return q;
  }

  /** The queue, or 404 as RabbitMQ answers for a missing one; exclusive queues of others give 405. */
  getQueue(name: string, connectionId: number): Queue {
    const q = this.queues.get(name);
    if (q === undefined) throw notFound(`no ${resourceName('queue', name, this.name)}`);
    this.checkExclusiveAccess(q, connectionId);
    return q;
  }

  deleteQueue(q: Queue): number {
    this.queues.delete(q.name);
    return q.delete();
  }

  /** Deletes the exclusive queues of a connection that went away. */
  connectionClosed(connectionId: number): void {
    for (const q of [...this.queues.values()]) {
      if (q.options.owner === connectionId) this.deleteQueue(q);
    }
  }

  private checkExclusiveAccess(q: Queue, connectionId: number): void {
    if (q.options.owner !== undefined && q.options.owner !== connectionId) {
      throw resourceLocked(
        `cannot obtain exclusive access to locked ${resourceName('queue', q.name, this.name)}. It could be originally declared on another connection or the exclusive property value does not match that of the original declaration.`,
      );
    }
  }
}

function checkQueueEquivalence(q: Queue, req: DeclareQueueRequest): void {
  const o = q.options;
  const mismatch = (field: string, received: boolean, current: boolean) =>
    preconditionFailed(
      `inequivalent arg '${field}' for ${resourceName('queue', q.name, q.vhost)}: received '${received}' but current is '${current}'`,
    );
  if (o.durable !== req.durable) throw mismatch('durable', req.durable, o.durable);
  if (o.autoDelete !== req.autoDelete) throw mismatch('auto_delete', req.autoDelete, o.autoDelete);
}

/** Server-named queues look like RabbitMQ's: "amq.gen-" and 22 URL-safe base64 characters. */
export function generateQueueName(): string {
  return `amq.gen-${randomBytes(16).toString('base64url').slice(0, 22)}`;
}
