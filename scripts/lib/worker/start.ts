// worker start — check the repository, choose the name, and give the worker its worktree:
// a new one (spawn), or the one a stopped or killed worker of the same name left
// (adopted, with what its agent session left behind taken over).

import { realpathSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { findRepo, git, listWorktrees, projectName, revParse, type RepoPaths, type WorktreeEntry } from '../git/runner.js';
import { localUpstreamOf, mainBranchOf } from '../git/main-branch.js';
import { recordMainBranch } from './wake.js';
import { branchBeingRebased } from '../git/operation.js';
import { clearStaleGitLocks } from '../git/stale-locks.js';
import { undoLeftBySession } from '../git/setup-guard.js';
import { locateAgentCli } from '../session/agent-cli.js';
import { adapterFor } from '../clis/index.js';
import { loadRegistry } from '../agents/registry.js';
import { checkAgentClis } from './cli-check.js';
import { cliOfRecord } from '../steps/session-record.js';
import { acquireLock, nameLockPath } from '../locks/dispatch-lock.js';
import { findStepOverrides } from '../steps/overrides.js';
import { endOrphanedSession } from '../session/orphan.js';
import { formatProblem } from '../ui/problem.js';
import { trace } from '../ui/trace.js';
import type { WorkerUi } from '../ui/worker-ui.js';
import { removeUnfinishedWorktree, spawnWorktree, worktreeBase } from '../worktree/spawn.js';
import { problemFor } from '../worktree/spawn-messages.js';
import type { StopControl, Worker, WorkerExit, WorkerOptions } from './context.js';
import { cannotStart, cannotStartText, replaced as sayReplaced, rerunCommand, start as say } from './messages.js';
import { randomWorkerName, WORKER_NAME } from './name.js';
import { pinWorkerWorktree } from './worktree-identity.js';
import { stateDirProblem } from './state-dir.js';
import { resolveRemote, type RemoteTarget } from '../remote/target.js';
import { retakeOwnClaim } from './claim-keeper.js';
import { fetchRemoteMain } from '../land/remote-main.js';
import { jobOfRecord, readStepSession } from './step-files.js';
import { newWorkerState, readWorkerState, readWorkerStates, removeWorkerState, writeWorkerState, type WorkerState } from './state.js';

type CannotStart = Extract<WorkerExit, { kind: 'cannot-start' }>;

export async function startWorker(opts: WorkerOptions, ui: WorkerUi, stop: StopControl): Promise<{ kind: 'started'; worker: Worker } | CannotStart> {
  const cannot = (p: { what: string; next: string[] }): CannotStart => ({ kind: 'cannot-start', message: cannotStartText(p) });
  const repo = await findRepo(opts.cwd);
  if (repo.kind === 'not-a-repo') return cannot(cannotStart.notARepo(opts.cwd));
  if (repo.kind === 'bare') return cannot(cannotStart.bare(resolve(opts.cwd)));
  const paths = repo.paths;
  if ((await listWorktrees(paths.mainWorktree))[0]?.bare) return cannot(cannotStart.worktreeOfBare(paths.toplevel, paths.commonDir));
  const main = await mainBranchOf(paths);
  if (main.kind !== 'branch') return cannot(cannotStart.detached(paths.mainWorktree));
  if ((await revParse(paths.mainWorktree, `refs/heads/${main.name}`)) === null) return cannot(cannotStart.noCommits(main.name, paths.mainWorktree));
  const clis = await checkClis(paths, opts, ui);
  if (clis) return cannot(clis);
  const overrides = findStepOverrides(paths.mainWorktree, opts.env ?? process.env);
  if (overrides.kind === 'bad') return cannot(sayReplaced.badOverride(overrides.problem));
  const remote = await resolveRemote(paths.mainWorktree, main.name, opts.remote, opts.env ?? process.env);
  if (remote.kind === 'problem') return cannot({ what: `${remote.message}. Nothing was created.`, next: remote.next ?? ['git remote -v   (the remotes this clone has)'] });
  const badState = await stateDirProblem(paths.stateDir);
  if (badState) return cannot({ what: `${badState.what}. Nothing was created.`, next: [`${badState.next}   (then start the worker again)`] });

  const taken = await takenNames(paths);
  const name = opts.name ?? randomWorkerName(taken.all);
  if (!WORKER_NAME.test(name)) return cannot(cannotStart.badName(name));
  // two workers started with one name at the same moment: one claims the name (until its
  // state is written), the other then finds it alive; neither adopts or spawns alongside
  // (best effort: where no lock can be taken, e.g. the locks folder is broken, the worker
  // starts as before and the first lock it needs says what is wrong)
  const claim = await acquireLock({ path: nameLockPath(paths.stateDir, name), owner: name, signal: stop.signal }).catch(() => null);
  if (claim?.kind === 'aborted') return cannot(cannotStart.nameTaken(name));
  try {
    const now = await readWorkerState(paths.stateDir, name);
    if (taken.live.has(name) || (now?.kind === 'worker' && now.liveness === 'alive')) return cannot(cannotStart.nameTaken(name));
    // a worker restarted under the name of one that ran in remote mode goes on in remote mode
    // (its claim, its branch and its pushes are there), even without --remote
    const earlier = remote.kind === 'local' && now?.kind === 'worker' ? now.state.remote : null;
    const again = earlier ? await resolveRemote(paths.mainWorktree, main.name, earlier.name, opts.env ?? process.env) : remote;
    if (earlier && again.kind === 'remote') ui.line(`coven: ${name} ran in remote mode (through ${earlier.name}) before; it goes on in remote mode`);
    const target = again.kind === 'remote' ? again.target : null;
    return await placeAndRecord(paths, main.name, name, opts, ui, stop, { ...overrides, remote: target });
  } finally {
    await claim?.release();
  }
}

/**
 * The agent CLIs the agents name (as the main worktree has them): none of the dispatch
 * agent's there is a reason not to start; any other missing one is a warning (cli-check.ts).
 */
async function checkClis(paths: RepoPaths, opts: WorkerOptions, ui: WorkerUi): Promise<{ what: string; next: string[] } | null> {
  const env = opts.env ?? process.env;
  const check = checkAgentClis((await loadRegistry(paths.mainWorktree)).agents, (cli) => locateAgentCli(env, paths.mainWorktree, cli));
  if (check.kind === 'ok') {
    for (const w of check.warnings) ui.problem(w);
    return null;
  }
  const how = check.clis.flatMap((cli) => {
    const a = adapterFor(cli);
    return a.kind === 'adapter' ? [{ name: cli, install: a.adapter.install, envVar: a.adapter.envVar, command: a.adapter.defaultCommand }] : [];
  });
  return cannotStart.noCli(check.messages, how);
}

/** Gives the worker named `name` its worktree (adopted or new) and writes its first state. */
async function placeAndRecord(paths: RepoPaths, main: string, name: string, opts: WorkerOptions, ui: WorkerUi, stop: StopControl, overrides: { steps: Worker['steps']; via: string[]; remote: RemoteTarget | null }): Promise<{ kind: 'started'; worker: Worker } | CannotStart> {
  const branch = `coven/${name}`;
  const placed = await placeWorktree(paths, main, name, branch, opts, ui, overrides.remote);
  if (placed.kind !== 'placed') return placed;
  await landOnMain(paths, branch, main, ui);
  const previous = placed.fresh ? null : await readWorkerState(paths.stateDir, name);
  const recorded = previous?.kind === 'worker' ? previous.state.git_dir : null;
  const git_dir = await pinWorkerWorktree(paths.commonDir, placed.worktree, placed.fresh, recorded);
  const state = { ...newWorkerState({ name, branch, worktree: placed.worktree }), ...placed.inherited, git_dir, remote: overrides.remote ? { name: overrides.remote.name, machine: overrides.remote.machine } : null };
  await writeWorkerState(paths.stateDir, state);
  // from now on "main" is this branch, whatever the main worktree checks out later (main-branch.ts)
  await recordMainBranch(paths.stateDir, main);
  trace('worker', { worker: name, process_start: performance.timeOrigin });
  trace('phase', { worker: name, phase: state.phase });
  const w: Worker = { paths, main, name, branch, worktree: placed.worktree, state, ui, opts, stop, agentProblems: '', saved: [], job: placed.job, steps: overrides.steps, remote: overrides.remote, claim: null };
  ui.header(state);
  if (overrides.via.length > 0) ui.line(sayReplaced.inUse(overrides.via));
  await retakeOwnClaim(w);
  return { kind: 'started', worker: w };
}

/** `fresh`: made now (its `.git` file is git's own), not adopted */
type Placed = { kind: 'placed'; worktree: string; fresh: boolean; inherited: Partial<WorkerState>; job: Worker['job'] } | CannotStart;

/** Adopts the worktree a worker of this name left, or spawns a new one. */
async function placeWorktree(paths: RepoPaths, main: string, name: string, branch: string, opts: WorkerOptions, ui: WorkerUi, remote: RemoteTarget | null): Promise<Placed> {
  const previous = await readWorkerState(paths.stateDir, name);
  let existing = await worktreeOfBranch(paths, branch, previous?.kind === 'worker' && previous.liveness === 'dead' ? previous.state.worktree : null);
  if (existing?.lockReason === 'initializing') {
    // the previous worker was killed during its `git worktree add`: nothing ran there, make it again
    if ((await removeUnfinishedWorktree(paths.mainWorktree, existing.path, branch, main)) === 'removed') {
      ui.line(say.remadeHalfMade(existing.path, name));
      existing = null;
    }
  }
  // the planned folder, or the one the previous worker of this name recorded: another is not coven's (a human's `git worktree add`)
  const planned = join(worktreeBase(paths.mainWorktree, opts.worktreeBase), projectName(paths), ...branch.split('/'));
  if (existing && !samePath(existing.path, planned) && !(previous?.kind === 'worker' && samePath(existing.path, previous.state.worktree))) {
    return { kind: 'cannot-start', message: cannotStartText(cannotStart.notCovens(branch, existing.path, planned)) };
  }
  if (existing) {
    ui.line(say.adopting(name, existing.path)); // a worker of this name stopped earlier: adopt its worktree and whatever it left
    return { kind: 'placed', worktree: existing.path, fresh: false, ...(await takeOverFrom(paths, name, branch, existing.path, ui)) };
  }
  // the branch may have outlived its worktree (deleted by hand): it gets a new one, commits and all
  const adopt = (await revParse(paths.mainWorktree, `refs/heads/${branch}`)) !== null;
  // remote mode: the branch starts at the remote's main (fetched now), never at commits of the local main the remote lacks
  const startAt = remote && !adopt ? await remoteStart(paths, remote, ui) : null;
  if (startAt?.kind === 'cannot-start') return startAt;
  // the state file comes first: a worker killed while its worktree is being made leaves
  // a dead worker that `coven gc` finds and cleans up, not an unknown worktree and branch
  await writeWorkerState(paths.stateDir, newWorkerState({ name, branch, worktree: planned }));
  const spawnOpts = { cwd: paths.mainWorktree, branch, base: opts.worktreeBase, ...(adopt ? { adopt } : { from: main, ...(startAt ? { startAt: startAt.ref } : {}) }) };
  const spawned = await spawnWorktree(spawnOpts);
  if (spawned.kind !== 'spawned') {
    if (previous?.kind === 'worker') await writeWorkerState(paths.stateDir, previous.state);
    else await removeWorkerState(paths.stateDir, name);
    return { kind: 'cannot-start', message: formatProblem(problemFor(spawned, spawnOpts, (o, b) => rerunCommand(name, branch, o, b))) };
  }
  if (adopt) ui.line(say.branchWithoutWorktree(branch, spawned.path));
  return { kind: 'placed', worktree: spawned.path, fresh: true, inherited: {}, job: null };
}

/** Remote mode: fetches the remote's main; the ref a new branch starts at (as fetched last when the remote does not answer, said). */
async function remoteStart(paths: RepoPaths, remote: RemoteTarget, ui: WorkerUi): Promise<{ kind: 'ref'; ref: string } | CannotStart> {
  const fetched = await fetchRemoteMain(paths.mainWorktree, remote);
  if (fetched.kind !== 'tip') return { kind: 'cannot-start', message: cannotStartText(cannotStart.noRemoteMain(remote.name, remote.main, fetched.message)) };
  if (fetched.offline) ui.problem(say.remoteOffline(remote.name, fetched.offline.message, fetched.ref, fetched.tip));
  return { kind: 'ref', ref: fetched.ref };
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

/**
 * An adopted branch lands where its upstream points; one left pointing at a branch that
 * is gone (main renamed or deleted by hand) is pointed at today's main branch.
 */
async function landOnMain(paths: RepoPaths, branch: string, main: string, ui: WorkerUi): Promise<void> {
  const upstream = await localUpstreamOf(paths.mainWorktree, branch);
  if (upstream === null || upstream === main || (await revParse(paths.mainWorktree, `refs/heads/${upstream}`)) !== null) return;
  const set = await git(paths.mainWorktree, ['branch', '--quiet', `--set-upstream-to=${main}`, branch]);
  if (set.ok) ui.line(say.upstreamGone(branch, upstream, main));
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
 * a conflict while landing them resumes that session with that agent's CLI arguments
 * (from the session record it wrote, steps/<name>/session.json, when there is one).
 */
async function takeOverFrom(paths: RepoPaths, name: string, branch: string, worktree: string, ui: WorkerUi): Promise<{ inherited: Partial<WorkerState>; job: Worker['job'] }> {
  const previous = await readWorkerState(paths.stateDir, name);
  if (previous?.kind !== 'worker' || previous.liveness !== 'dead' || previous.state.branch !== branch) return { inherited: {}, job: null };
  const dead = previous.state;
  if (dead.session_process) {
    const ended = await endOrphanedSession({ host: dead.host, ...dead.session_process });
    if (ended === 'ended') ui.line(say.endedOrphan(name, dead.session_process.pid));
  }
  // a git command killed with it (kill -9 of its process group) leaves its locks behind
  for (const lock of await clearStaleGitLocks(worktree, paths.commonDir, branch)) ui.line(say.removedGitLock(lock, name));
  // and what its agent changed in the git setup was not undone yet (lib/git/setup-guard)
  await undoLeftBySession({ stateDir: paths.stateDir, worker: name }, (text) => ui.problem(text));
  // its session record names the agent and CLI arguments even when the state file has
  // cleared the agent (killed at the next dispatch); one that names another agent is stale
  const record = await readStepSession(paths.stateDir, name, branch);
  if (record && (dead.agent === null || dead.agent === record.agent)) {
    return { inherited: { agent: record.agent, args: dead.agent ? dead.args : record.args, session_id: record.session_id ?? dead.session_id, cli: cliOfRecord(record), claim: dead.claim ?? null }, job: jobOfRecord(record) };
  }
  // its claim is taken back once this worker runs (claim-keeper.ts retakeOwnClaim)
  return { inherited: { agent: dead.agent, args: dead.args, session_id: dead.session_id, cli: dead.cli ?? null, claim: dead.claim ?? null }, job: null };
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
