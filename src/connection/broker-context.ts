import type { Logger } from 'pino';
import type { AccessDatabase } from '../access/access-database.js';
import type { AuthAttempts } from '../access/auth-attempts.js';
import type { ConnectionCounts } from '../access/permissions.js';
import type { BrokerConfig } from '../config.js';
import type { FieldTable } from '../protocol/field-table.js';
import type { VHost } from '../vhost.js';
import type { StoreBacklog } from '../publisher-throttle.js';
import type { ResourceAlarms } from '../resource-alarms.js';
import type { Personality } from '../personality.js';
import type { DeprecatedFeatures } from '../deprecated-features.js';
import type { UpgradeWarnings } from '../upgrade-warnings.js';

/** What a connection needs from the broker that accepted it. */
export interface BrokerContext {
  readonly config: BrokerConfig;
  readonly log: Logger;
  /** Users, vhosts and permissions: login and connection.open check against it. */
  readonly access: AccessDatabase;
  /** Where start-ok counts each login, succeeded or failed. */
  readonly authAttempts: AuthAttempts;
  readonly vhosts: ReadonlyMap<string, VHost>;
  /** Connections already open to a vhost and of a user (for their connection limits). */
  connectionCounts(vhost: string, user: string): ConnectionCounts;
  /** Channels open on every connection of a user (for the user's max-channels). */
  userChannelCount(user: string): number;
  /** The server-properties table of connection.start (of AMQP 0-8's, for a 3.x personality). */
  serverProperties(protocol?: '0-9-1' | '0-8'): FieldTable;
  /** The RabbitMQ release imitated. */
  readonly personality: Personality;
  readonly deprecatedFeatures: DeprecatedFeatures;
  /** Strict-upgrade mode, when on. */
  readonly upgradeWarnings: UpgradeWarnings | undefined;
  /** The store's back-pressure on publishers. */
  readonly storeBacklog: StoreBacklog;
  /** Memory and disk alarms: while one is in effect, connections that publish are blocked. */
  readonly alarms: ResourceAlarms;
}

/** Where a stream came from; in-process streams have no addresses and count as loopback. */
export interface PeerInfo {
  remoteAddress?: string | undefined;
  remotePort?: number | undefined;
  localAddress?: string | undefined;
  localPort?: number | undefined;
  /** A TLS connection whose client presented a certificate the listener verified: its names. */
  certificate?: PeerCertificateNames | undefined;
}

export interface PeerCertificateNames {
  /** The subject's CN. */
  readonly commonName: string | undefined;
  /** The subject as RabbitMQ writes it (rabbit_ssl: "CN=...,O=...,C=...", the last RDN first). */
  readonly distinguishedName: string;
}
