// gc-claims — what `coven gc` does with claims: the repository's own old tombstones
// (refs/coven/claims/), and with `--remote NAME` the remote's old tombstones and the
// state refs of workers gone for a day (prune.ts). Returns the lines gc prints.
//
// Inputs: the repository's paths, the main branch's name, --remote. Outputs: lines.

import type { RepoPaths } from '../git/runner.js';
import { resolveRemote } from '../remote/target.js';
import type { Unreachable } from '../remote/git-remote.js';
import { openClaimStore } from './index.js';
import { DAY_MS, pruneTombstones, pruneWorkerRefs, type Pruned } from './prune.js';

/** `onUnreachable`: the remote did not answer; it is told instead of a line, and nothing more is asked of the remote. */
export async function gcClaims(paths: RepoPaths, main: string | null, o: { dryRun: boolean; remote?: string; now?: () => number; onUnreachable?: (u: Unreachable) => void }): Promise<string[]> {
  const now = o.now ?? Date.now;
  const lines: string[] = [];
  const local = openClaimStore({ repo: paths.mainWorktree, stateDir: paths.stateDir, remote: null, now });
  lines.push(...said('claim', 'refs/coven/claims/', await pruneTombstones(local, DAY_MS, { dryRun: o.dryRun }), o.dryRun));
  if (o.remote === undefined) return lines;
  const found = await resolveRemote(paths.mainWorktree, main ?? 'main', o.remote);
  if (found.kind !== 'remote') {
    lines.push(`--remote ${o.remote}: ${found.kind === 'problem' ? found.message : 'no remote given'}; nothing was deleted on a remote`);
    return lines;
  }
  const t = found.target;
  const store = openClaimStore({ repo: paths.mainWorktree, stateDir: paths.stateDir, remote: t, now });
  const claims = await pruneTombstones(store, DAY_MS, { dryRun: o.dryRun });
  if ('kind' in claims && o.onUnreachable) return (o.onUnreachable(claims), lines);
  lines.push(...said('claim', `${t.name}: refs/coven/claims/`, claims, o.dryRun));
  const workers = await pruneWorkerRefs(paths.mainWorktree, paths.stateDir, t, now(), DAY_MS, { dryRun: o.dryRun });
  if ('kind' in workers && o.onUnreachable) return (o.onUnreachable(workers), lines);
  lines.push(...said('worker state', `${t.name}: refs/coven/workers/`, workers, o.dryRun));
  return lines;
}

function said(what: string, where: string, r: Pruned | Unreachable, dryRun: boolean): string[] {
  if ('kind' in r) return [`the remote ${r.remote} did not answer (${r.message}); nothing was deleted there. Run coven gc --remote ${r.remote} again later.`];
  const lines = r.dropped.map((d) => `${what} ${where}${d}: ${dryRun ? 'would delete' : 'deleted'} (unchanged for a day)`);
  for (const f of r.failed) lines.push(`${what} ${f}: not deleted`);
  return lines;
}
