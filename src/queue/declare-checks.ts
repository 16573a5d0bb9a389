/**
 * The checks and defaults of queue.declare for a new queue, in rabbit_amqqueue's order: the
 * arguments a declaration is completed with (x-queue-type), what a new queue is refused for, and
 * the names of server-named queues.
 */
import { randomBytes } from 'node:crypto';
import type { DeprecatedFeatures } from '../deprecated-features.js';
import { internalError, preconditionFailed, resourceName } from '../errors.js';
import { deprecationText, type Personality } from '../personality.js';
import { FIELD_TYPE_NAMES, fv, type FieldTable } from '../protocol/field-table.js';
import { checkDeclareArguments, queueTypeOf, type QueueType } from './arguments.js';

interface DeclaredQueue {
  readonly durable: boolean;
  readonly exclusive: boolean;
  readonly autoDelete: boolean;
  readonly arguments: FieldTable;
}

/** 4.x's augment_declare_args/5: a declaration without x-queue-type is one of the default type, classic. */
export function withQueueType<R extends DeclaredQueue>(req: R): R {
  if (req.arguments.has('x-queue-type')) return req;
  return { ...req, arguments: new Map([...req.arguments, ['x-queue-type', fv.str('classic')]]) };
}

/**
 * rabbit_amqqueue:augment_declare_args/5: a durable, non-exclusive, non-auto-delete queue declared
 * without x-queue-type in a vhost with a default queue type gets that type (recorded on RabbitMQ
 * 3.10.8: the server-named check and the argument checks then see it).
 */
export function augmentDeclareArguments(req: DeclaredQueue, defaultQueueType: QueueType | undefined): FieldTable {
  const t = defaultQueueType;
  if (t === undefined || req.arguments.has('x-queue-type') || !req.durable || req.exclusive || req.autoDelete) return req.arguments;
  return new Map([...req.arguments, ['x-queue-type', { type: 'S', value: t }]]);
}

/**
 * What the declaration of a new queue in `vhost` is refused for once its name and access are
 * allowed: the x-dead-letter-exchange type, the x-arguments, a quorum queue's properties. Changes nothing.
 */
export function checkQueueDeclaration(
  name: string,
  vhost: string,
  queue: DeclaredQueue,
  personality: Personality,
  deprecated: DeprecatedFeatures | undefined,
): void {
  const { durable, exclusive, autoDelete, arguments: args } = queue;
  const dlx = args.get('x-dead-letter-exchange');
  if (dlx !== undefined && dlx.type !== 'S') {
    throw preconditionFailed(`invalid type '${FIELD_TYPE_NAMES[dlx.type]}' for arg 'x-dead-letter-exchange' in ${resourceName('queue', name, vhost)}`);
  }
  checkDeclareArguments(name, vhost, args, personality);
  // rabbit_amqqueue:declare/7 (4.3: the deprecated feature transient_nonexcl_queues, denied by default).
  if (!durable && !exclusive && deprecated?.permitted('transient_nonexcl_queues') === false) {
    throw internalError(deprecationText('transient_nonexcl_queues', 'denied'));
  }
  const type = queueTypeOf(args);
  // rabbit_classic_queue:validate_arguments/1 (4.3: the deprecated feature queue_master_locator).
  if (type === 'classic' && args.has('x-queue-master-locator') && deprecated?.permitted('queue_master_locator') === false) {
    throw internalError(deprecationText('queue_master_locator', 'denied'));
  }
  if (type === 'quorum') {
    // rabbit_queue_type_util's checks for quorum queues, in RabbitMQ's order.
    const where = resourceName('queue', name, vhost);
    if (autoDelete) throw preconditionFailed(`invalid property 'auto-delete' for ${where}`);
    if (exclusive) throw preconditionFailed(`invalid property 'exclusive-owner' for ${where}`);
    if (!durable) throw preconditionFailed(`invalid property 'non-durable' for ${where}`);
  }
}

/** Server-named queues look like RabbitMQ's: "amq.gen-" and 22 URL-safe base64 characters. */
export function generateQueueName(): string {
  return `amq.gen-${randomBytes(16).toString('base64url').slice(0, 22)}`;
}
