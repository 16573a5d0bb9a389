import { compatSuite } from './harness/compare.js';
import defs from './scenarios/streams.js';

compatSuite('streams', defs);
