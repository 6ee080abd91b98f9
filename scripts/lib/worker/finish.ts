// worker finish — how a worker ends: everything landed (its worktree and branch are
// removed), or work kept (said where, with the commands to pick it up); and the worktree
// deleted under a running worker (given a new one from its branch, which keeps every commit).

import { dirtyFiles, git, pinWorktree, revParse } from '../git/runner.js';
import { rebaseInProgress } from '../git/operation.js';
import { removeLandedWorktree, unlandedCommits } from '../land/land.js';
import { formatProblem } from '../ui/problem.js';
import { trackingRef } from '../remote/target.js';
import { spawnWorktree } from '../worktree/spawn.js';
import { problemFor } from '../worktree/spawn-messages.js';
import { here, setPhase, updateState, worktreePresent, type DoneWhy, type Worker, type WorkerExit } from './context.js';
import { stop as say } from './messages.js';
import { removeWorkerState } from './state.js';
import { unpublishState } from './remote-state.js';
import { releaseClaim, stopClaimHeartbeat } from './claim-keeper.js';
import { removeStepFiles } from './step-files.js';
import { keepWorkerWorktree, pinWorkerWorktree } from './worktree-identity.js';

/** `failure`: the unexpected error that ended the loop (the exit is then `failed`). */
export async function finish(w: Worker, why: DoneWhy, failure: string | null = null): Promise<WorkerExit> {
  await setPhase(w, 'stopping', { agent: null, args: {} }).catch(() => undefined);
  await unpublishState(w).catch(() => null); // remote mode: its state leaves the remote
  stopClaimHeartbeat(w);
  if (worktreePresent(w) && (await keepWorkerWorktree(w).catch(() => null))?.kind === 'given-up') return finishWithoutWorktree(w, why);
  if (!worktreePresent(w)) return finishWithoutWorktree(w, why);
  // coven aborts its own rebases where they stop (resolve, park); one still in progress is
  // the human's (resolving a parked worker by hand, as its message says): left as it is
  const rebasing = rebaseInProgress(w.worktree);
  const [unlanded, dirty] = await Promise.all([unlandedCommits(w.worktree, undefined, w.remote), dirtyFiles(w.worktree).catch(() => [] as string[])]);
  // a worktree the land cannot read (an operation in progress) still has its branch: count there
  const commits = unlanded.kind === 'unlanded' ? unlanded.commits.length : ((await unlandedOnBranch(w)) ?? 0);
  if (unlanded.kind === 'unlanded' && commits === 0 && dirty.length === 0) {
    // nothing of the job is left to land: its claim is let go (work kept below keeps it: a restart of this name takes it back)
    await releaseClaim(w, { kind: 'given-up', why: 'the worker stopped with nothing to land' });
    const removal = await removeLandedWorktree({ worktree: w.worktree, branch: w.branch, onto: unlanded.onto, ontoRef: mainRefOf(w) });
    if (removal.kind === 'removed') {
      await removeWorkerState(w.paths.stateDir, w.name);
      await removeStepFiles(w.paths.stateDir, w.name);
      if (failure !== null) {
        w.ui.problem(say.failedNothingLeft(here(w), failure, w.saved));
        return { kind: 'failed', message: failure, state: null };
      }
      if (w.saved.length === 0) w.ui.line(say.allLanded(here(w)));
      else w.ui.problem(say.landedWithSaved(here(w), w.saved));
      return { kind: 'done', why, state: null };
    }
    w.ui.problem(say.notRemoved(here(w), failure, removal.kind === 'not-removed' ? removal.reason : removal.kind));
    return failure !== null ? { kind: 'failed', message: failure, state: w.state } : { kind: 'done', why, state: w.state };
  }
  const left = say.left(here(w), { rebasing, commits, dirty, noTarget: unlanded.kind === 'no-target' });
  w.ui.problem(say.kept(here(w), failure, left, rebasing, w.saved));
  return failure !== null ? { kind: 'failed', message: failure, state: w.state } : { kind: 'kept', why: left, state: w.state };
}

/** The worktree folder was deleted under the worker and could not be made again. */
async function finishWithoutWorktree(w: Worker, why: DoneWhy): Promise<WorkerExit> {
  const commits = await unlandedOnBranch(w);
  if (commits === null) {
    await git(w.paths.mainWorktree, ['worktree', 'prune']);
    await removeWorkerState(w.paths.stateDir, w.name);
    w.ui.problem(say.bothDeleted(here(w)));
    return { kind: 'done', why, state: null };
  }
  w.ui.problem(say.worktreeGone(here(w), commits));
  return { kind: 'kept', why: 'worktree gone', state: w.state };
}

/** Where the worker's commits land: the local main, or in remote mode the remote's main as last fetched. */
function mainRefOf(w: Worker): string {
  return w.remote ? trackingRef(w.remote) : `refs/heads/${w.main}`;
}

/** Commits on the worker's branch that are not on main; null when the branch is gone. */
export async function unlandedOnBranch(w: Worker): Promise<number | null> {
  if ((await revParse(w.paths.mainWorktree, `refs/heads/${w.branch}`)) === null) return null;
  const r = await git(w.paths.mainWorktree, ['rev-list', '--count', `${mainRefOf(w)}..refs/heads/${w.branch}`]);
  return r.ok ? Number(r.stdout.trim()) : 0;
}

/** True when the worktree is there, or was deleted and could be made again (see recreateWorktree). */
export async function worktreeBack(w: Worker): Promise<boolean> {
  const link = await keepWorkerWorktree(w); // the link an agent rewrote is put back first
  if (link.kind === 'stop') return false;
  return worktreePresent(w) || (await recreateWorktree(w, link.kind === 'given-up' ? link.told : undefined));
}

/**
 * The worktree folder was deleted under the running worker. Its branch (a ref in the
 * shared .git) still holds every commit: give it a new worktree and go on. False when
 * that is not possible (the branch is gone too, or the folder cannot be made): the
 * worker then stops and says what is left.
 */
export async function recreateWorktree(w: Worker, told?: string): Promise<boolean> {
  const commits = await unlandedOnBranch(w);
  if (commits === null) return false;
  const spawnOpts = { cwd: w.paths.mainWorktree, branch: w.branch, base: w.opts.worktreeBase, adopt: true };
  const spawned = await spawnWorktree(spawnOpts);
  if (spawned.kind !== 'spawned') {
    w.ui.problem(say.notRemade(here(w), formatProblem(problemFor(spawned, spawnOpts))));
    return false;
  }
  const before = here(w);
  pinWorktree(w.worktree, null);
  w.worktree = spawned.path;
  await updateState(w, { worktree: w.worktree, git_dir: await pinWorkerWorktree(w.paths.commonDir, w.worktree, true, null) });
  w.ui.problem(told ? `${told}\n  ${w.name} gave ${w.branch} a new worktree at ${w.worktree} and goes on.` : say.remade(before, w.worktree, commits));
  return true;
}
