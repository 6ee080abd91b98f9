// replaced-steps — the steps a repository replaced with its own executables
// (lib/steps/overrides.ts; the contract: docs/steps.md, "Replacing a step"). The worker
// runs the executable with the core step's arguments, in its worktree, with the step
// files' paths in the env, and reads the answer from the exit code and those files.
// What the worker does with each answer is here; the core paths are in decide.ts,
// job.ts and land.ts, which call these when `w.steps` names a replacement.

import { mkdir, rm } from 'node:fs/promises';
import { saveAndClean } from '../agents/agent-job.js';
import { checkDecision } from '../agents/run-decision.js';
import type { AgentDef, Registry } from '../agents/registry.js';
import { gitOut } from '../git/runner.js';
import { unlandedCommits } from '../land/land.js';
import { describeLand } from '../land/messages.js';
import { readDecisionFile, type DecisionFile } from '../steps/decision-file.js';
import { runStepExecutable, type ReplaceableStep } from '../steps/overrides.js';
import { readSessionRecord } from '../steps/session-record.js';
import { trace } from '../ui/trace.js';
import { covenRef, keepAt } from '../worktree/save-work.js';
import { here, setPhase, updateState, type Worker } from './context.js';
import { land as say, replaced as sayReplaced } from './messages.js';
import type { LandEnd } from './policy.js';
import { jobOfRecord, stepFilePaths, writeStepDecision } from './step-files.js';

/** Runs the replacement of `step` with `args`; its exit code (null: it did not finish), said when it is not 0. */
async function runReplaced(w: Worker, step: ReplaceableStep, path: string, args: string[]): Promise<number | null> {
  const files = stepFilePaths(w.paths.stateDir, w.name);
  await mkdir(files.dir, { recursive: true }); // where it may write its files
  const env = { COVEN_WORKTREE: w.worktree, COVEN_DECISION: files.decision, COVEN_SESSION: files.session, COVEN_MAIN_BRANCH: w.main, COVEN_MAIN_WORKTREE: w.paths.mainWorktree, COVEN_WORKER: w.name };
  w.ui.line(sayReplaced.running(step, path));
  const ran = await runStepExecutable({ path, args, env, baseEnv: w.opts.env, display: (l) => w.ui.line(l), signal: w.stop.signal });
  if (ran.code !== 0) w.ui.problem(sayReplaced.failed(step, path, ran.code, ran.error));
  return ran.code;
}

export type StepDecision =
  | { kind: 'run'; agent: AgentDef; args: Record<string, string>; file: Extract<DecisionFile, { kind: 'run' }>; registry: Registry }
  | { kind: 'sleep'; reason: string }
  | { kind: 'failed'; message: string };

/** dispatch, replaced: `--out <decision.json> --worker NAME --no-lock` (the worker holds the lock); exit 0 and a valid decision file. */
export async function dispatchByStep(w: Worker, path: string, registry: Registry): Promise<StepDecision> {
  const file = stepFilePaths(w.paths.stateDir, w.name).decision;
  await rm(file, { force: true }); // only a decision this run wrote counts
  const code = await runReplaced(w, 'dispatch', path, ['--out', file, '--worker', w.name, '--no-lock']);
  if (code !== 0) return { kind: 'failed', message: sayReplaced.noDecision(path, code === null ? 'it did not finish' : `exit ${code}`) };
  const read = await readDecisionFile(file);
  if (read.kind !== 'read') return { kind: 'failed', message: sayReplaced.noDecision(path, read.problem) };
  const d = read.decision;
  await writeStepDecision(w.paths.stateDir, w.name, d); // as the worker read it (validated, its defaults filled in)
  if (d.kind === 'sleep') return { kind: 'sleep', reason: d.reason };
  // untrusted like any decision file: the agent and its arguments are checked here, before anything runs
  const choice = checkDecision(d, registry.agents);
  if (choice.kind === 'refused') return { kind: 'failed', message: sayReplaced.noDecision(path, choice.problems.join('; ')) };
  if (choice.kind === 'sleep') return choice;
  return { kind: 'run', agent: choice.agent, args: choice.args, file: d, registry };
}

/** run-agent, replaced: `--decision <decision.json> --out <session.json>`; exit 0 success, 5 failed (record written), anything else: nothing ran. */
export async function runAgentByStep(w: Worker, path: string, decision: Extract<DecisionFile, { kind: 'run' }>): Promise<{ ok: boolean; outcome: string }> {
  const files = stepFilePaths(w.paths.stateDir, w.name);
  await setPhase(w, 'running', { agent: decision.agent, args: decision.args, cycles: w.state.cycles + 1, session_id: null });
  const code = await runReplaced(w, 'run-agent', path, ['--decision', files.decision, '--out', files.session]);
  const read = code === 0 || code === 5 ? await readSessionRecord(files.session) : null;
  if (read?.kind !== 'read') {
    if (read) w.ui.problem(sayReplaced.noRecord(path, read.problem));
    return { ok: false, outcome: code === null ? 'crashed' : `exit ${code}` };
  }
  const r = read.record;
  w.job = jobOfRecord(r);
  w.saved.push(...r.kept);
  await updateState(w, { cost_usd: w.state.cost_usd + r.cost_usd, session_id: r.session_id });
  return { ok: code === 0 && r.outcome === 'success', outcome: r.outcome };
}

/** resolve-conflict, replaced: `--session <session.json>` with the rebase open; exit 0 resolved and landed, 3 gave up, else tried again later. */
export async function resolveByStep(w: Worker, path: string, commits: number): Promise<'landed' | 'gave-up' | 'pending'> {
  await setPhase(w, 'resolving', {});
  const code = await runReplaced(w, 'resolve-conflict', path, ['--session', stepFilePaths(w.paths.stateDir, w.name).session]);
  if (code === 3) return 'gave-up';
  if (code !== 0) return 'pending';
  await updateState(w, { landed: w.state.landed + commits });
  trace('landed', { worker: w.name, commits });
  return 'landed';
}

/** land, replaced: `--keep`; exit 0: the commits are taken care of (kept on a ref if main here lacks them); else kept and tried again. */
export async function landByStep(w: Worker, path: string, undoRebase: (w: Worker) => Promise<unknown>): Promise<LandEnd> {
  await setPhase(w, 'landing', { waiting_on: null });
  const before = await unlandedCommits(w.worktree);
  if (before.kind !== 'unlanded') {
    w.ui.problem(describeLand(before, { self: 'coven land', againArgs: ['--keep'] }).text);
    return 'pending';
  }
  if (before.commits.length === 0) {
    w.ui.line(say.nothing);
    return 'nothing';
  }
  if ((await runReplaced(w, 'land', path, ['--keep'])) !== 0) {
    await undoRebase(w);
    w.ui.problem(say.retriesLater(w.name));
    return 'pending';
  }
  await updateState(w, { landed: w.state.landed + before.commits.length });
  trace('landed', { worker: w.name, commits: before.commits.length });
  const after = await unlandedCommits(w.worktree);
  if (after.kind === 'unlanded' && after.commits.length > 0) {
    // handed off (pushed, a pull request…): kept on a ref, and the branch starts again from main
    const saved = await saveAndClean(w.worktree, w.name, 'wip', 'coven: uncommitted work found after a replaced land');
    if (saved.kind === 'saved') w.saved.push(saved.ref);
    const tip = await gitOut(w.worktree, ['rev-parse', 'HEAD']);
    const ref = await keepAt(w.worktree, covenRef('handed-off', w.name), tip, 'coven: commits handed off by a replaced land step');
    await gitOut(w.worktree, ['reset', '--quiet', '--hard', `refs/heads/${w.main}`]);
    w.ui.line(sayReplaced.handedOff(here(w), path, after.commits.length, ref));
  } else {
    w.ui.line(sayReplaced.landed(path, before.commits.length, w.main));
  }
  return 'landed';
}
