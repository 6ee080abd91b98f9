#!/usr/bin/env node
// fake-gemini — a faithful stand-in for `gemini -p` (Gemini CLI 0.61.0) in tests. It
// follows what the real CLI did against test/real-cli/mock-gemini-api.ts (captures in
// test/fixtures/agent-cli-samples/gemini/, shared/reference/agent-clis.md): the same
// arguments coven uses, the same stream-json events and fields in the same order, the
// same session files and resume rules, the same stderr lines and exit codes on failure.
// It is scripted with the fake Claude's script format (FakeRun in fakes/claude.ts, whose
// engine it imports), and its tools really act in its cwd.
//
// Run through the shim fakes/bin/gemini (which execs node on dist/fakes/gemini.js).
//
// ARGUMENTS  -p/--prompt <text>, -o/--output-format text|json|stream-json, -y/--yolo,
//   --skip-trust, -r/--resume <id|latest>, -m/--model <m>, --approval-mode <mode>,
//   -v/--version, -h/--help; `--flag=value` too. Any other option: `Unknown argument: x`
//   and the usage on stderr, exit 1. Only headless (-p or piped stdin) runs are supported.
// TRUST  without --skip-trust (or GEMINI_CLI_TRUST_WORKSPACE=true) the folder is untrusted:
//   the real CLI's lines on stderr, nothing on stdout, exit 55.
// PROMPT  piped stdin, then "\n\n" and the -p text (either alone is the prompt); none: exit
//   42 with the real CLI's message. The real CLI waits 500 ms for the first stdin data.
// OUTPUT  stream-json: init {session_id, model: -m or "auto"}, message {role user}, then per
//   step message {role assistant, delta: true} / tool_use / tool_result, and result {status,
//   stats}. text and json print only the final text (json: {session_id, response, stats}).
// SESSIONS  per folder, as the real CLI: $HOME/.gemini/projects.json ($GEMINI_CLI_HOME
//   instead of $HOME when set) maps the cwd to a
//   project name (its base name, "-1", "-2" … when taken), the session is
//   $HOME/.gemini/tmp/<project>/chats/session-<YYYY-MM-DDTHH-MM>-<id8>.jsonl. --resume
//   looks only in the cwd's project: none there → `Error resuming session: No previous
//   sessions found for this project.`, an unknown id → `Invalid session identifier …`,
//   both on stderr, nothing on stdout, exit 42.
// FAILURES  api_error {status}: the API refused the call: `Error when talking to Gemini API
//   …` on stderr, a result with status error and `[API Error: {…}]`, exit status & 255 (400
//   → 144, 401 → 145). refuse {reason}, after the steps: quota (plain 429) / rate-limit (429 with a
//   suggested delay) / overloaded (503): the real CLI's `Attempt n failed …` lines on
//   stderr, 10 attempts 5 s to 30 s apart (FAKE_GEMINI_RETRY_MS scales the first delay),
//   then an error result; auth (401): an error result at once, exit 145.
// SCRIPT  FAKE_GEMINI_SCRIPT=/path/run.json (the fake Claude's format, its own counter);
//   FAKE_GEMINI_LOG=/path/log.jsonl: one FakeInvocation line per run. Commands of
//   reply_from_bash / text_from_command see the prompt in $FAKE_GEMINI_PROMPT (and
//   $FAKE_CLAUDE_PROMPT, so one script serves every fake). thinking and wait_for_message
//   steps show nothing (no thoughts in stream-json, no steering).
// CWD  refuses (exit 97) to run inside coven's own checkout unless FAKE_CLAUDE_ALLOW_PROJECT_CWD=1.
//
//   exit: 0 success · 1 usage error or scripted error result · 42 no input, failed resume
//         55 untrusted folder · 144/145/173/… the API's status & 255 · 0 SIGTERM (no result) · 97 script problem

import { randomUUID } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, readdirSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ALLOW_PROJECT_CWD, covenCheckoutAround, editTool, pickRun, readTool, runCommit, runShell, sleep, unmetExpectations, writeOut, writeTool, type FakeInvocation, type FakeRun, type FakeStep, type ToolOutcome } from './claude.js';
import { exitFlushed, logInvocation } from './invocation-end.js';

const version = '0.61.0';
const routerModel = 'gemini-3.5-flash-lite';
const defaultModel = 'gemini-3.8-flash';

// ====================================================================== arguments

export interface GeminiArgs {
  prompt?: string;
  outputFormat: string;
  yolo: boolean;
  skipTrust: boolean;
  resume?: string;
  model?: string;
  approvalMode?: string;
  version: boolean;
  help: boolean;
  query: string[];
}

const valueOptions: Record<string, keyof GeminiArgs> = { '-p': 'prompt', '--prompt': 'prompt', '-o': 'outputFormat', '--output-format': 'outputFormat', '-r': 'resume', '--resume': 'resume', '-m': 'model', '--model': 'model', '--approval-mode': 'approvalMode' };
const flagOptions: Record<string, keyof GeminiArgs> = { '-y': 'yolo', '--yolo': 'yolo', '--skip-trust': 'skipTrust', '-v': 'version', '--version': 'version', '-h': 'help', '--help': 'help' };
const usage = 'Usage: gemini [options] [command]\n\nGemini CLI - Defaults to interactive mode. Use -p/--prompt for non-interactive (headless) mode.\n\n(fake gemini: headless mode only; see fakes/gemini.ts)\n';

/** Parses argv the way the real CLI's yargs does, for the options above. */
export function parseGeminiArgs(argv: string[]): { kind: 'args'; args: GeminiArgs } | { kind: 'error'; message: string } {
  const args: GeminiArgs = { outputFormat: 'text', yolo: false, skipTrust: false, version: false, help: false, query: [] };
  const unknown: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      args.query.push(...argv.slice(i + 1));
      break;
    }
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const valueKey = valueOptions[name];
    if (valueKey) {
      const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
      if (value === undefined) return { kind: 'error', message: `Not enough arguments following: ${name.replace(/^-+/, '')}` };
      (args as unknown as Record<string, unknown>)[valueKey] = value;
      continue;
    }
    const flagKey = flagOptions[name];
    if (flagKey) (args as unknown as Record<string, unknown>)[flagKey] = true;
    else if (arg.startsWith('-') && arg.length > 1) unknown.push(name.replace(/^-+/, ''));
    else args.query.push(arg);
  }
  if (!['text', 'json', 'stream-json'].includes(args.outputFormat)) return { kind: 'error', message: `Invalid values:\n  Argument: output-format, Given: "${args.outputFormat}", Choices: "text", "json", "stream-json"` };
  if (unknown.length > 0) {
    const names = unknown.flatMap((u) => (u.includes('-') ? [u, u.replace(/-(\w)/g, (_, c: string) => c.toUpperCase())] : [u]));
    return { kind: 'error', message: `Unknown argument${names.length > 1 ? 's' : ''}: ${names.join(', ')}` };
  }
  return { kind: 'args', args };
}

// ====================================================================== sessions on disk

/** The CLI's own folder: $GEMINI_CLI_HOME/.gemini, else $HOME/.gemini (as the real CLI). */
export function geminiDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.GEMINI_CLI_HOME || env.HOME || homedir(), '.gemini');
}

/** The project name of a folder in projects.json (made and saved when new): its base name, made unique. */
export function projectOf(gemini: string, cwd: string): string {
  const file = join(gemini, 'projects.json');
  let projects: Record<string, string> = {};
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as { projects?: Record<string, string> };
    projects = parsed.projects ?? {};
  } catch {
    // none yet
  }
  const known = projects[cwd];
  if (known) return known;
  const base = basename(cwd).toLowerCase().replace(/[^a-z0-9._-]/g, '-') || 'project';
  const taken = new Set(Object.values(projects));
  let name = base;
  for (let n = 1; taken.has(name); n++) name = `${base}-${n}`;
  projects[cwd] = name;
  mkdirSync(gemini, { recursive: true });
  writeFileSync(file, `${JSON.stringify({ projects }, null, 2)}\n`);
  mkdirSync(join(gemini, 'tmp', name), { recursive: true });
  writeFileSync(join(gemini, 'tmp', name, '.project_root'), cwd);
  return name;
}

const minuteStamp = (d: Date): string => d.toISOString().slice(0, 16).replace(/:/g, '-');

/** The newest session file of `id` in a chats folder (an id, or `latest`), or why there is none. */
export function findSession(chats: string, wanted: string): { kind: 'found'; file: string; id: string } | { kind: 'none' } | { kind: 'invalid' } {
  const files = existsSync(chats) ? readdirSync(chats).filter((f) => /^session-.*\.jsonl$/.test(f)) : [];
  if (files.length === 0) return { kind: 'none' };
  const withIds = files
    .map((f) => ({ file: join(chats, f), id: sessionIdOf(join(chats, f)), t: statSync(join(chats, f)).mtimeMs }))
    .filter((s): s is { file: string; id: string; t: number } => s.id !== null)
    .sort((a, b) => b.t - a.t);
  const hit = wanted === 'latest' ? withIds[0] : withIds.find((s) => s.id === wanted);
  return hit ? { kind: 'found', file: hit.file, id: hit.id } : { kind: 'invalid' };
}

function sessionIdOf(file: string): string | null {
  try {
    const first = JSON.parse(readFileSync(file, 'utf8').split('\n')[0] ?? '') as { sessionId?: unknown };
    return typeof first.sessionId === 'string' ? first.sessionId : null;
  } catch {
    return null;
  }
}

// ====================================================================== the program

interface Turn {
  startedAt: number;
  roundTrips: number;
  toolCalls: number;
  /** assistant text since the last tool call */
  text: string;
  lastStepWasText: boolean;
}

class FakeGemini {
  private readonly startedAt = new Date();
  private readonly cwd = realpathSync(process.cwd());
  private readonly record: FakeInvocation;
  private args!: GeminiArgs;
  private sessionId = '';
  private sessionFile = '';
  private finished = false;
  private ignoreSigterm = false;
  private prompt = '';

  constructor(private readonly argv: string[]) {
    this.record = { argv, cwd: this.cwd, stdin: '', pid: process.pid, startedAt: this.startedAt.toISOString(), endedAt: '', exitCode: 0, sessionId: null, resumed: false, prompts: [], runs: [], messages: [], env: envSubset(), problems: [] };
    // the real CLI (observed) exits 0 on a SIGTERM, without a result
    process.on('SIGTERM', () => {
      if (!this.ignoreSigterm) this.finish(0, 'SIGTERM');
    });
    process.on('SIGINT', () => this.finish(130, 'SIGINT'));
  }

  async main(): Promise<void> {
    const parsed = parseGeminiArgs(this.argv);
    if (parsed.kind === 'error') return this.fail(`${parsed.message}\n${usage}`, 1);
    this.args = parsed.args;
    if (this.args.version) return this.print(`${version}\n`, 0);
    if (this.args.help) return this.print(usage, 0);
    const checkout = process.env[ALLOW_PROJECT_CWD] === '1' ? null : covenCheckoutAround(this.cwd);
    if (checkout) return void this.scriptProblem(`refusing to run in ${this.cwd}: it is inside the coven project's own checkout (${checkout}); a test's agent works in a temporary repository; a test that means this sets ${ALLOW_PROJECT_CWD}=1`);
    if (!process.stdout.isTTY) process.stderr.write('Warning: 256-color support not detected. Using a terminal with at least 256-color support is recommended for a better visual experience.\n');
    if (this.args.yolo) process.stderr.write('YOLO mode is enabled. All tool calls will be automatically approved.\n');
    if (!this.args.skipTrust && process.env.GEMINI_CLI_TRUST_WORKSPACE !== 'true') return this.untrusted();
    if (this.args.yolo) process.stderr.write('YOLO mode is enabled. All tool calls will be automatically approved.\n');

    const gemini = geminiDir();
    const project = projectOf(gemini, this.cwd);
    const chats = join(gemini, 'tmp', project, 'chats');
    if (this.args.resume !== undefined) {
      const found = findSession(chats, this.args.resume);
      if (found.kind === 'none') return this.fail('Error resuming session: No previous sessions found for this project.', 42);
      if (found.kind === 'invalid') return this.fail(`Error resuming session: Invalid session identifier "${this.args.resume}".\n  Searched for sessions in ${chats}.\n  Use --list-sessions to see available sessions, then use --resume {number}, --resume {uuid}, or --resume latest.`, 42);
      this.openSession(chats, found.id, found.file);
    } else this.openSession(chats, randomUUID(), null);

    const stdin = await readPipedStdin();
    this.record.stdin = stdin.slice(0, 1 << 20);
    const flag = [this.args.prompt, ...this.args.query].filter((p) => p !== undefined && p !== '').join(' ');
    this.prompt = stdin && flag ? `${stdin}\n\n${flag}` : stdin || flag;
    if (!this.prompt) return this.fail('No input provided via stdin. Input can be provided by piping data into gemini or using the --prompt option.', 42);
    await this.turn();
  }

  // ------------------------------------------------------------------ sessions

  private openSession(chats: string, id: string, from: string | null): void {
    this.sessionId = id;
    this.record.sessionId = id;
    this.record.resumed = from !== null;
    mkdirSync(chats, { recursive: true });
    // each run writes its own file (a resume starts from a copy of the history)
    this.sessionFile = join(chats, `session-${minuteStamp(this.startedAt)}-${id.slice(0, 8)}.jsonl`);
    if (from !== null && from !== this.sessionFile) writeFileSync(this.sessionFile, readFileSync(from));
    if (from === null) this.transcript({ sessionId: id, projectHash: 'fake', startTime: this.startedAt.toISOString(), lastUpdated: this.startedAt.toISOString(), kind: 'main' });
  }

  private transcript(line: Record<string, unknown>): void {
    appendFileSync(this.sessionFile, `${JSON.stringify(line)}\n`);
  }

  private message(type: 'user' | 'gemini', content: unknown, extra: Record<string, unknown> = {}): void {
    this.transcript({ id: randomUUID(), timestamp: new Date().toISOString(), type, content, ...extra });
  }

  // ------------------------------------------------------------------ the turn

  private async turn(): Promise<void> {
    const resumed = this.record.resumed;
    const history = existsSync(this.sessionFile) ? readFileSync(this.sessionFile, 'utf8') : '';
    this.record.prompts.push(this.prompt);
    this.emit({ type: 'init', timestamp: now(), session_id: this.sessionId, model: this.args.model ?? 'auto' });
    this.emit({ type: 'message', timestamp: now(), role: 'user', content: this.prompt });
    this.message('user', [{ text: this.prompt }]);

    const picked = pickRun({ prompt: this.prompt, resumed, cwd: this.cwd }, 'FAKE_GEMINI_SCRIPT');
    if (picked.kind === 'problem') return void this.scriptProblem(picked.message);
    this.record.runs.push(picked.index);
    const run = picked.run;
    const failed = unmetExpectations(run, { prompt: this.prompt, history, resumed, cwd: this.cwd, argv: this.argv, permissionMode: this.args.yolo ? 'yolo' : (this.args.approvalMode ?? 'default'), systemPrompt: this.prompt });
    if (failed.length > 0) return void this.scriptProblem(`expectation failed (run #${picked.index}): ${failed.join('; ')}`);
    this.ignoreSigterm = run.ignoreSigterm === true;

    const turn: Turn = { startedAt: Date.now(), roundTrips: 1, toolCalls: 0, text: '', lastStepWasText: false };
    if (run.crashAfterStep === 0) return this.crash(run);
    const steps = run.steps ?? [];
    for (let i = 0; i < steps.length; i++) {
      if (run.stepDelayMs) await sleep(run.stepDelayMs);
      await this.step(turn, steps[i]!);
      if (run.crashAfterStep === i + 1) return this.crash(run);
    }
    // the vendor refuses the next model call (after the steps' tool calls, if any)
    if (run.refuse) return this.refuse(run, turn);
    if (run.hang === true || run.hang === 'before-result') await new Promise<never>(() => setInterval(() => {}, 1 << 30));
    if (run.api_error) return this.apiError(turn, run, run.api_error.status, run.api_error.message ?? `mock error ${run.api_error.status}`);
    const scripted = run.result ?? {};
    const finalText = scripted.text ?? (turn.text || 'Done.');
    if (!(turn.lastStepWasText && turn.text === finalText)) this.say(turn, finalText);
    const isError = scripted.is_error === true || (scripted.subtype !== undefined && scripted.subtype !== 'success');
    if (isError) {
      const message = scripted.errors?.[0] ?? `fake gemini: scripted ${scripted.subtype ?? 'error'}`;
      this.emitResult(turn, { status: 'error', error: { type: scripted.subtype ?? 'unknown', message } });
    } else this.emitResult(turn, { status: 'success' });
    if (run.hang === 'after-result') return void setInterval(() => {}, 1 << 30);
    this.finish(run.exit ?? (isError ? 1 : 0));
  }

  private async step(turn: Turn, step: FakeStep): Promise<void> {
    turn.lastStepWasText = false;
    if ('text' in step) return this.say(turn, step.text);
    if ('bash' in step) return void (await this.shellTool(turn, step.bash, step.description ?? 'Run a command'));
    if ('reply_from_bash' in step) {
      const out = await this.shellTool(turn, step.reply_from_bash, 'Look before answering', this.promptEnv());
      return this.say(turn, out.trim() || '(the command printed nothing)');
    }
    if ('text_from_command' in step) {
      const outcome = await runShell(step.text_from_command, this.cwd, this.promptEnv());
      const text = shellText(outcome).output.trim();
      return this.say(turn, outcome.isError || !text ? `(text_from_command failed: ${outcome.content.slice(0, 200)})` : text);
    }
    if ('commit' in step) {
      const command = `git add -A && git commit -m ${shellWord(step.commit)}`;
      return void (await this.tool(turn, 'run_shell_command', { command, description: 'Commit the changes' }, async () => shellResult(await runCommit(step.commit, this.cwd))));
    }
    // the parameters name a file as the model wrote it; the CLI resolves it against the cwd
    if ('write' in step) {
      const file = this.abs(step.write.path);
      return void (await this.tool(turn, 'write_file', { file_path: step.write.path, content: step.write.content }, async () => (writeTool(file, step.write.content), { status: 'success' })));
    }
    if ('edit' in step) {
      const file = this.abs(step.edit.path);
      const params = { file_path: step.edit.path, old_string: step.edit.old, new_string: step.edit.new, instruction: 'Apply the change', ...(step.edit.all ? { allow_multiple: true } : {}) };
      return void (await this.tool(turn, 'replace', params, async () => editResult(file, editTool(file, step.edit.old, step.edit.new, step.edit.all === true))));
    }
    if ('read' in step) {
      const file = this.abs(step.read);
      return void (await this.tool(turn, 'read_file', { file_path: step.read }, async () => readResult(file, readTool(file))));
    }
    if ('sleep_ms' in step) return sleep(step.sleep_ms);
    if ('wait_for_message' in step) return sleep(Math.min(step.wait_for_message, 50));
    if ('wait_for_file' in step) {
      const deadline = Date.now() + (step.timeout_ms ?? 60_000);
      while (!existsSync(step.wait_for_file) && Date.now() < deadline) await sleep(20);
      return;
    }
    if ('api_retry' in step) {
      const status = step.api_retry.status ?? 429;
      for (let n = 1; n <= (step.api_retry.attempts ?? 1); n++) process.stderr.write(retryLines(status, n));
      return;
    }
    if ('raw' in step) return writeOut(step.raw);
    if ('noise' in step) {
      const padding = 'x'.repeat(Math.max(0, step.noise.bytes - 100));
      for (let i = 0; i < step.noise.events; i++) await writeOut(`${JSON.stringify({ type: 'fake_noise', timestamp: now(), n: i, padding })}\n`);
    }
    // thinking: Gemini CLI prints no thoughts in stream-json
  }

  private say(turn: Turn, text: string): void {
    // the API streams text in pieces: the CLI prints each as a delta
    for (let i = 0; i < text.length || i === 0; i += 80) this.emit({ type: 'message', timestamp: now(), role: 'assistant', content: text.slice(i, i + 80), delta: true });
    this.message('gemini', text, { thoughts: [], tokens: tokensOf(1), model: this.model() });
    turn.text += text;
    turn.lastStepWasText = true;
  }

  private async shellTool(turn: Turn, command: string, description: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
    let output = '';
    await this.tool(turn, 'run_shell_command', { command, description }, async () => {
      const result = shellResult(await runShell(command, this.cwd, env));
      output = result.output ?? '';
      return result;
    });
    return output;
  }

  private async tool(turn: Turn, name: string, parameters: Record<string, unknown>, perform: () => Promise<ToolResult>): Promise<void> {
    const toolId = `${name}__${name}_${Date.now()}_0`;
    turn.text = '';
    turn.toolCalls++;
    turn.roundTrips++;
    this.emit({ type: 'tool_use', timestamp: now(), tool_name: name, tool_id: toolId, parameters });
    this.message('gemini', '', { thoughts: [], tokens: tokensOf(1), model: this.model(), toolCalls: [{ id: toolId, name, args: parameters }] });
    const r = await perform();
    this.emit({ type: 'tool_result', timestamp: now(), tool_id: toolId, status: r.status, ...(r.output !== undefined ? { output: r.output } : {}), ...(r.error ? { error: r.error } : {}) });
    this.message('user', [{ functionResponse: { id: toolId, name, response: r.error ? { error: r.error.message } : { output: r.output ?? '' } } }]);
  }

  // ------------------------------------------------------------------ failures

  private apiError(turn: Turn, run: FakeRun, status: number, message: string): void {
    const body = apiErrorBody(status, message);
    process.stderr.write(`Error when talking to Gemini API Full report available at: /tmp/gemini-client-error-Turn.run-sendMessageStream-${now().replace(/[:.]/g, '-')}.json _ApiError: ${body}\n${stackLines(status)}`);
    this.emitResult(turn, { status: 'error', error: { type: 'unknown', message: `[API Error: ${body}]` } }, true);
    this.finish(run.exit ?? status & 255);
  }

  /** The vendor refuses every call of this turn: what the real CLI prints, retries included. */
  private async refuse(run: FakeRun, turn: Turn): Promise<void> {
    const reason = run.refuse!.reason;
    if (reason === 'auth') return this.apiError(turn, run, 401, 'API key not valid. Please pass a valid API key.');
    let delay = Number(process.env.FAKE_GEMINI_RETRY_MS) || 5000;
    for (let attempt = 1; attempt <= 10; attempt++) {
      process.stderr.write(retryLines(reason, attempt, delay));
      if (attempt === 10) break;
      await sleep(delay);
      delay = Math.min(delay * 2, 30_000);
    }
    const status = reason === 'overloaded' ? 503 : 429;
    const body = apiErrorBody(status, refusalMessages[reason]);
    this.emitResult(turn, { status: 'error', error: { type: 'unknown', message: `[API Error: ${body}]` } }, true);
    this.finish(run.exit ?? status & 255);
  }

  private untrusted(): void {
    const overridden = 'Approval mode overridden to "default" because the current folder is not trusted.\n';
    if (this.args.yolo) process.stderr.write(`${overridden}YOLO mode is enabled. All tool calls will be automatically approved.\n${overridden}`);
    this.fail('Gemini CLI is not running in a trusted directory. To proceed, either use `--skip-trust`, set the `GEMINI_CLI_TRUST_WORKSPACE=true` environment variable, or trust this directory in interactive mode. For more details, see https://geminicli.com/docs/cli/trusted-folders/#headless-and-automated-environments', 55);
  }

  // ------------------------------------------------------------------ output

  private emit(event: Record<string, unknown>): void {
    if (this.finished || this.args.outputFormat !== 'stream-json') return;
    process.stdout.write(`${JSON.stringify(event)}\n`);
  }

  private emitResult(turn: Turn, outcome: { status: string; error?: { type: string; message: string } }, noCall = false): void {
    const rt = noCall ? 0 : turn.roundTrips;
    const stats = { ...tokensStats(rt), duration_ms: Date.now() - turn.startedAt, tool_calls: turn.toolCalls, models: this.modelStats(rt) };
    if (this.args.outputFormat === 'stream-json') this.emit({ type: 'result', timestamp: now(), ...outcome, stats });
    else if (this.args.outputFormat === 'json') process.stdout.write(`${JSON.stringify({ session_id: this.sessionId, ...(outcome.error ? { error: outcome.error } : { response: turn.text }), stats }, null, 2)}\n`);
    else if (outcome.error) process.stderr.write(`${outcome.error.message}\n`);
    else process.stdout.write(`${turn.text}\n`);
  }

  private model(): string {
    return this.args.model ?? defaultModel;
  }

  private modelStats(rt: number): Record<string, unknown> {
    const main = { ...tokensStats(rt) };
    // "auto" asks a small model to route first (one call, counted even when the main call fails)
    return this.args.model === undefined ? { [routerModel]: tokensStats(1, 190, 22), [this.model()]: main } : { [this.model()]: main };
  }

  private promptEnv(): NodeJS.ProcessEnv {
    return { ...process.env, FAKE_GEMINI_PROMPT: this.prompt, FAKE_CLAUDE_PROMPT: this.prompt };
  }

  private abs(path: string): string {
    return isAbsolute(path) ? path : join(this.cwd, path);
  }

  // ------------------------------------------------------------------ endings

  private crash(run: FakeRun): void {
    process.stderr.write('fake gemini: crashing as scripted (crashAfterStep)\n');
    this.finish(run.exit ?? 1);
  }

  private scriptProblem(message: string): false {
    this.record.problems.push(message);
    process.stderr.write(`fake gemini: ${message}\n`);
    this.finish(97);
    return false;
  }

  private fail(message: string, code: number): void {
    process.stderr.write(`${message}\n`);
    this.finish(code);
  }

  private print(text: string, code: number): void {
    process.stdout.write(text);
    this.finish(code);
  }

  /** Logs the invocation, flushes stdout and exits. */
  finish(code: number, signal?: string): void {
    if (this.finished) return;
    this.finished = true;
    this.record.endedAt = new Date().toISOString();
    this.record.exitCode = code;
    if (signal) this.record.signal = signal;
    logInvocation('gemini', 'FAKE_GEMINI_LOG', this.record);
    exitFlushed(code);
  }
}

// ====================================================================== tools, as the CLI reports them

interface ToolResult {
  status: 'success' | 'error';
  output?: string;
  error?: { type: string; message: string };
}

/** A shell command's merged output and exit code, from the fake Claude's Bash outcome. */
function shellText(o: ToolOutcome): { output: string; code: number } {
  if (!o.isError) {
    const r = o.result as { stdout?: unknown };
    return { output: typeof r === 'object' && r !== null && typeof r.stdout === 'string' ? r.stdout : '', code: 0 };
  }
  const m = /^Exit code (\d+)\n?([\s\S]*)$/.exec(o.content);
  return { output: m ? (m[2] ?? '') : o.content, code: m ? Number(m[1]) : 1 };
}

/** run_shell_command: a command that fails is still a success (only the model sees its exit code). */
function shellResult(o: ToolOutcome): ToolResult {
  return { status: 'success', output: shellText(o).output };
}

function editResult(file: string, o: ToolOutcome): ToolResult {
  if (!o.isError) return { status: 'success' };
  if (/does not exist/.test(o.content)) return { status: 'error', output: `Error: File not found: ${file}`, error: { type: 'file_not_found', message: `File not found: ${file}` } };
  return {
    status: 'error',
    output: `Error: Could not find an exact match for old_string in '${file}'.`,
    error: { type: 'edit_no_occurrence_found', message: `Could not find an exact match for 'old_string' in '${file}'. If previous edits modified the file or you are modifying lines outside your recent read window, please use ReadFile to inspect the target lines before retrying with an exact 'old_string'.` },
  };
}

function readResult(file: string, o: ToolOutcome): ToolResult {
  return o.isError ? { status: 'error', output: 'File not found.', error: { type: 'file_not_found', message: `File not found: ${file}` } } : { status: 'success', output: '' };
}

// ====================================================================== small pieces

const refusalMessages: Record<'quota' | 'rate-limit' | 'overloaded', string> = {
  quota: 'You exceeded your current quota, please check your plan and billing details.',
  'rate-limit': 'Resource has been exhausted (e.g. check quota).',
  overloaded: 'The model is overloaded. Please try again later.',
};

const statusWords: Record<number, string> = { 400: 'INVALID_ARGUMENT', 401: 'UNAUTHENTICATED', 403: 'PERMISSION_DENIED', 404: 'NOT_FOUND', 429: 'RESOURCE_EXHAUSTED', 500: 'INTERNAL', 503: 'UNAVAILABLE' };

function apiErrorBody(status: number, message: string): string {
  return JSON.stringify({ error: { code: status, status: statusWords[status] ?? 'UNKNOWN', message } });
}

function stackLines(status: number): string {
  return `    at throwErrorIfNotOK (file:///fake/gemini-cli/bundle/chunk.js:1:1)\n    at async retryWithBackoff (file:///fake/gemini-cli/bundle/chunk.js:2:1) {\n  status: ${status}\n}\n`;
}

/** What the real CLI prints on stderr for one failed attempt it will retry: a refusal's, or any HTTP status's. */
export function retryLines(reason: 'quota' | 'rate-limit' | 'overloaded' | number, attempt: number, delayMs = 5000): string {
  if (reason === 'rate-limit') return `Attempt ${attempt} failed: ${refusalMessages[reason]}\nSuggested retry after 2s.. Retrying after ${delayMs}ms...\n`;
  const status = typeof reason === 'number' ? reason : reason === 'overloaded' ? 503 : 429;
  const message = typeof reason === 'number' ? (status === 429 ? refusalMessages.quota : status === 503 ? refusalMessages.overloaded : `mock error ${status}`) : refusalMessages[reason];
  return `Attempt ${attempt} failed with status ${status}. Retrying with backoff... _ApiError: ${apiErrorBody(status, message)}\n${stackLines(status)}`;
}

function tokensStats(rt: number, input = 300, output = 30): Record<string, number> {
  return { total_tokens: rt * (input + output), input_tokens: rt * input, output_tokens: rt * output, cached: 0, input: rt * input };
}

function tokensOf(rt: number): Record<string, number> {
  return { input: rt * 300, output: rt * 30, cached: 0, thoughts: 0, tool: 0, total: rt * 330 };
}

const now = (): string => new Date().toISOString();

function shellWord(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Piped stdin, as the real CLI reads it: all of it, or '' when nothing came within 500 ms (or a TTY). */
function readPipedStdin(): Promise<string> {
  if (process.stdin.isTTY) return Promise.resolve('');
  return new Promise((done) => {
    let data = '';
    const timer = setTimeout(() => finish(), 500);
    const finish = (): void => {
      clearTimeout(timer);
      process.stdin.removeAllListeners('data');
      process.stdin.pause();
      done(data);
    };
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (d: string) => {
      clearTimeout(timer);
      data += d;
    });
    process.stdin.on('end', finish);
    process.stdin.on('error', finish);
  });
}

function envSubset(): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const k of ['HOME', 'GEMINI_CLI_HOME', 'PWD', 'GEMINI_API_KEY', 'GOOGLE_GEMINI_BASE_URL', 'GEMINI_CLI_TRUST_WORKSPACE', 'GIT_DIR', 'GIT_WORK_TREE', 'GIT_INDEX_FILE']) out[k] = process.env[k] ?? null;
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
  const fake = new FakeGemini(process.argv.slice(2));
  fake.main().catch((err: unknown) => {
    process.stderr.write(`fake gemini: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    fake.finish(70);
  });
}
