import { compatSuite } from './harness/compare.js';
import defs from './scenarios/consumers.js';

compatSuite('consumers', defs);
