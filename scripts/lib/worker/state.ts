// worker-state — `<state dir>/workers/<name>.json`: what each worker is doing, for the
// other workers (dispatch prompt, sleep herd guard), `coven status` and `coven gc`.
//
// Each worker writes only its own file, atomically (temp file in the same folder +
// rename), so a reader sees the old or the new content, never half of it. Every read
// is validated with zod; an empty or damaged file is returned as `corrupt`, never thrown.
// Liveness: the file records host, pid and the process start time; a pid that is gone
// or now belongs to another program (different start time) makes the worker `dead`.
// Inputs: the state dir. Outputs: the files above; values.

import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { currentProcess, livenessOf } from '../locks/process-identity.js';
import { workerStateFile } from './state-dir.js';
import { WORKER_NAME } from './name.js';
import { readCapped, whyNotRead } from '../files/read-capped.js';
import { CLI_NAMES } from '../clis/adapter.js';

/** a state file's size limit: coven writes a few hundred bytes; anything bigger is not ours */
export const MAX_STATE_FILE_BYTES = 256 * 1024;

export const PHASES = ['starting', 'dispatching', 'running', 'landing', 'resolving', 'sleeping', 'parked', 'stopping'] as const;
export type Phase = (typeof PHASES)[number];
/** phases in which a live worker is doing (or about to do) work on the repository */
export const BUSY_PHASES: readonly Phase[] = ['starting', 'dispatching', 'running', 'landing', 'resolving'];

const SleepDecisionSchema = z.object({
  /** main tip when dispatch decided to sleep */
  main_tip: z.string(),
  /** the workers that were busy then (their names) */
  busy: z.array(z.string()),
  /** the dispatch agent's one-line reason */
  reason: z.string(),
  at: z.string(),
});

export const WorkerStateSchema = z.object({
  name: z.string().regex(WORKER_NAME),
  pid: z.number().int().positive(),
  /** start time of `pid` (see process-identity.ts); null when it could not be read */
  pid_start: z.string().nullable(),
  host: z.string(),
  branch: z.string(),
  worktree: z.string(),
  phase: z.enum(PHASES),
  agent: z.string().nullable(),
  args: z.record(z.string(), z.string()),
  /** when the current phase began (ISO 8601) */
  since: z.string(),
  /** when the worker started (ISO 8601) */
  started: z.string(),
  session_id: z.string().nullable(),
  cycles: z.number().int().nonnegative(),
  landed: z.number().int().nonnegative(),
  cost_usd: z.number().nonnegative(),
  /** while sleeping: the main tip the worker waits to move away from */
  waiting_on: z.string().nullable(),
  /** the last time dispatch chose sleep: for the herd guard */
  last_sleep: SleepDecisionSchema.nullable(),
  /**
   * the agent CLI running now (its pid is its process group; start as in pid_start): a
   * worker killed with kill -9 leaves it running, and whoever takes over the worktree
   * (a worker of the same name, `coven gc`) ends it first (orphan-session.ts)
   */
  session_process: z.object({ pid: z.number().int().positive(), start: z.string().nullable() }).nullable().optional(),
  /**
   * the worktree's git dir (`<common>/worktrees/<id>`) when coven made or adopted it: coven's
   * git commands there use it, and the worktree is checked against it (lib/worktree/identity.ts)
   */
  git_dir: z.string().nullable().optional(),
  /** while parked on a held land: the `.coven/` files its commits change (lib/worker/coven-hold.ts) */
  held: z.array(z.string()).nullable().optional(),
  /**
   * the agent CLI of the job's session running now, or that ran last (a conflict resumes
   * its session); absent in older files: claude
   */
  cli: z.enum(CLI_NAMES).nullable().optional(),
  /** why `cli` is not the agent's first: `claude refused: quota` (null: it is the first) */
  cli_note: z.string().max(1000).nullable().optional(),
  /** every CLI of the job's agent refused: the worker waits until `at` (ISO 8601), then runs the job again */
  retry: z.object({ at: z.string(), why: z.string().max(1000) }).nullable().optional(),
  /** the claim on the job it runs (lib/claims/claim.ts): a worker that adopts this worktree takes it over at once */
  claim: z.object({ key: z.string().max(300), ref: z.string().max(400), sha: z.string().max(64) }).nullable().optional(),
  /** remote mode: the remote's name, and this machine's name there (absent: local mode) */
  remote: z.object({ name: z.string().max(100), machine: z.string().max(100) }).nullable().optional(),
});

export type WorkerState = z.infer<typeof WorkerStateSchema>;
export type SleepDecision = z.infer<typeof SleepDecisionSchema>;

export type WorkerEntry =
  | { kind: 'worker'; file: string; state: WorkerState; liveness: 'alive' }
  | { kind: 'worker'; file: string; state: WorkerState; liveness: 'dead'; why: 'pid-gone' | 'pid-reused' }
  | { kind: 'corrupt'; file: string; name: string; reason: string };

/** A fresh state for this process: phase `starting`, counters at zero. */
export function newWorkerState(init: { name: string; branch: string; worktree: string }): WorkerState {
  const me = currentProcess();
  const now = new Date().toISOString();
  return {
    ...init,
    pid: me.pid,
    pid_start: me.start,
    host: me.host,
    phase: 'starting',
    agent: null,
    args: {},
    since: now,
    started: now,
    session_id: null,
    cycles: 0,
    landed: 0,
    cost_usd: 0,
    waiting_on: null,
    last_sleep: null,
  };
}

/** Writes `<state dir>/workers/<name>.json` atomically (temp file + rename). */
export async function writeWorkerState(stateDir: string, state: WorkerState): Promise<void> {
  const valid = WorkerStateSchema.parse(state); // a bug if this throws: never write a file readers would reject
  const file = workerStateFile(stateDir, valid.name);
  await mkdir(join(stateDir, 'workers'), { recursive: true });
  const tmp = join(stateDir, 'workers', `.${valid.name}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await writeFile(tmp, JSON.stringify(valid, null, 2) + '\n', { flag: 'wx' }); // new: never through a link planted there
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/**
 * Applies `patch` to this worker's state and writes it. A change of `phase` resets
 * `since` unless the patch sets it. Returns the new state.
 */
export async function updateWorkerState(stateDir: string, current: WorkerState, patch: Partial<WorkerState>): Promise<WorkerState> {
  const next: WorkerState = { ...current, ...patch };
  if (patch.phase !== undefined && patch.phase !== current.phase && patch.since === undefined) next.since = new Date().toISOString();
  await writeWorkerState(stateDir, next);
  return next;
}

export async function removeWorkerState(stateDir: string, name: string): Promise<void> {
  await unlink(workerStateFile(stateDir, name)).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
}

/** Reads and validates one state file (`corrupt` when empty or invalid, null when absent). */
export async function readWorkerState(stateDir: string, name: string): Promise<WorkerEntry | null> {
  const file = workerStateFile(stateDir, name);
  // a regular file only (a FIFO or a link put there must not hang or redirect the reader), capped
  const read = await readCapped(file, MAX_STATE_FILE_BYTES);
  if (read.kind === 'missing') return null;
  if (read.kind !== 'read') return { kind: 'corrupt', file, name, reason: whyNotRead(read) };
  return entryOf(file, name, read.text);
}

/** Every worker state file, sorted by name, each with its liveness; damaged files as `corrupt`. */
export async function readWorkerStates(stateDir: string): Promise<WorkerEntry[]> {
  let names: string[];
  try {
    names = await readdir(join(stateDir, 'workers'));
  } catch {
    return [];
  }
  const entries: WorkerEntry[] = [];
  for (const f of names.sort()) {
    if (!f.endsWith('.json') || f.startsWith('.')) continue; // .<name>.*.tmp: a write in progress
    const entry = await readWorkerState(stateDir, f.slice(0, -'.json'.length));
    if (entry) entries.push(entry);
  }
  return entries;
}

/** Parses a state file's text; pure apart from the liveness check of its pid. */
export function entryOf(file: string, name: string, raw: string): WorkerEntry {
  if (raw.trim() === '') return { kind: 'corrupt', file, name, reason: 'empty file' };
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return { kind: 'corrupt', file, name, reason: 'not valid JSON (truncated?)' };
  }
  const parsed = WorkerStateSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { kind: 'corrupt', file, name, reason: `${issue?.path.join('.') || 'state'}: ${issue?.message ?? 'invalid'}` };
  }
  const state = parsed.data;
  if (state.name !== name) return { kind: 'corrupt', file, name, reason: `names worker '${state.name}', not '${name}'` };
  const live = livenessOf({ host: state.host, pid: state.pid, start: state.pid_start });
  // a worker on another host cannot be checked from here: shown as alive
  if (live.kind === 'dead') return { kind: 'worker', file, state, liveness: 'dead', why: live.reason };
  return { kind: 'worker', file, state, liveness: 'alive' };
}

/** Names of the live workers that are busy (a dead worker is never busy). */
export function busyWorkers(entries: WorkerEntry[]): string[] {
  return entries.flatMap((e) => (e.kind === 'worker' && e.liveness === 'alive' && BUSY_PHASES.includes(e.state.phase) ? [e.state.name] : []));
}
