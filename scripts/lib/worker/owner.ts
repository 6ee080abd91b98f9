// owner — which running worker works in a worktree. A step run by hand (`coven land`,
// `coven run-agent`, `coven resolve`) in a worker's worktree would move its branch,
// remove the worktree or run a second agent there, under that worker and its agent;
// each of those steps asks here first and refuses, naming the worker.
// The worker's own replaced steps (run with COVEN_WORKER set to its name) are its own,
// and a parked worker waits for the human to do just that (its message says so).

import type { RepoPaths } from '../git/runner.js';
import { samePath } from '../files/same-path.js';
import { exitWithProblem, type Problem } from '../ui/problem.js';
import { readWorkerStates, type WorkerState } from './state.js';

/** The live worker, not parked, whose worktree is the one at `paths.toplevel`, unless it is `self`; else null. */
export async function liveOwnerOf(paths: Pick<RepoPaths, 'stateDir' | 'toplevel'>, self = process.env.COVEN_WORKER): Promise<WorkerState | null> {
  for (const e of await readWorkerStates(paths.stateDir)) {
    if (e.kind !== 'worker' || e.liveness !== 'alive' || e.state.name === self || e.state.phase === 'parked') continue;
    if (samePath(e.state.worktree, paths.toplevel)) return e.state;
  }
  return null;
}

/**
 * The one check each of those steps makes: when a running worker owns the worktree,
 * prints the refusal and returns the step's exit `code`; else null (go on).
 */
export async function refuseIfOwned(paths: Pick<RepoPaths, 'stateDir' | 'toplevel'>, code: number, step: string, again: (owner: WorkerState) => string): Promise<number | null> {
  const owner = await liveOwnerOf(paths);
  return owner ? exitWithProblem(code, ownedByWorker(owner, step, again(owner))) : null;
}

/** The refusal of a step run by hand in a running worker's worktree; `step`: what it would do, e.g. (cannot) `land`. */
export function ownedByWorker(owner: WorkerState, step: string, again: string): Problem {
  return {
    what: `cannot ${step} ${owner.branch}: worker ${owner.name} is working in this worktree (${owner.phase}, pid ${owner.pid}); doing it now would act on its branch and files under it`,
    kept: 'Nothing was changed.',
    next: ['coven status', `# ${owner.name} lands its own commits; to do it yourself, stop ${owner.name} first (Ctrl-C in its terminal, or kill ${owner.pid}), then run:`, again],
  };
}
