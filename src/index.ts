/** Warren's public API: start a broker in-process, or serve the protocol over any stream. */
export { startBroker, ListenError, type RunningBroker, type StartOptions } from './server.js';
export { DataDirError } from './store/data-dir.js';
export { LoadDefinitionsError, type ImportResult } from './broker/definitions-import.js';
export { DefinitionsError, type DefinitionsIssue } from './definitions/definitions.js';
export { PolicyValidationError } from './broker/policies.js';
export { TlsSetupError } from './tls.js';
export { ConfigFileError } from './config-file/rabbitmq-conf.js';
export { readConfigFile, type ConfigFileSettings } from './config-file/broker-settings.js';
export { Broker } from './broker.js';
export { TestHookError, TestHookTimeout, type MessageOutcome, type OutcomeMatch, type OutcomeReport, type OutcomeWatch, type TestHooks } from './broker/test-hooks.js';
export { DEFAULTS, type BrokerConfig, type Durability, type LogLevel } from './config.js';
export type { Connection } from './connection/connection.js';
export type { PeerInfo } from './connection/broker-context.js';
export { nodeIo, type FileIo } from './store/io.js';
export type { AlarmResource, MemoryWatermark, ResourceAlarms, ResourceProbes } from './resource-alarms.js';
