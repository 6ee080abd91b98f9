// remote main — what "main's tip" is for a worker in remote mode (docs/remote.md): the
// remote's main as this clone last fetched it, refs/remotes/<remote>/<main>, fetched
// first. A remote that does not answer never blocks: the tip is what was fetched last,
// and the answer says the remote did not answer.
//
//   git fetch <remote> +refs/heads/<main>:refs/remotes/<remote>/<main>   (git-remote.ts)
//   git rev-parse refs/remotes/<remote>/<main>

import { revParse } from '../git/runner.js';
import { fetchRemote, type Unreachable } from '../remote/git-remote.js';
import { mirrorRefspecs, trackingRef, type RemoteTarget } from '../remote/target.js';

export type RemoteMain =
  /** offline: the remote did not answer, `tip` is what was fetched last */
  | { kind: 'tip'; tip: string; ref: string; offline: Unreachable | null }
  /** the remote did not answer and this clone never fetched its main */
  | Unreachable
  /** the fetch failed for another reason (the remote has no such branch, a broken repository) */
  | { kind: 'failed'; message: string };

/** Fetches the remote's main into its remote-tracking ref; its tip (or the last fetched one, said so). */
export async function fetchRemoteMain(repo: string, t: RemoteTarget): Promise<RemoteMain> {
  // (a fetch that lost a local ref lock to another worker of this clone is run again by fetchRemote)
  const fetched = await fetchRemote(repo, t.name, mirrorRefspecs(t, ['main']));
  if (fetched.kind === 'failed') return { kind: 'failed', message: fetched.message };
  const ref = trackingRef(t);
  const tip = await revParse(repo, ref);
  if (tip === null) return fetched.kind === 'unreachable' ? fetched : { kind: 'failed', message: `${ref} does not resolve after a fetch` };
  return { kind: 'tip', tip, ref, offline: fetched.kind === 'unreachable' ? fetched : null };
}
