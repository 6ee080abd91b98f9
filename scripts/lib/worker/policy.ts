// worker policy — what the loop does next, as pure functions of a value. The loop's
// counters are a LoopState; each step of the loop returns a new one, and the `end…`
// functions say whether the worker stops there and why. No git, no files, no clock:
// tested from tables (test/worker-policy.test.ts).

export interface LoopState {
  /** sleep decisions in a row with no job in between (--max-idle) */
  idle: number;
  /** agent jobs run (--max-cycles) */
  jobs: number;
  /** failed dispatches in a row (the retry wait doubles with each) */
  failures: number;
  /** woken from a sleep decision, which is only made on a clean worktree level with main: nothing is pending */
  woke: boolean;
  /** the last land was put off (blocked, or its conflict resolution skipped): the next try waits first */
  putOff: boolean;
}

export interface LoopLimits {
  once?: boolean;
  maxIdle?: number;
  maxCycles?: number;
}

/** Why the loop ends (besides a stop request): the worker's exit follows from it. */
export type LoopEnd = 'once' | 'sleep' | 'idle' | 'cycles' | 'stopped' | 'dispatch-failed' | 'job-failed';

/** How a land ended, as the loop sees it. */
export type LandEnd = 'landed' | 'nothing' | 'pending' | 'parked-continue' | 'parked-stop';

export const loopStart: LoopState = { idle: 0, jobs: 0, failures: 0, woke: false, putOff: false };

/** Work left from an earlier cycle lands before a dispatch, except right after a wake (a sleep leaves none). */
export function landsPendingFirst(s: LoopState): boolean {
  return !s.woke;
}

export function cycleStarted(s: LoopState): LoopState {
  return { ...s, woke: false, putOff: false };
}

/**
 * Whether the cycle's dispatch takes the dispatch lock: a worker woken from a sleep, or back
 * from a failed dispatch, does (sleepers woken by one commit then run one session, whose
 * sleep decision sends the rest back to sleep: herd-guard.ts). One just started or coming
 * from a job does not: its claim keeps the job its own, and a dispatch that chose a job
 * another took first dispatches again, told who (docs/benchmarks.md, Scaling: at 8 workers
 * the lock at start cost a third of a second of waiting per job and saved no lost claim).
 */
export function dispatchesUnderLock(s: LoopState): boolean {
  return s.woke || s.failures > 0;
}

export function dispatchFailed(s: LoopState): LoopState {
  return { ...s, failures: s.failures + 1 };
}

/** After a sleep decision: the worker stops (with --once, or after --max-idle sleeps in a row) or sleeps. */
export function sleepDecided(s: LoopState, limits: LoopLimits): { state: LoopState; end: LoopEnd | null } {
  const state = { ...s, failures: 0, idle: s.idle + 1 };
  if (limits.once) return { state, end: 'sleep' };
  if (limits.maxIdle !== undefined && state.idle >= limits.maxIdle) return { state, end: 'idle' };
  return { state, end: null };
}

export function woken(s: LoopState): LoopState {
  return { ...s, woke: true };
}

export function jobStarted(s: LoopState): LoopState {
  return { ...s, failures: 0, idle: 0 };
}

/**
 * After a job and its land. `sessionOk`: the agent's session succeeded. With --once a
 * session that did not succeed and landed nothing ends as `job-failed` (an exit code
 * of its own), whatever else ends as `once`.
 */
export function jobDone(s: LoopState, landed: Exclude<LandEnd, 'parked-stop'>, sessionOk: boolean, limits: LoopLimits): { state: LoopState; end: LoopEnd | null } {
  const state = { ...s, jobs: s.jobs + 1, putOff: landed === 'pending' };
  if (limits.once) return { state, end: !sessionOk && landed === 'nothing' ? 'job-failed' : 'once' };
  if (limits.maxCycles !== undefined && state.jobs >= limits.maxCycles) return { state, end: 'cycles' };
  return { state, end: null };
}

const FIVE_MINUTES = 300_000;

/** The wait before dispatching again after the `failures`th failed dispatch in a row: ×2 each time, at most 5 min. */
export function dispatchRetryWait(failures: number, retryMs = 30_000): number {
  return Math.min(FIVE_MINUTES, retryMs * 2 ** (failures - 1));
}

/** How long the `attempt`th try (from 1) of a put-off land waits for main to move: the retry wait, ×2 each time, at most 5 min. */
export function landRetryWait(attempt: number, retryMs = 30_000): number {
  return Math.min(FIVE_MINUTES, retryMs * 2 ** Math.min(attempt - 1, 4));
}

const THIRTY_MINUTES = 1_800_000;

/**
 * The wait before the `attempt`th retry (from 1) of a job every CLI of whose agent the
 * vendor refused (quota, rate limit, auth, overloaded): 1 min, then ×2 each time, at most
 * 30 min (a quota is often reset by the hour). `firstMs`: COVEN_REFUSED_RETRY_MS.
 */
export function refusedRetryWait(attempt: number, firstMs = 60_000): number {
  return Math.min(Math.max(THIRTY_MINUTES, firstMs), firstMs * 2 ** Math.min(Math.max(attempt, 1) - 1, 20));
}

/** The worker's exit codes (its usage text says what each means). */
export const exitCodes = { done: 0, failed: 1, 'cannot-start': 2, kept: 3, 'dispatch-failed': 4, 'job-failed': 5 } as const;
