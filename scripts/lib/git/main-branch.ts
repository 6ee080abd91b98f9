// main-branch — which branch is "main": the branch checked out in the main worktree.
// coven never assumes the name. A worker branch records it as its upstream
// (spawn-worktree uses --track), so a land still finds it after the user switches
// the main worktree to another branch.

import { git, listWorktrees, type RepoPaths, type WorktreeEntry } from './runner.js';

export type MainBranchLookup = { kind: 'branch'; name: string } | { kind: 'detached'; worktree: string };

/** The short name of the branch checked out in the main worktree (from `worktrees` when already listed). */
export async function mainBranchOf(paths: RepoPaths, worktrees?: WorktreeEntry[]): Promise<MainBranchLookup> {
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
