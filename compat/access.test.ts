import { compatSuite } from './harness/compare.js';
import defs, { accessDefinitions } from './scenarios/access.js';

compatSuite('access', defs, { definitions: accessDefinitions() });
