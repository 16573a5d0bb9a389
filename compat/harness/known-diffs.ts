// Accepted differences, applied mechanically. Each entry names the scenarios it covers and turns
// RabbitMQ 3.10.8's transcript into the transcript Warren may show instead. Nothing else is ignored:
// Warren must match RabbitMQ's transcript exactly, or this alternative exactly. Every entry has a
// section with the same key in compat/KNOWN_DIFFS.md saying why the difference is acceptable
// (meta.test.ts keeps the two in step).
import type { Event, Json } from './scenario.js';

export interface KnownDiff {
  key: string;
  ids: string[];
  summary: string;
  /** Warren's acceptable transcript, derived from the reference's. */
  alternative(ref: Event[]): Event[];
}

/** Replace the value at `path` in every event where `match` holds. */
function rewrite(ref: Event[], match: (e: Event) => boolean, to: (e: Event) => Event | Event[]): Event[] {
  return ref.flatMap((e): Event[] => {
    if (!match(e)) return [e];
    const r = to(e);
    return Array.isArray(r) ? r : [r];
  });
}

const isOp = (op: string) => (e: Event) => e.op === op;

export const KNOWN_DIFFS: KnownDiff[] = [
  {
    key: 'KD-1',
    ids: ['prefetch/global-qos-shared-by-consumers'],
    summary: 'basic.qos global=true: RabbitMQ 4.3 refuses it (deprecated feature global_qos, denied by default)',
    alternative: (ref) => {
      // From the global prefetch call on, a 4.3 broker closes the channel with 540 NOT_IMPLEMENTED... is
      // not what it does: it answers 541 INTERNAL_ERROR naming the deprecated feature, like
      // transient_nonexcl_queues below.
      const i = ref.findIndex((e) => e.op === 'prefetch' && Array.isArray(e.args) && e.args[1] === true);
      if (i < 0) return ref;
      return [...ref.slice(0, i), dropUndefined({ ...ref[i]!, ok: undefined as unknown as Json, err: deprecated('global_qos', 60, 10) })];
    },
  },
  {
    key: 'KD-2',
    ids: ['queues/declare-transient-non-exclusive'],
    summary: 'durable=false exclusive=false queues: RabbitMQ 4.3 refuses them (deprecated feature transient_nonexcl_queues)',
    alternative: (ref) => {
      const i = ref.findIndex((e) => e.op === 'assertQueue');
      if (i < 0) return ref;
      return [...ref.slice(0, i), dropUndefined({ ...ref[i]!, ok: undefined as unknown as Json, err: deprecated('transient_nonexcl_queues', 50, 10) })];
    },
  },
  {
    key: 'KD-3',
    ids: ['raw/tune-frame-max-4096'],
    summary: 'frame_max 4096 accepted by 3.10.8; RabbitMQ 4.1 raised the minimum to 8192',
    alternative: (ref) =>
      rewrite(ref, isOp('tune-ok+open'), (e) => ({
        ...e,
        ok: undefined as unknown as Json,
        err: 'connection closed before connection.open-ok',
      })).map(dropUndefined),
  },
];

function deprecated(feature: string, classId: number, methodId: number): Json {
  return {
    code: 541,
    text: `INTERNAL_ERROR - Feature \`${feature}\` is deprecated.\nBy default, this feature is not permitted anymore.`,
    classId,
    methodId,
  };
}

function dropUndefined(e: Event): Event {
  const out: Event = {};
  for (const [k, v] of Object.entries(e)) if (v !== undefined) out[k] = v;
  return out;
}

export function alternativeFor(id: string, ref: Event[]): { key: string; events: Event[] } | undefined {
  const kd = KNOWN_DIFFS.find((d) => d.ids.includes(id));
  return kd ? { key: kd.key, events: kd.alternative(ref) } : undefined;
}
