/** Types for scripts/crash-test.mjs (imported by test/durability/crash.test.ts). */
export interface CrashTestOptions {
  kills?: number;
  durability?: 'fsync' | 'os';
  seed?: number;
  minUpMs?: number;
  maxUpMs?: number;
  /** Probability that a kill comes 0-150 ms after the start, during recovery. */
  earlyKill?: number;
  minBody?: number;
  maxBody?: number;
  /** Half the consumer sessions start up to this late, so a backlog builds. */
  consumerDelayMs?: number;
  /** The publisher waits while this many messages are published and not yet consumed. */
  maxBacklog?: number;
  finalUpMs?: number;
  /** The final drain fails after this long without a new delivery. */
  drainTimeoutMs?: number;
  readyTimeoutMs?: number;
  keep?: boolean;
  verbose?: boolean;
  log?: (line: string) => void;
}

export interface CrashTestSummary {
  ok: boolean;
  durability: string;
  seed: number;
  kills: number;
  earlyKills: number;
  published: number;
  confirmed: number;
  nacked: number;
  consumed: number;
  deliveries: number;
  duplicates: number;
  redelivered: number;
  unconfirmedDelivered: number;
  transientChecked: number;
  transientKept: number;
  consumerSessions: number;
  maxBacklogAtKill: number;
  tornTailRepairs: number;
  maxReadyMs: number;
  seconds: number;
  violations: string[];
  warnings: Array<{ incarnation: number; msg: string; [key: string]: unknown }>;
  workDir: string;
}

export function runCrashTest(options?: CrashTestOptions): Promise<CrashTestSummary>;
export function formatSummary(summary: CrashTestSummary): string;
