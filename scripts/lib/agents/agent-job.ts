// agent-job — run the agent dispatch chose, in the worker's worktree, and make sure
// everything it did is committed before anything lands.
//
// After the session: if the agent left the worktree on another branch or detached,
// its commits are saved under refs/coven/stray/… and the worker's branch is checked
// out again; if it left uncommitted changes, the same session is resumed once and
// asked to commit or discard them; whatever is still uncommitted then is saved under
// refs/coven/wip/<worker>/<time> and the worktree is cleaned. Commits a `git reset` of
// the agent's took off its branch, and main's old tip if main moved backwards during
// the job, are kept under refs/coven/ too (job-guard.ts). Nothing committed is lost.
// A worktree deleted during the session ends the job at once (`worktree-gone`).
// Inputs: the worktree, the agent definition and its validated arguments.
// Outputs: a JobOutcome; the session logs under <state dir>/logs/<worker>/.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { AgentDef } from './registry.js';
import { renderTemplate } from './registry.js';
import { agentEnv } from '../session/agent-env.js';
import { dirtyFiles, revParse } from '../git/runner.js';
import { withGuardedSetup } from '../git/setup-guard.js';
import { keepWhatTheJobDropped, markJob, type Kept } from '../worktree/job-guard.js';
import { markHistory, setAsideHistoryChanges, type HistorySetAside } from '../worktree/history-guard.js';
import { localUpstreamOf } from '../git/main-branch.js';
import { describeRepair, keepPinnedIdentity } from '../worktree/identity.js';
import { covenRef, discardSavedChanges, saveUncommittedWork, type SaveResult } from '../worktree/save-work.js';
import { keepReflogOnly, settleWorktree, type SettleOptions } from '../worktree/settle.js';
import { reserveLogFile, startSession, type SessionHandle, type SessionOutcome } from '../session/runner.js';
import type { CliName } from '../clis/adapter.js';
import type { Handoff } from './cli-handoff.js';
import { runOnClis, type Refused } from './cli-fallback.js';

export interface SessionSettings {
  stateDir: string;
  worker: string;
  permissionMode?: string;
  extraArgs?: readonly string[];
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  display?: (line: string) => void;
  /** called with every session as it starts, and with null once it ended (the worker aborts it, records its pid) */
  onSession?: (session: SessionHandle | null) => void | Promise<void>;
}

export interface JobOptions extends SessionSettings {
  worktree: string;
  branch: string;
  agent: AgentDef;
  args: Record<string, string>;
  /** the refused sessions of an earlier try of this job: the next session is told what they did */
  earlier?: readonly Handoff[];
  /** a session of the job is about to start on `cli`; `refused`: the CLIs that refused before it */
  onCli?: (cli: CliName, refused: readonly Refused[]) => void | Promise<void>;
  /** every CLI refused: leave the uncommitted changes in the worktree for the next try (the worker retries there) instead of saving them under refs/coven/wip/ */
  keepChangesWhenRefused?: boolean;
}

/** Which CLI ran the job's last session, and the ones that refused before it. */
export interface CliRan {
  cli: CliName;
  /** the CLIs whose vendor refused (the last one too when `session` is refused) */
  refused: Refused[];
  /** what each refused session did, for the next try */
  handoffs: Handoff[];
}

export type JobOutcome =
  | Finished
  /** the worktree folder was deleted during the session (by hand): nothing more was done there */
  | ({ kind: 'worktree-gone'; session: SessionOutcome; sessionId: string | null; costUsd: number } & CliRan);

type Finished = CliRan & {
  kind: 'finished';
  /** the agent's session (success or not); `sessionId` for a later resume */
  session: SessionOutcome;
  sessionId: string | null;
  /** everything the sessions of this job cost */
  costUsd: number;
  /** uncommitted work that had to be saved instead of committed */
  saved: SaveResult;
  /** commits left on another branch or a detached HEAD, saved under refs/coven/stray/… */
  stray: string | null;
  /** what a reset of the agent's (or a rewind of main) would have lost, kept under refs/coven/ */
  kept: Kept;
  /** replace refs and a grafts file the job made, moved aside (history-guard.ts) */
  history: HistorySetAside;
};

export const COMMIT_OR_DISCARD = (files: string[]) => `You left uncommitted changes in this worktree:
${files.map((f) => `- ${f}`).join('\n')}

coven lands only commits. Commit what belongs to your work (git add <files>, then
git commit -m "<what and why>"), delete what does not (for example scratch files), and
finish when \`git status --porcelain\` prints nothing. Do not push, reset or switch branches.`;

/** One session of an agent: where, what, on which CLI (default claude) with which of its arguments. */
export interface SessionRun {
  cwd: string;
  agentName: string;
  prompt: string;
  cli?: CliName;
  cliArgs: readonly string[];
  resume?: string;
  systemText?: string;
}

/** Runs one session; returns its outcome. A resume uses the same cwd (the CLI requires it). */
export async function runAgentSession(
  s: SessionSettings & SessionRun,
): Promise<SessionOutcome> {
  // the agent must not change the git setup coven's git and the human's run with: undone at once
  return withGuardedSetup({ cwd: s.cwd, stateDir: s.stateDir, worker: s.worker }, () => runSession(s), (text) => (s.display ? s.display(text) : process.stderr.write(`${text}\n`)));
}

async function runSession(
  s: SessionSettings & SessionRun,
): Promise<SessionOutcome> {
  const handle = startSession({
    cwd: s.cwd,
    ...(s.cli !== undefined ? { cli: s.cli } : {}),
    prompt: s.prompt,
    resume: s.resume,
    permissionMode: s.permissionMode,
    cliArgs: s.cliArgs,
    extraArgs: s.extraArgs,
    systemText: s.systemText,
    logFile: reserveLogFile(s.stateDir, s.worker, s.agentName),
    timeoutMs: s.timeoutMs,
    env: agentEnv(s.env),
    display: s.display,
  });
  try {
    await s.onSession?.(handle);
    return await handle.outcome;
  } finally {
    await s.onSession?.(null);
  }
}

/** What one run of the CLI cost. A resumed run reports only its own turns, not the session's total (2.1.197). */
export function runCost(outcome: SessionOutcome): number {
  return outcome.kind === 'success' || outcome.kind === 'agent-error' || outcome.kind === 'refused' ? outcome.costUsd : 0;
}

export function sessionIdOf(outcome: SessionOutcome): string | null {
  if (outcome.kind === 'success' || outcome.kind === 'agent-error') return outcome.sessionId;
  if (outcome.kind === 'cli-not-found' || outcome.kind === 'too-big') return null;
  return outcome.sessionId ?? null;
}

export async function runAgentJob(o: JobOptions): Promise<JobOutcome | { kind: 'bad-args'; missing: string[]; unknown: string[] }> {
  const rendered = renderTemplate(o.agent, o.args);
  if (rendered.kind === 'missing-args') return { kind: 'bad-args', missing: rendered.names, unknown: [] };
  if (rendered.kind === 'unknown-args') return { kind: 'bad-args', missing: [], unknown: rendered.names };

  const onto = await localUpstreamOf(o.worktree, o.branch);
  const mark = onto ? await markJob(o.worktree, onto) : null;
  const historyMark = await markHistory(o.worktree);
  const before = await revParse(o.worktree, `refs/heads/${o.branch}`);
  let costUsd = 0;
  // the agent's CLIs in turn while their vendors refuse, all in this worktree (cli-fallback.ts)
  const ran = await runOnClis({
    agentName: o.agent.name,
    clis: o.agent.clis,
    prompt: rendered.text,
    worktree: o.worktree,
    earlier: o.earlier,
    display: o.display,
    onCli: o.onCli,
    goOn: () => worktreeKept(o),
    run: async (cli, prompt) => {
      const outcome = await runAgentSession({ ...o, cwd: o.worktree, agentName: o.agent.name, cli, cliArgs: o.agent.cliArgs[cli] ?? [], prompt });
      costUsd += runCost(outcome);
      return outcome;
    },
  });
  const { session, cli } = ran;
  const base = { ...o, cwd: o.worktree, agentName: o.agent.name, cli, cliArgs: o.agent.cliArgs[cli] ?? [] };
  const cliRan: CliRan = { cli, refused: ran.refused, handoffs: ran.handoffs };
  const sessionId = sessionIdOf(session);
  if (!(await worktreeKept(o))) return { kind: 'worktree-gone', session, sessionId, costUsd, ...cliRan };
  const settle: SettleOptions = { worktree: o.worktree, branch: o.branch, worker: o.worker, main: onto, stateDir: o.stateDir, before };
  // back on the worker's branch, out of any odd git state the agent left (lib/worktree/settle.ts)
  const settleAndSay = async (): Promise<string | null> => {
    const settled = await settleWorktree(settle);
    for (const note of settled.notes) o.display?.(`coven: ${note}`);
    return settled.stray;
  };
  let stray = await settleAndSay();

  let files = await dirtyFiles(o.worktree);
  if (files.length > 0 && sessionId && session.kind !== 'aborted' && session.kind !== 'cli-not-found' && session.kind !== 'refused') {
    o.display?.(`coven: the agent left ${files.length} uncommitted file(s); asking it to commit or discard them`);
    const again = await runAgentSession({ ...base, prompt: COMMIT_OR_DISCARD(files), resume: sessionId });
    costUsd += runCost(again);
    if (!(await worktreeKept(o))) return { kind: 'worktree-gone', session, sessionId, costUsd, ...cliRan };
    stray ??= await settleAndSay();
    files = await dirtyFiles(o.worktree);
  }
  const kept = mark ? await keepWhatTheJobDropped(o.worktree, o.worker, o.branch, mark) : { dropped: [], rewound: null };
  const history = await setAsideHistoryChanges(o.worktree, o.worker, historyMark);
  // whatever else left commits on no ref (a branch deleted, a detached HEAD moved on)
  const unreachable = await keepReflogOnly(o.worktree, o.worker, o.branch);
  if (unreachable.length > 0) kept.unreachable = unreachable;
  // every CLI refused and the worker tries the job again here: what the sessions changed stays for it
  const keepForRetry = session.kind === 'refused' && o.keepChangesWhenRefused === true;
  const saved = files.length > 0 && !keepForRetry ? await saveAndClean(o.worktree, o.worker, 'wip', `coven: uncommitted work left by ${o.agent.name}`) : ({ kind: 'clean' } as const);
  return { kind: 'finished', session, sessionId, costUsd, saved, stray, kept, history, ...cliRan };
}

/**
 * After a session: the worktree is still there and still the one coven made. A link
 * to the repository the agent rewrote is put back first, and said (identity.ts); one
 * that cannot be is left to the worker, as a worktree gone.
 */
async function worktreeKept(o: JobOptions): Promise<boolean> {
  const link = await keepPinnedIdentity(o.worktree);
  if (link.kind === 'repaired') o.display?.(describeRepair(o.worktree, link));
  if (link.kind === 'failed' || link.kind === 'git-dir-gone') return false;
  return existsSync(join(o.worktree, '.git'));
}

/** Saves the worktree's uncommitted changes under refs/coven/<kind>/… and cleans it. */
export async function saveAndClean(worktree: string, worker: string, kind: string, message: string): Promise<SaveResult> {
  const saved = await saveUncommittedWork(worktree, covenRef(kind, worker), message);
  await discardSavedChanges(worktree, saved);
  return saved;
}

