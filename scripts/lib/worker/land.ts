// worker land — the land step of the loop: land the branch (lib/land/land.ts); on a
// conflict resume the session that made the commits to resolve it (resolve-conflict.ts);
// after failed resolutions park (wait for the human, or set the branch aside). Work left
// from an earlier cycle is landed first, waiting for main to move between tries.

import { saveAndClean } from '../agents/agent-job.js';
import { agentAt } from '../land/coven-changes.js';
import { gitOut, revParse } from '../git/runner.js';
import { rebaseInProgress } from '../git/operation.js';
import { checkSetupBeforeLand, describeHooksNotRun } from '../git/setup-guard.js';
import { describeLand, describeLeftOut, describeUntouched } from '../land/messages.js';
import { landWorktree, unlandedCommits, type LandOptions, type LandResult } from '../land/land.js';
import { describeLocalMain } from '../land/messages.js';
import { trackingRef } from '../remote/target.js';
import { covenRef, keepAt } from '../worktree/save-work.js';
import { abortRebaseIfAny, resolveConflict, type Conflict } from '../land/resolve-conflict.js';
import { trace } from '../ui/trace.js';
import { covenStamp } from '../worktree/save-work.js';
import { here, sessionSettings, setPhase, updateState, type JobAgent, type Worker } from './context.js';
import { land as say, park as sayPark } from './messages.js';
import { landRetryWait, type LandEnd } from './policy.js';
import { landByStep, resolveByStep } from './replaced-steps.js';
import { recordResolution } from './step-files.js';
import { covenApproved, heldBeforeReplacedLand } from './coven-hold.js';
import { mainTip, waitForMainToMove } from './wait-for-main.js';
import { unlandedOnBranch } from './finish.js';
import { claimLostWhileHeld, claimStillHeld, claimStoreOf, claimTombstoneForLand, refuseLostJob, resumeClaimHeartbeat, settleClaim, workerHolder } from './claim-keeper.js';
import { sameWorker } from '../claims/claim.js';

/**
 * Lands the worker's branch: counts what landed, resolves conflicts, parks when it must;
 * then releases the job's claim as the land ended (claim-keeper.ts). A job whose claim
 * was taken over does not land: the land core moves main and the claim in one step (one
 * push in remote mode); a replaced land or resolve step is checked just before.
 */
export async function landAndResolve(w: Worker): Promise<LandEnd> {
  // the land core moves main and the claim together (a claim taken over stops it: lease-lost);
  // a replaced land step does not, so the claim is checked before it
  const refused = w.steps.land ? await refuseLostJob(w) : null;
  if (refused) return refused;
  const first = await landJob(w);
  // the claim was gone or moved by this worker's own heartbeat, and is its own again: once more
  const second = first === 'again' ? await landJob(w) : first;
  const end = second === 'again' ? 'pending' : second;
  await settleClaim(w, end, end === 'landed' ? await revParse(w.worktree, 'HEAD') : null);
  return end;
}

/** 'again': the land stopped on the claim, which is this worker's own again: land once more. */
async function landJob(w: Worker): Promise<LandEnd | 'again'> {
  // a change to .coven/ lands only when the job's agent may make one (as main has its file)
  const approveCoven = await covenApproved(w);
  if (w.steps.land) {
    // a replaced land step does not go through the land core, which holds such a change
    const held = await heldBeforeReplacedLand(w, approveCoven);
    return held ? park(w, held) : landByStep(w, w.steps.land, undoRebase);
  }
  await setPhase(w, 'landing', { waiting_on: null });
  // before the rebase changes the worktree's files (an agent file may itself conflict)
  const agent = await jobAgent(w);
  // another worker's agent may be changing the git setup the land runs with
  await checkSetupBeforeLand(w.paths.commonDir, w.paths.stateDir, (text) => w.ui.problem(text));
  const remote = w.remote ? { target: w.remote } : undefined;
  // the heartbeat pauses while the tombstone goes with main; settleClaim forgets the claim after a land, or beats again
  const withMain = claimTombstoneForLand(w);
  let land = await landWorktree({ worktree: w.worktree, keep: true, approveCoven, remote, withMain });
  if (land.kind === 'dirty') {
    const saved = await saveAndClean(w.worktree, w.name, 'wip', 'coven: uncommitted work found at land time');
    if (saved.kind === 'saved') w.saved.push(saved.ref);
    land = await landWorktree({ worktree: w.worktree, keep: true, approveCoven, remote, withMain });
  }
  if (land.kind === 'conflict') {
    resumeClaimHeartbeat(w); // the resolution session may outlast the lease
    const resolved = await resolve(w, land, agent, approveCoven, { remote, withMain });
    if (resolved.kind === 'ended') return resolved.end;
    land = resolved.land;
  }
  switch (land.kind) {
    case 'landed':
      await updateState(w, { landed: w.state.landed + land.commits });
      trace('landed', { worker: w.name, commits: land.commits });
      w.ui.line(say.landed(land.commits, land.remote ? `${land.onto} at ${land.remote}` : land.onto, land.main));
      sayLocalMainOnce(w, land);
      if (land.untouched) w.ui.line(describeUntouched(land.onto, land.untouched));
      if (land.leftOut) w.ui.problem(describeLeftOut(land.onto, land.leftOut));
      if (land.hooksNotRun) w.ui.problem(describeHooksNotRun(w.paths.mainWorktree, land.hooksNotRun));
      return 'landed';
    case 'nothing-to-land':
      w.ui.line(say.nothing);
      if (land.leftOut) w.ui.problem(describeLeftOut(land.onto, land.leftOut));
      return 'nothing';
    case 'lease-lost':
      // this worker's own heartbeat may have moved the claim after the tombstone was made, or
      // an agent removed it (taken back): land again
      switch (await claimStillOurs(w)) {
        case 'ours':
          return 'again';
        case 'unknown':
          return 'pending'; // the remote did not answer: the land is put off
        default:
          return supersede(w, land);
      }
    case 'main-blocked':
    case 'main-busy':
    case 'unreachable':
      w.ui.problem(describeLand(land, { self: 'coven land', againArgs: ['--keep', ...(w.remote ? ['--remote', w.remote.name] : [])] }).text);
      w.ui.problem(say.retriesLater(w.name));
      return 'pending';
    default:
      return park(w, land);
  }
}

/** Resumes the job's session to resolve the conflict; the land it ends with, or how the land step ends. */
async function resolve(w: Worker, conflict: Conflict, agent: JobAgent, approveCoven: boolean, landWith: Pick<LandOptions, 'remote' | 'withMain'>): Promise<{ kind: 'land'; land: LandResult } | { kind: 'ended'; end: LandEnd }> {
  await setPhase(w, 'resolving', {});
  w.ui.line(say.conflict(conflict.onto, conflict.files, w.remote?.name));
  if (w.steps['resolve-conflict']) {
    // a replaced step lands by itself, not through the land core that moves the claim with main
    if (!(await claimStillHeld(w)).held) {
      await undoRebase(w);
      return { kind: 'ended', end: (await refuseLostJob(w)) ?? 'pending' };
    }
    const by = await resolveByStep(w, w.steps['resolve-conflict'], conflict.commits);
    if (by === 'landed') w.ui.line(say.landedByStep(conflict.commits, conflict.onto));
    if (by === 'pending') await undoRebase(w);
    return { kind: 'ended', end: by === 'gave-up' ? await park(w, conflict, sayPark.stepGaveUp) : by };
  }
  const resolved = await resolveConflict({ ...sessionSettings(w), worktree: w.worktree, branch: w.branch, conflict, agentName: agent.name, cli: agent.cli, cliArgs: agent.cliArgs, sessionId: w.state.session_id, approveCoven, ...landWith, signal: w.stop.signal });
  await updateState(w, { cost_usd: w.state.cost_usd + resolved.costUsd, session_id: resolved.sessionId });
  await recordResolution(w.paths.stateDir, w.name, w.branch, resolved);
  if (resolved.kind === 'stopped' || resolved.kind === 'skipped' || resolved.kind === 'refused') {
    await undoRebase(w);
    const retry = w.opts.once ? null : landRetryWait(1, w.opts.retryMs);
    if (resolved.kind === 'skipped') w.ui.line(say.resolutionSkipped(here(w), conflict.commits, retry));
    // a vendor's refusal is not a failed round: nothing is parked, the land is tried again
    if (resolved.kind === 'refused') w.ui.problem(say.resolutionRefused(here(w), agent.cli ?? 'claude', resolved.refusal, conflict.commits, retry));
    return { kind: 'ended', end: 'pending' };
  }
  if (resolved.kind === 'gave-up') return { kind: 'ended', end: await park(w, resolved.last, say.gaveUpRounds(resolved, conflict.onto), resolved.unfinished) };
  w.ui.line(say.resolved(resolved.rounds));
  if (resolved.backup) w.ui.problem(say.resolutionBackup(w.name, resolved.backup));
  return { kind: 'land', land: resolved.land };
}

/**
 * Aborts a rebase left open in the worktree (the branch goes back to its commits); how
 * far it had got is kept under refs/coven/unfinished/… and, with `announce`, the worker
 * says where. Returns that ref (null: no rebase was open).
 */
export async function undoRebase(w: Worker, announce = true): Promise<string | null> {
  const undone = await abortRebaseIfAny(w.worktree, w.name);
  if (undone.kept && announce) w.ui.line(say.rebaseUndone(here(w), undone.kept));
  return undone.kept;
}

/**
 * Lands commits left from earlier (blocked lands, a skipped resolution, an adopted
 * worktree) before new work. `putOff`: the last land was just put off, so even the first
 * try waits (until main moves, or the retry wait).
 */
export async function landPending(w: Worker, putOff = false): Promise<'clear' | 'stop' | 'parked-stop'> {
  for (let attempt = putOff ? 1 : 0; !w.stop.stopping; attempt++) {
    await undoRebase(w);
    const unlanded = await unlandedCommits(w.worktree, undefined, w.remote);
    if (unlanded.kind !== 'unlanded') {
      w.ui.problem(describeLand(unlanded, { self: 'coven land', againArgs: ['--keep'] }).text);
      return 'stop';
    }
    if (unlanded.commits.length === 0) return 'clear';
    if (attempt > 0) {
      const wait = landRetryWait(attempt, w.opts.retryMs);
      const baseline = (await mainTip(w.paths.mainWorktree, w.main)) ?? '';
      await setPhase(w, 'landing', { waiting_on: baseline });
      // retry when main moves (the user committed their edit) or after `wait`, whichever is first
      await waitForMainToMove({ repo: w.paths.mainWorktree, mainBranch: w.main, baseline, signal: AbortSignal.any([w.stop.signal, AbortSignal.timeout(wait)]), safetyIntervalMs: wait });
      if (w.stop.stopping) return 'stop';
    }
    const end = await landAndResolve(w);
    if (end === 'parked-stop') return 'parked-stop';
    if (end !== 'pending') return 'clear';
  }
  return 'stop';
}

/**
 * After failed resolutions (or a land that cannot go on): the branch keeps every
 * commit; the human is told what to do. --on-park=continue sets the branch aside as
 * coven/parked/<name>-<time> and goes on from main; otherwise the worker waits until
 * the branch has nothing left to land (with --once it stops).
 */
async function park(w: Worker, last: LandResult, rounds: string = sayPark.defaultRounds, unfinished: string | null = null): Promise<LandEnd> {
  const attempt = (await undoRebase(w, false)) ?? unfinished;
  const held = last.kind === 'coven-held' ? last : null;
  await setPhase(w, 'parked', { held: held?.files ?? null });
  const unlanded = await unlandedCommits(w.worktree, undefined, w.remote);
  const count = unlanded.kind === 'unlanded' ? unlanded.commits.length : ((await unlandedOnBranch(w)) ?? 0);
  const also = sayPark.attempt(attempt);
  const why = sayPark.why(last, rounds, w.remote?.name);
  if (w.opts.onPark === 'continue') {
    const aside = `coven/parked/${w.name}-${covenStamp()}`;
    await gitOut(w.worktree, ['branch', '-m', w.branch, aside]);
    await branchFromMain(w);
    w.ui.problem(sayPark.setAside(here(w), why, count, aside, also));
    return 'parked-continue';
  }
  if (held) w.ui.problem(`${describeLand(held, { self: 'coven land', againArgs: ['--keep'] }).text}\n${sayPark.heldWaits(here(w), Boolean(w.opts.once))}`);
  else w.ui.problem(sayPark.parked(here(w), why, count, also, Boolean(w.opts.once)));
  if (w.opts.once) return 'parked-stop';
  // wait for the human: go on once the branch holds nothing unlanded (they landed it, or
  // dropped it); checked whenever main moves, and on the slow safety check
  while (!w.stop.stopping) {
    const baseline = (await mainTip(w.paths.mainWorktree, w.main)) ?? '';
    const now = await unlandedCommits(w.worktree, undefined, w.remote);
    if (now.kind === 'unlanded' && now.commits.length === 0 && !rebaseInProgress(w.worktree)) {
      w.ui.line(say.goesOn(here(w)));
      return 'parked-continue';
    }
    const every = w.opts.safetyIntervalMs ?? 60_000;
    await waitForMainToMove({ repo: w.paths.mainWorktree, mainBranch: w.main, baseline, signal: AbortSignal.any([w.stop.signal, AbortSignal.timeout(every)]), safetyIntervalMs: every });
  }
  return 'parked-stop';
}

/**
 * The agent whose session made the commits being landed, with its claude_args: the
 * job's own, kept when it started; for commits adopted from a dead worker, its recorded
 * agent, read from its file as main has it (never the worktree's: those are the
 * agent's own commits, which may give it more permissions).
 */
async function jobAgent(w: Worker): Promise<JobAgent> {
  if (w.job) return w.job;
  const name = w.state.agent;
  const agent = name ? await agentAt(w.paths.mainWorktree, `refs/heads/${w.main}`, name) : null;
  // the CLI its session ran on, as the state recorded it (older states: claude)
  const cli = w.state.cli ?? 'claude';
  w.job = { name: name ?? 'agent', cli, cliArgs: agent?.cliArgs[cli] ?? [] };
  return w.job;
}

/**
 * After a land refused as lease-lost: whether the claim is still this worker's (on this
 * host: sameWorker), its tombstone made stale by a heartbeat of its own, or (local mode)
 * removed and taken back. A heartbeat that found it lost settles it: not ours. A remote
 * that does not answer: unknown (the land is put off; its next push is refused again if
 * the claim really was taken over).
 */
async function claimStillOurs(w: Worker): Promise<'ours' | 'not' | 'unknown'> {
  const claim = w.claim;
  if (!claim || claimLostWhileHeld(w)) return 'not';
  // local mode: the claim as it is now (gone, or still this worker's: taken again)
  if (!w.remote) return (await claimStillHeld(w)).held ? 'ours' : 'not';
  const reads = await claimStoreOf(w).list();
  if (!Array.isArray(reads)) return reads.kind === 'unreachable' ? 'unknown' : 'not';
  const now = reads.find((r) => r.key === claim.key);
  if (now?.kind !== 'claim' || now.record.state !== 'held' || !sameWorker(now.record.holder, workerHolder(w))) return 'not';
  // the next tombstone expects the claim as it is now
  if (w.claim === claim) w.claim = { ...claim, sha: now.sha, record: now.record };
  return 'ours';
}

/** The local main tip last said to have commits the remote lacks, per worker: said once, not at every land. */
const saidLocalMain = new WeakMap<Worker, string>();

function sayLocalMainOnce(w: Worker, land: Extract<LandResult, { kind: 'landed' }>): void {
  if (!land.remote || !land.local) return;
  const line = describeLocalMain(land.local, land.onto, land.remote, land.main);
  if (!line) return;
  const key = land.local.kind === 'own-commits' ? land.local.tip : line;
  if (saidLocalMain.get(w) === key) return;
  saidLocalMain.set(w, key);
  w.ui.problem(line);
}

/**
 * The job's claim was taken over by another worker (its lease ran out) before this land
 * could push: these commits must not land over the other worker's. They are kept under
 * refs/coven/superseded/<worker>/<time>, the branch goes back to the remote's main, and
 * the worker goes on. Nothing is pushed.
 */
async function supersede(w: Worker, land: Extract<LandResult, { kind: 'lease-lost' }>): Promise<LandEnd> {
  const head = await gitOut(w.worktree, ['rev-parse', 'HEAD']);
  const ref = await keepAt(w.worktree, covenRef('superseded', w.name), head, 'coven: the commits of a job another worker took over');
  w.saved.push(ref);
  // the worktree is clean (the land checked) and the commits are kept
  await gitOut(w.worktree, ['reset', '--quiet', '--keep', w.remote ? trackingRef(w.remote) : `refs/heads/${w.main}`]);
  w.ui.problem(say.superseded(here(w), land, ref));
  return 'nothing';
}

/** A new branch for the worker, from main (remote mode: the remote's main as fetched), tracking the local main. */
async function branchFromMain(w: Worker): Promise<void> {
  if (!w.remote) {
    await gitOut(w.worktree, ['checkout', '--quiet', '--track', '-b', w.branch, w.main]);
    return;
  }
  await gitOut(w.worktree, ['checkout', '--quiet', '--no-track', '-b', w.branch, trackingRef(w.remote)]);
  await gitOut(w.worktree, ['branch', '--quiet', `--set-upstream-to=${w.main}`, w.branch]);
}
