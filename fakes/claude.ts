#!/usr/bin/env node
// fake-claude — a faithful stand-in for `claude -p` (Claude Code 2.1.197) in tests.
// It follows the contract in shared/reference/claude-cli.md and the captured samples in
// test/fixtures/claude-cli-samples/ (copies of the reference's samples): same argument rules, same stream-json events and
// fields, same session files and resume rules. It is scripted instead of calling a model,
// and the tools it "calls" really act in its cwd (bash runs, files are written, commits
// are made), so git is exercised end to end.
//
// Run through the shim fakes/bin/claude (which execs node on dist/fakes/claude.js).
//
// ARGUMENTS  parsed like commander: `--flag value`, `--flag=value`, short -p -r -c -d -v -h
//   (also `-pv`), `--` ends options; variadic flags (--allowedTools --disallowedTools
//   --tools --add-dir --mcp-config --betas) swallow following non-dash words. Usage
//   errors print the real CLI's text and exit 1: unknown option, invalid choice,
//   missing option argument, stream-json output without --verbose, stream-json input
//   without stream-json output, bypass mode as root (unless IS_SANDBOX=1), missing
//   prompt, bad/used --session-id. `--version` prints `2.1.197 (Claude Code)`.
//   Only print mode (-p) is supported.
// PROMPT  positional and/or stdin text ("<arg>\n<stdin>"; with an arg and a silent open
//   stdin it warns after 3 s and goes on), or --input-format stream-json: one turn per
//   stdin user message (own init and result, same session id); exit 0 at EOF (1 if the
//   last result was an error). As in the real CLI, a message that arrives while a turn
//   runs is handed to that turn at its next model call after a tool result (the model
//   sees it as a note), and only starts a turn of its own if the turn ends first.
// OUTPUT  stream-json (one line per event, as the samples), json (the result object; with
//   --verbose an array of every event), text (the result text). --include-partial-messages
//   adds stream_event deltas. --replay-user-messages echoes each stdin message when a turn takes it.
// SESSIONS  transcript at ${CLAUDE_CONFIG_DIR:-$HOME/.claude}/projects/<enc>/<id>.jsonl,
//   <enc> = realpath(cwd) with every char outside [A-Za-z0-9] turned into '-' (cut to 200
//   + '-<hash>' when longer); the user line is written first, then each line as it
//   happens. --resume looks only there: a miss prints `No conversation found with session
//   ID: <id>` on stderr and an error_during_execution result with no init, exit 1; a hit
//   keeps the id and appends. A resumed run (also --continue, --fork-session) goes on
//   with the model of the transcript's last answer (the API's name, without `[1m]`)
//   unless --model says otherwise, and its total_cost_usd counts only its own turns.
//   --continue takes the newest transcript of the cwd (none: a new session), --fork-session copies the history
//   under a new id, --session-id names a new session, --no-session-persistence writes none.
//   Another worktree of the same repository: the reference (§3, "Git worktrees") saw the
//   real CLI find the session from there and then work in the caller's cwd, and it tells
//   the fake to look only in the cwd's folder. The fake refuses such a resume: the strict
//   direction, so a toolkit that resumes in the wrong worktree (the agent would work in
//   that checkout) fails its tests instead of passing them.
// TOOLS  the built-in list of 2.1.197; Glob and Grep are offered only when an
//   --allowedTools rule names one of them (then both); --tools narrows the list.
// PERMISSIONS  Read always runs. bypassPermissions / --dangerously-skip-permissions / auto
//   allow everything; acceptEdits allows Edit and Write; --allowedTools rules (`Bash`,
//   `Bash(git *)`, `Bash(npm test:*)`, `Edit`, `Write`) allow more (each part of a
//   compound `a && b` command must match); --disallowedTools rules deny. A denied call
//   gets "This command requires approval" (Bash) and is listed in permission_denials.
// SIGNALS  SIGTERM → exit 143, SIGINT → exit 0, both without a result. A run with
//   `sigtermDuringTool: 'finish-turn'` does what the reference saw the real CLI do on a
//   SIGTERM while a Bash tool runs: the tool is killed (`Exit code 137`), the rest of the
//   steps and the result follow, and the process exits 0 (SIGTERM while no tool runs is
//   143 as before). The strict 143 stays the default: a late result is opt-in.
//
// SCRIPT  FAKE_CLAUDE_SCRIPT=/path/run.json: a JSON array of runs (type FakeRun below).
//   Each turn takes the first run not used up (`times`, default 1) whose `match` fits
//   the turn; usage is counted in `<script>.counter.json` under an O_EXCL lock, so
//   several fakes can share one script. Without a script every turn writes "Done.".
//   A run's `expect` is checked; a failure prints `fake claude: expectation failed …`
//   and exits 97 without a result (as does a script with no run left for a turn).
//   The other fake CLIs (fakes/codex.ts …) read the same script format: they import
//   pickRun, unmetExpectations and the tools (runShell, runCommit, writeTool, editTool) from here.
// LOG  FAKE_CLAUDE_LOG=/path/log.jsonl: one line per invocation when it ends (type
//   FakeInvocation below: argv, cwd, stdin, pid, start/end times, session id, prompts,
//   runs used, stdin messages, an env subset). A SIGKILLed fake logs nothing.
// STEPS  text, thinking, bash, reply_from_bash (a Bash call whose stdout becomes the
//   next text; the command sees the prompt in $FAKE_CLAUDE_PROMPT), text_from_command
//   (the same without a tool call: a scripted model's reasoning), write, edit, read,
//   commit, sleep_ms, wait_for_message, wait_for_file, api_retry, raw, noise (see FakeStep).
//
// CWD  the fake refuses to run a session (exit 97, a problem in the log, nothing done)
//   whose cwd is inside a checkout of coven itself (a folder above holds a package.json
//   named coven), unless FAKE_CLAUDE_ALLOW_PROJECT_CWD=1: a test's agent never works
//   in the project's own files.
//
//   exit: 0 success · 1 error result or usage error · 143 SIGTERM · 97 script problem

import { spawn, execFileSync } from 'node:child_process';
import { randomUUID, randomBytes } from 'node:crypto';
import {
  appendFileSync,
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  realpathSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve as resolvePath } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { exitFlushed, logInvocation } from './invocation-end.js';

// ====================================================================== script format
// (validated by hand below rather than with zod: the fake starts for every session of
// every end-to-end test, and loading zod would add about a tenth of a second each time)

type Strings = string | string[];

export type FakeStep =
  | { text: string }
  | { thinking: string }
  /** a Bash tool call, run with /bin/sh -c in the cwd */
  | { bash: string; description?: string }
  /**
   * a Bash tool call whose stdout becomes the next assistant text, like a model that
   * answers from what a command printed; the command sees the turn's prompt in
   * $FAKE_CLAUDE_PROMPT (scripted dispatch that reads the other workers, for example)
   */
  | { reply_from_bash: string }
  /**
   * text computed by a command, with no tool call: it stands for the scripted model's own
   * reasoning (nothing is shown, no permission applies). The command runs with /bin/sh -c
   * in the cwd and sees the turn's prompt in $FAKE_CLAUDE_PROMPT; its stdout is the text.
   */
  | { text_from_command: string }
  | { write: { path: string; content: string } }
  | { edit: { path: string; old: string; new: string; all?: boolean } }
  | { read: string }
  /** a Bash tool call `git add -A && git commit -m <message>` (run without a shell) */
  | { commit: string }
  | { sleep_ms: number }
  /** waits (at most the given ms) until a further stdin message has arrived: deterministic steering tests */
  | { wait_for_message: number }
  /**
   * waits, invisibly (no event), until the file exists (at most timeout_ms, default
   * 60 s): a model that takes its time while a test moves other workers along
   */
  | { wait_for_file: string; timeout_ms?: number }
  /** `attempts` system/api_retry events at once (error: the real CLI's for the status unless given) */
  | { api_retry: { attempts?: number; status?: number; error?: string } }
  /** writes the string to stdout as it is (partial lines, junk) */
  | { raw: string }
  /** `events` lines of an unknown event type, each about `bytes` long (huge streams) */
  | { noise: { events: number; bytes: number } };

export interface FakeRun {
  /** which turns this run may serve (each turn takes the first unused run that matches) */
  match?: { promptIncludes?: Strings; resume?: boolean; cwdIncludes?: string };
  /** checked once the run is chosen; a failure exits 97 */
  expect?: {
    resume?: boolean;
    promptIncludes?: Strings;
    /** the session's transcript before this turn (e.g. on resume: the earlier prompt) */
    historyIncludes?: Strings;
    argvIncludes?: string[];
    cwdIncludes?: string;
    permissionMode?: string;
    systemPromptIncludes?: string;
  };
  /** how many turns this run may serve; default 1 */
  times?: number | 'unlimited';
  steps?: FakeStep[];
  result?: {
    subtype?: 'success' | 'error_during_execution' | 'error_max_turns' | 'error_max_budget_usd' | 'error_max_structured_output_retries';
    is_error?: boolean;
    /** the final assistant text (default: the last text step, else "Done.") */
    text?: string;
    errors?: string[];
    /** this turn's cost (default 0.00056 per model round trip) */
    cost_usd?: number;
  };
  /** the last model call fails: synthetic "API Error: <status> …" message, subtype success + is_error, exit 1 */
  api_error?: { status: number; message?: string; /** the whole text instead (the CLI words some errors its own way: "Credit balance is too low") */ text?: string };
  /**
   * the vendor refuses the model call after the steps (with none: the first call, retried
   * before the prompt is echoed as taken), as the real CLI shows it (each fake CLI prints
   * its own CLI's signals for the same scenario): rate-limit (429),
   * auth (401) and overloaded (529) are retried (system/api_retry, 10 attempts over
   * minutes, really waited) before the API error result; quota (credit balance too low,
   * 400) is not retried
   */
  refuse?: { reason: 'quota' | 'rate-limit' | 'auth' | 'overloaded' };
  /** exit code (default: 0, or 1 after an error result; with crashAfterStep: 1) */
  exit?: number;
  /** hang before the result (none ever comes) or after it (never exits, even at stdin EOF) */
  hang?: 'before-result' | 'after-result' | true;
  /** exit right after step N (0: right after init) without a result */
  crashAfterStep?: number;
  /** ignore SIGTERM during this run (only SIGKILL ends it) */
  ignoreSigterm?: boolean;
  /**
   * SIGTERM while a Bash tool runs, as the real CLI: the tool is killed (`Exit code 137`),
   * the rest of the steps and the result follow, then exit 0 (default: exit 143 at once)
   */
  sigtermDuringTool?: 'finish-turn';
  /** delay before every step */
  stepDelayMs?: number;
}

type Run = FakeRun;

/**
 * What the real CLI (2.1.197, observed against the mock API) ends a refused call with:
 * the API's status, and the result text ("API Error: <status> <the error's message>",
 * or the CLI's own words). A credit balance too low is a 400 the CLI does not retry.
 */
const refusals = {
  quota: { status: 400, text: 'Credit balance is too low' },
  'rate-limit': { status: 429, message: "This request would exceed your organization's rate limit of 50 requests per minute." },
  auth: { status: 401, text: 'Failed to authenticate. API Error: 401 invalid x-api-key' },
  overloaded: { status: 529, message: 'Overloaded' },
} as const;

/** The `error` of the CLI's system/api_retry for each retried refusal (observed). */
const retryErrors = { quota: 'billing_error', 'rate-limit': 'rate_limit', auth: 'authentication_failed', overloaded: 'overloaded' } as const;

/** The `error` the real CLI gives a system/api_retry for an HTTP status (observed: 429, 401, 529, 500, 503). */
function retryErrorOf(status: number): string {
  if (status === 429) return 'rate_limit';
  if (status === 401 || status === 403) return 'authentication_failed';
  if (status === 529) return 'overloaded';
  return status >= 500 ? 'server_error' : 'unknown';
}
type Step = FakeStep;

type Check = 'string' | 'number' | 'boolean' | 'strings' | 'string[]' | { [key: string]: Check } | ((v: unknown) => boolean);
const stepShapes: Record<string, { [key: string]: Check }> = {
  text: { text: 'string' },
  thinking: { thinking: 'string' },
  bash: { bash: 'string', 'description?': 'string' },
  reply_from_bash: { reply_from_bash: 'string' },
  text_from_command: { text_from_command: 'string' },
  write: { write: { path: 'string', content: 'string' } },
  edit: { edit: { path: 'string', old: 'string', new: 'string', 'all?': 'boolean' } },
  read: { read: 'string' },
  commit: { commit: 'string' },
  sleep_ms: { sleep_ms: 'number' },
  wait_for_message: { wait_for_message: 'number' },
  wait_for_file: { wait_for_file: 'string', 'timeout_ms?': 'number' },
  api_retry: { api_retry: { 'attempts?': 'number', 'status?': 'number', 'error?': 'string' } },
  raw: { raw: 'string' },
  noise: { noise: { events: 'number', bytes: 'number' } },
};
const runShape: { [key: string]: Check } = {
  'match?': { 'promptIncludes?': 'strings', 'resume?': 'boolean', 'cwdIncludes?': 'string' },
  'expect?': { 'resume?': 'boolean', 'promptIncludes?': 'strings', 'historyIncludes?': 'strings', 'argvIncludes?': 'string[]', 'cwdIncludes?': 'string', 'permissionMode?': 'string', 'systemPromptIncludes?': 'string' },
  'times?': (v) => v === 'unlimited' || (Number.isInteger(v) && (v as number) > 0),
  'steps?': (v) => Array.isArray(v),
  'result?': { 'subtype?': (v) => typeof v === 'string' && (v === 'success' || v.startsWith('error_')), 'is_error?': 'boolean', 'text?': 'string', 'errors?': 'string[]', 'cost_usd?': 'number' },
  'api_error?': { status: 'number', 'message?': 'string', 'text?': 'string' },
  'refuse?': { reason: (v) => v === 'quota' || v === 'rate-limit' || v === 'auth' || v === 'overloaded' },
  'exit?': (v) => Number.isInteger(v),
  'hang?': (v) => v === true || v === 'before-result' || v === 'after-result',
  'crashAfterStep?': (v) => Number.isInteger(v) && (v as number) >= 0,
  'ignoreSigterm?': 'boolean',
  'sigtermDuringTool?': (v) => v === 'finish-turn',
  'stepDelayMs?': 'number',
};

/** Problems with a parsed script, each naming where: `[0].steps[2].bash: expected string`. */
export function scriptProblems(script: unknown): string[] {
  if (!Array.isArray(script)) return ['the script must be a JSON array of runs'];
  const problems: string[] = [];
  script.forEach((run, i) => {
    checkValue(run, runShape, `[${i}]`, problems);
    const steps = (run as { steps?: unknown }).steps;
    if (!Array.isArray(steps)) return;
    steps.forEach((step, k) => {
      const where = `[${i}].steps[${k}]`;
      const kind = typeof step === 'object' && step !== null ? Object.keys(step).find((key) => key in stepShapes) : undefined;
      if (!kind) problems.push(`${where}: not a step (one of ${Object.keys(stepShapes).join(', ')})`);
      else checkValue(step, stepShapes[kind]!, where, problems);
    });
  });
  return problems;
}

function checkValue(value: unknown, check: Check, where: string, problems: string[]): void {
  const fail = (what: string): void => void problems.push(`${where}: expected ${what}`);
  if (typeof check === 'function') {
    if (!check(value)) fail('a valid value');
  } else if (check === 'strings') {
    if (typeof value !== 'string' && !(Array.isArray(value) && value.every((x) => typeof x === 'string'))) fail('a string or a list of strings');
  } else if (check === 'string[]') {
    if (!(Array.isArray(value) && value.every((x) => typeof x === 'string'))) fail('a list of strings');
  } else if (typeof check === 'string') {
    if (typeof value !== check) fail(check);
  } else {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return fail('an object');
    const obj = value as Record<string, unknown>;
    for (const [spec, sub] of Object.entries(check)) {
      const key = spec.replace(/\?$/, '');
      if (obj[key] === undefined) {
        if (!spec.endsWith('?')) problems.push(`${where}.${key}: required`);
      } else checkValue(obj[key], sub, `${where}.${key}`, problems);
    }
    const known = Object.keys(check).map((k) => k.replace(/\?$/, ''));
    for (const key of Object.keys(obj)) if (!known.includes(key)) problems.push(`${where}.${key}: unknown key`);
  }
}

/** One line of FAKE_CLAUDE_LOG. */
export interface FakeInvocation {
  argv: string[];
  cwd: string;
  /** everything read from stdin (first MiB) */
  stdin: string;
  pid: number;
  startedAt: string;
  endedAt: string;
  exitCode: number;
  /** set when the invocation ended by a signal */
  signal?: string;
  sessionId: string | null;
  resumed: boolean;
  /** every prompt the "model" was given, in order: each turn's, and messages injected into a turn */
  prompts: string[];
  /** index of the script run each turn used (-1: no script) */
  runs: number[];
  /**
   * stream-json stdin messages. duringTurn: the turn running when it arrived (null: none);
   * takenBy: the turn that took it, as its prompt ('turn') or mid-turn ('injected')
   */
  messages: { text: string; receivedAt: string; duringTurn: number | null; takenBy: { turn: number; how: 'turn' | 'injected' } | null }[];
  env: Record<string, string | null>;
  problems: string[];
}

// ====================================================================== constants

const version = '2.1.197';
const defaultModel = 'claude-opus-4-8[1m]';
const costPerRoundTrip = 0.00056;
const permissionModes = ['acceptEdits', 'auto', 'bypassPermissions', 'default', 'dontAsk', 'plan'];
const builtinTools = ['Task', 'Bash', 'CronCreate', 'CronDelete', 'CronList', 'Edit', 'EnterWorktree', 'ExitWorktree', 'NotebookEdit', 'Read', 'ReportFindings', 'ScheduleWakeup', 'SendMessage', 'Skill', 'TaskCreate', 'TaskGet', 'TaskList', 'TaskOutput', 'TaskStop', 'TaskUpdate', 'WebFetch', 'WebSearch', 'Workflow', 'Write'];
/** not offered by default; an --allowedTools rule naming either adds both (observed, test/real-cli-worker) */
const searchTools = ['Glob', 'Grep'];
const withSearchTools = [...builtinTools.slice(0, builtinTools.indexOf('NotebookEdit')), ...searchTools, ...builtinTools.slice(builtinTools.indexOf('NotebookEdit'))];
const skills = ['deep-research', 'update-config', 'verify', 'debug', 'code-review', 'simplify', 'batch', 'fewer-permission-prompts', 'loop', 'claude-api', 'run', 'run-skill-generator'];
const slashCommands = [...skills, 'clear', 'compact', 'config', 'context', 'heapdump', 'init', 'reload-skills', 'review', 'security-review', 'usage', 'insights', 'goal', 'team-onboarding'];
const agents = ['claude', 'Explore', 'general-purpose', 'Plan', 'statusline-setup'];

// ====================================================================== arguments

type OptKind = 'bool' | 'value' | 'optional' | 'variadic';
interface OptSpec {
  flags: string; // as commander prints it in errors
  names: string[];
  kind: OptKind;
  key: string;
  choices?: string[];
}

const optionSpecs: OptSpec[] = [
  { flags: '-p, --print', names: ['-p', '--print'], kind: 'bool', key: 'print' },
  { flags: '--output-format <format>', names: ['--output-format'], kind: 'value', key: 'outputFormat', choices: ['text', 'json', 'stream-json'] },
  { flags: '--input-format <format>', names: ['--input-format'], kind: 'value', key: 'inputFormat', choices: ['text', 'stream-json'] },
  { flags: '--verbose', names: ['--verbose'], kind: 'bool', key: 'verbose' },
  { flags: '--include-partial-messages', names: ['--include-partial-messages'], kind: 'bool', key: 'includePartialMessages' },
  { flags: '--include-hook-events', names: ['--include-hook-events'], kind: 'bool', key: 'includeHookEvents' },
  { flags: '--replay-user-messages', names: ['--replay-user-messages'], kind: 'bool', key: 'replayUserMessages' },
  { flags: '-r, --resume [value]', names: ['-r', '--resume'], kind: 'optional', key: 'resume' },
  { flags: '-c, --continue', names: ['-c', '--continue'], kind: 'bool', key: 'continue' },
  { flags: '--session-id <uuid>', names: ['--session-id'], kind: 'value', key: 'sessionId' },
  { flags: '--fork-session', names: ['--fork-session'], kind: 'bool', key: 'forkSession' },
  { flags: '--no-session-persistence', names: ['--no-session-persistence'], kind: 'bool', key: 'noSessionPersistence' },
  { flags: '--permission-mode <mode>', names: ['--permission-mode'], kind: 'value', key: 'permissionMode', choices: permissionModes },
  { flags: '--dangerously-skip-permissions', names: ['--dangerously-skip-permissions'], kind: 'bool', key: 'dangerouslySkipPermissions' },
  { flags: '--allow-dangerously-skip-permissions', names: ['--allow-dangerously-skip-permissions'], kind: 'bool', key: 'allowDangerouslySkipPermissions' },
  { flags: '--allowedTools, --allowed-tools <tools...>', names: ['--allowedTools', '--allowed-tools'], kind: 'variadic', key: 'allowedTools' },
  { flags: '--disallowedTools, --disallowed-tools <tools...>', names: ['--disallowedTools', '--disallowed-tools'], kind: 'variadic', key: 'disallowedTools' },
  { flags: '--tools <tools...>', names: ['--tools'], kind: 'variadic', key: 'tools' },
  { flags: '--add-dir <directories...>', names: ['--add-dir'], kind: 'variadic', key: 'addDir' },
  { flags: '--mcp-config <configs...>', names: ['--mcp-config'], kind: 'variadic', key: 'mcpConfig' },
  { flags: '--betas <betas...>', names: ['--betas'], kind: 'variadic', key: 'betas' },
  { flags: '--strict-mcp-config', names: ['--strict-mcp-config'], kind: 'bool', key: 'strictMcpConfig' },
  { flags: '--append-system-prompt <prompt>', names: ['--append-system-prompt'], kind: 'value', key: 'appendSystemPrompt' },
  { flags: '--system-prompt <prompt>', names: ['--system-prompt'], kind: 'value', key: 'systemPrompt' },
  { flags: '--max-turns <turns>', names: ['--max-turns'], kind: 'value', key: 'maxTurns' },
  { flags: '--model <model>', names: ['--model'], kind: 'value', key: 'model' },
  { flags: '--fallback-model <model>', names: ['--fallback-model'], kind: 'value', key: 'fallbackModel' },
  { flags: '--max-budget-usd <amount>', names: ['--max-budget-usd'], kind: 'value', key: 'maxBudgetUsd' },
  { flags: '--max-thinking-tokens <tokens>', names: ['--max-thinking-tokens'], kind: 'value', key: 'maxThinkingTokens' },
  { flags: '--settings <file-or-json>', names: ['--settings'], kind: 'value', key: 'settings' },
  { flags: '--setting-sources <sources>', names: ['--setting-sources'], kind: 'value', key: 'settingSources' },
  { flags: '--permission-prompt-tool <tool>', names: ['--permission-prompt-tool'], kind: 'value', key: 'permissionPromptTool' },
  { flags: '--agents <json>', names: ['--agents'], kind: 'value', key: 'agents' },
  { flags: '--json-schema <schema>', names: ['--json-schema'], kind: 'value', key: 'jsonSchema' },
  { flags: '-d, --debug [filter]', names: ['-d', '--debug'], kind: 'optional', key: 'debug' },
  { flags: '-v, --version', names: ['-v', '--version'], kind: 'bool', key: 'version' },
  { flags: '-h, --help', names: ['-h', '--help'], kind: 'bool', key: 'help' },
];

export interface ParsedArgs {
  /** bool options → true; value options → last value (optional without value → true); variadic → all values */
  options: Record<string, string | true | string[]>;
  operands: string[];
}

export type ArgsOutcome = { kind: 'args'; args: ParsedArgs } | { kind: 'error'; message: string };

const maybeOption = (arg: string): boolean => arg.length > 1 && arg[0] === '-';
const findSpec = (name: string): OptSpec | undefined => optionSpecs.find((s) => s.names.includes(name));

/** Parses argv the way commander (which the real CLI uses) does. */
export function parseArgs(argv: string[]): ArgsOutcome {
  const options: ParsedArgs['options'] = {};
  const operands: string[] = [];
  const unknown: string[] = [];
  let dest = operands;
  let variadic: OptSpec | null = null;
  const args = [...argv];
  let error: string | null = null;

  const set = (spec: OptSpec, value: string | undefined): void => {
    if (error) return;
    if (spec.kind === 'bool') {
      options[spec.key] = true;
      return;
    }
    if (value === undefined) {
      options[spec.key] = true; // optional option without a value
      return;
    }
    if (spec.choices && !spec.choices.includes(value)) {
      error = `error: option '${spec.flags}' argument '${value}' is invalid. Allowed choices are ${spec.choices.join(', ')}.`;
      return;
    }
    if (spec.kind === 'variadic') {
      const prev = options[spec.key];
      options[spec.key] = [...(Array.isArray(prev) ? prev : []), value];
    } else options[spec.key] = value;
  };

  while (args.length > 0 && !error) {
    const arg = args.shift()!;
    if (arg === '--') {
      if (dest === unknown) dest.push(arg);
      dest.push(...args);
      break;
    }
    if (variadic && !maybeOption(arg)) {
      set(variadic, arg);
      continue;
    }
    variadic = null;
    if (maybeOption(arg)) {
      const spec = findSpec(arg);
      if (spec) {
        if (spec.kind === 'value' || spec.kind === 'variadic') {
          const value = args.shift();
          if (value === undefined) {
            error = `error: option '${spec.flags}' argument missing`;
            break;
          }
          set(spec, value);
        } else if (spec.kind === 'optional') {
          set(spec, args.length > 0 && !maybeOption(args[0]!) ? args.shift() : undefined);
        } else set(spec, undefined);
        variadic = spec.kind === 'variadic' ? spec : null;
        continue;
      }
    }
    if (arg.length > 2 && arg[0] === '-' && arg[1] !== '-') {
      const spec = findSpec(arg.slice(0, 2));
      if (spec) {
        if (spec.kind === 'bool') {
          set(spec, undefined);
          args.unshift(`-${arg.slice(2)}`);
        } else set(spec, arg.slice(2));
        continue;
      }
    }
    const eq = arg.indexOf('=');
    if (arg.startsWith('--') && eq > 2) {
      const spec = findSpec(arg.slice(0, eq));
      if (spec && spec.kind !== 'bool') {
        set(spec, arg.slice(eq + 1));
        continue;
      }
    }
    if (maybeOption(arg)) dest = unknown;
    dest.push(arg);
  }
  if (error) return { kind: 'error', message: error };
  if (options.version === true || options.help === true) return { kind: 'args', args: { options, operands } };
  const firstUnknown = unknown.find(maybeOption);
  if (firstUnknown) return { kind: 'error', message: `error: unknown option '${firstUnknown.split('=')[0]}'` };
  return { kind: 'args', args: { options, operands } };
}

const optString = (a: ParsedArgs, key: string): string | undefined => {
  const v = a.options[key];
  return typeof v === 'string' ? v : undefined;
};
const optList = (a: ParsedArgs, key: string): string[] => {
  const v = a.options[key];
  return Array.isArray(v) ? v : [];
};
const optBool = (a: ParsedArgs, key: string): boolean => a.options[key] !== undefined;

/** Splits permission rules given as "a,b c" while keeping "Bash(git *)" whole. */
export function splitRules(values: string[]): string[] {
  const rules: string[] = [];
  for (const value of values) {
    let depth = 0;
    let cur = '';
    for (const ch of value) {
      if (ch === '(') depth++;
      if (ch === ')') depth = Math.max(0, depth - 1);
      if (depth === 0 && (ch === ',' || ch === ' ')) {
        if (cur.trim()) rules.push(cur.trim());
        cur = '';
      } else cur += ch;
    }
    if (cur.trim()) rules.push(cur.trim());
  }
  return rules;
}

// ====================================================================== sessions on disk

/** The folder name of a project under projects/: every char outside [A-Za-z0-9] → '-'. */
export function encodeProjectPath(path: string): string {
  const enc = path.replace(/[^A-Za-z0-9]/g, '-');
  if (enc.length <= 200) return enc;
  let h = 0;
  for (let i = 0; i < path.length; i++) h = ((h << 5) - h + path.charCodeAt(i)) | 0;
  return `${enc.slice(0, 200)}-${Math.abs(h).toString(36)}`;
}

export function claudeConfigDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.CLAUDE_CONFIG_DIR || join(env.HOME || homedir(), '.claude');
}

/** Where the real CLI (and this fake) keeps the transcript of a session started in `cwd`. */
export function transcriptPath(configDir: string, cwd: string, sessionId: string): string {
  return join(configDir, 'projects', encodeProjectPath(realpathSync(cwd)), `${sessionId}.jsonl`);
}

const uuidRe = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

// ====================================================================== the program

interface Session {
  id: string;
  /** null with --no-session-persistence */
  file: string | null;
  resumed: boolean;
  /** a resumed session's model: that of the transcript's last answer (null: none, or a new session) */
  model: string | null;
  lastUuid: string | null;
}

interface Turn {
  number: number;
  startedAt: number;
  msgId: string | null;
  blockIndex: number;
  roundTrips: number;
  maxTurnsHit: boolean;
  denials: { tool_name: string; tool_use_id: string; tool_input: Record<string, unknown> }[];
  lastText: string | null;
  lastStepWasText: boolean;
}

class Fake {
  private readonly startedAt = new Date();
  private readonly cwd = realpathSync(process.cwd());
  private readonly configDir = claudeConfigDir();
  private readonly projectDir = join(this.configDir, 'projects', encodeProjectPath(this.cwd));
  private readonly record: FakeInvocation;
  private finished = false;
  private ignoreSigterm = false;
  /** this turn's run finishes its turn on a SIGTERM that comes while a tool runs */
  private finishTurnOnSigterm = false;
  /** kills the Bash command that runs now (null: none) */
  private killTool: (() => void) | null = null;
  /** a SIGTERM came while a tool ran: exit once the turn's result is out */
  private sigtermed = false;
  private session: Session | null = null;
  private outputFormat = 'text';
  private verbose = false;
  private partial = false;
  private jsonEvents: unknown[] = [];
  private model = defaultModel;
  private permissionMode = 'default';
  private allowRules: string[] = [];
  private denyRules: string[] = [];
  private tools = builtinTools;
  private addDirs: string[] = [];
  /** files the "model" has read or written in this process: only those may be edited or overwritten */
  private readonly readFiles = new Set<string>();
  private maxTurns: number | undefined;
  private costSoFar = 0; // this process, all turns
  private stdinText = '';
  private queue: { text: string; index: number }[] = [];
  private replay = false;
  private turnRunning: number | null = null;
  /** the prompt of the turn that is running (for reply_from_bash) */
  private currentPrompt = '';
  private turns = 0;
  private messageWaiters: (() => void)[] = [];
  private lastExit = 0;
  private hangForever = false;

  constructor(private readonly argv: string[]) {
    this.record = {
      argv,
      cwd: this.cwd,
      stdin: '',
      pid: process.pid,
      startedAt: this.startedAt.toISOString(),
      endedAt: '',
      exitCode: 0,
      sessionId: null,
      resumed: false,
      prompts: [],
      runs: [],
      messages: [],
      env: envSubset(),
      problems: [],
    };
    process.on('SIGTERM', () => {
      if (this.ignoreSigterm) return;
      if (this.finishTurnOnSigterm && this.killTool) {
        this.sigtermed = true;
        this.killTool();
        return;
      }
      this.finish(143, 'SIGTERM');
    });
    process.on('SIGINT', () => this.finish(0, 'SIGINT'));
  }

  async main(): Promise<void> {
    const parsed = parseArgs(this.argv);
    if (parsed.kind === 'error') return this.fail(parsed.message);
    const a = parsed.args;
    if (optBool(a, 'version')) {
      process.stdout.write(`${version} (Claude Code)\n`);
      return this.finish(0);
    }
    if (optBool(a, 'help')) {
      process.stdout.write(`Usage: claude [options] [command] [prompt]\n\n(fake claude ${version}: print mode only; see fakes/claude.ts)\n`);
      return this.finish(0);
    }
    if (!optBool(a, 'print')) return this.fail('fake claude: only print mode (-p) is supported');
    const checkout = process.env[ALLOW_PROJECT_CWD] === '1' ? null : covenCheckoutAround(this.cwd);
    if (checkout) {
      return void this.scriptProblem(
        `refusing to run in ${this.cwd}: it is inside the coven project's own checkout (${checkout}, whose package.json is named coven), where an agent's commands would change the project itself. A test's agent works in a temporary repository; a test that means this sets ${ALLOW_PROJECT_CWD}=1`,
      );
    }
    this.outputFormat = optString(a, 'outputFormat') ?? 'text';
    this.verbose = optBool(a, 'verbose');
    const inputFormat = optString(a, 'inputFormat') ?? 'text';
    if (this.outputFormat === 'stream-json' && !this.verbose) return this.fail('Error: When using --print, --output-format=stream-json requires --verbose');
    if (inputFormat === 'stream-json' && this.outputFormat !== 'stream-json') return this.fail('Error: --input-format=stream-json requires output-format=stream-json.');
    this.partial = optBool(a, 'includePartialMessages');
    if (this.partial && this.outputFormat !== 'stream-json') return this.fail('Error: --include-partial-messages requires --print and --output-format=stream-json.');
    this.permissionMode = optBool(a, 'dangerouslySkipPermissions') ? 'bypassPermissions' : (optString(a, 'permissionMode') ?? 'default');
    if (this.permissionMode === 'bypassPermissions' && process.getuid?.() === 0 && process.env.IS_SANDBOX !== '1') {
      return this.fail('--dangerously-skip-permissions cannot be used with root/sudo privileges for security reasons');
    }
    this.model = optString(a, 'model') ?? defaultModel;
    this.allowRules = splitRules(optList(a, 'allowedTools'));
    this.denyRules = splitRules(optList(a, 'disallowedTools'));
    const offered = this.allowRules.some((r) => searchTools.some((t) => ruleMatches(r, t, ''))) ? withSearchTools : builtinTools;
    this.tools = offered;
    if (a.options.tools !== undefined) {
      const listed = splitRules(optList(a, 'tools'));
      this.tools = listed.includes('default') ? offered : withSearchTools.filter((t) => listed.includes(t));
    }
    // a tool named bare in --disallowedTools is not offered at all
    this.tools = this.tools.filter((t) => !this.denyRules.includes(t));
    this.addDirs = optList(a, 'addDir').map((d) => resolvePath(this.cwd, d));
    const maxTurns = Number(optString(a, 'maxTurns'));
    if (Number.isInteger(maxTurns) && maxTurns > 0) this.maxTurns = maxTurns; // the real CLI ignores a value that is not a number

    const session = this.openSession(a);
    if (session === 'failed') return;
    this.session = session;
    if (session.model !== null && optString(a, 'model') === undefined) this.model = session.model;
    this.record.sessionId = session.id;
    this.record.resumed = session.resumed;

    this.replay = optBool(a, 'replayUserMessages');
    if (inputFormat === 'stream-json') return this.readStreamInput();
    const prompt = await this.readTextPrompt(a.operands[0]);
    if (prompt === null) return this.fail('Error: Input must be provided either through stdin or as a prompt argument when using --print');
    const ok = await this.turn(prompt);
    if (ok) this.finish(this.lastExit);
  }

  // ------------------------------------------------------------------ sessions

  private openSession(a: ParsedArgs): Session | 'failed' {
    const persist = !optBool(a, 'noSessionPersistence');
    const fork = optBool(a, 'forkSession');
    const chosen = optString(a, 'sessionId');
    const resumeOpt = a.options.resume;
    const resuming = resumeOpt !== undefined || optBool(a, 'continue');
    if (chosen !== undefined) {
      if (!uuidRe.test(chosen)) return this.failed('Error: Invalid session ID. Must be a valid UUID.');
      if (resuming && !fork) return this.failed('Error: --session-id can only be used with --continue or --resume if --fork-session is also specified.');
      if (existsSync(join(this.projectDir, `${chosen}.jsonl`))) return this.failed(`Error: Session ID ${chosen} is already in use.`);
    }
    const newId = chosen ?? randomUUID();
    const fileOf = (id: string): string | null => (persist ? join(this.projectDir, `${id}.jsonl`) : null);
    if (!resuming) return { id: newId, file: fileOf(newId), resumed: false, model: null, lastUuid: null };

    let found: string | null = null;
    let wanted: string;
    if (resumeOpt !== undefined) {
      if (resumeOpt === true || (Array.isArray(resumeOpt) && resumeOpt.length === 0)) return this.failed('Error: --resume requires a valid session ID or session title when used with --print. Usage: claude -p --resume <session-id|title>');
      wanted = String(resumeOpt);
      const file = join(this.projectDir, `${wanted}.jsonl`);
      if (existsSync(file)) found = file;
    } else {
      const newest = existsSync(this.projectDir)
        ? readdirSync(this.projectDir)
            .filter((f) => f.endsWith('.jsonl'))
            .map((f) => ({ f, t: statSync(join(this.projectDir, f)).mtimeMs }))
            .sort((x, y) => y.t - x.t)[0]
        : undefined;
      if (!newest) return { id: newId, file: fileOf(newId), resumed: false, model: null, lastUuid: null }; // nothing to continue: a new session
      found = join(this.projectDir, newest.f);
      wanted = newest.f.replace(/\.jsonl$/, '');
    }
    if (!found) {
      process.stderr.write(`No conversation found with session ID: ${wanted}\n`);
      this.emitResult(this.resumeMissResult(wanted));
      this.finish(1);
      return 'failed';
    }
    const history = readFileSync(found, 'utf8');
    const model = transcriptModel(history);
    if (fork) {
      const file = fileOf(newId);
      if (file) {
        mkdirSync(dirname(file), { recursive: true });
        copyFileSync(found, file);
      }
      return { id: newId, file, resumed: true, model, lastUuid: null };
    }
    return { id: wanted, file: persist ? found : null, resumed: true, model, lastUuid: null };
  }

  private transcript(line: Record<string, unknown>): void {
    const s = this.session;
    if (!s?.file) return;
    mkdirSync(dirname(s.file), { recursive: true });
    appendFileSync(s.file, `${JSON.stringify(line)}\n`);
  }

  private transcriptEntry(type: string, extra: Record<string, unknown>): Record<string, unknown> {
    const s = this.session!;
    const uuid = randomUUID();
    const entry = {
      parentUuid: s.lastUuid,
      isSidechain: false,
      userType: 'external',
      cwd: this.cwd,
      sessionId: s.id,
      version,
      gitBranch: '',
      entrypoint: 'sdk-cli',
      type,
      ...extra,
      uuid,
      timestamp: new Date().toISOString(),
    };
    s.lastUuid = uuid;
    return entry;
  }

  private history(): string {
    const f = this.session?.file;
    return f && existsSync(f) ? readFileSync(f, 'utf8') : '';
  }

  // ------------------------------------------------------------------ input

  private readTextPrompt(arg: string | undefined): Promise<string | null> {
    return new Promise((resolvePrompt) => {
      const done = (stdin: string | null): void => {
        clearTimeout(timer);
        const text = stdin?.replace(/\s+$/, '') ?? '';
        if (arg !== undefined && text) resolvePrompt(`${arg}\n${text}`);
        else if (arg !== undefined) resolvePrompt(arg);
        else resolvePrompt(text ? text : null);
      };
      if (process.stdin.isTTY) return done(null);
      let got = false;
      let timer: NodeJS.Timeout | undefined;
      if (arg !== undefined) {
        timer = setTimeout(() => {
          if (got) return;
          process.stderr.write('Warning: no stdin data received in 3s, proceeding without it.\n');
          process.stdin.pause();
          process.stdin.removeAllListeners('end');
          done(null);
        }, 3000);
      }
      process.stdin.setEncoding('utf8');
      process.stdin.on('data', (d: string) => {
        got = true;
        this.noteStdin(d);
      });
      process.stdin.on('end', () => done(this.stdinText));
      process.stdin.on('error', () => done(this.stdinText));
    });
  }

  private noteStdin(text: string): void {
    if (this.stdinText.length < 1 << 20) this.stdinText += text;
    this.record.stdin = this.stdinText;
  }

  private readStreamInput(): void {
    const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
    rl.on('line', (line) => {
      this.noteStdin(`${line}\n`);
      if (!line.trim()) return;
      let msg: unknown;
      try {
        msg = JSON.parse(line);
      } catch {
        this.fail(`Error: Invalid JSON in stream-json input: ${line.slice(0, 200)}`);
        return;
      }
      const text = userMessageText(msg);
      if (text === null) return; // control messages and other types are ignored
      this.queue.push({ text, index: this.record.messages.length });
      this.record.messages.push({ text, receivedAt: new Date().toISOString(), duringTurn: this.turnRunning, takenBy: null });
      for (const w of this.messageWaiters.splice(0)) w();
      void this.drain();
    });
    rl.on('close', () => {
      this.stdinClosed = true;
      void this.drain();
    });
  }

  private stdinClosed = false;
  private draining = false;

  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    while (this.queue.length > 0) {
      const next = this.queue.shift()!;
      const ok = await this.turn(next.text, next.index);
      if (!ok) return; // the turn ended the process (or hangs)
    }
    this.draining = false;
    if (this.stdinClosed && !this.hangForever) this.finish(this.lastExit);
  }

  // ------------------------------------------------------------------ one turn

  /** Runs one turn; false when the process must not go on (crash, hang, exit). */
  private async turn(prompt: string, messageIndex: number | null = null): Promise<boolean> {
    const s = this.session!;
    const history = this.history();
    this.turns++;
    this.turnRunning = this.turns;
    this.currentPrompt = prompt;
    this.record.prompts.push(prompt);
    // the prompt is on disk before the "model" is called (reference §3)
    this.transcript(this.transcriptEntry('user', { message: { role: 'user', content: prompt } }));

    const picked = pickRun({ prompt, resumed: s.resumed, cwd: this.cwd });
    if (picked.kind === 'problem') return this.scriptProblem(picked.message);
    this.record.runs.push(picked.index);
    const run = picked.run;
    const failed = unmetExpectations(run, { prompt, history, resumed: s.resumed, cwd: this.cwd, argv: this.argv, permissionMode: this.permissionMode, systemPrompt: this.appendSystemPrompt() });
    if (failed.length > 0) return this.scriptProblem(`expectation failed (run #${picked.index}): ${failed.join('; ')}`);
    this.ignoreSigterm = run.ignoreSigterm === true;
    this.finishTurnOnSigterm = run.sigtermDuringTool === 'finish-turn';

    const turn: Turn = { number: this.turns, startedAt: Date.now(), msgId: null, blockIndex: 0, roundTrips: 0, maxTurnsHit: false, denials: [], lastText: null, lastStepWasText: false };
    this.emit(this.initEvent());
    // a refused first call is retried before the CLI echoes the prompt as taken (observed)
    const refusedFirst = run.refuse !== undefined && (run.steps ?? []).length === 0;
    if (run.refuse && refusedFirst) await this.refusedCall(run.refuse.reason);
    if (messageIndex !== null) this.take(messageIndex, turn, 'turn');
    if (run.crashAfterStep === 0) return this.crash(run);

    const steps = run.steps ?? [];
    for (let i = 0; i < steps.length; i++) {
      if (run.stepDelayMs) await sleep(run.stepDelayMs);
      const going = await this.step(turn, steps[i]!);
      if (!going) break;
      if (run.crashAfterStep === i + 1) return this.crash(run);
    }
    if (run.hang === true || run.hang === 'before-result') {
      await new Promise<never>(() => setInterval(() => {}, 1 << 30));
    }
    if (run.refuse && !refusedFirst) await this.refusedCall(run.refuse.reason);
    const result = this.finishTurn(turn, run.refuse ? { ...run, api_error: refusals[run.refuse.reason] } : run);
    this.emitResult(result);
    this.lastExit = run.exit ?? (result.is_error ? 1 : 0);
    this.turnRunning = null;
    if (this.sigtermed) {
      this.finish(this.lastExit); // the SIGTERM that killed the tool ends the process after its turn
      return false;
    }
    if (run.hang === 'after-result') {
      this.hangForever = true;
      setInterval(() => {}, 1 << 30);
      return false;
    }
    return true;
  }

  private async step(turn: Turn, step: Step): Promise<boolean> {
    turn.lastStepWasText = false;
    if ('text' in step) {
      if (!this.block(turn, { type: 'text', text: step.text })) return false;
      turn.lastText = step.text;
      turn.lastStepWasText = true;
      return true;
    }
    if ('thinking' in step) return this.block(turn, { type: 'thinking', thinking: step.thinking, signature: randomBytes(32).toString('base64') });
    if ('bash' in step) return this.tool(turn, 'Bash', { command: step.bash, description: step.description ?? 'Run a command' }, () => this.bashTool(step.bash));
    if ('reply_from_bash' in step) {
      let reply = '';
      const env = { ...process.env, FAKE_CLAUDE_PROMPT: this.currentPrompt };
      const ran = await this.tool(turn, 'Bash', { command: step.reply_from_bash, description: 'Look before answering' }, async () => {
        const outcome = await this.bashTool(step.reply_from_bash, env);
        const result = outcome.result as { stdout?: unknown };
        reply = typeof result === 'object' && result !== null && typeof result.stdout === 'string' ? result.stdout : '';
        return outcome;
      });
      if (!ran) return false;
      return this.step(turn, { text: reply.trim() || '(the command printed nothing)' });
    }
    if ('text_from_command' in step) {
      const outcome = await runShell(step.text_from_command, this.cwd, { ...process.env, FAKE_CLAUDE_PROMPT: this.currentPrompt });
      const result = outcome.result as { stdout?: unknown };
      const text = typeof result === 'object' && result !== null && typeof result.stdout === 'string' ? result.stdout.trim() : '';
      return this.step(turn, { text: text || `(text_from_command failed: ${outcome.content.slice(0, 200)})` });
    }
    if ('commit' in step) {
      const command = `git add -A && git commit -m ${shellQuote(step.commit)}`;
      return this.tool(turn, 'Bash', { command, description: 'Commit the changes' }, () => runCommit(step.commit, this.cwd));
    }
    if ('write' in step) {
      const file = this.abs(step.write.path);
      return this.tool(turn, 'Write', { file_path: file, content: step.write.content }, async () => writeTool(file, step.write.content));
    }
    if ('edit' in step) {
      const file = this.abs(step.edit.path);
      const all = step.edit.all === true;
      return this.tool(turn, 'Edit', { file_path: file, old_string: step.edit.old, new_string: step.edit.new, replace_all: all }, async () => editTool(file, step.edit.old, step.edit.new, all));
    }
    if ('read' in step) {
      const file = this.abs(step.read);
      return this.tool(turn, 'Read', { file_path: file }, async () => readTool(file));
    }
    if ('sleep_ms' in step) {
      await sleep(step.sleep_ms);
      return true;
    }
    if ('wait_for_message' in step) {
      if (this.queue.length === 0) {
        await Promise.race([new Promise<void>((r) => this.messageWaiters.push(r)), sleep(step.wait_for_message)]);
      }
      return true;
    }
    if ('wait_for_file' in step) {
      const deadline = Date.now() + (step.timeout_ms ?? 60_000);
      while (!existsSync(step.wait_for_file) && Date.now() < deadline) await sleep(20);
      return true;
    }
    if ('api_retry' in step) {
      const attempts = step.api_retry.attempts ?? 1;
      for (let i = 1; i <= attempts; i++) {
        this.emit({ type: 'system', subtype: 'api_retry', attempt: i, max_retries: 10, retry_delay_ms: 500 * 2 ** (i - 1), error_status: step.api_retry.status ?? 529, error: step.api_retry.error ?? retryErrorOf(step.api_retry.status ?? 529), session_id: this.session!.id, uuid: randomUUID() });
      }
      return true;
    }
    if ('raw' in step) {
      await writeOut(step.raw);
      return true;
    }
    if ('noise' in step) {
      const padding = 'x'.repeat(Math.max(0, step.noise.bytes - 120));
      for (let i = 0; i < step.noise.events; i++) await writeOut(`${JSON.stringify({ type: 'fake_noise', n: i, padding, session_id: this.session!.id, uuid: randomUUID() })}\n`);
      return true;
    }
    return true;
  }

  /** Runs a Bash tool call, which a SIGTERM may kill (see sigtermDuringTool). */
  private async bashTool(command: string, env: NodeJS.ProcessEnv = process.env): Promise<ToolOutcome> {
    try {
      return await runShell(command, this.cwd, env, (kill) => (this.killTool = kill));
    } finally {
      this.killTool = null;
    }
  }

  /** A stdin message is taken by a turn: as its prompt, or injected into it (replayed under --replay-user-messages). */
  private take(index: number, turn: Turn, how: 'turn' | 'injected'): void {
    const m = this.record.messages[index];
    if (!m) return;
    m.takenBy = { turn: turn.number, how };
    if (how === 'injected') {
      this.record.prompts.push(m.text);
      this.transcript(this.transcriptEntry('attachment', { attachment: { type: 'queued_command', prompt: m.text } }));
    }
    if (this.replay) this.emit({ type: 'user', message: { role: 'user', content: m.text }, session_id: this.session!.id, parent_tool_use_id: null, uuid: randomUUID(), timestamp: new Date().toISOString(), isReplay: true });
  }

  /** Emits one content block as its own assistant event; false when --max-turns stops the turn. */
  private block(turn: Turn, block: Record<string, unknown>): boolean {
    const s = this.session!;
    if (turn.msgId === null) {
      if (this.maxTurns !== undefined && turn.roundTrips >= this.maxTurns) {
        turn.maxTurnsHit = true;
        return false;
      }
      // messages that came in since the last model call ride along with this one
      if (turn.roundTrips > 0) for (const m of this.queue.splice(0)) this.take(m.index, turn, 'injected');
      turn.msgId = `msg_${randomBytes(8).toString('hex')}`;
      turn.roundTrips++;
      turn.blockIndex = 0;
      if (this.partial) this.emit({ type: 'system', subtype: 'status', status: 'requesting', uuid: randomUUID(), session_id: s.id });
      if (this.partial) this.streamEvent({ type: 'message_start', message: { id: turn.msgId, type: 'message', role: 'assistant', model: this.apiModel(), content: [], stop_reason: null, stop_sequence: null, usage: assistantUsage() } });
    }
    const message = { id: turn.msgId, type: 'message', role: 'assistant', model: this.apiModel(), content: [block], stop_reason: null, stop_sequence: null, usage: assistantUsage(), context_management: null };
    const index = turn.blockIndex++;
    if (this.partial) this.blockDeltas(index, block);
    this.emit({ type: 'assistant', message, parent_tool_use_id: null, session_id: s.id, uuid: randomUUID() });
    if (this.partial) this.streamEvent({ type: 'content_block_stop', index });
    this.transcript(this.transcriptEntry('assistant', { message, requestId: `req_${randomBytes(8).toString('hex')}` }));
    return true;
  }

  private blockDeltas(index: number, block: Record<string, unknown>): void {
    if (block.type === 'text') {
      this.streamEvent({ type: 'content_block_start', index, content_block: { type: 'text', text: '' } });
      for (const piece of chunks(String(block.text), 24)) this.streamEvent({ type: 'content_block_delta', index, delta: { type: 'text_delta', text: piece } });
    } else if (block.type === 'thinking') {
      this.streamEvent({ type: 'content_block_start', index, content_block: { type: 'thinking', thinking: '', signature: '' } });
      for (const piece of chunks(String(block.thinking), 24)) this.streamEvent({ type: 'content_block_delta', index, delta: { type: 'thinking_delta', thinking: piece } });
      this.streamEvent({ type: 'content_block_delta', index, delta: { type: 'signature_delta', signature: block.signature } });
    } else if (block.type === 'tool_use') {
      this.streamEvent({ type: 'content_block_start', index, content_block: { type: 'tool_use', id: block.id, name: block.name, input: {} } });
      this.streamEvent({ type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: JSON.stringify(block.input) } });
    }
  }

  /** Ends the current model message (partial-message events only). */
  private endMessage(turn: Turn, stopReason: string): void {
    if (turn.msgId !== null && this.partial) {
      this.streamEvent({ type: 'message_delta', delta: { stop_reason: stopReason, stop_sequence: null }, usage: { output_tokens: 20 } });
      this.streamEvent({ type: 'message_stop' });
    }
    turn.msgId = null;
  }

  private async tool(turn: Turn, name: string, input: Record<string, unknown>, perform: () => Promise<ToolOutcome>): Promise<boolean> {
    const id = `toolu_${randomBytes(6).toString('hex')}`;
    if (!this.block(turn, { type: 'tool_use', id, name, input })) return false;
    this.endMessage(turn, 'tool_use');
    let outcome: ToolOutcome;
    const file = typeof input.file_path === 'string' ? input.file_path : null;
    if (!this.tools.includes(name)) {
      const msg = `Error: No such tool available: ${name}. ${name} exists but is not enabled in this context. Use one of the available tools instead.`;
      outcome = toolError(`<tool_use_error>${msg}</tool_use_error>`, msg);
    } else if ((name === 'Edit' || name === 'Write') && file && existsSync(file) && !this.readFiles.has(file)) {
      // the CLI refuses to change a file the model has not read in this session (checked before permissions)
      outcome = toolError('<tool_use_error>File has not been read yet. Read it first before writing to it.</tool_use_error>', 'Error: File has not been read yet. Read it first before writing to it.');
    } else {
      const denied = checkPermission(name, input, { mode: this.permissionMode, allow: this.allowRules, deny: this.denyRules, dirs: [this.cwd, ...this.addDirs] });
      if (denied !== null) {
        turn.denials.push({ tool_name: name, tool_use_id: id, tool_input: input });
        outcome = toolError(denied, `Error: ${denied}`);
      } else {
        outcome = await perform();
        if (file && !outcome.isError) this.readFiles.add(file);
      }
    }
    // Bash results always carry is_error; the file tools' only when they failed
    const content = name === 'Bash' || outcome.isError ? { tool_use_id: id, type: 'tool_result', content: outcome.content, is_error: outcome.isError } : { tool_use_id: id, type: 'tool_result', content: outcome.content };
    const s = this.session!;
    this.emit({ type: 'user', message: { role: 'user', content: [content] }, parent_tool_use_id: null, session_id: s.id, uuid: randomUUID(), timestamp: new Date().toISOString(), tool_use_result: outcome.result });
    this.transcript(this.transcriptEntry('user', { message: { role: 'user', content: [content] }, toolUseResult: outcome.result }));
    return true;
  }

  private finishTurn(turn: Turn, run: Run): Record<string, unknown> {
    const s = this.session!;
    const scripted = run.result ?? {};
    let apiError: string | null = null;
    if (run.api_error) {
      apiError = run.api_error.text ?? `API Error: ${run.api_error.status} ${run.api_error.message ?? `mock error ${run.api_error.status}`}`;
      this.syntheticMessage(apiError);
    } else if (!turn.maxTurnsHit) {
      const finalText = scripted.text ?? turn.lastText ?? 'Done.';
      const already = turn.lastStepWasText && turn.lastText === finalText;
      if (!already) this.block(turn, { type: 'text', text: finalText });
      if (!turn.maxTurnsHit) turn.lastText = finalText;
    }
    this.endMessage(turn, 'end_turn');

    const turnCost = run.api_error ? 0 : (scripted.cost_usd ?? turn.roundTrips * costPerRoundTrip);
    this.costSoFar += turnCost;
    const total = this.costSoFar;
    const durationMs = Date.now() - turn.startedAt;
    const roundTrips = turn.roundTrips;
    const usage = resultUsage(roundTrips);
    const modelUsage = run.api_error ? {} : { [this.model]: { inputTokens: 12 * roundTrips, outputTokens: 20 * roundTrips, cacheReadInputTokens: 0, cacheCreationInputTokens: 0, webSearchRequests: 0, costUSD: total, contextWindow: this.model.includes('[1m]') ? 1000000 : 200000, maxOutputTokens: 64000 } };
    const base = { type: 'result' };

    if (apiError !== null) {
      return { ...base, subtype: 'success', is_error: true, api_error_status: run.api_error!.status, duration_ms: durationMs, duration_api_ms: 0, num_turns: Math.max(1, roundTrips), result: apiError, stop_reason: 'stop_sequence', session_id: s.id, total_cost_usd: total, usage, modelUsage, permission_denials: turn.denials, terminal_reason: 'completed', fast_mode_state: 'off', uuid: randomUUID() };
    }
    if (turn.maxTurnsHit) {
      return { ...base, subtype: 'error_max_turns', duration_ms: durationMs, duration_api_ms: 12 * roundTrips, is_error: true, num_turns: roundTrips + 1, stop_reason: 'tool_use', session_id: s.id, total_cost_usd: total, usage, modelUsage, permission_denials: turn.denials, terminal_reason: 'max_turns', fast_mode_state: 'off', uuid: randomUUID(), errors: [`Reached maximum number of turns (${this.maxTurns})`] };
    }
    const subtype = scripted.subtype ?? 'success';
    if (subtype === 'success') {
      const isError = scripted.is_error ?? false;
      return { ...base, subtype, is_error: isError, api_error_status: null, duration_ms: durationMs, duration_api_ms: 12 * roundTrips, ttft_ms: 60, ttft_stream_ms: 60, time_to_request_ms: 50, num_turns: roundTrips, result: turn.lastText ?? '', stop_reason: 'end_turn', session_id: s.id, total_cost_usd: total, usage, modelUsage, permission_denials: turn.denials, terminal_reason: 'completed', fast_mode_state: 'off', uuid: randomUUID() };
    }
    const errors = scripted.errors ?? [`fake claude: scripted ${subtype}`];
    return { ...base, subtype, duration_ms: durationMs, duration_api_ms: 12 * roundTrips, is_error: scripted.is_error ?? true, num_turns: roundTrips, stop_reason: null, session_id: s.id, total_cost_usd: total, usage, modelUsage, permission_denials: turn.denials, fast_mode_state: 'off', uuid: randomUUID(), errors };
  }

  /** The retries the real CLI makes before it gives up on a refused call (none for a quota). */
  private async refusedCall(reason: keyof typeof refusals): Promise<void> {
    const r = refusals[reason];
    if (reason === 'quota') return;
    for (let i = 1; i <= 10; i++) {
      const delay = Math.min(32_000, 500 * 2 ** (i - 1));
      this.emit({ type: 'system', subtype: 'api_retry', attempt: i, max_retries: 10, retry_delay_ms: delay, error_status: r.status, error: retryErrors[reason], session_id: this.session!.id, uuid: randomUUID() });
      await sleep(delay);
    }
  }

  /** The message the CLI makes up when the API call fails (model "<synthetic>", top-level error). */
  private syntheticMessage(text: string): void {
    const s = this.session!;
    const message = { id: randomUUID(), container: null, model: '<synthetic>', role: 'assistant', stop_details: null, stop_reason: 'stop_sequence', stop_sequence: '', type: 'message', usage: { ...zeroUsage(), server_tool_use: { web_search_requests: 0, web_fetch_requests: 0 }, service_tier: null, cache_creation: { ephemeral_1h_input_tokens: 0, ephemeral_5m_input_tokens: 0 }, inference_geo: null, iterations: null, speed: null }, content: [{ type: 'text', text }], context_management: null };
    this.emit({ type: 'assistant', message, parent_tool_use_id: null, session_id: s.id, uuid: randomUUID(), error: 'unknown' });
    this.transcript(this.transcriptEntry('assistant', { message, isApiErrorMessage: true }));
  }

  private resumeMissResult(id: string): Record<string, unknown> {
    return { type: 'result', subtype: 'error_during_execution', duration_ms: 0, duration_api_ms: 0, is_error: true, num_turns: 0, stop_reason: null, session_id: id, total_cost_usd: 0, usage: resultUsage(0), modelUsage: {}, permission_denials: [], uuid: randomUUID(), errors: [`No conversation found with session ID: ${id}`] };
  }

  private initEvent(): Record<string, unknown> {
    const s = this.session!;
    return {
      type: 'system',
      subtype: 'init',
      cwd: this.cwd,
      session_id: s.id,
      tools: this.tools,
      mcp_servers: [],
      model: this.model,
      permissionMode: this.permissionMode,
      slash_commands: slashCommands,
      apiKeySource: process.env.ANTHROPIC_API_KEY ? 'ANTHROPIC_API_KEY' : 'none',
      claude_code_version: version,
      output_style: 'default',
      agents,
      skills,
      plugins: [],
      analytics_disabled: true,
      product_feedback_disabled: true,
      uuid: randomUUID(),
      memory_paths: { auto: `${this.projectDir}/memory/` },
      fast_mode_state: 'off',
    };
  }

  private appendSystemPrompt(): string {
    const i = this.argv.indexOf('--append-system-prompt');
    const fromEq = this.argv.find((x) => x.startsWith('--append-system-prompt='));
    return i >= 0 ? (this.argv[i + 1] ?? '') : (fromEq?.slice('--append-system-prompt='.length) ?? '');
  }

  private apiModel(): string {
    return this.model.replace(/\[1m\]$/, '');
  }

  private abs(path: string): string {
    return isAbsolute(path) ? path : join(this.cwd, path);
  }

  // ------------------------------------------------------------------ output

  private emit(event: Record<string, unknown>): void {
    if (this.finished) return;
    if (this.outputFormat === 'stream-json') process.stdout.write(`${JSON.stringify(event)}\n`);
    else if (this.outputFormat === 'json' && this.verbose) this.jsonEvents.push(event);
  }

  private streamEvent(event: Record<string, unknown>): void {
    this.emit({ type: 'stream_event', event, session_id: this.session!.id, parent_tool_use_id: null, uuid: randomUUID() });
  }

  private emitResult(result: Record<string, unknown>): void {
    if (this.outputFormat === 'stream-json') return this.emit(result);
    if (this.outputFormat === 'json') {
      process.stdout.write(`${JSON.stringify(this.verbose ? [...this.jsonEvents, result] : result)}\n`);
      this.jsonEvents = [];
      return;
    }
    const text = typeof result.result === 'string' ? result.result : ((result.errors as string[] | undefined) ?? []).join('\n');
    process.stdout.write(`${text}\n`);
  }

  // ------------------------------------------------------------------ endings

  private crash(run: Run): false {
    process.stderr.write('fake claude: crashing as scripted (crashAfterStep)\n');
    this.finish(run.exit ?? 1);
    return false;
  }

  private scriptProblem(message: string): false {
    this.record.problems.push(message);
    process.stderr.write(`fake claude: ${message}\n`);
    this.finish(97);
    return false;
  }

  private fail(message: string): void {
    process.stderr.write(`${message}\n`);
    this.finish(1);
  }

  private failed(message: string): 'failed' {
    this.fail(message);
    return 'failed';
  }

  /** Logs the invocation, flushes stdout and exits. */
  finish(code: number, signal?: string): void {
    if (this.finished) return;
    this.finished = true;
    this.record.endedAt = new Date().toISOString();
    this.record.exitCode = code;
    if (signal) this.record.signal = signal;
    logInvocation('claude', 'FAKE_CLAUDE_LOG', this.record);
    exitFlushed(code);
  }
}

// ====================================================================== tools

export interface ToolOutcome {
  content: string;
  isError: boolean;
  result: unknown;
}

const toolError = (content: string, result: string): ToolOutcome => ({ content, isError: true, result });

/**
 * Runs a Bash tool call. As in the real CLI, stderr goes into stdout, in the order written.
 * `onKill` receives what kills the command: SIGKILL, and the call ends at once with `Exit code 137`.
 */
export function runShell(command: string, cwd: string, env: NodeJS.ProcessEnv = process.env, onKill?: (kill: () => void) => void): Promise<ToolOutcome> {
  return new Promise((resolveTool) => {
    const child = spawn('/bin/sh', ['-c', `exec 2>&1\n${command}`], { cwd, env, stdio: ['ignore', 'pipe', 'ignore'] });
    let output = '';
    onKill?.(() => {
      // the real CLI kills the command's own process group: here, the shell and everything under it
      for (const pid of [...descendantsOf(child.pid), child.pid]) {
        try {
          if (pid !== undefined) process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      resolveTool(shellOutcome(output, 128 + 9));
    });
    const cap = 1 << 20;
    child.stdout.on('data', (d: Buffer) => {
      if (output.length < cap) output += d.toString();
    });
    child.on('error', (err) => resolveTool(toolError(`Error: ${err.message}`, `Error: ${err.message}`)));
    // the CLI expects no output from a command that only changes files (`touch x`)
    const quiet = commandParts(command).every((p) => p.words[0] !== undefined && p.words[0] in fileCommands);
    child.on('close', (code, signal) => resolveTool(shellOutcome(output, code ?? (signal ? 128 + 9 : 1), quiet)));
  });
}

/** Every process under `root`, from `ps` (children first found, deepest last). */
function descendantsOf(root: number | undefined): number[] {
  if (root === undefined) return [];
  let table = '';
  try {
    table = execFileSync('ps', ['-A', '-o', 'pid=,ppid='], { encoding: 'utf8' });
  } catch {
    return [];
  }
  const children = new Map<number, number[]>();
  for (const line of table.split('\n')) {
    const [pid, ppid] = line.trim().split(/\s+/).map(Number);
    if (pid === undefined || ppid === undefined || Number.isNaN(ppid)) continue;
    children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  }
  const found: number[] = [];
  for (let i = -1; i < found.length; i++) found.push(...(children.get(i < 0 ? root : found[i]!) ?? []));
  return found;
}

/** A Bash tool result from the command's output (stdout and stderr, merged). */
export function shellOutcome(output: string, code: number, quiet = false): ToolOutcome {
  const out = output.replace(/\s+$/, '');
  if (code === 0) {
    return { content: out || '(Bash completed with no output)', isError: false, result: { stdout: out, stderr: '', interrupted: false, isImage: false, noOutputExpected: quiet } };
  }
  const text = `Exit code ${code}${out ? `\n${out}` : ''}`;
  return toolError(text, `Error: ${text}`);
}

export async function runCommit(message: string, cwd: string): Promise<ToolOutcome> {
  const gitRun = (args: string[]): { code: number; stdout: string; stderr: string } => {
    try {
      return { code: 0, stdout: execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }), stderr: '' };
    } catch (err) {
      const e = err as { status?: number; stdout?: string; stderr?: string };
      return { code: e.status ?? 1, stdout: String(e.stdout ?? ''), stderr: String(e.stderr ?? '') };
    }
  };
  const add = gitRun(['add', '-A']);
  if (add.code !== 0) return shellOutcome(add.stdout + add.stderr, add.code);
  const commit = gitRun(['commit', '-m', message]);
  return shellOutcome(commit.stdout + commit.stderr, commit.code);
}

const currentNote = '(file state is current in your context — no need to Read it back)';

export function writeTool(file: string, content: string): ToolOutcome {
  const original = existsSync(file) ? readFileSync(file, 'utf8') : null;
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, content);
  if (original === null) {
    return { content: `File created successfully at: ${file} ${currentNote}`, isError: false, result: { type: 'create', filePath: file, content, structuredPatch: [], originalFile: null, userModified: false } };
  }
  return {
    content: `The file ${file} has been updated successfully. ${currentNote}`,
    isError: false,
    result: { type: 'update', filePath: file, content, structuredPatch: patchOf(original, content), originalFile: original, userModified: false },
  };
}

export function editTool(file: string, oldString: string, newString: string, all: boolean): ToolOutcome {
  if (!existsSync(file)) return toolError('<tool_use_error>File does not exist.</tool_use_error>', 'Error: File does not exist.');
  const original = readFileSync(file, 'utf8');
  const count = oldString === '' ? 0 : original.split(oldString).length - 1;
  if (count === 0) return toolError(`<tool_use_error>String to replace not found in file.\nString: ${oldString}</tool_use_error>`, `Error: String to replace not found in file.\nString: ${oldString}`);
  if (count > 1 && !all) {
    const msg = `Found ${count} matches of the string to replace, but replace_all is false. To replace all occurrences, set replace_all to true. To replace only one occurrence, please provide more context to uniquely identify the instance.\nString: ${oldString}`;
    return toolError(`<tool_use_error>${msg}</tool_use_error>`, `Error: ${msg}`);
  }
  const updated = all ? original.split(oldString).join(newString) : original.replace(oldString, () => newString);
  writeFileSync(file, updated);
  return {
    content: `The file ${file} has been updated successfully. ${currentNote}`,
    isError: false,
    result: { filePath: file, oldString, newString, originalFile: original, structuredPatch: patchOf(original, updated), userModified: false, replaceAll: all },
  };
}

export function readTool(file: string): ToolOutcome {
  if (!existsSync(file)) return toolError('<tool_use_error>File does not exist.</tool_use_error>', 'Error: File does not exist.');
  const content = readFileSync(file, 'utf8');
  const lines = content.split('\n');
  const numbered = lines.map((l, i) => `${i + 1}\t${l}`).join('\n');
  return { content: numbered, isError: false, result: { type: 'text', file: { filePath: file, content, numLines: lines.length, startLine: 1, totalLines: lines.length } } };
}

/** One unified-diff hunk (3 lines of context) around the lines that changed, as structuredPatch. */
function patchOf(before: string, after: string): { oldStart: number; oldLines: number; newStart: number; newLines: number; lines: string[] }[] {
  const a = before.split('\n');
  const b = after.split('\n');
  if (a.at(-1) === '' && b.at(-1) === '') {
    a.pop();
    b.pop();
  }
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  if (head === a.length && head === b.length) return [];
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
  const from = Math.max(0, head - 3);
  const ctxAfter = Math.min(3, tail);
  const lines = [
    ...a.slice(from, head).map((l) => ` ${l}`),
    ...a.slice(head, a.length - tail).map((l) => `-${l}`),
    ...b.slice(head, b.length - tail).map((l) => `+${l}`),
    ...a.slice(a.length - tail, a.length - tail + ctxAfter).map((l) => ` ${l}`),
  ];
  const oldLines = a.length - tail + ctxAfter - from;
  const newLines = b.length - tail + ctxAfter - from;
  return [{ oldStart: from + 1, oldLines, newStart: from + 1, newLines, lines }];
}

// ---------------------------------------------------------------------- permissions
// As observed with the real CLI 2.1.197 (test/real-cli): read-only commands always run;
// acceptEdits also lets Edit/Write and plain file commands (touch, mkdir, cp, mv, rm,
// sed -i, output redirection) act inside the working directories; everything else
// needs an --allowedTools rule; --disallowedTools wins over all of it. default, dontAsk
// and plan behave alike here (no one to ask in -p). Each part of `a && b`, `a; b`,
// `a | b` is judged on its own.

export interface PermissionContext {
  mode: string;
  allow: string[];
  deny: string[];
  /** the working directories: the cwd and --add-dir */
  dirs: string[];
}

const readOnlyCommands = new Set(['ls', 'cat', 'pwd', 'echo', 'printf', 'head', 'tail', 'wc', 'grep', 'egrep', 'fgrep', 'rg', 'true', 'false', 'sleep', 'which', 'type', 'file', 'stat', 'du', 'df', 'sort', 'uniq', 'cut', 'tr', 'basename', 'dirname', 'realpath', 'date', 'whoami', 'uname', 'tree', 'diff', 'cmp', 'test', '[', 'cd', 'env', 'id', 'hostname', 'nl', 'od', 'md5sum', 'sha256sum']);
const readOnlyGit = new Set(['status', 'log', 'diff', 'show', 'rev-parse', 'ls-files', 'blame', 'describe', 'shortlog', 'cat-file', 'ls-tree', 'grep', 'merge-base', 'branch', 'remote', 'reflog']);
/** file commands acceptEdits allows inside the working directories, and what the CLI says when it blocks one */
const fileCommands: Record<string, string> = {
  touch: 'create or modify files in',
  mkdir: 'create directories in',
  cp: 'copy files to/from',
  mv: 'move files to/from',
  rm: 'remove files from',
  sed: 'edit files in',
};

/** null when the call may run, else what the CLI answers the model (and lists in permission_denials). */
export function checkPermission(tool: string, input: Record<string, unknown>, ctx: PermissionContext): string | null {
  const bypass = ctx.mode === 'bypassPermissions' || ctx.mode === 'auto';
  if (tool !== 'Bash') {
    if (ctx.deny.some((r) => ruleMatches(r, tool, ''))) return `Permission to use ${tool} has been denied.`;
    if (tool === 'Read' || tool === 'Glob' || tool === 'Grep' || bypass || ctx.allow.some((r) => ruleMatches(r, tool, ''))) return null;
    const file = typeof input.file_path === 'string' ? input.file_path : '';
    if (ctx.mode === 'acceptEdits' && (tool === 'Edit' || tool === 'Write') && inside(file, ctx.dirs)) return null;
    return `Claude requested permissions to write to ${file}, but you haven't granted it yet.`;
  }
  const command = typeof input.command === 'string' ? input.command : '';
  const parts = commandParts(command);
  if (parts.some((p) => ctx.deny.some((r) => ruleMatches(r, 'Bash', p.text)))) return `Permission to use Bash with command ${command} has been denied.`;
  if (bypass) return null;
  const needApproval: string[] = [];
  for (const part of parts) {
    if (ctx.allow.some((r) => ruleMatches(r, 'Bash', part.text))) continue;
    const cwd = ctx.dirs[0] ?? '/';
    const where = ctx.dirs.map((d) => `'${d}'`).join(', ');
    for (const target of part.redirects) {
      const abs = resolvePath(cwd, target);
      if (ctx.mode !== 'acceptEdits' || !inside(abs, ctx.dirs)) return `Output redirection to '${abs}' was blocked. For security, Claude Code may only write to files in the allowed working directories for this session: ${where}.`;
    }
    const [cmd, ...args] = part.words;
    const isFileCommand = cmd !== undefined && cmd in fileCommands && (cmd !== 'sed' || args.some((a) => /^-[a-zA-Z]*i/.test(a) || a.startsWith('--in-place')));
    if (isFileCommand) {
      let paths = args.filter((a) => !a.startsWith('-'));
      if (cmd === 'sed') paths = paths.slice(1); // the first word is the script
      const blocked = paths.map((p) => resolvePath(cwd, p)).find((abs) => ctx.mode !== 'acceptEdits' || !inside(abs, ctx.dirs));
      if (blocked !== undefined) return `${cmd} in '${blocked}' was blocked. For security, Claude Code may only ${fileCommands[cmd]} the allowed working directories for this session: ${where}.`;
      continue;
    }
    if (isReadOnly(part.words)) continue;
    needApproval.push(part.text);
  }
  if (needApproval.length === 0) return null;
  if (parts.length === 1) return 'This command requires approval';
  return `This Bash command contains multiple operations. The following part${needApproval.length > 1 ? 's require' : ' requires'} approval: ${needApproval.join(', ')}`;
}

function isReadOnly(words: string[]): boolean {
  const [cmd, sub, ...rest] = words;
  if (cmd === undefined) return true;
  if (cmd === 'git') return sub !== undefined && readOnlyGit.has(sub) && !(sub === 'branch' && rest.some((a) => /^-[dDmMcC]/.test(a)));
  if (cmd === 'find') return !words.some((w) => ['-exec', '-execdir', '-delete', '-ok', '-fprint'].includes(w));
  if (cmd === 'sed') return !words.some((w) => /^-[a-zA-Z]*i/.test(w) || w.startsWith('--in-place'));
  return readOnlyCommands.has(cmd);
}

function inside(path: string, dirs: string[]): boolean {
  return path !== '' && dirs.some((d) => path === d || path.startsWith(`${d}/`));
}

interface CommandPart {
  text: string;
  /** words without redirections and leading VAR=value assignments */
  words: string[];
  /** files written by > or >> (not /dev/null, not >&2) */
  redirects: string[];
}

/** Splits a shell command into its simple commands (at &&, ||, ;, |, newlines), outside quotes. */
export function commandParts(command: string): CommandPart[] {
  const parts: CommandPart[] = [];
  let cur = '';
  let quote: string | null = null;
  const flush = (): void => {
    const text = cur.trim();
    if (text) parts.push(parsePart(text));
    cur = '';
  };
  for (let i = 0; i < command.length; i++) {
    const ch = command[i]!;
    if (quote) {
      if (ch === quote) quote = null;
      cur += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      cur += ch;
    } else if (ch === ';' || ch === '\n' || (ch === '|' && command[i + 1] !== '|') || (ch === '&' && command[i + 1] === '&')) {
      flush();
      if (ch === '&') i++;
    } else if (ch === '|' && command[i + 1] === '|') {
      flush();
      i++;
    } else if (ch === '&' && command[i - 1] !== '>' && command[i + 1] !== '>') {
      flush(); // `a & b`: a runs in the background
    } else cur += ch;
  }
  flush();
  return parts;
}

function parsePart(text: string): CommandPart {
  const tokens = shellWords(text);
  const words: string[] = [];
  const redirects: string[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    const m = /^(\d*>>?|&>>?)(.*)$/.exec(t);
    if (m) {
      const target = m[2] || tokens[++i] || '';
      if (target && !target.startsWith('&') && target !== '/dev/null') redirects.push(target);
      continue;
    }
    if (/^\d*<$/.test(t)) {
      i++;
      continue;
    }
    if (words.length === 0 && /^[A-Za-z_][A-Za-z0-9_]*=/.test(t)) continue;
    words.push(t);
  }
  return { text, words, redirects };
}

/** Words of a simple command, with quotes removed. */
function shellWords(text: string): string[] {
  const words: string[] = [];
  let cur: string | null = null;
  let quote: string | null = null;
  for (const ch of text) {
    if (quote) {
      if (ch === quote) quote = null;
      else cur = (cur ?? '') + ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      cur ??= '';
    } else if (/\s/.test(ch)) {
      if (cur !== null) words.push(cur);
      cur = null;
    } else cur = (cur ?? '') + ch;
  }
  if (cur !== null) words.push(cur);
  return words;
}

/** `Bash`, `Bash(git *)`, `Bash(npm test:*)`, `Bash(exact)`, `Edit`, `Write(…)`. */
export function ruleMatches(rule: string, tool: string, command: string): boolean {
  const m = /^([A-Za-z_][\w-]*)(?:\((.*)\))?$/.exec(rule.trim());
  if (!m || m[1] !== tool) return false;
  const pattern = m[2];
  if (pattern === undefined || pattern === '' || pattern === '*' || tool !== 'Bash') return true;
  if (pattern.endsWith(':*')) {
    const prefix = pattern.slice(0, -2);
    return command === prefix || command.startsWith(`${prefix} `);
  }
  if (pattern.endsWith(' *') && command === pattern.slice(0, -2)) return true;
  const re = new RegExp(`^${pattern.split('*').map(escapeRe).join('.*')}$`, 's');
  return re.test(command);
}

// ====================================================================== the script

export type Picked = { kind: 'run'; run: Run; index: number } | { kind: 'problem'; message: string };

export interface TurnFacts {
  prompt: string;
  resumed: boolean;
  cwd: string;
}

export const includesAll = (text: string, wanted: string | string[] | undefined): boolean => wanted === undefined || (Array.isArray(wanted) ? wanted : [wanted]).every((w) => text.includes(w));

/**
 * Takes the first unused run that matches this turn (usage counted beside the script, under
 * a lock). `scriptVar` names the env var holding the script's path: each fake has its own.
 */
export function pickRun(facts: TurnFacts, scriptVar = 'FAKE_CLAUDE_SCRIPT'): Picked {
  const scriptPath = process.env[scriptVar];
  if (!scriptPath) return { kind: 'run', run: {}, index: -1 };
  let runs: Run[];
  try {
    const parsed: unknown = JSON.parse(readFileSync(scriptPath, 'utf8'));
    const problems = scriptProblems(parsed);
    if (problems.length > 0) throw new Error(problems.join('; '));
    runs = parsed as Run[];
  } catch (err) {
    return { kind: 'problem', message: `invalid ${scriptVar} ${scriptPath}: ${err instanceof Error ? err.message : String(err)}` };
  }
  const counterPath = `${scriptPath}.counter.json`;
  const index = withLock(`${scriptPath}.lock`, () => {
    const used: number[] = existsSync(counterPath) ? (JSON.parse(readFileSync(counterPath, 'utf8')) as { used: number[] }).used : [];
    const i = runs.findIndex((run, k) => {
      const limit = run.times === 'unlimited' ? Infinity : (run.times ?? 1);
      if ((used[k] ?? 0) >= limit) return false;
      const m = run.match;
      if (!m) return true;
      return includesAll(facts.prompt, m.promptIncludes) && (m.resume === undefined || m.resume === facts.resumed) && (m.cwdIncludes === undefined || facts.cwd.includes(m.cwdIncludes));
    });
    if (i >= 0) {
      for (let k = 0; k <= i; k++) used[k] ??= 0;
      used[i]!++;
      const tmp = `${counterPath}.${process.pid}.tmp`;
      writeFileSync(tmp, JSON.stringify({ used }));
      renameSync(tmp, counterPath);
    }
    return i;
  });
  if (index < 0) return { kind: 'problem', message: `no scripted run left in ${scriptPath} for prompt: ${facts.prompt.slice(0, 200)}` };
  return { kind: 'run', run: runs[index]!, index };
}

export function unmetExpectations(run: Run, facts: TurnFacts & { history: string; argv: string[]; permissionMode: string; systemPrompt: string }): string[] {
  const e = run.expect;
  if (!e) return [];
  const failed: string[] = [];
  if (e.resume !== undefined && e.resume !== facts.resumed) failed.push(`expected resume=${e.resume}, got ${facts.resumed}`);
  if (!includesAll(facts.prompt, e.promptIncludes)) failed.push(`prompt lacks ${JSON.stringify(e.promptIncludes)}: ${JSON.stringify(facts.prompt.slice(0, 300))}`);
  if (!includesAll(facts.history, e.historyIncludes)) failed.push(`session history lacks ${JSON.stringify(e.historyIncludes)}`);
  for (const a of e.argvIncludes ?? []) if (!facts.argv.includes(a)) failed.push(`argv lacks ${JSON.stringify(a)}: ${JSON.stringify(facts.argv)}`);
  if (e.cwdIncludes !== undefined && !facts.cwd.includes(e.cwdIncludes)) failed.push(`cwd ${facts.cwd} lacks ${e.cwdIncludes}`);
  if (e.permissionMode !== undefined && e.permissionMode !== facts.permissionMode) failed.push(`expected permission mode ${e.permissionMode}, got ${facts.permissionMode}`);
  if (e.systemPromptIncludes !== undefined && !facts.systemPrompt.includes(e.systemPromptIncludes)) failed.push(`--append-system-prompt lacks ${JSON.stringify(e.systemPromptIncludes)}`);
  return failed;
}

/** Runs fn while holding an O_EXCL lock file (a lock whose holder died is taken over). */
function withLock<T>(lockPath: string, fn: () => T): T {
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      const fd = openSync(lockPath, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (lockHolderDead(lockPath)) {
        try {
          unlinkSync(lockPath);
        } catch {
          // another fake took it over first
        }
        continue;
      }
      if (Date.now() > deadline) throw new Error(`fake claude: lock ${lockPath} held for too long`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 3);
    }
  }
  try {
    return fn();
  } finally {
    unlinkSync(lockPath);
  }
}

function lockHolderDead(lockPath: string): boolean {
  try {
    const pid = Number(readFileSync(lockPath, 'utf8'));
    if (!pid) return Date.now() - statSync(lockPath).mtimeMs > 2000; // written but empty: holder died mid-write
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

// ====================================================================== small pieces

/** The model of a transcript's last answer from the API (not a synthetic error message), or null. */
function transcriptModel(history: string): string | null {
  let model: string | null = null;
  for (const line of history.split('\n')) {
    if (!line.includes('"assistant"')) continue;
    try {
      const e = JSON.parse(line) as { type?: string; message?: { model?: unknown } };
      if (e.type === 'assistant' && typeof e.message?.model === 'string' && e.message.model !== '<synthetic>') model = e.message.model;
    } catch {
      // a torn line (killed mid-write)
    }
  }
  return model;
}

/** Text of a stream-json stdin user message, or null for anything else. */
function userMessageText(msg: unknown): string | null {
  if (typeof msg !== 'object' || msg === null) return null;
  const m = msg as { type?: unknown; message?: { content?: unknown } };
  if (m.type !== 'user') return null;
  const content = m.message?.content;
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((b: unknown) => (typeof b === 'object' && b !== null && (b as { type?: unknown }).type === 'text' ? String((b as { text?: unknown }).text ?? '') : ''))
      .filter(Boolean)
      .join('\n');
  }
  return null;
}

function zeroUsage(): Record<string, number> {
  return { input_tokens: 0, output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };
}

function assistantUsage(): Record<string, number> {
  return { input_tokens: 12, output_tokens: 1, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };
}

function resultUsage(roundTrips: number): Record<string, unknown> {
  return { input_tokens: 12 * roundTrips, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 20 * roundTrips, server_tool_use: { web_search_requests: 0, web_fetch_requests: 0 }, service_tier: 'standard', cache_creation: { ephemeral_1h_input_tokens: 0, ephemeral_5m_input_tokens: 0 }, inference_geo: '', iterations: [], speed: 'standard' };
}

function envSubset(): Record<string, string | null> {
  const keys = ['CLAUDECODE', 'CLAUDE_CONFIG_DIR', 'IS_SANDBOX', 'HOME', 'GIT_DIR', 'GIT_WORK_TREE', 'GIT_INDEX_FILE', 'ANTHROPIC_BASE_URL'];
  const out: Record<string, string | null> = {};
  for (const k of keys) out[k] = process.env[k] ?? null;
  for (const [k, v] of Object.entries(process.env)) if (k.startsWith('COVEN_')) out[k] = v ?? null;
  return out;
}

function chunks(text: string, size: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out.length > 0 ? out : [''];
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Writes to stdout, waiting when the pipe is full (huge outputs). */
export function writeOut(text: string): Promise<void> {
  return new Promise((r) => {
    if (process.stdout.write(text)) r();
    else process.stdout.once('drain', () => r());
  });
}

// ====================================================================== the project's own checkout

/** The env var a test sets (to 1) when it means the fake to run inside coven's own checkout. */
export const ALLOW_PROJECT_CWD = 'FAKE_CLAUDE_ALLOW_PROJECT_CWD';

/**
 * The folder at or above `dir` holding a package.json named "coven" (a checkout of this
 * project, any worktree of it), or null. The fake refuses to run there: a test whose
 * session ran in the wrong cwd once staged a file in the project itself.
 */
export function covenCheckoutAround(dir: string): string | null {
  for (let d = dir; ; d = dirname(d)) {
    try {
      const pkg: unknown = JSON.parse(readFileSync(join(d, 'package.json'), 'utf8'));
      if (typeof pkg === 'object' && pkg !== null && (pkg as { name?: unknown }).name === 'coven') return d;
    } catch {
      // no package.json here, or not ours
    }
    if (dirname(d) === d) return null;
  }
}

// ====================================================================== entry

const isMain = ((): boolean => {
  try {
    return realpathSync(process.argv[1] ?? '') === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
})();

if (isMain) {
  process.stdout.on('error', () => {}); // EPIPE: whoever read our stdout has gone; keep going as the CLI does
  const fake = new Fake(process.argv.slice(2));
  fake.main().catch((err: unknown) => {
    process.stderr.write(`fake claude: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    fake.finish(70);
  });
}
