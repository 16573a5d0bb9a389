// What `npm test` needs besides node_modules, said before anything runs: npm's pretest runs this
// file (plain JavaScript, so it runs before the build), and the compat suite's global setup prints
// the same lines (npx vitest run skips pretest).
//
// The compat suite (compat/) compares Warren with a real RabbitMQ, driven by real clients:
//   - a reference RabbitMQ: AMQP_REFERENCE_URL, or a Docker engine (testcontainers), or Debian's
//     rabbitmq-server, which the suite starts itself as root on free ports;
//   - python3-pika for /usr/bin/python3 (COMPAT_PYTHON), for the pika scenarios.
// Without a reference the compat tests are skipped (they fail when CI or COMPAT_REQUIRE_REFERENCE
// is set). The unit suite (test/) needs nothing more.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const PYTHON = process.env.COMPAT_PYTHON ?? '/usr/bin/python3';

/** Debian's rabbitmq-server on PATH or in its usual places, or undefined. */
export function findRabbitmqServer() {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/usr/lib/rabbitmq/bin'])) {
    const p = path.join(dir, 'rabbitmq-server');
    if (dir && existsSync(p)) return p;
  }
  return undefined;
}

/** True when the python the pika scenarios run can import pika. */
export function pikaImports() {
  try {
    execFileSync(PYTHON, ['-c', 'import pika'], { stdio: 'ignore', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

/** True when that python can import paho-mqtt (test/mqtt/paho.test.ts). */
function pahoImports() {
  try {
    execFileSync(PYTHON, ['-c', 'import paho.mqtt.client'], { stdio: 'ignore', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

/** The lines that say what the test run needs and what this machine has of it. */
export function describePrerequisites() {
  const url = process.env.AMQP_REFERENCE_URL;
  const server = findRabbitmqServer();
  const root = process.getuid?.() === 0;
  const pika = pikaImports();
  let reference;
  if (url) reference = `AMQP_REFERENCE_URL=${url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@')}`;
  else if (server && root) reference = `${server}, started here on free loopback ports (a Docker engine is preferred when one answers)`;
  else if (server) reference = `${server} found, but only root can start it: a Docker engine or AMQP_REFERENCE_URL, or no compat suite`;
  else reference = 'none found: a Docker engine or AMQP_REFERENCE_URL, or no compat suite';
  const lines = [
    'npm test needs, for the compat suite: a reference RabbitMQ (AMQP_REFERENCE_URL, a Docker engine, or rabbitmq-server run as root) and python3-pika.',
    `  reference RabbitMQ: ${reference}`,
    `  python3-pika for ${PYTHON}: ${pika ? 'found' : 'missing (the pika scenarios will fail)'}`,
    `  python3-paho-mqtt for ${PYTHON}: ${pahoImports() ? 'found' : 'missing (test/mqtt/paho.test.ts will fail)'}`,
  ];
  if (!pika || (!url && !(server && root))) {
    lines.push("  on Debian, as root: apt-get install rabbitmq-server python3-pika python3-paho-mqtt (or run .ci/run, which installs them)");
  }
  return lines;
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.stdout.write(`${describePrerequisites().join('\n')}\n`);
}
