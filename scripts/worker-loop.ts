#!/usr/bin/env node
// worker-loop — one coven worker. Its contract is the usage text just below (printed by
// --help); the loop reads top to bottom in runWorker and cycle(); its parts (start,
// dispatch, job, land, finish), its policy and its messages are in lib/worker/.

const usage = `usage: coven worker [--once] [--name NAME] [--worktree-base DIR]
                    [--permission-mode MODE] [--max-idle N] [--exit-when-idle DURATION]
                    [--max-cycles N] [--timeout MINUTES] [--on-park wait|continue]
                    [--remote NAME] [-- <CLI args>]

Starts a worker: its own worktree and branch (coven/NAME), then dispatch → run the
chosen agent → land on the main branch, again and again. When dispatch says there is
nothing to do, the worker sleeps until the main branch moves (git hooks wake it; in
remote mode it also asks the remote for its main branch every 30 s, ±20 %).
Ctrl-C (or SIGTERM) stops it once the current step is safe; a second one stops at once.

While an agent runs, a line you type is sent to it as a message (it sees it at its
next step). On a terminal, Ctrl-C while an agent runs pauses it and asks: m send a
message and resume · r resume · s skip this job (its commits land as usual; in a
conflict resolution: the land is tried again once main moves or after a wait) · q stop
the worker; Ctrl-C again stops at once. Lines typed while no agent runs are not sent.
When stdin is not a terminal: no menu, no prompts; piped lines are still sent to the
running agent. When stdout is not a terminal (or TERM=dumb): plain lines, no title.

  --once              one cycle (dispatch, run the agent, land), then exit
  --name NAME         the worker's name (branch coven/NAME; default: a random one);
                      the name of a stopped or dead worker adopts its worktree
  --worktree-base DIR where the worktree goes (default: $COVEN_WORKTREE_BASE, else
                      ~/worktrees)
  --permission-mode M Claude Code's --permission-mode (default acceptEdits; opencode:
                      bypassPermissions gives --auto; the others always run unattended)
  --max-idle N        exit after N sleep DECISIONS in a row (dispatch said sleep N
                      times with no job between); it counts decisions, not time: a
                      worker that sleeps once and is never woken never exits
  --exit-when-idle D  exit once one sleep has lasted D (10m, 90s, 1h; a bare number is
                      minutes; at most 24 days) with the main branch not moving: it
                      counts time asleep
  --max-cycles N      exit after N agent jobs (each dispatch that ran an agent)
  --timeout MINUTES   wall-clock limit of one session (default 60, at most 35000)
  --on-park MODE      after 3 failed conflict resolutions: wait (default: stay parked
                      until the branch has nothing left to land; with --once, exit) or
                      continue (set the branch aside as coven/parked/…, go on at once)
  --remote NAME       remote mode (docs/remote.md): coordinate with workers on other
                      machines only through this git remote: land by pushing its main
                      branch, claim jobs and publish the worker's state there (default:
                      git config coven.remote; without either: local mode)
  -- <CLI args>       extra arguments for every agent session, whatever its CLI
                      (per-CLI arguments go in agent files: claude_args, codex_args …)

env: COVEN_CLAUDE, COVEN_CODEX, COVEN_GEMINI, COVEN_OPENCODE (each CLI's binary; default: on
     PATH), COVEN_PRICE_<CLI>, COVEN_REFUSED_RETRY_MS, COVEN_WORKTREE_BASE, COVEN_TRACE (a file:
     one JSON line per phase change, lock wait, session and land),
     COVEN_STEP_LAND (also _DISPATCH, _RUN_AGENT, _RESOLVE_CONFLICT): an executable
     run instead of that step (wins over .coven/steps/<step>; see docs/steps.md),
     COVEN_RETRY_MS (first wait after a failed dispatch or a put-off land, default
     30000), COVEN_SAFETY_INTERVAL_MS (the sleeper's re-check, default 60000),
     COVEN_REMOTE_POLL_MS (remote mode: how often a sleeper asks the remote for its
     main branch with git ls-remote, default 30000, each wait ±20 % at random; at least
     2000, at most 600000), COVEN_MACHINE (this machine's name on the remote and in
     claims; default: the host name; a value that is not a machine name stops the
     worker at start, exit 2), COVEN_REMOTE_TIMEOUT_MS (remote mode: the time limit of
     one fetch, ls-remote or push, default 60000), COVEN_CLAIM_LEASE_MS (how long a
     job's claim may go without a heartbeat before another worker may take the job
     over, default 300000; the heartbeat runs every third of it),
     COVEN_REFUSED_RETRY_MS (first wait after every CLI of an agent refused —
     quota, rate limit, auth, overloaded — default 60000, doubling up to 30 min;
     the job then runs again in the same worktree; with --once it does not wait), COVEN_CODEX, COVEN_GEMINI,
     COVEN_OPENCODE (the other agent CLIs' binaries, for agents with cli: …)

files: reads .coven/agents/*.md (from its worktree, at every dispatch) and
       .coven/steps/<step> (from the main worktree, at start: a replaced step);
       writes <state dir>/workers/<name>.json (its state), steps/<name>/decision.json
       and session.json (the files the steps hand on, docs/steps.md), logs/<name>/
       (every session), locks/; its worktree and branch (removed once all is landed)

exit: 0 done (--once, a sleep with --once, --max-idle, --exit-when-idle, --max-cycles,
        or stopped with everything landed)
      1 stopped on an unexpected error (the message says what it kept)
      2 could not start · 3 stopped with work kept (the message says where)
      4 dispatch failed (--once)
      5 the agent's session crashed, errored, timed out or could not run, and
        nothing landed (--once)
      130 stopped at once (second Ctrl-C) · 64 bad usage
`;

import { parseCommandLine, usageError } from './lib/ui/command-line.js';
import { runAsEntry } from './lib/ui/entry.js';
import { attachConsole } from './lib/ui/worker-console.js';
import { consoleUi } from './lib/ui/worker-ui.js';
import { trace } from './lib/ui/trace.js';
import { MAX_TIMER_MS, parseDuration, parseTimeoutMinutes, TIMEOUT_MINUTES_RULE } from './lib/ui/human-duration.js';
import { setPhase, sleepFor, StopControl, worktreePresent, type Worker, type WorkerExit, type WorkerOptions } from './lib/worker/context.js';
import { decide } from './lib/worker/decide.js';
import { finish, recreateWorktree, worktreeBack } from './lib/worker/finish.js';
import { runJob } from './lib/worker/job.js';
import { landAndResolve, landPending } from './lib/worker/land.js';
import { cycle as say, job as sayJob, signals, stop as sayStop } from './lib/worker/messages.js';
import { cycleStarted, dispatchesUnderLock, dispatchFailed, dispatchRetryWait, refusedRetryWait, exitCodes, jobDone, jobStarted, landsPendingFirst, loopStart, sleepDecided, woken, type LoopEnd, type LoopState } from './lib/worker/policy.js';
import { startWorker } from './lib/worker/start.js';
import { waitForMainToMove } from './lib/worker/wait-for-main.js';
import { fetchRemoteMain, remoteMainWatch } from './lib/worker/remote-sleep.js';

export { StopControl, exitCodes, type WorkerExit, type WorkerOptions };

export async function runWorker(opts: WorkerOptions, stop = new StopControl()): Promise<WorkerExit> {
  const started = await startWorker(opts, opts.ui ?? consoleUi(), stop); // spawn (or adopt)
  if (started.kind !== 'started') return started;
  const w = started.worker;
  let end: LoopEnd = 'stopped';
  let failure: string | null = null;
  for (;;) {
    try {
      end = await loop(w);
    } catch (err) {
      end = 'stopped';
      // git failed in a worktree that was deleted in the middle of a step: not a bug
      if (!worktreePresent(w) && !opts.once && (await recreateWorktree(w))) continue;
      if (worktreePresent(w)) {
        failure = err instanceof Error ? err.message : String(err);
        w.ui.problem(sayStop.unexpected(w.name, err));
      }
    }
    break;
  }
  const exit = await finish(w, end === 'dispatch-failed' ? 'stopped' : end === 'job-failed' ? 'once' : end, failure);
  trace('stopped', { worker: w.name });
  if (end === 'dispatch-failed') return { kind: 'dispatch-failed', message: 'dispatch failed', state: w.state };
  if (end === 'job-failed' && exit.kind === 'done') return { kind: 'job-failed', message: 'the agent session failed', state: exit.state };
  return exit;
}

/** The loop: each turn is one cycle; its state is a value (policy.ts) that each cycle hands the next. */
async function loop(w: Worker): Promise<LoopEnd> {
  let s = loopStart;
  while (!w.stop.stopping) {
    const turn = await cycle(w, s);
    if (turn.kind === 'end') return turn.end;
    s = turn.state;
  }
  return 'stopped';
}

type Turn = { kind: 'next'; state: LoopState } | { kind: 'end'; end: LoopEnd };

/** sync (land what is pending) → dispatch → run → land/resolve, or → sleep. */
async function cycle(w: Worker, s0: LoopState): Promise<Turn> {
  const { opts, stop } = w;
  const end = (e: LoopEnd): Turn => ({ kind: 'end', end: e });
  if (!(await worktreeBack(w))) return end('stopped');
  // work left from an earlier cycle (a land that was blocked) goes first; after a
  // sleep there is none (a commit made in the worktree meanwhile is found by the sync)
  if (landsPendingFirst(s0) && (await landPending(w, s0.putOff)) !== 'clear') return end('stopped');
  const s = cycleStarted(s0);

  const decided = await decide(w, { lock: dispatchesUnderLock(s0) });
  if (decided.kind === 'aborted') return end('stopped');
  if (decided.kind === 'pending') return { kind: 'next', state: s };
  if (decided.kind === 'failed') {
    if (opts.once) {
      w.ui.problem(decided.message);
      return end('dispatch-failed');
    }
    const failed = dispatchFailed(s);
    const wait = decided.refused ? refusedRetryWait(failed.failures, opts.refusedRetryMs) : dispatchRetryWait(failed.failures, opts.retryMs);
    w.ui.problem(decided.refused ? `${decided.message}\n${sayJob.allRefused(decided.refused, new Date(Date.now() + wait), wait, w)}` : say.dispatchRetry(decided.message, wait));
    await setPhase(w, 'sleeping', { waiting_on: null });
    await sleepFor(wait, stop.signal);
    return { kind: 'next', state: failed };
  }
  if (decided.kind === 'sleep') {
    w.ui.line(say.sleeps(w.name, decided.reason));
    const next = sleepDecided(s, opts);
    if (next.end) return end(next.end);
    const slept = await sleepUntilMainMoves(w, decided.baseline);
    return slept === 'woke' ? { kind: 'next', state: woken(next.state) } : end(slept);
  }

  // the dispatch session ran in the worktree too: its link to the repository is checked before the job's
  if (!(await worktreeBack(w))) return end('stopped');
  const ran = await runJob(w, decided.file, decided.registry);
  if (!(await worktreeBack(w))) return end('stopped');
  if (stop.stopping) return end('stopped');
  const landed = await landAndResolve(w);
  if (landed === 'parked-stop') return end('stopped');
  const next = jobDone(jobStarted(s), landed, ran.ok, opts);
  if (next.end === 'job-failed') w.ui.problem(sayJob.failedOnce(decided.agent.name, ran.outcome));
  return next.end ? end(next.end) : { kind: 'next', state: next.state };
}

/** Sleeps until main moves away from `baseline`; with --exit-when-idle, at most that long. */
async function sleepUntilMainMoves(w: Worker, baseline: string): Promise<'woke' | 'idle' | 'stopped'> {
  const limit = w.opts.exitWhenIdleMs;
  await setPhase(w, 'sleeping', { waiting_on: baseline, agent: null, args: {} });
  const signal = limit === undefined ? w.stop.signal : AbortSignal.any([w.stop.signal, AbortSignal.timeout(limit)]);
  const remote = await remoteMainWatch(w, baseline); // remote mode: the remote's main is polled too
  const moved = await waitForMainToMove({ repo: w.paths.mainWorktree, mainBranch: w.main, baseline: remote?.localBaseline ?? baseline, signal, safetyIntervalMs: w.opts.safetyIntervalMs, remote: remote?.watch });
  if (moved.kind === 'aborted') {
    if (w.stop.stopping || limit === undefined) return 'stopped';
    w.ui.line(say.idleExit(w.name, w.main, limit));
    return 'idle';
  }
  if (moved.kind === 'missing') {
    // renamed or deleted by hand: waking would dispatch again and again on nothing
    w.ui.problem(say.mainGone(w.name, w.main, w.paths.mainWorktree));
    return 'stopped';
  }
  if (moved.via === 'remote') await fetchRemoteMain(w);
  w.ui.line(say.wakes(moved.via === 'remote' ? `${w.remote?.name ?? 'the remote'}'s ${w.main}` : w.main, moved.tip, w.name));
  return 'woke';
}

// ---------------------------------------------------------------------------------
// command line

export async function main(argv: string[]): Promise<number> {
  const valued = ['name', 'worktree-base', 'permission-mode', 'max-idle', 'exit-when-idle', 'max-cycles', 'timeout', 'on-park', 'remote'];
  const spec = { command: 'coven worker', usage, string: valued, boolean: ['once'], passThrough: true };
  const cl = parseCommandLine(argv, spec);
  if (cl.kind === 'exit') return cl.code;
  const opts = workerOptions(cl.args);
  if (typeof opts === 'string') return usageError(spec, opts).code;

  const stop = new StopControl();
  const stopNow = (): never => {
    process.stderr.write(signals.stopNow);
    process.exit(130);
  };
  const requestStop = () => {
    stop.request();
    if (stop.requests === 1) process.stderr.write(signals.stopSoon);
    else stopNow();
  };
  // typed lines steer the running agent; Ctrl-C on a terminal while an agent runs pauses it and offers a menu
  const terminal = attachConsole({ input: process.stdin, ui: consoleUi(), err: process.stderr, control: stop, onStop: requestStop, onStopNow: stopNow });
  process.on('SIGINT', () => terminal.interrupt());
  process.on('SIGTERM', () => terminal.terminate());
  // Over a file-size limit (ulimit -f) a write fails with EFBIG, which coven reports and
  // rolls back; without a listener of ours, signal-exit (through lockfile) re-raises the
  // SIGXFSZ that comes with it and kills the worker half-way, leaving a half-made worktree.
  process.on('SIGXFSZ', () => undefined);

  const exit = await runWorker({ ...opts, ui: terminal.ui }, stop);
  terminal.close();
  if (exit.kind === 'cannot-start') process.stderr.write(`${exit.message}\n`);
  return exitCodes[exit.kind];
}

/** The worker's options from its parsed command line, or what is wrong with it. */
function workerOptions(args: Record<string, unknown>): WorkerOptions | string {
  const count = (key: string): number | undefined | null => {
    const v = args[key] as string | undefined;
    if (v === undefined) return undefined;
    const n = Number(v);
    return Number.isInteger(n) && n > 0 ? n : null;
  };
  const maxIdle = count('max-idle');
  const maxCycles = count('max-cycles');
  const timeout = args.timeout === undefined ? undefined : parseTimeoutMinutes(String(args.timeout));
  const idleFor = args['exit-when-idle'] === undefined ? undefined : parseDuration(String(args['exit-when-idle']));
  if (maxIdle === null) return '--max-idle takes a positive whole number';
  if (idleFor === null) return '--exit-when-idle takes a duration such as 10m, 90s or 1h, at most 24 days';
  if (maxCycles === null) return '--max-cycles takes a positive whole number';
  if (timeout === null) return TIMEOUT_MINUTES_RULE;
  const onPark = (args['on-park'] as string | undefined) ?? 'wait';
  if (onPark !== 'wait' && onPark !== 'continue') return '--on-park is wait or continue';
  return {
    cwd: process.cwd(),
    name: args.name as string | undefined,
    worktreeBase: args['worktree-base'] as string | undefined,
    once: args.once as boolean,
    maxIdle: maxIdle ?? undefined,
    exitWhenIdleMs: idleFor,
    maxCycles: maxCycles ?? undefined,
    permissionMode: args['permission-mode'] as string | undefined,
    extraArgs: (args['--'] as string[] | undefined) ?? [],
    timeoutMs: timeout == null ? undefined : timeout * 60_000,
    onPark,
    remote: args.remote as string | undefined,
    retryMs: numberFromEnv('COVEN_RETRY_MS'),
    safetyIntervalMs: numberFromEnv('COVEN_SAFETY_INTERVAL_MS'),
    refusedRetryMs: numberFromEnv('COVEN_REFUSED_RETRY_MS'),
  };
}

/** A positive number of ms from the env (else the default), at most what a timer holds (a longer one would fire at once). */
function numberFromEnv(name: string): number | undefined {
  const v = Number(process.env[name]);
  return v > 0 ? Math.min(v, MAX_TIMER_MS) : undefined;
}

runAsEntry(import.meta.url, main);
