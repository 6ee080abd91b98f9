// claims — the way in: the claim store of a repository in either mode, and the words
// that show claims to a dispatch session and in `coven status` (claim.ts, the contract).
//
// Inputs: the repository, its state dir, the remote target (null: local mode). Outputs:
// a store; lines of text.

import { describeHolder, describeJob, leaseMs, sameWorker, type ClaimRead, type Holder } from './claim.js';
import type { HolderLiveness } from './lease.js';
import { localClaimStore } from './local-store.js';
import type { RefClaimStore } from './ref-store.js';
import { remoteClaimStore } from './remote-store.js';
import type { RemoteTarget } from '../remote/target.js';

export interface OpenClaims {
  /** the main worktree (claim commits are made in its repository) */
  repo: string;
  /** the state dir (the lease book: claims-seen.json) */
  stateDir: string;
  /** null: local mode (refs/coven/claims/ in the repository itself) */
  remote: RemoteTarget | null;
  /** this observer's clock, in ms (tests move it) */
  now?: () => number;
  /** whether a holder's process runs (tests stand in for other hosts) */
  alive?: HolderLiveness;
  env?: NodeJS.ProcessEnv;
}

export function openClaimStore(o: OpenClaims): RefClaimStore {
  const opts = { stateDir: o.stateDir, now: o.now ?? Date.now, ...(o.alive ? { alive: o.alive } : {}), ...(o.env ? { env: o.env } : {}) };
  return o.remote ? remoteClaimStore(o.repo, o.remote, opts) : localClaimStore(o.repo, opts);
}

/** `40s`, `6m`, `2h`, `3d`. */
export function shortDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s}s`;
  if (s < 120 * 60) return `${Math.round(s / 60)}m`;
  if (s < 48 * 3600) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86400)}d`;
}

/**
 * One line per claim, for the dispatch prompt and `coven status`:
 *   - implement (issue: issues/a.md): held by brave-otter on box-2, heartbeat 40s ago
 *     (the time since this observer saw the claim change; the holder's clock only for a claim first seen now)
 *   - implement (issue: issues/b.md): held by calm-fox on box-3, no change seen for 6m (lease 5m): may be taken over
 *   - implement (issue: issues/c.md): landed in 3f2a0c9d4e by brave-otter on box-2
 * `self`: this worker (its own claim says so; with its host, only a claim of that host). `tombstones: false` leaves released claims out.
 */
export function describeClaims(reads: ClaimRead[], self?: Pick<Holder, 'worker' | 'machine'> & { host?: string }, opts: { now?: number; tombstones?: boolean } = {}): string[] {
  const now = opts.now ?? Date.now();
  const lines: string[] = [];
  for (const c of reads) {
    if (c.kind === 'corrupt') {
      lines.push(`- claim ${c.key}: damaged (${c.reason})${c.expired ? ', unchanged for longer than a lease: may be taken over' : ''}`);
      continue;
    }
    const r = c.record;
    const who = describeHolder(r.holder) + (self && sameWorker(r.holder, { ...self, host: self.host ?? r.holder.host }) ? ' (you)' : '');
    if (r.state === 'landed') {
      if (opts.tombstones !== false) lines.push(`- ${describeJob(r.job)}: landed${r.landed ? ` in ${r.landed.slice(0, 10)}` : ''} by ${who}`);
      continue;
    }
    if (r.state === 'given-up') {
      if (opts.tombstones !== false) lines.push(`- ${describeJob(r.job)}: given up by ${who}${r.why ? `: ${r.why.slice(0, 200)}` : ''}`);
      continue;
    }
    lines.push(`- ${describeJob(r.job)}: held by ${who}, ${heldState(c, now)}`);
  }
  return lines;
}

function heldState(c: Extract<ClaimRead, { kind: 'claim' }>, now: number): string {
  if (c.expired && c.expired_why === 'holder-dead') return 'its process on this host is gone: may be taken over';
  if (c.expired) return `no change seen for ${shortDuration(c.unchanged_ms ?? 0)} (lease ${shortDuration(c.record.lease_ms || leaseMs())}): may be taken over`;
  // seen changing by this observer: its own clock; seen just now for the first time: the
  // holder's clock, as it says (never trusted: machines disagree)
  if ((c.unchanged_ms ?? 0) > 0) return `heartbeat ${shortDuration(c.unchanged_ms ?? 0)} ago`;
  const beat = Date.parse(c.record.heartbeat_at);
  return Number.isFinite(beat) ? `heartbeat ${shortDuration(now - beat)} ago by its clock` : 'first seen just now';
}

export { jobKey, describeJob, describeHolder, leaseMs } from './claim.js';
export type { ClaimRead, ClaimStore, HeldClaim, Holder, Job, TakeResult } from './claim.js';
export type { RefClaimStore } from './ref-store.js';
