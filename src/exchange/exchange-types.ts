/**
 * The exchange types a vhost builds (the four of AMQP and the delayed-message plugin's
 * x-delayed-message), the exchanges every vhost starts with, and the checks the declaration of a new
 * exchange passes once its name is allowed.
 */
import { commandInvalid, preconditionFailed, resourceName } from '../errors.js';
import { FIELD_TYPE_NAMES, type FieldTable, type FieldValue } from '../protocol/field-table.js';
import { DELAYED_EXCHANGE_TYPE } from './delayed.js';
import { DirectExchange } from './direct.js';
import type { Exchange, ExchangeOptions } from './exchange.js';
import { FanoutExchange } from './fanout.js';
import { HeadersExchange } from './headers.js';
import { TopicExchange } from './topic.js';

const EXCHANGE_TYPES = ['direct', 'fanout', 'topic', 'headers'] as const;
export type ExchangeType = (typeof EXCHANGE_TYPES)[number];
export const isExchangeType = (t: string): t is ExchangeType => (EXCHANGE_TYPES as readonly string[]).includes(t);

/** The exchanges every vhost starts with, as RabbitMQ declares them. */
export const STANDARD_EXCHANGES: readonly [string, ExchangeType, boolean][] = [
  ['amq.direct', 'direct', false],
  ['amq.fanout', 'fanout', false],
  ['amq.topic', 'topic', false],
  ['amq.headers', 'headers', false],
  ['amq.match', 'headers', false],
  ['amq.rabbitmq.trace', 'topic', true],
];

export function isStandardExchange(name: string): boolean {
  return STANDARD_EXCHANGES.some(([n]) => n === name);
}

export function createExchange(type: ExchangeType, name: string, vhost: string, options: ExchangeOptions): Exchange {
  switch (type) {
    case 'direct':
      return new DirectExchange(name, vhost, options);
    case 'fanout':
      return new FanoutExchange(name, vhost, options);
    case 'topic':
      return new TopicExchange(name, vhost, options);
    case 'headers':
      return new HeadersExchange(name, vhost, options);
  }
}

/**
 * What the declaration of a new exchange in `vhost` is refused for once its name is allowed: an
 * unknown type, an alternate-exchange that is not a longstr, a delayed exchange without a valid
 * x-delayed-type. Changes nothing.
 */
export function checkExchangeDeclaration(name: string, vhost: string, type: string, args: FieldTable): void {
  if (!isExchangeType(type) && type !== DELAYED_EXCHANGE_TYPE) throw commandInvalid(`unknown exchange type '${type}'`);
  const ae = args.get('alternate-exchange');
  if (ae !== undefined && ae.type !== 'S') {
    throw preconditionFailed(`invalid type '${FIELD_TYPE_NAMES[ae.type]}' for arg 'alternate-exchange' in ${resourceName('exchange', name, vhost)}`);
  }
  if (type === DELAYED_EXCHANGE_TYPE) checkDelayedType(args.get('x-delayed-type'));
}

/** The text of a longstr or byte-array argument. */
export function stringArg(v: FieldValue | undefined): string | undefined {
  if (v === undefined) return undefined;
  if (v.type === 'S') return typeof v.value === 'string' ? v.value : v.value.toString('utf8');
  if (v.type === 'x') return v.value.toString('utf8');
  return undefined;
}

/** The delayed-message plugin's validate/1: x-delayed-type must name another existing exchange type. */
function checkDelayedType(v: FieldValue | undefined): void {
  const type = stringArg(v);
  if (type === DELAYED_EXCHANGE_TYPE) throw preconditionFailed("Invalid argument, 'x-delayed-message' can't be used for 'x-delayed-type'");
  if (type === undefined) throw preconditionFailed("Invalid argument, 'x-delayed-type' must be an existing exchange type");
  if (!isExchangeType(type)) throw commandInvalid(`unknown exchange type '${type}'`);
}
