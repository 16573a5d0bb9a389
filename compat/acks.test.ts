import { compatSuite } from './harness/compare.js';
import defs from './scenarios/acks.js';

compatSuite('acks', defs);
