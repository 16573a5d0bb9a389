/** Types for scripts/crash-test-stream.mjs (imported by test/durability/crash.test.ts). */
export interface StreamCrashTestOptions {
  kills?: number;
  durability?: 'fsync' | 'os';
  seed?: number;
  minUpMs?: number;
  maxUpMs?: number;
  minBody?: number;
  maxBody?: number;
  finalUpMs?: number;
  /** Replaying consumers running at once. */
  readers?: number;
  readyTimeoutMs?: number;
  keep?: boolean;
  log?: (line: string) => void;
}

export interface StreamCrashTestSummary {
  ok: boolean;
  mode: 'stream';
  durability: string;
  seed: number;
  kills: number;
  published: number;
  confirmed: number;
  /** Messages in the stream after the final clean restart (offsets 0 .. finalCount - 1). */
  finalCount: number;
  deliveries: number;
  readerSessions: number;
  tornTailRepairs: number;
  seconds: number;
  violations: string[];
  warnings: Array<{ incarnation: number; msg: string; [key: string]: unknown }>;
  workDir: string;
}

export function runStreamCrashTest(options?: StreamCrashTestOptions): Promise<StreamCrashTestSummary>;
export function formatStreamSummary(summary: StreamCrashTestSummary): string;
