// state-dir — where coven keeps what every worktree shares: `<git-common-dir>/coven/`.
//   workers/<name>.json  one per live worker        locks/   dispatch lock and slots
//   logs/<name>/         raw stream-json per session wake     touched by the hooks
// Never committed (it lives inside .git).

import { lstat, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { shellQuote } from '../ui/problem.js';

export function stateDirPaths(stateDir: string) {
  return {
    root: stateDir,
    workers: join(stateDir, 'workers'),
    locks: join(stateDir, 'locks'),
    logs: join(stateDir, 'logs'),
    wake: join(stateDir, 'wake'),
  };
}

export function workerStateFile(stateDir: string, worker: string): string {
  return join(stateDir, 'workers', `${worker}.json`);
}

export function workerLogDir(stateDir: string, worker: string): string {
  return join(stateDir, 'logs', worker);
}

/**
 * What is wrong with the state dir, or null: something other than a folder at its path
 * (a file, a FIFO, a link to nothing) would make every write under it fail. coven never
 * moves it itself (it did not make it): the message gives the `mv` that does. A link to
 * a folder is followed (the human's choice).
 */
export async function stateDirProblem(stateDir: string): Promise<{ what: string; next: string } | null> {
  const st = await lstat(stateDir).catch(() => null);
  if (st === null || st.isDirectory()) return null;
  const target = st.isSymbolicLink() ? await stat(stateDir).catch(() => null) : st;
  if (target?.isDirectory()) return null;
  const what = target === null ? 'a link to nothing' : target.isFile() ? 'a file' : target.isFIFO() ? 'a FIFO' : 'not a folder';
  return { what: `${stateDir} is ${what}, not a folder: coven keeps its state (workers, locks, logs) there`, next: `mv ${shellQuote(stateDir)} ${shellQuote(`${stateDir}.not-coven`)}` };
}
