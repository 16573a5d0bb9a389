/**
 * What a channel needs from its connection, and what the parts of a channel share. The channel's
 * parts (content assembly, publishing and confirms, transactions, consumers and acknowledgements)
 * see the channel only through `ChannelContext`, so none of them imports the channel itself.
 */
import type { Logger } from 'pino';
import type { AccessDatabase, AccessGrant, AuthenticatedUser } from '../access/access-database.js';
import type { ChannelAccess } from '../access/permissions.js';
import type { DeprecatedFeatures } from '../deprecated-features.js';
import type { ConnectionError, SocketDrop } from '../errors.js';
import type { Personality } from '../personality.js';
import type { ConnectionUpgradeWarnings } from '../upgrade-warnings.js';
import type { PacedPublisher } from '../publisher-throttle.js';
import type { VHost } from '../vhost.js';
import type { Outbound } from '../wire/outbound.js';

/** A channel with confirms to send (see ChannelHost.confirmsPending). */
export interface ConfirmSender {
  flushConfirms(): void;
}

/** The RabbitMQ release a connection imitates, and what reports on it (read when a channel opens). */
export interface ReleaseContext {
  readonly personality: Personality;
  readonly deprecatedFeatures: DeprecatedFeatures;
  /** Strict-upgrade mode's tracker for this connection; undefined when the mode is off. */
  readonly upgrade: ConnectionUpgradeWarnings | undefined;
}

export interface ChannelHost {
  readonly id: number;
  readonly release: ReleaseContext;
  readonly out: Outbound;
  readonly vhost: VHost;
  readonly frameMax: number;
  readonly maxMessageSize: number;
  /** consumer_timeout in ms (0: off): an acknowledgement overdue this long closes the channel. */
  readonly consumerTimeoutMs: number;
  /** Client capability flags from connection.start-ok. */
  hasCapability(name: string): boolean;
  /** The authenticated user, as of the login (its tags included). */
  readonly user: AuthenticatedUser;
  /** What the user may do in the vhost, kept current by the database. */
  readonly grant: AccessGrant;
  /** The users, vhosts and limits (the vhost's max-queues is checked at queue.declare). */
  readonly accessDatabase: AccessDatabase;
  /** The channel has confirms to send once the current batch of input is processed. */
  confirmsPending(channel: ConfirmSender): void;
  /** A publish arrived (publishers are held while the store catches up). */
  published(): void;
  /** The connection's publisher side, which queues ask to wait (publisher pacing). */
  readonly publisher: PacedPublisher;
  /** Whether the socket can take more output now (false while congested). */
  readonly writable: boolean;
  /** The channel has finished closing (close-ok exchanged): forget it. */
  channelClosed(number: number): void;
  /**
   * The client closed the channel and has its close-ok: what it sent on the channel after its
   * channel.close (before it saw close-ok) is to be discarded, until it opens the channel again.
   */
  channelClosedByClient(number: number): void;
  /** Escalates a hard error raised on this channel to the connection. */
  connectionError(error: ConnectionError | SocketDrop): void;
}

/** The channel as its parts see it. */
export interface ChannelContext {
  readonly number: number;
  readonly host: ChannelHost;
  readonly log: Logger;
  /** The channel's permission checks (decisions cached until the grant changes). */
  readonly access: ChannelAccess;
  /** channel.open done and no close begun: only then do deliveries and confirms go out. */
  readonly isOpen: boolean;
  /** Fails the channel as an error from a command would (consumer_timeout uses it). */
  fail(e: unknown): void;
}
