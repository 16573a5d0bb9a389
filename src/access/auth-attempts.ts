/**
 * Authentication attempts by protocol, as rabbit_core_metrics counts them (auth_attempt_succeeded /
 * auth_attempt_failed, shown by rabbitmq_prometheus as rabbitmq_auth_attempts_total,
 * _succeeded_total and _failed_total with a `protocol` label, and by the management API's
 * /api/auth/attempts/{node}). A failure counts the same whether the user or the password was wrong:
 * the counters, like the client, never tell which.
 */

/** RabbitMQ's protocol labels. */
export type AuthProtocol = 'amqp091' | 'mqtt' | 'http';

export interface AuthAttemptCounts {
  readonly protocol: AuthProtocol;
  readonly succeeded: number;
  readonly failed: number;
}

export class AuthAttempts {
  private readonly counts = new Map<AuthProtocol, { succeeded: number; failed: number }>();

  private of(protocol: AuthProtocol): { succeeded: number; failed: number } {
    let c = this.counts.get(protocol);
    if (c === undefined) this.counts.set(protocol, (c = { succeeded: 0, failed: 0 }));
    return c;
  }

  succeeded(protocol: AuthProtocol): void {
    this.of(protocol).succeeded++;
  }

  failed(protocol: AuthProtocol): void {
    this.of(protocol).failed++;
  }

  /** Every protocol that has had an attempt, in the order of its first one. */
  list(): AuthAttemptCounts[] {
    return [...this.counts].map(([protocol, c]) => ({ protocol, ...c }));
  }
}
