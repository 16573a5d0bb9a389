#!/usr/bin/env node
// Runs the compiled broker (npm run build produces dist/).
import { main } from '../dist/cli.js';

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
