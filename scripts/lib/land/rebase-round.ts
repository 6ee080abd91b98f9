// rebase round — one round of a land, the same for a land on the local main branch
// (land.ts) and a land by push to a remote's main (push-main.ts): rebase the branch onto
// the tip it lands on, count what it would land, and hold a change to `.coven/` nobody
// approved. Either the land goes on (`rebased`) or it ends here with a LandResult.
//
//   git rebase <tip>   (rebase.ts)  ;  git rev-list <tip>..HEAD ∥ git diff --name-status <tip> HEAD

import { covenPaths } from './coven-changes.js';
import type { TreeChange } from './ff-blockers.js';
import type { WorktreeInfo } from './inspect.js';
import type { LandOptions, LandResult } from './land.js';
import { changesBetween, rebasedHead, rebaseOnto } from './rebase.js';
import { removeLandedWorktree, type Removal } from './remove.js';
import { trackingRef } from '../remote/target.js';

export type Rebased = { kind: 'rebased'; head: string; commits: number; changes: TreeChange[]; leftOut: { leftOut?: string } };

/**
 * Rebases the worktree's branch onto `tip` (`ontoRef`: the ref whose reflog tells a rewind,
 * for a branch that tracks it; `leftOut`: what an earlier round left out). A conflict leaves
 * the rebase open for a resolver.
 */
export async function rebaseRound(opts: LandOptions, info: WorktreeInfo, tip: string, ontoRef: string | undefined, leftOut: { leftOut?: string }, commits: number): Promise<Rebased | LandResult> {
  const { worktree, branch, onto } = info;
  const r = await rebaseOnto(worktree, tip, info.gitDir, ontoRef);
  if (r.kind === 'conflict') return { kind: 'conflict', worktree, branch, onto, commits, files: r.files, commit: r.commit, subject: r.subject };
  if (r.kind === 'failed') return { kind: 'failed', worktree, branch, step: 'rebase', message: r.message };
  const kept = r.leftOut ? { leftOut: r.leftOut } : leftOut;
  const [rebased, changes] = await Promise.all([rebasedHead(worktree, tip), changesBetween(worktree, tip, 'HEAD')]);
  if (rebased.commits === 0) return { kind: 'nothing-to-land', worktree, branch, onto, removal: await removeUnlessKept(opts, info), ...kept };
  // exactly what main's tree would change by: a change the branch made and undid does not count
  const held = opts.approveCoven ? [] : covenPaths(changes);
  if (held.length > 0) return { kind: 'coven-held', worktree, branch, onto, commits: rebased.commits, files: held };
  return { kind: 'rebased', head: rebased.head, commits: rebased.commits, changes, leftOut: kept };
}

/** Removes the landed worktree and branch unless the land keeps them. */
export async function removeUnlessKept(opts: Pick<LandOptions, 'keep' | 'log' | 'remote'>, info: WorktreeInfo): Promise<Removal> {
  if (opts.keep) return { kind: 'kept' };
  opts.log?.(`removing the worktree ${info.worktree} and the branch ${info.branch}`);
  // in remote mode the commits are on the remote's main (the local main may not have followed)
  const ontoRef = opts.remote ? trackingRef(opts.remote.target) : undefined;
  return removeLandedWorktree({ ...info, ontoRef });
}

/** When the land moved `onto`'s ref alone: what the main worktree has checked out instead (left as it was). */
export function untouchedCheckout(checkout: string | null, info: WorktreeInfo): { untouched?: string } {
  if (checkout !== null) return {};
  const ref = info.worktrees[0]?.branch;
  return { untouched: ref ? ref.replace(/^refs\/heads\//, '') : 'a detached HEAD' };
}

/** Small jittered backoff between rounds, so that racing workers spread out: ~10–60 ms, growing. */
export function roundBackoff(attempt: number): Promise<void> {
  const ms = Math.round((10 + Math.random() * 50) * Math.min(attempt, 6));
  return new Promise((r) => setTimeout(r, ms));
}

/** A commit id as the land's messages show it. */
export function short(id: string): string {
  return id.slice(0, 9);
}
