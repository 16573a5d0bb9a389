import { compatSuite } from './harness/compare.js';
import defs from './scenarios/exchanges.js';

compatSuite('exchanges', defs);
