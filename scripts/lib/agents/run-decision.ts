// run-decision — one agent session for one decision: the core of the run-agent step,
// and what the worker calls in-process. The decision's agent and arguments are checked
// against the registry again (a decision file is untrusted), a slot of the agent's
// max_concurrency is taken, the job runs (agent-job.ts: the session, then whatever it
// left uncommitted or off its branch is committed or kept), and the session is recorded
// in the shape resolve-conflict reads (lib/steps/session-record.ts).

import type { DecisionFile } from '../steps/decision-file.js';
import type { SessionRecord } from '../steps/session-record.js';
import { acquireSlot, describeWait } from '../locks/dispatch-lock.js';
import { renderOutcome } from '../session/render.js';
import { checkRunChoice } from './dispatch-decision.js';
import { loadRegistry, type AgentDef, type Registry } from './registry.js';
import { runAgentJob, type JobOptions, type JobOutcome, type SessionSettings } from './agent-job.js';

export interface RunDecisionOptions extends SessionSettings, Pick<JobOptions, 'earlier' | 'onCli' | 'keepChangesWhenRefused'> {
  /** the decision as dispatch made it, or as read from a decision file (checked again here) */
  decision: DecisionFile;
  /** the worktree the job runs in, and its branch */
  worktree: string;
  branch: string;
  /** the agents, when the caller has just loaded them from this worktree (default: loaded here) */
  registry?: Registry;
  /** stops a wait for a slot (a running session is aborted through onSession, as usual) */
  signal?: AbortSignal;
  /** once the slot is held, just before the session starts (the worker sets its phase here) */
  onStart?: (agent: AgentDef) => void | Promise<void>;
}

export type RunDecisionResult =
  | { kind: 'sleep'; reason: string }
  /** the registry refuses the agent or its arguments: nothing ran */
  | { kind: 'refused'; problems: string[] }
  /** stopped while waiting for a slot of the agent: nothing ran */
  | { kind: 'aborted' }
  | { kind: 'ran'; agent: AgentDef; args: Record<string, string>; job: JobOutcome; record: SessionRecord };

export async function runDecision(o: RunDecisionOptions): Promise<RunDecisionResult> {
  if (o.decision.kind === 'sleep') return { kind: 'sleep', reason: o.decision.reason };
  const choice = checkDecision(o.decision, (o.registry ?? (await loadRegistry(o.worktree))).agents);
  if (choice.kind !== 'run') return choice;
  const { agent, args } = choice;

  let release: (() => Promise<unknown>) | null = null;
  if (agent.maxConcurrency !== undefined) {
    const slot = await acquireSlot({ stateDir: o.stateDir, agent: agent.name, slots: agent.maxConcurrency, owner: o.worker, onWait: (p) => o.display?.(describeWait(`a slot of ${agent.name}`, p)), progressMs: 5_000, signal: o.signal });
    if (slot.kind !== 'acquired') return { kind: 'aborted' };
    release = () => slot.release();
  }
  try {
    await o.onStart?.(agent);
    const startedAt = new Date().toISOString();
    const job = await runAgentJob({ ...o, agent, args });
    if (job.kind === 'bad-args') return { kind: 'refused', problems: [`${agent.name}: missing ${job.missing.join(', ') || '-'}, unknown ${job.unknown.join(', ') || '-'}`] };
    const record = sessionRecordOf({ agent, args, job, worktree: o.worktree, branch: o.branch, worker: o.worker, startedAt });
    return { kind: 'ran', agent, args, job, record };
  } finally {
    await release?.();
  }
}

/**
 * A decision checked against the agents, as if dispatch had just given it (a decision
 * file is untrusted): the agent it names and its arguments, or why it is refused.
 */
export function checkDecision(d: DecisionFile, agents: AgentDef[]): { kind: 'run'; agent: AgentDef; args: Record<string, string> } | { kind: 'sleep'; reason: string } | { kind: 'refused'; problems: string[] } {
  if (d.kind === 'sleep') return { kind: 'sleep', reason: d.reason };
  const check = checkRunChoice(d.agent, d.args, agents);
  if (check.kind !== 'valid') return { kind: 'refused', problems: check.problems };
  if (check.decision.kind !== 'run') return { kind: 'sleep', reason: check.decision.reason };
  const agent = agents.find((a) => a.name === d.agent);
  return agent ? { kind: 'run', agent, args: check.decision.args } : { kind: 'refused', problems: [`there is no agent named ${d.agent}`] };
}

/** How the job's session ended, judged by its events (the record's `outcome`). */
export function outcomeOf(job: JobOutcome): SessionRecord['outcome'] {
  return job.kind === 'worktree-gone' ? 'worktree-gone' : job.session.kind;
}

/** The refs under refs/coven/ where the job kept work that could not stay on the branch. */
export function keptRefs(job: JobOutcome): string[] {
  if (job.kind !== 'finished') return [];
  return [job.stray, job.saved.kind === 'saved' ? job.saved.ref : null, ...job.kept.dropped, ...(job.kept.unreachable ?? []), job.kept.rewound?.ref ?? null].filter((r): r is string => r !== null);
}

export function sessionRecordOf(x: { agent: AgentDef; args: Record<string, string>; job: JobOutcome; worktree: string; branch: string; worker: string; startedAt: string }): SessionRecord {
  return {
    coven: 'session/1',
    // the CLI that ran last: a conflict resumes its session (the refused ones are in `detail`)
    cli: x.job.cli,
    agent: x.agent.name,
    args: x.args,
    cli_args: [...(x.agent.cliArgs[x.job.cli] ?? [])],
    session_id: x.job.sessionId,
    cwd: x.worktree,
    branch: x.branch,
    worker: x.worker,
    outcome: outcomeOf(x.job),
    detail: [x.job.refused.length > 0 ? `refused: ${x.job.refused.map((r) => `${r.cli} (${r.refusal.reason})`).join(', ')}` : '', renderOutcome(x.job.session).trim()].filter((l) => l !== '').join('\n'),
    cost_usd: x.job.costUsd,
    kept: keptRefs(x.job),
    started_at: x.startedAt,
    ended_at: new Date().toISOString(),
  };
}
