// worker job — the run step of the loop: the decision dispatch made runs in the worktree
// through the run-agent core (lib/agents/run-decision.ts: checked against the agents
// again, under a slot of the agent's max_concurrency, the session, then whatever it left
// aside kept under refs/coven/), and its session record is written where the next steps
// read it (steps/<name>/session.json).

import { describeJob } from '../agents/job-messages.js';
import type { Registry } from '../agents/registry.js';
import { runDecision } from '../agents/run-decision.js';
import type { DecisionFile } from '../steps/decision-file.js';
import { sessionSettings, setPhase, updateState, type Worker } from './context.js';
import { job as say } from './messages.js';
import { runAgentByStep } from './replaced-steps.js';
import { clearStepSession, writeStepSession } from './step-files.js';

/** How the job's session went: `ok` when it succeeded; `outcome` names how it ended otherwise. */
export interface JobEnd {
  ok: boolean;
  outcome: string;
}

export async function runJob(w: Worker, decision: Extract<DecisionFile, { kind: 'run' }>, registry: Registry): Promise<JobEnd> {
  // a new job: the last record no longer describes the branch's newest commits (a worker
  // that takes over after a kill during this job must not resume an earlier session)
  await clearStepSession(w.paths.stateDir, w.name);
  if (w.steps['run-agent']) return runAgentByStep(w, w.steps['run-agent'], decision);
  const ran = await runDecision({
    ...sessionSettings(w),
    decision,
    worktree: w.worktree,
    branch: w.branch,
    registry,
    signal: w.stop.signal,
    onStart: async (agent) => {
      // session_id is the job's own once it ends, for the same reason
      await setPhase(w, 'running', { agent: agent.name, args: decision.args, cycles: w.state.cycles + 1, session_id: null });
      w.job = { name: agent.name, cliArgs: agent.claudeArgs, ranHere: true };
    },
  });
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
