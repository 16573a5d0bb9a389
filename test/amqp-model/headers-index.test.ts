/**
 * The headers exchange indexes bindings by header value; routing through the index must give exactly
 * what checking every binding gives. Random bindings (all/any, with-x variants, void, numbers of
 * different widths, strings, booleans, nested tables) against random headers.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bindingKey, type Binding, type Destination } from '../../src/exchange/exchange.js';
import type { MessageTarget } from '../../src/queue/target.js';
import { HeadersExchange, erlangEqual } from '../../src/exchange/headers.js';
import { Message } from '../../src/message/message.js';
import { Writer } from '../../src/protocol/codec-primitives.js';
import type { FieldTable, FieldValue } from '../../src/protocol/field-table.js';
import { encodeBasicProperties } from '../../src/protocol/generated/properties.js';
import { scanProperties } from '../../src/message/message.js';

const keys = ['a', 'b', 'c', 'x-k'];
const value: fc.Arbitrary<FieldValue> = fc.oneof(
  fc.integer({ min: 0, max: 3 }).map((v) => ({ type: 'I', value: v }) as FieldValue),
  fc.integer({ min: 0, max: 3 }).map((v) => ({ type: 'l', value: v }) as FieldValue),
  fc.integer({ min: 0, max: 3 }).map((v) => ({ type: 'd', value: v }) as FieldValue),
  fc.constantFrom('p', 'q').map((v) => ({ type: 'S', value: v }) as FieldValue),
  fc.constantFrom('p', 'q').map((v) => ({ type: 'x', value: Buffer.from(v) }) as FieldValue),
  fc.boolean().map((v) => ({ type: 't', value: v }) as FieldValue),
  fc.constant({ type: 'F', value: new Map([['z', { type: 'I', value: 1 }]]) } as FieldValue),
);
const table = (withVoid: boolean) =>
  fc.uniqueArray(fc.tuple(fc.constantFrom(...keys), withVoid ? fc.oneof(value, fc.constant({ type: 'V', value: null } as FieldValue)) : value), {
    selector: ([k]) => k,
    maxLength: 4,
  }).map((entries) => new Map(entries) as FieldTable);

const bindingArgs = fc
  .tuple(fc.option(fc.constantFrom('all', 'any', 'all-with-x', 'any-with-x'), { nil: undefined }), table(true))
  .map(([mode, t]) => {
    const args: FieldTable = new Map(t);
    if (mode !== undefined) args.set('x-match', { type: 'S', value: mode });
    return args;
  });

function message(headers: FieldTable | undefined): Message {
  const w = new Writer();
  encodeBasicProperties(w, headers === undefined ? {} : { headers });
  const props = Buffer.from(w.bytes());
  const m = new Message('h', '', props, Buffer.alloc(0));
  scanProperties(m, props);
  return m;
}

/** The definition: RabbitMQ's headers_match over every binding. */
function bruteForce(bindings: { args: FieldTable; dest: Destination }[], headers: FieldTable | undefined): Set<Destination> {
  const out = new Set<Destination>();
  for (const { args, dest } of bindings) {
    const m = args.get('x-match');
    const mode = m?.type === 'S' ? String(m.value) : 'all';
    const withX = mode.endsWith('-with-x');
    const pattern = [...args].filter(([k]) => k !== 'x-match' && (withX || !k.startsWith('x-')));
    const hits = pattern.map(([k, pv]) => {
      const dv = headers?.get(k);
      return dv !== undefined && (pv.type === 'V' || erlangEqual(pv, dv));
    });
    if (mode.startsWith('all') ? hits.every(Boolean) : hits.some(Boolean)) out.add(dest);
  }
  return out;
}

describe('headers exchange index', () => {
  it('routes exactly as checking every binding does', () => {
    fc.assert(
      fc.property(fc.array(bindingArgs, { maxLength: 12 }), fc.array(fc.option(table(false), { nil: undefined }), { minLength: 1, maxLength: 5 }), (argsList, messages) => {
        const x = new HeadersExchange('h', '/', { durable: false, autoDelete: false, internal: false, arguments: new Map() });
        const bindings = argsList.map((args, i) => ({ args, dest: { kind: 'queue', name: `q${i}` } as unknown as Destination }));
        for (const { args, dest } of bindings) {
          const b: Binding = { source: x, destination: dest, routingKey: '', arguments: args, key: bindingKey(dest, '', args) };
          x.addBinding(b);
        }
        // Unbind a third of them again, to exercise index removal.
        for (const { args, dest } of bindings.filter((_, i) => i % 3 === 2)) x.removeBinding(bindingKey(dest, '', args));
        const live = bindings.filter((_, i) => i % 3 !== 2);
        for (const headers of messages) {
          const got = new Set<Destination | MessageTarget>();
          x.route(message(headers), '', { add: (d) => got.add(d) });
          expect(got).toEqual(bruteForce(live, headers));
        }
      }),
      { numRuns: 2000 },
    );
  });
});
