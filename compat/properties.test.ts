import { compatSuite } from './harness/compare.js';
import defs from './scenarios/properties.js';

compatSuite('properties', defs);
