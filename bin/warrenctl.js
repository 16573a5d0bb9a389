#!/usr/bin/env node
// `warrenctl <command>`: the same as `warren ctl <command>` (rabbitmqctl's commands against a Warren
// node's management API), for scripts that want one word, as `rabbitmqctl` is.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = fileURLToPath(new URL('../dist/ctl/main.js', import.meta.url));
if (!existsSync(entry)) {
  process.stderr.write(`warrenctl: ${entry} is missing: build it with \`npm run build\`\n`);
  process.exit(1);
}
const { ctlMain } = await import(entry);
await ctlMain(process.argv.slice(2), 'warrenctl');
