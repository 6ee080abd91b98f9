// entry — lets a step script run on its own (`node spawn-worktree.js …`) and also be
// imported by bin/coven without running.
//
// In a single-file bundle (dist/standalone/) every module has the bundle's URL, so the
// URL cannot say which step was started. There, the first step to call runAsEntry is the
// bundle's own (steps never import steps; coven.mjs loads a command's step only after
// its own runAsEntry ran), and a step is the entry only when no other step was loaded.

import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { isBundle } from '../files/package-file.js';

/** In a bundle: how many step modules have called runAsEntry. */
let stepsInBundle = 0;

/** True when the module at `moduleUrl` is the program node was started with. */
export function isEntry(moduleUrl: string): boolean {
  if (isBundle) return stepsInBundle === 1;
  const argv1 = process.argv[1];
  if (!argv1) return false;
  try {
    return realpathSync(argv1) === realpathSync(fileURLToPath(moduleUrl));
  } catch {
    return false;
  }
}

/** Runs `main` with the command-line arguments and exits with its code. */
export function runAsEntry(moduleUrl: string, main: (argv: string[]) => Promise<number>): void {
  if (isBundle) {
    if (++stepsInBundle > 1) return;
  } else if (!isEntry(moduleUrl)) return;
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`coven: unexpected error: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
