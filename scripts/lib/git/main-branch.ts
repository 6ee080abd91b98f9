// main-branch — which branch is "main": the one coven recorded in <state dir>/main-branch
// (by `coven hooks install` and by the first worker that waited on it), as long as that
// branch exists; else the branch checked out in the main worktree. coven never assumes
// the name, and never takes "whatever the main worktree has checked out now" once one
// is recorded: a user who runs `git checkout -b my-feature` there keeps landing on main
// (moved by compare-and-swap, their checkout untouched). A worker branch also records
// it as its upstream (spawn-worktree uses --track).

import { recordedMainBranch } from '../worker/wake.js';
import { git, listWorktrees, revParse, type RepoPaths, type WorktreeEntry } from './runner.js';

export type MainBranchLookup = { kind: 'branch'; name: string } | { kind: 'detached'; worktree: string };

/** The recorded main branch if it exists, else the branch checked out in the main worktree (from `worktrees` when already listed). */
export async function mainBranchOf(paths: RepoPaths, worktrees?: WorktreeEntry[]): Promise<MainBranchLookup> {
  const recorded = await recordedMainBranch(paths.stateDir);
  if (recorded && (await revParse(paths.mainWorktree, `refs/heads/${recorded}`))) return { kind: 'branch', name: recorded };
  return checkedOutInMainWorktree(paths, worktrees);
}

/** The short name of the branch checked out in the main worktree, whatever is recorded. */
export async function checkedOutInMainWorktree(paths: RepoPaths, worktrees?: WorktreeEntry[]): Promise<MainBranchLookup> {
  const [main] = worktrees ?? (await listWorktrees(paths.mainWorktree));
  const ref = main?.branch;
  if (!ref || !ref.startsWith('refs/heads/')) return { kind: 'detached', worktree: paths.mainWorktree };
  return { kind: 'branch', name: ref.slice('refs/heads/'.length) };
}

/** The local branch `branch` tracks (its upstream with remote "."), or null. */
export async function localUpstreamOf(cwd: string, branch: string): Promise<string | null> {
  const remote = await git(cwd, ['config', '--get', `branch.${branch}.remote`]);
  const merge = await git(cwd, ['config', '--get', `branch.${branch}.merge`]);
  if (!remote.ok || !merge.ok || remote.stdout.trim() !== '.') return null;
  const ref = merge.stdout.trim();
  return ref.startsWith('refs/heads/') ? ref.slice('refs/heads/'.length) : null;
}
