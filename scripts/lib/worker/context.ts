// context — what every part of a running worker shares: its options, the stop control,
// and the Worker value (where it is, its state file's content, what it kept), with the
// few effects every part needs (set the phase, the session settings, is the worktree
// still there). The loop itself is scripts/worker-loop.ts; its parts are the other
// modules of this folder.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { SessionSettings } from '../agents/agent-job.js';
import type { RepoPaths } from '../git/runner.js';
import type { CliName } from '../clis/adapter.js';
import { processStartTime } from '../locks/process-identity.js';
import type { SessionHandle } from '../session/runner.js';
import type { ReplaceableStep } from '../steps/overrides.js';
import type { HeldClaim } from '../claims/claim.js';
import type { RemoteTarget } from '../remote/target.js';
import { trace } from '../ui/trace.js';
import type { WorkerUi } from '../ui/worker-ui.js';
import type { Here } from './messages.js';
import { updateWorkerState, type Phase, type WorkerState } from './state.js';
import { publishState } from './remote-state.js';

export interface WorkerOptions {
  cwd: string;
  name?: string;
  worktreeBase?: string;
  once?: boolean;
  maxIdle?: number;
  /** exit (done, idle) once one sleep has lasted this long with main not moving */
  exitWhenIdleMs?: number;
  maxCycles?: number;
  permissionMode?: string;
  extraArgs?: string[];
  timeoutMs?: number;
  onPark?: 'wait' | 'continue';
  env?: NodeJS.ProcessEnv;
  ui?: WorkerUi;
  /** how long to wait before retrying after a failed dispatch or a blocked land (grows ×2, at most 5 min) */
  retryMs?: number;
  /** the waiter's safety re-check when no hook fires (default 60 s) */
  safetyIntervalMs?: number;
  /** the first wait after every CLI of an agent refused (grows ×2, at most 30 min; default 1 min) */
  refusedRetryMs?: number;
  /** remote mode: the remote to coordinate through (`--remote NAME`; else `git config coven.remote`; docs/remote.md) */
  remote?: string;
}

export type WorkerExit =
  | { kind: 'done'; why: 'once' | 'sleep' | 'idle' | 'cycles' | 'stopped'; state: WorkerState | null }
  | { kind: 'kept'; why: string; state: WorkerState }
  | { kind: 'cannot-start'; message: string }
  | { kind: 'dispatch-failed'; message: string; state: WorkerState }
  /** --once: the agent's session did not succeed and nothing landed */
  | { kind: 'job-failed'; message: string; state: WorkerState | null }
  /** an unexpected error stopped the loop; `message` is the error's */
  | { kind: 'failed'; message: string; state: WorkerState | null };

export type DoneWhy = Extract<WorkerExit, { kind: 'done' }>['why'];

/** First request: stop once the current phase is safe. Second: stop now. */
export class StopControl {
  private readonly controller = new AbortController();
  requests = 0;
  session: SessionHandle | null = null;
  get signal(): AbortSignal {
    return this.controller.signal;
  }
  get stopping(): boolean {
    return this.requests > 0;
  }
  request(): void {
    this.requests++;
    this.controller.abort();
    this.session?.abort();
  }
}

/** The agent whose session made the commits being landed: its conflicts are resolved with its CLI arguments. */
export interface JobAgent {
  name: string;
  /** the CLI whose session made the commits (a resume uses it); absent: claude */
  cli?: CliName;
  /** that CLI's arguments, from the agent's file */
  cliArgs: readonly string[];
  /** this worker ran the job (not adopted commits, not a replaced run-agent): only then may its agent's opt-in approve a change to `.coven/` (coven-hold.ts) */
  ranHere?: boolean;
}

export interface Worker {
  paths: RepoPaths;
  main: string;
  name: string;
  branch: string;
  worktree: string;
  state: WorkerState;
  ui: WorkerUi;
  opts: WorkerOptions;
  stop: StopControl;
  /** the broken agent files last reported (one per line) */
  agentProblems: string;
  /** refs under refs/coven/ where this worker put work it could not land (told at exit) */
  saved: string[];
  /** the agent of the job whose session is state.session_id (see jobAgent in land.ts) */
  job: JobAgent | null;
  /** the steps this repository replaced with its own executables, looked up at start (lib/steps/overrides.ts) */
  steps: Partial<Record<ReplaceableStep, string>>;
  /** remote mode: the remote this worker coordinates through (lands by push, claims there); null: local mode */
  remote: RemoteTarget | null;
  /** the claim on the job this worker runs now (lib/claims/claim.ts), from the dispatch that took it until its land or give-up */
  claim: HeldClaim | null;
}

/** Where the worker is, for its messages. */
export function here(w: Worker): Here {
  return { name: w.name, branch: w.branch, worktree: w.worktree, main: w.main, mainWorktree: w.paths.mainWorktree, ...(w.remote ? { remote: w.remote.name } : {}) };
}

/** Whether the worker's worktree is still there (a folder with its `.git` file). */
export function worktreePresent(w: Worker): boolean {
  return existsSync(join(w.worktree, '.git'));
}

export async function setPhase(w: Worker, phase: Phase, patch: Partial<WorkerState>): Promise<void> {
  const changed = phase !== w.state.phase;
  w.state = await updateWorkerState(w.paths.stateDir, w.state, { ...patch, phase });
  publishState(w); // remote mode: on the remote too, in the background
  if (changed) {
    trace('phase', { worker: w.name, phase });
    w.ui.header(w.state);
  }
}

export async function updateState(w: Worker, patch: Partial<WorkerState>): Promise<void> {
  w.state = await updateWorkerState(w.paths.stateDir, w.state, patch);
  publishState(w);
}

export function sessionSettings(w: Worker): SessionSettings {
  return {
    stateDir: w.paths.stateDir,
    worker: w.name,
    permissionMode: w.opts.permissionMode,
    extraArgs: w.opts.extraArgs,
    timeoutMs: w.opts.timeoutMs,
    env: w.opts.env,
    display: (line) => w.ui.line(line),
    onSession: async (s) => {
      w.stop.session = s;
      if (s && w.stop.stopping) s.abort();
      // recorded so that whoever takes over after a kill -9 can end the session (orphan.ts)
      const session_process = s?.pid !== undefined ? { pid: s.pid, start: processStartTime(s.pid) } : null;
      await updateState(w, { session_process });
    },
  };
}

export async function sleepFor(ms: number, signal: AbortSignal): Promise<void> {
  await delay(ms, undefined, { signal }).catch(() => undefined);
}
