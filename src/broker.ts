/**
 * The broker: configuration, users, virtual hosts, and the live connections. It accepts any Duplex
 * stream as a client connection; TCP (src/server.ts) is a thin listener around `acceptStream`.
 */
import { hostname } from 'node:os';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { UserStore } from './auth.js';
import type { BrokerContext } from './broker-context.js';
import type { BrokerConfig } from './config.js';
import { Connection, serverCapabilities, type PeerInfo } from './connection.js';
import { fv, table, type FieldTable } from './protocol/field-table.js';
import { VHost } from './vhost.js';
import { VERSION } from './version.js';

/** Capabilities advertised in connection.start: exactly the ones implemented, in RabbitMQ's order. */
export const IMPLEMENTED_CAPABILITIES: readonly string[] = [
  'publisher_confirms',
  'exchange_exchange_bindings',
  'basic.nack',
  'consumer_cancel_notify',
  'consumer_priorities',
  'authentication_failure_close',
  'per_consumer_qos',
];

export class Broker implements BrokerContext {
  readonly users: UserStore;
  readonly vhosts = new Map<string, VHost>();
  readonly connections = new Set<Connection>();
  private properties: FieldTable | undefined;

  constructor(
    readonly config: BrokerConfig,
    readonly log: Logger,
  ) {
    this.users = new UserStore(config.users);
    for (const name of config.vhosts) this.vhosts.set(name, new VHost(name, log.child({ vhost: name })));
  }

  /** Serves the AMQP protocol over a stream (a TCP socket, or one end of an in-process pair). */
  acceptStream(stream: Duplex, peer: PeerInfo = {}): Connection {
    const conn = new Connection(stream, peer, this);
    this.connections.add(conn);
    conn.onEnd = () => this.connections.delete(conn);
    return conn;
  }

  serverProperties(): FieldTable {
    // Same keys and order as RabbitMQ's (sorted), with Warren's values.
    this.properties ??= table([
      ['capabilities', fv.table(serverCapabilities(IMPLEMENTED_CAPABILITIES))],
      ['cluster_name', fv.str(`warren@${hostname()}`)],
      ['copyright', fv.str('Copyright (c) the Warren developers')],
      ['information', fv.str('Licensed under the MIT License. An AMQP 0-9-1 broker compatible with RabbitMQ clients.')],
      ['platform', fv.str(`Node.js ${process.version}`)],
      ['product', fv.str('Warren')],
      ['version', fv.str(VERSION)],
    ]);
    return this.properties;
  }

  /** Closes every connection with 320 CONNECTION_FORCED and waits (briefly) for them to finish. */
  async shutdown(reason = 'shutdown', waitMs = 2000): Promise<void> {
    const open = [...this.connections];
    if (open.length === 0) return;
    const done = Promise.all(
      open.map(
        (c) =>
          new Promise<void>((resolve) => {
            const prev = c.onEnd;
            c.onEnd = () => {
              prev?.();
              resolve();
            };
          }),
      ),
    );
    for (const c of open) c.forceClose(reason);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([done, new Promise<void>((r) => (timer = setTimeout(r, waitMs)))]);
    clearTimeout(timer);
    for (const c of this.connections) c.terminate(reason);
  }
}
