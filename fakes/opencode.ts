#!/usr/bin/env node
// fake-opencode — a faithful stand-in for `opencode run --format json` (opencode-ai
// 1.18.33) in tests. Its events are those of the captures in
// test/fixtures/agent-cli-samples/opencode/ (same types, fields, order, timestamps, part
// ids); it is scripted like the fake Claude (fakes/claude.ts: FakeRun, FakeStep, the same
// engine) instead of calling a model, and its tools really act (bash runs, commits are made).
//
// Run through the shim fakes/bin/opencode (a node script: a /bin/sh shim would reset $PWD).
//
// ARGUMENTS  `run` only: --format json|default, --session/-s ID, --continue/-c,
//   --print-logs, --log-level L, --model/-m, --agent, --dir, --title, --auto, --pure,
//   --thinking, --fork; words after the options are the message; any other option: the
//   usage on stderr and exit 1, as the real CLI (which names no option). As in the real CLI, a
//   message word with spaces reaches the model wrapped in literal quotes; stdin (not a
//   TTY) is added to the message as it is.
// DIRECTORY  --dir, else $PWD, else the process's cwd: like the real CLI, a caller that
//   leaves an inherited PWD naming another checkout gets its work done there.
// SESSIONS  one file per session, <data>/opencode/fake-sessions/<ses_…>.json, <data> =
//   $XDG_DATA_HOME or $HOME/.local/share (the real CLI keeps them in opencode.db there).
//   --session with an unknown id: `Error: Session not found` on stderr (colours as the
//   real one), exit 1, nothing on stdout. --session from another directory: as observed,
//   the real CLI works in the session's own directory, prints no event and never exits;
//   so does the fake (a runner that resumes from the wrong worktree times out).
// STREAM  step_start · text · tool_use · step_finish (reason tool-calls after a tool call,
//   stop at the end; 111 input and 22 output tokens, cost 0, per model call) · error.
//   There is no result event. A scripted error result is an `error` event, exit 1.
// REFUSALS  FakeRun.refuse (the model call after the run's steps is refused; with no
//   steps, the first): what the real CLI does when its API answers 429 (quota, rate
//   limit), 401 or 503: it retries (not a 401) at the observed intervals (2.2, 4.7, 9.5, 17,
//   33 s; every 20 s for the rate limit, whose answer says retry-after: 20) printing nothing on stdout; with --print-logs each failed attempt is one
//   `level=ERROR … message="stream error" … error.error="AI_APICallError: <words>"` line on
//   stderr; at the end one `error` event with the status, exit 1.
// SCRIPT  FAKE_OPENCODE_SCRIPT (as FAKE_CLAUDE_SCRIPT); LOG FAKE_OPENCODE_LOG (FakeInvocation).
//   Steps: text, bash, reply_from_bash, text_from_command, write, edit, read, commit,
//   sleep_ms, wait_for_file, api_retry, raw, noise; thinking prints nothing (opencode shows
//   reasoning only with --thinking); wait_for_message is a script problem (no steering).
//   The commands see the prompt in $FAKE_OPENCODE_PROMPT (and $FAKE_CLAUDE_PROMPT).
//
//   exit: 0 done · 1 error event, usage error, unknown session · SIGTERM: killed by it · 97 script problem

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ALLOW_PROJECT_CWD, covenCheckoutAround, editTool, pickRun, readTool, shellQuote, sleep, unmetExpectations, writeOut, writeTool, type FakeInvocation, type FakeRun, type FakeStep } from './claude.js';
import { exitFlushed, logInvocation } from './invocation-end.js';

export const SCRIPT_ENV = 'FAKE_OPENCODE_SCRIPT';
export const LOG_ENV = 'FAKE_OPENCODE_LOG';

/** The seconds between the real CLI's attempts at a 429 or 503 (observed). */
export const retryDelaysMs = [2200, 4700, 9500, 17100, 33000];
const statusOf = { quota: 429, 'rate-limit': 429, auth: 401, overloaded: 503 } as const;
const wordsOf = {
  quota: 'You exceeded your current quota, please check your plan and billing details.',
  'rate-limit': 'Rate limit reached for requests. Please try again in 20s.',
  auth: 'Incorrect API key provided.',
  overloaded: 'The server is overloaded. Please try again later.',
} as const;

// ---------------------------------------------------------------- arguments

interface Args {
  format: string;
  session?: string;
  continue: boolean;
  printLogs: boolean;
  logLevel: string;
  dir?: string;
  auto: boolean;
  message: string[];
}

const valued = new Map([['--format', 'format'], ['--session', 'session'], ['-s', 'session'], ['--log-level', 'logLevel'], ['--dir', 'dir'], ['--model', ''], ['-m', ''], ['--agent', ''], ['--title', ''], ['--variant', ''], ['--command', ''], ['--port', ''], ['--attach', ''], ['--file', ''], ['-f', ''], ['--password', ''], ['-p', ''], ['--username', ''], ['-u', '']]);
const flags = new Map([['--print-logs', 'printLogs'], ['--continue', 'continue'], ['-c', 'continue'], ['--auto', 'auto'], ['--pure', ''], ['--thinking', ''], ['--fork', ''], ['--share', ''], ['--interactive', ''], ['-i', '']]);

/** What the real CLI prints (on stderr, exit 1) for an option it does not know: its usage, with no word about the option. */
export const usage = `opencode run [message..]

run opencode with a message

Positionals:
  message  message to send                                                     [array] [default: []]

Options:
  -h, --help         show help                                                             [boolean]
  -v, --version      show version number                                                   [boolean]
      --print-logs   print logs to stderr                                                  [boolean]
      --log-level    log level                  [string] [choices: "DEBUG", "INFO", "WARN", "ERROR"]
      --pure         run without external plugins                                          [boolean]
      --command      the command to run, use message for args                               [string]
  -c, --continue     continue the last session                                             [boolean]
  -s, --session      session id to continue                                                 [string]
      --fork         fork the session before continuing (requires --continue or --session) [boolean]
      --share        share the session                                                     [boolean]
  -m, --model        model to use in the format of provider/model                           [string]
      --agent        agent to use                                                           [string]
      --format       format: default (formatted) or json (raw JSON events)
                                          [string] [choices: "default", "json"] [default: "default"]
  -f, --file         file(s) to attach to message                                            [array]
      --title        title for the session (uses truncated prompt if no value provided)     [string]
      --attach       attach to a running opencode server (e.g., http://localhost:4096)      [string]
  -p, --password     basic auth password (defaults to OPENCODE_SERVER_PASSWORD)             [string]
  -u, --username     basic auth username (defaults to OPENCODE_SERVER_USERNAME or 'opencode')
                                                                                            [string]
      --dir          directory to run in, path on remote server if attaching                [string]
      --port         port for the local server (defaults to random port if no value provided)
                                                                                            [number]
      --variant      model variant (provider-specific reasoning effort, e.g., high, max, minimal)
                                                                                            [string]
      --thinking     show thinking blocks                                                  [boolean]
  -i, --interactive  run in direct interactive split-footer mode          [boolean] [default: false]
      --auto         auto-approve permissions that are not explicitly denied (dangerous!)
                                                                          [boolean] [default: false]`;

export function parseOpencodeArgs(argv: string[]): Args | string {
  if (argv[0] !== 'run') return `fake opencode: only \`opencode run\` is supported (got ${JSON.stringify(argv[0] ?? '')})`;
  const a: Args = { format: 'default', continue: false, printLogs: false, logLevel: 'INFO', auto: false, message: [] };
  const set = (key: string, value: string | boolean): void => void (key && ((a as unknown as Record<string, unknown>)[key] = value));
  for (let i = 1; i < argv.length; i++) {
    const arg = argv[i]!;
    const [name, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    if (valued.has(name)) {
      const value = inline ?? argv[++i];
      if (value === undefined) return `Not enough arguments following: ${name.replace(/^-+/, '')}`;
      set(valued.get(name)!, value);
    } else if (flags.has(name)) set(flags.get(name)!, true);
    else if (arg.startsWith('-') && arg.length > 1) return usage;
    else a.message.push(arg);
  }
  if (a.format !== 'json' && a.format !== 'default') return `Invalid values:\n  Argument: format, Given: "${a.format}", Choices: "default", "json"`;
  return a;
}

// ---------------------------------------------------------------- ids and sessions

const base62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
/** `ses_…`, `msg_…`, `prt_…`: 12 hex digits of time, then 14 letters and digits, as the real ids */
function newId(prefix: string): string {
  const tail = [...randomBytes(14)].map((b) => base62[b % 62]).join('');
  const time = Date.now() * 4096 + Math.floor(Math.random() * 4096);
  // session ids count down (newest first), message and part ids up
  const head = prefix === 'ses' ? 0xffffffffffff - (time % 0x1000000000000) : time % 0x1000000000000;
  return `${prefix}_${head.toString(16).padStart(12, '0')}${tail}`;
}

interface SessionFile {
  id: string;
  directory: string;
  turns: { prompt: string; texts: string[]; tools: string[] }[];
}

function sessionsDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_DATA_HOME || join(env.HOME || homedir(), '.local', 'share'), 'opencode', 'fake-sessions');
}

function realDir(dir: string): string {
  try {
    return realpathSync(dir);
  } catch {
    return dir;
  }
}

// ---------------------------------------------------------------- the program

class FakeOpencode {
  private readonly record: FakeInvocation;
  private args!: Args;
  private dir = process.cwd();
  private session!: SessionFile;
  private sessionFile = '';
  private messageId = '';
  private stepOpen = false;
  private snapshot = randomBytes(20).toString('hex');
  private prompt = '';
  private texts: string[] = [];
  private tools: string[] = [];
  private lastText: string | null = null;
  private silent = false;
  private finished = false;
  private ignoreSigterm = false;

  constructor(private readonly argv: string[]) {
    this.record = { argv, cwd: '', stdin: '', pid: process.pid, startedAt: new Date().toISOString(), endedAt: '', exitCode: 0, sessionId: null, resumed: false, prompts: [], runs: [], messages: [], env: envSubset(), problems: [] };
    process.on('SIGTERM', () => {
      if (this.ignoreSigterm) return;
      this.finish(143, 'SIGTERM');
    });
  }

  async main(): Promise<void> {
    const parsed = parseOpencodeArgs(this.argv);
    if (typeof parsed === 'string') return this.fail(parsed === usage ? usage : `${parsed}\n`);
    this.args = parsed;
    this.dir = resolvePath(parsed.dir ?? (process.env.PWD && existsSync(process.env.PWD) ? process.env.PWD : process.cwd()));
    this.record.cwd = this.dir;
    const checkout = process.env[ALLOW_PROJECT_CWD] === '1' ? null : covenCheckoutAround(realDir(this.dir));
    if (checkout) return this.scriptProblem(`refusing to run in ${this.dir}: it is inside the coven project's own checkout (${checkout}); a test's agent works in a temporary repository (or set ${ALLOW_PROJECT_CWD}=1)`);
    const stdin = await readStdin();
    this.record.stdin = stdin;
    const words = parsed.message.map((w) => (/\s/.test(w) ? `"${w}"` : w)).join(' ');
    this.prompt = [words, stdin].filter(Boolean).join('\n');
    if (!this.prompt) return this.fail('\x1b[91m\x1b[1mError: \x1b[0mYou must provide a message or a command\n');
    if (!this.openSession()) return;
    this.record.prompts.push(this.prompt);
    const history = JSON.stringify(this.session.turns);
    const picked = pickRun({ prompt: this.prompt, resumed: this.record.resumed, cwd: this.dir }, SCRIPT_ENV);
    if (picked.kind === 'problem') return this.scriptProblem(picked.message);
    this.record.runs.push(picked.index);
    const run = picked.run;
    const failed = unmetExpectations(run, { prompt: this.prompt, resumed: this.record.resumed, cwd: this.dir, history, argv: this.argv, permissionMode: parsed.auto ? 'bypassPermissions' : 'default', systemPrompt: this.prompt });
    if (failed.length > 0) return this.scriptProblem(`expectation failed (run #${picked.index}): ${failed.join('; ')}`);
    this.ignoreSigterm = run.ignoreSigterm === true;
    await this.turn(run);
  }

  /** Opens (or finds) the session; false when the process ends here. */
  private openSession(): boolean {
    const dir = sessionsDir();
    const here = realDir(this.dir);
    let id = this.args.session;
    if (!id && this.args.continue && existsSync(dir)) {
      const mine = readdirSync(dir)
        .filter((f) => f.endsWith('.json'))
        .map((f) => ({ f, t: statSync(join(dir, f)).mtimeMs, s: JSON.parse(readFileSync(join(dir, f), 'utf8')) as SessionFile }))
        .filter((x) => realDir(x.s.directory) === here)
        .sort((x, y) => y.t - x.t)[0];
      id = mine?.s.id;
    }
    if (id) {
      this.sessionFile = join(dir, `${id.replace(/[^A-Za-z0-9_]/g, '')}.json`);
      if (!existsSync(this.sessionFile)) {
        process.stderr.write('\x1b[91m\x1b[1mError: \x1b[0mSession not found\n');
        this.finish(1);
        return false;
      }
      this.session = JSON.parse(readFileSync(this.sessionFile, 'utf8')) as SessionFile;
      this.record.resumed = true;
      if (realDir(this.session.directory) !== here) {
        // as observed: the work happens in the session's own directory, unseen, and the process never ends
        this.dir = this.session.directory;
        this.silent = true;
      }
    } else {
      this.session = { id: newId('ses'), directory: this.dir, turns: [] };
      this.sessionFile = join(dir, `${this.session.id}.json`);
    }
    this.record.sessionId = this.session.id;
    return true;
  }

  private async turn(run: FakeRun): Promise<void> {
    if (run.refuse && (run.steps ?? []).length === 0) return this.refuse(run.refuse.reason);
    if (run.api_error) return this.failApi(run.api_error.status, run.api_error.message ?? `mock error ${run.api_error.status}`, []);
    const steps = run.steps ?? [];
    for (let i = 0; i < steps.length; i++) {
      if (run.stepDelayMs) await sleep(run.stepDelayMs);
      const problem = await this.step(steps[i]!);
      if (problem) return this.scriptProblem(problem);
      if (run.crashAfterStep === i + 1) return this.crash(run);
    }
    if (run.crashAfterStep === 0) return this.crash(run);
    if (run.refuse) {
      // the model call after the steps is refused (what the steps did stays); a step still
      // open (text last) was a call that asked for more
      this.closeStep('tool-calls');
      return this.refuse(run.refuse.reason);
    }
    if (run.hang === true || run.hang === 'before-result') return this.hang();
    const scripted = run.result ?? {};
    if ((scripted.subtype && scripted.subtype !== 'success') || scripted.is_error) {
      this.closeStep('stop');
      this.save();
      this.errorEvent({ name: 'UnknownError', data: { message: (scripted.errors ?? [`fake opencode: scripted ${scripted.subtype ?? 'error'}`]).join('; ') } });
      return this.finish(run.exit ?? 1);
    }
    const finalText = scripted.text ?? this.lastText ?? 'Done.';
    if (!this.stepOpen || this.lastText !== finalText) {
      this.openStep();
      this.text(finalText);
    }
    this.closeStep('stop');
    this.save();
    if (run.hang === 'after-result') return this.hang();
    this.finish(run.exit ?? 0);
  }

  /** Runs one step; a script problem's message, or null. */
  private async step(step: FakeStep): Promise<string | null> {
    if ('text' in step) {
      this.openStep();
      this.text(step.text);
    } else if ('bash' in step) await this.bash(step.bash, step.description ?? 'Run a command');
    else if ('commit' in step) await this.bash(`git add -A && git commit -m ${shellQuote(step.commit)}`, 'Commit the changes');
    else if ('reply_from_bash' in step) {
      const out = await this.bash(step.reply_from_bash, 'Run a command');
      this.openStep();
      this.text(out.output.replace(/\s+$/, ''));
    } else if ('text_from_command' in step) {
      const out = await shell(step.text_from_command, this.dir, this.prompt);
      this.openStep();
      this.text(out.output.replace(/\s+$/, ''));
    } else if ('write' in step) this.fileTool('write', { filePath: this.abs(step.write.path), content: step.write.content }, () => writeTool(this.abs(step.write.path), step.write.content), 'Wrote file successfully.');
    else if ('edit' in step) this.fileTool('edit', { filePath: this.abs(step.edit.path), oldString: step.edit.old, newString: step.edit.new, replaceAll: step.edit.all ?? false }, () => editTool(this.abs(step.edit.path), step.edit.old, step.edit.new, step.edit.all ?? false), 'Edit applied successfully.');
    else if ('read' in step) this.fileTool('read', { filePath: this.abs(step.read) }, () => readTool(this.abs(step.read)), null);
    else if ('sleep_ms' in step) await sleep(step.sleep_ms);
    else if ('wait_for_file' in step) await waitForFile(this.abs(step.wait_for_file), step.timeout_ms ?? 60_000);
    else if ('api_retry' in step) await this.retries(step.api_retry.attempts ?? 1, step.api_retry.status ?? 503);
    else if ('raw' in step) await this.out(step.raw);
    else if ('noise' in step) for (let k = 0; k < step.noise.events; k++) await this.out(`${JSON.stringify({ type: 'fake_noise', timestamp: Date.now(), sessionID: this.session.id, pad: 'x'.repeat(Math.max(0, step.noise.bytes - 80)) })}\n`);
    else if ('wait_for_message' in step) return 'wait_for_message: opencode takes no messages while a session runs';
    return null; // thinking: opencode prints reasoning only with --thinking
  }

  // ------------------------------------------------------------ tools

  private async bash(command: string, description: string): Promise<{ output: string; exit: number }> {
    this.openStep();
    const start = Date.now();
    const r = await shell(command, this.dir, this.prompt);
    const output = r.output || '(no output)';
    this.toolUse('bash', { command, description }, { status: 'completed', input: { command, description }, output, metadata: { output, exit: r.exit, truncated: false }, title: command, time: { start, end: Date.now() } });
    this.closeStep('tool-calls');
    return r;
  }

  private fileTool(tool: string, input: Record<string, unknown>, perform: () => { content: string; isError: boolean }, said: string | null): void {
    this.openStep();
    const start = Date.now();
    const r = perform();
    const title = String(input.filePath);
    const state = r.isError ? { status: 'error', input, error: `Error: ${r.content.replace(/<\/?tool_use_error>/g, '')}`, time: { start, end: Date.now() } } : { status: 'completed', input, output: said ?? r.content, metadata: {}, title, time: { start, end: Date.now() } };
    this.toolUse(tool, input, state);
    this.closeStep('tool-calls');
  }

  private toolUse(tool: string, input: Record<string, unknown>, state: Record<string, unknown>): void {
    this.tools.push(`${tool} ${JSON.stringify(input)}`);
    this.emit('tool_use', { type: 'tool', tool, callID: `call_${randomBytes(8).toString('hex')}`, state, id: newId('prt'), sessionID: this.session.id, messageID: this.messageId });
  }

  // ------------------------------------------------------------ the stream

  private openStep(): void {
    if (this.stepOpen) return;
    this.stepOpen = true;
    this.messageId = newId('msg');
    this.emit('step_start', { id: newId('prt'), messageID: this.messageId, sessionID: this.session.id, snapshot: this.snapshot, type: 'step-start' });
  }

  private closeStep(reason: string): void {
    if (!this.stepOpen) return;
    this.stepOpen = false;
    this.emit('step_finish', { id: newId('prt'), reason, snapshot: this.snapshot, messageID: this.messageId, sessionID: this.session.id, type: 'step-finish', tokens: { total: 133, input: 111, output: 22, reasoning: 0, cache: { write: 0, read: 0 } }, cost: 0 });
  }

  private text(text: string): void {
    const now = Date.now();
    this.lastText = text;
    this.texts.push(text);
    this.emit('text', { id: newId('prt'), messageID: this.messageId, sessionID: this.session.id, type: 'text', text, time: { start: now - 4, end: now } });
  }

  private emit(type: string, part: Record<string, unknown>): void {
    if (this.silent || this.finished) return;
    if (this.args.format === 'json') process.stdout.write(`${JSON.stringify({ type, timestamp: Date.now(), sessionID: this.session.id, part })}\n`);
    else if (type === 'text') process.stdout.write(`${String(part.text)}\n`);
  }

  private errorEvent(error: { name: string; data: Record<string, unknown> }): void {
    if (this.silent) return;
    if (this.args.format === 'json') process.stdout.write(`${JSON.stringify({ type: 'error', timestamp: Date.now(), sessionID: this.session.id, error })}\n`);
    else process.stderr.write(`\x1b[91m\x1b[1mError: \x1b[0m${String(error.data.message)}\n`);
  }

  private out(text: string): Promise<void> {
    return this.silent ? Promise.resolve() : writeOut(text);
  }

  // ------------------------------------------------------------ API failures

  /** The log line the real CLI prints (with --print-logs) for each failed attempt. */
  private logStreamError(words: string): void {
    if (!this.args.printLogs || this.silent || !['DEBUG', 'INFO', 'WARN', 'ERROR'].includes(this.args.logLevel)) return;
    const run = randomBytes(4).toString('hex');
    process.stderr.write(`timestamp=${new Date().toISOString()} level=ERROR run=${run} message="stream error" providerID=mock modelID=m session.id=${this.session.id} small=false agent=build mode=primary error.error="AI_APICallError: ${words}"\n`);
  }

  private async retries(attempts: number, status: number): Promise<void> {
    for (let k = 0; k < attempts; k++) {
      this.logStreamError(`mock error ${status}`);
      await sleep(retryDelaysMs[Math.min(k, retryDelaysMs.length - 1)]!);
    }
  }

  private refuse(reason: keyof typeof statusOf): Promise<void> {
    const status = statusOf[reason];
    // a rate limit's retry-after (20 s, as the mock's) sets the pace of the real CLI's retries
    const delays = status === 401 ? [] : reason === 'rate-limit' ? retryDelaysMs.map(() => 20_000) : retryDelaysMs;
    return this.failApi(status, wordsOf[reason], delays);
  }

  /** A failed model call: a log line per attempt (retried after each delay), then the error event, exit 1. */
  private async failApi(status: number, words: string, delays: readonly number[]): Promise<void> {
    this.logStreamError(words);
    for (const ms of delays) {
      await sleep(ms);
      this.logStreamError(words);
    }
    if (this.args.printLogs && !this.silent) {
      const stack = `AI_APICallError: ${words}\\n    at <anonymous> (/$bunfs/root/chunk-jrdr7d31.js:6:14272)`;
      process.stderr.write(`timestamp=${new Date().toISOString()} level=ERROR run=${randomBytes(4).toString('hex')} message=process session.id=${this.session.id} messageID=${newId('msg')} error="${words}" stack="${stack}"\n`);
    }
    this.apiError(status, words, delays.length > 0);
  }

  private apiError(status: number, message: string, retryable: boolean): void {
    const body = JSON.stringify({ error: { message, type: status === 401 ? 'invalid_request_error' : 'api_error', code: null } });
    this.save();
    this.errorEvent({ name: 'APIError', data: { message, statusCode: status, isRetryable: retryable, responseHeaders: { 'content-type': 'application/json' }, responseBody: body, metadata: { url: 'http://127.0.0.1/v1/chat/completions' } } });
    this.finish(1);
  }

  // ------------------------------------------------------------ endings

  private save(): void {
    this.session.turns.push({ prompt: this.prompt, texts: this.texts, tools: this.tools });
    mkdirSync(dirname(this.sessionFile), { recursive: true });
    writeFileSync(this.sessionFile, JSON.stringify(this.session));
  }

  private hang(): void {
    setInterval(() => {}, 1 << 30);
  }

  private crash(run: FakeRun): void {
    process.stderr.write('fake opencode: crashing as scripted (crashAfterStep)\n');
    this.finish(run.exit ?? 1);
  }

  private abs(path: string): string {
    return isAbsolute(path) ? path : join(this.dir, path);
  }

  private scriptProblem(message: string): void {
    this.record.problems.push(message);
    process.stderr.write(`fake opencode: ${message}\n`);
    this.finish(97);
  }

  /** `text` on stderr as it is (the usage ends without a newline), exit 1 */
  private fail(text: string): void {
    process.stderr.write(text);
    this.finish(1);
  }

  finish(code: number, signal?: NodeJS.Signals): void {
    if (this.finished) return;
    if (this.silent && !signal) return this.hang(); // the real CLI never ends a resume from another directory
    this.finished = true;
    Object.assign(this.record, { endedAt: new Date().toISOString(), exitCode: code }, signal ? { signal } : {});
    logInvocation('opencode', LOG_ENV, this.record);
    exitFlushed(code, signal); // the real CLI dies of a SIGTERM (no exit code of its own)
  }
}

// ---------------------------------------------------------------- small pieces

/** Runs a command with /bin/sh -c in `cwd`, stdout and stderr merged, as opencode's bash tool. */
function shell(command: string, cwd: string, prompt: string): Promise<{ output: string; exit: number }> {
  return new Promise((done) => {
    const env = { ...process.env, PWD: cwd, FAKE_OPENCODE_PROMPT: prompt, FAKE_CLAUDE_PROMPT: prompt };
    const child = spawn('/bin/sh', ['-c', `exec 2>&1\n${command}`], { cwd, env, stdio: ['ignore', 'pipe', 'ignore'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => {
      if (output.length < 1 << 20) output += d.toString();
    });
    child.on('error', (err) => done({ output: `Error: ${err.message}`, exit: 1 }));
    child.on('close', (code, signal) => done({ output, exit: code ?? (signal ? 137 : 1) }));
  });
}

function readStdin(): Promise<string> {
  if (process.stdin.isTTY) return Promise.resolve('');
  return new Promise((done) => {
    let text = '';
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (d: string) => (text += d));
    process.stdin.on('end', () => done(text));
    process.stdin.on('error', () => done(text));
  });
}

async function waitForFile(file: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(file) && Date.now() < deadline) await sleep(25);
}

function envSubset(): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const k of ['PWD', 'HOME', 'XDG_DATA_HOME', 'OPENCODE_CONFIG', 'GIT_DIR', 'GIT_WORK_TREE', 'GIT_INDEX_FILE']) out[k] = process.env[k] ?? null;
  for (const [k, v] of Object.entries(process.env)) if (k.startsWith('COVEN_')) out[k] = v ?? null;
  return out;
}

// ---------------------------------------------------------------- entry

/** Runs the fake with these arguments (the shim fakes/bin/opencode calls it). */
export function runFakeOpencode(argv: string[]): void {
  process.stdout.on('error', () => {});
  const fake = new FakeOpencode(argv);
  fake.main().catch((err: unknown) => {
    process.stderr.write(`fake opencode: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    fake.finish(70);
  });
}

const isMain = ((): boolean => {
  try {
    return realpathSync(process.argv[1] ?? '') === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
})();

if (isMain) runFakeOpencode(process.argv.slice(2));
