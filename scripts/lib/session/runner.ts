// session-runner — runs one agent session: `claude -p --output-format stream-json
// --verbose --input-format stream-json …` in a worktree, feeds it the prompt (and any
// later steering messages) on stdin, shows a short live view, logs every raw stdout
// line, and returns a typed outcome judged by the `result` event, not the exit code.
//
//   inputs:  SessionOptions (cwd, prompt, permission mode, the agent's claude_args,
//            extra args, coven's protocol text, --resume id, log file, timeout)
//            env COVEN_CLAUDE: the CLI to run (default `claude` on PATH)
//   outputs: the raw stream appended to `logFile`; display lines through the caller's
//            `display`; a SessionOutcome (never throws for an expected failure)
//
// The CLI runs in its own process group (detached). abort() and the wall-clock timeout
// end the whole group (SIGTERM, then SIGKILL after a grace period), and whatever is left
// of the group when the CLI exits is ended the same way. The real CLI runs each Bash
// command in a session of its own, out of reach of a group signal, so the groups of the
// CLI's descendants are noted (from `ps`) when we stop it and when its last result
// arrives, and are ended with it: no orphan outlives a session. pause() stops all those
// groups (SIGSTOP) until resume(); ending a paused session continues it after SIGTERM so
// the signal is acted on. The runner installs no signal handlers: the worker wires
// SIGINT/SIGTERM to abort(). See reference/claude-cli.md for the CLI contract.

import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, openSync, closeSync, readdirSync, type WriteStream } from 'node:fs';
import { dirname, join } from 'node:path';
import { LineSplitter, emptySummary, foldLine, isSuccess, parseStreamLine, type ResultEvent } from './stream-json.js';
import { renderEvent, renderOutcome } from './render.js';
import { workerLogDir } from '../worker/state-dir.js';
import { childrenCpuMs, trace, traceNow } from '../ui/trace.js';

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
  /** coven's protocol text, passed as --append-system-prompt */
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
  | { kind: 'cli-not-found'; command: string; message: string };

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
const stderrTailLines = 20;
/** after a result, how long to wait for the turn of a steering message the CLI has not echoed as taken */
const steerTurnGraceMs = 3000;

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

/** Runs a session to its end. */
export function runSession(opts: SessionOptions): Promise<SessionOutcome> {
  return startSession(opts).outcome;
}

/** Starts a session; the handle steers or aborts it and gives its outcome. */
export function startSession(opts: SessionOptions): SessionHandle {
  if (!existsSync(opts.cwd)) throw new Error(`session-runner: cwd does not exist: ${opts.cwd}`);
  const baseEnv = opts.env ?? process.env;
  const command = agentCommand(baseEnv);
  const env: NodeJS.ProcessEnv = { ...baseEnv };
  delete env.CLAUDECODE;
  const display = opts.display ?? (() => {});
  const timeoutMs = opts.timeoutMs ?? defaultTimeoutMs;
  const lingerMs = opts.lingerMs ?? 2000;
  const killGraceMs = opts.killGraceMs ?? 5000;

  const spawnedAt = traceNow();
  const cpuBefore = process.env.COVEN_TRACE ? childrenCpuMs() : undefined;
  let exitedAt = spawnedAt;
  const child: ChildProcessWithoutNullStreams = spawn(command, sessionArgs(opts), { cwd: opts.cwd, env, detached: true, stdio: 'pipe' });
  const pgid = child.pid;

  const summary = emptySummary();
  const stdoutLines = new LineSplitter();
  const stderrLines = new LineSplitter(64 * 1024);
  const stderrTail: string[] = [];
  let log: WriteStream | null = null;
  let messagesSent = 0;
  let stopWaiting = false; // a steering message seems to have been taken without an echo
  let stdinOpen = true;
  let aborted = false;
  let timedOut = false;
  let exited = false;
  let exitCode: number | null = null;
  let exitSignal: NodeJS.Signals | null = null;
  let spawnError: NodeJS.ErrnoException | null = null;
  let junkShown = 0;
  let finishing = false;
  let paused = false;
  const timers = new Set<NodeJS.Timeout>();
  let steerTimer: NodeJS.Timeout | null = null;

  const later = (ms: number, fn: () => void): NodeJS.Timeout => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
    return t;
  };
  const cancel = (t: NodeJS.Timeout | null): void => {
    if (t) {
      clearTimeout(t);
      timers.delete(t);
    }
  };

  /** the CLI's group, and the groups of its descendants seen so far (Bash commands of the real CLI) */
  const groups = new Set<number>(pgid === undefined ? [] : [pgid]);
  const noteDescendants = (): void => {
    if (pgid !== undefined && !exited) for (const g of descendantGroups(pgid)) groups.add(g);
  };
  const signalGroups = (signal: NodeJS.Signals): void => {
    for (const g of groups) {
      try {
        process.kill(-g, signal);
      } catch {
        // the group is already gone
      }
    }
  };
  const killGroup = (signal: NodeJS.Signals): void => {
    signalGroups(signal);
    // a stopped process acts on SIGTERM only once it runs again
    if (paused && signal !== 'SIGKILL') resumeGroups();
  };
  const resumeGroups = (): void => {
    paused = false;
    signalGroups('SIGCONT');
  };
  const groupAlive = (): boolean => {
    for (const g of groups) {
      try {
        process.kill(-g, 0);
        return true;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EPERM') return true;
      }
    }
    return false;
  };
  const killOnParentExit = (): void => killGroup('SIGKILL');
  if (pgid !== undefined) process.on('exit', killOnParentExit);

  /** SIGTERM to the group, SIGKILL after the grace period if the CLI is still there. */
  const stopGroup = (): void => {
    closeStdin();
    noteDescendants();
    killGroup('SIGTERM');
    later(killGraceMs, () => {
      if (!exited) killGroup('SIGKILL');
    });
  };

  const closeStdin = (): void => {
    if (!stdinOpen) return;
    stdinOpen = false;
    child.stdin.end();
  };

  const write = (text: string): boolean => {
    if (!stdinOpen || finishing || spawnError) return false;
    child.stdin.write(userMessageLine(text));
    messagesSent++;
    return true;
  };

  /** Every message written to stdin has been taken by a turn that has ended. */
  const answeredAll = (): boolean => stopWaiting || (summary.replays > 0 ? summary.replays : summary.results) >= messagesSent;

  /** The last turn has ended: the session only has to wind down. */
  const done = (): boolean => summary.lastResult !== undefined && answeredAll();

  /** After the last result: close stdin, let the CLI exit on its own, then make it. */
  const windDown = (): void => {
    noteDescendants(); // what the agent left running in the background ends with the session
    closeStdin();
    later(lingerMs, () => {
      if (exited) return;
      killGroup('SIGTERM');
      later(killGraceMs, () => {
        if (!exited) killGroup('SIGKILL');
      });
    });
  };

  const onResult = (): void => {
    if (answeredAll()) return windDown();
    // A steering message has not been taken yet (the CLI takes a message that arrives
    // mid-turn at the turn's next model call, else it starts a turn of its own right
    // after this result, with a new init). If no turn starts, stop waiting for one.
    cancel(steerTimer);
    steerTimer = later(steerTurnGraceMs, () => {
      stopWaiting = true;
      windDown();
    });
  };

  const onLine = (line: string): void => {
    const parsed = parseStreamLine(line);
    foldLine(summary, parsed);
    if (!parsed.ok) {
      if (parsed.reason !== 'empty' && junkShown++ < 3) display(`  (ignored a line that is not a JSON event: ${line.slice(0, 80)})`);
      return;
    }
    for (const l of renderEvent(parsed.event, opts.cwd)) display(l);
    if (parsed.event.kind === 'user' && parsed.event.replay && summary.replays > 1) display(`  » ${parsed.event.text.split('\n')[0]?.slice(0, 150) ?? ''}`);
    if (parsed.event.kind === 'init') cancel(steerTimer);
    if (parsed.event.kind === 'result') onResult();
  };

  if (opts.logFile) {
    mkdirSync(dirname(opts.logFile), { recursive: true });
    log = createWriteStream(opts.logFile, { flags: 'a' });
    log.on('error', (err) => {
      display(`  (could not write the session log ${opts.logFile}: ${err.message}; the session goes on)`);
      log = null;
      child.stdout.resume();
    });
    log.on('drain', () => child.stdout.resume());
  }

  child.stdin.on('error', () => {
    // EPIPE: the CLI stopped reading (it exited, or failed a resume before reading stdin)
    stdinOpen = false;
  });
  child.stdout.on('data', (chunk: Buffer) => {
    if (log && !log.write(chunk)) child.stdout.pause(); // bounded memory when the disk is slower than the CLI
    for (const line of stdoutLines.push(chunk)) onLine(line);
  });
  child.stderr.on('data', (chunk: Buffer) => {
    for (const line of stderrLines.push(chunk)) pushTail(stderrTail, line);
  });

  let resolveOutcome!: (o: SessionOutcome) => void;
  const outcome = new Promise<SessionOutcome>((r) => (resolveOutcome = r));

  const finish = async (): Promise<void> => {
    if (finishing) return;
    finishing = true;
    stdinOpen = false;
    for (const line of stdoutLines.end()) onLine(line);
    for (const line of stderrLines.end()) pushTail(stderrTail, line);
    await endGroup();
    for (const t of timers) clearTimeout(t);
    timers.clear();
    process.removeListener('exit', killOnParentExit);
    if (log) {
      const l = log;
      await new Promise<void>((r) => l.end(r));
    }
    const o = decide();
    display(renderOutcome(o));
    const cpuAfter = cpuBefore === undefined ? undefined : childrenCpuMs();
    trace('session', { cli_ms: (exited ? exitedAt : traceNow()) - spawnedAt, ms: traceNow() - spawnedAt, cli_cpu_ms: cpuAfter === undefined || cpuBefore === undefined ? undefined : cpuAfter - cpuBefore, outcome: o.kind });
    resolveOutcome(o);
  };

  /** Waits until nothing of the process group is left, ending stragglers (TERM, then KILL). */
  const endGroup = async (): Promise<void> => {
    if (!groupAlive()) return;
    killGroup('SIGTERM');
    const deadline = Date.now() + killGraceMs;
    while (groupAlive() && Date.now() < deadline) await sleep(25);
    if (!groupAlive()) return;
    killGroup('SIGKILL');
    const last = Date.now() + 1000;
    while (groupAlive() && Date.now() < last) await sleep(25);
  };

  const decide = (): SessionOutcome => {
    const sessionId = summary.sessionId;
    if (spawnError) {
      if (spawnError.code === 'ENOENT' || spawnError.code === 'EACCES' || spawnError.code === 'ENOTDIR') {
        return { kind: 'cli-not-found', command, message: cliNotFoundMessage(command, spawnError.code) };
      }
      return { kind: 'crashed', exitCode: null, signal: null, stderrTail: [`could not start ${command}: ${spawnError.message}`] };
    }
    // timeout and abort win over a result that came after them (a CLI that gets SIGTERM
    // while a Bash tool runs finishes its turn anyway); neither is set once the session is done
    if (timedOut) return { kind: 'timed-out', timeoutMs, ...(sessionId ? { sessionId } : {}) };
    if (aborted) return { kind: 'aborted', ...(sessionId ? { sessionId } : {}) };
    const result = summary.lastResult;
    if (result) return judge(result); // (when not every message was answered: the CLI exited before a steering turn)
    return { kind: 'crashed', exitCode, signal: exitSignal, stderrTail: [...stderrTail], ...(sessionId ? { sessionId } : {}) };
  };

  const judge = (r: ResultEvent): SessionOutcome => {
    const sessionId = summary.sessionId ?? r.sessionId;
    const figures = { sessionId, costUsd: r.costUsd, turns: summary.turns, durationMs: summary.durationMs };
    if (isSuccess(r)) return { kind: 'success', text: r.text ?? '', ...figures };
    return { kind: 'agent-error', subtype: r.subtype, errors: r.errors, ...(r.text !== undefined ? { text: r.text } : {}), ...figures };
  };

  child.on('error', (err: NodeJS.ErrnoException) => {
    if (child.pid !== undefined) return; // errors of a running child surface as exit codes
    spawnError = err;
    exited = true;
    void finish();
  });
  child.on('exit', (code, signal) => {
    exited = true;
    exitedAt = traceNow();
    exitCode = code;
    exitSignal = signal;
    // Something of the group may still hold stdout open; close() follows once it is gone.
    if (groupAlive()) {
      killGroup('SIGTERM');
      later(killGraceMs, () => killGroup('SIGKILL'));
    }
    later(killGraceMs + 2000, () => {
      // a process that left the group (setsid) still holds our pipes: stop reading
      child.stdout.destroy();
      child.stderr.destroy();
      void finish();
    });
  });
  child.on('close', () => void finish());

  later(timeoutMs, () => {
    if (done()) return;
    timedOut = true;
    display(`  (the session ran past its ${Math.round(timeoutMs / 1000)}s limit; stopping it)`);
    stopGroup();
  });

  write(opts.prompt);

  return {
    outcome,
    pid: pgid,
    sessionId: () => summary.sessionId,
    send: (text) => write(text),
    abort: () => {
      if (finishing || exited || done()) return; // a finished session only winds down
      aborted = true;
      stopGroup();
    },
    pause: () => {
      if (finishing || exited || done() || spawnError) return false;
      noteDescendants(); // the real CLI's Bash commands run in groups of their own
      paused = true;
      signalGroups('SIGSTOP');
      return true;
    },
    resume: () => {
      if (paused) resumeGroups();
    },
  };
}

/**
 * The process groups of every descendant of `root` (other than root's own group and
 * ours), from `ps` (Linux, macOS). Empty when ps is unavailable.
 */
export function descendantGroups(root: number): number[] {
  const ps = spawnSync('ps', ['-A', '-o', 'pid=,ppid=,pgid='], { encoding: 'utf8' });
  if (ps.status !== 0 || typeof ps.stdout !== 'string') return [];
  const children = new Map<number, { pid: number; pgid: number }[]>();
  let ownGroup = -1;
  for (const line of ps.stdout.split('\n')) {
    const [pid, ppid, group] = line.trim().split(/\s+/).map(Number);
    if (pid === undefined || ppid === undefined || group === undefined || Number.isNaN(group)) continue;
    if (pid === process.pid) ownGroup = group;
    const list = children.get(ppid) ?? [];
    list.push({ pid, pgid: group });
    children.set(ppid, list);
  }
  const found = new Set<number>();
  const todo = [root];
  const seen = new Set<number>(todo);
  while (todo.length > 0) {
    for (const c of children.get(todo.pop()!) ?? []) {
      if (seen.has(c.pid)) continue;
      seen.add(c.pid);
      todo.push(c.pid);
      if (c.pgid > 1 && c.pgid !== root && c.pgid !== ownGroup) found.add(c.pgid);
    }
  }
  return [...found];
}

function pushTail(tail: string[], line: string): void {
  tail.push(line.length > 2000 ? `${line.slice(0, 2000)}…` : line);
  if (tail.length > stderrTailLines) tail.shift();
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export function cliNotFoundMessage(command: string, code = 'ENOENT'): string {
  const what = code === 'EACCES' ? `the agent CLI '${command}' is not executable` : command.includes('/') ? `the agent CLI '${command}' does not exist` : `the agent CLI '${command}' was not found on PATH`;
  return `${what}. Install Claude Code (npm install -g @anthropic-ai/claude-code) or set COVEN_CLAUDE to the path of the claude binary.`;
}

/**
 * Reserves the next session log file of a worker: `<state dir>/logs/<worker>/<n>-<agent>.jsonl`,
 * n counting up from 001 (created empty and exclusively, so two callers never share one).
 */
export function reserveLogFile(stateDir: string, worker: string, agent: string): string {
  const dir = workerLogDir(stateDir, worker);
  mkdirSync(dir, { recursive: true });
  const safeAgent = agent.replace(/[^A-Za-z0-9_-]/g, '-');
  let n = 1 + Math.max(0, ...readdirSync(dir).map((f) => Number(/^(\d+)-/.exec(f)?.[1] ?? 0)));
  for (;;) {
    const file = join(dir, `${String(n).padStart(3, '0')}-${safeAgent}.jsonl`);
    try {
      closeSync(openSync(file, 'wx'));
      return file;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      n++;
    }
  }
}
