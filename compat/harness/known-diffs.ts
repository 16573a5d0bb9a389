// Accepted differences, applied mechanically per scenario id. Warren must produce the reference's
// transcript exactly, or, for the scenarios listed here, the alternative `accepts` allows. Every entry
// has a section with the same key in compat/KNOWN_DIFFS.md saying what differs and why that is
// acceptable; meta.test.ts keeps the two in step and checks that every id names a scenario.
//
// Differences that only reflect another RabbitMQ release are not entries: Warren runs with the
// personality of the reference's release (--rabbitmq-version, global-setup.ts) and must match it.
import type { Event } from './scenario.js';

export interface KnownDiff {
  key: string;
  ids: string[];
  summary: string;
  /** True when Warren's transcript is the accepted alternative to the reference's. */
  accepts(ref: Event[], warren: Event[]): boolean;
}

export const KNOWN_DIFFS: KnownDiff[] = [];

export function knownDiffFor(id: string): KnownDiff | undefined {
  return KNOWN_DIFFS.find((d) => d.ids.includes(id));
}
