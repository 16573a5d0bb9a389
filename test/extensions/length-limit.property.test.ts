/**
 * Length limits, property-based: random sequences of publish (random body sizes), basic.get without
 * ack, ack, nack with requeue, nack without requeue and purge, against a queue with a random
 * x-max-length and/or x-max-length-bytes, a random x-overflow and maybe a dead-letter queue. The test
 * keeps a model of what RabbitMQ 3.10.8 does (the rules of max-length.test.ts and
 * dead-lettering.test.ts) and compares it with the broker after every step: the publish confirm, the
 * message count (passive declare), what basic.get returns (body and redelivered flag), the purge
 * count and the dead-letter queue's count; at the end, the exact bodies left in both queues, in order,
 * and each dead letter's x-death reason. Runs against RabbitMQ too (WARREN_TEST_REFERENCE_URL).
 *
 * Model: ready messages in order, each with its publish sequence number; a requeued message goes back
 * to its place (by sequence number); drop-head drops from the head after a publish or a requeue while
 * either limit is exceeded; reject-publish(-dlx) refuses a publish that would exceed a limit and never
 * drops; unacknowledged messages count for neither limit.
 */
import type { ConfirmChannel, GetMessage } from 'amqplib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { REFERENCE_URL, eventually, uniqueName, withBroker } from '../helpers/broker.js';
import { deaths } from '../helpers/queues.js';

const fx = withBroker();

/**
 * How long a check may take to come true. RabbitMQ answers a passive declare (a prioritised call to
 * the queue process) before a basic.ack or basic.nack sent just before it (a cast), and dead letters
 * travel between queue processes on their own: against it, wait. Warren handles everything in order,
 * so there the first check decides (and a failing run shrinks quickly).
 */
const SETTLE_MS = REFERENCE_URL === undefined ? 0 : 3000;

type Overflow = 'drop-head' | 'reject-publish' | 'reject-publish-dlx';

interface Config {
  maxLength: number | undefined;
  maxBytes: number | undefined;
  overflow: Overflow | undefined;
  dlx: boolean;
}

type Command =
  | { kind: 'publish'; size: number }
  | { kind: 'get' }
  | { kind: 'ack'; pick: number }
  | { kind: 'nack-requeue'; pick: number }
  | { kind: 'nack-drop'; pick: number }
  | { kind: 'purge' };

const config: fc.Arbitrary<Config> = fc
  .record({
    maxLength: fc.option(fc.integer({ min: 0, max: 5 }), { nil: undefined }),
    maxBytes: fc.option(fc.integer({ min: 0, max: 24 }), { nil: undefined }),
    overflow: fc.option(fc.constantFrom<Overflow>('drop-head', 'reject-publish', 'reject-publish-dlx'), { nil: undefined }),
    dlx: fc.boolean(),
  })
  .filter((c) => c.maxLength !== undefined || c.maxBytes !== undefined);

const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 5, arbitrary: fc.integer({ min: 0, max: 9 }).map((size) => ({ kind: 'publish' as const, size })) },
  { weight: 3, arbitrary: fc.constant({ kind: 'get' as const }) },
  { weight: 1, arbitrary: fc.nat().map((pick) => ({ kind: 'ack' as const, pick })) },
  { weight: 2, arbitrary: fc.nat().map((pick) => ({ kind: 'nack-requeue' as const, pick })) },
  { weight: 1, arbitrary: fc.nat().map((pick) => ({ kind: 'nack-drop' as const, pick })) },
  { weight: 1, arbitrary: fc.constant({ kind: 'purge' as const }) },
);

interface Entry {
  seq: number;
  body: string;
  delivered: boolean;
}

/** What RabbitMQ 3.10.8 does with a limited queue that has no consumers. */
class Model {
  ready: Entry[] = [];
  held: { entry: Entry; msg: GetMessage }[] = [];
  deadLetters: { body: string; reason: string }[] = [];
  private seq = 0;

  constructor(private readonly c: Config) {}

  private get overflow(): Overflow {
    return this.c.overflow ?? 'drop-head';
  }

  private bytes(): number {
    return this.ready.reduce((n, e) => n + Buffer.byteLength(e.body), 0);
  }

  private over(extraCount = 0, extraBytes = 0): boolean {
    const { maxLength, maxBytes } = this.c;
    return (maxLength !== undefined && this.ready.length + extraCount > maxLength) || (maxBytes !== undefined && this.bytes() + extraBytes > maxBytes);
  }

  private deadLetter(body: string, reason: string): void {
    if (this.c.dlx) this.deadLetters.push({ body, reason });
  }

  private dropHead(): void {
    if (this.overflow !== 'drop-head') return;
    while (this.over()) this.deadLetter(this.ready.shift()!.body, 'maxlen');
  }

  /** Returns whether the publish is confirmed (ack) or refused (nack). */
  publish(body: string): 'ack' | 'nack' {
    if (this.overflow !== 'drop-head' && this.over(1, Buffer.byteLength(body))) {
      if (this.overflow === 'reject-publish-dlx') this.deadLetter(body, 'maxlen');
      return 'nack';
    }
    this.ready.push({ seq: this.seq++, body, delivered: false });
    this.dropHead();
    return 'ack';
  }

  get(): Entry | undefined {
    return this.ready.shift();
  }

  requeue(entry: Entry): void {
    const i = this.ready.findIndex((e) => e.seq > entry.seq);
    this.ready.splice(i < 0 ? this.ready.length : i, 0, entry);
    this.dropHead();
  }
}

function bodyFor(id: number, size: number): string {
  // Unique while it fits (the order checks need that), any length from 0 to 9 bytes.
  const tag = id.toString(36);
  return size < tag.length + 1 ? 'x'.repeat(size) : `${tag}-`.padEnd(size, '.');
}

describe('length limits against a model', () => {
  it('counts, gets, purges, confirms and dead letters match the model after every step', async () => {
    const conn = await fx.connect({ noDelay: true });
    let closed = true;
    let ch: ConfirmChannel | undefined;
    const open = async (): Promise<ConfirmChannel> => {
      if (ch !== undefined && !closed) return ch;
      ch = await conn.createConfirmChannel();
      closed = false;
      ch.on('error', () => {});
      ch.on('close', () => (closed = true));
      return ch;
    };
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(config, fc.array(command, { minLength: 1, maxLength: 30 }), async (c, commands) => {
        runs++;
        // A failed run may leave the channel closed: the next one (fast-check shrinking) opens another.
        const ch = await open();
        const q = uniqueName('limit');
        const dlq = uniqueName('limit-dlq');
        const args: Record<string, unknown> = {};
        if (c.maxLength !== undefined) args['x-max-length'] = c.maxLength;
        if (c.maxBytes !== undefined) args['x-max-length-bytes'] = c.maxBytes;
        if (c.overflow !== undefined) args['x-overflow'] = c.overflow;
        if (c.dlx) Object.assign(args, { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dlq });
        await ch.assertQueue(dlq, { durable: false });
        await ch.assertQueue(q, { durable: false, arguments: args });
        const model = new Model(c);
        let id = 0;
        try {
          for (const cmd of commands) {
            switch (cmd.kind) {
              case 'publish': {
                const body = bodyFor(id++, cmd.size);
                const expected = model.publish(body);
                const outcome = await new Promise<'ack' | 'nack'>((resolve) => {
                  ch.sendToQueue(q, Buffer.from(body), {}, (err) => resolve(err === null || err === undefined ? 'ack' : 'nack'));
                });
                expect(outcome, `publish ${JSON.stringify(body)}`).toBe(expected);
                break;
              }
              case 'get': {
                const expected = model.get();
                const msg = await ch.get(q, { noAck: false });
                if (expected === undefined) {
                  expect(msg).toBe(false);
                } else {
                  expect(msg, 'basic.get').not.toBe(false);
                  const got = msg as GetMessage;
                  expect({ body: got.content.toString(), redelivered: got.fields.redelivered }).toEqual({ body: expected.body, redelivered: expected.delivered });
                  expected.delivered = true;
                  model.held.push({ entry: expected, msg: got });
                }
                break;
              }
              case 'ack':
              case 'nack-requeue':
              case 'nack-drop': {
                if (model.held.length === 0) break;
                const [h] = model.held.splice(cmd.pick % model.held.length, 1);
                if (cmd.kind === 'ack') {
                  ch.ack(h!.msg);
                } else if (cmd.kind === 'nack-requeue') {
                  ch.nack(h!.msg, false, true);
                  model.requeue(h!.entry);
                } else {
                  ch.nack(h!.msg, false, false);
                  if (c.dlx) model.deadLetters.push({ body: h!.entry.body, reason: 'rejected' });
                }
                break;
              }
              case 'purge': {
                const n = model.ready.length;
                model.ready = [];
                expect(await ch.purgeQueue(q)).toEqual({ messageCount: n });
                break;
              }
            }
            await eventually(async () => expect((await ch.checkQueue(q)).messageCount, `message count after ${cmd.kind}`).toBe(model.ready.length), SETTLE_MS, 5);
            await eventually(async () => expect((await ch.checkQueue(dlq)).messageCount, 'dead letters').toBe(model.deadLetters.length), SETTLE_MS, 5);
          }
          // The exact contents, in order.
          const left: string[] = [];
          for (let msg = await ch.get(q, { noAck: true }); msg !== false; msg = await ch.get(q, { noAck: true })) left.push(msg.content.toString());
          expect(left).toEqual(model.ready.map((e) => e.body));
          const dead: { body: string; reason: string }[] = [];
          for (let msg = await ch.get(dlq, { noAck: true }); msg !== false; msg = await ch.get(dlq, { noAck: true })) {
            dead.push({ body: msg.content.toString(), reason: String(deaths(msg)[0]!['reason']) });
          }
          expect(dead).toEqual(model.deadLetters);
        } finally {
          // Unacknowledged messages would come back on close; deleting the queues ends them too.
          await ch.deleteQueue(q).catch(() => {});
          await ch.deleteQueue(dlq).catch(() => {});
        }
      }),
      { numRuns: 150 },
    );
    expect(runs).toBeGreaterThanOrEqual(150);
  }, 60_000);
});
