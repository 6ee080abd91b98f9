// adapter — the one contract between coven and an agent CLI (Claude Code, Codex, Gemini
// CLI, opencode). An adapter is pure: it builds the command line of a start or a resume,
// turns the CLI's stdout (and stderr) lines into coven's events, and says what the CLI
// cannot do. The session runner (lib/session/runner.ts) spawns, times out, kills and
// judges with it; the rest of coven — dispatch, the worker, conflict resolution, the
// display, status — sees only the session outcome and the CLI's name.
//
// Adding a CLI: one file beside this one that exports a CliAdapter, one line in
// index.ts, a fake in fakes/, and a row in docs/agent-clis.md.

/** Every CLI coven can drive, by the name agent files use (`cli: codex`). */
export const CLI_NAMES = ['claude', 'codex', 'gemini', 'opencode'] as const;
export type CliName = (typeof CLI_NAMES)[number];

export function isCliName(s: string): s is CliName {
  return (CLI_NAMES as readonly string[]).includes(s);
}

export interface TokenCounts {
  input: number;
  output: number;
  /** input tokens served from the provider's cache (counted in `input` too when the CLI does) */
  cachedInput: number;
}

/** Why the vendor would not serve the session: the job can go to the next CLI in the agent's list. */
export type RefusalReason = 'quota' | 'rate-limit' | 'auth' | 'overloaded';

export interface Refusal {
  reason: RefusalReason;
  /** the CLI's own words, one line */
  message: string;
}

/** One thing a CLI said, as coven sees it whatever CLI printed it. */
export type CliEvent =
  /** the session id is known (a resume uses it) */
  | { kind: 'session'; sessionId: string; model?: string }
  /** assistant text; `delta`: a chunk of a message still being written (concatenate) */
  | { kind: 'text'; text: string; delta?: boolean }
  /** a tool call, for the live view: `Bash: npm test` */
  | { kind: 'tool'; summary: string }
  /** a tool call failed: one line */
  | { kind: 'tool-failed'; summary: string }
  /** something worth one line in the live view (the CLI retries, a warning) */
  | { kind: 'notice'; text: string }
  /** the vendor refuses (quota, rate limit, auth, overloaded): the runner stops the session at once */
  | { kind: 'refused'; refusal: Refusal }
  /** (steering CLIs) a stdin message was taken by a turn */
  | { kind: 'replay' }
  /** (steering CLIs) a new turn began */
  | { kind: 'turn-start' }
  /** a turn ended; the last one judges the session */
  | {
      kind: 'result';
      ok: boolean;
      /** `success`, or the CLI's kind of failure (`error_max_turns`, `turn.failed`, `api_error` …) */
      subtype: string;
      /** the final text (for a failure, whatever text came) */
      text?: string;
      errors: string[];
      /** dollars, only where the CLI says it (Claude Code) */
      costUsd?: number;
      tokens?: TokenCounts;
      turns?: number;
      durationMs?: number;
    };

/** What a session asks of the CLI. */
export interface CliRun {
  /** the worktree: the CLI's cwd (a resume must use the cwd of the original session) */
  cwd: string;
  /** the first user message */
  prompt: string;
  /** coven's protocol text: a system prompt where the CLI has one, else at the head of the prompt */
  systemText?: string;
  /** session id to resume */
  resume?: string;
  /** the agent's arguments for this CLI (frontmatter `<cli>_args`) and those after `--` */
  args: readonly string[];
  /** Claude Code's --permission-mode (others have no such setting) */
  permissionMode?: string;
}

/** How to start the CLI for one run. */
export interface CliCommand {
  args: string[];
  /** written to stdin first; null: nothing */
  stdin: string | null;
  /** keep stdin open for steering messages (else it is closed after `stdin`) */
  keepStdinOpen: boolean;
  /** added to the CLI's environment (e.g. PWD = the worktree for opencode) */
  env: Record<string, string>;
}

/** Reads one session's output. Stateful; never throws. */
export interface StreamParser {
  /** one stdout line → its events (none for a line coven does not use) */
  line(line: string): CliEvent[];
  /** one stderr line → its events (a refusal some CLIs only print there) */
  stderr(line: string): CliEvent[];
  /** the CLI exited: what its stream implied but never printed (opencode has no result event) */
  end(exit: { code: number | null; signal: NodeJS.Signals | null }): CliEvent[];
}

export interface CliAdapter {
  readonly name: CliName;
  /** `Claude Code`, `Codex`, `Gemini CLI`, `opencode` */
  readonly label: string;
  /** the environment variable that overrides the binary (COVEN_CLAUDE, COVEN_CODEX …) */
  readonly envVar: string;
  /** the binary on PATH when envVar is not set */
  readonly defaultCommand: string;
  /** the command that installs it */
  readonly install: string;
  /** the agent file's key for this CLI's arguments (claude_args, codex_args …) */
  readonly argsKey: string;
  /** takes further user messages on stdin mid-session */
  readonly steering: boolean;
  /** reports cost in dollars (else tokens × the user's price) */
  readonly costInDollars: boolean;
  /** what it cannot do, one short line each (coven agents, docs/agent-clis.md) */
  readonly limits: readonly string[];
  command(run: CliRun): CliCommand;
  parser(): StreamParser;
  /** a steering message as the CLI reads it on stdin (steering CLIs only) */
  steerLine?(text: string): string;
  /** the CLI's words for a session id it does not know: a resume that fails so starts a fresh session */
  readonly unknownSession?: RegExp;
}

/**
 * The first refusal of a session as its event, none after it: a parser emits at most one
 * (`st.refused` is the parser's own flag), however many retry lines the CLI prints.
 */
export function refuseOnce(st: { refused: boolean }, refusal: Refusal): CliEvent[] {
  if (st.refused) return [];
  st.refused = true;
  return [{ kind: 'refused', refusal }];
}
