// local-store — claims in local mode: refs/coven/claims/<key> in the repository itself,
// shared by every worktree, each change a compare-and-swap by `git update-ref <ref> <new>
// <old>` (git checks the old value under the ref's lock file). A live holder on this
// host is never expired (its pid is checked), so a local claim needs no heartbeat to stay
// held; heartbeats still work, for a holder whose pid cannot be checked.
//
// Inputs: the repository, the state dir (the lease book). Outputs: a ClaimStore.

import { git, gitMessage } from '../git/runner.js';
import { ZERO_ID } from '../remote/git-remote.js';
import { CLAIM_PREFIX } from './claim.js';
import { RefClaimStore, type ClaimBackend, type StoreOptions } from './ref-store.js';

/** How long update-ref waits for another writer's lock on the same ref before it gives up. */
const REF_LOCK_WAIT_MS = 3_000;
/** update-ref tries when the ref did not change but the write failed (a lock held past the wait) */
const TRIES = 3;

export function localBackend(repo: string): ClaimBackend {
  return {
    mode: 'local',
    repo,
    readPrefix: CLAIM_PREFIX,
    storeRef: (key) => CLAIM_PREFIX + key,
    refresh: async () => null,
    write: (key, to, expect) => updateRef(repo, CLAIM_PREFIX + key, to, expect),
    contains: async (main, commit) => (await git(repo, ['merge-base', '--is-ancestor', commit, main])).ok,
  };
}

export function localClaimStore(repo: string, opts: StoreOptions): RefClaimStore {
  return new RefClaimStore(localBackend(repo), opts);
}

/**
 * `git update-ref` as a CAS. A failure while the ref still holds what we expected (the
 * lock of a writer that failed, a packing of refs) is tried again, a few times; a ref that
 * moved is `lost`.
 */
async function updateRef(repo: string, ref: string, to: string | null, expect: string | null): ReturnType<ClaimBackend['write']> {
  const args = ['-c', `core.filesRefLockTimeout=${REF_LOCK_WAIT_MS}`, 'update-ref', '-m', 'coven: claim'];
  const change = to === null ? ['-d', ref, expect ?? ZERO_ID] : [ref, to, expect ?? ZERO_ID];
  let message = '';
  for (let i = 0; i < TRIES; i++) {
    const r = await git(repo, [...args, ...change]);
    if (r.ok) return { kind: 'written' };
    message = gitMessage(r, { strip: true });
    const now = await git(repo, ['rev-parse', '--verify', '--quiet', ref]);
    const at = now.ok ? now.stdout.trim() : null;
    if (at !== expect) return { kind: 'lost' };
  }
  return { kind: 'failed', message: `git update-ref ${ref} failed: ${message}` };
}
