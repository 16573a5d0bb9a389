import { compatSuite } from './harness/compare.js';
import defs from './scenarios/confirms.js';

compatSuite('confirms', defs);
