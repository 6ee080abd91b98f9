// ref-store — the ClaimStore both modes share (claim.ts): reading claim refs and judging
// their leases, and take, heartbeat and release as a compare-and-swap of one ref. What
// differs between the modes is below it, in a ClaimBackend: where the claims are read
// (the repository's own refs, or this clone's copy of the remote's, fetched first), how
// one ref is changed by CAS (git update-ref, or an atomic push), and whether a landed
// commit is on the main a dispatch saw (for a remote: fetched when it is not here yet).
//
// A CAS that loses is never tried again blindly: the ref is read again and the take,
// heartbeat or release reports who has it now (`lost`).

import { jobKey, leaseMs, type ClaimRead, type ClaimRecord, type ClaimStore, type HeartbeatResult, type HeldClaim, type Holder, type Job, type ReleaseEnd, type TakeResult } from './claim.js';
import { readClaimRefs, writeClaimCommit, type ClaimRaw } from './claim-object.js';
import { judgeLease, noteWrite, observe, type HolderLiveness } from './lease.js';
import { heldRecord, takeStep, UNKNOWN_HOLDER } from './take.js';
import type { Unreachable } from '../remote/git-remote.js';

type Failed = { kind: 'failed'; message: string };

export interface ClaimBackend {
  readonly mode: 'local' | 'remote';
  /** the repository claim commits are made in */
  readonly repo: string;
  /** where claims are read in this repository: refs/coven/claims/, or the remote's copy */
  readonly readPrefix: string;
  /** the claim ref of `key` where the store keeps it (refs/coven/claims/<key>, here or on the remote) */
  storeRef(key: string): string;
  /** brings the copy under readPrefix up to date (a remote: fetch); null when done */
  refresh(): Promise<null | Unreachable | Failed>;
  /** moves the claim ref of `key` to `to` (null: deletes it) only if it is at `expect` (null: only if it does not exist) */
  write(key: string, to: string | null, expect: string | null): Promise<{ kind: 'written' } | { kind: 'lost' } | Unreachable | Failed>;
  /** whether `commit` is on `main` (a remote: fetching main first when `commit` is not here) */
  contains(main: string, commit: string): Promise<boolean | Unreachable>;
}

export interface StoreOptions {
  stateDir: string;
  now: () => number;
  alive?: HolderLiveness;
  env?: NodeJS.ProcessEnv;
}

export class RefClaimStore implements ClaimStore {
  readonly mode: 'local' | 'remote';

  constructor(
    private readonly backend: ClaimBackend,
    private readonly opts: StoreOptions,
  ) {
    this.mode = backend.mode;
  }

  async list(opts: { cached?: boolean } = {}): Promise<ClaimRead[] | Unreachable> {
    const r = await this.read(undefined, opts.cached ?? false);
    if (!Array.isArray(r)) return r.kind === 'unreachable' ? r : [];
    return r;
  }

  /** The claim of one job as it is now (null: none), or why it could not be read. */
  async readOne(key: string): Promise<ClaimRead | null | Unreachable | Failed> {
    const r = await this.read(key, false);
    return Array.isArray(r) ? (r[0] ?? null) : r;
  }

  private async read(key: string | undefined, cached: boolean): Promise<ClaimRead[] | Unreachable | Failed> {
    const b = this.backend;
    if (!cached) {
      const fresh = await b.refresh();
      if (fresh) return fresh;
    }
    const exact = key === undefined ? undefined : b.readPrefix + key;
    const raws = await readClaimRefs(b.repo, b.readPrefix, exact);
    if (!Array.isArray(raws)) return { kind: 'failed', message: raws.failed };
    const now = this.opts.now();
    const book = await observe(this.opts.stateDir, raws, exact ? { ref: exact } : { prefix: b.readPrefix }, now);
    return raws.map((raw) => this.judged(raw, judgeLease(raw, book, now, this.opts.alive, this.opts.env)));
  }

  private judged(raw: ClaimRaw, lease: ReturnType<typeof judgeLease>): ClaimRead {
    const key = raw.ref.slice(this.backend.readPrefix.length);
    const common = { key, ref: this.backend.storeRef(key), sha: raw.sha, expired: lease.expired, expired_why: lease.why, unchanged_ms: lease.unchanged_ms };
    return raw.record ? { kind: 'claim', ...common, record: raw.record } : { kind: 'corrupt', ...common, reason: raw.problem ?? 'unreadable' };
  }

  async take(job: Job, holder: Holder, seenMain: string): Promise<TakeResult> {
    const key = jobKey(job);
    const current = await this.readOne(key);
    if (current !== null && (current.kind === 'unreachable' || current.kind === 'failed')) return current;
    const step = takeStep(current, holder);
    if (step.do === 'lost') return { kind: 'lost', holder: step.holder, record: step.record };
    let from: string | null = null;
    let over: Extract<TakeResult, { kind: 'taken' }>['over'] = null;
    let damaged: string | null = null;
    if (step.do === 'check-landed') {
      const seen = await this.backend.contains(seenMain, step.landed);
      if (typeof seen !== 'boolean') return seen;
      if (!seen) return { kind: 'stale-view', landed: step.landed, holder: step.holder };
      from = step.from;
      over = { holder: step.holder, why: 'landed-before' };
    } else if (step.do === 'replace') {
      ({ from, over, damaged } = step);
    }
    const tookOver = over && over.why !== 'landed-before' && over.why !== 'given-up' ? over.holder : null;
    const record = heldRecord(job, holder, this.opts.now(), leaseMs(this.opts.env), tookOver);
    const w = await this.cas(key, record, from);
    if (w.kind === 'written') return { kind: 'taken', claim: { key, ref: this.backend.storeRef(key), sha: w.sha, record }, over, ...(damaged ? { damaged } : {}) };
    if (w.kind !== 'lost') return w;
    const now = await this.readOne(key);
    if (now !== null && (now.kind === 'unreachable' || now.kind === 'failed')) return now;
    const rec = now?.kind === 'claim' ? now.record : null;
    return { kind: 'lost', holder: rec?.holder ?? UNKNOWN_HOLDER, record: rec };
  }

  async heartbeat(claim: HeldClaim): Promise<HeartbeatResult> {
    const record: ClaimRecord = { ...claim.record, heartbeat_at: new Date(this.opts.now()).toISOString() };
    const w = await this.cas(claim.key, record, claim.sha);
    if (w.kind === 'written') return { kind: 'held', claim: { ...claim, sha: w.sha, record } };
    if (w.kind === 'lost') return { kind: 'lost', now: await this.recordNow(claim.key) };
    return w;
  }

  async release(claim: HeldClaim, end: ReleaseEnd): ReturnType<ClaimStore['release']> {
    const w = await this.cas(claim.key, this.tombstone(claim, end), claim.sha);
    if (w.kind === 'written') return { kind: 'released' };
    if (w.kind === 'lost') return { kind: 'lost', now: await this.recordNow(claim.key) };
    return w;
  }

  async releaseUpdate(claim: HeldClaim, end: ReleaseEnd): Promise<{ ref: string; to: string; expect: string }> {
    const to = await writeClaimCommit(this.backend.repo, this.tombstone(claim, end));
    return { ref: this.backend.storeRef(claim.key), to, expect: claim.sha };
  }

  async drop(read: ClaimRead): Promise<{ kind: 'dropped' } | { kind: 'lost' } | Unreachable | Failed> {
    const w = await this.backend.write(read.key, null, read.sha);
    if (w.kind !== 'written') return w;
    await noteWrite(this.opts.stateDir, this.backend.readPrefix + read.key, null, this.opts.now());
    return { kind: 'dropped' };
  }

  private tombstone(claim: HeldClaim, end: ReleaseEnd): ClaimRecord {
    const at = new Date(this.opts.now()).toISOString();
    return end.kind === 'landed'
      ? { ...claim.record, state: 'landed', heartbeat_at: at, landed: end.commit, why: null }
      : { ...claim.record, state: 'given-up', heartbeat_at: at, landed: null, why: end.why.slice(0, 1000) };
  }

  private async cas(key: string, record: ClaimRecord, expect: string | null): Promise<{ kind: 'written'; sha: string } | { kind: 'lost' } | Unreachable | Failed> {
    let sha: string;
    try {
      sha = await writeClaimCommit(this.backend.repo, record);
    } catch (err) {
      return { kind: 'failed', message: (err as Error).message };
    }
    const w = await this.backend.write(key, sha, expect);
    if (w.kind !== 'written') return w;
    // this observer saw its own write happen now: the lease of this commit runs from here
    await noteWrite(this.opts.stateDir, this.backend.readPrefix + key, sha, this.opts.now());
    return { kind: 'written', sha };
  }

  /** The record the ref holds now, when it can be read (after a lost CAS). */
  private async recordNow(key: string): Promise<ClaimRecord | null> {
    const now = await this.readOne(key);
    return now?.kind === 'claim' ? now.record : null;
  }
}
