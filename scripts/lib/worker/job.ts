// worker job — the run step of the loop: the decision dispatch made runs in the worktree
// through the run-agent core (lib/agents/run-decision.ts: checked against the agents
// again, under a slot of the agent's max_concurrency, the session, then whatever it left
// aside kept under refs/coven/), and its session record is written where the next steps
// read it (steps/<name>/session.json).
//
// The session runs on the agent's CLIs in turn while their vendors refuse it (quota,
// rate limit, auth, overloaded: lib/agents/cli-fallback.ts); the worker's state says
// which CLI runs and why it is not the first. When every one refused, the worker waits
// (1 min, doubling up to 30: policy.ts, COVEN_REFUSED_RETRY_MS), says until when, and
// runs the job again in the same worktree, where everything the sessions did is kept
// (with --once it does not wait: the cycle ends, and lands what the sessions committed).

import type { CliName } from '../clis/adapter.js';
import type { Refused } from '../agents/cli-fallback.js';
import type { Handoff } from '../agents/cli-handoff.js';
import { describeJob } from '../agents/job-messages.js';
import type { AgentDef, Registry } from '../agents/registry.js';
import { runDecision, type RunDecisionResult } from '../agents/run-decision.js';
import type { DecisionFile } from '../steps/decision-file.js';
import { here, sessionSettings, setPhase, sleepFor, updateState, type Worker } from './context.js';
import { job as say } from './messages.js';
import { refusedRetryWait } from './policy.js';
import { runAgentByStep } from './replaced-steps.js';
import { clearStepSession, writeStepSession } from './step-files.js';

/** How the job's session went: `ok` when it succeeded; `outcome` names how it ended otherwise. */
export interface JobEnd {
  ok: boolean;
  outcome: string;
}

export async function runJob(w: Worker, decision: Extract<DecisionFile, { kind: 'run' }>, registry: Registry): Promise<JobEnd> {
  if (w.steps['run-agent']) {
    await clearStepSession(w.paths.stateDir, w.name);
    return runAgentByStep(w, w.steps['run-agent'], decision);
  }
  let earlier: Handoff[] = [];
  for (let attempt = 1; ; attempt++) {
    // a new job, or a new try of it: the last record no longer describes the branch's newest
    // commits (a worker that takes over after a kill must not resume an earlier session)
    await clearStepSession(w.paths.stateDir, w.name);
    let agentDef: AgentDef | null = null;
    const ran = await runDecision({
      ...sessionSettings(w),
      decision,
      worktree: w.worktree,
      branch: w.branch,
      registry,
      signal: w.stop.signal,
      earlier,
      keepChangesWhenRefused: !w.opts.once,
      onStart: async (agent) => {
        agentDef = agent;
        // session_id is the job's own once it ends, for the same reason
        await setPhase(w, 'running', { agent: agent.name, args: decision.args, cycles: w.state.cycles + (attempt === 1 ? 1 : 0), session_id: null });
        w.job = { name: agent.name, cli: agent.clis[0], cliArgs: agent.cliArgs[agent.clis[0] ?? 'claude'] ?? [], ranHere: true };
      },
      onCli: (cli, refused) => (agentDef ? cliChosen(w, agentDef, cli, refused) : undefined),
    });
    const end = await afterJob(w, decision, ran);
    if (ran.kind !== 'ran' || ran.job.session.kind !== 'refused' || ran.job.kind !== 'finished' || w.stop.stopping) return end;
    if (w.opts.once) {
      w.ui.problem(say.allRefusedOnce(say.allRefusedWhy(ran.agent.name, ran.job.refused.map((r) => ({ cli: r.cli, reason: r.refusal.reason })))));
      return end;
    }
    // every CLI of the agent refused: wait, then the same job again, told what the sessions did
    earlier = ran.job.handoffs;
    if (!(await waitAfterRefusals(w, ran.agent.name, ran.job.refused, attempt))) return end;
  }
}

/** Records the job's session and says what it left aside. */
async function afterJob(w: Worker, decision: Extract<DecisionFile, { kind: 'run' }>, ran: RunDecisionResult): Promise<JobEnd> {
  if (ran.kind === 'aborted' || ran.kind === 'sleep') return { ok: false, outcome: 'aborted' };
  if (ran.kind === 'refused') {
    w.ui.problem(say.refused(decision.agent, ran.problems));
    return { ok: false, outcome: 'bad-args' };
  }
  const job = ran.job;
  await updateState(w, { cost_usd: w.state.cost_usd + job.costUsd, session_id: job.sessionId });
  await writeStepSession(w.paths.stateDir, w.name, ran.record);
  const end = { ok: ran.record.outcome === 'success', outcome: ran.record.outcome };
  if (job.kind === 'worktree-gone') return end; // the loop notices and says so
  w.saved.push(...ran.record.kept.filter((ref) => ref !== job.kept.rewound?.ref));
  for (const text of describeJob(job, { agent: ran.agent.name, main: w.main, mainWorktree: w.paths.mainWorktree })) w.ui.problem(text);
  return end;
}

/** A session of the job starts on `cli`: the state (and a resume of the job) names it, and why it is not the first. */
async function cliChosen(w: Worker, agent: AgentDef, cli: CliName, refused: readonly Refused[]): Promise<void> {
  const cli_note = refused.length > 0 ? refused.map((r) => `${r.cli} refused: ${r.refusal.reason}`).join(', ') : null;
  await updateState(w, { cli, cli_note, retry: null });
  w.job = { name: agent.name, cli, cliArgs: agent.cliArgs[cli] ?? [], ranHere: true };
  if (refused.length > 0) w.ui.header(w.state);
}

/** Waits after the `attempt`th try on which every CLI refused; false when the worker stops meanwhile. */
async function waitAfterRefusals(w: Worker, agent: string, refused: readonly Refused[], attempt: number): Promise<boolean> {
  const wait = refusedRetryWait(attempt, w.opts.refusedRetryMs);
  const at = new Date(Date.now() + wait);
  const why = say.allRefusedWhy(agent, refused.map((r) => ({ cli: r.cli, reason: r.refusal.reason })));
  await setPhase(w, 'sleeping', { retry: { at: at.toISOString(), why }, waiting_on: null });
  w.ui.problem(say.allRefused(why, at, wait, here(w)));
  await sleepFor(wait, w.stop.signal);
  await updateState(w, { retry: null });
  if (w.stop.stopping) return false;
  w.ui.line(say.retries(agent));
  return true;
}
