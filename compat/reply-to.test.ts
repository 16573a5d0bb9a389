import { compatSuite } from './harness/compare.js';
import defs from './scenarios/reply-to.js';

compatSuite('reply-to', defs);
