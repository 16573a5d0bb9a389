/**
 * connection.blocked and connection.unblocked (RabbitMQ's connection.blocked extension): how a
 * connection's publisher throttle tells the client about alarm blocks, if the client asked to know.
 */
import type { Logger } from 'pino';
import { encodeConnectionBlocked, encodeConnectionUnblocked } from '../protocol/generated/methods.js';
import type { BlockNotifier } from '../publisher-throttle.js';
import type { Outbound } from '../wire/outbound.js';

export class BlockNotices implements BlockNotifier {
  constructor(
    private readonly out: Outbound,
    private readonly client: { hasCapability(name: string): boolean },
    /** The connection's current logger (it gains the user and vhost as the handshake goes on). */
    private readonly log: () => Logger,
  ) {}

  notifyBlocked(reason: string): void {
    this.log().debug({ reason }, 'publisher blocked');
    if (!this.client.hasCapability('connection.blocked')) return;
    encodeConnectionBlocked(this.out, 0, { reason });
    this.out.frameDone();
  }

  notifyUnblocked(): void {
    this.log().debug('publisher unblocked');
    if (!this.client.hasCapability('connection.blocked')) return;
    encodeConnectionUnblocked(this.out, 0);
    this.out.frameDone();
  }
}
