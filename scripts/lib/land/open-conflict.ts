// open-conflict — the conflict a land left open (`coven land` exit 3), read back from
// git in a later process: which branch is being rebased onto which, the files git
// stopped on, and the commit it could not apply. This is what resolve-conflict needs
// when it runs as a step of its own rather than right after the land, in-process.

import { git, type RepoPaths } from '../git/runner.js';
import { branchBeingRebased, rebaseInProgress } from '../git/operation.js';
import { localUpstreamOf, mainBranchOf } from '../git/main-branch.js';
import { conflictedFiles, stoppedAt, type Conflict } from './resolve-conflict.js';

export type OpenConflict =
  | { kind: 'conflict'; conflict: Conflict }
  /** no rebase is stopped in the worktree */
  | { kind: 'none' }
  /** a rebase is stopped, but of another branch (or of a detached HEAD: null) */
  | { kind: 'other-branch'; rebasing: string | null }
  /** no branch to land on: no local upstream, and the main worktree is on no branch */
  | { kind: 'no-target' };

/** Reads the rebase stopped in `worktree` on `branch` (short name) as the conflict a land returns. */
export async function openConflict(paths: RepoPaths, worktree: string, branch: string): Promise<OpenConflict> {
  if (!rebaseInProgress(worktree)) return { kind: 'none' };
  const rebasing = branchBeingRebased(worktree);
  if (rebasing !== `refs/heads/${branch}`) return { kind: 'other-branch', rebasing };
  // where land put it: the branch's local upstream, else the main worktree's branch
  let onto = await localUpstreamOf(worktree, branch);
  if (onto === null) {
    const main = await mainBranchOf(paths);
    if (main.kind !== 'branch') return { kind: 'no-target' };
    onto = main.name;
  }
  const [files, at, count] = await Promise.all([
    conflictedFiles(worktree),
    stoppedAt(worktree),
    git(worktree, ['rev-list', '--count', `refs/heads/${onto}..refs/heads/${branch}`]),
  ]);
  const commits = count.ok ? Number(count.stdout.trim()) : 0;
  return { kind: 'conflict', conflict: { kind: 'conflict', worktree, branch, onto, commits, files, commit: at.commit, subject: at.subject } };
}

