import { compatSuite } from './harness/compare.js';
import defs from './scenarios/maxlength.js';

compatSuite('maxlength', defs);
