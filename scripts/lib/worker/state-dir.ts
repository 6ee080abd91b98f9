// state-dir — where coven keeps what every worktree shares: `<git-common-dir>/coven/`.
//   workers/<name>.json  one per live worker        locks/   dispatch lock and slots
//   logs/<name>/         raw stream-json per session wake     touched by the hooks
// Never committed (it lives inside .git).

import { join } from 'node:path';

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
