/**
 * RabbitMQ's deprecated features as a client meets them (rabbit_deprecated_features:is_permitted/1):
 * whether a use is permitted in the imitated release, and the log line RabbitMQ writes about it, a
 * warning while permitted by default (3.13 to 4.2), an error once denied by default (4.3). Like
 * RabbitMQ's should_log_warning/1 the line is written once a day per feature, not per use.
 */
import type { Logger } from 'pino';
import { deprecationPhase, deprecationText, type DeprecatedFeature, type Personality } from './personality.js';

const A_DAY_MS = 24 * 60 * 60 * 1000;

export class DeprecatedFeatures {
  private readonly lastLogged = new Map<DeprecatedFeature, number>();

  constructor(
    private readonly personality: Personality,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** Whether RabbitMQ tracks `feature` as deprecated in this release (3.10 has no such notion). */
  tracks(feature: DeprecatedFeature): boolean {
    return deprecationPhase(this.personality, feature) !== 'not-deprecated';
  }

  /** A client uses `feature`: true if that is permitted (and then RabbitMQ's warning, at most daily). */
  permitted(feature: DeprecatedFeature): boolean {
    const phase = deprecationPhase(this.personality, feature);
    if (phase === 'not-deprecated') return true;
    const t = this.now();
    const last = this.lastLogged.get(feature);
    if (last === undefined || t - last >= A_DAY_MS) {
      this.lastLogged.set(feature, t);
      const line = `Deprecated features: \`${feature}\`: ${deprecationText(feature, phase)}`;
      if (phase === 'permitted') this.log.warn({ deprecatedFeature: feature }, line);
      else this.log.error({ deprecatedFeature: feature }, line);
    }
    return phase === 'permitted';
  }
}
