// session-runner — runs one agent session through its CLI's adapter (lib/clis/): the
// command line the adapter gives (Claude Code: `claude -p --output-format stream-json
// --verbose --input-format stream-json …`) in a worktree, the prompt (and, for a CLI that
// takes them, later steering messages) on stdin, a short live view, every raw stdout line
// logged, and a typed outcome judged by the CLI's events, never by the exit code alone.
//
//   inputs:  SessionOptions (cwd, prompt, the CLI, permission mode, the agent's args for
//            the CLI, extra args, coven's protocol text, resume id, log file, timeout)
//            env: the CLI's binary override (COVEN_CLAUDE, COVEN_CODEX, COVEN_GEMINI,
//            COVEN_OPENCODE; default its command on PATH), COVEN_PRICE_<CLI>
//   outputs: the raw stream appended to `logFile`; display lines through the caller's
//            `display`; a SessionOutcome (never throws for an expected failure)
//
// When the adapter's parser says the vendor refuses (quota, rate limit, auth, overloaded)
// the whole group is stopped at once (the CLI would retry for minutes) and the outcome is
// `refused`. A CLI that takes no steering has its stdin closed after the first write.
//
// The CLI runs in its own process group (detached). abort() and the wall-clock timeout
// end the whole group (SIGTERM, then SIGKILL after a grace period), and whatever is left
// of the group when the CLI exits is ended the same way. The real CLI runs each Bash
// command in a session of its own, out of reach of a group signal, so the groups of the
// CLI's descendants are noted (from `ps`) when we stop it and when its last result
// arrives, and are ended with it; a daemon that left the tree (double fork, setsid) is
// found by the mark every process of the session inherits in its environment
// (process-groups.ts, Linux): no orphan outlives a session. pause() stops all those
// groups (SIGSTOP) until resume(); ending a paused session continues it after SIGTERM so
// the signal is acted on. The runner installs no signal handlers: the worker wires
// SIGINT/SIGTERM to abort(). See reference/claude-cli.md for Claude Code's contract.
//
// A session is a value (class Session): its state in fields, each event a method. Its
// options and outcome: session-contract.ts; its groups: process-groups.ts; what it heard:
// session-events.ts.

import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import { LineSplitter } from './stream-json.js';
import { renderEvent, renderOutcome } from './render.js';
import { childrenCpuMs, trace, traceNow } from '../ui/trace.js';
import { agentCommand, defaultTimeoutMs, type SessionHandle, type SessionOptions, type SessionOutcome } from './session-contract.js';
import { randomUUID } from 'node:crypto';
import { ProcessGroups, SESSION_MARK } from './process-groups.js';
import { cliInvocation, commandLineBytes, MAX_COMMAND_LINE_BYTES } from './cli-invocation.js';
import type { CliAdapter, CliCommand, CliEvent, StreamParser } from '../clis/adapter.js';
import { adapterFor } from '../clis/index.js';
import { SessionEvents } from './session-events.js';
import { judgeSession } from './session-judge.js';
import { Timers } from './timers.js';

export * from './session-contract.js';
export { descendantGroups } from './process-groups.js';
export { reserveLogFile } from './session-log.js';

const stderrTailLines = 20;
/** after a result, how long to wait for the turn of a steering message the CLI has not echoed as taken */
const steerTurnGraceMs = 3000;

/** Runs a session to its end. */
export function runSession(opts: SessionOptions): Promise<SessionOutcome> {
  return startSession(opts).outcome;
}

/** Starts a session; the handle steers or aborts it and gives its outcome. */
export function startSession(opts: SessionOptions): SessionHandle {
  if (!existsSync(opts.cwd)) throw new Error(`session-runner: cwd does not exist: ${opts.cwd}`);
  const env: NodeJS.ProcessEnv = { ...(opts.env ?? process.env) };
  delete env.CLAUDECODE;
  const cliName = opts.cli ?? 'claude';
  const found = adapterFor(cliName);
  if (found.kind !== 'adapter') return endedBeforeStart(opts, { kind: 'cli-not-found', command: cliName, message: `${found.message}.` });
  const adapter = found.adapter;
  const command = agentCommand(env, cliName);
  // no argument over the OS limit: the adapter puts large text on stdin, the rest is refused by name
  const cli = cliInvocation(opts, adapter, command, env);
  if (cli.kind === 'too-big') return endedBeforeStart(opts, cli);
  try {
    return new Session(opts, adapter, command, { ...env, ...cli.env }, cli).handle();
  } catch (err) {
    // spawn throws (rather than emitting 'error') for E2BIG and a few others: a value, not a crash
    const e = err as NodeJS.ErrnoException;
    if (e.syscall !== 'spawn') throw err;
    if (e.code === 'E2BIG') return endedBeforeStart(opts, { kind: 'too-big', what: 'the command line and the environment together', bytes: commandLineBytes(command, cli.args, { ...env, ...cli.env }), maxBytes: MAX_COMMAND_LINE_BYTES });
    return endedBeforeStart(opts, { kind: 'crashed', exitCode: null, signal: null, stderrTail: [`could not start ${command}: ${e.message}`] });
  }
}

/** The handle of a session whose CLI was never started. */
function endedBeforeStart(opts: SessionOptions, outcome: SessionOutcome): SessionHandle {
  opts.display?.(renderOutcome(outcome));
  return { outcome: Promise.resolve(outcome), cliLabel: opts.cli ?? 'claude', steering: false, sessionId: () => undefined, send: () => false, abort: () => {}, pause: () => false, resume: () => {} };
}

class Session {
  private readonly command: string;
  private readonly display: (line: string) => void;
  private readonly timeoutMs: number;
  private readonly lingerMs: number;
  private readonly killGraceMs: number;
  private readonly spawnedAt = traceNow();
  private readonly cpuBefore = process.env.COVEN_TRACE ? childrenCpuMs() : undefined;
  private exitedAt: number;
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly pgid: number | undefined;
  /** the CLI's group, and the groups of its descendants seen so far (Bash commands of the real CLI) */
  private readonly groups: ProcessGroups;

  private readonly parser: StreamParser;
  private readonly heard = new SessionEvents();
  private readonly stdoutLines = new LineSplitter();
  private readonly stderrLines = new LineSplitter(64 * 1024);
  private readonly stderrTail: string[] = [];
  private log: WriteStream | null = null;
  private messagesSent = 0;
  private stopWaiting = false; // a steering message seems to have been taken without an echo
  private refusalStop = false;
  private stdinOpen = true;
  private aborted = false;
  private timedOut = false;
  private exited = false;
  private exitCode: number | null = null;
  private exitSignal: NodeJS.Signals | null = null;
  private spawnError: NodeJS.ErrnoException | null = null;
  private finishing = false;
  private readonly timers = new Timers();
  private steerTimer: NodeJS.Timeout | null = null;
  private resolveOutcome!: (o: SessionOutcome) => void;
  readonly outcome = new Promise<SessionOutcome>((r) => (this.resolveOutcome = r));

  constructor(
    private readonly opts: SessionOptions,
    private readonly adapter: CliAdapter,
    command: string,
    private readonly env: NodeJS.ProcessEnv,
    cli: CliCommand,
  ) {
    this.command = command;
    this.display = opts.display ?? (() => {});
    this.timeoutMs = opts.timeoutMs ?? defaultTimeoutMs;
    this.lingerMs = opts.lingerMs ?? 2000;
    this.killGraceMs = opts.killGraceMs ?? 5000;
    this.exitedAt = this.spawnedAt;
    this.parser = adapter.parser();
    const mark = randomUUID();
    this.child = spawn(this.command, cli.args, { cwd: opts.cwd, env: { ...env, [SESSION_MARK]: mark }, detached: true, stdio: 'pipe' });
    this.pgid = this.child.pid;
    this.groups = new ProcessGroups(this.pgid, mark);
    if (this.pgid !== undefined) process.on('exit', this.killOnParentExit);
    this.openLog();
    this.wire();
    this.timers.later(this.timeoutMs, () => {
      if (this.done()) return;
      this.timedOut = true;
      this.display(`  (the session ran past its ${Math.round(this.timeoutMs / 1000)}s limit; stopping it)`);
      this.stopGroup();
    });
    this.start(cli);
  }

  /** The first stdin (the prompt counts as the first message a result answers); stdin closed unless the CLI is steered. */
  private start(cli: CliCommand): void {
    this.messagesSent = 1;
    if (cli.stdin !== null && !this.spawnError) this.child.stdin.write(cli.stdin);
    if (!cli.keepStdinOpen || !this.adapter.steering) this.closeStdin();
  }

  handle(): SessionHandle {
    return {
      outcome: this.outcome,
      pid: this.pgid,
      cliLabel: this.adapter.label,
      steering: this.adapter.steering,
      sessionId: () => this.heard.sessionId,
      send: (text) => this.write(text),
      abort: () => {
        if (this.finishing || this.exited || this.done()) return; // a finished session only winds down
        this.aborted = true;
        this.stopGroup();
      },
      pause: () => {
        if (this.finishing || this.exited || this.done() || this.spawnError) return false;
        this.noteDescendants(); // the real CLI's Bash commands run in groups of their own
        this.groups.pause();
        return true;
      },
      resume: () => {
        if (this.groups.paused) this.groups.resume();
      },
    };
  }

  private noteDescendants(): void {
    if (!this.exited) this.groups.noteDescendants();
  }

  private readonly killOnParentExit = (): void => this.groups.kill('SIGKILL');

  /** SIGTERM to the group, SIGKILL after the grace period if the CLI is still there. */
  private stopGroup(): void {
    this.closeStdin();
    this.noteDescendants();
    this.groups.kill('SIGTERM');
    this.timers.later(this.killGraceMs, () => {
      if (!this.exited) this.groups.kill('SIGKILL');
    });
  }

  private closeStdin(): void {
    if (!this.stdinOpen) return;
    this.stdinOpen = false;
    this.child.stdin.end();
  }

  /** A steering message (false: the CLI takes none, or no longer reads stdin). */
  private write(text: string): boolean {
    if (!this.stdinOpen || this.finishing || this.spawnError || !this.adapter.steering || !this.adapter.steerLine) return false;
    this.child.stdin.write(this.adapter.steerLine(text));
    this.messagesSent++;
    return true;
  }

  /** Every message written to stdin has been taken by a turn that has ended. */
  private answeredAll(): boolean {
    const s = this.heard;
    return this.stopWaiting || (s.replays > 0 ? s.replays : s.results) >= this.messagesSent;
  }

  /** The last turn has ended: the session only has to wind down. */
  private done(): boolean {
    return this.heard.lastResult !== undefined && this.answeredAll();
  }

  /** After the last result: close stdin, let the CLI exit on its own, then make it. */
  private windDown(): void {
    this.noteDescendants(); // what the agent left running in the background ends with the session
    this.closeStdin();
    this.timers.later(this.lingerMs, () => {
      if (this.exited) return;
      this.groups.kill('SIGTERM');
      this.timers.later(this.killGraceMs, () => {
        if (!this.exited) this.groups.kill('SIGKILL');
      });
    });
  }

  private onResult(): void {
    if (this.answeredAll()) return this.windDown();
    // A steering message has not been taken yet (the CLI takes a message that arrives
    // mid-turn at the turn's next model call, else it starts a turn of its own right
    // after this result, with a new init). If no turn starts, stop waiting for one.
    this.timers.cancel(this.steerTimer);
    this.steerTimer = this.timers.later(steerTurnGraceMs, () => {
      this.stopWaiting = true;
      this.windDown();
    });
  }

  private onEvents(events: CliEvent[]): void {
    for (const e of events) this.onEvent(e);
  }

  private onEvent(e: CliEvent): void {
    const delta = e.kind === 'text' && e.delta === true;
    if (!delta) this.showPending();
    this.heard.fold(e);
    if (delta) return;
    for (const l of renderEvent(e, this.opts.cwd)) this.display(l);
    if (e.kind === 'turn-start') this.timers.cancel(this.steerTimer);
    if (e.kind === 'refused') this.onRefused();
    if (e.kind === 'result') this.onResult();
  }

  /** A text written in deltas is shown whole, once the next event (or the exit) ends it. */
  private showPending(): void {
    const text = this.heard.takePending();
    if (text !== undefined) for (const l of renderEvent({ kind: 'text', text }, this.opts.cwd)) this.display(l);
  }

  /** The vendor refuses: the CLI would retry for minutes, so the whole group is stopped now. */
  private onRefused(): void {
    if (this.exited || this.finishing || this.refusalStop) return;
    this.refusalStop = true;
    this.timers.cancel(this.steerTimer);
    this.stopGroup();
  }

  private openLog(): void {
    const file = this.opts.logFile;
    if (!file) return;
    mkdirSync(dirname(file), { recursive: true });
    const log = createWriteStream(file, { flags: 'a' });
    this.log = log;
    log.on('error', (err) => {
      this.display(`  (could not write the session log ${file}: ${err.message}; the session goes on)`);
      this.log = null;
      this.child.stdout.resume();
    });
    log.on('drain', () => this.child.stdout.resume());
  }

  private wire(): void {
    const child = this.child;
    child.stdin.on('error', () => {
      // EPIPE: the CLI stopped reading (it exited, or failed a resume before reading stdin)
      this.stdinOpen = false;
    });
    child.stdout.on('data', (chunk: Buffer) => {
      if (this.log && !this.log.write(chunk)) child.stdout.pause(); // bounded memory when the disk is slower than the CLI
      for (const line of this.stdoutLines.push(chunk)) this.onEvents(this.parser.line(line));
    });
    child.stderr.on('data', (chunk: Buffer) => {
      for (const line of this.stderrLines.push(chunk)) this.onStderr(line);
    });
    child.on('error', (err: NodeJS.ErrnoException) => {
      if (child.pid !== undefined) return; // errors of a running child surface as exit codes
      this.spawnError = err;
      this.exited = true;
      void this.finish();
    });
    child.on('exit', (code, signal) => {
      this.exited = true;
      this.exitedAt = traceNow();
      this.exitCode = code;
      this.exitSignal = signal;
      // Something of the group may still hold stdout open; close() follows once it is gone.
      if (this.groups.alive()) {
        this.groups.kill('SIGTERM');
        this.timers.later(this.killGraceMs, () => this.groups.kill('SIGKILL'));
      }
      this.timers.later(this.killGraceMs + 2000, () => {
        // a process that left the group (setsid) still holds our pipes: stop reading
        child.stdout.destroy();
        child.stderr.destroy();
        void this.finish();
      });
    });
    child.on('close', () => void this.finish());
  }

  private async finish(): Promise<void> {
    if (this.finishing) return;
    this.finishing = true;
    this.stdinOpen = false;
    for (const line of this.stdoutLines.end()) this.onEvents(this.parser.line(line));
    for (const line of this.stderrLines.end()) this.onStderr(line);
    // what the stream implied but never printed (opencode has no result event), before judging
    if (this.exited && !this.spawnError) this.onEvents(this.parser.end({ code: this.exitCode, signal: this.exitSignal }));
    this.showPending();
    this.groups.noteMarked(); // a daemon the agent left (double fork, setsid) ends too
    await this.groups.end(this.killGraceMs);
    this.timers.clearAll();
    process.removeListener('exit', this.killOnParentExit);
    if (this.log) {
      const l = this.log;
      await new Promise<void>((r) => l.end(r));
    }
    const o = this.decide();
    this.display(renderOutcome(o));
    const cpuAfter = this.cpuBefore === undefined ? undefined : childrenCpuMs();
    const cliCpu = cpuAfter === undefined || this.cpuBefore === undefined ? undefined : cpuAfter - this.cpuBefore;
    trace('session', { cli_ms: (this.exited ? this.exitedAt : traceNow()) - this.spawnedAt, ms: traceNow() - this.spawnedAt, cli_cpu_ms: cliCpu, outcome: o.kind });
    this.resolveOutcome(o);
  }

  private onStderr(line: string): void {
    pushTail(this.stderrTail, line);
    this.onEvents(this.parser.stderr(line));
  }

  private decide(): SessionOutcome {
    const { outcome, priceProblem } = judgeSession({ heard: this.heard, adapter: this.adapter, command: this.command, env: this.env, stderrTail: this.stderrTail, spawnError: this.spawnError, timedOut: this.timedOut, timeoutMs: this.timeoutMs, aborted: this.aborted, exitCode: this.exitCode, exitSignal: this.exitSignal, wallMs: (this.exited ? this.exitedAt : traceNow()) - this.spawnedAt });
    if (priceProblem) this.display(`  (${priceProblem})`);
    return outcome;
  }
}

function pushTail(tail: string[], line: string): void {
  tail.push(line.length > 2000 ? `${line.slice(0, 2000)}…` : line);
  if (tail.length > stderrTailLines) tail.shift();
}

