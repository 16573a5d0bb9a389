/**
 * Hooks for test suites (none of RabbitMQ or LavinMQ has them): wait until a queue holds N
 * messages, wait until a message is acked, nacked or dead-lettered, inject a message into a queue,
 * close a connection with a chosen code, raise and clear resource alarms, and empty a vhost between
 * tests. The in-process API is `broker.testHooks` (RunningBroker); the management API serves the
 * same under /api/test/ when the broker runs with `--test-hooks` (management/controllers/test-hooks.ts).
 *
 * Nothing here costs the hot path while no test waits: outcome tracking installs a SettlementWatch
 * on the queues of a vhost only while a watch is registered there (each settlement checks that one
 * field), and depth waits look at the queue on a 5 ms timer that runs only while one waits.
 */
import type { Broker } from '../broker.js';
import type { Connection } from '../connection/connection.js';
import { ConnectionError } from '../errors.js';
import { isStandardExchange } from '../exchange/exchange-types.js';
import { Message, scanProperties } from '../message/message.js';
import { Writer } from '../protocol/codec-primitives.js';
import { stringValue } from '../protocol/field-table.js';
import { REPLY_CODE_INFO } from '../protocol/generated/constants.js';
import { encodeBasicProperties, type BasicProperties } from '../protocol/generated/properties.js';
import type { DeathReason } from '../queue/dead-letter.js';
import type { Queue } from '../queue/queue.js';
import type { SettlementWatch } from '../queue/settlement-watch.js';
import type { AlarmResource } from '../resource-alarms.js';
import type { VHost } from '../vhost.js';

/** What became of a message: acked (or delivered with no-ack), nacked or rejected (requeued or not), dead-lettered, or dropped (expired or over a length limit, with no dead-letter exchange). */
export type MessageOutcome = 'acked' | 'nacked' | 'dead-lettered' | 'dropped';

export interface OutcomeReport {
  readonly outcome: MessageOutcome;
  readonly vhost: string;
  readonly queue: string;
  /** nacked: whether it went back to the queue. */
  readonly requeued?: boolean;
  /** dead-lettered and dropped: RabbitMQ's x-death reason (rejected, expired, maxlen, delivery_limit). */
  readonly reason?: DeathReason;
  readonly messageId?: string;
  readonly correlationId?: string;
}

export interface OutcomeMatch {
  readonly messageId?: string;
  readonly correlationId?: string;
  /** Default "/". */
  readonly vhost?: string;
  /** Only outcomes in this queue (default: any queue of the vhost). */
  readonly queue?: string;
  /** ms (default 5000). */
  readonly timeoutMs?: number;
}

/** A wait that ran out; the message says for what. */
export class TestHookTimeout extends Error {
  override name = 'TestHookTimeout';
}

/** A hook asked for something that is not there (a vhost, a queue) or cannot be (a reply code). */
export class TestHookError extends Error {
  override name = 'TestHookError';
  constructor(
    message: string,
    readonly kind: 'not_found' | 'bad_request',
  ) {
    super(message);
  }
}

/** A registered outcome watch: `result` settles with the first matching outcome after registration. */
export interface OutcomeWatch {
  readonly result: Promise<OutcomeReport>;
  /** The outcome, once there is one (for pollers). */
  readonly outcome: OutcomeReport | undefined;
  cancel(): void;
}

interface Waiter {
  readonly match: OutcomeMatch;
  resolve(r: OutcomeReport): void;
}

const DEFAULT_TIMEOUT_MS = 5000;
const DEPTH_POLL_MS = 5;
const propertiesWriter = new Writer(1024);

export class TestHooks {
  /** Outcome waiters per vhost; the vhost's queues carry the watch while its list is non-empty. */
  private readonly waiters = new Map<string, Waiter[]>();

  constructor(private readonly broker: Broker) {}

  private vhost(name: string | undefined): VHost {
    const v = this.broker.vhosts.get(name ?? '/');
    if (v === undefined) throw new TestHookError(`no vhost '${name ?? '/'}'`, 'not_found');
    return v;
  }

  private queue(vhost: string | undefined, name: string): Queue {
    const q = this.vhost(vhost).queues.get(name);
    if (q === undefined) throw new TestHookError(`no queue '${name}' in vhost '${vhost ?? '/'}'`, 'not_found');
    return q;
  }

  /**
   * Resolves with the ready count once queue `name` holds at least `count` ready messages (with
   * `exactly`, exactly `count`: 0 waits until it is drained); rejects with TestHookTimeout.
   */
  waitForMessages(name: string, count: number, options: { vhost?: string; timeoutMs?: number; exactly?: boolean } = {}): Promise<number> {
    const q = this.queue(options.vhost, name);
    const done = () => (options.exactly === true ? q.messageCount === count : q.messageCount >= count);
    if (done()) return Promise.resolve(q.messageCount);
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    return new Promise((resolve, reject) => {
      const deadline = Date.now() + timeoutMs;
      const timer = setInterval(() => {
        if (q.deleted) {
          clearInterval(timer);
          reject(new TestHookError(`queue '${name}' was deleted while waiting for ${count} messages`, 'not_found'));
        } else if (done()) {
          clearInterval(timer);
          resolve(q.messageCount);
        } else if (Date.now() >= deadline) {
          clearInterval(timer);
          reject(new TestHookTimeout(`queue '${name}' has ${q.messageCount} ready messages, not ${options.exactly === true ? '' : 'at least '}${count}, after ${timeoutMs} ms`));
        }
      }, DEPTH_POLL_MS);
      // A wait must not keep a process alive that is otherwise done (a broker closed meanwhile).
      timer.unref();
    });
  }

  /**
   * Starts watching for the first outcome of a message with this message-id or correlation-id
   * (register before the message is settled: earlier outcomes are not kept). `result` rejects with
   * TestHookTimeout after `timeoutMs`.
   */
  watchOutcome(match: OutcomeMatch): OutcomeWatch {
    if (match.messageId === undefined && match.correlationId === undefined) throw new TestHookError('a message_id or a correlation_id is needed', 'bad_request');
    const v = this.vhost(match.vhost);
    let outcome: OutcomeReport | undefined;
    let waiter: Waiter | undefined;
    let timer: NodeJS.Timeout | undefined;
    const result = new Promise<OutcomeReport>((resolve, reject) => {
      waiter = {
        match,
        resolve: (r) => {
          clearTimeout(timer);
          outcome = r;
          resolve(r);
        },
      };
      timer = setTimeout(() => {
        this.removeWaiter(v, waiter!);
        reject(new TestHookTimeout(`no outcome for message ${match.messageId ?? match.correlationId} within ${match.timeoutMs ?? DEFAULT_TIMEOUT_MS} ms`));
      }, match.timeoutMs ?? DEFAULT_TIMEOUT_MS);
      timer.unref();
    });
    this.addWaiter(v, waiter!);
    return {
      result,
      get outcome() {
        return outcome;
      },
      cancel: () => {
        clearTimeout(timer);
        this.removeWaiter(v, waiter!);
      },
    };
  }

  /** watchOutcome(match).result: for an outcome that comes after this call. */
  waitForOutcome(match: OutcomeMatch): Promise<OutcomeReport> {
    return this.watchOutcome(match).result;
  }

  private addWaiter(v: VHost, w: Waiter): void {
    let list = this.waiters.get(v.name);
    if (list === undefined) {
      this.waiters.set(v.name, (list = []));
      this.install(v, this.watchFor(v.name, list));
    }
    list.push(w);
  }

  private removeWaiter(v: VHost, w: Waiter): void {
    const list = this.waiters.get(v.name);
    if (list === undefined) return;
    const i = list.indexOf(w);
    if (i >= 0) list.splice(i, 1);
    if (list.length > 0) return;
    this.waiters.delete(v.name);
    this.install(v, undefined);
  }

  private install(v: VHost, watch: SettlementWatch | undefined): void {
    v.settlementWatch = watch;
    for (const q of v.queues.values()) q.settlementWatch = watch;
  }

  /** The watch a vhost's queues call while `list` has waiters. */
  private watchFor(vhost: string, list: Waiter[]): SettlementWatch {
    const report = (q: { readonly name: string }, msg: Message, r: Omit<OutcomeReport, 'vhost' | 'queue' | 'messageId' | 'correlationId'>) => {
      const props = msg.decodedProperties;
      for (const w of [...list]) {
        const m = w.match;
        if (m.queue !== undefined && m.queue !== q.name) continue;
        if (m.messageId !== undefined && m.messageId !== props.messageId) continue;
        if (m.correlationId !== undefined && m.correlationId !== props.correlationId) continue;
        const v = this.broker.vhosts.get(vhost);
        if (v !== undefined) this.removeWaiter(v, w);
        w.resolve({ ...r, vhost, queue: q.name, messageId: props.messageId, correlationId: props.correlationId });
      }
    };
    return {
      settled: (q, msg, how) => report(q, msg, how === 'acked' ? { outcome: 'acked' } : { outcome: 'nacked', requeued: true }),
      discarded: (q, msg, reason, deadLettered) => {
        if (deadLettered) report(q, msg, { outcome: 'dead-lettered', reason });
        else if (reason === 'rejected') report(q, msg, { outcome: 'nacked', requeued: false });
        else report(q, msg, { outcome: 'dropped', reason });
      },
    };
  }

  /**
   * Puts a message straight into a queue (no exchange, no routing), as if published to the default
   * exchange with the queue's name: through VHost.enqueue, so TTLs, limits and consumers apply.
   */
  injectMessage(queue: string, body: Buffer | string, options: { vhost?: string; properties?: BasicProperties; routingKey?: string } = {}): void {
    const v = this.vhost(options.vhost);
    const q = this.queue(options.vhost, queue);
    propertiesWriter.pos = 0;
    encodeBasicProperties(propertiesWriter, options.properties ?? {});
    const raw = Buffer.from(propertiesWriter.bytes());
    const msg = new Message('', options.routingKey ?? queue, raw, typeof body === 'string' ? Buffer.from(body, 'utf8') : body);
    scanProperties(msg, raw);
    v.enqueue([q], msg, undefined, undefined);
  }

  /**
   * Closes connections with connection.close(code, text), as the broker would for a hard error:
   * `which` is a Connection, the `connection_name` a client gave, or a predicate. Returns how many.
   */
  closeConnection(which: Connection | string | ((c: Connection) => boolean), code: number, text: string): number {
    const info = REPLY_CODE_INFO.get(code);
    if (info === undefined || code < 300) throw new TestHookError(`${code} is not an AMQP error reply code`, 'bad_request');
    const matches = typeof which === 'function' ? which : typeof which === 'string' ? (c: Connection) => connectionName(c) === which : (c: Connection) => c === which;
    let n = 0;
    for (const c of [...this.broker.connections]) {
      if (c.state !== 'running' || !matches(c)) continue;
      c.closeWith(new ConnectionError(code, text));
      n++;
    }
    return n;
  }

  raiseAlarm(resource: AlarmResource): void {
    this.broker.alarms.set(resource);
  }

  clearAlarm(resource: AlarmResource): void {
    this.broker.alarms.clear(resource);
  }

  /**
   * Empties a vhost for the next test: deletes its queues (with their messages and consumers), its
   * exchanges other than the default and amq.* ones, the bindings between those, and its policies
   * and operator policies. Users, permissions and connections stay.
   */
  resetVhost(name = '/'): { queues: number; exchanges: number; policies: number } {
    const v = this.vhost(name);
    const queues = [...v.queues.values()];
    for (const q of queues) v.deleteQueue(q);
    let exchanges = 0;
    for (const x of [...v.exchanges.values()]) {
      if (x.name === '' || isStandardExchange(x.name)) continue;
      v.deleteExchange(x.name, false);
      exchanges++;
    }
    for (const x of v.exchanges.values()) {
      if (x.name === '') continue; // the default exchange's bindings are implicit, one per queue
      for (const b of [...x.bindings.values()]) v.unbind(x.name, b.destination.kind, b.destination.name, b.routingKey, b.arguments, 0);
    }
    let policies = 0;
    for (const kind of ['policy', 'operator_policy'] as const) {
      const set = kind === 'policy' ? v.policies : v.operatorPolicies;
      for (const p of set.list()) if (this.broker.clearPolicy(name, p.name, kind)) policies++;
    }
    return { queues: queues.length, exchanges, policies };
  }
}

/** The name a client gave its connection (client property connection_name). */
function connectionName(c: Connection): string | undefined {
  return stringValue(c.clientProperties.get('connection_name'));
}

const hooksByBroker = new WeakMap<Broker, TestHooks>();

/** The broker's one TestHooks (the in-process API and the HTTP endpoints share its waiters). */
export function testHooksOf(broker: Broker): TestHooks {
  let hooks = hooksByBroker.get(broker);
  if (hooks === undefined) hooksByBroker.set(broker, (hooks = new TestHooks(broker)));
  return hooks;
}
