import { compatSuite } from './harness/compare.js';
import defs from './scenarios/tx.js';

compatSuite('tx', defs);
