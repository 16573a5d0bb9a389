/**
 * Which permission each AMQP method needs on which resource, and the other ACCESS_REFUSED rules
 * interleaved with them, as data: one row per method, its steps in the order rabbit_channel
 * (3.10.8) runs them, so that a client refused for two reasons sees the reason RabbitMQ gives.
 * test/access/method-access.test.ts has a test per row, against codes and texts recorded from RabbitMQ.
 *
 * The access-control docs page's table, in this form (A = alternate exchange, DLX = dead letter
 * exchange; "new" = only when the entity does not exist yet):
 *
 *   method                          configure     write              read
 *   exchange.declare                exchange      A (new)            exchange (new, with A)
 *   exchange.declare passive        -             -                  -
 *   exchange.delete                 exchange      -                  -
 *   queue.declare                   queue         DLX (new)          queue (new, with DLX)
 *   queue.declare passive           -             -                  -
 *   queue.delete                    queue         -                  -
 *   queue.purge                     -             -                  queue
 *   queue.bind / unbind             -             queue              exchange (+ topic read)
 *   exchange.bind / unbind          -             destination        source (+ topic read)
 *   basic.publish                   -             exchange (+ topic) -
 *   basic.get / basic.consume       -             -                  queue
 *
 * Methods not listed (basic.ack, basic.qos, tx.*, confirm.select, channel.*, basic.cancel,
 * basic.recover, ...) need no permission. Declares of amq.rabbitmq.reply-to and consuming from it are
 * handled by the channel before any of this and need none either.
 *
 * The channel supplies what the steps look at in an AccessSubject: names, and callbacks for facts it
 * has to look up (whether the entity exists, the exchange's type). Callbacks are called only when a
 * step needs them, at the point RabbitMQ looks them up; a callback may throw the channel's own error
 * there (the 404 of basic.publish to a missing exchange is raised by the 'exchange-exists' step).
 */
import { accessRefused, notFound } from '../errors.js';
import type { ChannelAccess, Permission } from './permissions.js';

/** A resource a method names, by its role in the method. */
type Target =
  | 'queue'
  | 'exchange'
  /** the bound queue or exchange of *.bind / *.unbind */
  | 'destination'
  /** the exchange bound from */
  | 'source'
  | 'dead-letter-exchange'
  | 'alternate-exchange';

/** When a step applies. */
type Condition =
  /** the queue's name was given by the client (not generated for queue.declare with an empty name) */
  | 'client-named'
  /** the queue or exchange being declared does not exist yet */
  | 'new'
  /** ...and the declare names a dead letter exchange / alternate exchange */
  | 'new-with-dead-letter-exchange'
  | 'new-with-alternate-exchange'
  /** the exchange of the step exists and is of type topic */
  | 'topic-exchange';

type AccessStep =
  | { readonly step: 'permission'; readonly permission: Permission; readonly on: Target; readonly when?: Condition }
  /** the routing key (or binding key) against the user's topic permissions on the exchange */
  | { readonly step: 'topic-permission'; readonly permission: 'write' | 'read'; readonly on: 'exchange' | 'source'; readonly when: 'topic-exchange' }
  /** "operation not permitted on the default exchange" */
  | { readonly step: 'not-default-exchange'; readonly on: Target }
  /** "queue name 'amq.x' contains reserved prefix 'amq.*'" */
  | { readonly step: 'no-reserved-prefix'; readonly on: 'queue' | 'exchange'; readonly when: Condition }
  /** "deletion of system exchange 'amq.x' in vhost 'v' not allowed" */
  | { readonly step: 'not-system-exchange'; readonly on: 'exchange' }
  /** the exchange must exist: 404 "no exchange 'x' in vhost 'v'" (rabbit_exchange:lookup_or_die) */
  | { readonly step: 'exchange-exists'; readonly on: 'exchange' }
  /** "cannot publish to internal exchange 'x' in vhost 'v'" */
  | { readonly step: 'not-internal'; readonly on: 'exchange' }
  /** the user_id property must name the user, unless the user is an impersonator (406) */
  | { readonly step: 'user-id' }
  /** a check of the channel's own that RabbitMQ makes at this point (see AccessSubject.hooks) */
  | { readonly step: 'channel-check'; readonly check: ChannelCheck; readonly when?: Condition };

/** The channel's non-access checks that sit between access steps in RabbitMQ's order. */
type ChannelCheck =
  /** queue.declare of a new queue: the vhost's max-queues (406) */
  | 'vhost-queue-limit'
  /** basic.publish with reply-to amq.rabbitmq.reply-to: the fast reply consumer must exist (406) */
  | 'fast-reply-to';

export interface MethodAccessRow {
  readonly method: AccessMethod;
  /** What RabbitMQ's docs and code say, in a line. */
  readonly summary: string;
  readonly steps: readonly AccessStep[];
}

export type AccessMethod =
  | 'exchange.declare'
  | 'exchange.declare passive'
  | 'exchange.delete'
  | 'exchange.bind'
  | 'exchange.unbind'
  | 'queue.declare'
  | 'queue.declare passive'
  | 'queue.delete'
  | 'queue.purge'
  | 'queue.bind'
  | 'queue.unbind'
  | 'basic.publish'
  | 'basic.get'
  | 'basic.consume';

// rabbit_channel:binding_action/10, shared by the four binding methods.
const BINDING_STEPS: readonly AccessStep[] = [
  { step: 'permission', permission: 'write', on: 'destination' },
  { step: 'not-default-exchange', on: 'destination' },
  { step: 'not-default-exchange', on: 'source' },
  { step: 'permission', permission: 'read', on: 'source' },
  { step: 'topic-permission', permission: 'read', on: 'source', when: 'topic-exchange' },
];

export const METHOD_ACCESS: readonly MethodAccessRow[] = [
  {
    method: 'exchange.declare',
    summary: 'configure on the exchange; a new exchange with an alternate exchange also needs read on itself and write on the AE',
    steps: [
      { step: 'not-default-exchange', on: 'exchange' },
      { step: 'permission', permission: 'configure', on: 'exchange' },
      { step: 'no-reserved-prefix', on: 'exchange', when: 'new' },
      { step: 'permission', permission: 'read', on: 'exchange', when: 'new-with-alternate-exchange' },
      { step: 'permission', permission: 'write', on: 'alternate-exchange', when: 'new-with-alternate-exchange' },
    ],
  },
  {
    method: 'exchange.declare passive',
    summary: 'no permission; the default exchange cannot be named',
    steps: [{ step: 'not-default-exchange', on: 'exchange' }],
  },
  {
    method: 'exchange.delete',
    summary: 'configure on the exchange; not the default exchange, not an amq.* exchange',
    steps: [
      { step: 'not-default-exchange', on: 'exchange' },
      { step: 'not-system-exchange', on: 'exchange' },
      { step: 'permission', permission: 'configure', on: 'exchange' },
    ],
  },
  { method: 'exchange.bind', summary: 'write on the destination exchange, read on the source exchange', steps: BINDING_STEPS },
  { method: 'exchange.unbind', summary: 'write on the destination exchange, read on the source exchange', steps: BINDING_STEPS },
  {
    method: 'queue.declare',
    summary: 'configure on the queue; a new queue with a dead letter exchange also needs read on itself and write on the DLX',
    steps: [
      { step: 'no-reserved-prefix', on: 'queue', when: 'client-named' },
      { step: 'permission', permission: 'configure', on: 'queue' },
      { step: 'channel-check', check: 'vhost-queue-limit', when: 'new' },
      { step: 'permission', permission: 'read', on: 'queue', when: 'new-with-dead-letter-exchange' },
      { step: 'permission', permission: 'write', on: 'dead-letter-exchange', when: 'new-with-dead-letter-exchange' },
    ],
  },
  { method: 'queue.declare passive', summary: 'no permission', steps: [] },
  { method: 'queue.delete', summary: 'configure on the queue', steps: [{ step: 'permission', permission: 'configure', on: 'queue' }] },
  { method: 'queue.purge', summary: 'read on the queue', steps: [{ step: 'permission', permission: 'read', on: 'queue' }] },
  { method: 'queue.bind', summary: 'write on the queue, read on the exchange', steps: BINDING_STEPS },
  { method: 'queue.unbind', summary: 'write on the queue, read on the exchange', steps: BINDING_STEPS },
  {
    method: 'basic.publish',
    summary: 'write on the exchange (amq.default for the default exchange), topic write for a topic exchange',
    steps: [
      { step: 'permission', permission: 'write', on: 'exchange' },
      { step: 'exchange-exists', on: 'exchange' },
      { step: 'not-internal', on: 'exchange' },
      { step: 'topic-permission', permission: 'write', on: 'exchange', when: 'topic-exchange' },
      { step: 'channel-check', check: 'fast-reply-to' },
      { step: 'user-id' },
    ],
  },
  { method: 'basic.get', summary: 'read on the queue', steps: [{ step: 'permission', permission: 'read', on: 'queue' }] },
  { method: 'basic.consume', summary: 'read on the queue', steps: [{ step: 'permission', permission: 'read', on: 'queue' }] },
];

/** What an exchange is, as far as the steps care; undefined when it does not exist. */
export interface ExchangeFacts {
  readonly type: string;
  readonly internal: boolean;
}

/**
 * The names a method carries (after the channel's own normalisation: strip_cr_lf, the empty queue
 * name meaning the last declared queue, the server-generated name of queue.declare '') and the
 * lookups the steps may need.
 */
export interface AccessSubject {
  readonly queue?: string;
  /** queue.declare with an empty name: `queue` is the generated amq.gen-... name */
  readonly serverNamed?: boolean;
  readonly exchange?: string;
  /** *.bind / *.unbind */
  readonly destination?: { readonly kind: 'queue' | 'exchange'; readonly name: string };
  readonly source?: string;
  readonly routingKey?: string;
  /** x-dead-letter-exchange of a queue.declare, when it is a longstr */
  readonly deadLetterExchange?: string;
  /** alternate-exchange of an exchange.declare, when it is a longstr */
  readonly alternateExchange?: string;
  /** the user_id property of a basic.publish */
  readonly userId?: string;
  /** whether the queue / exchange being declared exists already */
  readonly exists?: () => boolean;
  /** the exchange named by `exchange` (publish) or `source` (bindings) */
  readonly exchangeFacts?: () => ExchangeFacts | undefined;
  readonly hooks?: Partial<Record<ChannelCheck, () => void>>;
}

/** The kind and name a step's target has in the subject (written to `out`: no allocation per step). */
const target = { kind: 'queue' as 'queue' | 'exchange', name: '' };
function targetName(on: Target, s: AccessSubject): { readonly kind: 'queue' | 'exchange'; readonly name: string } {
  switch (on) {
    case 'queue':
      target.kind = 'queue';
      target.name = s.queue!;
      break;
    case 'exchange':
      target.kind = 'exchange';
      target.name = s.exchange!;
      break;
    case 'destination':
      return s.destination!;
    case 'source':
      target.kind = 'exchange';
      target.name = s.source!;
      break;
    case 'dead-letter-exchange':
      target.kind = 'exchange';
      target.name = s.deadLetterExchange!;
      break;
    case 'alternate-exchange':
      target.kind = 'exchange';
      target.name = s.alternateExchange!;
      break;
  }
  return target;
}

/** Facts looked up at most once per authorize(), and only when a step needs them. */
class Lookups {
  private existsKnown = false;
  private existsValue = false;
  private factsKnown = false;
  private factsValue: ExchangeFacts | undefined;
  subject: AccessSubject = {};

  reset(subject: AccessSubject): this {
    this.subject = subject;
    this.existsKnown = false;
    this.factsKnown = false;
    this.factsValue = undefined;
    return this;
  }

  isNew(): boolean {
    if (!this.existsKnown) {
      this.existsValue = this.subject.exists?.() ?? false;
      this.existsKnown = true;
    }
    return !this.existsValue;
  }

  facts(): ExchangeFacts | undefined {
    if (!this.factsKnown) {
      this.factsValue = this.subject.exchangeFacts?.();
      this.factsKnown = true;
    }
    return this.factsValue;
  }

  applies(when: Condition | undefined): boolean {
    switch (when) {
      case undefined:
        return true;
      case 'client-named':
        return this.subject.serverNamed !== true;
      case 'new':
        return this.isNew();
      case 'new-with-dead-letter-exchange':
        return this.subject.deadLetterExchange !== undefined && this.isNew();
      case 'new-with-alternate-exchange':
        return this.subject.alternateExchange !== undefined && this.isNew();
      case 'topic-exchange':
        return this.facts()?.type === 'topic';
    }
  }
}

type CompiledStep = (access: ChannelAccess, subject: AccessSubject, look: Lookups) => void;

/** A step as a function, made once per row, so that authorize() does no interpretation per call. */
function compileStep(step: AccessStep): CompiledStep {
  switch (step.step) {
    case 'permission': {
      const { on, permission, when } = step;
      return (access, subject, look) => {
        if (when !== undefined && !look.applies(when)) return;
        const t = targetName(on, subject);
        access.check(t.kind, t.name, permission);
      };
    }
    case 'topic-permission': {
      const { on, permission, when } = step;
      return (access, subject, look) => {
        if (!look.applies(when)) return;
        access.checkTopic(targetName(on, subject).name, subject.routingKey ?? '', permission);
      };
    }
    case 'not-default-exchange': {
      const { on } = step;
      return (_access, subject) => {
        const t = targetName(on, subject);
        if (t.kind === 'exchange' && t.name === '') throw accessRefused('operation not permitted on the default exchange');
      };
    }
    case 'no-reserved-prefix': {
      const { on, when } = step;
      return (_access, subject, look) => {
        if (!look.applies(when)) return;
        const t = targetName(on, subject);
        if (t.name.startsWith('amq.')) throw accessRefused(`${t.kind} name '${t.name}' contains reserved prefix 'amq.*'`);
      };
    }
    case 'not-system-exchange':
      return (access, subject) => {
        const name = subject.exchange!;
        if (name.startsWith('amq.')) throw accessRefused(`deletion of system exchange '${name}' in vhost '${access.vhost}' not allowed`);
      };
    case 'exchange-exists':
      return (access, subject, look) => {
        if (look.facts() === undefined) throw notFound(`no exchange '${subject.exchange}' in vhost '${access.vhost}'`);
      };
    case 'not-internal':
      return (access, subject, look) => {
        if (look.facts()?.internal === true) throw accessRefused(`cannot publish to internal exchange '${subject.exchange}' in vhost '${access.vhost}'`);
      };
    case 'user-id':
      return (access, subject) => access.checkUserId(subject.userId);
    case 'channel-check': {
      const { check, when } = step;
      return (_access, subject, look) => {
        const hook = subject.hooks?.[check];
        if (hook !== undefined && (when === undefined || look.applies(when))) hook();
      };
    }
  }
}

const COMPILED: ReadonlyMap<AccessMethod, readonly CompiledStep[]> = new Map(METHOD_ACCESS.map((r) => [r.method, r.steps.map(compileStep)]));

/** Runs a method's steps in order; throws the first refusal (a ChannelError) or a lookup's own error. */
export function authorize(access: ChannelAccess, method: AccessMethod, subject: AccessSubject): void {
  const steps = COMPILED.get(method)!;
  // One Lookups reused: authorize() runs to completion before the next one starts (hooks and
  // lookups are the channel's own synchronous checks), except when a hook authorizes in turn.
  const look = idle ?? new Lookups();
  idle = undefined;
  look.reset(subject);
  try {
    for (let i = 0; i < steps.length; i++) steps[i]!(access, subject, look);
  } finally {
    look.subject = EMPTY_SUBJECT;
    idle = look;
  }
}

const EMPTY_SUBJECT: AccessSubject = {};
let idle: Lookups | undefined = new Lookups();
