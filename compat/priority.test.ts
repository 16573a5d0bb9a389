import { compatSuite } from './harness/compare.js';
import defs from './scenarios/priority.js';

compatSuite('priority', defs);
