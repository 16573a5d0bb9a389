import { compatSuite } from './harness/compare.js';
import defs from './scenarios/raw.js';

compatSuite('raw', defs);
