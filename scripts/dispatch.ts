#!/usr/bin/env node
// dispatch — ask the dispatch agent what this worker should do next.
//
// Run inside a worktree. Takes the repository's dispatch lock (one dispatch at a time
// across all workers), reloads the agents from this worktree, runs a session of
// `.coven/agents/dispatch.md` with coven's protocol appended (the `<dispatch>` syntax,
// the catalog of agents, what the other workers are doing), then parses and validates
// the last `<dispatch>` block. An invalid block gets a corrective resume of the same
// session, at most 3 times. Nothing is ever run from an unvalidated answer.
//   args:   --out FILE        write the decision as JSON here (default: print it)
//           --worker NAME     who is asking (lock owner, log folder; default: from the branch)
//           --permission-mode M, --timeout MINUTES, --no-lock, -- extra claude args
//   env:    COVEN_CLAUDE      the agent CLI (default: claude on PATH)
//   files:  <state dir>/logs/<worker>/<n>-dispatch.jsonl (raw stream of each session)
//   exit:   0 a decision (run or sleep) · 1 still invalid after 3 corrections
//           3 the session failed · 4 no usable dispatch agent · 2 not in a repo · 64 usage

import { parseCommandLine } from './lib/command-line.js';
import { writeFile } from 'node:fs/promises';
import { acquireLock, describeWait, dispatchLockPath, type WaitProgress } from './lib/dispatch-lock.js';
import { checkDispatchOutput, correctiveMessage, dispatchProtocol, DISPATCH_AGENT, type Decision } from './lib/dispatch-decision.js';
import { loadRegistry, formatFileProblem, renderTemplate, type Registry } from './lib/agent-registry.js';
import { runAsEntry } from './lib/entry.js';
import { findRepo, gitOut } from './lib/git.js';
import { formatProblem } from './lib/problem.js';
import { runAgentSession } from './lib/agent-job.js';
import type { SessionHandle, SessionOutcome } from './lib/session-runner.js';
import { renderOutcome } from './lib/session-render.js';
import { readWorkerStates, type WorkerEntry } from './lib/worker-state.js';
import { humanDuration } from './lib/human-duration.js';

export const MAX_CORRECTIONS = 3;

export interface DispatchOptions {
  worktree: string;
  stateDir: string;
  worker: string;
  permissionMode?: string;
  extraArgs?: readonly string[];
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  display?: (line: string) => void;
  /** take the dispatch lock (default true); false when the caller already holds it */
  lock?: boolean;
  onWait?: (p: WaitProgress) => void;
  /** called with the problems of the agent files left out of this dispatch (formatted; may be empty) */
  onAgentProblems?: (problems: string[]) => void;
  /** called with each session as it starts (so the caller can abort it), and with null once it ended */
  onSession?: (session: SessionHandle | null) => void | Promise<void>;
  signal?: AbortSignal;
  maxCorrections?: number;
  /**
   * the workers as the caller read them before bringing the worktree up to main: a worker
   * that lands in between is then seen either holding its issue or as having landed it
   * (default: read when the prompt is built)
   */
  workers?: WorkerEntry[];
}

export type DispatchOutcome =
  | { kind: 'decided'; decision: Decision; sessionId: string; costUsd: number; corrections: number }
  | { kind: 'invalid'; problems: string[]; sessionId: string; costUsd: number; corrections: number }
  | { kind: 'no-dispatch-agent'; problems: string[] }
  | { kind: 'session-failed'; outcome: SessionOutcome; costUsd: number }
  | { kind: 'aborted' };

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
  return lines.length > 0 ? lines.join('\n') : '(no other worker is running)';
}

/** The first message of a dispatch session: the prompt file, then the current situation. */
export function dispatchPrompt(body: string, others: string): string {
  return `${body.trimEnd()}

## The other workers right now

${others}

An issue named in another worker's arguments is taken. List the issues with \`coven issues\`.`;
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
    const others = describeOtherWorkers(opts.workers ?? (await readWorkerStates(opts.stateDir)), opts.worker);
    const session = (prompt: string, resume?: string): Promise<SessionOutcome> =>
      runAgentSession({ ...opts, cwd: opts.worktree, agentName: DISPATCH_AGENT, prompt, resume, claudeArgs: agent.claudeArgs, appendSystemPrompt: dispatchProtocol(registry.agents) });

    let outcome = await session(dispatchPrompt(rendered.text, others));
    let costUsd = 0;
    for (let corrections = 0; ; corrections++) {
      if (opts.signal?.aborted) return { kind: 'aborted' };
      if (outcome.kind === 'aborted') return { kind: 'aborted' };
      if (outcome.kind !== 'success') return { kind: 'session-failed', outcome, costUsd: costUsd + costOf(outcome) };
      costUsd += outcome.costUsd; // a resumed run reports only its own cost
      const check = checkDispatchOutput(outcome.text, registry.agents);
      if (check.kind === 'valid') return { kind: 'decided', decision: check.decision, sessionId: outcome.sessionId, costUsd, corrections };
      if (corrections >= (opts.maxCorrections ?? MAX_CORRECTIONS)) {
        return { kind: 'invalid', problems: check.problems, sessionId: outcome.sessionId, costUsd, corrections };
      }
      opts.display?.(`coven: the dispatch answer was invalid (${check.problems[0]}); asking again (${corrections + 1}/${opts.maxCorrections ?? MAX_CORRECTIONS})`);
      outcome = await session(correctiveMessage(check.problems, registry.agents), outcome.sessionId);
    }
  } finally {
    await release?.();
  }
}

function costOf(outcome: SessionOutcome): number {
  return outcome.kind === 'agent-error' ? outcome.costUsd : 0;
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

/** The decision file other scripts chain on. */
export function decisionJson(outcome: Extract<DispatchOutcome, { kind: 'decided' }>): object {
  const d = outcome.decision;
  const base = { session_id: outcome.sessionId, cost_usd: outcome.costUsd, corrections: outcome.corrections, reasoning: d.reasoning, at: new Date().toISOString() };
  return d.kind === 'run' ? { kind: 'run', agent: d.agent, args: d.args, ...base } : { kind: 'sleep', reason: d.reason, ...base };
}

const usage = `usage: coven dispatch [--out FILE] [--worker NAME] [--permission-mode MODE]
                      [--timeout MINUTES] [--no-lock] [-- <extra claude args>]

Asks the dispatch agent (.coven/agents/dispatch.md) what to do next, in the worktree you
are in, and prints (or writes to FILE) the validated decision as JSON:
  {"kind":"run","agent":"plan","args":{"issue":"issues/x.md"},"reasoning":…}
  {"kind":"sleep","reason":"…","reasoning":…}
Takes the repository's dispatch lock first, so only one dispatch runs at a time.

  --out FILE            write the decision to FILE instead of printing it
  --worker NAME         who asks (lock owner, log folder; default: from a coven/NAME
                        branch, else manual-<pid>)
  --permission-mode M   claude's --permission-mode (default acceptEdits)
  --timeout MINUTES     wall-clock limit of the session (default 60)
  --no-lock             do not take the dispatch lock
  -- <args>             extra arguments for claude

exit: 0 decision · 1 invalid after ${MAX_CORRECTIONS} corrections · 3 session failed
      4 no usable dispatch agent · 2 not in a git repository · 64 bad usage
      130 stopped (Ctrl-C) before a decision
`;

export async function main(argv: string[]): Promise<number> {
  const cl = parseCommandLine(argv, { command: 'coven dispatch', usage, string: ['out', 'worker', 'permission-mode', 'timeout'], boolean: ['lock'], default: { lock: true }, passThrough: true });
  if (cl.kind === 'exit') return cl.code;
  const args = cl.args;
  const timeoutMin = args.timeout === undefined ? undefined : Number(args.timeout);
  if (timeoutMin !== undefined && !(timeoutMin > 0)) {
    process.stderr.write(`coven dispatch: --timeout takes a number of minutes\n`);
    return 64;
  }
  const repo = await findRepo(process.cwd());
  if (repo.kind !== 'repo') {
    process.stderr.write(formatProblem({ what: `${process.cwd()} is not inside a git worktree.`, next: ['cd into a worktree of your repository and run coven dispatch again'] }) + '\n');
    return 2;
  }
  const worker = (args.worker as string | undefined) ?? (await workerFromBranch(repo.paths.toplevel)) ?? `manual-${process.pid}`;
  const display = (line: string) => process.stderr.write(`${line}\n`);
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  let session: SessionHandle | null = null;
  controller.signal.addEventListener('abort', () => session?.abort());

  const outcome = await dispatch({
    worktree: repo.paths.toplevel,
    stateDir: repo.paths.stateDir,
    worker,
    permissionMode: args['permission-mode'] as string | undefined,
    extraArgs: (args['--'] as string[] | undefined) ?? [],
    timeoutMs: timeoutMin === undefined ? undefined : timeoutMin * 60_000,
    lock: args.lock as boolean,
    display,
    onWait: (p) => display(describeWait('dispatch', p)),
    onAgentProblems: (problems) => {
      if (problems.length > 0) display(describeAgentProblems(problems));
    },
    onSession: (s) => {
      session = s;
    },
    signal: controller.signal,
  });
  switch (outcome.kind) {
    case 'decided': {
      const json = JSON.stringify(decisionJson(outcome), null, 2) + '\n';
      if (args.out) await writeFile(args.out as string, json);
      else process.stdout.write(json);
      return 0;
    }
    case 'invalid':
      process.stderr.write(
        formatProblem({
          what: `the dispatch agent gave no valid <dispatch> block after ${outcome.corrections} corrections: ${outcome.problems.join('; ')}.`,
          kept: `Nothing was run and nothing in the repository changed. The session is ${outcome.sessionId}.`,
          next: ['read .coven/agents/dispatch.md (does it ask for the <dispatch> block?), then run coven dispatch again'],
        }) + '\n',
      );
      return 1;
    case 'session-failed':
      process.stderr.write(formatProblem({ what: `the dispatch session failed: ${renderOutcome(outcome.outcome)}`, kept: 'Nothing was run.', next: ['coven dispatch   (try again)'] }) + '\n');
      return 3;
    case 'no-dispatch-agent':
      process.stderr.write(formatProblem({ what: `there is no usable dispatch agent:\n${outcome.problems.map((p) => `  ${p}`).join('\n')}`, next: ['coven init        (writes the default agents)', 'coven agents      (shows what is wrong)'] }) + '\n');
      return 4;
    case 'aborted':
      process.stderr.write('coven: dispatch stopped; nothing was run.\n');
      return 130;
  }
}

async function workerFromBranch(worktree: string): Promise<string | null> {
  const branch = await gitOut(worktree, ['symbolic-ref', '--quiet', '--short', 'HEAD']).catch(() => '');
  return branch.startsWith('coven/') ? branch.slice('coven/'.length) : null;
}

runAsEntry(import.meta.url, main);
