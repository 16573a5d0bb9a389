import { compatSuite } from './harness/compare.js';
import defs from './scenarios/routing.js';

compatSuite('routing', defs);
