// claim-release — the by-hand loop's land lets go of the job's claim that `coven dispatch`
// took (lib/claims/claim.ts): the claim the decision file names, or else every claim
// held under the worktree's worker name on this machine. A worker releases its own
// (lib/worker/claim-keeper.ts); this is for `coven land` run by hand.

import { describeJob, type ClaimRead, type ClaimStore, type ReleaseEnd } from '../claims/claim.js';

export interface ReleaseWhich {
  /** the decision file's claim ref (`coven land --decision FILE`) */
  ref?: string;
  /** else: the claims held by this worker on this machine */
  worker?: string;
  machine: string;
}

/** Releases the matching held claims; what was released (job descriptions) and what could not be. */
export async function releaseClaimsOf(store: ClaimStore, which: ReleaseWhich, end: ReleaseEnd): Promise<{ released: string[]; problems: string[] }> {
  const listed = await store.list();
  if (!Array.isArray(listed)) return { released: [], problems: [`the claims could not be read: ${listed.message}`] };
  const mine = listed.filter((c): c is Extract<ClaimRead, { kind: 'claim' }> => {
    if (c.kind !== 'claim' || c.record.state !== 'held') return false;
    if (which.ref !== undefined) return c.ref === which.ref;
    return which.worker !== undefined && c.record.holder.worker === which.worker && c.record.holder.machine === which.machine;
  });
  const released: string[] = [];
  const problems: string[] = [];
  for (const c of mine) {
    const r = await store.release({ key: c.key, ref: c.ref, sha: c.sha, record: c.record }, end);
    if (r.kind === 'released') released.push(describeJob(c.record.job));
    else if (r.kind !== 'lost') problems.push(`${describeJob(c.record.job)}: ${r.message}`);
  }
  return { released, problems };
}
