// replaced-land — the land step when the repository names its own (lib/steps/overrides.ts,
// docs/steps.md "Replacing a step"): the worker runs that executable in its worktree and
// reads its exit code. 0: the commits are taken care of; those the local main does not
// have are kept under refs/coven/handed-off/… and the worker goes on from main. Anything
// else: the branch keeps its commits and the land is tried again later.

import { saveAndClean } from '../agents/agent-job.js';
import { gitOut } from '../git/runner.js';
import { unlandedCommits } from '../land/land.js';
import { describeLand } from '../land/messages.js';
import { runStepExecutable } from '../steps/overrides.js';
import { trace } from '../ui/trace.js';
import { covenRef, keepAt } from '../worktree/save-work.js';
import { here, setPhase, updateState, type Worker } from './context.js';
import { land as say, replaced as sayReplaced } from './messages.js';
import type { LandEnd } from './policy.js';
import { stepFilePaths } from './step-files.js';

export async function landByStep(w: Worker, path: string, undoRebase: (w: Worker) => Promise<unknown>): Promise<LandEnd> {
  await setPhase(w, 'landing', { waiting_on: null });
  const before = await unlandedCommits(w.worktree);
  if (before.kind !== 'unlanded') {
    w.ui.problem(describeLand(before, { self: 'coven land', againArgs: ['--keep'] }).text);
    return 'pending';
  }
  if (before.commits.length === 0) {
    w.ui.line(say.nothing);
    return 'nothing';
  }
  const files = stepFilePaths(w.paths.stateDir, w.name);
  w.ui.line(sayReplaced.running('land', path));
  const env = { COVEN_WORKTREE: w.worktree, COVEN_DECISION: files.decision, COVEN_SESSION: files.session, COVEN_MAIN_BRANCH: w.main, COVEN_MAIN_WORKTREE: w.paths.mainWorktree, COVEN_WORKER: w.name };
  const ran = await runStepExecutable({ path, args: ['--keep'], env, baseEnv: w.opts.env, display: (l) => w.ui.line(l) });
  if (ran.code !== 0) {
    await undoRebase(w);
    w.ui.problem(sayReplaced.failed('land', path, ran.code, ran.error));
    w.ui.problem(say.retriesLater(w.name));
    return 'pending';
  }
  await updateState(w, { landed: w.state.landed + before.commits.length });
  trace('landed', { worker: w.name, commits: before.commits.length });
  const after = await unlandedCommits(w.worktree);
  if (after.kind === 'unlanded' && after.commits.length > 0) {
    // handed off (pushed, a pull request…): kept on a ref, and the branch starts again from main
    const saved = await saveAndClean(w.worktree, w.name, 'wip', 'coven: uncommitted work found after a replaced land');
    if (saved.kind === 'saved') w.saved.push(saved.ref);
    const tip = await gitOut(w.worktree, ['rev-parse', 'HEAD']);
    const ref = await keepAt(w.worktree, covenRef('handed-off', w.name), tip, 'coven: commits handed off by a replaced land step');
    await gitOut(w.worktree, ['reset', '--quiet', '--hard', `refs/heads/${w.main}`]);
    w.ui.line(sayReplaced.handedOff(here(w), path, after.commits.length, ref));
  } else {
    w.ui.line(sayReplaced.landed(path, before.commits.length, w.main));
  }
  return 'landed';
}
