// worktree-state — what git state a worker's worktree is in, read after an agent's
// session (or by gc before it saves a dead worker's work). One classification, so the
// worker and gc handle the same odd states the same way (lib/worktree/settle.ts).
//
// It reads: the operation git is in the middle of (operation.ts), where HEAD is (the
// worker's branch, another branch, detached, or a branch with no commit yet), whether
// the worker's branch still exists, the untracked nested repositories (git cannot add
// them, and `git clean -d` leaves them), and the common git dir (where settle looks for
// the lock files a killed git left, lib/git/stale-locks.ts). Nothing is changed.
//
// Inputs: the worktree, the worker's branch. Outputs: a WorktreeState.

import { resolve } from 'node:path';
import { git, revParse } from './runner.js';
import { gitDirOfWorktree, operationInProgress, type GitOperation } from './operation.js';

export type HeadState =
  /** on the worker's branch, which has a commit */
  | { kind: 'on-branch' }
  /** on another branch that exists (`git switch other`) */
  | { kind: 'other-branch'; branch: string; commit: string }
  /** on a branch that has no commit: `git checkout --orphan x`, or the worker's own branch deleted under it */
  | { kind: 'unborn'; branch: string }
  /** no branch: a commit checked out (`--detach`, a tag, a bisect step) */
  | { kind: 'detached'; commit: string };

export interface WorktreeState {
  operation: GitOperation | null;
  head: HeadState;
  /** the commit HEAD names, null on an unborn branch */
  headCommit: string | null;
  /** the worker's branch tip; null when the branch no longer exists */
  branchTip: string | null;
  /** untracked nested repositories, relative to the worktree, with a trailing `/` */
  nested: string[];
  /** the repository's common git dir (absolute), null when git could not say */
  commonDir: string | null;
}

export async function readWorktreeState(worktree: string, branch: string): Promise<WorktreeState> {
  const gitDir = gitDirOfWorktree(worktree);
  const [symbolic, headCommit, branchTip, nested, common] = await Promise.all([
    git(worktree, ['symbolic-ref', '--quiet', 'HEAD']),
    revParse(worktree, 'HEAD'),
    revParse(worktree, `refs/heads/${branch}`),
    nestedRepos(worktree),
    git(worktree, ['rev-parse', '--git-common-dir']),
  ]);
  const ref = symbolic.ok ? symbolic.stdout.trim() : null;
  let head: HeadState;
  if (ref === null) head = { kind: 'detached', commit: headCommit ?? '' };
  else if (headCommit === null) head = { kind: 'unborn', branch: short(ref) };
  else if (ref === `refs/heads/${branch}`) head = { kind: 'on-branch' };
  else head = { kind: 'other-branch', branch: short(ref), commit: headCommit };
  const commonDir = common.ok ? resolve(worktree, common.stdout.trim()) : null;
  return { operation: gitDir ? operationInProgress(gitDir) : null, head, headCommit, branchTip, nested, commonDir };
}

/**
 * The untracked nested repositories in the worktree (with a trailing `/`): with
 * --untracked-files=all, git lists a folder only when it is one.
 */
export async function nestedRepos(worktree: string): Promise<string[]> {
  const status = await git(worktree, ['status', '--porcelain', '-z', '--untracked-files=all']);
  if (!status.ok) return [];
  return status.stdout
    .split('\0')
    .filter((e) => e.startsWith('?? ') && e.endsWith('/'))
    .map((e) => e.slice(3));
}


function short(ref: string): string {
  return ref.startsWith('refs/heads/') ? ref.slice('refs/heads/'.length) : ref;
}
