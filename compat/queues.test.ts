import { compatSuite } from './harness/compare.js';
import defs from './scenarios/queues.js';

compatSuite('queues', defs);
