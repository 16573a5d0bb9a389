import { compatRestartSuite } from './harness/compare.js';
import defs from './scenarios/restart.js';

compatRestartSuite('restart', defs);
