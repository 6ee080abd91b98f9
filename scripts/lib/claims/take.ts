// take — what taking a job's claim should do, given the claim as read now (claim.ts,
// "Lifecycle"). A pure rule, the same for both stores; ref-store.ts carries it out.
//   no claim                          → create it (expect: no ref)
//   held by the taker (same worker name, machine and host: a restarted worker)
//                                     → take it back from that commit ('own'), unless
//                                       it is another live process on this host
//   held, expired (lease, dead pid)   → take it over from that commit
//   held, alive                       → lost: someone else has it
//   damaged, expired                  → take it over; damaged and not expired → lost
//   landed: C                         → re-take only if the dispatch saw C on main
//                                       (checked by the store), else stale-view
//   given up                          → take it again

import { hostname } from 'node:os';
import { sameWorker, type ClaimRead, type ClaimRecord, type Holder, type Job } from './claim.js';

/** Stands for the holder of a claim that cannot be read (a damaged ref). */
export const UNKNOWN_HOLDER: Holder = { worker: 'unknown', machine: 'unknown', host: 'unknown', pid: 1, pid_start: null };

export type OverWhy = 'lease-expired' | 'holder-dead' | 'landed-before' | 'given-up' | 'own';

export type TakeStep =
  | { do: 'create' }
  | { do: 'replace'; from: string; over: { holder: Holder; why: OverWhy } | null; damaged: string | null }
  /** re-take from `from` if `landed` is on the main the dispatch saw; else stale-view */
  | { do: 'check-landed'; from: string; landed: string; holder: Holder }
  | { do: 'lost'; holder: Holder; record: ClaimRecord | null };

export function takeStep(current: ClaimRead | null, taker: Holder, thisHost = hostname()): TakeStep {
  if (current === null) return { do: 'create' };
  if (current.kind === 'corrupt') {
    return current.expired ? { do: 'replace', from: current.sha, over: null, damaged: current.reason } : { do: 'lost', holder: UNKNOWN_HOLDER, record: null };
  }
  const r = current.record;
  if (r.state === 'landed' && r.landed) return { do: 'check-landed', from: current.sha, landed: r.landed, holder: r.holder };
  if (r.state !== 'held') return { do: 'replace', from: current.sha, over: { holder: r.holder, why: 'given-up' }, damaged: null };
  if (sameWorker(r.holder, taker) && !otherLiveProcess(current, taker, thisHost)) return { do: 'replace', from: current.sha, over: { holder: r.holder, why: 'own' }, damaged: null };
  if (current.expired) return { do: 'replace', from: current.sha, over: { holder: r.holder, why: current.expired_why ?? 'lease-expired' }, damaged: null };
  return { do: 'lost', holder: r.holder, record: r };
}

/**
 * The holder is another process on the taker's host that is running (on this host a
 * claim that is not expired has a live holder): the same name twice at once (a second
 * clone with the same machine name, a dispatch run by hand beside the worker), not a
 * restart. It keeps its claim.
 */
function otherLiveProcess(current: Extract<ClaimRead, { kind: 'claim' }>, taker: Holder, thisHost: string): boolean {
  const h = current.record.holder;
  return h.host === thisHost && h.pid !== taker.pid && !current.expired;
}

/** A held record of `job` for `holder`, taken now (`took_over`: whom it replaced, when a holder was replaced). */
export function heldRecord(job: Job, holder: Holder, now: number, lease: number, tookOver: Holder | null): ClaimRecord {
  const at = new Date(now).toISOString();
  return { coven: 'claim/1', job: { agent: job.agent, args: { ...job.args } }, holder, state: 'held', taken_at: at, heartbeat_at: at, lease_ms: lease, took_over: tookOver };
}
