// worker-record — a worker's state as published on the remote (docs/remote.md, "What is
// stored on the remote"): the ref refs/coven/workers/<machine>/<worker> points at a commit
// with the empty tree and no parent whose message is one WorkerRecord as JSON. The record
// holds what other machines need to see (phase, agent, args, since, cost …) and no path of
// the machine that published it, apart from its worktree folder's last name.
//
// Read back from the clone's mirror of those refs (refs/coven-remote/<remote>/workers/…),
// each ref is untrusted: another machine (or anyone with push access) wrote it. A ref that
// is not a small parentless commit with the empty tree, or whose message is not a record
// that names that very machine and worker, is read as damaged, never thrown.
//
// Inputs: a repository, a worker's state. Outputs: commits, values.

import { basename } from 'node:path';
import { z } from 'zod';
import { parseRecordMessage, readRecordRefs, writeRecordCommit } from '../git/record-refs.js';
import { CLI_NAMES } from '../clis/adapter.js';
import { WORKER_NAME } from '../worker/name.js';
import { PHASES, type WorkerState } from '../worker/state.js';
import { WORKERS_ON_REMOTE } from './target.js';

export const WORKER_RECORD_FORMAT = 'worker/1';
/** a record's size limit (coven writes a few hundred bytes) */
export const MAX_WORKER_RECORD_BYTES = 16 * 1024;

export const WorkerRecordSchema = z.object({
  coven: z.literal(WORKER_RECORD_FORMAT),
  name: z.string().regex(WORKER_NAME),
  // as machineName() makes them: a name another machine pushed goes into messages and commands
  machine: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/),
  phase: z.enum(PHASES),
  agent: z.string().max(200).nullable(),
  args: z.record(z.string().max(200), z.string().max(2000)),
  cli: z.enum(CLI_NAMES).nullable(),
  branch: z.string().max(300),
  /** the worktree folder's last name only: no path of the publishing machine */
  worktree: z.string().max(300),
  /** the PUBLISHER's clock (ISO 8601): shown, never trusted */
  since: z.string().max(100),
  started: z.string().max(100),
  cycles: z.number().int().nonnegative(),
  landed: z.number().int().nonnegative(),
  cost_usd: z.number().nonnegative().finite(),
  published_at: z.string().max(100),
});
export type WorkerRecord = z.infer<typeof WorkerRecordSchema>;

/** The ref of one worker on the remote. */
export function workerRefOnRemote(machine: string, name: string): string {
  return `${WORKERS_ON_REMOTE}${machine}/${name}`;
}

/** What of a worker's local state goes on the remote. */
export function workerRecordOf(state: WorkerState, machine: string, now = new Date()): WorkerRecord {
  return {
    coven: WORKER_RECORD_FORMAT,
    name: state.name,
    machine,
    phase: state.phase,
    agent: state.agent,
    args: state.args,
    cli: state.cli ?? null,
    branch: state.branch,
    worktree: basename(state.worktree),
    since: state.since,
    started: state.started,
    cycles: state.cycles,
    landed: state.landed,
    cost_usd: state.cost_usd,
    published_at: now.toISOString(),
  };
}

/** Makes the record's commit (on no ref yet) and returns its id. */
export async function writeWorkerRecordCommit(repo: string, record: WorkerRecord): Promise<string> {
  return writeRecordCommit(repo, JSON.stringify(WorkerRecordSchema.parse(record)));
}

/** A record commit's message as a record of `machine`/`name`, or why it is not one. */
export function parseWorkerRecord(text: string, machine: string, name: string): { record: WorkerRecord } | { problem: string } {
  const parsed = parseRecordMessage(text, WorkerRecordSchema, MAX_WORKER_RECORD_BYTES);
  if (!('record' in parsed)) return { problem: parsed.problem === 'schema' ? `its message is not a ${WORKER_RECORD_FORMAT} record (${parsed.text})`.slice(0, 300) : parsed.text };
  if (parsed.record.machine !== machine || parsed.record.name !== name) return { problem: `its record names ${parsed.record.machine}/${parsed.record.name}, not ${machine}/${name}` };
  return { record: parsed.record };
}

/** One worker ref as read from the mirror: its record, or why it cannot be read. */
export interface WorkerRaw {
  ref: string;
  sha: string;
  machine: string;
  name: string;
  record: WorkerRecord | null;
  problem: string | null;
}

/** Every worker ref under `prefix` (a mirror prefix ending in /workers/), or only `exact`, each with its record or why it has none. */
export async function readWorkerRefs(repo: string, prefix: string, exact?: string): Promise<WorkerRaw[] | { failed: string }> {
  const found = await readRecordRefs(repo, prefix, MAX_WORKER_RECORD_BYTES, exact);
  if ('failed' in found) return found;
  return found.map((f) => {
    const [machine = '', name = '', ...more] = f.ref.slice(prefix.length).split('/');
    const raw: WorkerRaw = { ref: f.ref, sha: f.sha, machine, name, record: null, problem: f.problem };
    if (more.length > 0 || machine === '' || name === '') raw.problem = 'its name is not workers/<machine>/<worker>';
    if (raw.problem !== null || f.text === null) return raw;
    const parsed = parseWorkerRecord(f.text, machine, name);
    if ('record' in parsed) raw.record = parsed.record;
    else raw.problem = parsed.problem;
    return raw;
  });
}
