// claim-release — the by-hand loop's land lets go of the job's claim that `coven dispatch`
// took (lib/claims/claim.ts): the claim the decision file names, or else every claim
// held under the worktree's worker name on this machine. A worker releases its own
// (lib/worker/claim-keeper.ts); this is for `coven land` run by hand.

import { hostname } from 'node:os';
import { describeJob, sameWorker, type ClaimRead, type ClaimStore, type ReleaseEnd } from '../claims/claim.js';
import type { RefUpdate } from '../remote/git-remote.js';

export interface ReleaseWhich {
  /** the decision file's claim ref (`coven land --decision FILE`): released only while its holder is still `worker` on `machine` */
  ref?: string;
  /** the claims held by this worker on this machine (and this host: another machine may have the same name) */
  worker?: string;
  machine: string;
  /** default: this host's name */
  host?: string;
}

/** Whether a claim is held by the worker on the machine `which` names (and is its ref, when one is named). */
function heldBy(c: ClaimRead, which: ReleaseWhich): c is Extract<ClaimRead, { kind: 'claim' }> {
  if (c.kind !== 'claim' || c.record.state !== 'held') return false;
  if (which.ref !== undefined && c.ref !== which.ref) return false;
  return which.worker !== undefined && sameWorker(c.record.holder, { worker: which.worker, machine: which.machine, host: which.host ?? hostname() });
}

/**
 * Remote mode, `coven land --decision FILE`: the decision's claim goes with the push of
 * main, as the worker's does: its tombstone while the claim is still this worker's, else
 * a delete that expects the commit the dispatch took — which the server refuses (the land
 * then stops as lease-lost, exit 7) unless the claim is untouched since.
 */
export function claimWithLand(store: ClaimStore, which: ReleaseWhich & { ref: string; sha: string }): (head: string) => Promise<RefUpdate[]> {
  return async (head) => {
    const listed = await store.list();
    const mine = Array.isArray(listed) ? listed.find((c) => heldBy(c, which)) : undefined;
    if (!mine || mine.kind !== 'claim') return [{ ref: which.ref, to: null, expect: which.sha }];
    const u = await store.releaseUpdate({ key: mine.key, ref: mine.ref, sha: mine.sha, record: mine.record }, { kind: 'landed', commit: head });
    return [u];
  };
}

/** Releases the matching held claims; what was released (job descriptions) and what could not be. */
export async function releaseClaimsOf(store: ClaimStore, which: ReleaseWhich, end: ReleaseEnd): Promise<{ released: string[]; problems: string[] }> {
  const listed = await store.list();
  if (!Array.isArray(listed)) return { released: [], problems: [`the claims could not be read: ${listed.message}`] };
  const mine = listed.filter((c): c is Extract<ClaimRead, { kind: 'claim' }> => heldBy(c, which));
  const released: string[] = [];
  const problems: string[] = [];
  for (const c of mine) {
    const r = await store.release({ key: c.key, ref: c.ref, sha: c.sha, record: c.record }, end);
    if (r.kind === 'released') released.push(describeJob(c.record.job));
    else if (r.kind !== 'lost') problems.push(`${describeJob(c.record.job)}: ${r.message}`);
  }
  return { released, problems };
}
