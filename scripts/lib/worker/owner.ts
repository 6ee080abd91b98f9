// owner — which running worker works in a worktree. A step run by hand (`coven land`,
// `coven run-agent`, `coven resolve`) in a worker's worktree would move its branch,
// remove the worktree or run a second agent there, under that worker and its agent;
// each of those steps asks here first and refuses, naming the worker.
// The worker's own replaced steps (run with COVEN_WORKER set to its name) are its own,
// and a parked worker waits for the human to do just that (its message says so).

import { findRepo } from '../git/runner.js';
import { samePath } from '../files/same-path.js';
import type { Problem } from '../ui/problem.js';
import { readWorkerStates, type WorkerState } from './state.js';

/** The live worker, not parked, whose worktree `worktree` is (the folder or any folder inside it), unless it is `self`; else null. */
export async function liveOwnerOf(worktree: string, self: string | undefined): Promise<WorkerState | null> {
  const repo = await findRepo(worktree);
  if (repo.kind !== 'repo') return null;
  for (const e of await readWorkerStates(repo.paths.stateDir)) {
    if (e.kind !== 'worker' || e.liveness !== 'alive' || e.state.name === self || e.state.phase === 'parked') continue;
    if (samePath(e.state.worktree, repo.paths.toplevel)) return e.state;
  }
  return null;
}

/** The refusal of a step run by hand in a running worker's worktree; `step`: what it would do, e.g. (cannot) `land`. */
export function ownedByWorker(owner: WorkerState, step: string, again: string): Problem {
  return {
    what: `cannot ${step} ${owner.branch}: worker ${owner.name} is working in this worktree (${owner.phase}, pid ${owner.pid}); doing it now would act on its branch and files under it`,
    kept: 'Nothing was changed.',
    next: ['coven status', `# ${owner.name} lands its own commits; to do it yourself, stop ${owner.name} first (Ctrl-C in its terminal, or kill ${owner.pid}), then run:`, again],
  };
}
