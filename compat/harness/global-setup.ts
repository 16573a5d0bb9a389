// vitest globalSetup for the compat project: one reference RabbitMQ for every test file of the run,
// a directory where each file drops its per-scenario results, and the closing summary.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { describePrerequisites } from './prerequisites.mjs';
import { acquireReference, referencePersonality, type ReferenceBroker } from './reference.js';
import { printSummary } from './summary.js';

/** COMPAT_RMQ_PORT: a fixed port for the shared reference (reused if a node already runs there); unset: a free one. */
const REFERENCE_PORT = process.env.COMPAT_RMQ_PORT ? Number(process.env.COMPAT_RMQ_PORT) : undefined;

declare module 'vitest' {
  export interface ProvidedContext {
    compat: {
      referenceUrl: string | null;
      /** The reference's management HTTP API, when the harness started it with the plugin (a local node). */
      referenceManagementUrl: string | null;
      /** The reference's Prometheus endpoint, likewise. */
      referencePrometheusUrl: string | null;
      /** rabbitmqctl's way to the reference (node name, epmd port), likewise. */
      referenceCtl: { node: string; epmdPort: number } | null;
      referenceDescription: string;
      unavailableReason: string | null;
      /** The --rabbitmq-version Warren runs with: the reference's release series. */
      personality: '3.10' | '3.13' | '4.x' | null;
      resultsDir: string;
      runId: string;
    };
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const resultsDir = mkdtempSync(path.join(os.tmpdir(), 'warren-compat-results-'));
  const runId = Math.random().toString(36).slice(2, 8);
  console.log(describePrerequisites().map((l) => `[compat] ${l}`).join('\n'));
  const started = Date.now();
  const acquired = await acquireReference({ port: REFERENCE_PORT });
  let broker: ReferenceBroker | undefined;
  let personality: '3.10' | '3.13' | '4.x' | null = null;
  if (acquired.ok) {
    broker = acquired.broker;
    const ref = await referencePersonality(broker.url);
    personality = ref.personality;
    console.log(`[compat] reference broker: ${broker.description}, RabbitMQ ${ref.version} (ready in ${Date.now() - started} ms); Warren runs with --rabbitmq-version ${personality}`);
  } else {
    const required = process.env.CI || process.env.COMPAT_REQUIRE_REFERENCE;
    const banner = [
      '',
      '================================================================================',
      ' COMPAT SUITE NOT RUN: no reference RabbitMQ could be had.',
      ` Why: ${acquired.reason}`,
      ' Fix: install Debian\'s rabbitmq-server (run as root), start a Docker engine, or set',
      '      AMQP_REFERENCE_URL=amqp://guest:guest@host:port to point at any RabbitMQ.',
      required ? ' CI / COMPAT_REQUIRE_REFERENCE is set: every compat test will fail.' : ' Every compat test is skipped.',
      '================================================================================',
      '',
    ].join('\n');
    console.warn(banner);
  }
  project.provide('compat', {
    referenceUrl: broker?.url ?? null,
    referenceManagementUrl: broker?.managementUrl ?? null,
    referencePrometheusUrl: broker?.prometheusUrl ?? null,
    referenceCtl: broker?.rabbitmqctl ?? null,
    referenceDescription: broker?.description ?? 'none',
    unavailableReason: acquired.ok ? null : acquired.reason,
    personality,
    resultsDir,
    runId,
  });
  return async () => {
    try {
      printSummary(resultsDir, broker?.description ?? null);
    } finally {
      rmSync(resultsDir, { recursive: true, force: true });
      if (broker?.owned) await broker.stop();
    }
  };
}
