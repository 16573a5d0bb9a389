/**
 * The definitions log: users, virtual hosts, permissions, policies, and durable exchanges, queues and
 * bindings, as an append-only log of changes.
 *
 *   record: u32 length, u32 crc32 of the payload, payload (JSON, one change)
 *
 * The data directory's FORMAT (data-dir.ts) versions this file with the rest: "warren-store 3" added
 * the access records (users, vhosts, permissions, topic permissions, policies, and the marker saying
 * the default user and vhost were created); a log from format 2 has none, and the broker seeds the
 * defaults into it as on a first start. Deleting a vhost or a user is one record: replay removes
 * what belonged to it (a vhost's entities, policies and permissions; a user's permissions).
 *
 * Changes are rare, so each is written with a synchronous write (it is in the kernel, and survives
 * kill -9, before the declare-ok goes out) and, with durability `fsync`, synced by the persister's
 * next round (which a confirm of a message into that queue waits for anyway). At start-up the log is
 * replayed (a torn last record is cut off) and rewritten as the current state: compaction.
 *
 * Field tables are stored as base64 of their AMQP encoding, so every argument keeps its exact type.
 */
import { closeSync, existsSync, fdatasyncSync, fstatSync, ftruncateSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { syncDirectory } from './data-dir.js';
import { crc32 } from 'node:zlib';
import type { Logger } from 'pino';
import { Reader, Writer } from '../protocol/codec-primitives.js';
import type { FieldTable } from '../protocol/field-table.js';
import type { Persister } from './persister.js';

export interface ExchangeDefinition {
  vhost: string;
  name: string;
  type: string;
  autoDelete: boolean;
  internal: boolean;
  arguments: FieldTable;
}

export interface QueueDefinition {
  vhost: string;
  name: string;
  /** Directory name of the queue's message store. */
  id: string;
  autoDelete: boolean;
  arguments: FieldTable;
}

export interface BindingDefinition {
  vhost: string;
  source: string;
  destKind: 'queue' | 'exchange';
  destination: string;
  routingKey: string;
  arguments: FieldTable;
}

/** A user as the log keeps it (the store's own shape: the model's records are converted). */
export interface StoredUser {
  name: string;
  /** base64 of salt ++ digest; '' for a user without password */
  passwordHash: string;
  hashingAlgorithm: string;
  tags: string[];
  limits: Record<string, number>;
}

export interface StoredVhost {
  name: string;
  description: string;
  tags: string[];
  defaultQueueType?: string;
  limits: Record<string, number>;
  tracing: boolean;
}

export interface StoredPermission {
  user: string;
  vhost: string;
  configure: string;
  write: string;
  read: string;
}

export interface StoredTopicPermission {
  user: string;
  vhost: string;
  exchange: string;
  write: string;
  read: string;
}

export interface StoredPolicy {
  kind: 'policy' | 'operator_policy';
  vhost: string;
  name: string;
  pattern: string;
  applyTo: string;
  priority: number;
  /** The definition as definitions-file JSON text (it may hold numbers plain JSON would change). */
  definition: string;
}

/** The changes to users, vhosts, permissions and policies the broker records. */
export type AccessChange =
  | { t: 'user'; def: StoredUser }
  | { t: 'user-deleted'; name: string }
  | { t: 'vhost'; def: StoredVhost }
  | { t: 'vhost-deleted'; name: string }
  | { t: 'permission'; def: StoredPermission }
  | { t: 'permission-cleared'; user: string; vhost: string }
  | { t: 'topic-permission'; def: StoredTopicPermission }
  /** without `exchange`: all of the user's topic permissions in the vhost */
  | { t: 'topic-permission-cleared'; user: string; vhost: string; exchange?: string }
  | { t: 'policy'; def: StoredPolicy }
  | { t: 'policy-cleared'; kind: 'policy' | 'operator_policy'; vhost: string; name: string }
  /** A global parameter (from a definitions import); the value as definitions-file JSON text. */
  | { t: 'global-parameter'; name: string; value: string }
  /** The default user, vhost and permissions exist (written once, after them, on a first start). */
  | { t: 'access-initialised' };

type Change =
  | AccessChange
  | { t: 'exchange'; def: ExchangeDefinition }
  | { t: 'exchange-deleted'; vhost: string; name: string }
  | { t: 'queue'; def: QueueDefinition }
  | { t: 'queue-deleted'; vhost: string; name: string }
  | { t: 'binding'; def: BindingDefinition }
  | { t: 'unbinding'; def: BindingDefinition };

/** The durable state, as replayed from the log. */
export class Definitions {
  readonly exchanges = new Map<string, ExchangeDefinition>();
  readonly queues = new Map<string, QueueDefinition>();
  readonly bindings = new Map<string, BindingDefinition>();
  readonly users = new Map<string, StoredUser>();
  readonly vhosts = new Map<string, StoredVhost>();
  readonly permissions = new Map<string, StoredPermission>();
  readonly topicPermissions = new Map<string, StoredTopicPermission>();
  readonly policies = new Map<string, StoredPolicy>();
  /** name -> value (JSON text) */
  readonly globalParameters = new Map<string, string>();
  /** The log says the defaults were created: the access records are the whole truth. */
  accessInitialised = false;

  apply(c: Change): void {
    switch (c.t) {
      case 'user':
        this.users.set(c.def.name, c.def);
        break;
      case 'user-deleted':
        this.users.delete(c.name);
        deleteWhere(this.permissions, (p) => p.user === c.name);
        deleteWhere(this.topicPermissions, (p) => p.user === c.name);
        break;
      case 'vhost':
        this.vhosts.set(c.def.name, c.def);
        break;
      case 'vhost-deleted':
        this.vhosts.delete(c.name);
        deleteWhere(this.permissions, (p) => p.vhost === c.name);
        deleteWhere(this.topicPermissions, (p) => p.vhost === c.name);
        deleteWhere(this.policies, (p) => p.vhost === c.name);
        deleteWhere(this.exchanges, (x) => x.vhost === c.name);
        deleteWhere(this.queues, (q) => q.vhost === c.name);
        deleteWhere(this.bindings, (b) => b.vhost === c.name);
        break;
      case 'permission':
        this.permissions.set(key(c.def.user, c.def.vhost), c.def);
        break;
      case 'permission-cleared':
        this.permissions.delete(key(c.user, c.vhost));
        break;
      case 'topic-permission':
        this.topicPermissions.set(key(c.def.user, c.def.vhost, c.def.exchange), c.def);
        break;
      case 'topic-permission-cleared':
        if (c.exchange !== undefined) this.topicPermissions.delete(key(c.user, c.vhost, c.exchange));
        else deleteWhere(this.topicPermissions, (p) => p.user === c.user && p.vhost === c.vhost);
        break;
      case 'policy':
        this.policies.set(key(c.def.kind, c.def.vhost, c.def.name), c.def);
        break;
      case 'policy-cleared':
        this.policies.delete(key(c.kind, c.vhost, c.name));
        break;
      case 'global-parameter':
        this.globalParameters.set(c.name, c.value);
        break;
      case 'access-initialised':
        this.accessInitialised = true;
        break;
      case 'exchange':
        this.exchanges.set(key(c.def.vhost, c.def.name), c.def);
        break;
      case 'exchange-deleted':
        this.exchanges.delete(key(c.vhost, c.name));
        for (const [k, b] of this.bindings) {
          if (b.vhost === c.vhost && (b.source === c.name || (b.destKind === 'exchange' && b.destination === c.name))) this.bindings.delete(k);
        }
        break;
      case 'queue':
        this.queues.set(key(c.def.vhost, c.def.name), c.def);
        break;
      case 'queue-deleted':
        this.queues.delete(key(c.vhost, c.name));
        for (const [k, b] of this.bindings) {
          if (b.vhost === c.vhost && b.destKind === 'queue' && b.destination === c.name) this.bindings.delete(k);
        }
        break;
      case 'binding':
        this.bindings.set(bindingId(c.def), c.def);
        break;
      case 'unbinding':
        this.bindings.delete(bindingId(c.def));
        break;
    }
  }
}

export class DefinitionsLog {
  private fd: number;
  private position: number;

  private constructor(
    private readonly path: string,
    fd: number,
    position: number,
    private readonly persister: Persister | undefined,
  ) {
    this.fd = fd;
    this.position = position;
  }

  /** Replays the log, repairs a torn tail, compacts it to the current state, and opens it for appends. */
  static open(path: string, persister: Persister | undefined, log: Logger): { log: DefinitionsLog; state: Definitions } {
    const state = new Definitions();
    if (existsSync(path)) {
      const data = readFileSync(path);
      let at = 0;
      while (at + 8 <= data.length) {
        const len = data.readUInt32BE(at);
        if (len === 0 || at + 8 + len > data.length) break;
        const payload = data.subarray(at + 8, at + 8 + len);
        if (crc32(payload) !== data.readUInt32BE(at + 4)) break;
        state.apply(decodeChange(payload.toString('utf8')));
        at += 8 + len;
      }
      if (at < data.length) log.warn({ file: path, dropped: data.length - at }, 'repaired a torn definitions log tail');
    }
    // Compaction: the current state in a new file, swapped in atomically.
    const tmp = `${path}.new`;
    const fd = openSync(tmp, 'w', 0o644);
    let position = 0;
    const write = (c: Change) => {
      const rec = encodeChange(c);
      writeSync(fd, rec, 0, rec.length, position);
      position += rec.length;
    };
    for (const def of state.users.values()) write({ t: 'user', def });
    for (const def of state.vhosts.values()) write({ t: 'vhost', def });
    for (const def of state.permissions.values()) write({ t: 'permission', def });
    for (const def of state.topicPermissions.values()) write({ t: 'topic-permission', def });
    for (const def of state.policies.values()) write({ t: 'policy', def });
    for (const [name, value] of state.globalParameters) write({ t: 'global-parameter', name, value });
    if (state.accessInitialised) write({ t: 'access-initialised' });
    for (const def of state.exchanges.values()) write({ t: 'exchange', def });
    for (const def of state.queues.values()) write({ t: 'queue', def });
    for (const def of state.bindings.values()) write({ t: 'binding', def });
    fdatasyncSync(fd);
    closeSync(fd);
    renameSync(tmp, path);
    syncDirectory(dirname(path));
    const afd = openSync(path, 'r+');
    const size = fstatSync(afd).size;
    if (size !== position) ftruncateSync(afd, position);
    return { log: new DefinitionsLog(path, afd, position, persister), state };
  }

  append(c: Change): void {
    const rec = encodeChange(c);
    writeSync(this.fd, rec, 0, rec.length, this.position);
    this.position += rec.length;
    this.persister?.syncLater(this.fd, this.path);
  }

  accessChanged(c: AccessChange): void {
    this.append(c);
  }

  exchangeDeclared(def: ExchangeDefinition): void {
    this.append({ t: 'exchange', def });
  }
  exchangeDeleted(vhost: string, name: string): void {
    this.append({ t: 'exchange-deleted', vhost, name });
  }
  queueDeclared(def: QueueDefinition): void {
    this.append({ t: 'queue', def });
  }
  queueDeleted(vhost: string, name: string): void {
    this.append({ t: 'queue-deleted', vhost, name });
  }
  bound(def: BindingDefinition): void {
    this.append({ t: 'binding', def });
  }
  unbound(def: BindingDefinition): void {
    this.append({ t: 'unbinding', def });
  }

  close(): void {
    try {
      fdatasyncSync(this.fd);
    } finally {
      closeSync(this.fd);
    }
  }
}

const key = (...parts: string[]) => parts.join('\u0000');

function deleteWhere<T>(m: Map<string, T>, doomed: (v: T) => boolean): void {
  for (const [k, v] of m) if (doomed(v)) m.delete(k);
}

function bindingId(b: BindingDefinition): string {
  return [b.vhost, b.source, b.destKind, b.destination, b.routingKey, tableToBase64(b.arguments)].join('\u0000');
}

function tableToBase64(t: FieldTable): string {
  const w = new Writer(64);
  w.table(t);
  return w.bytes().toString('base64');
}

function tableFromBase64(s: string): FieldTable {
  return new Reader(Buffer.from(s, 'base64')).table();
}

function encodeChange(c: Change): Buffer {
  const json = JSON.stringify(c, (k, v) => (k === 'arguments' ? tableToBase64(v as FieldTable) : v));
  const payload = Buffer.from(json, 'utf8');
  const rec = Buffer.allocUnsafe(8 + payload.length);
  rec.writeUInt32BE(payload.length, 0);
  rec.writeUInt32BE(crc32(payload), 4);
  payload.copy(rec, 8);
  return rec;
}

function decodeChange(json: string): Change {
  return JSON.parse(json, (k, v) => (k === 'arguments' ? tableFromBase64(v as string) : v)) as Change;
}
