import { compatSuite } from './harness/compare.js';
import defs from './scenarios/prefetch.js';

compatSuite('prefetch', defs);
