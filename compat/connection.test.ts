import { compatSuite } from './harness/compare.js';
import defs from './scenarios/connection.js';

compatSuite('connection', defs);
