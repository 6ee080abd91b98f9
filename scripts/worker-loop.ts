#!/usr/bin/env node
// worker-loop — one coven worker: its own worktree, then dispatch → run the chosen
// agent → land, again and again; asleep (woken by the git hooks) when there is nothing
// to do.
//
//   args:   --once                 one cycle: dispatch, run, land, exit
//           --name NAME            worker name (branch coven/NAME); default: random
//           --worktree-base DIR    where worktrees go (default $COVEN_WORKTREE_BASE or ~/worktrees)
//           --permission-mode M    for agent sessions (default acceptEdits)
//           --max-idle N           exit after N sleep decisions in a row with no work done
//           --max-cycles N         exit after N agent jobs
//           --timeout MINUTES      wall-clock limit of one agent session (default 60)
//           --on-park wait|continue  after 3 failed conflict resolutions: wait for the
//                                  human (default) or set the branch aside and go on
//           -- ARGS                extra arguments for every claude session
//   stdin:  a line typed while an agent runs is sent to it; on a terminal, Ctrl-C while an
//           agent runs pauses it and offers a menu (see lib/worker-console.ts)
//   env:    COVEN_CLAUDE (the agent CLI), COVEN_WORKTREE_BASE, COVEN_TRACE (a file:
//           timing trace, one JSON line per phase, lock wait, session; scripts/lib/trace.ts)
//   files:  <state dir>/workers/<name>.json, logs/<name>/, locks/; the worktree
//   exit:   0 done (once, idle, cycles, or stopped with everything landed)
//           1 stopped on an unexpected error (said what it kept)
//           2 could not start · 3 stopped with work kept unlanded (said where)
//           4 dispatch failed (--once) · 130 stopped at once by a second signal

import { parseCommandLine, usageError } from './lib/ui/command-line.js';
import { existsSync, realpathSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { describeAgentProblems, dispatch, type DispatchOutcome } from './lib/agents/dispatch.js';
import { describeLand, describeLeftOut } from './lib/land/messages.js';
import { landWorktree, removeLandedWorktree, unlandedCommits, syncWorktreeWithMain, type LandResult, type SyncResult } from './lib/land/land.js';
import { removeUnfinishedWorktree, spawnWorktree, worktreeBase } from './lib/worktree/spawn.js';
import { problemFor } from './lib/worktree/spawn-messages.js';
import { loadRegistry, type AgentDef } from './lib/agents/registry.js';
import { locateAgentCli } from './lib/session/agent-cli.js';
import { runAgentJob, saveAndClean, type SessionSettings } from './lib/agents/agent-job.js';
import { acquireLock, acquireSlot, describeWait, dispatchLockPath } from './lib/locks/dispatch-lock.js';
import { runAsEntry } from './lib/ui/entry.js';
import { dirtyFiles, findRepo, git, gitOut, listWorktrees, projectName, revParse, type RepoPaths, type WorktreeEntry } from './lib/git/runner.js';
import { recordedSleep, busyOthers } from './lib/worker/herd-guard.js';
import { humanDuration } from './lib/ui/human-duration.js';
import { mainBranchOf } from './lib/git/main-branch.js';
import { endOrphanedSession } from './lib/session/orphan.js';
import { clearStaleGitLocks } from './lib/git/stale-locks.js';
import { processStartTime } from './lib/locks/process-identity.js';
import { formatProblem, shellQuote } from './lib/ui/problem.js';
import { abortRebaseIfAny, resolveConflict, type Conflict } from './lib/land/resolve-conflict.js';
import { branchBeingRebased, rebaseInProgress } from './lib/git/operation.js';
import { covenRef } from './lib/worktree/save-work.js';
import type { SessionHandle } from './lib/session/runner.js';
import { renderOutcome } from './lib/session/render.js';
import { mainTip, waitForMainToMove } from './lib/worker/wait-for-main.js';
import { randomWorkerName, WORKER_NAME } from './lib/worker/name.js';
import { trace, traceNow } from './lib/ui/trace.js';
import { newWorkerState, readWorkerState, readWorkerStates, removeWorkerState, updateWorkerState, writeWorkerState, type Phase, type WorkerState } from './lib/worker/state.js';
import { attachConsole } from './lib/ui/worker-console.js';
import { consoleUi, type WorkerUi } from './lib/ui/worker-ui.js';

export interface WorkerOptions {
  cwd: string;
  name?: string;
  worktreeBase?: string;
  once?: boolean;
  maxIdle?: number;
  maxCycles?: number;
  permissionMode?: string;
  extraArgs?: string[];
  timeoutMs?: number;
  onPark?: 'wait' | 'continue';
  env?: NodeJS.ProcessEnv;
  ui?: WorkerUi;
  /** how long to wait before retrying after a failed dispatch or a blocked land (grows ×2, at most 5 min) */
  retryMs?: number;
  /** the waiter's safety re-check when no hook fires (default 60 s) */
  safetyIntervalMs?: number;
}

export type WorkerExit =
  | { kind: 'done'; why: 'once' | 'sleep' | 'idle' | 'cycles' | 'stopped'; state: WorkerState | null }
  | { kind: 'kept'; why: string; state: WorkerState }
  | { kind: 'cannot-start'; message: string }
  | { kind: 'dispatch-failed'; message: string; state: WorkerState }
  /** an unexpected error stopped the loop; `message` is the error's */
  | { kind: 'failed'; message: string; state: WorkerState | null };

export const exitCodes: Record<WorkerExit['kind'], number> = { done: 0, failed: 1, 'cannot-start': 2, kept: 3, 'dispatch-failed': 4 };

/** First request: stop once the current phase is safe. Second: stop now. */
export class StopControl {
  private readonly controller = new AbortController();
  requests = 0;
  session: SessionHandle | null = null;
  get signal(): AbortSignal {
    return this.controller.signal;
  }
  get stopping(): boolean {
    return this.requests > 0;
  }
  request(): void {
    this.requests++;
    this.controller.abort();
    this.session?.abort();
  }
}

interface Worker {
  paths: RepoPaths;
  main: string;
  name: string;
  branch: string;
  worktree: string;
  state: WorkerState;
  ui: WorkerUi;
  opts: WorkerOptions;
  stop: StopControl;
  /** the broken agent files last reported (one per line) */
  agentProblems: string;
  /** refs under refs/coven/ where this worker put work it could not land (told at exit) */
  saved: string[];
  /** the agent of the job whose session is state.session_id: its conflicts are resolved with its claude_args (see jobAgent) */
  job: JobAgent | null;
}

interface JobAgent {
  name: string;
  claudeArgs: readonly string[];
}

export async function runWorker(opts: WorkerOptions, stop = new StopControl()): Promise<WorkerExit> {
  const ui = opts.ui ?? consoleUi();
  const started = await startWorker(opts, ui, stop);
  if (started.kind !== 'started') return started;
  const w = started.worker;
  let why: LoopEnd = 'stopped';
  let failure: string | null = null;
  for (;;) {
    try {
      why = await loop(w);
    } catch (err) {
      why = 'stopped';
      // git failed in a worktree that was deleted in the middle of a step: not a bug
      if (!worktreePresent(w) && !opts.once && (await recreateWorktree(w))) continue;
      if (worktreePresent(w)) {
        failure = err instanceof Error ? err.message : String(err);
        ui.problem(`coven: unexpected error in worker ${w.name}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      }
    }
    break;
  }
  if (why === 'dispatch-failed') {
    await finish(w, 'stopped');
    trace('stopped', { worker: w.name });
    return { kind: 'dispatch-failed', message: 'dispatch failed', state: w.state };
  }
  const exit = await finish(w, why, failure);
  trace('stopped', { worker: w.name });
  return exit;
}

// ---------------------------------------------------------------------------------
// start

async function startWorker(opts: WorkerOptions, ui: WorkerUi, stop: StopControl): Promise<{ kind: 'started'; worker: Worker } | Extract<WorkerExit, { kind: 'cannot-start' }>> {
  const cannot = (what: string, next: string[] = [], kept = 'Nothing was created or changed.') => ({ kind: 'cannot-start' as const, message: formatProblem({ what, kept, next }) });
  const repo = await findRepo(opts.cwd);
  if (repo.kind === 'not-a-repo') return cannot(`${opts.cwd} is not inside a git repository.`, ['cd into your repository, then run coven worker again']);
  if (repo.kind === 'bare') return cannot(`${opts.cwd} is a bare repository; coven needs a main worktree to land on.`, [`git clone ${shellQuote(resolve(opts.cwd))} <project>   (a clone with a checkout), then run coven worker inside it`]);
  const paths = repo.paths;
  const worktrees = await listWorktrees(paths.mainWorktree);
  if (worktrees[0]?.bare) {
    return cannot(`${paths.toplevel} is a worktree of the bare repository ${paths.commonDir}; coven needs a main worktree (a checkout, not a bare repository) to land on.`, [
      `git clone ${shellQuote(paths.commonDir)} <project>   (a clone with a checkout), then run coven worker inside it`,
    ]);
  }
  const main = await mainBranchOf(paths);
  if (main.kind !== 'branch') return cannot(`the main worktree ${paths.mainWorktree} has no branch checked out (detached HEAD), so coven cannot tell which branch is main.`, [`git -C ${shellQuote(paths.mainWorktree)} switch <your main branch>`]);
  if ((await revParse(paths.mainWorktree, `refs/heads/${main.name}`)) === null) {
    return cannot(`the main branch ${main.name} has no commits yet, so a worker has nothing to start from.`, [`git -C ${shellQuote(paths.mainWorktree)} commit --allow-empty -m "initial commit"`, 'coven worker']);
  }
  const cli = locateAgentCli(opts.env ?? process.env, paths.mainWorktree);
  if (cli.kind !== 'found') return cannot(cli.message, ['npm install -g @anthropic-ai/claude-code   (then: claude, to log in once)', 'COVEN_CLAUDE=/path/to/claude coven worker   (if it is installed elsewhere)']);

  const taken = await takenNames(paths);
  const name = opts.name ?? randomWorkerName(taken.all);
  if (!WORKER_NAME.test(name)) return cannot(`'${name}' is not a valid worker name (lower case letters, digits and -, starting with a letter, at most 40).`);
  if (taken.live.has(name)) return cannot(`a worker named ${name} is already running.`, ['coven status', `coven worker --name <another name>`]);
  const branch = `coven/${name}`;
  const rerun = (o: { base?: string }, b?: string) =>
    ['coven worker', ...(b && b !== branch ? ['--name', '<another name>'] : ['--name', name]), ...(o.base ? ['--worktree-base', o.base.startsWith('<') ? o.base : shellQuote(o.base)] : [])].join(' ');

  let worktree: string;
  let inherited: Partial<WorkerState> = {};
  const previous = await readWorkerState(paths.stateDir, name);
  let existing = await worktreeOfBranch(paths, branch, previous?.kind === 'worker' && previous.liveness === 'dead' ? previous.state.worktree : null);
  if (existing?.lockReason === 'initializing') {
    // the previous worker was killed during its `git worktree add`: nothing ran there, make it again
    const removed = await removeUnfinishedWorktree(paths.mainWorktree, existing.path, branch, main.name);
    if (removed === 'removed') {
      ui.line(`coven: removed ${existing.path}, which the previous ${name} left half made; making it again`);
      existing = null;
    }
  }
  if (existing) {
    worktree = existing.path; // a worker of this name stopped earlier: adopt its worktree and whatever it left
    ui.line(`coven: adopting the existing worktree of ${name}: ${worktree}`);
    inherited = await takeOverFrom(paths, name, branch, worktree, ui);
  } else {
    // the state file comes first: a worker killed while its worktree is being made leaves
    // a dead worker that `coven gc` finds and cleans up, not an unknown worktree and branch
    const planned = join(worktreeBase(paths.mainWorktree, opts.worktreeBase), projectName(paths), ...branch.split('/'));
    await writeWorkerState(paths.stateDir, newWorkerState({ name, branch, worktree: planned }));
    // the branch may have outlived its worktree (deleted by hand): it gets a new one, commits and all
    const adopt = (await revParse(paths.mainWorktree, `refs/heads/${branch}`)) !== null;
    const spawnOpts = { cwd: paths.mainWorktree, branch, base: opts.worktreeBase, ...(adopt ? { adopt } : { from: main.name }) };
    const spawned = await spawnWorktree(spawnOpts);
    if (spawned.kind !== 'spawned') {
      if (previous?.kind === 'worker') await writeWorkerState(paths.stateDir, previous.state);
      else await removeWorkerState(paths.stateDir, name);
      return { kind: 'cannot-start', message: formatProblem(problemFor(spawned, spawnOpts, rerun)) };
    }
    worktree = spawned.path;
    if (adopt) ui.line(`coven: ${branch} had no worktree (deleted by hand?); gave it a new one at ${worktree}, with every commit the branch holds`);
  }
  const state = { ...newWorkerState({ name, branch, worktree }), ...inherited };
  await writeWorkerState(paths.stateDir, state);
  trace('worker', { worker: name, process_start: performance.timeOrigin });
  trace('phase', { worker: name, phase: state.phase });
  const w: Worker = { paths, main: main.name, name, branch, worktree, state, ui, opts, stop, agentProblems: '', saved: [], job: null };
  ui.header(state);
  return { kind: 'started', worker: w };
}

/**
 * The worktree where `branch` is checked out, or being rebased (a worker killed
 * mid-rebase), or — at the dead worker's recorded path — left half made by a `git
 * worktree add` that was killed (no branch checked out yet); null if none.
 */
async function worktreeOfBranch(paths: RepoPaths, branch: string, deadPath: string | null): Promise<WorktreeEntry | null> {
  const ref = `refs/heads/${branch}`;
  const worktrees = (await listWorktrees(paths.mainWorktree)).filter((e) => !e.bare);
  const found =
    worktrees.find((e) => !e.prunable && e.branch === ref) ??
    worktrees.find((e) => !e.prunable && e.branch === null && branchBeingRebased(e.path) === ref) ??
    worktrees.find((e) => e.lockReason === 'initializing' && deadPath !== null && samePath(e.path, deadPath));
  return found ?? null;
}

function samePath(a: string, b: string): boolean {
  const real = (p: string) => {
    try {
      return realpathSync(p);
    } catch {
      return resolve(p);
    }
  };
  return real(a) === real(b);
}

/**
 * Before adopting a dead worker's worktree: end the agent session it left running (it
 * would go on committing there), and keep which agent and session made its commits, so
 * a conflict while landing them resumes that session with that agent's tools.
 */
async function takeOverFrom(paths: RepoPaths, name: string, branch: string, worktree: string, ui: WorkerUi): Promise<Partial<WorkerState>> {
  const previous = await readWorkerState(paths.stateDir, name);
  if (previous?.kind !== 'worker' || previous.liveness !== 'dead' || previous.state.branch !== branch) return {};
  const dead = previous.state;
  if (dead.session_process) {
    const ended = await endOrphanedSession({ host: dead.host, ...dead.session_process });
    if (ended === 'ended') ui.line(`coven: ended the agent session the previous ${name} left running (pid ${dead.session_process.pid})`);
  }
  // a git command killed with it (kill -9 of its process group) leaves its locks behind
  for (const lock of await clearStaleGitLocks(worktree, paths.commonDir, branch)) ui.line(`coven: removed ${lock}, left by a git command killed with the previous ${name}`);
  return { agent: dead.agent, args: dead.args, session_id: dead.session_id };
}

async function takenNames(paths: RepoPaths): Promise<{ all: Set<string>; live: Set<string> }> {
  const all = new Set<string>();
  const live = new Set<string>();
  for (const e of await readWorkerStates(paths.stateDir)) {
    if (e.kind !== 'worker') continue;
    all.add(e.state.name);
    if (e.liveness === 'alive') live.add(e.state.name);
  }
  const refs = await git(paths.mainWorktree, ['for-each-ref', '--format=%(refname:lstrip=3)', 'refs/heads/coven/']);
  for (const n of refs.stdout.split('\n')) if (n) all.add(n.split('/')[0]!);
  return { all, live };
}

// ---------------------------------------------------------------------------------
// the loop

type LoopEnd = Extract<WorkerExit, { kind: 'done' }>['why'] | 'dispatch-failed';

async function loop(w: Worker): Promise<LoopEnd> {
  const { opts, stop } = w;
  let idle = 0;
  let jobs = 0;
  let failures = 0;
  /** woken from a sleep decision, which is only made on a clean worktree level with main */
  let woke = false;
  /** the last land was put off (blocked, or its conflict resolution skipped): the next try waits first */
  let putOff = false;
  while (!stop.stopping) {
    if (!worktreePresent(w) && !(await recreateWorktree(w))) return 'stopped';
    // work left from an earlier cycle (a land that was blocked) goes first; after a
    // sleep there is none (a commit made in the worktree meanwhile is found by the sync)
    if (!woke && (await landPending(w, putOff)) !== 'clear') return 'stopped';
    woke = false;
    putOff = false;

    const decided = await decide(w);
    if (decided.kind === 'aborted') break;
    if (decided.kind === 'pending') continue;
    if (decided.kind === 'failed') {
      if (opts.once) {
        w.ui.problem(decided.message);
        return 'dispatch-failed';
      }
      failures++;
      const wait = Math.min(300_000, (opts.retryMs ?? 30_000) * 2 ** (failures - 1));
      w.ui.problem(`${decided.message}\ncoven: trying again in ${humanDuration(wait)}.`);
      await setPhase(w, 'sleeping', { waiting_on: null });
      await sleepFor(wait, stop.signal);
      continue;
    }
    failures = 0;
    if (decided.kind === 'sleep') {
      w.ui.line(`coven: ${w.name} sleeps: ${decided.reason}`);
      if (opts.once) return 'sleep';
      idle++;
      if (opts.maxIdle !== undefined && idle >= opts.maxIdle) return 'idle';
      await setPhase(w, 'sleeping', { waiting_on: decided.baseline, agent: null, args: {} });
      const moved = await waitForMainToMove({ repo: w.paths.mainWorktree, mainBranch: w.main, baseline: decided.baseline, signal: stop.signal, safetyIntervalMs: opts.safetyIntervalMs });
      if (moved.kind === 'aborted') break;
      if (moved.kind === 'moved') w.ui.line(`coven: ${w.main} moved (now ${moved.tip.slice(0, 10)}); ${w.name} wakes up`);
      woke = true;
      continue;
    }

    idle = 0;
    await runJob(w, decided.agent, decided.args);
    jobs++;
    if (!worktreePresent(w) && !(await recreateWorktree(w))) return 'stopped';
    if (stop.stopping) break;
    const landed = await landAndResolve(w);
    if (landed === 'parked-stop') break;
    putOff = landed === 'pending';
    if (opts.once) return 'once';
    if (opts.maxCycles !== undefined && jobs >= opts.maxCycles) return 'cycles';
  }
  return 'stopped';
}

type Decided =
  | { kind: 'run'; agent: AgentDef; args: Record<string, string> }
  /** baseline: main's tip when dispatch looked; a move away from it wakes the worker */
  | { kind: 'sleep'; reason: string; baseline: string }
  | { kind: 'failed'; message: string }
  /** the worktree has commits that are not on main: land them before dispatching */
  | { kind: 'pending' }
  | { kind: 'aborted' };

/** Dispatch under the lock; the herd guard may answer without a session. */
async function decide(w: Worker): Promise<Decided> {
  await setPhase(w, 'dispatching', { agent: null, args: {}, waiting_on: null });
  const waitFrom = traceNow();
  const lock = await acquireLock({
    path: dispatchLockPath(w.paths.stateDir),
    owner: w.name,
    onWait: (p) => w.ui.line(describeWait('dispatch', p)),
    progressMs: 5_000,
    signal: w.stop.signal,
  });
  if (lock.kind !== 'acquired') return { kind: 'aborted' };
  trace('lock', { worker: w.name, lock: 'dispatch', waited_ms: traceNow() - waitFrom });
  try {
    // main may have moved while this worker waited for the lock: dispatch must see what
    // the others landed (the tip is read first, so a move during the sync wakes a sleeper).
    // The other workers are read before the sync: one that lands meanwhile moves main
    // first and its state second, so each issue is seen either taken or gone, never free.
    const baseline = (await mainTip(w.paths.mainWorktree, w.main)) ?? '';
    const entries = await readWorkerStates(w.paths.stateDir);
    if ((await syncForDispatch(w)) === 'unlanded') return { kind: 'pending' };
    const herd = recordedSleep(entries, w.name, baseline);
    if (herd) {
      await record(w, { kind: 'sleep', reason: herd.reason }, baseline, busyOthers(entries, w.name));
      return { kind: 'sleep', reason: `${herd.reason} (as ${herd.by} decided for this commit)`, baseline };
    }
    const outcome = await dispatch({ ...sessionSettings(w), worktree: w.worktree, lock: false, workers: entries, signal: w.stop.signal, onAgentProblems: (p) => reportAgentProblems(w, p) });
    const decided = await decisionOf(w, outcome, baseline);
    w.state = await updateWorkerState(w.paths.stateDir, w.state, { cost_usd: w.state.cost_usd + costOfDispatch(outcome) });
    if (decided.kind === 'sleep' || decided.kind === 'run') await record(w, decided, baseline, busyOthers(await readWorkerStates(w.paths.stateDir), w.name));
    return decided;
  } finally {
    await lock.release();
  }
}

/** Says which agent files are broken when that changes (not at every dispatch). */
function reportAgentProblems(w: Worker, problems: string[]): void {
  const now = problems.join('\n');
  if (now === w.agentProblems) return;
  if (problems.length > 0) w.ui.problem(describeAgentProblems(problems));
  else w.ui.line('coven: every agent file can be read again');
  w.agentProblems = now;
}

/** Fast-forwards the (landed, clean) worktree to main; uncommitted leftovers are saved first. */
async function syncForDispatch(w: Worker): Promise<SyncResult['kind']> {
  let sync = await syncWorktreeWithMain(w.worktree);
  if (sync.kind === 'dirty') {
    const saved = await saveAndClean(w.worktree, w.name, 'wip', 'coven: uncommitted work found before dispatch');
    if (saved.kind === 'saved') {
      w.saved.push(saved.ref);
      w.ui.problem(`coven: ${w.worktree} had uncommitted changes (${saved.files.join(', ')}); saved as ${saved.ref}`);
    }
    sync = await syncWorktreeWithMain(w.worktree);
  }
  if (sync.kind !== 'synced' && sync.kind !== 'up-to-date' && sync.kind !== 'unlanded') w.ui.problem(`coven: could not bring ${w.worktree} up to ${w.main} before dispatch (${sync.kind}); dispatch sees it as it is`);
  return sync.kind;
}

function costOfDispatch(o: DispatchOutcome): number {
  return o.kind === 'decided' || o.kind === 'invalid' || o.kind === 'session-failed' ? o.costUsd : 0;
}

async function decisionOf(w: Worker, outcome: DispatchOutcome, baseline: string): Promise<Decided> {
  switch (outcome.kind) {
    case 'aborted':
      return { kind: 'aborted' };
    case 'no-dispatch-agent':
      return { kind: 'failed', message: formatProblem({ what: `there is no usable dispatch agent in ${w.worktree}:\n${outcome.problems.map((p) => `  ${p}`).join('\n')}`, next: ['coven init   (writes the default agents), then commit them on the main branch'] }) };
    case 'invalid':
      return { kind: 'failed', message: formatProblem({ what: `dispatch gave no valid decision after ${outcome.corrections} corrections: ${outcome.problems.join('; ')}.`, kept: 'Nothing was run; the repository is as it was.' }) };
    case 'session-failed':
      return { kind: 'failed', message: formatProblem({ what: `the dispatch session failed:\n${renderOutcome(outcome.outcome)}`, kept: 'Nothing was run.' }) };
    case 'decided': {
      const d = outcome.decision; // its reasoning was shown live with the session's text
      if (d.kind === 'sleep') return { kind: 'sleep', reason: d.reason, baseline };
      const registry = await loadRegistry(w.worktree);
      const agent = registry.agents.find((a) => a.name === d.agent);
      if (!agent) return { kind: 'failed', message: `coven: agent ${d.agent} vanished from ${w.worktree}/.coven/agents after dispatch chose it.` };
      return { kind: 'run', agent, args: d.args };
    }
  }
}

/** Writes the decision into the worker's state (the herd guard and `coven status` read it). */
async function record(w: Worker, d: { kind: 'sleep'; reason: string } | { kind: 'run'; agent: AgentDef; args: Record<string, string> }, tip: string, busy: string[]): Promise<void> {
  const last_sleep = d.kind === 'sleep' ? { main_tip: tip, busy, reason: d.reason, at: new Date().toISOString() } : null;
  // a run decision marks the worker busy before the lock is released, so the next dispatch sees it
  if (d.kind === 'run') await setPhase(w, 'running', { agent: d.agent.name, args: d.args, last_sleep });
  else w.state = await updateWorkerState(w.paths.stateDir, w.state, { last_sleep });
}

async function runJob(w: Worker, agent: AgentDef, args: Record<string, string>): Promise<void> {
  let release: (() => Promise<unknown>) | null = null;
  if (agent.maxConcurrency !== undefined) {
    const slot = await acquireSlot({ stateDir: w.paths.stateDir, agent: agent.name, slots: agent.maxConcurrency, owner: w.name, onWait: (p) => w.ui.line(describeWait(`a slot of ${agent.name}`, p)), progressMs: 5_000, signal: w.stop.signal });
    if (slot.kind !== 'acquired') return;
    release = () => slot.release();
  }
  try {
    // session_id is the job's own once it ends: a worker adopting this one after a kill
    // must not resume an earlier job's session for this job's conflicts
    await setPhase(w, 'running', { agent: agent.name, args, cycles: w.state.cycles + 1, session_id: null });
    w.job = { name: agent.name, claudeArgs: agent.claudeArgs };
    const job = await runAgentJob({ ...sessionSettings(w), worktree: w.worktree, branch: w.branch, agent, args });
    if (job.kind === 'bad-args') {
      w.ui.problem(`coven: ${agent.name} cannot run: missing ${job.missing.join(', ') || '-'}, unknown ${job.unknown.join(', ') || '-'}`);
      return;
    }
    w.state = await updateWorkerState(w.paths.stateDir, w.state, { cost_usd: w.state.cost_usd + job.costUsd, session_id: job.sessionId });
    if (job.kind === 'worktree-gone') return; // the loop notices and says so
    if (job.session.kind === 'cli-not-found') w.ui.problem(`coven: ${job.session.message}`);
    if (job.stray) w.saved.push(job.stray);
    if (job.saved.kind === 'saved') w.saved.push(job.saved.ref);
    w.saved.push(...job.kept.dropped);
    if (job.stray) w.ui.problem(`coven: the agent committed off its branch; those commits are saved as ${job.stray}`);
    for (const ref of job.kept.dropped) w.ui.problem(`coven: the agent reset its branch and dropped commits; they are kept as ${ref}   (git log ${ref})`);
    if (job.kept.rewound) {
      const r = job.kept.rewound;
      w.ui.problem(
        formatProblem({
          what: `${w.main} moved backwards while ${agent.name} ran (from ${r.from.slice(0, 10)} to ${r.to ? r.to.slice(0, 10) : 'nothing'}): a forced push or a reset of ${w.main}, by the agent or by someone else.`,
          kept: `coven did not move ${w.main} back. Its old tip is kept as ${r.ref}.`,
          next: [`git log --oneline ${shellQuote(w.main)}..${r.ref}   (the commits that left ${w.main})`, r.to
              ? `git -C ${shellQuote(w.paths.mainWorktree)} cherry-pick ${r.to.slice(0, 12)}..${r.ref}   (puts them back on top of ${w.main}, which may have moved on since; run where ${w.main} is checked out)`
              : `git -C ${shellQuote(w.paths.mainWorktree)} merge --ff-only ${r.ref}   (puts them back, if ${w.main} is checked out there)`],
        }),
      );
    }
    if (job.saved.kind === 'saved') w.ui.problem(`coven: the agent left uncommitted changes (${job.saved.files.join(', ')}); saved as ${job.saved.ref}, not landed`);
  } finally {
    await release?.();
  }
}

// ---------------------------------------------------------------------------------
// landing

type LandEnd = 'landed' | 'nothing' | 'pending' | 'parked-continue' | 'parked-stop';

/** Lands the worker's branch: counts what landed, resolves conflicts, parks when it must. */
async function landAndResolve(w: Worker): Promise<LandEnd> {
  await setPhase(w, 'landing', { waiting_on: null });
  // before the rebase changes the worktree's files (an agent file may itself conflict)
  const agent = await jobAgent(w);
  let land = await landWorktree({ worktree: w.worktree, keep: true });
  if (land.kind === 'dirty') {
    const saved = await saveAndClean(w.worktree, w.name, 'wip', 'coven: uncommitted work found at land time');
    if (saved.kind === 'saved') w.saved.push(saved.ref);
    land = await landWorktree({ worktree: w.worktree, keep: true });
  }
  if (land.kind === 'conflict') {
    await setPhase(w, 'resolving', {});
    w.ui.line(`coven: rebasing onto ${land.onto} stopped on a conflict in ${land.files.join(', ') || 'a commit git could not apply'}; resuming the session that made the commits to resolve it`);
    const resolved = await resolveConflict({
      ...sessionSettings(w),
      worktree: w.worktree,
      branch: w.branch,
      conflict: land as Conflict,
      agentName: agent.name,
      claudeArgs: agent.claudeArgs,
      sessionId: w.state.session_id,
      signal: w.stop.signal,
    });
    w.state = await updateWorkerState(w.paths.stateDir, w.state, { cost_usd: w.state.cost_usd + resolved.costUsd, session_id: resolved.sessionId });
    if (resolved.kind === 'stopped' || resolved.kind === 'skipped') {
      await undoRebase(w);
      if (resolved.kind === 'skipped') {
        const later = w.opts.once ? '' : `; ${w.name} tries the land again once ${w.main} moves, or in ${humanDuration(retryWait(w, 1))}`;
        w.ui.line(`coven: conflict resolution skipped: the rebase is undone and ${w.branch} keeps its ${land.commits} commit(s)${later}`);
      }
      return 'pending';
    }
    if (resolved.kind === 'gave-up') {
      const overtaken = resolved.rounds - resolved.failed;
      const rounds =
        resolved.why === 'failed'
          ? `${resolved.failed} resolution rounds did not fix it${overtaken > 0 ? ` (${overtaken} more were overtaken by ${land.onto} moving)` : ''}`
          : `${overtaken} resolutions were overtaken by ${land.onto} moving again (${resolved.failed} did not resolve)`;
      const left = resolved.markers.length > 0 ? `; the last one left conflict markers in ${resolved.markers.join(', ')}` : '';
      return park(w, resolved.last, rounds + left, resolved.unfinished);
    }
    land = resolved.land;
    w.ui.line(`coven: conflict resolved in ${resolved.rounds} round(s)`);
    const b = resolved.backup;
    if (b) w.ui.problem(`coven: the resolution kept ${b.after} of ${w.name}'s ${b.before} commit(s); the branch as it was before is saved as ${b.ref}`);
  }
  switch (land.kind) {
    case 'landed':
      w.state = await updateWorkerState(w.paths.stateDir, w.state, { landed: w.state.landed + land.commits });
      trace('landed', { worker: w.name, commits: land.commits });
      w.ui.line(`coven: landed ${land.commits} commit(s) on ${land.onto} (now ${land.main.slice(0, 10)})`);
      if (land.leftOut) w.ui.problem(describeLeftOut(land.onto, land.leftOut));
      return 'landed';
    case 'nothing-to-land':
      w.ui.line('coven: nothing to land');
      if (land.leftOut) w.ui.problem(describeLeftOut(land.onto, land.leftOut));
      return 'nothing';
    case 'main-blocked':
    case 'main-busy':
      w.ui.problem(describeLand(land, { self: 'coven land', againArgs: ['--keep'] }).text);
      w.ui.problem(`coven: ${w.name} keeps its commits and retries the land before its next dispatch.`);
      return 'pending';
    default:
      return park(w, land);
  }
}

/**
 * Aborts a rebase left open in the worktree (the branch goes back to its commits); how
 * far it had got is kept under refs/coven/unfinished/… and, with `announce`, the worker
 * says where. Returns that ref (null: no rebase was open).
 */
async function undoRebase(w: Worker, announce = true): Promise<string | null> {
  const undone = await abortRebaseIfAny(w.worktree, w.name);
  if (undone.kept && announce) w.ui.line(`coven: the unfinished rebase in ${w.worktree} is undone (${w.branch} keeps its commits); how far it had got is kept as ${undone.kept}   (git show --stat ${undone.kept})`);
  return undone.kept;
}

/**
 * Lands commits left from earlier (blocked lands, a skipped resolution, an adopted
 * worktree) before new work. `putOff`: the last land was just put off, so even the first
 * try waits (until main moves, or the retry wait).
 */
async function landPending(w: Worker, putOff = false): Promise<'clear' | 'stop' | 'parked-stop'> {
  for (let attempt = putOff ? 1 : 0; !w.stop.stopping; attempt++) {
    await undoRebase(w);
    const unlanded = await unlandedCommits(w.worktree);
    if (unlanded.kind !== 'unlanded') {
      w.ui.problem(describeLand(unlanded, { self: 'coven land', againArgs: ['--keep'] }).text);
      return 'stop';
    }
    if (unlanded.commits.length === 0) return 'clear';
    if (attempt > 0) {
      const wait = retryWait(w, attempt);
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

/** How long the `attempt`th try (from 1) of a put-off land waits for main to move: the retry wait, ×2 each time, at most 5 min. */
function retryWait(w: Worker, attempt: number): number {
  return Math.min(300_000, (w.opts.retryMs ?? 30_000) * 2 ** Math.min(attempt - 1, 4));
}

/**
 * After failed resolutions (or a land that cannot go on): the branch keeps every
 * commit; the human is told what to do. --on-park=continue sets the branch aside as
 * coven/parked/<name>-<time> and goes on from main; otherwise the worker waits until
 * the branch has nothing left to land (with --once it stops).
 */
async function park(w: Worker, last: LandResult, rounds = '3 resolution rounds did not fix it', unfinished: string | null = null): Promise<LandEnd> {
  const attempt = (await undoRebase(w, false)) ?? unfinished;
  await setPhase(w, 'parked', {});
  const unlanded = await unlandedCommits(w.worktree);
  const count = unlanded.kind === 'unlanded' ? unlanded.commits.length : 0;
  const also = attempt ? ` How far the resolution got is kept as ${attempt}   (git show --stat ${attempt}).` : '';
  const why = last.kind === 'conflict' ? `its commits conflict with ${last.onto} in ${last.files.join(', ') || 'files git could not merge'}, and ${rounds}` : `its land stopped: ${last.kind}`;
  if (w.opts.onPark === 'continue') {
    const aside = `coven/parked/${w.name}-${covenRef('x', 'x').split('/').pop()}`;
    await gitOut(w.worktree, ['branch', '-m', w.branch, aside]);
    await gitOut(w.worktree, ['checkout', '--quiet', '--track', '-b', w.branch, w.main]);
    w.ui.problem(
      formatProblem({
        what: `${w.name} parked its work: ${why}.`,
        kept: `The ${count} commit(s) are on the branch ${aside}; the worker goes on from ${w.main}.${also}`,
        next: [`git -C ${shellQuote(w.paths.mainWorktree)} rebase ${shellQuote(w.main)} ${aside}   (resolve by hand), then merge it`, `git branch -D ${aside}   (to drop that work)`],
      }),
    );
    return 'parked-continue';
  }
  w.ui.problem(
    formatProblem({
      what: `${w.name} is parked: ${why}.`,
      kept: `Nothing was lost: the ${count} commit(s) stay on ${w.branch} in ${w.worktree}; ${w.main} is unchanged.${also}`,
      next: [
        `cd ${shellQuote(w.worktree)} && git rebase ${shellQuote(w.main)}   (resolve, git add, git -c core.editor=true rebase --continue)`,
        `coven land --keep --worktree ${shellQuote(w.worktree)}`,
        w.opts.once ? `coven worker --name ${w.name}   (picks up where this worker stopped)` : `the worker goes on by itself once ${w.branch} has nothing left to land`,
      ],
    }),
  );
  if (w.opts.once) return 'parked-stop';
  // wait for the human: go on once the branch holds nothing unlanded (they landed it, or
  // dropped it); checked whenever main moves, and on the slow safety check
  while (!w.stop.stopping) {
    const baseline = (await mainTip(w.paths.mainWorktree, w.main)) ?? '';
    const now = await unlandedCommits(w.worktree);
    if (now.kind === 'unlanded' && now.commits.length === 0 && !rebaseInProgress(w.worktree)) {
      w.ui.line(`coven: ${w.branch} has nothing left to land; ${w.name} goes on.`);
      return 'parked-continue';
    }
    const every = w.opts.safetyIntervalMs ?? 60_000;
    await waitForMainToMove({ repo: w.paths.mainWorktree, mainBranch: w.main, baseline, signal: AbortSignal.any([w.stop.signal, AbortSignal.timeout(every)]), safetyIntervalMs: every });
  }
  return 'parked-stop';
}

// ---------------------------------------------------------------------------------
// stop

/** `failure`: the unexpected error that ended the loop (the exit is then `failed`). */
async function finish(w: Worker, why: Extract<WorkerExit, { kind: 'done' }>['why'], failure: string | null = null): Promise<WorkerExit> {
  await setPhase(w, 'stopping', { agent: null, args: {} }).catch(() => undefined);
  if (!worktreePresent(w)) return finishWithoutWorktree(w, why);
  // coven aborts its own rebases where they stop (resolve, park); one still in progress is
  // the human's (resolving a parked worker by hand, as its message says): left as it is
  const rebasing = rebaseInProgress(w.worktree);
  const [unlanded, dirty] = await Promise.all([unlandedCommits(w.worktree), dirtyFiles(w.worktree).catch(() => [] as string[])]);
  const commits = unlanded.kind === 'unlanded' ? unlanded.commits.length : 0;
  if (unlanded.kind === 'unlanded' && commits === 0 && dirty.length === 0) {
    const removal = await removeLandedWorktree({ worktree: w.worktree, branch: w.branch, onto: unlanded.onto });
    if (removal.kind === 'removed') {
      await removeWorkerState(w.paths.stateDir, w.name);
      if (failure !== null) {
        w.ui.problem(
          formatProblem({
            what: `${w.name} stopped on an unexpected error: ${failure}`,
            kept: `It left nothing unlanded (its branch had no commits that are not on ${w.main}, its worktree no uncommitted changes), so its worktree and branch are removed.${w.saved.length > 0 ? `\n${describeSaved(w.saved)}` : ''}`,
            next: [`coven worker --name ${w.name}   (starts it again, once the cause above is fixed)`],
          }),
        );
        return { kind: 'failed', message: failure, state: null };
      }
      if (w.saved.length === 0) w.ui.line(`coven: ${w.name} stopped; everything it made is on ${w.main}; its worktree and branch are removed.`);
      else w.ui.problem(`coven: ${w.name} stopped; its commits are on ${w.main} and its worktree and branch are removed.\n${describeSaved(w.saved)}`);
      return { kind: 'done', why, state: null };
    }
    w.ui.problem(`coven: ${w.name} stopped${failure !== null ? ` on an unexpected error (${failure})` : ''} but could not remove its worktree: ${removal.kind === 'not-removed' ? removal.reason : removal.kind}`);
    return failure !== null ? { kind: 'failed', message: failure, state: w.state } : { kind: 'done', why, state: w.state };
  }
  const left = [rebasing ? 'a rebase in progress' : '', commits > 0 ? `${commits} commit(s) not on ${w.main}` : '', dirty.length > 0 ? `uncommitted changes (${dirty.slice(0, 5).join(', ')}${dirty.length > 5 ? ', …' : ''})` : ''].filter(Boolean).join(' and ');
  w.ui.problem(
    formatProblem({
      what: `${w.name} stopped${failure !== null ? ` on an unexpected error (${failure})` : ''} with work that is not on ${w.main}: ${left || 'a worktree coven could not read'}.`,
      kept: `Kept: the branch ${w.branch} and the worktree ${w.worktree}.${w.saved.length > 0 ? `\n${describeSaved(w.saved)}` : ''}`,
      next: [
        ...(rebasing ? [`cd ${shellQuote(w.worktree)} && git status   (finish the rebase: git rebase --continue, or drop it: git rebase --abort)`] : []),
        `coven worker --name ${w.name}   (a new worker picks it up and lands it)`,
        `cd ${shellQuote(w.worktree)} && git status && coven land   (land it yourself)`,
        `coven gc --force   (set it aside under refs/coven/gc/ and remove the worktree and branch)`,
        `git -C ${shellQuote(w.paths.mainWorktree)} worktree remove --force ${shellQuote(w.worktree)} && git -C ${shellQuote(w.paths.mainWorktree)} branch -D ${w.branch}   (discard it)`,
      ],
    }),
  );
  return failure !== null ? { kind: 'failed', message: failure, state: w.state } : { kind: 'kept', why: left, state: w.state };
}

/** The worktree folder was deleted under the worker and could not be made again. */
async function finishWithoutWorktree(w: Worker, why: Extract<WorkerExit, { kind: 'done' }>['why']): Promise<WorkerExit> {
  const commits = await unlandedOnBranch(w);
  if (commits === null) {
    await git(w.paths.mainWorktree, ['worktree', 'prune']);
    await removeWorkerState(w.paths.stateDir, w.name);
    w.ui.problem(`coven: ${w.name} stopped: its worktree ${w.worktree} and its branch ${w.branch} were deleted by hand.`);
    return { kind: 'done', why, state: null };
  }
  w.ui.problem(
    formatProblem({
      what: `${w.name} stopped: its worktree ${w.worktree} is gone (deleted by hand?).`,
      kept: `The branch ${w.branch} keeps every commit${commits > 0 ? ` (${commits} not on ${w.main})` : ''}.`,
      next: [`coven worker --name ${w.name}   (gives the branch a new worktree and lands what it holds)`, `git branch -D ${w.branch}   (to drop it)`],
    }),
  );
  return { kind: 'kept', why: 'worktree gone', state: w.state };
}

// ---------------------------------------------------------------------------------
// a worktree deleted by hand

/** Whether the worker's worktree is still there (a folder with its `.git` file). */
function worktreePresent(w: Worker): boolean {
  return existsSync(join(w.worktree, '.git'));
}

/** Commits on the worker's branch that are not on main; null when the branch is gone. */
async function unlandedOnBranch(w: Worker): Promise<number | null> {
  if ((await revParse(w.paths.mainWorktree, `refs/heads/${w.branch}`)) === null) return null;
  const r = await git(w.paths.mainWorktree, ['rev-list', '--count', `refs/heads/${w.main}..refs/heads/${w.branch}`]);
  return r.ok ? Number(r.stdout.trim()) : 0;
}

/**
 * The worktree folder was deleted under the running worker. Its branch (a ref in the
 * shared .git) still holds every commit: give it a new worktree and go on. False when
 * that is not possible (the branch is gone too, or the folder cannot be made): the
 * worker then stops and says what is left.
 */
async function recreateWorktree(w: Worker): Promise<boolean> {
  const commits = await unlandedOnBranch(w);
  const what = `the worktree of ${w.name} (${w.worktree}) was deleted while the worker ran.`;
  if (commits === null) return false;
  const spawned = await spawnWorktree({ cwd: w.paths.mainWorktree, branch: w.branch, base: w.opts.worktreeBase, adopt: true });
  if (spawned.kind !== 'spawned') {
    w.ui.problem(formatProblem({ what, kept: `The branch ${w.branch} keeps every commit; a new worktree could not be made:\n${formatProblem(problemFor(spawned, { cwd: w.paths.mainWorktree, branch: w.branch, base: w.opts.worktreeBase, adopt: true }))}` }));
    return false;
  }
  w.worktree = spawned.path;
  w.state = await updateWorkerState(w.paths.stateDir, w.state, { worktree: w.worktree });
  w.ui.problem(
    formatProblem({
      what,
      kept: `Nothing committed was lost: the branch ${w.branch} keeps every commit${commits > 0 ? ` (${commits} not on ${w.main} yet, landed next)` : ''}. Uncommitted files that were in that folder are gone.\n${w.name} gave ${w.branch} a new worktree at ${w.worktree} and goes on.`,
    }),
  );
  return true;
}

/** Where the work that could not be landed went, one line per ref. */
function describeSaved(refs: string[]): string {
  return refs.map((r) => `Work it could not commit on its branch is saved as ${r}  (git show ${r})`).join('\n');
}

// ---------------------------------------------------------------------------------
// helpers

function sessionSettings(w: Worker): SessionSettings {
  return {
    stateDir: w.paths.stateDir,
    worker: w.name,
    permissionMode: w.opts.permissionMode,
    extraArgs: w.opts.extraArgs,
    timeoutMs: w.opts.timeoutMs,
    env: w.opts.env,
    display: (line) => w.ui.line(line),
    onSession: async (s) => {
      w.stop.session = s;
      if (s && w.stop.stopping) s.abort();
      // recorded so that whoever takes over after a kill -9 can end the session (orphan-session.ts)
      const session_process = s?.pid !== undefined ? { pid: s.pid, start: processStartTime(s.pid) } : null;
      w.state = await updateWorkerState(w.paths.stateDir, w.state, { session_process });
    },
  };
}

/**
 * The agent whose session made the commits being landed, with its claude_args: the
 * job's own, kept when it started; for commits adopted from a dead worker, its recorded
 * agent, read from the agent files (before any rebase of this worker's changes them).
 */
async function jobAgent(w: Worker): Promise<JobAgent> {
  if (w.job) return w.job;
  const name = w.state.agent;
  const registry = name ? await loadRegistry(w.worktree) : null;
  w.job = { name: name ?? 'agent', claudeArgs: registry?.agents.find((a) => a.name === name)?.claudeArgs ?? [] };
  return w.job;
}

async function setPhase(w: Worker, phase: Phase, patch: Partial<WorkerState>): Promise<void> {
  const changed = phase !== w.state.phase;
  w.state = await updateWorkerState(w.paths.stateDir, w.state, { ...patch, phase });
  if (changed) {
    trace('phase', { worker: w.name, phase });
    w.ui.header(w.state);
  }
}

async function sleepFor(ms: number, signal: AbortSignal): Promise<void> {
  await delay(ms, undefined, { signal }).catch(() => undefined);
}

// ---------------------------------------------------------------------------------
// command line

const usage = `usage: coven worker [--once] [--name NAME] [--worktree-base DIR]
                    [--permission-mode MODE] [--max-idle N] [--max-cycles N]
                    [--timeout MINUTES] [--on-park wait|continue] [-- <claude args>]

Starts a worker: its own worktree and branch (coven/NAME), then dispatch → run the
chosen agent → land on the main branch, again and again. When dispatch says there is
nothing to do, the worker sleeps until the main branch moves (git hooks wake it).
Ctrl-C (or SIGTERM) stops it once the current step is safe; a second one stops at once.

While an agent runs, a line you type is sent to it as a message (it sees it at its
next step). On a terminal, Ctrl-C while an agent runs pauses it and asks: m send a
message and resume · r resume · s skip this job (its commits land as usual; in a
conflict resolution: the land is tried again once main moves or after a wait) · q stop
the worker; Ctrl-C again stops at once. Lines typed while no agent runs are not sent.
When stdin is not a terminal: no menu, no prompts; piped lines are still sent to the
running agent. When stdout is not a terminal (or TERM=dumb): plain lines, no title.

  --once              one cycle, then exit
  --name NAME         the worker's name (branch coven/NAME; default: a random one);
                      the name of a stopped or dead worker adopts its worktree
  --worktree-base DIR where the worktree goes (default: $COVEN_WORKTREE_BASE, else
                      ~/worktrees)
  --permission-mode M claude's --permission-mode (default acceptEdits)
  --max-idle N        exit after N sleep decisions in a row
  --max-cycles N      exit after N agent jobs
  --timeout MINUTES   wall-clock limit of one session (default 60)
  --on-park MODE      after 3 failed conflict resolutions: wait (default: stay parked
                      until the branch has nothing left to land; with --once, exit) or
                      continue (set the branch aside as coven/parked/…, go on at once)
  -- <claude args>    extra arguments for every claude session

env: COVEN_CLAUDE (the claude binary), COVEN_WORKTREE_BASE, COVEN_TRACE (a file:
     one JSON line per phase change, lock wait, session and land)

exit: 0 done · 1 stopped on an unexpected error (the message says what it kept)
      2 could not start · 3 stopped with work kept (the message says where)
      4 dispatch failed (--once) · 130 stopped at once (second Ctrl-C) · 64 bad usage
`;

export async function main(argv: string[]): Promise<number> {
  const valued = ['name', 'worktree-base', 'permission-mode', 'max-idle', 'max-cycles', 'timeout', 'on-park'];
  const spec = { command: 'coven worker', usage, string: valued, boolean: ['once'], passThrough: true };
  const cl = parseCommandLine(argv, spec);
  if (cl.kind === 'exit') return cl.code;
  const args = cl.args;
  const bad = (msg: string) => usageError(spec, msg).code;
  const count = (key: string): number | undefined | null => {
    const v = args[key] as string | undefined;
    if (v === undefined) return undefined;
    const n = Number(v);
    return Number.isInteger(n) && n > 0 ? n : null;
  };
  const maxIdle = count('max-idle');
  const maxCycles = count('max-cycles');
  const timeout = args.timeout === undefined ? undefined : Number(args.timeout);
  if (maxIdle === null) return bad('--max-idle takes a positive whole number');
  if (maxCycles === null) return bad('--max-cycles takes a positive whole number');
  if (timeout !== undefined && !(timeout > 0)) return bad('--timeout takes a number of minutes');
  const onPark = (args['on-park'] as string | undefined) ?? 'wait';
  if (onPark !== 'wait' && onPark !== 'continue') return bad('--on-park is wait or continue');

  const stop = new StopControl();
  const stopNow = (): never => {
    process.stderr.write('\ncoven: stopping now.\n');
    process.exit(130);
  };
  const requestStop = () => {
    stop.request();
    if (stop.requests === 1) process.stderr.write('\ncoven: stopping once the current step is safe (again to stop at once)…\n');
    else stopNow();
  };
  // typed lines steer the running agent; Ctrl-C on a terminal while an agent runs pauses it and offers a menu
  const terminal = attachConsole({ input: process.stdin, ui: consoleUi(), err: process.stderr, control: stop, onStop: requestStop, onStopNow: stopNow });
  process.on('SIGINT', () => terminal.interrupt());
  process.on('SIGTERM', () => terminal.terminate());
  // Over a file-size limit (ulimit -f) a write fails with EFBIG, which coven reports and
  // rolls back; without a listener of ours, signal-exit (through lockfile) re-raises the
  // SIGXFSZ that comes with it and kills the worker half-way, leaving a half-made worktree.
  process.on('SIGXFSZ', () => undefined);

  const exit = await runWorker(
    {
      cwd: process.cwd(),
      name: args.name as string | undefined,
      worktreeBase: args['worktree-base'] as string | undefined,
      once: args.once as boolean,
      maxIdle: maxIdle ?? undefined,
      maxCycles: maxCycles ?? undefined,
      permissionMode: args['permission-mode'] as string | undefined,
      extraArgs: (args['--'] as string[] | undefined) ?? [],
      timeoutMs: timeout === undefined ? undefined : timeout * 60_000,
      onPark,
      retryMs: numberFromEnv('COVEN_RETRY_MS'),
      safetyIntervalMs: numberFromEnv('COVEN_SAFETY_INTERVAL_MS'),
      ui: terminal.ui,
    },
    stop,
  );
  terminal.close();
  if (exit.kind === 'cannot-start') process.stderr.write(`${exit.message}\n`);
  return exitCodes[exit.kind];
}

function numberFromEnv(name: string): number | undefined {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? v : undefined;
}

runAsEntry(import.meta.url, main);
