import { compatMqttSuite } from './harness/mqtt.js';
import { mqttScenarios } from './scenarios/mqtt.js';

compatMqttSuite('mqtt', mqttScenarios);
