// remote-status — `coven status --remote`: every machine's workers as they published
// themselves on the remote, then the claims there. The remote is fetched first; when it
// does not answer, the last fetched copy is shown, with its age.
//
// Inputs: the clone, its state dir, the remote target. Outputs: a report; text; JSON.

import { shellQuote } from '../ui/problem.js';
import { describeClaims, openClaimStore } from '../claims/index.js';
import type { ClaimRead } from '../claims/claim.js';
import { humanDuration } from '../ui/human-duration.js';
import { textTable } from '../ui/text-table.js';
import { readRemoteWorkers, describeSilence, type RemoteWorkers } from './remote-workers.js';
import type { RemoteTarget } from './target.js';

export interface RemoteStatus {
  at: number;
  target: RemoteTarget;
  workers: RemoteWorkers;
  /** the claims on the remote (the last fetched copy when it did not answer); a message when they could not be read */
  claims: ClaimRead[] | { failed: string };
}

export async function collectRemoteStatus(o: { repo: string; stateDir: string; target: RemoteTarget; env?: NodeJS.ProcessEnv }): Promise<RemoteStatus> {
  const at = Date.now();
  const workers = await readRemoteWorkers({ ...o, now: at });
  const store = openClaimStore({ repo: o.repo, stateDir: o.stateDir, remote: o.target, ...(o.env ? { env: o.env } : {}) });
  // the remote just did not answer the workers' fetch: read the claims' last copy without asking again
  let claims: ClaimRead[] | { failed: string };
  try {
    const listed = await store.list({ cached: workers.unreachable !== null });
    claims = Array.isArray(listed) ? listed : await store.list({ cached: true }).then((l) => (Array.isArray(l) ? l : { failed: l.message }));
  } catch (err) {
    claims = { failed: err instanceof Error ? err.message : String(err) };
  }
  return { at, target: o.target, workers, claims };
}

/** The report as text; pure. */
export function renderRemoteStatus(r: RemoteStatus): string {
  const t = r.target;
  const lines: string[] = [`remote ${t.name} (${t.url}); this machine: ${t.machine}`];
  const w = r.workers;
  const age = w.fetchedAt === null ? 'never fetched' : `fetched ${humanDuration(Math.max(0, r.at - w.fetchedAt))} ago`;
  if (w.unreachable) lines.push(`the remote ${t.name} does not answer (${w.unreachable.message}); showing the last copy (${age}).`, `  Nothing was changed. Try again later: coven status --remote ${t.name}`);
  else if (w.failed) lines.push(`could not fetch the workers' states from ${t.name}: ${w.failed}; showing the last copy (${age})`);
  lines.push('');
  const rows: string[][] = [['MACHINE', 'WORKER', 'PHASE', 'AGENT', 'SINCE', 'LANDED', 'COST']];
  const notes: string[] = [];
  for (const e of w.workers) {
    if (e.kind === 'damaged') {
      notes.push(`damaged: ${e.machine}/${e.name} (${e.ref} on this clone): ${e.problem}`);
      continue;
    }
    const s = e.record;
    const agent = s.agent ? [s.agent, ...Object.entries(s.args).map(([k, v]) => `${k}=${v}`)].join(' ') : '-';
    const phase = e.silent ? `${s.phase}?` : s.phase;
    rows.push([e.machine, e.name, phase, agent, since(s.since, r.at), String(s.landed), `$${s.cost_usd.toFixed(2)}`]);
    if (e.silent) notes.push(`${e.machine}/${e.name}: ${describeSilence(e)} (its record stays until it is deleted: git push ${shellQuote(t.name)} --delete ${shellQuote(`refs/coven/workers/${e.machine}/${e.name}`)})`);
  }
  if (rows.length === 1) lines.push('no workers on the remote');
  else lines.push(...textTable(rows));
  lines.push(...notes, '', `claims on ${t.name}:`);
  if ('failed' in r.claims) lines.push(`  could not be read: ${r.claims.failed}`);
  else {
    const claimLines = describeClaims(r.claims, undefined, { now: r.at });
    lines.push(...(claimLines.length > 0 ? claimLines : ['- none']));
  }
  return lines.join('\n') + '\n';
}

/** The JSON shape of `coven status --remote --json`. */
export function remoteStatusJson(r: RemoteStatus): object {
  const w = r.workers;
  return {
    remote: { name: r.target.name, url: r.target.url, machine: r.target.machine },
    fetched_at: w.fetchedAt === null ? null : new Date(w.fetchedAt).toISOString(),
    unreachable: w.unreachable?.message ?? null,
    workers: w.workers.flatMap((e) => (e.kind === 'worker' ? [{ ...e.record, unheard_ms: e.unheard_ms, silent: e.silent }] : [])),
    damaged: w.workers.flatMap((e) => (e.kind === 'damaged' ? [{ machine: e.machine, name: e.name, ref: e.ref, problem: e.problem }] : [])),
    claims: r.claims,
  };
}

function since(iso: string, now: number): string {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? '?' : humanDuration(Math.max(0, now - t));
}
