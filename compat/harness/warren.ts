// Warren, the broker under test, through its embedding API (src/index.ts, written by the lead):
//   startBroker({ port: 0, durability: 'memory', logLevel: 'silent', rabbitmqVersion }) -> { port, url, close() }
// with the personality of the reference's release, so that Warren is compared with what it imitates.
// Until that module exists (or when it throws), the Warren side of every scenario is "unavailable"
// and counts as a difference; the RabbitMQ side still has to pass.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

export interface WarrenHandle {
  port: number;
  url: string;
  /** With `mqttPort` given: the MQTT listener's port. */
  mqttPort?: number | undefined;
  /** With `managementPort` given: the management API's base URL. */
  managementUrl?: string | undefined;
  /** With `mqttWsPort` given: the MQTT-over-WebSocket listener's port. */
  mqttWsPort?: number | undefined;
  close(): Promise<void>;
}

export interface WarrenStartOptions {
  port?: number;
  dataDir?: string;
  durability?: 'memory' | 'os';
  logLevel?: string;
  /** An MQTT listener (0: a free port), for compat/mqtt.test.ts. */
  mqttPort?: number;
  /** The management API (0: a free port), for scenarios that change policies over HTTP. */
  managementPort?: number;
  /** A definitions file imported at start (--load-definitions), for compat/access.test.ts. */
  loadDefinitions?: string;
  /** MQTT over WebSocket (0: a free port). */
  mqttWsPort?: number;
  /** The release to imitate: the reference's (global-setup.ts). */
  rabbitmqVersion?: '3.10' | '3.13' | '4.x';
}

type StartBroker = (opts: WarrenStartOptions) => Promise<WarrenHandle>;

const ENTRY = fileURLToPath(new URL('../../src/index.ts', import.meta.url));

let loaded: Promise<{ ok: true; start: StartBroker } | { ok: false; reason: string }> | undefined;

function loadWarren(): Promise<{ ok: true; start: StartBroker } | { ok: false; reason: string }> {
  loaded ??= (async () => {
    if (!existsSync(ENTRY)) return { ok: false as const, reason: 'Warren is not built yet: src/index.ts does not exist' };
    try {
      // A computed specifier keeps the type checker from requiring the module while it does not exist.
      const mod = (await import(/* @vite-ignore */ pathToFileURL(ENTRY).href)) as { startBroker?: unknown };
      if (typeof mod.startBroker !== 'function') return { ok: false as const, reason: 'src/index.ts does not export startBroker()' };
      return { ok: true as const, start: mod.startBroker as StartBroker };
    } catch (err) {
      return { ok: false as const, reason: `src/index.ts failed to load: ${(err as Error).message}` };
    }
  })();
  return loaded;
}

export async function startWarren(opts: WarrenStartOptions = {}): Promise<{ ok: true; broker: WarrenHandle } | { ok: false; reason: string }> {
  const w = await loadWarren();
  if (!w.ok) return w;
  try {
    const broker = await w.start({ port: 0, durability: 'memory', logLevel: 'silent', ...opts });
    return { ok: true, broker };
  } catch (err) {
    return { ok: false, reason: `startBroker() failed: ${(err as Error).message}` };
  }
}
