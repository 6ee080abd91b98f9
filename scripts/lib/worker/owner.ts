// owner — which running worker works in a worktree. A step run by hand (`coven land`)
// in a worker's worktree would move its branch, or remove the worktree, under that
// worker and its agent; the step asks here first and refuses, naming the worker.
// The worker's own replaced steps (run with COVEN_WORKER set to its name) are its own.

import { findRepo } from '../git/runner.js';
import { samePath } from '../files/same-path.js';
import { formatProblem } from '../ui/problem.js';
import { readWorkerStates, type WorkerState } from './state.js';

/** The live worker whose worktree `worktree` is (the folder or any folder inside it), unless it is `self`; else null. */
export async function liveOwnerOf(worktree: string, self: string | undefined): Promise<WorkerState | null> {
  const repo = await findRepo(worktree);
  if (repo.kind !== 'repo') return null;
  for (const e of await readWorkerStates(repo.paths.stateDir)) {
    if (e.kind !== 'worker' || e.liveness !== 'alive' || e.state.name === self) continue;
    if (samePath(e.state.worktree, repo.paths.toplevel)) return e.state;
  }
  return null;
}

/** The refusal of a step run by hand in a running worker's worktree. */
export function ownedByWorker(owner: WorkerState, step: string, again: string): string {
  return formatProblem({
    what: `cannot ${step} ${owner.branch}: worker ${owner.name} is working in this worktree (${owner.phase}, pid ${owner.pid}); doing it now would move its branch, or remove its worktree, under it`,
    kept: 'Nothing was changed.',
    next: ['coven status', `# ${owner.name} lands its own commits; to do it yourself, stop ${owner.name} first (Ctrl-C in its terminal, or kill ${owner.pid}), then run:`, again],
  });
}
