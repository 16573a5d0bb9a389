import { compatSuite } from './harness/compare.js';
import { amqpClient, callback } from './scenarios/clients.js';

compatSuite('callback', callback);
compatSuite('amqp-client', amqpClient);
