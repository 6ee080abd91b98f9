// session-contract — what a session of the agent CLI is, for the session runner
// (lib/session/runner.ts) and whoever starts one: its options, its outcome, the handle
// that steers it, and the command line the CLI is given (the CLI contract is in
// reference/claude-cli.md).

export interface SessionOptions {
  /** the worktree the agent works in (a resume must use the cwd of the original session) */
  cwd: string;
  /** the first user message */
  prompt: string;
  /** --permission-mode; default acceptEdits */
  permissionMode?: string;
  /** the agent's `claude_args` (frontmatter) */
  claudeArgs?: readonly string[];
  /** arguments given after `--` on the worker's command line */
  extraArgs?: readonly string[];
  /** coven's protocol text, passed as --append-system-prompt (over 100 KB: at the head of the first message on stdin) */
  appendSystemPrompt?: string;
  /** session id to resume */
  resume?: string;
  /** file the raw stdout is appended to (folders are created) */
  logFile?: string;
  /** wall-clock limit; default 60 minutes */
  timeoutMs?: number;
  /** receives the live view, one line per call (no trailing newline) */
  display?: (line: string) => void;
  /** environment of the CLI (default process.env); COVEN_CLAUDE is read from it; CLAUDECODE is removed */
  env?: NodeJS.ProcessEnv;
  /** how long the CLI may linger after its last result before SIGTERM; default 2000 */
  lingerMs?: number;
  /** how long after SIGTERM before SIGKILL; default 5000 */
  killGraceMs?: number;
}

export type SessionOutcome =
  | { kind: 'success'; text: string; sessionId: string; costUsd: number; turns: number; durationMs: number }
  | { kind: 'agent-error'; subtype: string; errors: string[]; text?: string; sessionId: string; costUsd: number; turns: number; durationMs: number }
  | { kind: 'crashed'; exitCode: number | null; signal: NodeJS.Signals | null; stderrTail: string[]; sessionId?: string }
  | { kind: 'timed-out'; timeoutMs: number; sessionId?: string }
  | { kind: 'aborted'; sessionId?: string }
  | { kind: 'cli-not-found'; command: string; message: string }
  /** the CLI was not started: `what` would have gone over the OS limit on a command line (lib/session/cli-invocation.ts) */
  | { kind: 'too-big'; what: string; bytes: number; maxBytes: number };

export interface SessionHandle {
  /** resolves once the CLI and everything it started are gone, and the log is flushed */
  readonly outcome: Promise<SessionOutcome>;
  /** the CLI's pid, which is also its process group (undefined if it could not start) */
  readonly pid?: number;
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

/** The CLI's arguments (without the prompt, which goes on stdin). */
export function sessionArgs(opts: Pick<SessionOptions, 'permissionMode' | 'claudeArgs' | 'extraArgs' | 'appendSystemPrompt' | 'resume'>): string[] {
  // --replay-user-messages: the CLI echoes each stdin message when a turn takes it, which
  // tells us whether a steering message still has a turn to come (see onResult)
  const args = ['-p', '--output-format', 'stream-json', '--verbose', '--input-format', 'stream-json', '--replay-user-messages'];
  args.push('--permission-mode', opts.permissionMode ?? 'acceptEdits');
  args.push(...(opts.claudeArgs ?? []), ...(opts.extraArgs ?? []));
  if (opts.appendSystemPrompt !== undefined) args.push('--append-system-prompt', opts.appendSystemPrompt);
  if (opts.resume !== undefined) args.push('--resume', opts.resume);
  return args;
}

/** One stream-json user message, as the CLI reads it on stdin. */
export function userMessageLine(text: string): string {
  return `${JSON.stringify({ type: 'user', message: { role: 'user', content: text } })}\n`;
}

/** The agent CLI to run: $COVEN_CLAUDE, else `claude` on PATH. */
export function agentCommand(env: NodeJS.ProcessEnv = process.env): string {
  return env.COVEN_CLAUDE?.trim() || 'claude';
}

export function cliNotFoundMessage(command: string, code = 'ENOENT'): string {
  const what = code === 'EACCES' ? `the agent CLI '${command}' is not executable` : command.includes('/') ? `the agent CLI '${command}' does not exist` : `the agent CLI '${command}' was not found on PATH`;
  return `${what}. Install Claude Code (npm install -g @anthropic-ai/claude-code) or set COVEN_CLAUDE to the path of the claude binary.`;
}
