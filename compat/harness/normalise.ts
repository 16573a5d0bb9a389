// Normalisation: only what legitimately differs between two correct brokers, or between two runs.
// - the per-run name prefix                          -> "~"
// - server-generated queue names  amq.gen-<22>        -> amq.gen-<n>   (n: order of first appearance)
// - server-generated consumer tags amq.ctag-<22>      -> amq.ctag-<n>
// - direct reply-to pseudo-queue names                -> amq.rabbitmq.reply-to.<n>
// - x-death "time" values (timestamps)                -> "<time>"
// Server properties other than capabilities are dropped when recorded (scenario.ts). The shapes are
// kept: a Warren name that is not `amq.gen-` followed by 22 URL-safe base64 characters stays visible.
import type { Event, Json } from './scenario.js';

const PATTERNS: Array<[RegExp, string]> = [
  [/amq\.gen-[A-Za-z0-9_-]{22}/g, 'amq.gen-'],
  [/amq\.ctag-[A-Za-z0-9_-]{22}/g, 'amq.ctag-'],
  [/amq\.rabbitmq\.reply-to\.[A-Za-z0-9+/=._-]+/g, 'amq.rabbitmq.reply-to.'],
];

export function normalise(events: Event[], prefix: string): Event[] {
  const seen = new Map<string, string>();
  const counters = new Map<string, number>();
  const str = (s: string): string => {
    let out = prefix ? s.split(prefix).join('~') : s;
    for (const [re, stem] of PATTERNS) {
      out = out.replace(re, (m) => {
        let v = seen.get(m);
        if (!v) {
          const n = (counters.get(stem) ?? 0) + 1;
          counters.set(stem, n);
          v = `${stem}<${n}>`;
          seen.set(m, v);
        }
        return v;
      });
    }
    return out;
  };
  const walk = (v: Json): Json => {
    if (typeof v === 'string') return str(v);
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') {
      const out: { [k: string]: Json } = {};
      for (const [k, x] of Object.entries(v)) out[str(k)] = walk(x);
      return out;
    }
    return v;
  };
  return events.map((e) => stripDeathTimes(walk(e) as Event) as Event);
}

/** x-death entries carry the time of death; keep the key, drop the value. */
function stripDeathTimes(v: Json): Json {
  if (Array.isArray(v)) return v.map(stripDeathTimes);
  if (v && typeof v === 'object') {
    const out: { [k: string]: Json } = {};
    for (const [k, x] of Object.entries(v)) {
      if (k === 'x-death' && Array.isArray(x)) {
        out[k] = x.map((d) => {
          if (d && typeof d === 'object' && !Array.isArray(d) && 'time' in d) return { ...(stripDeathTimes(d) as { [k: string]: Json }), time: '<time>' };
          return stripDeathTimes(d);
        });
      } else out[k] = stripDeathTimes(x);
    }
    return out;
  }
  return v;
}

/** One line per event: transcripts and their diffs read top to bottom. */
export function lines(events: Event[]): string[] {
  return events.map((e) => JSON.stringify(e));
}
