// publish-state — keeps one worker's state on the remote, in the background
// (refs/coven/workers/<machine>/<worker>, worker-record.ts), so that every machine can see
// who is doing what (`coven status --remote`, the dispatch prompt).
//
//   - on every change of what the record shows: at most one push in flight; changes made
//     meanwhile are coalesced, and the latest state wins;
//   - as a heartbeat every lease/3, even when nothing changed (a new commit each time, so
//     observers see the ref move: a ref that stops moving for 3 leases is a worker that
//     stopped without saying so, judged on each observer's own clock);
//   - each push is a compare-and-swap from the commit this publisher pushed last; if the
//     remote holds something else, it is read again and overwritten only while it is still
//     a record of this very worker and machine;
//   - a remote that does not answer is tried again later (said once); the worker never
//     waits for a publish, apart from the delete when it stops (a few seconds at most).
//
// Inputs: the clone, the remote target, the worker's name, its states. Effects: the ref.

import { fetchRemote, lsRemote, pushAtomic, remoteTimeoutMs } from './git-remote.js';
import { mirrorPrefix, type RemoteTarget } from './target.js';
import { readWorkerRefs, workerRecordOf, workerRefOnRemote, writeWorkerRecordCommit } from './worker-record.js';
import type { WorkerState } from '../worker/state.js';

export interface PublisherOptions {
  repo: string;
  target: RemoteTarget;
  name: string;
  /** the heartbeat (lease/3) */
  heartbeatMs: number;
  /** told once when publishing fails, and once when it works again */
  onProblem?: (text: string | null) => void;
}

/** How a stop ended for the ref: deleted, not there, or left (the remote did not answer, or it is not ours). */
export type Unpublished = 'deleted' | 'absent' | 'left';

export class StatePublisher {
  private latest: WorkerState | null = null;
  /** the record (without published_at) last pushed or being pushed: an equal one is not pushed again before the heartbeat */
  private shown = '';
  /** the commit the remote's ref points at, as far as this publisher knows (null: no ref) */
  private remoteSha: string | null = null;
  private pending = false;
  private inFlight: Promise<void> | null = null;
  private failing = false;
  private stopped = false;
  private readonly heartbeat: NodeJS.Timeout;
  private retry: NodeJS.Timeout | null = null;
  readonly ref: string;

  constructor(private readonly o: PublisherOptions) {
    this.ref = workerRefOnRemote(o.target.machine, o.name);
    this.heartbeat = setInterval(() => this.push(true), o.heartbeatMs).unref();
  }

  /** Publishes `state` soon (coalesced with other changes); never waits. */
  publish(state: WorkerState): void {
    this.latest = state;
    this.push(false);
  }

  /** Resolves once nothing is in flight or waiting (tests, and the stop). */
  async settled(): Promise<void> {
    while (this.inFlight) await this.inFlight;
  }

  /** Stops publishing and deletes the ref (CAS from what it pushed); at most `timeoutMs` on a silent remote. */
  async stop(timeoutMs = Math.min(10_000, remoteTimeoutMs())): Promise<Unpublished> {
    this.stopped = true;
    clearInterval(this.heartbeat);
    if (this.retry) clearTimeout(this.retry);
    await this.settled();
    let expect = this.remoteSha;
    for (let round = 0; round < 2; round++) {
      if (expect === null && round === 0) expect = await this.current(timeoutMs);
      if (expect === null) return 'absent';
      if (expect === 'unknown' || expect === 'foreign') return 'left';
      const r = await pushAtomic(this.o.repo, this.o.target.name, [{ ref: this.ref, to: null, expect }], { timeoutMs });
      if (r.kind === 'pushed') return 'deleted';
      if (r.kind !== 'refused') return 'left';
      expect = await this.current(timeoutMs);
    }
    return 'left';
  }

  private push(heartbeat: boolean): void {
    if (this.stopped || this.latest === null) return;
    const { published_at: _, ...record } = workerRecordOf(this.latest, this.o.target.machine);
    const shown = JSON.stringify(record);
    if (!heartbeat && shown === this.shown) return;
    this.shown = shown;
    this.pending = true;
    if (this.inFlight) return; // the push in flight is followed by one more, with the latest state
    this.inFlight = this.drain().finally(() => (this.inFlight = null));
  }

  private async drain(): Promise<void> {
    while (this.pending && !this.stopped && this.latest !== null) {
      this.pending = false;
      const ok = await this.pushOnce(this.latest).catch((err: unknown) => this.failed(err instanceof Error ? err.message : String(err)));
      if (!ok) return;
    }
  }

  /** One CAS push of `state`; on a stale ref, one more from what the remote holds (if it is still ours). */
  private async pushOnce(state: WorkerState): Promise<boolean> {
    const commit = await writeWorkerRecordCommit(this.o.repo, workerRecordOf(state, this.o.target.machine));
    for (let round = 0; round < 2; round++) {
      const r = await pushAtomic(this.o.repo, this.o.target.name, [{ ref: this.ref, to: commit, expect: this.remoteSha }]);
      if (r.kind === 'pushed') {
        this.remoteSha = commit;
        if (this.failing) this.o.onProblem?.(null);
        this.failing = false;
        return true;
      }
      if (r.kind !== 'refused') return this.failed(r.message);
      const now = await this.current();
      if (now === 'unknown') return this.failed('the remote refused the update and could not be read again');
      if (now === 'foreign') return this.failed(`${this.ref} on the remote holds something that is not this worker's state; it is left as it is`);
      this.remoteSha = now;
    }
    return this.failed('the remote changed the ref again while it was written');
  }

  /** Says it once, and tries again later (the heartbeat, or sooner). */
  private failed(why: string): false {
    if (!this.failing) this.o.onProblem?.(why);
    this.failing = true;
    this.pending = true;
    if (!this.stopped && !this.retry) {
      this.retry = setTimeout(() => {
        this.retry = null;
        if (!this.inFlight && !this.stopped) this.inFlight = this.drain().finally(() => (this.inFlight = null));
      }, Math.min(this.o.heartbeatMs, 15_000)).unref();
    }
    return false;
  }

  /** What the remote's ref holds now: null (none), its commit when it is this worker's record, 'foreign', or 'unknown' (no answer). */
  private async current(timeoutMs?: number): Promise<string | null | 'foreign' | 'unknown'> {
    const listed = await lsRemote(this.o.repo, this.o.target.name, [this.ref], { timeoutMs });
    if (listed.kind !== 'listed') return 'unknown';
    const sha = listed.refs.get(this.ref);
    if (sha === undefined) return null;
    const prefix = mirrorPrefix(this.o.target, 'workers');
    const mirror = `${prefix}${this.o.target.machine}/${this.o.name}`;
    const fetched = await fetchRemote(this.o.repo, this.o.target.name, [`+${this.ref}:${mirror}`], { timeoutMs });
    if (fetched.kind !== 'fetched') return 'unknown';
    const read = await readWorkerRefs(this.o.repo, prefix, mirror);
    if ('failed' in read) return 'unknown';
    const mine = read[0];
    return mine && mine.sha === sha && mine.record !== null ? sha : mine?.sha === sha ? 'foreign' : 'unknown';
  }
}
