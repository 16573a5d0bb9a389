import { compatSuite } from './harness/compare.js';
import defs from './scenarios/dlx.js';

compatSuite('dlx', defs);
