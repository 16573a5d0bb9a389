#!/usr/bin/env -S node --initial-old-space-size=64
// The flag above: the broker's live heap (about 9 MB) is just over V8's 8 MB threshold for
// incremental marking, and with the default limits V8 then marks and compacts the old generation
// every ~100 ms under load (transient 64 KiB: 1.5x the CPU per message, 30% less throughput).
// A 64 MB first limit lets the young generation do the work. `npm start` and the bench run this
// file through its shebang, so this line is the one place the flag is set (docs/performance.md).
// Runs the compiled broker in dist/, which `npm ci` / `npm install` build (the `prepare` script)
// and `npm pack` ships. In a checkout, src/ edited after the last build is pointed out, not
// rebuilt: building takes seconds and `npm start` must start as fast as the broker.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const entry = `${root}dist/cli.js`;

if (!existsSync(entry)) {
  process.stderr.write(`warren: ${entry} is missing: build it with \`npm run build\` (npm ci and npm install do, unless scripts are off)\n`);
  process.exit(1);
}
warnIfStale();

if (process.argv[2] === 'ctl') {
  // `warren ctl ...` (src/ctl/): a client of a running node's management API. Loaded on its own,
  // without the broker's modules: a command takes 0.1 s of CPU instead of 0.5 s.
  const { ctlMain } = await import(`${root}dist/ctl/main.js`);
  await ctlMain(process.argv.slice(3));
} else {
  const { main } = await import(entry);
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}

/** A checkout whose src/ changed after dist/ was built runs the old code: say so (a few ms of stat). */
function warnIfStale() {
  const src = `${root}src`;
  if (!existsSync(src)) return; // an installed package: dist/ is all there is
  const built = statSync(entry).mtimeMs;
  for (const name of readdirSync(src, { recursive: true })) {
    if (!name.endsWith('.ts')) continue;
    if (statSync(`${src}/${name}`).mtimeMs > built) {
      process.stderr.write(`warren: src/${name} changed after dist/ was built: run \`npm run build\` to run the new code\n`);
      return;
    }
  }
}
