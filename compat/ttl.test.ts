import { compatSuite } from './harness/compare.js';
import defs from './scenarios/ttl.js';

compatSuite('ttl', defs);
