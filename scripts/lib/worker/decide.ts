// worker decide — the dispatch step of the loop: bring the worktree level with main, ask
// the herd guard, and only if it has no answer run a dispatch session whose decision
// counts once its job's claim is taken (lib/agents/claimed-dispatch.ts).
//
// The dispatch lock is taken only where it earns its place: by a worker woken from a
// sleep (or back from a failed dispatch). N sleepers woken by one commit then dispatch
// one at a time, and the first one's sleep decision, recorded before the lock is
// released, sends the others back to sleep without a session (herd-guard.ts). A worker
// just started or coming from a job dispatches without the lock: two dispatches may then
// choose the same job, and the claim (a compare-and-swap) lets only one of them run it;
// the other dispatches again with the winner shown to it.
//
// What used to need the lock around reading states and syncing (each issue seen either
// taken or gone, never free) is the claim's job now: a claim stays held until its land
// has moved main, and its tombstone then names the landed commit, so a dispatch that
// looked before that land is told `stale-view`, syncs and looks again.

import { decisionFileOf, describeAgentProblems } from '../agents/dispatch.js';
import { claimedDispatch, describeClaimsLost, type ClaimedOutcome } from '../agents/claimed-dispatch.js';
import { saveAndClean } from '../agents/agent-job.js';
import { DISPATCH_AGENT, loadRegistry, type AgentDef, type Registry } from '../agents/registry.js';
import { describeHolder, describeJob } from '../claims/claim.js';
import { DECISION_FORMAT, type DecisionFile } from '../steps/decision-file.js';
import { git, revParse } from '../git/runner.js';
import { syncWorktreeWithMain, type SyncResult } from '../land/land.js';
import { acquireLock, describeWait, dispatchLockPath } from '../locks/dispatch-lock.js';
import { renderOutcome } from '../session/render.js';
import { trace, traceNow } from '../ui/trace.js';
import { sessionSettings, setPhase, updateState, type Worker } from './context.js';
import { claimStoreOf, holdClaim, releaseClaim, workerHolder } from './claim-keeper.js';
import { busyOthers, recordedSleep } from './herd-guard.js';
import { cycle as say, job as sayJob } from './messages.js';
import { readWorkerStates, type WorkerEntry } from './state.js';
import { dispatchByStep } from './replaced-steps.js';
import { writeStepDecision } from './step-files.js';
import { mainTip } from './wait-for-main.js';
import { otherMachinesWorkers } from '../remote/remote-workers.js';
import { trackingRef } from '../remote/target.js';

export type Decided =
  /** `file`: the decision as written to steps/<name>/decision.json; `registry`: the agents it was checked against */
  | { kind: 'run'; agent: AgentDef; args: Record<string, string>; file: Extract<DecisionFile, { kind: 'run' }>; registry: Registry }
  /** baseline: main's tip when dispatch looked; a move away from it wakes the worker */
  | { kind: 'sleep'; reason: string; baseline: string }
  /** `refused`: every CLI of the dispatch agent refused (why, in a few words): the retry waits as after a job's refusals */
  | { kind: 'failed'; message: string; refused?: string }
  /** the worktree has commits that are not on main: land them before dispatching */
  | { kind: 'pending' }
  | { kind: 'aborted' };

/** `lock`: dispatch under the dispatch lock (a worker woken from a sleep: policy.ts dispatchesUnderLock). */
export async function decide(w: Worker, how: { lock: boolean } = { lock: true }): Promise<Decided> {
  await setPhase(w, 'dispatching', { agent: null, args: {}, waiting_on: null });
  if (!how.lock) return decideNow(w);
  const waitFrom = traceNow();
  const lock = await acquireLock({ path: dispatchLockPath(w.paths.stateDir), owner: w.name, onWait: (p) => w.ui.line(describeWait('dispatch', p)), progressMs: 5_000, signal: w.stop.signal });
  if (lock.kind !== 'acquired') return { kind: 'aborted' };
  trace('lock', { worker: w.name, lock: 'dispatch', waited_ms: traceNow() - waitFrom });
  try {
    return await decideNow(w);
  } finally {
    await lock.release();
  }
}

/** What dispatch sees: main's tip (read first), the other workers, then the worktree brought up to main. */
interface Looked {
  baseline: string;
  entries: WorkerEntry[];
  /** remote mode: the other machines' workers (lines for the prompt) */
  remoteWorkers?: string[];
}

async function lookAtMain(w: Worker): Promise<Looked | 'unlanded'> {
  // the tip is read first, so a move during the sync wakes a sleeper; the workers are read
  // before the sync, so one that lands meanwhile is seen busy or its issue gone
  const local = (await mainTip(w.paths.mainWorktree, w.main)) ?? '';
  const entries = await readWorkerStates(w.paths.stateDir);
  if ((await syncForDispatch(w)) === 'unlanded') return 'unlanded';
  if (!w.remote) return { baseline: local, entries };
  // remote mode: dispatch sees the remote's main as the sync fetched it (a push after the
  // fetch wakes a sleeper at its first look at the remote); the clone's workers share it
  // as the herd guard's tip, whatever the local main holds
  const baseline = (await revParse(w.paths.mainWorktree, trackingRef(w.remote))) ?? local;
  return { baseline, entries, remoteWorkers: await otherMachinesWorkers({ repo: w.paths.mainWorktree, stateDir: w.paths.stateDir, target: w.remote, env: w.opts.env }) };
}

async function decideNow(w: Worker): Promise<Decided> {
  const looked = await lookAtMain(w);
  if (looked === 'unlanded') return { kind: 'pending' };
  const { baseline, entries } = looked;
  const herd = recordedSleep(entries, w.name, baseline);
  if (herd) {
    await writeStepDecision(w.paths.stateDir, w.name, herdDecision(w, herd.reason, say.herdSleep(herd.reason, herd.by), baseline));
    await record(w, { kind: 'sleep', reason: herd.reason }, baseline, busyOthers(entries, w.name));
    return { kind: 'sleep', reason: say.herdSleep(herd.reason, herd.by), baseline };
  }
  const decided = w.steps.dispatch ? await decideByStep(w, w.steps.dispatch, baseline) : await dispatchInProcess(w, looked);
  // the claim (taken above) is what keeps others off the job; the state says so to people and the herd guard
  if (decided.kind === 'sleep' || decided.kind === 'run') await record(w, decided, decided.kind === 'sleep' ? decided.baseline : decided.file.main_tip, busyOthers(await readWorkerStates(w.paths.stateDir), w.name));
  return decided;
}

/**
 * The dispatch core, in-process: sessions (with corrective resumes) until one chooses a
 * job whose claim this worker takes, or sleep. A later round looks at main again first.
 */
async function dispatchInProcess(w: Worker, first: Looked): Promise<Decided> {
  const outcome = await claimedDispatch({
    ...sessionSettings(w),
    worktree: w.worktree,
    lock: false,
    store: claimStoreOf(w),
    holder: workerHolder(w),
    look: async (round) => {
      const looked = round === 1 ? first : await lookAtMain(w);
      return looked === 'unlanded' ? { kind: 'stop' } : { mainTip: looked.baseline, workers: looked.entries, remoteWorkers: looked.remoteWorkers };
    },
    signal: w.stop.signal,
    onAgentProblems: (p) => reportAgentProblems(w, p),
  });
  const decided = await decisionOf(w, outcome);
  await updateState(w, { cost_usd: w.state.cost_usd + costOfDispatch(outcome) });
  return decided;
}

/**
 * The repository's own dispatch step (replaced-steps.ts); its decision is checked against
 * the agents here. The job's claim is taken here: one the step took under this worker's
 * name (`coven dispatch --worker NAME` takes one) is taken back as this worker's own; a
 * job someone else holds is a failed dispatch (tried again later).
 */
async function decideByStep(w: Worker, path: string, baseline: string): Promise<Decided> {
  const d = await dispatchByStep(w, path, await loadRegistry(w.worktree));
  if (d.kind !== 'run') return d.kind === 'sleep' ? { ...d, baseline } : d;
  const job = { agent: d.agent.name, args: d.args };
  const store = claimStoreOf(w);
  const take = await store.take(job, workerHolder(w), d.file.main_tip || baseline);
  if (take.kind === 'taken') {
    await holdClaim(w, take.claim);
    return { ...d, file: { ...d.file, main_tip: d.file.main_tip || baseline } };
  }
  if (take.kind === 'lost' || take.kind === 'stale-view') return { kind: 'failed', message: say.stepChoseTaken(path, describeJob(job), describeHolder(take.holder), take.kind) };
  return { kind: 'failed', message: take.kind === 'unreachable' ? say.claimUnreachable(describeJob(job), take.message) : say.claimFailed(describeJob(job), take.message) };
}

/** Says which agent files are broken when that changes (not at every dispatch). */
function reportAgentProblems(w: Worker, problems: string[]): void {
  const now = problems.join('\n');
  if (now === w.agentProblems) return;
  if (problems.length > 0) w.ui.problem(describeAgentProblems(problems));
  else w.ui.line(say.agentFilesReadable);
  w.agentProblems = now;
}

/** Fast-forwards the (landed, clean) worktree to main; uncommitted leftovers are saved first. */
async function syncForDispatch(w: Worker): Promise<SyncResult['kind']> {
  // remote mode: main is the remote's, fetched first (as fetched last when it does not answer)
  let sync = await syncWorktreeWithMain(w.worktree, undefined, w.remote);
  if (sync.kind === 'dirty') {
    const saved = await saveAndClean(w.worktree, w.name, 'wip', 'coven: uncommitted work found before dispatch');
    if (saved.kind === 'saved') {
      w.saved.push(saved.ref);
      w.ui.problem(say.savedBeforeDispatch(w.worktree, saved.files, saved.ref));
    }
    sync = await syncWorktreeWithMain(w.worktree, undefined, w.remote);
  }
  if ('offline' in sync && sync.offline && w.remote) w.ui.problem(say.syncedOffline(w.remote.name, w.main, sync.offline.message));
  if (sync.kind !== 'synced' && sync.kind !== 'up-to-date' && sync.kind !== 'unlanded') w.ui.problem(say.notSynced(w.worktree, w.main, sync.kind));
  return sync.kind;
}

function costOfDispatch(o: ClaimedOutcome): number {
  return 'costUsd' in o ? o.costUsd : 0;
}

async function decisionOf(w: Worker, outcome: ClaimedOutcome): Promise<Decided> {
  switch (outcome.kind) {
    case 'aborted':
      return { kind: 'aborted' };
    case 'look-stopped':
      return { kind: 'pending' };
    case 'claims-lost':
      return { kind: 'failed', message: describeClaimsLost(outcome) };
    case 'claim-unreachable':
      return { kind: 'failed', message: say.claimUnreachable(describeJob(outcome.job), outcome.message) };
    case 'claim-failed':
      return { kind: 'failed', message: say.claimFailed(describeJob(outcome.job), outcome.message) };
    case 'no-dispatch-agent':
      // `coven init` wrote them in the main worktree, but a worker's worktree holds only what is committed
      if (await agentsUncommitted(w)) return { kind: 'failed', message: say.agentsNotCommitted(w.paths.mainWorktree, w.main) };
      return { kind: 'failed', message: say.noDispatchAgent(w.worktree, outcome.problems) };
    case 'invalid':
      return { kind: 'failed', message: say.invalidDecision(outcome.corrections, outcome.problems) };
    case 'session-failed': {
      const message = say.dispatchSessionFailed(renderOutcome(outcome.outcome));
      if (outcome.outcome.kind !== 'refused') return { kind: 'failed', message };
      return { kind: 'failed', message, refused: sayJob.allRefusedWhy(DISPATCH_AGENT, outcome.refused.map((r) => ({ cli: r.cli, reason: r.refusal.reason }))) };
    }
    case 'decided': {
      // its reasoning was shown live with the session's text
      // the decision as a file, as `coven dispatch --out` writes it (a replaced step reads it)
      const claim = outcome.claim;
      const file = decisionFileOf(outcome, { worktree: w.worktree, worker: w.name, mainTip: outcome.mainTip, claim: claim && { key: claim.key, ref: claim.ref, sha: claim.sha } });
      await writeStepDecision(w.paths.stateDir, w.name, file);
      if (file.kind === 'sleep') return { kind: 'sleep', reason: file.reason, baseline: outcome.mainTip };
      if (claim) await holdClaim(w, claim);
      const registry = await loadRegistry(w.worktree);
      const agent = registry.agents.find((a) => a.name === file.agent);
      if (!agent) {
        await releaseClaim(w, { kind: 'given-up', why: `the agent ${file.agent} is gone from the worktree` });
        return { kind: 'failed', message: say.agentVanished(file.agent, w.worktree) };
      }
      return { kind: 'run', agent, args: file.args, file, registry };
    }
  }
}

/** The decision file of a sleep the herd guard decided (no session of this worker's). */
function herdDecision(w: Worker, reason: string, reasoning: string, baseline: string): DecisionFile {
  return { coven: DECISION_FORMAT, kind: 'sleep', reason, reasoning, worktree: w.worktree, worker: w.name, main_tip: baseline, session_id: null, cost_usd: 0, corrections: 0, at: new Date().toISOString() };
}

/** Whether the main worktree has agent files that are not committed (untracked or changed). */
async function agentsUncommitted(w: Worker): Promise<boolean> {
  const r = await git(w.paths.mainWorktree, ['status', '--porcelain', '--untracked-files=all', '--', '.coven/agents']);
  return r.ok && r.stdout.trim() !== '';
}

/** Writes the decision into the worker's state (the herd guard and `coven status` read it). */
async function record(w: Worker, d: { kind: 'sleep'; reason: string } | { kind: 'run'; agent: AgentDef; args: Record<string, string> }, tip: string, busy: string[]): Promise<void> {
  const last_sleep = d.kind === 'sleep' ? { main_tip: tip, busy, reason: d.reason, at: new Date().toISOString() } : null;
  // a run decision marks the worker busy before the lock is released, so the next dispatch sees it
  if (d.kind === 'run') await setPhase(w, 'running', { agent: d.agent.name, args: d.args, last_sleep, cli: d.agent.clis[0] ?? 'claude', cli_note: null, session_id: null });
  else await updateState(w, { last_sleep });
}
