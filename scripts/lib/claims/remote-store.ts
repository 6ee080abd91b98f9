// remote-store — claims in remote mode: refs/coven/claims/<key> on the remote, read from
// this clone's copy (refs/coven-remote/<remote>/claims/, fetched with prune before every
// read that decides something) and changed only by an atomic push that expects the value
// read (the server compares under its ref lock: two machines never both win). A remote
// that does not answer is the `unreachable` value, never a throw.
//
// Inputs: the main worktree, the remote target, the state dir. Outputs: a ClaimStore.

import { git } from '../git/runner.js';
import { fetchRemote, lsRemote, pushAtomic, type Unreachable } from '../remote/git-remote.js';
import { CLAIMS_ON_REMOTE, mirrorPrefix, mirrorRefspecs, type RemoteTarget } from '../remote/target.js';
import { RefClaimStore, type ClaimBackend, type StoreOptions } from './ref-store.js';

export function remoteBackend(repo: string, t: RemoteTarget): ClaimBackend {
  const mirror = mirrorPrefix(t, 'claims');
  return {
    mode: 'remote',
    repo,
    readPrefix: mirror,
    storeRef: (key) => CLAIMS_ON_REMOTE + key,
    refresh: () => fetchClaims(repo, t),
    write: async (key, to, expect) => {
      const p = await pushAtomic(repo, t.name, [{ ref: CLAIMS_ON_REMOTE + key, to, expect }]);
      if (p.kind === 'pushed') {
        // this clone's copy follows at once (a cached list sees the write)
        await git(repo, to === null ? ['update-ref', '-d', mirror + key] : ['update-ref', mirror + key, to]);
        return { kind: 'written' };
      }
      if (p.kind !== 'refused') return p;
      if (p.refs.some((r) => r.why === 'stale')) return { kind: 'lost' };
      // the server's ref transaction failed (another push held the ref's lock, or had just
      // moved it): lost if the ref is not what we expected any more
      const now = await lsRemote(repo, t.name, [CLAIMS_ON_REMOTE + key]);
      if (now.kind === 'unreachable') return now;
      if (now.kind === 'listed' && (now.refs.get(CLAIMS_ON_REMOTE + key) ?? null) !== expect) return { kind: 'lost' };
      return { kind: 'failed', message: `the remote refused the claim ${CLAIMS_ON_REMOTE + key}: ${p.refs.map((r) => r.message).join('; ')}` };
    },
    contains: (main, commit) => containsFetching(repo, t, main, commit),
  };
}

export function remoteClaimStore(repo: string, t: RemoteTarget, opts: StoreOptions): RefClaimStore {
  return new RefClaimStore(remoteBackend(repo, t), opts);
}

/** Fetches the remote's claims into this clone's copy, with prune (fetchRemote runs a fetch that lost a local ref lock again). */
async function fetchClaims(repo: string, t: RemoteTarget): Promise<null | Unreachable | { kind: 'failed'; message: string }> {
  const f = await fetchRemote(repo, t.name, mirrorRefspecs(t, ['claims']), { prune: true });
  return f.kind === 'fetched' ? null : f;
}

/** Whether `commit` is on `main`; a commit this clone does not have yet is fetched with the remote's main first. */
async function containsFetching(repo: string, t: RemoteTarget, main: string, commit: string): Promise<boolean | Unreachable> {
  const have = async (): Promise<boolean> => (await git(repo, ['cat-file', '-e', `${commit}^{commit}`])).ok;
  if (!(await have())) {
    const f = await fetchRemote(repo, t.name, mirrorRefspecs(t, ['main']));
    if (f.kind === 'unreachable') return f;
    // still missing: the remote's main does not have it either; it cannot be on what the dispatch saw
    if (!(await have())) return false;
  }
  return (await git(repo, ['merge-base', '--is-ancestor', commit, main])).ok;
}
