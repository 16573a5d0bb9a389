import { compatSuite } from './harness/compare.js';
import defs from './scenarios/quorum.js';

compatSuite('quorum', defs);
