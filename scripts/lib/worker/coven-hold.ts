// coven-hold — the worker's part of "changes to `.coven/` are held for the human"
// (docs/trust.md). The land core holds such a land (lib/land/land.ts); this file says
// when the worker may approve it for the human, and applies the same check before a
// replaced land step, which does not go through the core.

import { agentMayChangeCoven, covenChangesToLand } from '../land/coven-changes.js';
import { unlandedCommits, type LandResult } from '../land/land.js';
import type { Worker } from './context.js';

export type Held = Extract<LandResult, { kind: 'coven-held' }>;

/**
 * Whether the job's commits may change `.coven/` without the human: only when this
 * worker ran the job itself (the agent's name is in its memory, not read back from a
 * file an agent could have written) and that agent's file on main says
 * `may_change_coven: true`.
 */
export async function covenApproved(w: Worker): Promise<boolean> {
  if (!w.job?.ranHere) return false;
  return agentMayChangeCoven(w.paths.mainWorktree, `refs/heads/${w.main}`, w.job.name);
}

/** Before a replaced land step: the land it must not make (its commits change `.coven/`), or null. */
export async function heldBeforeReplacedLand(w: Worker, approved: boolean): Promise<Held | null> {
  if (approved) return null;
  const unlanded = await unlandedCommits(w.worktree);
  if (unlanded.kind !== 'unlanded' || unlanded.commits.length === 0) return null;
  // git cannot say: held, as a change would be
  const files = (await covenChangesToLand(w.worktree, `refs/heads/${unlanded.onto}`, 'HEAD')) ?? ['.coven (git could not list the changes)'];
  if (files.length === 0) return null;
  return { kind: 'coven-held', worktree: w.worktree, branch: unlanded.branch, onto: unlanded.onto, commits: unlanded.commits.length, files };
}
