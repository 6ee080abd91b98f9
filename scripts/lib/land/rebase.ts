// rebase — the land's rebase of a worker branch onto the tip of the branch it lands on,
// and what it then reads (part of the land, lib/land/land.ts):
//
//   git merge-base --fork-point <onto> HEAD ∥ git merge-base <tip> HEAD   (was onto moved back?)
//   git rebase <tip>      (a conflict stays open for a resolver; any other stop is aborted)
//   git rev-list <tip>..HEAD ∥ git diff --name-status <tip> HEAD

import { git, gitMessage, gitOut } from '../git/runner.js';
import { operationInProgress } from '../git/operation.js';
import { parseNameStatusZ, type TreeChange } from './ff-blockers.js';
import { covenRef, keepAt } from '../worktree/save-work.js';

export type RebaseResult =
  /** leftOut: the ref keeping the branch as it was, when commits dropped from `onto` were left out */
  | { kind: 'rebased'; leftOut: string | null }
  | { kind: 'conflict'; files: string[]; commit: string; subject: string }
  | { kind: 'failed'; message: string };

/**
 * Rebases the worktree's branch onto `tip` (pin a commit id, not a name). A conflict
 * leaves the rebase in progress for a resolver; any other stop is aborted, which puts
 * the branch back exactly as it was. With `ontoRef` (the full name of the branch's
 * upstream, or of the remote's main as fetched), a rewind of it is honoured (rewoundForkPoint).
 */
export async function rebaseOnto(worktree: string, tip: string, gitDir: string, ontoRef?: string): Promise<RebaseResult> {
  const rewound = ontoRef ? await rewoundForkPoint(worktree, tip, ontoRef) : null;
  const r = await git(worktree, ['rebase', '--no-update-refs', '--no-autostash', ...(rewound ? ['--onto', tip, rewound.from] : [tip])]);
  if (r.ok) return { kind: 'rebased', leftOut: rewound?.kept ?? null };
  if (operationInProgress(gitDir) !== 'rebase') return { kind: 'failed', message: gitMessage(r, { strip: true }) };
  const [unmerged, stopped] = await Promise.all([
    gitOut(worktree, ['diff', '--name-only', '-z', '--diff-filter=U']),
    git(worktree, ['log', '-1', '--format=%H%x00%s', 'REBASE_HEAD']),
  ]);
  const files = unmerged.split('\0').filter(Boolean);
  if (files.length === 0) {
    // stopped for another reason (e.g. a file in the way): put the branch back as it was
    await git(worktree, ['rebase', '--abort']);
    return { kind: 'failed', message: gitMessage(r, { strip: true }) };
  }
  const [commit = '', subject = ''] = stopped.stdout.trim().split('\0');
  return { kind: 'conflict', files, commit, subject };
}

/**
 * When the user moved `onto` backwards (reset main to drop commits) after this branch
 * was based on it, the dropped commits are still in the branch and a plain rebase would
 * land them again. git's fork point (from `onto`'s reflog) says where the branch really
 * left `onto`; if that is past the merge base, rebase from there, so the user's rewind
 * stands. The branch as it was is kept under refs/coven/rewound/… first. Returns the
 * commit to rebase from and that ref, or null for a plain rebase.
 */
async function rewoundForkPoint(worktree: string, tip: string, ontoRef: string): Promise<{ from: string; kept: string } | null> {
  const onto = ontoRef.replace(/^refs\/(heads|remotes)\//, '');
  const [fork, base] = await Promise.all([git(worktree, ['merge-base', '--fork-point', ontoRef, 'HEAD']), git(worktree, ['merge-base', tip, 'HEAD'])]);
  const forkPoint = fork.stdout.trim();
  const mergeBase = base.stdout.trim();
  if (!fork.ok || !base.ok || !forkPoint || forkPoint === mergeBase) return null;
  const past = await git(worktree, ['merge-base', '--is-ancestor', mergeBase, forkPoint]);
  if (!past.ok) return null;
  const head = await gitOut(worktree, ['rev-parse', 'HEAD']);
  const branch = (await git(worktree, ['symbolic-ref', '--quiet', '--short', 'HEAD'])).stdout.trim() || 'detached';
  const kept = await keepAt(worktree, covenRef('rewound', branch.replace(/^coven\//, '')), head, `coven: ${onto} was moved back; the branch before leaving out what was dropped from it`);
  return { from: forkPoint, kept };
}

/** The worktree's HEAD after a rebase onto `tip`, and how many commits it has beyond `tip`. */
export async function rebasedHead(worktree: string, tip: string): Promise<{ head: string; commits: number }> {
  const ids = (await gitOut(worktree, ['rev-list', `${tip}..HEAD`])).split('\n').filter(Boolean);
  return { head: ids[0] ?? tip, commits: ids.length };
}

/** What a fast-forward from `from` to `to` changes (renames as delete + add). */
export async function changesBetween(repo: string, from: string, to: string): Promise<TreeChange[]> {
  return parseNameStatusZ(await gitOut(repo, ['diff', '--name-status', '-z', '--no-renames', from, to]));
}
