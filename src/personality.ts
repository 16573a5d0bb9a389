/**
 * Which RabbitMQ release Warren imitates (`--rabbitmq-version`): one frozen table per release of
 * everything an AMQP 0-9-1 client can see differ between RabbitMQ 3.10, 3.13 and 4.x. Each value cites
 * the RabbitMQ source or release notes it comes from; docs/rabbitmq-versions.md has the full table.
 *
 * The broker reads its personality once at start-up and copies the values it needs into plain fields
 * where they are used (handshake, channel, vhost settings): nothing looks a personality up per message.
 *
 * Without an explicit choice Warren behaves as the newest release (4.x, the one a new deployment runs
 * and RabbitMQ's documentation describes) but names itself: product "Warren", its own version.
 */

/** The releases a personality can imitate, oldest first. */
export const RABBITMQ_VERSIONS = ['3.10', '3.13', '4.x'] as const;
export type RabbitMqVersion = (typeof RABBITMQ_VERSIONS)[number];

/**
 * A deprecated feature's phase (rabbit_deprecated_features): not a deprecated feature at all (3.10,
 * before the subsystem existed), permitted with a logged warning, or denied unless configured.
 */
export type DeprecationPhase = 'not-deprecated' | 'permitted' | 'denied';

/** The deprecated features an AMQP 0-9-1 client can use, by RabbitMQ's names for them. */
export type DeprecatedFeature = 'global_qos' | 'transient_nonexcl_queues' | 'queue_master_locator';

/**
 * How a release keeps a message's dead-letter history:
 * - `3.10`: rabbit_dead_letter rewrites the x-death header it finds, whoever wrote it;
 * - `3.13`: mc.erl keeps the deaths as annotations and renders x-death from them on delivery; a
 *   published x-death header is read back into them (mc_amqpl:headers_to_deaths/2);
 * - `4.x`: as 3.13, but a published x-death header is no longer read (release notes 4.0.1, "AMQP 0.9.1
 *   x-death header"): only the broker's own dead-lettering counts.
 */
export type DeathModel = '3.10' | '3.13' | '4.x';

/** The server-properties values of connection.start that name the broker (cluster_name is the node's). */
interface ServerIdentity {
  readonly product: string;
  readonly version: string;
  readonly platform: string;
  readonly copyright: string;
  readonly information: string;
}

export interface Personality {
  /** The release whose behaviour Warren reproduces. */
  readonly version: RabbitMqVersion;
  /** The patch release the values come from (the newest of the series when this was written). */
  readonly release: string;
  /**
   * What connection.start says the server is; undefined when no personality was chosen, and Warren
   * names itself.
   */
  readonly identity: ServerIdentity | undefined;
  /**
   * The smallest frame_max a client may negotiate, and the frame size allowed before tune-ok
   * (?FRAME_MIN_SIZE, rabbit_framing.hrl: 4096 until 4.0, 8192 since 4.1.0, rabbitmq-server#13541).
   */
  readonly frameMinSize: number;
  /**
   * The AMQP 0-8 headers (`AMQP 1 1 8 0`, `AMQP 1 1 9 1`) get a 0-8 connection.start
   * (rabbit_reader:handshake/2 until 3.13; 4.0 removed 0-8).
   */
  readonly amqp08Start: boolean;
  /**
   * The header sent back for a protocol header it does not accept: 0-9-1's until 3.13
   * (refuse_connection/2 of 3.10 and 3.13); 4.0 answers AMQP 1.0's SASL header (`AMQP 3 1 0 0`) except
   * for `AMQP 0 0 9+ x`, which still gets 0-9-1's (rabbit_reader:version_negotiation/2).
   */
  readonly refusalHeader: 'amqp-0-9-1' | 'amqp-1-0-sasl';
  /** How x-death and the first/last-death headers are kept (DeathModel). */
  readonly deathModel: DeathModel;
  /**
   * Delivered headers come out sorted by key, duplicates dropped (3.13's message containers:
   * mc_amqpl:protocol_state/2 usorts the headers of every message it renders).
   */
  readonly sortsHeaders: boolean;
  /** basic.qos global=true (rabbit_channel.erl: a deprecated feature since 3.13.0, denied in 4.3.0). */
  readonly globalQos: DeprecationPhase;
  /** A new queue neither durable nor exclusive (rabbit_amqqueue.erl: as global_qos). */
  readonly transientNonExclusiveQueues: DeprecationPhase;
  /**
   * x-queue-master-locator on a classic queue (rabbit_queue_location.erl: deprecated in 4.0.0, denied
   * by default in 4.3.0; rabbit_classic_queue:validate_arguments/1 then refuses it with 541).
   */
  readonly queueMasterLocator: DeprecationPhase;
  /** Classic queues take x-queue-leader-locator (4.0.0, rabbit_classic_queue:capabilities/0). */
  readonly classicLeaderLocator: boolean;
  /**
   * The values x-queue-leader-locator takes (rabbit_queue_location:queue_leader_locators/0: the two
   * current ones and the deprecated ones, to which 4.0.0 added min-masters).
   */
  readonly leaderLocators: readonly string[];
  /** x-queue-version 1 is accepted (4.3.0 removed CQv1: rabbit_amqqueue:check_queue_version/2). */
  readonly queueVersion1: boolean;
  /**
   * x-queue-mode is validated ("default" or "lazy"); 4.3.0 dropped its validator and ignores it
   * (rabbit_amqqueue:declare_args/0).
   */
  readonly queueModeValidated: boolean;
  /** max_message_size's default (rabbit's Makefile: 128 MiB until 3.13, 16 MiB since 4.0.0). */
  readonly maxMessageSize: number;
  /** x-delivery-limit of quorum queues that set none (4.0.0: 20; unlimited before). */
  readonly quorumDeliveryLimit: number | undefined;
  /** consumer_timeout's default in ms (rabbit's Makefile: 1800000 since 3.8.15, unchanged since). */
  readonly consumerTimeoutMs: number;
  /**
   * Whether consumer_timeout applies to deliveries from classic queues (4.3.0: "Consumer Timeouts are
   * No Longer Evaluated for Classic Queues and Streams"; quorum queues evaluate it themselves).
   */
  readonly consumerTimeoutClassic: boolean;
  /**
   * A mandatory publish to a direct reply-to address counts as routed: no basic.return, whether or
   * not the requester is still there (release notes 4.2.0, "`Mandatory` flag in Direct Reply-To");
   * before, such a reply always came back as a basic.return.
   */
  readonly replyToCountsAsRouted: boolean;
  /**
   * queue.bind and queue.unbind naming a direct reply-to address (amq.rabbitmq.reply-to.*) are refused
   * with 403 (4.3.0, rabbitmq-server#15935: rabbit_channel:reject_volatile_queue_as_binding_target/2);
   * before, such a name is an ordinary missing queue (404).
   */
  readonly refusesReplyToBindings: boolean;
  /**
   * queue.declare adds x-queue-type (classic, the default type) to the arguments of a queue declared
   * without one (rabbit_amqqueue:augment_declare_args/5 since 4.0.0; before, only for a vhost with a
   * default queue type), so a redeclaration with another type names 'classic' as the current value.
   */
  readonly injectsQueueType: boolean;
  /**
   * Stream filtering (3.13.0, docs page "stream-filtering"): x-stream-filter-value on publish,
   * x-stream-filter and x-stream-match-unfiltered on consume, matched chunk by chunk.
   */
  readonly streamFiltering: boolean;
  /** The next major release, which strict-upgrade mode warns about (`--strict-upgrade`). */
  readonly nextMajor: string;
}

const MiB = 1024 * 1024;
const CONSUMER_TIMEOUT = 1_800_000;
const MPL = 'Licensed under the MPL 2.0. Website: https://rabbitmq.com';

/** Server properties of a 3.10.8 node, as the reference answers (probed; rabbit.hrl ?COPYRIGHT_MESSAGE). */
const V3_10: Personality = Object.freeze({
  version: '3.10',
  release: '3.10.8',
  identity: Object.freeze({
    product: 'RabbitMQ',
    version: '3.10.8',
    platform: 'Erlang/OTP 25.2.3',
    copyright: 'Copyright (c) 2007-2022 VMware, Inc. or its affiliates.',
    information: MPL,
  }),
  frameMinSize: 4096,
  amqp08Start: true,
  refusalHeader: 'amqp-0-9-1',
  deathModel: '3.10',
  sortsHeaders: false,
  globalQos: 'not-deprecated',
  transientNonExclusiveQueues: 'not-deprecated',
  queueMasterLocator: 'not-deprecated',
  classicLeaderLocator: false,
  leaderLocators: Object.freeze(['client-local', 'balanced', 'random', 'least-leaders']),
  queueVersion1: true,
  queueModeValidated: true,
  maxMessageSize: 128 * MiB,
  quorumDeliveryLimit: undefined,
  consumerTimeoutMs: CONSUMER_TIMEOUT,
  consumerTimeoutClassic: true,
  replyToCountsAsRouted: false,
  refusesReplyToBindings: false,
  injectsQueueType: false,
  streamFiltering: false,
  nextMajor: '4.0',
});

/**
 * 3.13.7, the last 3.x release. The deprecated-features subsystem arrived in 3.13.0 (rabbitmq-server
 * #7390): global_qos and transient_nonexcl_queues are permitted_by_default, with a logged warning.
 */
const V3_13: Personality = Object.freeze({
  ...V3_10,
  version: '3.13',
  release: '3.13.7',
  identity: Object.freeze({
    product: 'RabbitMQ',
    version: '3.13.7',
    platform: 'Erlang/OTP 26.2.5',
    copyright: 'Copyright (c) 2007-2024 Broadcom Inc and/or its subsidiaries',
    information: MPL,
  }),
  deathModel: '3.13',
  sortsHeaders: true,
  globalQos: 'permitted',
  transientNonExclusiveQueues: 'permitted',
  streamFiltering: true,
});

/**
 * 4.3.5, the newest release (release-notes/4.3.5.md; 4.4.0 is unreleased). 4.3.0 moved global_qos and
 * transient_nonexcl_queues to denied_by_default ("Deprecated Features are Now Disabled by Default").
 */
const V4: Personality = Object.freeze({
  ...V3_13,
  version: '4.x',
  release: '4.3.5',
  identity: Object.freeze({
    product: 'RabbitMQ',
    version: '4.3.5',
    platform: 'Erlang/OTP 27.3.4',
    copyright: 'Copyright (c) 2007-2026 Broadcom Inc and/or its subsidiaries',
    information: MPL,
  }),
  frameMinSize: 8192,
  amqp08Start: false,
  refusalHeader: 'amqp-1-0-sasl',
  deathModel: '4.x',
  globalQos: 'denied',
  transientNonExclusiveQueues: 'denied',
  queueMasterLocator: 'denied',
  classicLeaderLocator: true,
  leaderLocators: Object.freeze(['client-local', 'balanced', 'random', 'least-leaders', 'min-masters']),
  queueVersion1: false,
  queueModeValidated: false,
  maxMessageSize: 16 * MiB,
  quorumDeliveryLimit: 20,
  consumerTimeoutClassic: false,
  replyToCountsAsRouted: true,
  refusesReplyToBindings: true,
  injectsQueueType: true,
  nextMajor: '5.0',
});

const BY_VERSION: Readonly<Record<RabbitMqVersion, Personality>> = Object.freeze({ '3.10': V3_10, '3.13': V3_13, '4.x': V4 });

/**
 * Warren as itself: the newest release's behaviour, its own name, and the 0-9-1 header for protocol
 * headers it refuses (the 0-9-1 spec's rule; 4.x's AMQP 1.0 header would invite a client to speak a
 * protocol Warren does not have).
 */
const WARREN: Personality = Object.freeze({ ...V4, identity: undefined, refusalHeader: 'amqp-0-9-1' });

/** The personality for `--rabbitmq-version` (undefined: none chosen, Warren as itself). */
export function personalityFor(version: RabbitMqVersion | undefined): Personality {
  return version === undefined ? WARREN : BY_VERSION[version];
}

/** The phase of a deprecated feature in a personality. */
export function deprecationPhase(p: Personality, feature: DeprecatedFeature): DeprecationPhase {
  if (feature === 'global_qos') return p.globalQos;
  return feature === 'transient_nonexcl_queues' ? p.transientNonExclusiveQueues : p.queueMasterLocator;
}

/**
 * RabbitMQ's text about a deprecated feature in use (rabbit_deprecated_features:generate_warnings1/3,
 * the messages for the default configuration): logged as a warning while the feature is permitted
 * by default, and the reason given to the client (541 INTERNAL_ERROR) once it is denied by default.
 */
export function deprecationText(feature: DeprecatedFeature, phase: 'permitted' | 'denied'): string {
  // rabbit_queue_location.erl gives queue_master_locator a warning of its own for when it is permitted.
  if (phase === 'permitted' && feature === 'queue_master_locator') {
    return "queue-master-locator is deprecated. queue-leader-locator should be used instead (allowed values are 'client-local' and 'balanced')";
  }
  if (phase === 'permitted') {
    return (
      `Feature \`${feature}\` is deprecated.\n` +
      'By default, this feature can still be used for now.\n' +
      'Its use will not be permitted by default in a future minor RabbitMQ version and the feature will be removed from a future major RabbitMQ version; actual versions to be determined.\n' +
      'To continue using this feature when it is not permitted by default, set the following parameter in your configuration:\n' +
      `    "deprecated_features.permit.${feature} = true"\n` +
      'To test RabbitMQ as if the feature was removed, set this in your configuration:\n' +
      `    "deprecated_features.permit.${feature} = false"`
    );
  }
  return (
    `Feature \`${feature}\` is deprecated.\n` +
    'By default, this feature is not permitted anymore.\n' +
    'The feature will be removed from a future major RabbitMQ version, regardless of the configuration; actual version to be determined.\n' +
    'To continue using this feature when it is not permitted by default, set the following parameter in your configuration:\n' +
    `    "deprecated_features.permit.${feature} = true"`
  );
}
