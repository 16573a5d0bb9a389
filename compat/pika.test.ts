import { compatSuite } from './harness/compare.js';
import { cross, pika } from './scenarios/pika.js';

compatSuite('pika', pika);
compatSuite('cross', cross);
