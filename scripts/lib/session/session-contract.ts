// session-contract — what a session of an agent CLI is, for the session runner
// (lib/session/runner.ts) and whoever starts one: its options, its outcome, the handle
// that steers it. The CLI itself is reached only through its adapter (lib/clis/).

import type { CliName, Refusal, TokenCounts } from '../clis/adapter.js';
import { adapterFor } from '../clis/index.js';
import { claudeArgs } from '../clis/claude.js';

export { userMessageLine } from '../clis/claude.js';

export interface SessionOptions {
  /** the worktree the agent works in (a resume must use the cwd of the original session) */
  cwd: string;
  /** the first user message */
  prompt: string;
  /** the agent CLI; default claude */
  cli?: CliName;
  /** --permission-mode (Claude Code); default acceptEdits */
  permissionMode?: string;
  /** the agent's arguments for this CLI (frontmatter `claude_args`, `codex_args` …) */
  cliArgs?: readonly string[];
  /** arguments given after `--` on the worker's command line */
  extraArgs?: readonly string[];
  /** coven's protocol text: the CLI's system prompt where it has one (Claude Code: --append-system-prompt, over 100 KB at the head of the first message on stdin), else at the head of the prompt */
  systemText?: string;
  /** session id to resume */
  resume?: string;
  /** file the raw stdout is appended to (folders are created) */
  logFile?: string;
  /** wall-clock limit; default 60 minutes */
  timeoutMs?: number;
  /** receives the live view, one line per call (no trailing newline) */
  display?: (line: string) => void;
  /** environment of the CLI (default process.env); the binary's override (COVEN_CLAUDE, COVEN_CODEX …) and COVEN_PRICE_<CLI> are read from it; CLAUDECODE is removed */
  env?: NodeJS.ProcessEnv;
  /** how long the CLI may linger after its last result before SIGTERM; default 2000 */
  lingerMs?: number;
  /** how long after SIGTERM before SIGKILL; default 5000 */
  killGraceMs?: number;
}

export type SessionOutcome =
  | { kind: 'success'; text: string; sessionId: string; costUsd: number; turns: number; durationMs: number; tokens?: TokenCounts }
  | { kind: 'agent-error'; subtype: string; errors: string[]; text?: string; sessionId: string; costUsd: number; turns: number; durationMs: number; tokens?: TokenCounts }
  /** the vendor would not serve the session (quota, rate limit, auth, overloaded): it was stopped at once; the job may go to another CLI */
  | { kind: 'refused'; refusal: Refusal; sessionId?: string; costUsd: number }
  | { kind: 'crashed'; exitCode: number | null; signal: NodeJS.Signals | null; stderrTail: string[]; sessionId?: string }
  | { kind: 'timed-out'; timeoutMs: number; sessionId?: string }
  | { kind: 'aborted'; sessionId?: string }
  /** the CLI's binary is not there, or coven has no adapter for it (command: the CLI's name then) */
  | { kind: 'cli-not-found'; command: string; message: string }
  /** the CLI was not started: `what` would have gone over the OS limit on a command line (lib/session/cli-invocation.ts) */
  | { kind: 'too-big'; what: string; bytes: number; maxBytes: number };

export interface SessionHandle {
  /** resolves once the CLI and everything it started are gone, and the log is flushed */
  readonly outcome: Promise<SessionOutcome>;
  /** the CLI's pid, which is also its process group (undefined if it could not start) */
  readonly pid?: number;
  /** the CLI's name for people (`Codex`) */
  readonly cliLabel: string;
  /** the CLI takes further user messages mid-session (send() can work); only Claude Code does */
  readonly steering: boolean;
  /** the session id, as soon as the CLI's `init` has named it */
  sessionId(): string | undefined;
  /** sends a further user message (steering); false when the session no longer reads stdin */
  send(text: string): boolean;
  /** ends the session and its whole process group; the outcome becomes `aborted` unless a result already came */
  abort(): void;
  /**
   * stops the CLI and everything it started (SIGSTOP to each process group) until
   * resume(); false when the session has ended or only winds down. The wall-clock
   * limit keeps running; abort() and the timeout still end a paused session.
   */
  pause(): boolean;
  /** lets a paused session go on (SIGCONT) */
  resume(): void;
}

export const defaultTimeoutMs = 60 * 60 * 1000;

/** Claude Code's arguments for these options (without the prompt, which goes on stdin). */
export function sessionArgs(opts: Pick<SessionOptions, 'permissionMode' | 'cliArgs' | 'extraArgs' | 'systemText' | 'resume'>): string[] {
  return claudeArgs({ permissionMode: opts.permissionMode, args: [...(opts.cliArgs ?? []), ...(opts.extraArgs ?? [])], systemText: opts.systemText, resume: opts.resume });
}

/** The agent CLI to run: the CLI's override in env (COVEN_CLAUDE …), else its command on PATH. */
export function agentCommand(env: NodeJS.ProcessEnv = process.env, cli: CliName = 'claude'): string {
  const a = adapterFor(cli);
  if (a.kind !== 'adapter') return cli;
  return env[a.adapter.envVar]?.trim() || a.adapter.defaultCommand;
}

export function cliNotFoundMessage(command: string, code = 'ENOENT', cli: CliName = 'claude'): string {
  const a = adapterFor(cli);
  if (a.kind !== 'adapter') return `${a.message}.`;
  const { label, install, envVar, defaultCommand } = a.adapter;
  const what = code === 'EACCES' ? `the agent CLI '${command}' is not executable` : command.includes('/') ? `the agent CLI '${command}' does not exist` : `the agent CLI '${command}' was not found on PATH`;
  return `${what}. Install ${label} (${install}) or set ${envVar} to the path of the ${defaultCommand} binary.`;
}
