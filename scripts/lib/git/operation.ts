// git-operation — what git is in the middle of in a worktree (a rebase, a merge, …),
// read from the marker files git leaves in that worktree's git dir. No git process.
//
// Inputs: a worktree's git dir (`git rev-parse --absolute-git-dir`) or its path.
// Outputs: values; nothing is changed.

import { existsSync, lstatSync, readFileSync } from 'node:fs';
import { pinnedGitDir } from './runner.js';
import { join, resolve } from 'node:path';

export type GitOperation = 'rebase' | 'am' | 'merge' | 'cherry-pick' | 'revert' | 'bisect';

/** The operation left unfinished in the worktree whose git dir is `gitDir`, or null. */
export function operationInProgress(gitDir: string): GitOperation | null {
  if (existsSync(join(gitDir, 'rebase-merge'))) return 'rebase';
  if (existsSync(join(gitDir, 'rebase-apply'))) return existsSync(join(gitDir, 'rebase-apply', 'applying')) ? 'am' : 'rebase';
  if (existsSync(join(gitDir, 'MERGE_HEAD'))) return 'merge';
  if (existsSync(join(gitDir, 'CHERRY_PICK_HEAD'))) return 'cherry-pick';
  if (existsSync(join(gitDir, 'REVERT_HEAD'))) return 'revert';
  if (existsSync(join(gitDir, 'sequencer', 'todo'))) return 'cherry-pick';
  if (existsSync(join(gitDir, 'BISECT_LOG'))) return 'bisect';
  return null;
}

/** The commands that finish or abandon `op`, for messages. */
export function operationCommands(op: GitOperation): { finish: string; abort: string } {
  switch (op) {
    case 'rebase':
      return { finish: 'git rebase --continue', abort: 'git rebase --abort' };
    case 'am':
      return { finish: 'git am --continue', abort: 'git am --abort' };
    case 'merge':
      return { finish: 'git commit', abort: 'git merge --abort' };
    case 'cherry-pick':
      return { finish: 'git cherry-pick --continue', abort: 'git cherry-pick --abort' };
    case 'revert':
      return { finish: 'git revert --continue', abort: 'git revert --abort' };
    case 'bisect':
      return { finish: 'git bisect reset', abort: 'git bisect reset' };
  }
}

/** The branch (full ref) a rebase or bisect in `gitDir` works on; git counts it as checked out there. */
export function branchInOperation(gitDir: string): string | null {
  for (const file of [join(gitDir, 'rebase-merge', 'head-name'), join(gitDir, 'rebase-apply', 'head-name')]) {
    const name = readTrimmed(file);
    if (name && name.startsWith('refs/heads/')) return name;
  }
  const bisected = readTrimmed(join(gitDir, 'BISECT_START'));
  if (bisected && !/^[0-9a-f]{40,64}$/.test(bisected)) return bisected.startsWith('refs/') ? bisected : `refs/heads/${bisected}`;
  return null;
}

/** The git dir of the worktree checked out at `worktree` (its `.git` dir, or where its `.git` file points). */
export function gitDirOfWorktree(worktree: string): string | null {
  // a worktree coven made: the git dir it recorded, never what an agent wrote in `.git`
  const pinned = pinnedGitDir(worktree);
  if (pinned) return pinned;
  const dotGit = join(worktree, '.git');
  try {
    const st = lstatSync(dotGit);
    if (st.isDirectory()) return dotGit;
    if (!st.isFile() || st.size > 64 * 1024) return null; // a FIFO would block the read
    const m = /^gitdir:\s*(.+?)\s*$/m.exec(readFileSync(dotGit, 'utf8'));
    return m?.[1] ? resolve(worktree, m[1]) : null;
  } catch {
    return null;
  }
}

function readTrimmed(file: string): string | null {
  try {
    return readFileSync(file, 'utf8').trim() || null;
  } catch {
    return null;
  }
}

/** True when a rebase stopped (conflict or edit) in the worktree at `worktree`. */
export function rebaseInProgress(worktree: string): boolean {
  const gitDir = gitDirOfWorktree(worktree);
  return gitDir !== null && operationInProgress(gitDir) === 'rebase';
}

/** The branch (full ref) a rebase stopped in `worktree` is rebasing, or null. */
export function branchBeingRebased(worktree: string): string | null {
  const gitDir = gitDirOfWorktree(worktree);
  return gitDir !== null && operationInProgress(gitDir) === 'rebase' ? branchInOperation(gitDir) : null;
}
