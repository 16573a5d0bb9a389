/**
 * The broker: configuration, users and permissions (the AccessDatabase), virtual hosts, and the live
 * connections. It accepts any Duplex stream as a client connection; TCP (src/server.ts) is a thin
 * listener around `acceptStream`.
 *
 * The AccessDatabase is the truth about users, vhosts and permissions; the broker follows its changes:
 * each is appended to the definitions log, a vhost added there gets its exchanges, a vhost deleted
 * there closes its connections (320, "vhost 'v' is deleted") and takes everything in it along, and a
 * deleted user's connections are closed the same way (rabbit_connection_tracking_handler).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { AccessDatabase, AccessDatabaseError } from './access/access-database.js';
import { AuthAttempts } from './access/auth-attempts.js';
import { closedBecause, type ConnectionCounts } from './access/permissions.js';
import { recordAccessChanges, restoreAccess } from './broker/access-records.js';
import { definitionsModel } from './broker/definitions-export.js';
import { LoadDefinitionsError, importDefinitions, type ImportResult } from './broker/definitions-import.js';
import { policySet, restorePolicies, storedPolicy, validPolicy } from './broker/policies.js';
import { DefinitionsError, exportDefinitionsText } from './definitions/definitions.js';
import { parseJson, writeJson, type JsonValue } from './util/json.js';
import type { Policy, PolicyKind, PolicyProperties } from './policy/policy.js';
import { resolveConfig, type BrokerConfig, type BrokerSettings } from './config.js';
import type { BrokerContext } from './connection/broker-context.js';
import type { PeerInfo } from './connection/broker-context.js';
import { Connection } from './connection/connection.js';
import { fv, table, type FieldTable } from './protocol/field-table.js';
import { VHost, type VHostSettings } from './vhost.js';
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
  /** Users, vhosts, permissions: change them here, the broker follows (and persists them). */
  readonly access: AccessDatabase;
  /** Logins that succeeded and failed, by protocol (Prometheus, the management API). */
  readonly authAttempts = new AuthAttempts();
  readonly vhosts = new Map<string, VHost>();
  /** Global runtime parameters (cluster_name, ...) from definitions imports: kept and exported, not used. */
  readonly globalParameters = new Map<string, JsonValue>();
  readonly connections = new Set<Connection>();
  private properties: FieldTable | undefined;
  private properties08: FieldTable | undefined;
  readonly persistence: Persistence;
  readonly storeBacklog = new StoreBacklog();
  /** Memory and disk alarms (set by the monitors, or directly by tests and embedders). */
  readonly alarms: ResourceAlarms;
  private memoryMonitor: MemoryMonitor | undefined;
  private diskMonitor: DiskMonitor | undefined;
  private readonly vhostSettings: VHostSettings;
  /** A first start that imports definitions instead of creating the defaults: the marker waits for the import. */
  private awaitingFirstImport = false;

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
    this.alarms = new ResourceAlarms(log, `warren@${hostname()}`);
    // rabbit_alarm tells every registered reader (connections past connection.open) of each change.
    this.alarms.onChange(() => {
      for (const c of this.connections) c.alarmsChanged();
    });
    this.persistence =
      config.durability === 'memory'
        ? new MemoryPersistence()
        : new DiskPersistence({ dataDir: config.dataDir, mode: config.durability, log, io: storage.io, segmentSize: storage.segmentSize });
    this.vhostSettings = {
      nodeName: `warren@${hostname()}`,
      replies: new DirectReplies(),
      defaultDeliveryLimit: config.quorumDeliveryLimitDefault ? 20 : undefined,
      release: { personality: this.personality, deprecatedFeatures: this.deprecatedFeatures },
    };
    this.access = new AccessDatabase({ loopbackUsers: config.loopbackUsers });
    const recovered = this.persistence instanceof DiskPersistence ? this.persistence.recovered : undefined;
    if (recovered !== undefined) restoreAccess(this.access, recovered, log);
    for (const v of this.access.listVhosts()) this.addVhostObject(v.name);
    if (recovered !== undefined) {
      restorePolicies(recovered.policies.values(), this.vhosts, log);
      for (const [name, value] of recovered.globalParameters) this.globalParameters.set(name, parseJson(value));
    }
    this.access.listen(recordAccessChanges(this.persistence));
    this.access.listen({
      vhostPut: (v, created) => {
        if (created) this.addVhostObject(v.name);
      },
      vhostDeleted: (name) => this.vhostDeleted(name),
      userDeleted: (name) => this.closeConnectionsWhere((c) => c.userName === name, closedBecause.userDeleted(name)),
    });
    if (recovered?.accessInitialised !== true) {
      // rabbit:maybe_insert_default_data/0: nothing is seeded when definitions are to be imported.
      if (config.loadDefinitions === undefined) this.createDefaultAccess();
      else this.awaitingFirstImport = true;
      // A data directory of format 2 has queues and exchanges of vhosts (its built-in '/') it never recorded.
      if (recovered !== undefined) {
        for (const e of [...recovered.exchanges.values(), ...recovered.queues.values()]) {
          if (this.access.vhost(e.vhost) === undefined) this.access.putVhost({ name: e.vhost });
        }
      }
    }
    if (this.persistence instanceof DiskPersistence) {
      this.restoreDefinitions(this.persistence);
      this.persistence.persister.onPressure = (high) => {
        this.log.debug({ high }, high ? 'store behind: pausing publishers' : 'store caught up: resuming publishers');
        this.storeBacklog.set(high);
      };
    }
  }

  /** This node's name, as error texts and the management API give it (warren@host). */
  get nodeName(): string {
    return this.vhostSettings.nodeName;
  }

  /**
   * A first start (RabbitMQ's rabbit:insert_default_data/0): the default vhost, the default user with
   * its tags, and its permissions there; then the log's marker, so that they are never created again
   * (a broker whose users were all deleted stays so). Re-running it after a crash before the marker
   * changes nothing.
   */
  private createDefaultAccess(): void {
    const c = this.config;
    this.access.putVhost({ name: c.defaultVhost, description: 'Default virtual host' });
    this.access.putUser({ name: c.defaultUser, password: c.defaultPass, tags: c.defaultUserTags });
    this.access.setPermissions(c.defaultUser, c.defaultVhost, ...c.defaultPermissions);
    this.persistence.accessChanged({ t: 'access-initialised' });
    this.log.info({ user: c.defaultUser, vhost: c.defaultVhost }, 'created the default user and vhost');
  }

  /**
   * Imports a definitions file (RabbitMQ's JSON, as text or parsed): users, vhosts, permissions,
   * topic permissions, vhost limits, exchanges, queues and bindings, durably. A file with any problem
   * is refused as a whole with DefinitionsError (every problem, with where it is) and changes nothing.
   */
  importDefinitions(input: string | JsonValue): ImportResult {
    const result = importDefinitions(this, input);
    if (this.awaitingFirstImport) {
      this.awaitingFirstImport = false;
      this.persistence.accessChanged({ t: 'access-initialised' });
    }
    return result;
  }

  /**
   * rabbitmqctl set_policy (kind 'policy') or set_operator_policy ('operator_policy'): validated with
   * RabbitMQ's texts (PolicyValidationError), then put in place of any of that name, durably.
   */
  setPolicy(vhost: string, name: string, props: PolicyProperties, kind: PolicyKind = 'policy'): Policy {
    const v = this.vhostOrThrow(vhost);
    const policy = validPolicy(kind, vhost, name, props);
    this.putPolicy(v, kind, policy);
    v.policiesChanged();
    return policy;
  }

  /** clear_policy / clear_operator_policy; false when there was none of that name. */
  clearPolicy(vhost: string, name: string, kind: PolicyKind = 'policy'): boolean {
    const v = this.vhostOrThrow(vhost);
    if (!policySet(v, kind).delete(name)) return false;
    this.persistence.accessChanged({ t: 'policy-cleared', kind, vhost, name });
    v.policiesChanged();
    return true;
  }

  /** Puts an already validated policy in place and records it (the caller tells the vhost, once for many). */
  putPolicy(v: VHost, kind: PolicyKind, policy: Policy): void {
    policySet(v, kind).put(policy);
    this.persistence.accessChanged({ t: 'policy', def: storedPolicy(kind, policy) });
  }

  /** A global parameter from a definitions import (kept and exported again). */
  setGlobalParameter(name: string, value: JsonValue): void {
    this.globalParameters.set(name, value);
    this.persistence.accessChanged({ t: 'global-parameter', name, value: writeJson(value) });
  }

  /**
   * The broker's definitions as RabbitMQ's JSON (rabbitmqctl export_definitions): users with their
   * hashes, vhosts, permissions, topic permissions, policies, operator policies, vhost limits, global
   * parameters, queues (not exclusive ones), exchanges and bindings. With `vhost`, that vhost's
   * entities and policies only (as the management API's per-vhost export).
   */
  exportDefinitions(vhost?: string): string {
    if (vhost !== undefined) this.vhostOrThrow(vhost);
    return exportDefinitionsText(definitionsModel(this, vhost));
  }

  private vhostOrThrow(name: string): VHost {
    const v = this.vhosts.get(name);
    if (v === undefined) throw new AccessDatabaseError('no_such_vhost', `vhost '${name}' does not exist`);
    return v;
  }

  /**
   * load_definitions: a file, or every *.json file of a directory in name order (RabbitMQ 3.9+),
   * each imported whole. Throws DefinitionsError (its message names the file) or the read error.
   */
  loadDefinitionsFrom(path: string): void {
    let files: string[];
    try {
      files = statSync(path).isDirectory()
        ? readdirSync(path)
            .filter((f) => f.endsWith('.json'))
            .sort()
            .map((f) => join(path, f))
        : [path];
    } catch (e) {
      throw new LoadDefinitionsError(path, e);
    }
    for (const file of files) {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
        this.importDefinitions(text);
      } catch (e) {
        if (e instanceof DefinitionsError || (e as NodeJS.ErrnoException).code !== undefined) throw new LoadDefinitionsError(file, e);
        throw e;
      }
      this.log.info({ file }, 'definitions loaded');
    }
  }

  private addVhostObject(name: string): void {
    const v = new VHost(name, this.log.child({ vhost: name }), this.persistence, this.vhostSettings);
    v.defaultQueueType = this.access.vhost(name)?.defaultQueueType;
    this.vhosts.set(name, v);
  }

  /** rabbit_vhost:delete/2: its connections are closed, then everything in it goes (durably). */
  private vhostDeleted(name: string): void {
    this.closeConnectionsWhere((c) => c.vhostName === name, closedBecause.vhostDeleted(name));
    const v = this.vhosts.get(name);
    if (v === undefined) return;
    this.vhosts.delete(name);
    v.deleteEverything();
    this.log.info({ vhost: name }, 'vhost deleted');
  }

  private closeConnectionsWhere(affected: (c: Connection) => boolean, text: string): void {
    for (const c of [...this.connections]) if (affected(c)) c.closeForced(text);
  }

  /**
   * Connections of other protocols (MQTT's): they count in the vhost and user connection limits as
   * RabbitMQ's plugins' direct connections do.
   */
  readonly otherConnections = new Set<Iterable<{ readonly vhostName: string | undefined; readonly userName: string | undefined }>>();

  /** Open connections to `vhost` and of `user`, counted only if a limit asks (connection.open). */
  connectionCounts(vhost: string, user: string): ConnectionCounts {
    const connections = this.connections;
    const others = this.otherConnections;
    const count = (matches: (c: { readonly vhostName: string | undefined; readonly userName: string | undefined }) => boolean) => {
      let n = 0;
      for (const c of connections) if (c.state === 'running' && matches(c)) n++;
      for (const set of others) for (const c of set) if (matches(c)) n++;
      return n;
    };
    return {
      get inVhost() {
        return count((c) => c.vhostName === vhost);
      },
      get ofUser() {
        return count((c) => c.userName === user);
      },
    };
  }

  userChannelCount(user: string): number {
    let n = 0;
    for (const c of this.connections) if (c.userName === user) n += c.channels.size;
    return n;
  }

  private restoreDefinitions(p: DiskPersistence): void {
    const d = p.recovered;
    const orphans = [...d.exchanges.values(), ...d.queues.values()].filter((e) => !this.vhosts.has(e.vhost));
    if (orphans.length > 0) {
      this.log.warn({ vhosts: [...new Set(orphans.map((e) => e.vhost))], entities: orphans.length }, 'durable queues and exchanges of vhosts that do not exist were not restored');
    }
    for (const x of d.exchanges.values()) this.vhosts.get(x.vhost)?.restoreExchange(x);
    for (const q of d.queues.values()) this.vhosts.get(q.vhost)?.restoreQueue(q);
    for (const b of d.bindings.values()) this.vhosts.get(b.vhost)?.restoreBinding(b);
    p.pruneQueueStores([...d.queues.values()].filter((q) => this.vhosts.has(q.vhost)).map((q) => q.id));
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
