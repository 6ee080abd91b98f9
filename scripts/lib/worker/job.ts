// worker job — the run step of the loop: the agent dispatch chose runs in the worktree
// (agent-job.ts), under a slot of its max_concurrency; what it could not leave on its
// branch is kept under refs/coven/ and the human is told where.

import { runAgentJob } from '../agents/agent-job.js';
import type { AgentDef } from '../agents/registry.js';
import { acquireSlot, describeWait } from '../locks/dispatch-lock.js';
import { here, sessionSettings, setPhase, updateState, type Worker } from './context.js';
import { job as say } from './messages.js';

/** How the job's session went: `ok` when it succeeded; `outcome` names how it ended otherwise. */
export interface JobEnd {
  ok: boolean;
  outcome: string;
}

export async function runJob(w: Worker, agent: AgentDef, args: Record<string, string>): Promise<JobEnd> {
  let release: (() => Promise<unknown>) | null = null;
  if (agent.maxConcurrency !== undefined) {
    const slot = await acquireSlot({ stateDir: w.paths.stateDir, agent: agent.name, slots: agent.maxConcurrency, owner: w.name, onWait: (p) => w.ui.line(describeWait(`a slot of ${agent.name}`, p)), progressMs: 5_000, signal: w.stop.signal });
    if (slot.kind !== 'acquired') return { ok: false, outcome: 'aborted' };
    release = () => slot.release();
  }
  try {
    // session_id is the job's own once it ends: a worker adopting this one after a kill
    // must not resume an earlier job's session for this job's conflicts
    await setPhase(w, 'running', { agent: agent.name, args, cycles: w.state.cycles + 1, session_id: null });
    w.job = { name: agent.name, claudeArgs: agent.claudeArgs };
    const job = await runAgentJob({ ...sessionSettings(w), worktree: w.worktree, branch: w.branch, agent, args });
    if (job.kind === 'bad-args') {
      w.ui.problem(say.badArgs(agent.name, job.missing, job.unknown));
      return { ok: false, outcome: 'bad-args' };
    }
    await updateState(w, { cost_usd: w.state.cost_usd + job.costUsd, session_id: job.sessionId });
    const end = { ok: job.session.kind === 'success', outcome: job.session.kind };
    if (job.kind === 'worktree-gone') return end; // the loop notices and says so
    if (job.session.kind === 'cli-not-found') w.ui.problem(say.cliNotFound(job.session.message));
    if (job.stray) w.saved.push(job.stray);
    if (job.saved.kind === 'saved') w.saved.push(job.saved.ref);
    w.saved.push(...job.kept.dropped);
    if (job.stray) w.ui.problem(say.stray(job.stray));
    for (const ref of job.kept.dropped) w.ui.problem(say.dropped(ref));
    if (job.kept.rewound) w.ui.problem(say.rewound(here(w), agent.name, job.kept.rewound));
    if (job.saved.kind === 'saved') w.ui.problem(say.uncommitted(job.saved.files, job.saved.ref));
    return end;
  } finally {
    await release?.();
  }
}
