// dispatch — ask the dispatch agent what a worker should do next (the core of the
// dispatch step): lock, prompt, session, validate, corrective resume, bounded.
//
// Run inside a worktree. Takes the repository's dispatch lock (one dispatch at a time
// across all workers), reloads the agents from this worktree, runs a session of
// `.coven/agents/dispatch.md` with coven's protocol appended (the `<dispatch>` syntax,
// the catalog of agents, what the other workers are doing), then parses and validates
// the last `<dispatch>` block. An invalid block gets a corrective resume of the same
// session, at most 3 times. Nothing is ever run from an unvalidated answer. The first
// session runs on the dispatch agent's CLIs in turn while their vendors refuse it
// (cli-fallback.ts); the corrective resumes use the CLI that answered.

import { acquireLock, dispatchLockPath, type WaitProgress } from '../locks/dispatch-lock.js';
import { checkDispatchOutput, correctiveMessage, dispatchProtocol, DISPATCH_AGENT, type Decision } from './dispatch-decision.js';
import { loadRegistry, formatFileProblem, renderTemplate, type Registry } from './registry.js';
import { formatProblem } from '../ui/problem.js';
import { runAgentSession, runCost, type SessionSettings } from './agent-job.js';
import { runOnClis, type Refused } from './cli-fallback.js';
import type { CliName } from '../clis/adapter.js';
import type { SessionOutcome } from '../session/runner.js';
import { readWorkerStates, type WorkerEntry } from '../worker/state.js';
import { humanDuration } from '../ui/human-duration.js';
import { withOtherMachines } from '../remote/remote-workers.js';
import { DECISION_FORMAT, type DecisionClaim, type DecisionFile } from '../steps/decision-file.js';

export const MAX_CORRECTIONS = 3;

export interface DispatchOptions extends SessionSettings {
  worktree: string;
  /** take the dispatch lock (default true); false when the caller already holds it */
  lock?: boolean;
  onWait?: (p: WaitProgress) => void;
  /** called with the problems of the agent files left out of this dispatch (formatted; may be empty) */
  onAgentProblems?: (problems: string[]) => void;
  signal?: AbortSignal;
  maxCorrections?: number;
  /**
   * the workers as the caller read them before bringing the worktree up to main: a worker
   * that lands in between is then seen either holding its issue or as having landed it
   * (default: read when the prompt is built)
   */
  workers?: WorkerEntry[];
  /** remote mode: the other machines' workers, one line each (otherMachinesWorkers in lib/remote/remote-workers.ts) */
  remoteWorkers?: string[];
  /** the jobs claimed right now (describeClaims), shown to the agent; absent: not shown */
  claims?: string;
  /** the jobs this dispatch chose in earlier rounds that others took first (claimed-dispatch.ts) */
  taken?: string;
}

export type DispatchOutcome =
  | { kind: 'decided'; decision: Decision; sessionId: string; costUsd: number; corrections: number }
  | { kind: 'invalid'; problems: string[]; sessionId: string; costUsd: number; corrections: number }
  | { kind: 'no-dispatch-agent'; problems: string[] }
  /** `refused`: the CLIs whose vendor refused (every one of the agent's, when `outcome` is refused) */
  | { kind: 'session-failed'; outcome: SessionOutcome; costUsd: number; refused: Refused[] }
  | { kind: 'aborted' };

const NO_OTHER_WORKER = '(no other worker is running)';

/** One line per other live worker, for the dispatch prompt. */
export function describeOtherWorkers(entries: WorkerEntry[], self: string, now = Date.now()): string {
  const lines: string[] = [];
  for (const e of entries) {
    if (e.kind !== 'worker' || e.liveness !== 'alive' || e.state.name === self) continue;
    const s = e.state;
    const args = Object.entries(s.args)
      .map(([k, v]) => `${k}: ${v}`)
      .join(', ');
    const what = s.agent ? `${s.phase} ${s.agent}${args ? ` (${args})` : ''}` : s.phase;
    lines.push(`- ${s.name}: ${what}, for ${humanDuration(now - Date.parse(s.since))}`);
  }
  return lines.length > 0 ? lines.join('\n') : NO_OTHER_WORKER;
}

/** What a dispatch session is told about the situation: one field per section of its prompt. */
export interface Situation {
  /** the other workers (describeOtherWorkers) */
  others: string;
  /** the live claims (lib/claims describeClaims): taken jobs, also on other machines */
  claims?: string;
  /** the jobs this dispatch chose before and who took them first */
  taken?: string;
}

/** The first message of a dispatch session: the prompt file, then the current situation. */
export function dispatchPrompt(body: string, s: Situation): string {
  const sections = [body.trimEnd()];
  if (s.taken) sections.push(`## Taken while you chose\n\n${s.taken}\n\nChoose another job (or sleep): a job someone else took is not yours to run.`);
  sections.push(`## The other workers right now\n\n${s.others}\n\nAn issue named in another worker's arguments is taken. List the issues with \`coven issues\`.`);
  if (s.claims !== undefined) sections.push(`## Jobs claimed right now\n\n${s.claims}\n\nA claimed job is taken (its holder may be on another machine): choose another.`);
  return sections.join('\n\n');
}

/** Runs the dispatch protocol to a decision (or a typed failure). */
export async function dispatch(opts: DispatchOptions): Promise<DispatchOutcome> {
  const registry = await loadRegistry(opts.worktree);
  const agent = registry.agents.find((a) => a.name === DISPATCH_AGENT);
  if (!agent) return { kind: 'no-dispatch-agent', problems: dispatchAgentProblems(registry) };
  const rendered = renderTemplate(agent, {});
  if (rendered.kind !== 'ok') return { kind: 'no-dispatch-agent', problems: [`.coven/agents/dispatch.md needs arguments (${rendered.names.join(', ')}); dispatch is given none`] };
  opts.onAgentProblems?.(registry.invalid.map(formatFileProblem));

  let release: (() => Promise<unknown>) | null = null;
  if (opts.lock !== false) {
    const lock = await acquireLock({ path: dispatchLockPath(opts.stateDir), owner: opts.worker, onWait: opts.onWait, signal: opts.signal });
    if (lock.kind !== 'acquired') return { kind: 'aborted' };
    release = () => lock.release();
  }
  try {
    const others = withOtherMachines(describeOtherWorkers(opts.workers ?? (await readWorkerStates(opts.stateDir)), opts.worker), opts.remoteWorkers, NO_OTHER_WORKER);
    const session = (cli: CliName, prompt: string, resume?: string): Promise<SessionOutcome> =>
      runAgentSession({ ...opts, cwd: opts.worktree, agentName: DISPATCH_AGENT, prompt, resume, cli, cliArgs: agent.cliArgs[cli] ?? [], systemText: dispatchProtocol(registry.agents) });

    // the sessions a vendor refused cost what they cost; the last one is counted below
    let costUsd = 0;
    let lastCost = 0;
    const first = await runOnClis({
      agentName: DISPATCH_AGENT,
      clis: agent.clis,
      prompt: dispatchPrompt(rendered.text, { others, claims: opts.claims, taken: opts.taken }),
      worktree: opts.worktree,
      handoff: false,
      display: opts.display,
      goOn: () => !opts.signal?.aborted,
      run: async (cli, prompt) => {
        costUsd += lastCost;
        const outcome = await session(cli, prompt);
        lastCost = runCost(outcome);
        return outcome;
      },
    });
    let outcome = first.session;
    for (let corrections = 0; ; corrections++) {
      if (opts.signal?.aborted) return { kind: 'aborted' };
      if (outcome.kind === 'aborted') return { kind: 'aborted' };
      if (outcome.kind !== 'success') return { kind: 'session-failed', outcome, costUsd: costUsd + costOf(outcome), refused: first.refused };
      costUsd += outcome.costUsd; // a resumed run reports only its own cost
      const check = checkDispatchOutput(outcome.text, registry.agents);
      if (check.kind === 'valid') return { kind: 'decided', decision: check.decision, sessionId: outcome.sessionId, costUsd, corrections };
      if (corrections >= (opts.maxCorrections ?? MAX_CORRECTIONS)) {
        return { kind: 'invalid', problems: check.problems, sessionId: outcome.sessionId, costUsd, corrections };
      }
      opts.display?.(`coven: the dispatch answer was invalid (${check.problems[0]}); asking again (${corrections + 1}/${opts.maxCorrections ?? MAX_CORRECTIONS})`);
      outcome = await session(first.cli, correctiveMessage(check.problems, registry.agents), outcome.sessionId);
    }
  } finally {
    await release?.();
  }
}

function costOf(outcome: SessionOutcome): number {
  return outcome.kind === 'agent-error' || outcome.kind === 'refused' ? outcome.costUsd : 0;
}

function dispatchAgentProblems(registry: Registry): string[] {
  const own = registry.invalid.filter((p) => p.file.endsWith(`/${DISPATCH_AGENT}.md`)).map(formatFileProblem);
  return own.length > 0 ? own : [`there is no .coven/agents/${DISPATCH_AGENT}.md in ${registry.dir}`];
}

/** What a user sees about agent files that dispatch leaves out. */
export function describeAgentProblems(problems: string[]): string {
  return formatProblem({
    what: `dispatch leaves out agent files it cannot read:\n${problems.map((p) => `  ${p}`).join('\n')}`,
    kept: 'The other agents work as before; nothing was changed.',
    next: ['coven agents   (shows every problem)', 'fix the file and commit it on the main branch: it is read again before every dispatch'],
  });
}

/** The decision file dispatch hands run-agent and wait-for-main (lib/steps/decision-file.ts). `mainTip`: main's tip read before the session; `claim`: the job's claim, taken. */
export function decisionFileOf(outcome: Extract<DispatchOutcome, { kind: 'decided' }>, at: { worktree: string; worker: string; mainTip: string; claim?: DecisionClaim | null }): DecisionFile {
  const d = outcome.decision;
  const base = { coven: DECISION_FORMAT, reasoning: d.reasoning, worktree: at.worktree, worker: at.worker, main_tip: at.mainTip, session_id: outcome.sessionId, cost_usd: outcome.costUsd, corrections: outcome.corrections, at: new Date().toISOString() } as const;
  return d.kind === 'run' ? { ...base, kind: 'run', agent: d.agent, args: d.args, claim: at.claim ?? null } : { ...base, kind: 'sleep', reason: d.reason };
}
