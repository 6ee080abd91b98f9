#!/usr/bin/env node
// fake-codex — a faithful stand-in for `codex exec` (Codex 0.171.0) in tests. It follows
// what the real CLI did against test/real-cli/mock-responses-api.ts (captures in
// test/fixtures/agent-cli-samples/codex/, shared/reference/agent-clis.md): the same
// arguments coven uses, the same --json events and fields in the same order, the same
// session files and resume rules, the same stderr lines and exit codes on failure. It is
// scripted with the fake Claude's script format (FakeRun in fakes/claude.ts, whose engine
// it imports), and its tools really act in its cwd.
//
// Run through the shim fakes/bin/codex (which execs node on dist/fakes/codex.js).
//
// ARGUMENTS  `codex exec [OPTIONS] [--] [PROMPT]`, `codex exec resume [OPTIONS] [--]
//   [SESSION_ID] [PROMPT]`, `codex --version`. Each takes the options its real --help
//   lists (resume has no -C, -s, --add-dir, -p, --oss …); anything else is clap's
//   `error: unexpected argument '<x>' found` with the usage on stderr, exit 2 (so is
//   `--full-auto`, gone from the real CLI). An invalid -s value: exit 2 as well.
// PROMPT  the argument, or stdin for `-` or none (`Reading prompt from stdin...`; empty:
//   `No prompt provided via stdin.`, exit 1). With an argument, stdin is read to its end
//   too (`Reading additional input from stdin...`) and appended as a `<stdin>` block.
// OUTPUT  --json: thread.started, item.completed error (only for a model the fake does not
//   know, as the real CLI warns about `mock-model`), turn.started, then per step
//   item.completed agent_message / item.started + item.completed command_execution
//   (`/bin/bash -lc '<cmd>'`, aggregated_output, exit_code, status) / item.completed
//   file_change / reasoning, and turn.completed {usage} (the thread's running total) or
//   error + turn.failed (exit 1). Without --json: the final text on stdout.
// SANDBOX  without --dangerously-bypass-approvals-and-sandbox or -s danger-full-access
//   (default read-only), a commit fails as the real one does in a linked worktree
//   (index.lock: Read-only file system), and read-only refuses write/edit steps.
// SESSIONS  $CODEX_HOME (default ~/.codex)/sessions/YYYY/MM/DD/rollout-<time>-<thread_id>.jsonl;
//   a resume finds the id in any day folder (none: `Error: thread/resume: thread/resume
//   failed: no rollout found for thread id <id> (code -32600)`, exit 1, nothing on stdout).
//   The real CLI also resumes from another folder and works there; the fake refuses that
//   (the same message, and a line saying why): a toolkit that resumes in the wrong
//   worktree fails its tests instead of passing them.
// FAILURES  api_error {status}: `error` and turn.failed with the API's JSON body (no
//   retry), exit 1. refuse {reason}: the model call after the run's steps is refused:
//   quota → `Quota exceeded. Check your plan and billing details.` at once; auth (401),
//   rate-limit (429), overloaded (503) → five `Reconnecting... n/5 (…)` errors first,
//   spaced as the real CLI (FAKE_CODEX_RETRY_MS sets the delay), then turn.failed; exit 1.
//   FAKE_CODEX_OFFLINE=1: the API is unreachable, and every turn prints `Reconnecting...
//   waiting for network (…)` for ever, as the real one.
// SCRIPT  FAKE_CODEX_SCRIPT=/path/run.json (the fake Claude's format, its own counter);
//   FAKE_CODEX_LOG=/path/log.jsonl: one FakeInvocation line per run. Commands of
//   reply_from_bash / text_from_command see the prompt in $FAKE_CODEX_PROMPT (and
//   $FAKE_CLAUDE_PROMPT). wait_for_message shows nothing (no steering); api_retry prints
//   `Reconnecting... n/5` errors for a 503.
// SIGNALS  SIGTERM ends it by the signal (as the real launcher does); SIGKILL leaves no log.
// CWD  refuses (exit 97) to run inside coven's own checkout unless FAKE_CLAUDE_ALLOW_PROJECT_CWD=1.
//
//   exit: 0 success · 1 failed turn, failed resume, no prompt · 2 usage error · 97 script problem

import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, readdirSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ALLOW_PROJECT_CWD, covenCheckoutAround, editTool, pickRun, runCommit, runShell, shellQuote, sleep, unmetExpectations, writeOut, writeTool, type FakeInvocation, type FakeRun, type FakeStep, type ToolOutcome } from './claude.js';
import { parseCodexArgs, usageError, type CodexArgs } from './codex-args.js';
import { exitFlushed, logInvocation } from './invocation-end.js';

const version = '0.171.0';
const defaultModel = 'gpt-5.5';
/** models whose metadata the CLI knows: any other gets the "Model metadata … not found" warning */
const knownModels = new Set(['gpt-5.5', 'gpt-5.4', 'gpt-5.3-codex', 'gpt-5.2-codex', 'gpt-5.1-codex', 'gpt-5-codex', 'gpt-5', 'gpt-5-mini', 'o3', 'o4-mini', 'codex-mini-latest']);
/** per model call, as the mock API counts them */
const callUsage = { input: 111, output: 22 };

// ====================================================================== sessions on disk

export function codexHome(env: NodeJS.ProcessEnv = process.env): string {
  return env.CODEX_HOME || join(env.HOME || homedir(), '.codex');
}

/** A thread id as the real CLI makes them (UUID v7: the time first). */
export function newThreadId(now = Date.now()): string {
  const hex = now.toString(16).padStart(12, '0') + randomBytes(10).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7${hex.slice(13, 16)}-${((parseInt(hex[16]!, 16) & 3) | 8).toString(16)}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** The rollout file of a thread id under $CODEX_HOME/sessions, or null. */
export function findRollout(home: string, id: string): string | null {
  const root = join(home, 'sessions');
  const walk = (dir: string, depth: number): string | null => {
    if (!existsSync(dir)) return null;
    for (const name of readdirSync(dir).sort().reverse()) {
      const path = join(dir, name);
      if (depth < 3 && statSync(path).isDirectory()) {
        const found = walk(path, depth + 1);
        if (found) return found;
      } else if (depth === 3 && name.startsWith('rollout-') && name.endsWith(`-${id}.jsonl`)) return path;
    }
    return null;
  };
  return walk(root, 0);
}

interface RolloutFacts {
  cwd: string | null;
  /** the thread's running usage so far */
  usage: { input: number; output: number };
  history: string;
}

function readRollout(file: string): RolloutFacts {
  const history = readFileSync(file, 'utf8');
  let cwd: string | null = null;
  let usage = { input: 0, output: 0 };
  for (const line of history.split('\n')) {
    try {
      const e = JSON.parse(line) as { type?: string; payload?: { cwd?: unknown; type?: string; total?: { input: number; output: number } } };
      if (e.type === 'session_meta' && typeof e.payload?.cwd === 'string') cwd = e.payload.cwd;
      if (e.type === 'event_msg' && e.payload?.type === 'token_count' && e.payload.total) usage = e.payload.total;
    } catch {
      // a torn line
    }
  }
  return { cwd, usage, history };
}

const stamp = (d: Date): string => d.toISOString().slice(0, 19).replace(/:/g, '-');

// ====================================================================== the program

interface Turn {
  items: number;
  text: string | null;
  lastStepWasText: boolean;
  calls: number;
}

class FakeCodex {
  private readonly startedAt = new Date();
  private readonly cwd = realpathSync(process.cwd());
  private readonly home = codexHome();
  private readonly record: FakeInvocation;
  private args!: CodexArgs;
  private threadId = '';
  private rollout = '';
  private usage = { input: 0, output: 0 };
  private history = '';
  private prompt = '';
  private finished = false;
  private ignoreSigterm = false;
  private ordinal = 0;

  constructor(private readonly argv: string[]) {
    this.record = { argv, cwd: this.cwd, stdin: '', pid: process.pid, startedAt: this.startedAt.toISOString(), endedAt: '', exitCode: 0, sessionId: null, resumed: false, prompts: [], runs: [], messages: [], env: envSubset(), problems: [] };
    process.on('SIGTERM', () => {
      if (!this.ignoreSigterm) this.finish(143, 'SIGTERM');
    });
    process.on('SIGINT', () => this.finish(130, 'SIGINT'));
  }

  async main(): Promise<void> {
    const parsed = parseCodexArgs(this.argv);
    if (parsed.kind === 'error') return this.fail(parsed.message, 2);
    if (parsed.kind === 'version') return this.print(`codex-cli ${version}\n`);
    if (parsed.kind === 'help') return this.print(`${usageError('', parsed.resume).split('\n').slice(-4).join('\n')}\n(fake codex ${version}: exec and exec resume only; see fakes/codex.ts)\n`);
    this.args = parsed.args;
    const checkout = process.env[ALLOW_PROJECT_CWD] === '1' ? null : covenCheckoutAround(this.cwd);
    if (checkout) return void this.scriptProblem(`refusing to run in ${this.cwd}: it is inside the coven project's own checkout (${checkout}); a test's agent works in a temporary repository; a test that means this sets ${ALLOW_PROJECT_CWD}=1`);
    if (this.args.last && this.args.resume === undefined) return void this.scriptProblem('exec resume --last is not supported by the fake; give the thread id');
    const prompt = await this.readPrompt();
    if (!this.args.skipGitRepoCheck && !insideGitRepo(this.cwd)) return this.fail('Not inside a trusted directory and --skip-git-repo-check was not specified.', 1);
    if (!this.openThread()) return;
    if (prompt === null) return this.fail('No prompt provided via stdin.', 1);
    this.prompt = prompt;
    await this.turn();
  }

  /** A new thread, or the one resumed; false when the resume failed (and the process ends). */
  private openThread(): boolean {
    if (this.args.resume === undefined) {
      this.threadId = newThreadId();
      const day = this.startedAt.toISOString().slice(0, 10).split('-');
      this.rollout = join(this.home, 'sessions', ...day, `rollout-${stamp(this.startedAt)}-${this.threadId}.jsonl`);
      this.write('session_meta', { id: this.threadId, session_id: this.threadId, timestamp: this.startedAt.toISOString(), cwd: this.cwd, originator: 'codex_exec', cli_version: version, source: 'exec', model_provider: this.args.provider });
    } else {
      const id = this.args.resume;
      const file = findRollout(this.home, id);
      const facts = file ? readRollout(file) : null;
      if (!file || !facts || (facts.cwd !== null && facts.cwd !== this.cwd)) {
        if (facts?.cwd) process.stderr.write(`fake codex: thread ${id} was started in ${facts.cwd}, not in ${this.cwd}: the real CLI would resume it and work here; the fake refuses (see fakes/codex.ts)\n`);
        this.fail(`Error: thread/resume: thread/resume failed: no rollout found for thread id ${id} (code -32600)`, 1);
        return false;
      }
      this.threadId = id;
      this.rollout = file;
      this.usage = facts.usage;
      this.history = facts.history;
    }
    this.record.sessionId = this.threadId;
    this.record.resumed = this.args.resume !== undefined;
    return true;
  }

  private async readPrompt(): Promise<string | null> {
    const arg = this.args.prompt;
    if (arg === undefined || arg === '-') {
      process.stderr.write('Reading prompt from stdin...\n');
      const text = (await readStdin()).replace(/\s+$/, '');
      this.record.stdin = text.slice(0, 1 << 20);
      return text === '' ? null : text;
    }
    if (process.stdin.isTTY) return arg;
    process.stderr.write('Reading additional input from stdin...\n');
    const extra = await readStdin();
    this.record.stdin = extra.slice(0, 1 << 20);
    return extra.trim() === '' ? arg : `${arg}\n\n<stdin>\n${extra.replace(/\n$/, '')}\n</stdin>`;
  }

  // ------------------------------------------------------------------ the turn

  private async turn(): Promise<void> {
    const resumed = this.args.resume !== undefined;
    this.record.prompts.push(this.prompt);
    this.emit({ type: 'thread.started', thread_id: this.threadId });
    const turn: Turn = { items: 0, text: null, lastStepWasText: false, calls: 1 };
    if (!knownModels.has(this.args.model ?? defaultModel)) this.item(turn, 'item.completed', { type: 'error', message: `Model metadata for \`${this.args.model}\` not found. Defaulting to fallback metadata; this can degrade performance and cause issues.` });
    this.write('response_item', { type: 'message', role: 'user', content: [{ type: 'input_text', text: this.prompt }] });
    this.write('turn_context', { cwd: this.cwd, model: this.args.model ?? defaultModel });
    this.emit({ type: 'turn.started' });
    if (process.env.FAKE_CODEX_OFFLINE === '1') return this.waitForNetwork();

    const picked = pickRun({ prompt: this.prompt, resumed, cwd: this.cwd }, 'FAKE_CODEX_SCRIPT');
    if (picked.kind === 'problem') return void this.scriptProblem(picked.message);
    this.record.runs.push(picked.index);
    const run = picked.run;
    const failed = unmetExpectations(run, { prompt: this.prompt, history: this.history, resumed, cwd: this.cwd, argv: this.argv, permissionMode: this.args.sandbox, systemPrompt: this.prompt });
    if (failed.length > 0) return void this.scriptProblem(`expectation failed (run #${picked.index}): ${failed.join('; ')}`);
    this.ignoreSigterm = run.ignoreSigterm === true;
    if (run.crashAfterStep === 0) return this.crash(run);
    const steps = run.steps ?? [];
    for (let i = 0; i < steps.length; i++) {
      if (run.stepDelayMs) await sleep(run.stepDelayMs);
      await this.step(turn, steps[i]!);
      if (run.crashAfterStep === i + 1) return this.crash(run);
    }
    if (run.hang === true || run.hang === 'before-result') await new Promise<never>(() => setInterval(() => {}, 1 << 30));
    // the model call after the steps is refused (as in the fake Claude)
    if (run.refuse) return this.refuse(run.refuse.reason, run);
    if (run.api_error) return this.turnFailed(JSON.stringify({ error: { message: run.api_error.message ?? `mock error ${run.api_error.status}`, type: 'invalid_request_error', param: null, code: null } }), run);
    const scripted = run.result ?? {};
    const finalText = scripted.text ?? turn.text ?? 'Done.';
    if (!(turn.lastStepWasText && turn.text === finalText)) this.say(turn, finalText);
    if (scripted.is_error === true || (scripted.subtype !== undefined && scripted.subtype !== 'success')) return this.turnFailed(scripted.errors?.[0] ?? `fake codex: scripted ${scripted.subtype ?? 'error'}`, run);
    this.usage = { input: this.usage.input + turn.calls * callUsage.input, output: this.usage.output + turn.calls * callUsage.output };
    this.write('event_msg', { type: 'token_count', total: this.usage });
    this.emit({ type: 'turn.completed', usage: { input_tokens: this.usage.input, cached_input_tokens: 0, cache_write_input_tokens: 0, output_tokens: this.usage.output, reasoning_output_tokens: 0 } });
    if (run.hang === 'after-result') return void setInterval(() => {}, 1 << 30);
    if (this.args.outputLastMessage !== undefined) writeFileSync(this.abs(this.args.outputLastMessage), turn.text ?? '');
    if (!this.args.json) process.stdout.write(`${turn.text ?? ''}\n`);
    this.finish(run.exit ?? 0);
  }

  private async step(turn: Turn, step: FakeStep): Promise<void> {
    turn.lastStepWasText = false;
    if ('text' in step) return this.say(turn, step.text);
    if ('thinking' in step) return void this.item(turn, 'item.completed', { type: 'reasoning', text: step.thinking });
    if ('bash' in step) return void (await this.shell(turn, step.bash, () => this.runGuarded(step.bash, () => runShell(step.bash, this.cwd))));
    if ('reply_from_bash' in step) {
      const out = await this.shell(turn, step.reply_from_bash, () => runShell(step.reply_from_bash, this.cwd, this.promptEnv()));
      return this.say(turn, out.output.trim() || '(the command printed nothing)');
    }
    if ('text_from_command' in step) {
      const outcome = shellOf(await runShell(step.text_from_command, this.cwd, this.promptEnv()));
      return this.say(turn, outcome.code !== 0 || !outcome.output.trim() ? `(text_from_command failed: ${outcome.output.slice(0, 200)})` : outcome.output.trim());
    }
    if ('commit' in step) {
      const command = `git add -A && git commit -m ${shellQuote(step.commit)}`;
      return void (await this.shell(turn, command, () => this.runGuarded(command, () => runCommit(step.commit, this.cwd))));
    }
    if ('write' in step) return this.fileChange(turn, step.write.path, () => writeTool(this.abs(step.write.path), step.write.content));
    if ('edit' in step) return this.fileChange(turn, step.edit.path, () => editTool(this.abs(step.edit.path), step.edit.old, step.edit.new, step.edit.all === true));
    if ('read' in step) return void (await this.shell(turn, `cat ${shellQuote(step.read)}`, () => runShell(`cat ${shellQuote(step.read)}`, this.cwd)));
    if ('sleep_ms' in step) return sleep(step.sleep_ms);
    if ('wait_for_message' in step) return sleep(Math.min(step.wait_for_message, 50));
    if ('wait_for_file' in step) {
      const deadline = Date.now() + (step.timeout_ms ?? 60_000);
      while (!existsSync(step.wait_for_file) && Date.now() < deadline) await sleep(20);
      return;
    }
    if ('api_retry' in step) {
      for (let n = 1; n <= (step.api_retry.attempts ?? 1); n++) this.emit({ type: 'error', message: `Reconnecting... ${n}/5 (${statusLine(step.api_retry.status ?? 503, this.args.baseUrl)})` });
      return;
    }
    if ('raw' in step) return writeOut(step.raw);
    if ('noise' in step) {
      const padding = 'x'.repeat(Math.max(0, step.noise.bytes - 60));
      for (let i = 0; i < step.noise.events; i++) await writeOut(`${JSON.stringify({ type: 'fake_noise', n: i, padding })}\n`);
    }
  }

  private say(turn: Turn, text: string): void {
    this.item(turn, 'item.completed', { type: 'agent_message', text });
    this.write('response_item', { type: 'message', role: 'assistant', content: [{ type: 'output_text', text }] });
    turn.text = text;
    turn.lastStepWasText = true;
  }

  /** A shell call: item.started, the command, item.completed; the next answer is another model call. */
  private async shell(turn: Turn, command: string, perform: () => Promise<ToolOutcome>): Promise<{ output: string; code: number }> {
    const id = `item_${turn.items++}`;
    const shown = `/bin/bash -lc ${shlexQuote(command)}`;
    this.emit({ type: 'item.started', item: { id, type: 'command_execution', command: shown, aggregated_output: '', exit_code: null, status: 'in_progress' } });
    this.write('response_item', { type: 'function_call', name: 'exec_command', arguments: JSON.stringify({ cmd: command }) });
    const out = shellOf(await perform());
    this.emit({ type: 'item.completed', item: { id, type: 'command_execution', command: shown, aggregated_output: out.output, exit_code: out.code, status: out.code === 0 ? 'completed' : 'failed' } });
    this.write('response_item', { type: 'function_call_output', output: out.output });
    turn.calls++;
    return out;
  }

  private fileChange(turn: Turn, path: string, perform: () => ToolOutcome): void {
    const existed = existsSync(this.abs(path));
    const refused = this.args.sandbox === 'read-only';
    const outcome = refused ? null : perform();
    const status = outcome && !outcome.isError ? 'completed' : 'failed';
    this.item(turn, 'item.completed', { type: 'file_change', changes: [{ path: this.abs(path), kind: existed ? 'update' : 'add' }], status });
    turn.calls++;
  }

  /** Runs a command the sandbox may refuse: a commit fails outside danger-full-access (the git dir of a linked worktree is outside it). */
  private async runGuarded(command: string, perform: () => Promise<ToolOutcome>): Promise<ToolOutcome> {
    if (this.args.sandbox === 'danger-full-access' || !/\bgit\b[^|;&]*\b(commit|add)\b/.test(command)) return perform();
    const text = `Exit code 128\nfatal: Unable to create '${gitDirOf(this.cwd)}/index.lock': Read-only file system`;
    return { content: text, isError: true, result: `Error: ${text}` };
  }

  private item(turn: Turn, type: string, item: Record<string, unknown>): void {
    this.emit({ type, item: { id: `item_${turn.items++}`, ...item } });
  }

  // ------------------------------------------------------------------ failures

  private turnFailed(message: string, run: FakeRun | null): void {
    this.emit({ type: 'error', message });
    this.emit({ type: 'turn.failed', error: { message } });
    if (!this.args.json) process.stderr.write(`ERROR: ${message}\n`);
    this.finish(run?.exit ?? 1);
  }

  /** What the real CLI prints when the API refuses every call of this turn, retries included. */
  private async refuse(reason: 'quota' | 'rate-limit' | 'auth' | 'overloaded', run: FakeRun): Promise<void> {
    if (reason === 'quota') return this.turnFailed('Quota exceeded. Check your plan and billing details.', run);
    const status = { auth: 401, 'rate-limit': 429, overloaded: 503 }[reason];
    const scale = Number(process.env.FAKE_CODEX_RETRY_MS);
    const delays = reason === 'auth' ? [240, 450, 740, 1540, 3200] : reason === 'rate-limit' ? [1000, 1000, 1000, 1000, 1000] : [3300, 3400, 3500, 4000, 6000];
    for (let n = 1; n <= 5; n++) {
      this.emit({ type: 'error', message: `Reconnecting... ${n}/5 (${statusLine(status, this.args.baseUrl)})` });
      await sleep(Number.isFinite(scale) && scale >= 0 ? scale : delays[n - 1]!);
    }
    this.turnFailed(statusLine(status, this.args.baseUrl), run);
  }

  /** The API cannot be reached: the real CLI waits for the network for ever (3 s, 8 s, 13 s … then about a minute apart). */
  private async waitForNetwork(): Promise<void> {
    const delays = [3000, 8000, 13000, 23000, 43000];
    for (let n = 0; ; n++) {
      await sleep(Number(process.env.FAKE_CODEX_RETRY_MS) || delays[n] || 63000);
      this.emit({ type: 'error', message: 'Reconnecting... waiting for network (Connection failed: error sending request)' });
    }
  }

  // ------------------------------------------------------------------ output and endings

  private emit(event: Record<string, unknown>): void {
    if (this.finished || !this.args.json) return;
    process.stdout.write(`${JSON.stringify(event)}\n`);
  }

  /** One line of the rollout file, as the real CLI keeps it. */
  private write(type: string, payload: Record<string, unknown>): void {
    mkdirSync(dirname(this.rollout), { recursive: true });
    appendFileSync(this.rollout, `${JSON.stringify({ timestamp: new Date().toISOString(), ordinal: this.ordinal++, type, payload })}\n`);
  }

  private promptEnv(): NodeJS.ProcessEnv {
    return { ...process.env, FAKE_CODEX_PROMPT: this.prompt, FAKE_CLAUDE_PROMPT: this.prompt };
  }

  private abs(path: string): string {
    return isAbsolute(path) ? path : join(this.cwd, path);
  }

  private crash(run: FakeRun): void {
    process.stderr.write('fake codex: crashing as scripted (crashAfterStep)\n');
    this.finish(run.exit ?? 1);
  }

  private scriptProblem(message: string): false {
    this.record.problems.push(message);
    process.stderr.write(`fake codex: ${message}\n`);
    this.finish(97);
    return false;
  }

  private fail(message: string, code: number): void {
    process.stderr.write(`${message}\n`);
    this.finish(code);
  }

  private print(text: string): void {
    process.stdout.write(text);
    this.finish(0);
  }

  /** Logs the invocation, flushes stdout and exits (by the signal, for one). */
  finish(code: number, signal?: NodeJS.Signals): void {
    if (this.finished) return;
    this.finished = true;
    this.record.endedAt = new Date().toISOString();
    this.record.exitCode = code;
    if (signal) this.record.signal = signal;
    logInvocation('codex', 'FAKE_CODEX_LOG', this.record);
    exitFlushed(code, signal);
  }
}

// ====================================================================== small pieces

/** A shell tool's merged output and exit code, from the fake Claude's Bash outcome. */
function shellOf(o: ToolOutcome): { output: string; code: number } {
  if (!o.isError) {
    const r = o.result as { stdout?: unknown };
    const out = typeof r === 'object' && r !== null && typeof r.stdout === 'string' ? r.stdout : '';
    return { output: out ? `${out}\n` : '', code: 0 };
  }
  const m = /^Exit code (\d+)\n?([\s\S]*)$/.exec(o.content);
  return { output: m?.[2] ? `${m[2]}\n` : m ? '' : `${o.content}\n`, code: m ? Number(m[1]) : 1 };
}

/**
 * A word quoted as Codex shows a command (Rust's shlex): the longest runs that can go
 * bare, in single quotes (no ') or in double quotes (no $, `, !; " and \\ escaped), in
 * that order of preference.
 */
export function shlexQuote(word: string): string {
  if (word === '') return "''";
  const bare = 1;
  const single = 2;
  const double = 4;
  const okFor = (c: string): number => (/[A-Za-z0-9_@%+=:,./-]/.test(c) ? bare : 0) | (c === "'" ? 0 : single) | ('$`!'.includes(c) ? 0 : double);
  let out = '';
  let i = 0;
  while (i < word.length) {
    let ok = bare | single | double;
    let j = i;
    while (j < word.length && (ok & okFor(word[j]!)) !== 0) ok &= okFor(word[j++]!);
    const run = word.slice(i, j);
    if (ok & bare) out += run;
    else if (ok & single) out += `'${run}'`;
    else out += `"${run.replace(/["\\]/g, (c) => `\\${c}`)}"`;
    i = j;
  }
  return out;
}

/** How Codex words a failed call with this status (the retries' and the failure's message). */
function statusLine(status: number, baseUrl: string): string {
  const rid = `req_${randomBytes(8).toString('hex')}`;
  if (status === 429) return `exceeded retry limit, last status: 429 Too Many Requests, request id: ${rid}`;
  const words: Record<number, string> = {
    401: 'Unauthorized: Incorrect API key provided: sk-fake. You can find your API key at https://platform.openai.com/account/api-keys.',
    503: 'Service Unavailable: The server is overloaded or not ready yet.',
  };
  return `unexpected status ${status} ${words[status] ?? 'Error'}, url: ${baseUrl}/responses, request id: ${rid}`;
}

function insideGitRepo(cwd: string): boolean {
  for (let d = cwd; ; d = dirname(d)) {
    if (existsSync(join(d, '.git'))) return true;
    if (dirname(d) === d) return false;
  }
}

function gitDirOf(cwd: string): string {
  try {
    const dotGit = join(cwd, '.git');
    if (statSync(dotGit).isDirectory()) return dotGit;
    const m = /^gitdir: (.*)$/m.exec(readFileSync(dotGit, 'utf8'));
    return m ? m[1]!.trim() : dotGit;
  } catch {
    return join(cwd, '.git');
  }
}

/** All of stdin, to its end ('' for a terminal). */
function readStdin(): Promise<string> {
  if (process.stdin.isTTY) return Promise.resolve('');
  return new Promise((done) => {
    let data = '';
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (d: string) => (data += d));
    process.stdin.on('end', () => done(data));
    process.stdin.on('error', () => done(data));
  });
}

function envSubset(): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const k of ['HOME', 'CODEX_HOME', 'PWD', 'OPENAI_API_KEY', 'GIT_DIR', 'GIT_WORK_TREE', 'GIT_INDEX_FILE']) out[k] = process.env[k] ?? null;
  for (const [k, v] of Object.entries(process.env)) if (k.startsWith('COVEN_')) out[k] = v ?? null;
  return out;
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
  process.stdout.on('error', () => {});
  const fake = new FakeCodex(process.argv.slice(2));
  fake.main().catch((err: unknown) => {
    process.stderr.write(`fake codex: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    fake.finish(70);
  });
}

