// worker worktree identity — the worker's side of lib/worktree/identity.ts: at start it
// records the git dir of the worktree it made or adopted (state `git_dir`) and pins it
// (coven's git commands there use it, whatever `.git` says); before each cycle and
// after each job it checks the worktree and repairs what its agent changed, in one
// message. A worktree whose git dir is gone is given up: its files are saved under
// refs/coven/wip/…, the folder is moved aside, and a new worktree is made for the branch.

import { renameSync } from 'node:fs';
import { git, gitMessage, pinWorktree, revParse } from '../git/runner.js';
import { describeRepair, findGitDir, gitDirOf, repairIdentity } from '../worktree/identity.js';
import { covenRef, keepAt, snapshotCommit } from '../worktree/save-work.js';
import { formatProblem } from '../ui/problem.js';
import { updateState, type Worker } from './context.js';

/** The git dir of the worktree the worker just made (`fresh`) or adopted; pinned. Null: not found (nothing pinned). */
export async function pinWorkerWorktree(commonDir: string, worktree: string, fresh: boolean, recorded: string | null | undefined): Promise<string | null> {
  const gitDir = await findGitDir(commonDir, worktree, fresh ? await gitDirOf(worktree) : recorded);
  pinWorktree(worktree, gitDir);
  return gitDir;
}

/**
 * Checks the worker's worktree against what it recorded and repairs it, saying so.
 * `stop`: it could not be put back (said); `given-up`: its git dir is gone, its files are
 * saved and the folder moved aside (`told` says so), for a new worktree to be made.
 */
export async function keepWorkerWorktree(w: Worker): Promise<{ kind: 'kept' } | { kind: 'stop' } | { kind: 'given-up'; told: string }> {
  const gitDir = w.state.git_dir;
  if (!gitDir) return { kind: 'kept' };
  const r = await repairIdentity({ worktree: w.worktree, gitDir });
  if (r.kind === 'ok' || r.kind === 'worktree-gone') return { kind: 'kept' }; // a deleted folder is worktreeBack's
  if (r.kind === 'moved') return moveBack(w, r.to);
  if (r.kind === 'repaired' || r.kind === 'failed') w.ui.problem(describeRepair(w.worktree, r));
  if (r.kind === 'repaired') return { kind: 'kept' };
  if (r.kind === 'failed') return { kind: 'stop' };
  const told = await giveUpOn(w, r.gitDir);
  return told ? { kind: 'given-up', told } : { kind: 'stop' };
}

/**
 * The agent moved its worktree (`git worktree move`): it is moved back where coven made
 * it, with everything in it; if git refuses (locked), the worker follows it there.
 */
async function moveBack(w: Worker, to: string): Promise<{ kind: 'kept' }> {
  const back = await git(w.paths.mainWorktree, ['worktree', 'move', to, w.worktree]);
  if (back.ok) {
    w.ui.problem(`coven: the agent moved its worktree ${w.worktree} to ${to} (git worktree move); coven moved it back, with everything in it.`);
    return { kind: 'kept' };
  }
  pinWorktree(w.worktree, null);
  const from = w.worktree;
  w.worktree = to;
  pinWorktree(to, w.state.git_dir ?? null);
  await updateState(w, { worktree: to });
  w.ui.problem(`coven: the agent moved its worktree ${from} to ${to} (git worktree move), and git would not move it back (${gitMessage(back, { strip: true })}); ${w.name} goes on there.`);
  return { kind: 'kept' };
}

/**
 * The worktree's git dir is gone (the agent deleted it, or ran `git worktree prune`):
 * its uncommitted files are saved (a snapshot on the branch tip, with the repository's
 * git dir and a temporary index), the folder is moved aside, and the next worktreeBack
 * makes a new worktree for the branch.
 */
async function giveUpOn(w: Worker, gitDir: string): Promise<string | null> {
  const tip = await revParse(w.paths.mainWorktree, `refs/heads/${w.branch}`);
  let saved: string | null = null;
  if (tip) {
    pinWorktree(w.worktree, w.paths.commonDir); // a temporary index only: no worktree's index is touched
    try {
      const snap = await snapshotCommit({ repo: w.paths.mainWorktree, worktree: w.worktree, base: tip, message: `coven: files of ${w.worktree}, whose git dir ${gitDir} was deleted` });
      if (snap.commit !== tip) saved = await keepAt(w.paths.mainWorktree, covenRef('wip', w.name), snap.commit, 'coven: files of a worktree whose git dir was deleted');
    } catch {
      saved = null;
    } finally {
      pinWorktree(w.worktree, null);
    }
  }
  const aside = `${w.worktree}.lost-${Date.now()}`;
  try {
    renameSync(w.worktree, aside);
  } catch (err) {
    w.ui.problem(formatProblem({ what: `the git dir of ${w.worktree} (${gitDir}) was deleted, and the folder could not be moved aside: ${(err as Error).message}`, kept: `The branch ${w.branch} keeps every commit.${saved ? ` The folder's files are saved as ${saved}.` : ''}` }));
    return null;
  }
  await git(w.paths.mainWorktree, ['worktree', 'prune']);
  if (saved) w.saved.push(saved);
  const files = saved ? ` Its files are saved as ${saved}   (git show --stat ${saved}), and the folder is kept at ${aside}.` : ` The folder is kept at ${aside}.`;
  return formatProblem({ what: `the git dir of ${w.worktree} (${gitDir}) was deleted during the job, so that worktree cannot be put back.`, kept: `Nothing committed was lost: the branch ${w.branch} keeps every commit.${files}` });
}
