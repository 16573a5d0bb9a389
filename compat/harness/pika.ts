// Python pika (Debian's python3-pika, visible to /usr/bin/python3 only) as a compat client: each
// scenario is a function in compat/pika/driver.py, run by name; its JSON transcript is appended.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ScenarioAbort, type Ctx, type Json } from './scenario.js';

const PYTHON = process.env.COMPAT_PYTHON ?? '/usr/bin/python3';
const DRIVER = fileURLToPath(new URL('../pika/driver.py', import.meta.url));

export async function runPika(t: Ctx, scenario: string, args: Record<string, string> = {}): Promise<Json[]> {
  const out = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(PYTHON, [DRIVER, scenario, t.target.url, JSON.stringify(args)], { timeout: 20_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
  let parsed: { events?: Json[]; error?: string };
  try {
    parsed = JSON.parse(out.stdout.trim().split('\n').pop() ?? '{}') as { events?: Json[]; error?: string };
  } catch {
    parsed = { error: `pika driver printed no transcript (exit ${out.code}): ${out.stderr.trim().split('\n').pop() ?? ''}` };
  }
  const events = parsed.events ?? [];
  t.events.push({ pika: scenario, events });
  if (parsed.error) {
    t.events.push({ pika: scenario, error: parsed.error });
    throw new ScenarioAbort(`pika ${scenario}: ${parsed.error}`);
  }
  return events;
}
