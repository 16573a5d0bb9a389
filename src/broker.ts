/**
 * The broker: configuration, users, virtual hosts, and the live connections. It accepts any Duplex
 * stream as a client connection; TCP (src/server.ts) is a thin listener around `acceptStream`.
 */
import { hostname } from 'node:os';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { UserStore } from './auth.js';
import { resolveConfig, type BrokerConfig, type BrokerSettings } from './config.js';
import type { BrokerContext } from './connection/broker-context.js';
import type { PeerInfo } from './connection/broker-context.js';
import { Connection } from './connection/connection.js';
import { fv, table, type FieldTable } from './protocol/field-table.js';
import { VHost } from './vhost.js';
import { VERSION } from './version.js';
import { DiskPersistence, MemoryPersistence, type Persistence } from './store/persistence.js';
import type { FileIo } from './store/io.js';
import { StoreBacklog } from './publisher-throttle.js';
import { DirectReplies } from './direct-reply.js';
import { DiskMonitor, MemoryMonitor, ResourceAlarms, systemProbes, type ResourceProbes } from './resource-alarms.js';
import { personalityFor, type Personality } from './personality.js';
import { DeprecatedFeatures } from './deprecated-features.js';
import { UpgradeWarnings } from './upgrade-warnings.js';

/** Capabilities advertised in connection.start: exactly the ones implemented, in RabbitMQ's order. */
export const IMPLEMENTED_CAPABILITIES: readonly string[] = [
  'publisher_confirms',
  'exchange_exchange_bindings',
  'basic.nack',
  'consumer_cancel_notify',
  'connection.blocked',
  'consumer_priorities',
  'authentication_failure_close',
  'per_consumer_qos',
  'direct_reply_to',
];

export class Broker implements BrokerContext {
  /** The settings, with the imitated release's defaults filled in. */
  readonly config: BrokerConfig;
  /** The RabbitMQ release imitated (--rabbitmq-version), read once here. */
  readonly personality: Personality;
  readonly deprecatedFeatures: DeprecatedFeatures;
  /** Strict-upgrade mode's warnings and their counts; undefined when the mode is off. */
  readonly upgradeWarnings: UpgradeWarnings | undefined;
  readonly users: UserStore;
  readonly vhosts = new Map<string, VHost>();
  readonly connections = new Set<Connection>();
  private properties: FieldTable | undefined;
  private properties08: FieldTable | undefined;
  readonly persistence: Persistence;
  readonly storeBacklog = new StoreBacklog();
  /** Memory and disk alarms (set by the monitors, or directly by tests and embedders). */
  readonly alarms: ResourceAlarms;
  private memoryMonitor: MemoryMonitor | undefined;
  private diskMonitor: DiskMonitor | undefined;

  /**
   * Opens the data directory (durability `fsync` or `os`) and rebuilds the durable definitions;
   * `recover()` then reads the queues' messages back. Throws if the directory is locked or unreadable.
   */
  constructor(
    settings: BrokerSettings,
    readonly log: Logger,
    storage: { io?: FileIo; segmentSize?: number } = {},
  ) {
    const config = resolveConfig(settings);
    this.config = config;
    this.personality = personalityFor(config.rabbitmqVersion);
    this.deprecatedFeatures = new DeprecatedFeatures(this.personality, log);
    this.upgradeWarnings = config.strictUpgrade ? new UpgradeWarnings(this.personality) : undefined;
    this.users = new UserStore(config.users);
    this.alarms = new ResourceAlarms(log, `warren@${hostname()}`);
    // rabbit_alarm tells every registered reader (connections past connection.open) of each change.
    this.alarms.onChange(() => {
      for (const c of this.connections) c.alarmsChanged();
    });
    this.persistence =
      config.durability === 'memory'
        ? new MemoryPersistence()
        : new DiskPersistence({ dataDir: config.dataDir, mode: config.durability, log, io: storage.io, segmentSize: storage.segmentSize });
    const vhostSettings = {
      nodeName: `warren@${hostname()}`,
      replies: new DirectReplies(),
      defaultDeliveryLimit: config.quorumDeliveryLimitDefault ? 20 : undefined,
      release: { personality: this.personality, deprecatedFeatures: this.deprecatedFeatures },
    };
    for (const name of config.vhosts) this.vhosts.set(name, new VHost(name, log.child({ vhost: name }), this.persistence, vhostSettings));
    if (this.persistence instanceof DiskPersistence) {
      this.restoreDefinitions(this.persistence);
      this.persistence.persister.onPressure = (high) => {
        this.log.debug({ high }, high ? 'store behind: pausing publishers' : 'store caught up: resuming publishers');
        this.storeBacklog.set(high);
      };
    }
  }

  private restoreDefinitions(p: DiskPersistence): void {
    const d = p.recovered;
    for (const x of d.exchanges.values()) this.vhosts.get(x.vhost)?.restoreExchange(x);
    for (const q of d.queues.values()) this.vhosts.get(q.vhost)?.restoreQueue(q);
    for (const b of d.bindings.values()) this.vhosts.get(b.vhost)?.restoreBinding(b);
    p.pruneQueueStores([...d.queues.values()].map((q) => q.id));
    p.pruneHeldMessages([...this.vhosts.values()].flatMap((v) => v.heldMessages().map((h) => ({ vhost: v.name, name: h.name }))));
    this.log.info({ exchanges: d.exchanges.size, queues: d.queues.size, bindings: d.bindings.size, cleanStart: p.cleanStart }, 'definitions recovered');
  }

  /** Reads every durable queue's messages back (before the broker accepts connections). */
  async recover(): Promise<void> {
    if (!(this.persistence instanceof DiskPersistence)) return;
    const started = Date.now();
    let messages = 0;
    let held = 0;
    for (const v of this.vhosts.values()) {
      for (const q of v.queues.values()) messages += await q.recover();
      for (const h of v.heldMessages()) held += await h.recover();
    }
    this.log.info({ messages, delayed: held, ms: Date.now() - started }, 'messages recovered');
  }

  /**
   * Starts the memory and disk monitors (RabbitMQ starts them before it accepts connections); resolves
   * once both have measured once, so alarms already due are in effect.
   */
  async startResourceMonitors(probes: Partial<ResourceProbes> = {}): Promise<void> {
    if (this.memoryMonitor !== undefined) return;
    const p: ResourceProbes = { ...systemProbes, ...probes };
    this.memoryMonitor = new MemoryMonitor(this.config.vmMemoryHighWatermark, this.alarms, this.log, p);
    this.diskMonitor = new DiskMonitor(this.config.dataDir, this.config.diskFreeLimit, this.alarms, this.log, p);
    this.memoryMonitor.start();
    await this.diskMonitor.start();
  }

  /** Start-up failed before the broker served anything: release the data directory as it is. */
  abandon(): void {
    this.stopResourceMonitors();
    if (this.persistence instanceof DiskPersistence) this.persistence.abandon();
  }

  private stopResourceMonitors(): void {
    this.memoryMonitor?.stop();
    this.diskMonitor?.stop();
  }

  /** Serves the AMQP protocol over a stream (a TCP socket, or one end of an in-process pair). */
  acceptStream(stream: Duplex, peer: PeerInfo = {}): Connection {
    const conn = new Connection(stream, peer, this);
    this.connections.add(conn);
    conn.onEnd = () => this.connections.delete(conn);
    return conn;
  }

  /**
   * connection.start's server-properties: RabbitMQ's keys in its order (rabbit_reader:
   * server_properties/1 usorts them). With a personality the values are that release's, plus a
   * `warren` entry with Warren's own version; without one they name Warren. A 0-8 connection.start
   * (3.x answering an AMQP 0-8 header) carries an empty capabilities table, as server_capabilities/1
   * gives for any protocol but 0-9-1.
   */
  serverProperties(protocol: '0-9-1' | '0-8' = '0-9-1'): FieldTable {
    if (protocol === '0-8') {
      this.properties08 ??= new Map([...this.serverProperties('0-9-1')].map(([k, v]) => [k, k === 'capabilities' ? fv.table(table()) : v] as const));
      return this.properties08;
    }
    const id = this.personality.identity;
    this.properties ??= table([
      ['capabilities', fv.table(table(IMPLEMENTED_CAPABILITIES.map((name) => [name, fv.bool(true)] as const)))],
      ['cluster_name', fv.str(`${id === undefined ? 'warren' : 'rabbit'}@${hostname()}`)],
      ['copyright', fv.str(id?.copyright ?? 'Copyright (c) the Warren developers')],
      ['information', fv.str(id?.information ?? 'Licensed under the MIT License. An AMQP 0-9-1 broker compatible with RabbitMQ clients.')],
      ['platform', fv.str(id?.platform ?? `Node.js ${process.version}`)],
      ['product', fv.str(id?.product ?? 'Warren')],
      ['version', fv.str(id?.version ?? VERSION)],
      ...(id === undefined ? [] : [['warren', fv.str(VERSION)] as const]),
    ]);
    return this.properties;
  }

  /**
   * Closes every connection with 320 CONNECTION_FORCED (their unacknowledged messages go back to
   * their queues), then closes the store cleanly.
   */
  async shutdown(reason = 'shutdown', waitMs = 2000): Promise<void> {
    this.stopResourceMonitors();
    await this.closeConnections(reason, waitMs);
    for (const v of this.vhosts.values()) for (const h of v.heldMessages()) await h.close();
    if (this.persistence instanceof DiskPersistence) {
      await this.persistence.close([...this.vhosts.values()].flatMap((v) => [...v.queues.values()]));
    }
  }

  private async closeConnections(reason: string, waitMs: number): Promise<void> {
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
