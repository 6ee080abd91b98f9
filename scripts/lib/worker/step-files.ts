// step-files — the files a worker's steps hand each other (docs/steps.md), one set per
// worker under <state dir>/steps/<name>/: decision.json (the last dispatch decision) and
// session.json (the session that made the commits on the branch). The worker writes them
// each cycle, as a hand-run loop would; a replaced step reads them (COVEN_DECISION,
// COVEN_SESSION); a worker that takes over a dead worker's worktree reads session.json to
// resolve a conflict by resuming that session, with that agent's CLI arguments.

import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeDecisionFile, type DecisionFile } from '../steps/decision-file.js';
import { cliOfRecord, readSessionRecord, writeSessionRecord, type SessionRecord } from '../steps/session-record.js';
import type { JobAgent } from './context.js';

export function stepFilePaths(stateDir: string, worker: string): { dir: string; decision: string; session: string } {
  const dir = join(stateDir, 'steps', worker);
  return { dir, decision: join(dir, 'decision.json'), session: join(dir, 'session.json') };
}

export async function writeStepDecision(stateDir: string, worker: string, d: DecisionFile): Promise<void> {
  await writeDecisionFile(stepFilePaths(stateDir, worker).decision, d);
}

export async function writeStepSession(stateDir: string, worker: string, r: SessionRecord): Promise<void> {
  await writeSessionRecord(stepFilePaths(stateDir, worker).session, r);
}

/** A new job starts: the record of the last one no longer describes the branch's newest commits. */
export async function clearStepSession(stateDir: string, worker: string): Promise<void> {
  await rm(stepFilePaths(stateDir, worker).session, { force: true });
}

/** The worker is gone with nothing left to land: its step files go too. */
export async function removeStepFiles(stateDir: string, worker: string): Promise<void> {
  await rm(stepFilePaths(stateDir, worker).dir, { recursive: true, force: true });
}

/** The session record a worker of this name left for this branch; null when there is none, or it is not valid, or not this worker's. */
export async function readStepSession(stateDir: string, worker: string, branch: string): Promise<SessionRecord | null> {
  const read = await readSessionRecord(stepFilePaths(stateDir, worker).session);
  if (read.kind !== 'read') return null;
  const r = read.record;
  return r.worker === worker && r.branch === branch ? r : null;
}

/** After a conflict resolution: the record names the session it ended with, and what it cost (as resolve-conflict rewrites it). */
export async function recordResolution(stateDir: string, worker: string, branch: string, r: { sessionId: string | null; costUsd: number }): Promise<void> {
  const record = await readStepSession(stateDir, worker, branch);
  if (!record) return;
  await writeStepSession(stateDir, worker, { ...record, session_id: r.sessionId ?? record.session_id, cost_usd: record.cost_usd + r.costUsd, ended_at: new Date().toISOString() });
}

export function jobOfRecord(r: SessionRecord): JobAgent {
  return { name: r.agent, cli: cliOfRecord(r), cliArgs: r.cli_args };
}
