// prune — `coven gc`'s share of claims: released claims (tombstones) and damaged claim
// refs that this observer has seen unchanged for longer than `olderThanMs` (a day) are
// deleted, each by CAS from the commit it was read at (a claim taken again meanwhile is
// left alone). With a remote, the worker state refs (refs/coven/workers/…) of workers
// that stopped without deleting theirs (killed, or cut off) go the same way.
//
// Ages come from this observer's book (lease.ts), never from a clock in a record: a ref
// seen for the first time now is a day from being pruned, whatever it says.
//
// Inputs: a claim store; the repository, the remote and the state dir. Outputs: values.

import { git, gitMessage } from '../git/runner.js';
import { fetchRemote, pushAtomic, type Unreachable } from '../remote/git-remote.js';
import { mirrorPrefix, mirrorRefspecs, WORKERS_ON_REMOTE, type RemoteTarget } from '../remote/target.js';
import type { ClaimRead, ClaimStore } from './claim.js';
import { observe } from './lease.js';

export const DAY_MS = 86_400_000;

export interface Pruned {
  /** claim refs deleted: `<key>` (what it was) */
  dropped: string[];
  /** refs that could not be deleted, and why */
  failed: string[];
}

function prunable(c: ClaimRead, olderThanMs: number): boolean {
  if ((c.unchanged_ms ?? 0) < olderThanMs) return false;
  return c.kind === 'corrupt' || c.record.state !== 'held';
}

/** Deletes tombstones (and damaged claim refs) unchanged for `olderThanMs` by this observer's book; `dryRun` only says which. */
export async function pruneTombstones(store: ClaimStore, olderThanMs = DAY_MS, opts: { dryRun?: boolean } = {}): Promise<Pruned | Unreachable> {
  const listed = await store.list();
  if (!Array.isArray(listed)) return listed;
  const out: Pruned = { dropped: [], failed: [] };
  for (const c of listed.filter((x) => prunable(x, olderThanMs))) {
    const what = `${c.key} (${c.kind === 'corrupt' ? 'damaged' : c.record.state})`;
    if (opts.dryRun) {
      out.dropped.push(what);
      continue;
    }
    if (!store.drop) return out;
    const r = await store.drop(c);
    if (r.kind === 'unreachable') return r;
    if (r.kind === 'dropped') out.dropped.push(what);
    else if (r.kind === 'failed') out.failed.push(`${c.ref}: ${r.message}`);
    // lost: changed since it was read (taken again): not old any more
  }
  return out;
}

/**
 * Deletes the remote's refs/coven/workers/<machine>/<worker> refs that this observer has
 * seen unchanged for `olderThanMs` (a live worker republishes its state as a heartbeat).
 */
export async function pruneWorkerRefs(repo: string, stateDir: string, t: RemoteTarget, now: number, olderThanMs = DAY_MS, opts: { dryRun?: boolean } = {}): Promise<Pruned | Unreachable> {
  const f = await fetchRemote(repo, t.name, mirrorRefspecs(t, ['workers']), { prune: true });
  if (f.kind === 'unreachable') return f;
  if (f.kind === 'failed') return { dropped: [], failed: [`fetch of ${WORKERS_ON_REMOTE}: ${f.message}`] };
  const mirror = mirrorPrefix(t, 'workers');
  const r = await git(repo, ['for-each-ref', '--format=%(refname)%00%(objectname)', mirror]);
  if (!r.ok) return { dropped: [], failed: [`git for-each-ref ${mirror}: ${gitMessage(r, { strip: true })}`] };
  const refs = r.stdout.split('\n').flatMap((line) => {
    const [ref = '', sha = ''] = line.split('\0');
    return ref.startsWith(mirror) && sha ? [{ ref, sha }] : [];
  });
  const book = await observe(stateDir, refs, { prefix: mirror }, now);
  const out: Pruned = { dropped: [], failed: [] };
  for (const { ref, sha } of refs) {
    const seen = book.get(ref);
    if (!seen || seen.sha !== sha || now - seen.first_seen_ms < olderThanMs) continue;
    const name = ref.slice(mirror.length);
    if (opts.dryRun) {
      out.dropped.push(name);
      continue;
    }
    const p = await pushAtomic(repo, t.name, [{ ref: WORKERS_ON_REMOTE + name, to: null, expect: sha }]);
    if (p.kind === 'unreachable') return p;
    if (p.kind === 'pushed') {
      out.dropped.push(name);
      await git(repo, ['update-ref', '-d', ref, sha]);
    } else if (p.kind === 'failed') out.failed.push(`${WORKERS_ON_REMOTE + name}: ${p.message}`);
    // refused: it changed meanwhile (the worker is back)
  }
  return out;
}
