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
    (code) => exitWhenWritten(code),
    (err: unknown) => {
      process.stderr.write(`coven: unexpected error: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
      exitWhenWritten(1);
    },
  );
}

/**
 * Exits with `code` once stdout and stderr have taken all that was written to them.
 * process.exit() alone drops what is still queued for a pipe or a socket (past the
 * pipe's 64 KiB, `coven issues | wc -l` counted a fraction of the lines). A reader that
 * went away (`| head -1`, EPIPE) ends the wait too.
 */
export function exitWhenWritten(code: number): void {
  process.exitCode = code;
  let open = 2;
  const done = (): void => {
    if (--open === 0) process.exit(code);
  };
  for (const stream of [process.stdout, process.stderr]) {
    let called = false;
    const once = (): void => {
      if (called) return;
      called = true;
      done();
    };
    stream.on('error', once);
    if (stream.writableLength === 0 || stream.destroyed) once();
    else stream.write('', once);
  }
}
