// remote-workers — every machine's workers as published on the remote
// (refs/coven/workers/<machine>/<worker>, worker-record.ts), read from this clone's mirror
// of them after a fetch with prune (a worker that stopped has deleted its ref).
//
// A worker killed without a word leaves its last record behind. Whether it is still there
// is judged as claims' leases are (lib/claims/lease.ts, the same book of what this
// observer saw when, on its own clock): a record not republished for 3 leases (a live
// worker republishes every lease/3) has not been heard from: probably stopped. The
// publisher's clock (published_at) is shown, never trusted.
//
// Inputs: the clone, its state dir, the remote target. Outputs: values, lines of text.

import { join } from 'node:path';
import { z } from 'zod';
import { leaseMs } from '../claims/claim.js';
import { observe } from '../claims/lease.js';
import { readCapped } from '../files/read-capped.js';
import { writeAtomic } from '../files/write-atomic.js';
import { humanDuration } from '../ui/human-duration.js';
import { fetchRemote, type Unreachable } from './git-remote.js';
import { mirrorPrefix, mirrorRefspecs, type RemoteTarget } from './target.js';
import { readWorkerRefs, type WorkerRecord } from './worker-record.js';

/** a record unchanged (as this observer sees it) for this many leases: not heard from */
export const UNHEARD_LEASES = 3;

export type RemoteWorker =
  /** `unheard_ms`: how long this observer has seen this very record; `silent`: over 3 leases */
  | { kind: 'worker'; machine: string; name: string; record: WorkerRecord; unheard_ms: number; silent: boolean }
  | { kind: 'damaged'; machine: string; name: string; ref: string; problem: string };

export interface RemoteWorkers {
  workers: RemoteWorker[];
  /** when this copy was fetched (this clone's clock, ms); null: never */
  fetchedAt: number | null;
  /** the remote did not answer now: `workers` is the last fetched copy */
  unreachable: Unreachable | null;
  /** the fetch failed otherwise (a broken clone): said as it is */
  failed: string | null;
}

export interface ReadRemoteWorkers {
  repo: string;
  stateDir: string;
  target: RemoteTarget;
  /** false: read the last fetched copy only */
  fetch?: boolean;
  now?: number;
  env?: NodeJS.ProcessEnv;
}

/** Fetches the workers' refs (with prune) and reads them; an unreachable remote gives the last copy, said so. */
export async function readRemoteWorkers(o: ReadRemoteWorkers): Promise<RemoteWorkers> {
  const now = o.now ?? Date.now();
  let unreachable: Unreachable | null = null;
  let failed: string | null = null;
  if (o.fetch !== false) {
    const f = await fetchRemote(o.repo, o.target.name, mirrorRefspecs(o.target, ['workers']), { prune: true });
    if (f.kind === 'fetched') await writeFetchedAt(o.stateDir, o.target.name, now);
    else if (f.kind === 'unreachable') unreachable = f;
    else failed = f.message;
  }
  const prefix = mirrorPrefix(o.target, 'workers');
  const raws = await readWorkerRefs(o.repo, prefix);
  if ('failed' in raws) return { workers: [], fetchedAt: await readFetchedAt(o.stateDir, o.target.name), unreachable, failed: failed ?? raws.failed };
  // the claims' book of what was seen when: a ref in scope that is gone is dropped from it
  const book = await observe(o.stateDir, raws, { prefix }, now);
  const silentAfter = UNHEARD_LEASES * leaseMs(o.env);
  const workers = raws.map((r): RemoteWorker => {
    if (r.record === null) return { kind: 'damaged', machine: r.machine, name: r.name, ref: r.ref, problem: r.problem ?? 'unreadable' };
    const seen = book.get(r.ref);
    const unheard_ms = seen && seen.sha === r.sha ? Math.max(0, now - seen.first_seen_ms) : 0;
    return { kind: 'worker', machine: r.machine, name: r.name, record: r.record, unheard_ms, silent: unheard_ms >= silentAfter };
  });
  workers.sort((a, b) => a.machine.localeCompare(b.machine) || a.name.localeCompare(b.name));
  return { workers, fetchedAt: await readFetchedAt(o.stateDir, o.target.name), unreachable, failed };
}

/** `implement (issue: issues/a.md)` or the phase alone. */
export function describeWork(r: Pick<WorkerRecord, 'phase' | 'agent' | 'args'>): string {
  const args = Object.entries(r.args).map(([k, v]) => `${k}: ${v}`).join(', ');
  return r.agent ? `${r.phase} ${r.agent}${args ? ` (${args})` : ''}` : r.phase;
}

/** `not heard from for 17m: probably stopped`. */
export function describeSilence(w: Extract<RemoteWorker, { kind: 'worker' }>): string {
  return `not heard from for ${humanDuration(w.unheard_ms)}: probably stopped`;
}

/**
 * One line per worker of ANOTHER machine, for the dispatch prompt (this machine's own
 * workers are listed from their state files): `- box-2/brave-otter: running implement
 * (issue: issues/a.md), for 4m`.
 */
export function describeRemoteWorkers(workers: RemoteWorker[], machine: string, now = Date.now()): string[] {
  const lines: string[] = [];
  for (const w of workers) {
    if (w.machine === machine) continue;
    if (w.kind === 'damaged') {
      lines.push(`- ${w.machine}/${w.name}: its state on the remote is damaged (${w.problem})`);
      continue;
    }
    const since = Date.parse(w.record.since);
    const how = w.silent ? describeSilence(w) : Number.isFinite(since) ? `for ${humanDuration(Math.max(0, now - since))}` : 'since an unknown time';
    lines.push(`- ${w.machine}/${w.name}: ${describeWork(w.record)}, ${how}`);
  }
  return lines;
}

/**
 * The other machines' workers for a dispatch prompt (fetched first): lines as
 * describeRemoteWorkers gives them, and a line saying so when the remote did not answer.
 */
export async function otherMachinesWorkers(o: Omit<ReadRemoteWorkers, 'fetch' | 'now'>): Promise<string[]> {
  const now = Date.now();
  const r = await readRemoteWorkers({ ...o, now });
  const lines = describeRemoteWorkers(r.workers, o.target.machine, now);
  if (r.unreachable) lines.push(`(the remote ${o.target.name} does not answer: the other machines' workers as last fetched${r.fetchedAt === null ? ': never' : `, ${humanDuration(Math.max(0, now - r.fetchedAt))} ago`})`);
  return lines;
}

/** The local workers' lines (describeOtherWorkers) followed by the other machines' ones. */
export function withOtherMachines(local: string, remote: string[] | undefined, noneHere: string): string {
  if (!remote || remote.length === 0) return local;
  return local === noneHere ? remote.join('\n') : `${local}\n${remote.join('\n')}`;
}

// when the workers' refs were last fetched, per remote: <state dir>/remote-fetched/<remote>.json

const FetchedSchema = z.object({ at_ms: z.number().finite() });

function fetchedFile(stateDir: string, remote: string): string {
  return join(stateDir, 'remote-fetched', `${remote}.json`);
}

async function writeFetchedAt(stateDir: string, remote: string, at: number): Promise<void> {
  await writeAtomic(fetchedFile(stateDir, remote), JSON.stringify({ at_ms: at }) + '\n').catch(() => undefined);
}

async function readFetchedAt(stateDir: string, remote: string): Promise<number | null> {
  const r = await readCapped(fetchedFile(stateDir, remote), 4096);
  if (r.kind !== 'read') return null;
  try {
    const parsed = FetchedSchema.safeParse(JSON.parse(r.text));
    return parsed.success ? parsed.data.at_ms : null;
  } catch {
    return null;
  }
}
