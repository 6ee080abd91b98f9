// claim — the contract of claims: which job a worker has taken, as a ref that only a
// compare-and-swap can change (docs/remote.md, "Claims and leases"). The same contract in
// both modes; two stores keep it:
//   local  (local-store.ts)   refs/coven/claims/<key> in the repository itself, changed by
//                             `git update-ref <ref> <new> <old>` (git's own CAS, under its ref lock)
//   remote (remote-store.ts)  refs/coven/claims/<key> on the remote, changed by an atomic push
//                             with --force-with-lease (the server's CAS, under its ref lock)
//
// A claim ref points at a commit with the empty tree and no parent; its message is one
// ClaimRecord as JSON. A new record (take, heartbeat, release) is a new commit, and the
// ref moves to it only from the commit the writer read: whoever moves it first wins.
//
// Lifecycle of the ref of one job:
//   (none) ──take──▶ held ──heartbeat──▶ held … ──release──▶ landed | given-up
//   held whose holder is gone (lease expired, or a dead pid on this host) ──take──▶ held by another
//   landed | given-up ──take──▶ held again: only when the dispatch that chose the job saw
//   the landed commit (its main contained it); else the dispatch decided on an old main
//   and must look again (`stale-view`).
// Released records stay as tombstones, so a job that just landed is not taken again by a
// dispatch that looked before it landed; `coven gc` removes tombstones older than a day.
//
// Lease: a holder heartbeats every lease/3. Whether a lease ran out is judged by each
// observer on its own clock: a claim whose ref has not changed for `lease_ms` since this
// observer first saw that very commit (lease.ts keeps what it saw when, in the state dir).
// The holder's own clock (`heartbeat_at`) is shown, never trusted: machines may disagree
// by minutes. A holder on this host whose process is gone is judged at once (as the locks).
//
// Inputs/outputs: values; the stores never throw for a remote that does not answer.

import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { Unreachable } from '../remote/git-remote.js';

export const CLAIM_FORMAT = 'claim/1';
export const CLAIM_PREFIX = 'refs/coven/claims/';
/** a claim record's size limit (coven writes a few hundred bytes) */
export const MAX_CLAIM_BYTES = 16 * 1024;

/** the default lease: COVEN_CLAIM_LEASE_MS, else 5 min; at least 2 s, at most 1 day */
export function leaseMs(env: NodeJS.ProcessEnv = process.env): number {
  const v = Number(env.COVEN_CLAIM_LEASE_MS);
  return v > 0 ? Math.min(Math.max(v, 2_000), 86_400_000) : 300_000;
}

export interface Job {
  agent: string;
  args: Record<string, string>;
}

export const HolderSchema = z.object({
  worker: z.string().max(200),
  machine: z.string().max(200),
  host: z.string().max(300),
  pid: z.number().int().positive(),
  /** start time of pid (process-identity.ts); null when unknown */
  pid_start: z.string().max(100).nullable(),
});
export type Holder = z.infer<typeof HolderSchema>;

export const ClaimRecordSchema = z.object({
  coven: z.literal(CLAIM_FORMAT),
  job: z.object({ agent: z.string().max(200), args: z.record(z.string().max(200), z.string().max(2000)) }),
  holder: HolderSchema,
  state: z.enum(['held', 'landed', 'given-up']),
  /** when the holder took it, and its last heartbeat: the HOLDER's clock, shown, never trusted */
  taken_at: z.string().max(100),
  heartbeat_at: z.string().max(100),
  lease_ms: z.number().int().positive(),
  /** landed: the commit of main that carries the job's work */
  landed: z.string().regex(/^[0-9a-f]{40,64}$/).nullable().optional(),
  /** given-up: why, in a few words */
  why: z.string().max(1000).nullable().optional(),
  /** taken over from this holder (its lease ran out, or it died) */
  took_over: HolderSchema.nullable().optional(),
});
export type ClaimRecord = z.infer<typeof ClaimRecordSchema>;

/** One claim ref as read: its record, or why it could not be read (a damaged ref counts as held, and expires like one). */
export type ClaimRead =
  | ({ kind: 'claim'; key: string; ref: string; sha: string; record: ClaimRecord; expired: boolean } & ReadLease)
  | ({ kind: 'corrupt'; key: string; ref: string; sha: string; reason: string; expired: boolean } & ReadLease);

/** What the observer that read a claim judged (lease.ts), for messages and `coven gc`. */
export interface ReadLease {
  /** why it is expired: the lease ran out (by this observer's clock), or the holder's process on this host is gone */
  expired_why?: 'lease-expired' | 'holder-dead' | null;
  /** how long this observer has seen the ref at this very commit (0: just now, for the first time) */
  unchanged_ms?: number;
}

/** A claim this worker holds now: what it must quote to heartbeat or release it. */
export interface HeldClaim {
  key: string;
  /** the claim's ref where the store keeps it (on the remote for a remote store) */
  ref: string;
  /** the commit the ref points at now (the next write expects it) */
  sha: string;
  record: ClaimRecord;
}

export type TakeResult =
  /** over: the holder this take replaced (a lease that ran out, a dead process, a tombstone); damaged: why the claim it replaced could not be read (its lease ran out) */
  | { kind: 'taken'; claim: HeldClaim; over: { holder: Holder; why: 'lease-expired' | 'holder-dead' | 'landed-before' | 'given-up' | 'own' } | null; damaged?: string }
  /** someone else holds it and is alive: choose another job */
  | { kind: 'lost'; holder: Holder; record: ClaimRecord | null }
  /** the job landed after the main this dispatch saw (`landed`): sync and dispatch again */
  | { kind: 'stale-view'; landed: string; holder: Holder }
  | Unreachable
  | { kind: 'failed'; message: string };

export type HeartbeatResult =
  | { kind: 'held'; claim: HeldClaim }
  /** the ref is not ours any more (taken over, released by hand): `now` is who has it, when readable */
  | { kind: 'lost'; now: ClaimRecord | null }
  | Unreachable
  | { kind: 'failed'; message: string };

export type ReleaseEnd = { kind: 'landed'; commit: string } | { kind: 'given-up'; why: string };

export interface ClaimStore {
  readonly mode: 'local' | 'remote';
  /** every claim (for a remote store: fetched first; `cached` reads the last fetch only) */
  list(opts?: { cached?: boolean }): Promise<ClaimRead[] | Unreachable>;
  /**
   * Takes the job's claim for `holder`. `seenMain`: the main tip the dispatch that chose
   * the job saw (a tombstone of a landing that main does not contain yet is a stale view).
   */
  take(job: Job, holder: Holder, seenMain: string): Promise<TakeResult>;
  heartbeat(claim: HeldClaim): Promise<HeartbeatResult>;
  /** Writes the tombstone (landed or given up), by CAS from claim.sha. */
  release(claim: HeldClaim, end: ReleaseEnd): Promise<{ kind: 'released' } | { kind: 'lost'; now: ClaimRecord | null } | Unreachable | { kind: 'failed'; message: string }>;
  /**
   * The tombstone write as a ref update, for a remote land to push atomically with main
   * (the land and the release happen together or not at all): makes the commit object here.
   */
  releaseUpdate(claim: HeldClaim, end: ReleaseEnd): Promise<{ ref: string; to: string; expect: string }>;
  /** Deletes a claim ref by CAS from `read.sha` (coven gc: old tombstones, damaged refs). */
  drop?(read: ClaimRead): Promise<{ kind: 'dropped' } | { kind: 'lost' } | Unreachable | { kind: 'failed'; message: string }>;
}

/**
 * The claim ref's name for a job: `<agent>--<readable args>--<hash>`, e.g.
 * `implement--issues-fix-scroll-md--3f2a0c9d4e5b`. The hash (of the agent and every
 * argument) makes it unique; the rest is for people reading `git ls-remote`.
 */
export function jobKey(job: Job): string {
  const args = Object.keys(job.args)
    .sort()
    .map((k) => [k, job.args[k] ?? ''] as const);
  const hash = createHash('sha256').update(JSON.stringify([job.agent, args])).digest('hex').slice(0, 12);
  const readable = (s: string, n: number): string => s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, n).replace(/-+$/, '');
  const parts = [readable(job.agent, 40) || 'agent', readable(args.map(([, v]) => v).join('-'), 60), hash].filter((p) => p !== '');
  return parts.join('--');
}

/** One line for prompts, status and messages: `implement (issue: issues/x.md)`. */
export function describeJob(job: Job): string {
  const args = Object.entries(job.args).map(([k, v]) => `${k}: ${v}`).join(', ');
  return args ? `${job.agent} (${args})` : job.agent;
}

/**
 * Whether two holders are the same worker: its name, its machine name and its host. The
 * host too: two machines given the same COVEN_MACHINE never take each other's claims as
 * their own (a restarted worker runs on the host its predecessor ran on).
 */
export function sameWorker(a: Pick<Holder, 'worker' | 'machine' | 'host'>, b: Pick<Holder, 'worker' | 'machine' | 'host'>): boolean {
  return a.worker === b.worker && a.machine === b.machine && a.host === b.host;
}

/** `brave-otter on laptop-2`. */
export function describeHolder(h: Holder): string {
  return `${h.worker} on ${h.machine}`;
}
