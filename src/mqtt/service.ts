/**
 * The MQTT adapter of a broker: it accepts any Duplex stream as an MQTT connection (the TCP
 * listener in server.ts is a thin wrapper, tests may use in-process pairs), keeps which connection
 * holds each client id, and each vhost's retained messages.
 *
 * Client ids are one namespace across vhosts, as rabbit_mqtt_collector keeps them in 3.10: a
 * CONNECT with the id of a live connection closes that one ("duplicate id"), without its will.
 * The broker's own events reach MQTT connections too: a deleted vhost or user closes them, an alarm
 * stops reading from them, shutdown closes them all.
 */
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { Broker } from '../broker.js';
import type { PeerInfo } from '../connection/broker-context.js';
import type { MqttClient, MqttServiceContext, MqttSettings, WillMessage } from './client.js';
import { MqttConnection } from './connection.js';
import { publishWill } from './publish.js';
import { RC } from './v5.js';
import { join } from 'node:path';
import { RetainedMessages } from './retained.js';
import { RetainedStore } from './retained-store.js';

export class MqttService implements MqttServiceContext {
  readonly connections = new Set<MqttConnection>();
  private readonly byClientId = new Map<string, MqttClient>();
  private readonly retainedByVhost = new Map<string, RetainedMessages>();
  /** MQTT 5 wills waiting out their Will Delay Interval, by client id. */
  private readonly delayedWills = new Map<string, NodeJS.Timeout>();
  readonly publishedRetained = new WeakSet<object>();
  readonly log: Logger;
  /** Retained messages on disk, when the broker has a data directory. */
  private readonly retainedStore: RetainedStore | undefined;

  constructor(
    readonly broker: Broker,
    readonly settings: MqttSettings,
  ) {
    this.log = broker.log.child({ protocol: 'mqtt' });
    const c = broker.config;
    if (c.durability !== 'memory') {
      this.retainedStore = new RetainedStore(join(c.dataDir, 'mqtt-retained'), this.log);
      // Each stored vhost's messages are read now; a vhost deleted meanwhile loses its file.
      for (const vhost of this.retainedStore.vhosts()) {
        if (broker.vhosts.has(vhost)) this.retained(vhost);
        else this.retainedStore.deleteVhost(vhost);
      }
    }
    // MQTT connections count in the vhost and user connection limits (max-connections), as the
    // plugin's direct AMQP connections do in RabbitMQ: a CONNECT over a limit gets CONNACK 5.
    broker.otherConnections.add(this.loggedIn());
    broker.alarms.onChange(() => {
      for (const c of this.connections) c.alarmsChanged();
    });
    broker.access.listen({
      vhostDeleted: (name) => {
        this.closeWhere((c) => c.vhostName === name, `vhost '${name}' is deleted`);
        this.retainedByVhost.delete(name);
        this.retainedStore?.deleteVhost(name);
      },
      userDeleted: (name) => this.closeWhere((c) => c.userName === name, `user '${name}' is deleted`),
    });
  }

  /** The connections past CONNECT (those not yet logged in have no vhost and user). */
  private loggedIn(): Iterable<MqttClient> {
    const connections = this.connections;
    return {
      *[Symbol.iterator]() {
        for (const c of connections) if (c.state === 'connected') yield c;
      },
    };
  }

  acceptStream(stream: Duplex, peer: PeerInfo = {}): MqttConnection {
    const c = new MqttConnection(stream, peer, this);
    this.connections.add(c);
    c.onClosed = () => {
      this.connections.delete(c);
      if (this.byClientId.get(c.clientId) === c) this.byClientId.delete(c.clientId);
    };
    return c;
  }

  claimClientId(client: MqttClient): void {
    // A delayed will of the id is not sent: its session is back ([MQTT-3.1.3-9]).
    const delayed = this.delayedWills.get(client.clientId);
    if (delayed !== undefined) {
      clearTimeout(delayed);
      this.delayedWills.delete(client.clientId);
    }
    const earlier = this.byClientId.get(client.clientId);
    this.byClientId.set(client.clientId, client);
    if (earlier === undefined || earlier === client) return;
    earlier.log.warn({ clientId: client.clientId }, `MQTT disconnecting client with duplicate id '${client.clientId}'`);
    earlier.disconnect(RC.SESSION_TAKEN_OVER, 'duplicate client id');
  }

  /** MQTT 5: the will goes out after its delay, unless the client id connects again first. */
  delayWill(client: MqttClient, will: WillMessage): void {
    const id = client.clientId;
    clearTimeout(this.delayedWills.get(id));
    const timer = setTimeout(() => {
      this.delayedWills.delete(id);
      publishWill(client, will);
    }, will.delaySeconds! * 1000);
    timer.unref();
    this.delayedWills.set(id, timer);
  }

  retained(vhost: string): RetainedMessages {
    let r = this.retainedByVhost.get(vhost);
    if (r === undefined) this.retainedByVhost.set(vhost, (r = new RetainedMessages(vhost, this.retainedStore)));
    return r;
  }

  private closeWhere(affected: (c: MqttConnection) => boolean, reason: string): void {
    for (const c of [...this.connections]) if (affected(c)) c.close(reason);
  }

  /** Shutdown: every connection closed (no wills), before the broker closes its queues. */
  closeAll(reason: string): void {
    for (const t of this.delayedWills.values()) clearTimeout(t);
    this.delayedWills.clear();
    this.closeWhere((c) => {
      if (c.v5 !== undefined && c.state === 'connected') c.send({ cmd: 'disconnect', reasonCode: RC.SERVER_SHUTTING_DOWN });
      return true;
    }, reason);
  }

  /** Shutdown: the retained messages' writes under way finished. */
  flush(): Promise<void> {
    return this.retainedStore?.flush() ?? Promise.resolve();
  }
}
