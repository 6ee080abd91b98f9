// reflog-only — commits that only a worker's reflogs still reach: an agent that reset
// its branch (`git reset --hard HEAD~2`) in a worker that died before it could save
// them. Removing the worktree and the branch deletes those reflogs, and with them the
// last way to find the commits; gc keeps them under a ref first.
//
// Inputs: the main worktree, the worker's worktree (or null), its branch.
// Outputs: the tips of the commits reached from the worktree's HEAD reflog and the
// branch's reflog but from no branch, tag or refs/coven/ ref, leaving out those such a
// ref already has in another form (a rebased or amended copy, or the original of a copy
// a rebase had made when it stopped: same author, author date and subject).

import { commitIdentities } from './commit-identity.js';
import { git } from './runner.js';

/** The tips (no tip an ancestor of another) of the commits only the worker's reflogs reach. */
export async function reflogOnlyTips(mainWorktree: string, worktree: string | null, branch: string): Promise<string[]> {
  const logged = new Set<string>();
  const reflogs: Array<[string, string]> = [[mainWorktree, `refs/heads/${branch}`]];
  if (worktree) reflogs.push([worktree, 'HEAD']);
  for (const [cwd, ref] of reflogs) {
    const r = await git(cwd, ['reflog', 'show', '--format=%H', ref, '--']);
    if (r.ok) for (const sha of r.stdout.split('\n')) if (/^[0-9a-f]{40,64}$/.test(sha)) logged.add(sha);
  }
  if (logged.size === 0) return [];
  const candidates = await commitIdentities(mainWorktree, ['--ignore-missing', ...logged, '--not', '--branches', '--tags', '--glob=refs/coven/*']);
  if (candidates.length === 0) return [];
  // the kept commits that may be another form of a candidate: those committed since the
  // oldest candidate's original was authored (a copy keeps the author date)
  const since = Math.min(...candidates.map((c) => c.authored)) - 1;
  const kept = await commitIdentities(mainWorktree, [`--since=${since}`, '--branches', '--tags', '--glob=refs/coven/*']);
  const copies = new Set(kept.map((c) => c.key));
  const lost = candidates.filter((c) => !copies.has(c.key)).map((c) => c.sha);
  if (lost.length <= 1) return lost;
  const tips = await git(mainWorktree, ['merge-base', '--independent', ...lost]);
  return tips.ok ? tips.stdout.split('\n').filter(Boolean) : lost;
}
