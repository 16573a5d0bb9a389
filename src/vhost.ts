/**
 * A virtual host: its exchanges, queues and bindings, the entity commands (declare, delete, bind,
 * unbind, purge) with RabbitMQ's checks and error texts, and `publish`, the one way a message
 * enters queues: client publishes, transactions, dead letters and delayed messages coming due all
 * go through it.
 */
import type { Logger } from 'pino';
import { accessRefused, commandInvalid, notFound, preconditionFailed, resourceLocked, resourceName } from './errors.js';
import { DirectReplies } from './direct-reply.js';
import { DefaultExchange } from './exchange/default.js';
import { DELAYED_EXCHANGE_TYPE, DelayedExchange } from './exchange/delayed.js';
import { HeldMessages } from './exchange/held-messages.js';
import { bindingKey, type Binding, type Destination, type Exchange, type ExchangeOptions } from './exchange/exchange.js';
import {
  STANDARD_EXCHANGES,
  checkExchangeDeclaration,
  createExchange,
  isExchangeType,
  isStandardExchange,
  stringArg,
  type ExchangeType,
} from './exchange/exchange-types.js';
import { RouteCollector, Router } from './exchange/router.js';
import type { Message } from './message/message.js';
import {
  PolicySet,
  effectiveExchangeSettings,
  effectiveQueueSettings,
  type EffectiveExchangeSettings,
  type EffectiveQueueSettings,
} from './policy/policy.js';
import type { FieldTable } from './protocol/field-table.js';
import type { PacedPublisher } from './publisher-throttle.js';
import { QUEUE_TYPE_ARGUMENTS, assertArgsEquivalence, assertFieldEquivalence, queueTypeArguments, queueTypeOf, type QueueType } from './queue/arguments.js';
import { augmentDeclareArguments, checkQueueDeclaration, generateQueueName, withQueueType } from './queue/declare-checks.js';
import { Queue, type QueueOptions } from './queue/queue.js';
import { StreamQueue, streamLimits } from './queue/stream-queue.js';
import { QueueCounters } from './queue/queue-counters.js';
import type { MessageTarget } from './queue/target.js';
import type { SettlementWatch } from './queue/settlement-watch.js';
import type { ExchangeDefinition, QueueDefinition, BindingDefinition } from './store/definitions.js';
import type { StoredCallback } from './store/persister.js';
import { MemoryPersistence, type Persistence } from './store/persistence.js';
import { personalityFor, type Personality } from './personality.js';
import type { DeprecatedFeatures } from './deprecated-features.js';
import { DeadLetters } from './vhost/dead-letters.js';

export interface VHostSettings {
  /** This broker's node name, as error texts name it. */
  readonly nodeName: string;
  /** RabbitMQ 4's default x-delivery-limit (20) for quorum queues, when enabled. */
  readonly defaultDeliveryLimit: number | undefined;
  /** The broker's direct reply-to registry (shared by all vhosts: a reply may cross vhosts). */
  readonly replies?: DirectReplies;
  /** The RabbitMQ release imitated (personality.ts); unset (a vhost made outside a broker): 3.10. */
  readonly release?: { readonly personality: Personality; readonly deprecatedFeatures: DeprecatedFeatures | undefined };
}

export interface DeclareQueueRequest {
  name: string;
  passive: boolean;
  durable: boolean;
  exclusive: boolean;
  autoDelete: boolean;
  arguments: FieldTable;
  /** Id of the declaring connection (exclusive queues belong to it). */
  connectionId: number;
  /**
   * The channel's access checks, run where rabbit_channel runs them: once the name is final (CR and
   * LF stripped, or generated: `serverNamed`), before the queue is looked up. Passive declares need none.
   */
  authorize?: (name: string, serverNamed: boolean) => void;
}

export interface DeclareExchangeRequest {
  name: string;
  type: string;
  passive: boolean;
  durable: boolean;
  autoDelete: boolean;
  internal: boolean;
  arguments: FieldTable;
  /** The channel's access checks, after the type and default-exchange checks and before the lookup. */
  authorize?: (name: string) => void;
}

/**
 * The outcome of one publish across its targets (confirm mode, a transaction's commit): `pending`
 * counts the stores still to report, `refused` is set if any target refused the message.
 */
export interface PublishTracker {
  pending: number;
  refused: boolean;
  /** Given to each target that stores the message durably; runs once per such target. */
  readonly stored: StoredCallback;
}

export class VHost {
  readonly queues = new Map<string, Queue>();
  /** The vhost's policies and operator policies (rabbit_policy), set through the broker. */
  readonly policies = new PolicySet();
  readonly operatorPolicies = new PolicySet();
  /** The vhost's metadata default_queue_type: durable queues declared without x-queue-type get it. */
  defaultQueueType: QueueType | undefined;
  readonly replies: DirectReplies;
  readonly exchanges = new Map<string, Exchange>();
  private readonly defaultExchange: DefaultExchange;
  private readonly router: Router;
  /** Bindings by destination (for cleanup when a queue or exchange goes). */
  private readonly bindingsTo = new Map<Destination, Set<Binding>>();
  /** For publishes from clients (walked by `publish` before anything can route again). */
  private readonly routes = new RouteCollector();
  /**
   * For the broker's own routings (dead letters, delayed messages coming due), which can happen while
   * a client's publish is still walking the result of `routes`.
   */
  private readonly internalRoutes = new RouteCollector();

  /** The RabbitMQ release imitated, read once. */
  private readonly personality: Personality;
  private readonly deadLetters: DeadLetters;
  /** Given to every queue made while a test waits for message outcomes here (broker/test-hooks.ts). */
  settlementWatch: SettlementWatch | undefined = undefined;

  /** Client publishes into this vhost, routed or not (the management statistics' publish count). */
  published = 0;
  /** The message totals of the vhost's deleted queues by queue type, so that totals never go down. */
  readonly deletedQueueCounters = new Map<QueueType, QueueCounters>();

  constructor(
    readonly name: string,
    readonly log: Logger,
    private readonly persistence: Persistence = new MemoryPersistence(),
    private readonly settings: VHostSettings = { nodeName: 'warren@localhost', defaultDeliveryLimit: undefined },
  ) {
    this.personality = settings.release?.personality ?? personalityFor('3.10');
    this.replies = settings.replies ?? new DirectReplies();
    this.defaultExchange = new DefaultExchange(this.queues, name, this.replies);
    this.exchanges.set('', this.defaultExchange);
    for (const [xname, type, internal] of STANDARD_EXCHANGES) {
      this.exchanges.set(xname, createExchange(type, xname, name, { durable: true, autoDelete: false, internal, arguments: new Map() }));
    }
    this.router = new Router(this.exchanges, this.defaultExchange);
    this.deadLetters = new DeadLetters(this, this.personality.deathModel);
  }

  // ------------------------------------------------------------------------------------------
  // Publishing

  /** The exchange a publish names: 404 when missing, 403 when internal. */
  exchangeForPublish(name: string): Exchange {
    const x = this.exchanges.get(name);
    if (x === undefined) throw notFound(`no ${resourceName('exchange', name, this.name)}`);
    if (x.options.internal) throw accessRefused(`cannot publish to internal ${resourceName('exchange', name, this.name)}`);
    return x;
  }

  /**
   * Publishes a message from exchange `x`: routes it (the routing key, then the CC and BCC keys in
   * `extraKeys`) and hands it to every target reached. `tracker` learns the outcome (stored,
   * refused); `publisher` is asked to wait by queues that pace their publishers. Returns how many
   * targets took the message: 0 means unroutable (a mandatory publish is returned by the caller).
   */
  publish(
    x: Exchange,
    routingKey: string,
    extraKeys: readonly string[] | undefined,
    msg: Message,
    tracker: PublishTracker | undefined,
    publisher: PacedPublisher | undefined,
  ): number {
    this.published++;
    return this.enqueue(this.router.route(this.routes, x, routingKey, msg, extraKeys), msg, tracker, publisher);
  }

  /**
   * The targets a message would reach now, as a list of its own: a transaction routes at publish
   * time, as RabbitMQ does, and hands the message over (with `enqueue`) at commit.
   */
  route(x: Exchange, routingKey: string, msg: Message, extraKeys: readonly string[] | undefined): MessageTarget[] {
    return this.router.route(this.internalRoutes, x, routingKey, msg, extraKeys).slice();
  }

  /**
   * Hands a routed message to its targets (those deleted since routing are skipped); every message
   * that enters a queue comes through here. Returns how many targets took it.
   */
  enqueue(targets: readonly MessageTarget[], msg: Message, tracker: PublishTracker | undefined, publisher: PacedPublisher | undefined): number {
    msg.publishedAt = Date.now();
    let n = 0;
    for (let i = 0; i < targets.length; i++) {
      const t = targets[i]!;
      if (t.deleted) continue;
      n++;
      if (tracker === undefined) {
        t.publish(msg);
      } else {
        const outcome = t.publish(msg, tracker.stored);
        if (outcome === 'refused') tracker.refused = true;
        else if (outcome === 'pending') tracker.pending++;
      }
      if (publisher !== undefined && t.overPace) publisher.pacedBy(t);
    }
    return n;
  }

  // ------------------------------------------------------------------------------------------
  // Exchanges

  declareExchange(req: DeclareExchangeRequest): Exchange {
    const name = stripCrLf(req.name);
    if (req.passive) {
      if (name === '') throw accessRefused('operation not permitted on the default exchange');
      const x = this.exchanges.get(name);
      if (x === undefined) throw notFound(`no ${resourceName('exchange', name, this.name)}`);
      return x;
    }
    if (!isExchangeType(req.type) && req.type !== DELAYED_EXCHANGE_TYPE) throw commandInvalid(`unknown exchange type '${req.type}'`);
    if (name === '') throw accessRefused('operation not permitted on the default exchange');
    req.authorize?.(name);
    let x = this.exchanges.get(name);
    if (x === undefined) {
      if (name.startsWith('amq.')) throw accessRefused(`exchange name '${name}' contains reserved prefix 'amq.*'`);
      this.checkNewExchange(name, req.type, req.arguments);
      x = this.createExchange(req.type as ExchangeType | typeof DELAYED_EXCHANGE_TYPE, name, {
        durable: req.durable,
        autoDelete: req.autoDelete,
        internal: req.internal,
        arguments: req.arguments,
      });
      this.exchanges.set(name, x);
      this.persistence.exchangeDeclared(x);
      this.log.debug({ exchange: name, type: req.type }, 'exchange declared');
      return x;
    }
    const eq = (field: string, current: unknown, requested: unknown) => assertFieldEquivalence('exchange', name, this.name, field, current, requested);
    eq('type', x.type, req.type);
    eq('durable', x.options.durable, req.durable);
    eq('auto_delete', x.options.autoDelete, req.autoDelete);
    eq('internal', x.options.internal, req.internal);
    assertArgsEquivalence('exchange', name, this.name, x.options.arguments, req.arguments, ['alternate-exchange']);
    return x;
  }

  /**
   * What the declaration of a new exchange is refused for once its name is allowed: an unknown type,
   * an alternate-exchange that is not a longstr, a delayed exchange without a valid x-delayed-type.
   * Changes nothing (a definitions import checks every exchange before it declares any).
   */
  checkNewExchange(name: string, type: string, args: FieldTable): void {
    checkExchangeDeclaration(name, this.name, type, args);
  }

  deleteExchange(rawName: string, ifUnused: boolean): void {
    const name = stripCrLf(rawName);
    if (name === '') throw accessRefused('operation not permitted on the default exchange');
    if (name.startsWith('amq.')) throw accessRefused(`deletion of system ${resourceName('exchange', name, this.name)} not allowed`);
    const x = this.exchanges.get(name);
    if (x === undefined) return;
    if (ifUnused && x.bindings.size > 0) throw preconditionFailed(`${resourceName('exchange', name, this.name)} in use`);
    this.removeExchange(x);
  }

  private removeExchange(x: Exchange): void {
    x.deleted = true;
    if (x instanceof DelayedExchange) x.held?.destroy();
    this.exchanges.delete(x.name);
    this.persistence.exchangeDeleted(x);
    for (const b of [...x.bindings.values()]) this.dropBinding(b, false);
    this.dropBindingsTo(x);
    this.log.debug({ exchange: x.name }, 'exchange deleted');
  }

  // ------------------------------------------------------------------------------------------
  // Bindings

  /** queue.bind and exchange.bind. */
  bind(sourceName: string, destKind: 'queue' | 'exchange', destName: string, routingKey: string, args: FieldTable, connectionId: number): void {
    const { source, destination } = this.bindingEnds(sourceName, destKind, destName, connectionId, true)!;
    const invalid = source.validateBinding(args);
    if (invalid !== undefined) throw preconditionFailed(invalid);
    this.addBinding(source, destination, routingKey, args, true);
  }

  private addBinding(source: Exchange, destination: Queue | Exchange, routingKey: string, args: FieldTable, persist: boolean): void {
    const b: Binding = { source, destination, routingKey, arguments: args, key: bindingKey(destination, routingKey, args) };
    if (!source.addBinding(b)) return;
    let to = this.bindingsTo.get(destination);
    if (to === undefined) this.bindingsTo.set(destination, (to = new Set()));
    to.add(b);
    if (persist) this.persistence.bound(b);
  }

  /**
   * A binding from a definitions import (rabbit_binding:add/3 without a channel): both ends exist,
   * the arguments were checked (bindingProblem); no exclusive-queue check, as RabbitMQ makes none.
   */
  importBinding(sourceName: string, destKind: 'queue' | 'exchange', destName: string, routingKey: string, args: FieldTable): void {
    const source = this.exchanges.get(sourceName);
    const destination = destKind === 'queue' ? this.queues.get(destName) : this.exchanges.get(destName);
    if (source === undefined || destination === undefined) throw notFound(`no ${resourceName(source === undefined ? 'exchange' : destKind, source === undefined ? sourceName : destName, this.name)}`);
    this.addBinding(source, destination, routingKey, args, true);
  }

  /**
   * Why a binding with these arguments from an exchange of `sourceType` would be refused (406), or
   * undefined: the exchange type's validate_binding, for a source that may not exist yet.
   */
  bindingProblem(sourceType: string, sourceArgs: FieldTable, args: FieldTable): string | undefined {
    const type = sourceType === DELAYED_EXCHANGE_TYPE ? stringArg(sourceArgs.get('x-delayed-type')) : sourceType;
    if (type === undefined || !isExchangeType(type)) return undefined;
    return createExchange(type, '', this.name, { durable: false, autoDelete: false, internal: false, arguments: new Map() }).validateBinding(args);
  }

  /** queue.unbind and exchange.unbind: like RabbitMQ, unbinding what is not there is fine. */
  unbind(sourceName: string, destKind: 'queue' | 'exchange', destName: string, routingKey: string, args: FieldTable, connectionId: number): void {
    const ends = this.bindingEnds(sourceName, destKind, destName, connectionId, false);
    if (ends === undefined) return;
    const b = ends.source.bindings.get(bindingKey(ends.destination, routingKey, args));
    if (b !== undefined) this.dropBinding(b, true);
  }

  private bindingEnds(
    rawSource: string,
    destKind: 'queue' | 'exchange',
    rawDest: string,
    connectionId: number,
    mustExist: boolean,
  ): { source: Exchange; destination: Queue | Exchange } | undefined {
    const sourceName = stripCrLf(rawSource);
    const destName = stripCrLf(rawDest);
    if ((destKind === 'exchange' && destName === '') || sourceName === '') {
      throw accessRefused('operation not permitted on the default exchange');
    }
    const source = this.exchanges.get(sourceName);
    const destination = destKind === 'queue' ? this.queues.get(destName) : this.exchanges.get(destName);
    if (source === undefined || destination === undefined) {
      if (!mustExist) return undefined;
      if (source === undefined) throw notFound(`no ${resourceName('exchange', sourceName, this.name)}`);
      throw notFound(`no ${resourceName(destKind, destName, this.name)}`);
    }
    if (destination.kind === 'queue') this.checkExclusiveAccess(destination, connectionId);
    return { source, destination };
  }

  /** Removes a binding; the source goes too if it is auto-delete and this was its last binding. */
  private dropBinding(b: Binding, maybeAutoDeleteSource: boolean): void {
    b.source.removeBinding(b.key);
    const to = this.bindingsTo.get(b.destination);
    to?.delete(b);
    if (to?.size === 0) this.bindingsTo.delete(b.destination);
    this.persistence.unbound(b);
    const s = b.source;
    if (maybeAutoDeleteSource && s.options.autoDelete && s.bindings.size === 0 && !s.deleted && this.exchanges.get(s.name) === s) {
      this.log.debug({ exchange: s.name }, 'auto-delete exchange lost its last binding');
      this.removeExchange(s);
    }
  }

  /** Drops every binding to a queue or exchange that is going away. */
  private dropBindingsTo(d: Destination): void {
    const to = this.bindingsTo.get(d);
    if (to === undefined) return;
    for (const b of [...to]) this.dropBinding(b, true);
    this.bindingsTo.delete(d);
  }

  // ------------------------------------------------------------------------------------------
  // Queues

  declareQueue(request: DeclareQueueRequest): Queue {
    const req = this.personality.injectsQueueType && !request.passive ? withQueueType(request) : request;
    const requested = stripCrLf(req.name);
    if (req.passive) {
      const q = this.queues.get(requested);
      if (q === undefined) throw notFound(`no ${resourceName('queue', requested, this.name)}`);
      this.checkExclusiveAccess(q, req.connectionId);
      q.touch();
      return q;
    }
    const durable = req.durable && !req.exclusive;
    const args = augmentDeclareArguments(req, this.defaultQueueType);
    let name = requested;
    if (name === '') {
      const type = queueTypeOf(args);
      if (type !== 'classic' && QUEUE_TYPE_ARGUMENTS[type] !== undefined) {
        throw preconditionFailed(`Cannot declare a server-named queue for type rabbit_${type}_queue`);
      }
      name = generateQueueName();
    } else if (name.startsWith('amq.')) {
      throw accessRefused(`queue name '${name}' contains reserved prefix 'amq.*'`);
    }
    req.authorize?.(name, requested === '');
    const owner = req.exclusive ? req.connectionId : undefined;
    const existing = this.queues.get(name);
    if (existing !== undefined) {
      if (existing.options.owner !== owner) throw this.lockedError(existing);
      assertFieldEquivalence('queue', name, this.name, 'durable', existing.options.durable, durable);
      assertFieldEquivalence('queue', name, this.name, 'auto_delete', existing.options.autoDelete, req.autoDelete);
      const type = queueTypeOf(existing.options.arguments);
      assertArgsEquivalence('queue', name, this.name, existing.options.arguments, args, queueTypeArguments(type, this.personality));
      existing.touch();
      return existing;
    }
    this.checkNewQueue(name, durable, req.exclusive, req.autoDelete, args);
    const options: QueueOptions = {
      durable,
      exclusive: req.exclusive,
      autoDelete: req.autoDelete,
      arguments: args,
      owner,
    };
    const q = this.createQueue(name, options, undefined);
    q.touch();
    this.persistence.queueDeclared(q);
    this.log.debug({ queue: name }, 'queue declared');
    return q;
  }

  /**
   * What the declaration of a new queue is refused for once its name and access are allowed: the
   * x-dead-letter-exchange type, the x-arguments, a quorum queue's properties. Changes nothing.
   */
  checkNewQueue(name: string, durable: boolean, exclusive: boolean, autoDelete: boolean, args: FieldTable): void {
    checkQueueDeclaration(name, this.name, { durable, exclusive, autoDelete, arguments: args }, this.personality, this.settings.release?.deprecatedFeatures);
  }

  private createQueue(name: string, options: QueueOptions, storeId: string | undefined): Queue {
    const stream = queueTypeOf(options.arguments) === 'stream';
    const q = stream ? new StreamQueue(name, this.name, options, this.personality.streamFiltering) : new Queue(name, this.name, options, { defaultDeliveryLimit: this.settings.defaultDeliveryLimit });
    q.events = {
      expire: (queue, why) => this.expireQueue(queue, why),
      deadLetter: (queue, msg, reason) => this.deadLetters.deadLetter(queue, msg, reason),
    };
    q.log = this.log;
    q.settlementWatch = this.settlementWatch;
    q.store = this.persistence.queueStore(q, storeId);
    if (q instanceof StreamQueue) q.useLog(this.persistence.streamLog(q.store, streamLimits(options.arguments)));
    this.queues.set(name, q);
    this.applyQueuePolicies(q);
    return q;
  }

  // ------------------------------------------------------------------------------------------
  // Policies

  /** The effective settings of a queue: x-arguments, policy and operator policy combined (rabbit_policy). */
  queueSettings(q: Queue): EffectiveQueueSettings {
    const subject = { kind: 'queue' as const, name: q.name, type: q.type };
    return effectiveQueueSettings({ type: q.type, arguments: q.options.arguments }, this.policies.match(subject), this.operatorPolicies.match(subject));
  }

  exchangeSettings(x: Exchange): EffectiveExchangeSettings {
    const subject = { kind: 'exchange' as const, name: x.name };
    return effectiveExchangeSettings(x.options, this.policies.match(subject), this.operatorPolicies.match(subject));
  }

  private applyQueuePolicies(q: Queue): void {
    q.applySettings(this.queueSettings(q));
  }

  private applyExchangePolicies(x: Exchange): void {
    x.alternateExchange = this.exchangeSettings(x).alternateExchange;
  }

  /**
   * A policy or operator policy was set or cleared: every queue and exchange takes its settings
   * again (rabbit_policy:update_policies/1 calls each one's policy_changed), at once.
   */
  policiesChanged(): void {
    for (const q of [...this.queues.values()]) if (!q.deleted) this.applyQueuePolicies(q);
    for (const x of this.exchanges.values()) if (x !== this.defaultExchange) this.applyExchangePolicies(x);
  }

  /** The queue, or 404 as RabbitMQ answers for a missing one; exclusive queues of others give 405. */
  getQueue(name: string, connectionId: number): Queue {
    const q = this.queues.get(stripCrLf(name));
    if (q === undefined) throw notFound(`no ${resourceName('queue', stripCrLf(name), this.name)}`);
    this.checkExclusiveAccess(q, connectionId);
    return q;
  }

  /** queue.delete: a missing queue is fine (0 messages); if-empty is checked before if-unused. */
  deleteQueueCommand(rawName: string, ifUnused: boolean, ifEmpty: boolean, connectionId: number): number {
    const name = stripCrLf(rawName);
    const q = this.queues.get(name);
    if (q === undefined) return 0;
    this.checkExclusiveAccess(q, connectionId);
    if (ifEmpty && q.messageCount > 0) throw preconditionFailed(`${resourceName('queue', name, this.name)} not empty`);
    if (ifUnused && q.consumerCount > 0) throw preconditionFailed(`${resourceName('queue', name, this.name)} in use`);
    return this.deleteQueue(q);
  }

  purgeQueue(name: string, connectionId: number): number {
    return this.getQueue(name, connectionId).purge();
  }

  deleteQueue(q: Queue): number {
    if (this.queues.get(q.name) !== q) return 0;
    this.queues.delete(q.name);
    let deleted = this.deletedQueueCounters.get(q.type);
    if (deleted === undefined) this.deletedQueueCounters.set(q.type, (deleted = new QueueCounters()));
    deleted.add(q.counters);
    this.dropBindingsTo(q);
    this.persistence.queueDeleted(q);
    this.log.debug({ queue: q.name }, 'queue deleted');
    return q.delete();
  }

  private expireQueue(q: Queue, why: string): void {
    this.log.debug({ queue: q.name }, `queue deleted: ${why}`);
    this.deleteQueue(q);
  }

  /**
   * The vhost itself is being deleted (its connections are closed already): every queue and exchange
   * goes, with its messages and bindings, as rabbit_vhost:delete/2 removes them.
   */
  deleteEverything(): void {
    for (const q of [...this.queues.values()]) this.deleteQueue(q);
    for (const x of [...this.exchanges.values()]) {
      if (x === this.defaultExchange) continue;
      if (isStandardExchange(x.name)) {
        // Never recorded (every vhost is made with them): nothing to remove from the store.
        x.deleted = true;
        this.exchanges.delete(x.name);
      } else this.removeExchange(x);
    }
  }

  /** Deletes the exclusive queues of a connection that went away. */
  connectionClosed(connectionId: number): void {
    for (const q of [...this.queues.values()]) {
      if (q.options.owner === connectionId) this.deleteQueue(q);
    }
  }

  // ------------------------------------------------------------------------------------------
  // Recovery: durable definitions put back at start-up, without writing them again.

  restoreExchange(d: ExchangeDefinition): void {
    if (this.exchanges.has(d.name)) return;
    if (!isExchangeType(d.type) && d.type !== DELAYED_EXCHANGE_TYPE) {
      this.log.error({ exchange: d.name, type: d.type }, 'durable exchange of an unknown type not restored');
      return;
    }
    this.exchanges.set(d.name, this.createExchange(d.type, d.name, { durable: true, autoDelete: d.autoDelete, internal: d.internal, arguments: d.arguments }));
  }

  /** A publish by the broker itself (a delayed message coming due), safe inside a client's publish. */
  private publishInternal(x: Exchange, msg: Message, tracker: PublishTracker): number {
    return this.enqueue(this.route(x, msg.routingKey, msg, msg.extraKeys), msg, tracker, undefined);
  }

  /** The delayed exchanges' holding areas (recovered at start-up, closed at shutdown). */
  heldMessages(): HeldMessages[] {
    const out: HeldMessages[] = [];
    for (const x of this.exchanges.values()) if (x instanceof DelayedExchange && x.held !== undefined) out.push(x.held);
    return out;
  }

  /** Builds an exchange of a known type; a delayed exchange gets its holding area and store. */
  private createExchange(type: ExchangeType | typeof DELAYED_EXCHANGE_TYPE, name: string, options: ExchangeOptions): Exchange {
    const x = this.newExchange(type, name, options);
    this.applyExchangePolicies(x);
    return x;
  }

  private newExchange(type: ExchangeType | typeof DELAYED_EXCHANGE_TYPE, name: string, options: ExchangeOptions): Exchange {
    if (type !== DELAYED_EXCHANGE_TYPE) return createExchange(type, name, this.name, options);
    const inner = stringArg(options.arguments.get('x-delayed-type'));
    const x = new DelayedExchange(name, this.name, options, createExchange(inner !== undefined && isExchangeType(inner) ? inner : 'direct', name, this.name, options));
    x.held = new HeldMessages(name, this.persistence.heldMessagesStore(x), {
      log: this.log,
      publishDue: (msg, tracker) => (x.deleted ? 0 : this.publishInternal(x, msg, tracker)),
    });
    return x;
  }

  restoreQueue(d: QueueDefinition): Queue {
    return this.createQueue(d.name, { durable: true, exclusive: false, autoDelete: d.autoDelete, arguments: d.arguments, owner: undefined }, d.id);
  }

  restoreBinding(d: BindingDefinition): void {
    const source = this.exchanges.get(d.source);
    const destination = d.destKind === 'queue' ? this.queues.get(d.destination) : this.exchanges.get(d.destination);
    if (source === undefined || destination === undefined) return;
    this.addBinding(source, destination, d.routingKey, d.arguments, false);
  }

  checkExclusiveAccess(q: Queue, connectionId: number): void {
    if (q.options.owner !== undefined && q.options.owner !== connectionId) throw this.lockedError(q);
  }

  private lockedError(q: Queue) {
    return resourceLocked(
      `cannot obtain exclusive access to locked ${resourceName('queue', q.name, this.name)}. It could be originally declared on another connection or the exclusive property value does not match that of the original declaration.`,
    );
  }
}

/** RabbitMQ strips CR and LF from names (rabbit_channel:strip_cr_lf). */
export function stripCrLf(name: string): string {
  return name.includes('\n') || name.includes('\r') ? name.replace(/[\r\n]/g, '') : name;
}
