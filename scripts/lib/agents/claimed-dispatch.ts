// claimed-dispatch — a dispatch decision counts only once its job's claim is taken
// (lib/claims/claim.ts). The dispatch core that the worker and `coven dispatch` share:
//
//   look (main's tip, the workers; the worktree brought up to main) → the claims →
//   a dispatch session → take the claim of the job it chose:
//     taken       the decision counts
//     lost        someone else took it first: a fresh session, told who took what
//     stale-view  the job landed after the main this dispatch saw: look again (sync), then a fresh session
//     unreachable the remote did not answer: the decision does not count, nothing was taken
//   at most `maxRounds` sessions, then a typed failure (the worker tries again later).
//
// No lock is needed for this to be safe: the claim is a compare-and-swap, so two
// dispatches that choose the same job cannot both take it. A sleep decision takes nothing.

import { hostname } from 'node:os';
import { describeHolder, describeJob, type ClaimRead, type ClaimStore, type HeldClaim, type Holder, type Job, type TakeResult } from '../claims/claim.js';
import { describeClaims } from '../claims/index.js';
import { processStartTime } from '../locks/process-identity.js';
import { machineName } from '../remote/target.js';
import type { WorkerEntry } from '../worker/state.js';
import { trace } from '../ui/trace.js';
import { dispatch, type DispatchOptions, type DispatchOutcome } from './dispatch.js';

export const MAX_CLAIM_ROUNDS = 4;

/** What one round saw before its session: main's tip and the other workers. */
export interface Look {
  mainTip: string;
  workers?: WorkerEntry[];
  /** remote mode: the other machines' workers, one line each */
  remoteWorkers?: string[];
}

/** A job this dispatch chose that it could not take. */
export interface Missed {
  job: Job;
  why: 'lost' | 'stale-view';
  holder: Holder;
}

export interface ClaimedDispatchOptions extends Omit<DispatchOptions, 'workers' | 'claims' | 'taken'> {
  /** where claims are kept; null: none (the decision counts as it is) */
  store: ClaimStore | null;
  holder: Holder;
  /** before each round: main's tip and the workers, the worktree brought up to main; `stop`: no dispatch now (e.g. unlanded commits) */
  look: (round: number) => Promise<Look | { kind: 'stop' }>;
  maxRounds?: number;
}

type Decided = Extract<DispatchOutcome, { kind: 'decided' }>;

export type ClaimedOutcome =
  /** `claim`: the job's claim, taken (null for a sleep, or without a store); `costUsd` is every round's */
  | (Decided & { mainTip: string; claim: HeldClaim | null; rounds: number; missed: Missed[] })
  | Exclude<DispatchOutcome, { kind: 'decided' }>
  /** every round's job was taken by someone else first (or landed meanwhile) */
  | { kind: 'claims-lost'; missed: Missed[]; rounds: number; costUsd: number }
  /** the claim could not be taken (remote unreachable, or a store failure): nothing was taken */
  | { kind: 'claim-unreachable' | 'claim-failed'; job: Job; message: string; costUsd: number }
  | { kind: 'look-stopped'; costUsd: number };

/** This process as a claim holder, under the worker's name (`pid`: default this process). */
export function holderOf(worker: string, env: NodeJS.ProcessEnv = process.env, pid = process.pid): Holder {
  return { worker, machine: machineName(env), host: hostname(), pid, pid_start: processStartTime(pid) };
}

/** Dispatches until a decision whose claim is taken (or a sleep), at most `maxRounds` sessions. */
export async function claimedDispatch(opts: ClaimedDispatchOptions): Promise<ClaimedOutcome> {
  const missed: Missed[] = [];
  let costUsd = 0;
  const rounds = opts.maxRounds ?? MAX_CLAIM_ROUNDS;
  for (let round = 1; round <= rounds; round++) {
    const look = await opts.look(round);
    if ('kind' in look) return { kind: 'look-stopped', costUsd };
    const claims = opts.store ? await opts.store.list() : null;
    const outcome = await dispatch({ ...opts, workers: look.workers, remoteWorkers: look.remoteWorkers ?? opts.remoteWorkers, claims: Array.isArray(claims) ? liveClaims(claims, opts.holder) : undefined, taken: describeMissed(missed) });
    if (outcome.kind !== 'decided') return withCost(outcome, costUsd);
    costUsd += outcome.costUsd;
    const d = outcome.decision;
    if (d.kind === 'sleep' || !opts.store) return { ...outcome, costUsd, mainTip: look.mainTip, claim: null, rounds: round, missed };
    const job: Job = { agent: d.agent, args: d.args };
    const take = await opts.store.take(job, opts.holder, look.mainTip);
    trace('claim', { worker: opts.holder.worker, job: describeJob(job), result: take.kind, round });
    if (take.kind === 'taken') return { ...outcome, costUsd, mainTip: look.mainTip, claim: take.claim, rounds: round, missed };
    const why = missOf(take);
    if (why) {
      missed.push({ job, ...why });
      opts.display?.(describeMiss(job, why, round, rounds));
      continue;
    }
    if (take.kind === 'unreachable') return { kind: 'claim-unreachable', job, message: take.message, costUsd };
    if (take.kind === 'failed') return { kind: 'claim-failed', job, message: take.message, costUsd };
  }
  return { kind: 'claims-lost', missed, rounds, costUsd };
}

/** The claims held now, one line each, for the prompt: released ones and those that may be taken over (their holder is gone) left out. */
export function liveClaims(claims: ClaimRead[], self: Holder): string {
  const lines = describeClaims(claims.filter((c) => !c.expired), self, { tombstones: false });
  return lines.length > 0 ? lines.join('\n') : '(no job is claimed)';
}

function missOf(t: TakeResult): Omit<Missed, 'job'> | null {
  if (t.kind === 'lost') return { why: 'lost', holder: t.holder };
  if (t.kind === 'stale-view') return { why: 'stale-view', holder: t.holder };
  return null;
}

function withCost(o: Exclude<DispatchOutcome, { kind: 'decided' }>, earlier: number): ClaimedOutcome {
  return 'costUsd' in o ? { ...o, costUsd: o.costUsd + earlier } : o;
}

/** The prompt's section on the jobs earlier rounds chose and could not take; undefined when none. */
export function describeMissed(missed: Missed[]): string | undefined {
  if (missed.length === 0) return undefined;
  return missed
    .map((m) => (m.why === 'lost' ? `- ${describeJob(m.job)}: you chose it, but ${describeHolder(m.holder)} took it first.` : `- ${describeJob(m.job)}: ${describeHolder(m.holder)} landed it after you looked (main has moved on; look again).`))
    .join('\n');
}

function describeMiss(job: Job, why: Omit<Missed, 'job'>, round: number, rounds: number): string {
  const what = why.why === 'lost' ? `${describeHolder(why.holder)} took it first` : `${describeHolder(why.holder)} landed it after this dispatch looked`;
  return round < rounds ? `coven: dispatch chose ${describeJob(job)}, but ${what}; nothing was taken; dispatching again (${round + 1}/${rounds})` : `coven: dispatch chose ${describeJob(job)}, but ${what}; nothing was taken`;
}

/** What a user sees when every round's job was taken first: nothing was taken, try again. */
export function describeClaimsLost(o: Extract<ClaimedOutcome, { kind: 'claims-lost' }>): string {
  const jobs = o.missed.map((m) => `${describeJob(m.job)} (${m.why === 'lost' ? `taken by ${describeHolder(m.holder)}` : `landed by ${describeHolder(m.holder)}`})`);
  return `dispatch chose ${o.rounds} job${o.rounds === 1 ? '' : 's'} in a row that others took first: ${jobs.join('; ')}. Nothing was taken and nothing ran.`;
}
