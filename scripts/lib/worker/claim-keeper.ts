// claim-keeper — the claim a worker holds on the job it runs (lib/claims/claim.ts), from
// the dispatch that took it to its release: kept alive by a heartbeat every lease/3, and
// released as a tombstone when the job ends (`landed` with main's commit, or `given-up`
// with why). A heartbeat that finds the claim taken over says so at once: the job will
// not land from here (the land moves main and the claim together: claimTombstoneForLand). A worker that adopts its
// dead predecessor's worktree (same name) takes that worker's claim back.

import { describeHolder, describeJob, jobKey, leaseMs, sameWorker, type ClaimRecord, type ClaimStore, type HeldClaim, type Job, type ReleaseEnd } from '../claims/claim.js';
import { trackingRef } from '../remote/target.js';
import { openClaimStore } from '../claims/index.js';
import { holderOf } from '../agents/claimed-dispatch.js';
import { formatProblem } from '../ui/problem.js';
import { humanDuration } from '../ui/human-duration.js';
import { trace } from '../ui/trace.js';
import { git, gitOut } from '../git/runner.js';
import { covenRef, keepAt } from '../worktree/save-work.js';
import { sleepFor, updateState, type Worker } from './context.js';
import type { LandEnd } from './policy.js';
import type { RefUpdate } from '../remote/git-remote.js';
import { mainTip } from './wait-for-main.js';

interface Keeper {
  timer: NodeJS.Timeout | null;
  /** the heartbeat under way: a release waits for it (both write the same ref) */
  beating: Promise<void> | null;
  /** the claim was taken over while held */
  lost: boolean;
  /** the tombstone went with a land's move of main, or its push (claimTombstoneForLand) */
  pushed?: boolean;
  /** beats wait until then (ms since the epoch): a land is about to move the claim (claimTombstoneForLand) */
  pausedUntil?: number;
}

const stores = new WeakMap<Worker, ClaimStore>();
const keepers = new WeakMap<Worker, Keeper>();

/** The worker's claim store: refs in the repository (local mode) or on its remote. */
export function claimStoreOf(w: Worker): ClaimStore {
  let s = stores.get(w);
  if (!s) {
    s = openClaimStore({ repo: w.paths.mainWorktree, stateDir: w.paths.stateDir, remote: w.remote, env: w.opts.env ?? process.env });
    stores.set(w, s);
  }
  return s;
}

/** The worker as a claim holder. */
export function workerHolder(w: Worker) {
  return holderOf(w.name, w.opts.env ?? process.env);
}

/** Holds `claim` from now on: recorded in the state, heartbeat started. */
export async function holdClaim(w: Worker, claim: HeldClaim): Promise<void> {
  // an earlier job's claim still held (not expected: each land settles its claim) is let go first
  if (w.claim && w.claim.ref !== claim.ref) await releaseClaim(w, { kind: 'given-up', why: 'its worker went on to another job' });
  stopHeartbeat(w);
  w.claim = claim;
  await updateState(w, { claim: { key: claim.key, ref: claim.ref, sha: claim.sha } });
  const keeper: Keeper = { timer: null, beating: null, lost: false };
  keepers.set(w, keeper);
  startHeartbeat(w, keeper);
}

function startHeartbeat(w: Worker, keeper: Keeper): void {
  const every = Math.max(500, Math.floor(leaseMs(w.opts.env ?? process.env) / 3));
  keeper.timer = setInterval(() => {
    if (keeper.beating) return;
    keeper.beating = beat(w, keeper).finally(() => (keeper.beating = null));
  }, every);
  keeper.timer.unref();
}

async function beat(w: Worker, keeper: Keeper): Promise<void> {
  const claim = w.claim;
  if (!claim || keeper.lost || Date.now() < (keeper.pausedUntil ?? 0)) return;
  await renew(w, claim);
  // no answer (unreachable, failed): tried again at the next beat; the lease is long enough for a few misses
}

/**
 * One heartbeat of the held claim: renewed, or (gone, or still this worker's) taken again;
 * else lost to another holder, said once. Null: no answer (unreachable, failed), or the
 * claim was released meanwhile.
 */
async function renew(w: Worker, claim: HeldClaim): Promise<{ held: true } | { held: false; now: ClaimRecord | null } | null> {
  const r = await claimStoreOf(w).heartbeat(claim).catch((err: unknown) => ({ kind: 'failed' as const, message: String(err) }));
  if (w.claim !== claim) return null; // released meanwhile
  if (r.kind === 'held') {
    w.claim = r.claim;
    return { held: true };
  }
  if (r.kind !== 'lost') return null;
  const back = await takeBack(w, claim, r.now);
  if (back) {
    w.claim = back;
    return { held: true };
  }
  const k = keepers.get(w);
  if (k) lostClaim(w, k, claim, r.now);
  return { held: false, now: r.now };
}

/**
 * A heartbeat found the claim changed. Gone (deleted: an agent, `coven gc`, by hand) or
 * still this worker's: taken again. Anyone else's: lost (null).
 */
async function takeBack(w: Worker, claim: HeldClaim, now: ClaimRecord | null): Promise<HeldClaim | null> {
  const mine = now !== null && now.state === 'held' && sameWorker(now.holder, workerHolder(w));
  if (now !== null && !mine) return null;
  const take = await claimStoreOf(w).take(claim.record.job, workerHolder(w), (await mainTip(w.paths.mainWorktree, w.main)) ?? '');
  return take.kind === 'taken' ? take.claim : null;
}

function lostClaim(w: Worker, keeper: Keeper, claim: HeldClaim, now: ClaimRecord | null): void {
  keeper.lost = true;
  if (keeper.timer) clearInterval(keeper.timer);
  keeper.timer = null;
  trace('claim', { worker: w.name, job: describeJob(claim.record.job), result: 'lost-while-held' });
  w.ui.problem(
    formatProblem({
      what: `${w.name} lost its claim on ${describeJob(claim.record.job)}: ${now ? `${describeHolder(now.holder)} has it now (${now.state})` : 'the claim was changed or removed'}. The job will not land from here.`,
      kept: `The job's commits stay on ${w.branch} (not landed); the session goes on until it ends.`,
      next: [`git log ${w.main}..${w.branch}   (what the job did here)`],
    }),
  );
}

/** Stops the heartbeat (the worker stops); the claim stays as it is. */
export function stopClaimHeartbeat(w: Worker): void {
  stopHeartbeat(w);
}

function stopHeartbeat(w: Worker): Keeper | undefined {
  const k = keepers.get(w);
  if (k?.timer) clearInterval(k.timer);
  if (k) k.timer = null;
  return k;
}

/** Whether the worker may still land its job: its claim was not taken over (checked now, by a heartbeat). No claim: true. */
export async function claimStillHeld(w: Worker): Promise<{ held: true } | { held: false; now: ClaimRecord | null }> {
  const k = keepers.get(w);
  if (!w.claim) return { held: true };
  if (k?.lost) return { held: false, now: null };
  await k?.beating;
  const claim = w.claim;
  if (!claim) return { held: true };
  // no answer (remote unreachable): the land's push itself refuses a claim taken over
  return (await renew(w, claim)) ?? { held: true };
}

/** Releases the held claim (a tombstone); says what went wrong, never throws. */
export async function releaseClaim(w: Worker, end: ReleaseEnd): Promise<void> {
  const claim = w.claim;
  if (!claim) return;
  const k = stopHeartbeat(w);
  await k?.beating;
  const now = w.claim ?? claim;
  const lost = k?.lost ?? false;
  w.claim = null;
  keepers.delete(w);
  await updateState(w, { claim: null });
  if (lost) return; // someone else has it: not ours to release
  const r = await claimStoreOf(w).release(now, end).catch((err: unknown) => ({ kind: 'failed' as const, message: String(err) }));
  trace('claim', { worker: w.name, job: describeJob(now.record.job), result: `release-${end.kind}:${r.kind}` });
  if (r.kind === 'released' || r.kind === 'lost') return;
  w.ui.problem(
    formatProblem({
      what: `${w.name} could not release its claim on ${describeJob(now.record.job)} (${r.kind === 'unreachable' ? `the remote did not answer: ${r.message}` : r.message}).`,
      kept: `Nothing else changed; the claim runs out ${Math.round(leaseMs(w.opts.env ?? process.env) / 1000)} s after its last heartbeat, and others may take the job then.`,
      next: ['coven status   (who holds what)'],
    }),
  );
}

/** The tombstone of a landed job: main's commit that carries it is the worktree's HEAD after the land. */
export async function releaseLanded(w: Worker, commit?: string): Promise<void> {
  if (!w.claim) return;
  const at = commit ?? (await mainTip(w.paths.mainWorktree, w.main));
  if (at) await releaseClaim(w, { kind: 'landed', commit: at });
  else await releaseClaim(w, { kind: 'given-up', why: 'landed, but main could not be read' });
}

/**
 * A worker adopting its dead predecessor's worktree (same name): takes back the claim
 * that worker recorded, for the job it recorded (its commits are landed first). A remote
 * that does not answer is asked again until it does (or the worker stops; the claim then
 * stays recorded for the next run of this name): the job's commits must not land without
 * its claim, which would stay held by the dead worker after they landed.
 */
export async function retakeOwnClaim(w: Worker): Promise<void> {
  const recorded = w.state.claim;
  if (!recorded) return;
  if (!w.state.agent) return void (await updateState(w, { claim: null }));
  const job: Job = { agent: w.state.agent, args: w.state.args };
  if (jobKey(job) !== recorded.key) return void (await updateState(w, { claim: null }));
  for (let said = false; ; said = true) {
    // seen main: none. A landed job is never taken back (a take would re-take a landed
    // tombstone whose commit main holds): it is a stale view here, its commits not landed again
    const take = await claimStoreOf(w).take(job, workerHolder(w), '');
    if (take.kind === 'stale-view' && sameWorker(take.holder, workerHolder(w))) {
      // its earlier run landed the job (killed after the push, or a push whose answer was lost): done
      await updateState(w, { claim: null });
      w.ui.line(`coven: ${w.name}'s earlier run landed ${describeJob(job)} (${take.landed.slice(0, 9)}); its claim is released`);
      return;
    }
    if (take.kind === 'taken') {
      await holdClaim(w, take.claim);
      if ((await unlandedOfRun(w)) === 0) {
        // killed before the job committed anything: nothing of it to land, and a claim held
        // with no job running would keep the job from everyone (itself included) for good
        await releaseClaim(w, { kind: 'given-up', why: 'its earlier run stopped before it committed anything' });
        w.ui.line(`coven: ${w.name}'s earlier run of ${describeJob(job)} stopped before it committed anything; its claim is released and the job is free again`);
        return;
      }
      w.ui.line(`coven: ${w.name} took back its claim on ${describeJob(job)}`);
      return;
    }
    if (take.kind !== 'unreachable' && take.kind !== 'failed') {
      await updateState(w, { claim: null });
      const by = take.kind === 'lost' ? `${describeHolder(take.holder)} holds it now` : `${describeHolder(take.holder)} landed it meanwhile`;
      await setAsideRun(w, describeJob(job), by, 'adopted the worktree of its earlier run');
      return;
    }
    if (!said) w.ui.problem(cannotRetake(w, job, take.message));
    if (w.stop.signal.aborted) return;
    await sleepFor(w.opts.retryMs ?? 5_000, w.stop.signal);
  }
}

function cannotRetake(w: Worker, job: Job, why: string): string {
  return formatProblem({
    what: `${w.name} cannot take back its earlier run's claim on ${describeJob(job)} yet: ${w.remote ? `the remote ${w.remote.name} did not answer or refused (${why})` : why}.`,
    kept: `Its commits stay on ${w.branch}; nothing lands and nothing runs until the claim is its own again. It asks again every ${humanDuration(w.opts.retryMs ?? 5_000)}.`,
    next: ['coven status   (who holds what)'],
  });
}

/**
 * The heartbeat paused for a push (claimTombstoneForLand) beats again once that push did
 * not land: a conflict resolution can take longer than the lease, and a claim that does
 * not beat meanwhile is taken over by another machine.
 */
export function resumeClaimHeartbeat(w: Worker): void {
  const keeper = keepers.get(w);
  if (!w.claim || !keeper || keeper.lost) return;
  keeper.pushed = false;
  keeper.pausedUntil = 0;
  if (!keeper.timer) startHeartbeat(w, keeper);
}

/** Whether a heartbeat found the held claim taken over (the job must not land from here). */
export function claimLostWhileHeld(w: Worker): boolean {
  return keepers.get(w)?.lost ?? false;
}

/**
 * After a land: the claim is released as the land ended. Landed: a tombstone naming the
 * landed commit (`landed`: the worktree's HEAD, now main's). Nothing to land, or parked
 * and set aside: given up. Put off or parked in place: still held (the land is tried again).
 */
export async function settleClaim(w: Worker, end: LandEnd, landed?: string | null): Promise<void> {
  if (!w.claim) return;
  const keeper = keepers.get(w);
  if (end === 'landed' && keeper?.pushed) return forgetClaim(w); // main's move (or push) carried its tombstone
  resumeClaimHeartbeat(w); // paused for a push that did not land
  if (end === 'landed') await releaseLanded(w, landed ?? undefined);
  else if (end === 'nothing') await releaseClaim(w, { kind: 'given-up', why: 'the job left nothing to land' });
  else if (end === 'parked-continue') await releaseClaim(w, { kind: 'given-up', why: 'its land was parked and set aside (--on-park continue)' });
}

/**
 * The land refuses a job whose claim was taken over: its commits are set aside (kept at
 * `coven/lost/<name>-<time>`), the branch starts again from main. Null: the claim is
 * still held (or there is none), the land goes on.
 */
export async function refuseLostJob(w: Worker): Promise<LandEnd | null> {
  const still = await claimStillHeld(w);
  if (still.held) return null;
  const job = w.claim ? describeJob(w.claim.record.job) : 'its job';
  await releaseClaim(w, { kind: 'given-up', why: 'taken over' });
  return setAsideRun(w, job, still.now ? `${describeHolder(still.now.holder)} runs it now` : 'another worker runs it now', 'lost its claim (taken over)');
}

/**
 * The commits of a run whose job is another worker's now (or was landed by another) must
 * not land: they are kept on the branch `coven/lost/<name>-<time>`, and the worker's branch
 * starts again from main (remote mode: the remote's main as fetched, tracking the local main).
 */
export async function setAsideRun(w: Worker, job: string, by: string, what: string): Promise<'nothing'> {
  const base = mainRefOf(w);
  const count = (await unlandedOfRun(w)) ?? 0;
  if (count === 0) {
    w.ui.line(`coven: ${w.name} ${what}: ${job}: ${by}; this run has no commits to keep.`);
    return 'nothing';
  }
  // kept as a ref under refs/coven/ (as every piece of work coven keeps aside), not a branch
  const head = await gitOut(w.worktree, ['rev-parse', 'HEAD']);
  const aside = await keepAt(w.worktree, covenRef('lost', w.name), head, 'coven: the commits of a job that is not this run\'s any more');
  w.saved.push(aside);
  await gitOut(w.worktree, ['reset', '--quiet', '--keep', base]);
  w.ui.problem(
    formatProblem({
      what: `${w.name} ${what} and does not land ${job}: ${by}.`,
      kept: `The ${count} commit${count === 1 ? '' : 's'} of this run are kept at ${aside}; ${w.branch} starts again from ${w.remote ? `${w.remote.name}/${w.main}` : w.main}.`,
      next: [`git log ${base}..${aside}   (what this run did)`, `git update-ref -d ${aside}   (once you no longer need it)`],
    }),
  );
  return 'nothing';
}

/** main as this worker lands on it: the local main, or in remote mode the remote's as last fetched. */
function mainRefOf(w: Worker): string {
  return w.remote ? trackingRef(w.remote) : `refs/heads/${w.main}`;
}

/** The commits on the worker's branch that main does not have; null when they cannot be counted. */
async function unlandedOfRun(w: Worker): Promise<number | null> {
  const unlanded = await git(w.worktree, ['rev-list', '--count', `${mainRefOf(w)}..HEAD`]);
  return unlanded.ok ? Number(unlanded.stdout.trim()) : null;
}

/**
 * The claim's tombstone as a ref update that goes with main's move (LandOptions.withMain):
 * one transaction locally, one atomic push in remote mode. The land and the release happen
 * together or not at all, and a land whose claim was taken over is refused (by git's ref
 * locks, or the server). The heartbeat pauses first (it would move the ref the update
 * expects); settleClaim then forgets a claim the land released, or starts the heartbeat again.
 */
export function claimTombstoneForLand(w: Worker): (head: string) => Promise<RefUpdate[]> {
  return async (head) => {
    // the heartbeat waits while the land moves the claim, at most a short while: a land
    // that does not move main now (a conflict resolved by further sessions, main moving
    // again and again) must not leave the claim unrenewed for its lease
    const k = keepers.get(w);
    if (k) k.pausedUntil = Date.now() + Math.min(30_000, Math.floor(leaseMs(w.opts.env ?? process.env) / 6));
    await k?.beating;
    // a claim seen lost still goes with the push, expecting the commit this worker wrote:
    // the server refuses the whole push unless the claim is still this worker's
    if (!w.claim) return [];
    const u = await claimStoreOf(w).releaseUpdate(w.claim, { kind: 'landed', commit: head });
    if (k) k.pushed = true;
    return [{ ref: u.ref, to: u.to, expect: u.expect }];
  };
}

async function forgetClaim(w: Worker): Promise<void> {
  stopHeartbeat(w);
  keepers.delete(w);
  w.claim = null;
  await updateState(w, { claim: null });
}
