// Every scenario of the suite, for the checks in meta.test.ts (ids, PENDING.md, KNOWN_DIFFS.md).
import type { ScenarioDef } from './scenario.js';
import access from '../scenarios/access.js';
import acks from '../scenarios/acks.js';
import channels from '../scenarios/channels.js';
import { amqpClient, callback } from '../scenarios/clients.js';
import confirms from '../scenarios/confirms.js';
import connection from '../scenarios/connection.js';
import consumers from '../scenarios/consumers.js';
import dlx from '../scenarios/dlx.js';
import exchanges from '../scenarios/exchanges.js';
import maxlength from '../scenarios/maxlength.js';
import { mqttScenarios } from '../scenarios/mqtt.js';
import { cross, pika } from '../scenarios/pika.js';
import prefetch from '../scenarios/prefetch.js';
import priority from '../scenarios/priority.js';
import properties from '../scenarios/properties.js';
import queues from '../scenarios/queues.js';
import quorum from '../scenarios/quorum.js';
import raw from '../scenarios/raw.js';
import replyTo from '../scenarios/reply-to.js';
import restart from '../scenarios/restart.js';
import routing from '../scenarios/routing.js';
import ttl from '../scenarios/ttl.js';
import streams from '../scenarios/streams.js';
import tx from '../scenarios/tx.js';

export const ALL_SCENARIOS: ScenarioDef[] = [
  ...connection, ...raw, ...channels, ...exchanges, ...routing, ...queues, ...consumers, ...acks, ...prefetch,
  ...confirms, ...tx, ...dlx, ...ttl, ...maxlength, ...priority, ...replyTo, ...quorum, ...streams, ...properties,
  ...pika, ...cross, ...callback, ...amqpClient, ...restart, ...access,
];

/** The MQTT scenarios (harness/mqtt.ts runs them: another shape, the same id space). */
export const ALL_MQTT_SCENARIO_IDS: string[] = mqttScenarios.map((s) => s.id);
