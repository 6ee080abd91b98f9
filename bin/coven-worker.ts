#!/usr/bin/env node
// coven-worker — the same as `coven worker` (see `coven-worker --help`).
//   args/exit: as scripts/worker-loop.ts

import { main } from '../scripts/worker-loop.js';

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`coven: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
