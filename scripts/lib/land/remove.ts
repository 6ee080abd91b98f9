// remove — take away a landed worktree and its branch, but only once it is proven that
// nothing would be lost (part of the land, lib/land/land.ts; the worker loop uses it
// too). Never forces.
//
//   git rev-list --count <onto>..<branch>      (every commit of the branch is on onto)
//   git worktree remove <worktree>             (git refuses one with uncommitted files)
//   git branch -d <branch>   (-D only once git merge-base --is-ancestor says it is on onto)

import { isAbsolute, relative, sep } from 'node:path';
import { dirtyFiles, git, gitMessage, gitOut, listWorktrees, type WorktreeEntry } from '../git/runner.js';

/** What happened to the worktree and branch after a land. */
export type Removal = { kind: 'kept' } | { kind: 'removed'; wasCwd: boolean; mainWorktree: string } | { kind: 'not-removed'; reason: string };

export interface RemovalTarget {
  worktree: string;
  branch: string;
  onto: string;
  /** the ref the commits must be on, when not `refs/heads/<onto>` (remote mode: the remote's main as fetched) */
  ontoRef?: string;
  /** `git worktree list` if already read (its first entry, the main worktree, never moves) */
  worktrees?: WorktreeEntry[];
}

/**
 * Removes a worktree and its branch, but only once it is proven that nothing would be
 * lost: no uncommitted or untracked file, and every commit of the branch on `onto`.
 * Never forces. Leaves the worktree first when the process runs inside it.
 */
export async function removeLandedWorktree(target: RemovalTarget): Promise<Removal> {
  const { worktree, branch, onto } = target;
  const ontoRef = target.ontoRef ?? `refs/heads/${onto}`;
  const [unlanded, worktrees] = await Promise.all([
    gitOut(worktree, ['rev-list', '--count', `${ontoRef}..refs/heads/${branch}`]),
    target.worktrees ?? listWorktrees(worktree),
  ]);
  if (unlanded.trim() !== '0') return { kind: 'not-removed', reason: `${branch} has ${plural(Number(unlanded), 'commit')} not on ${onto}` };
  const main = worktrees[0];
  if (!main || main.bare) return { kind: 'not-removed', reason: 'the repository has no main worktree to run git from' };
  const mainWorktree = main.path;

  const wasCwd = isInside(currentDir(), worktree);
  if (wasCwd) process.chdir(mainWorktree);
  // git refuses a worktree with uncommitted or untracked files (ignored ones go with it)
  const removed = await git(mainWorktree, ['worktree', 'remove', worktree]);
  if (!removed.ok) {
    if (wasCwd) returnTo(worktree);
    const dirty = await dirtyFiles(worktree).catch(() => []);
    if (dirty.length > 0) return { kind: 'not-removed', reason: `it has uncommitted files: ${dirty.join(', ')}` };
    return { kind: 'not-removed', reason: gitMessage(removed, { strip: true }) };
  }
  const deleted = await git(mainWorktree, ['branch', '-d', branch]);
  if (!deleted.ok) {
    // -d compares with the upstream or the current HEAD; we compare with `onto` ourselves
    const merged = await git(mainWorktree, ['merge-base', '--is-ancestor', `refs/heads/${branch}`, ontoRef]);
    const forced = merged.ok ? await git(mainWorktree, ['branch', '-D', branch]) : deleted;
    if (!forced.ok) return { kind: 'not-removed', reason: `the worktree was removed, but the branch was kept: ${gitMessage(forced, { strip: true })}` };
  }
  return { kind: 'removed', wasCwd, mainWorktree };
}

function returnTo(dir: string): void {
  try {
    process.chdir(dir);
  } catch {
    // it is gone after all: stay in the main worktree
  }
}

function currentDir(): string {
  try {
    return process.cwd();
  } catch {
    return '';
  }
}

function isInside(path: string, dir: string): boolean {
  if (!path) return false;
  const rel = relative(dir, path);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

export function plural(n: number, word: string, many = `${word}s`): string {
  return `${n} ${n === 1 ? word : many}`;
}
