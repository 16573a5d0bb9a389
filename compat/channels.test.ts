import { compatSuite } from './harness/compare.js';
import defs from './scenarios/channels.js';

compatSuite('channels', defs);
