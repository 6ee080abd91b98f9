// remote target — which remote a worker in remote mode coordinates through, and the refs
// coven keeps there and here (docs/remote.md, "What is stored on the remote").
//
// On the remote:                          Mirrored in the clone (by fetch):
//   refs/heads/<main>                        refs/remotes/<remote>/<main>
//   refs/coven/claims/<job key>              refs/coven-remote/<remote>/claims/<job key>
//   refs/coven/workers/<machine>/<worker>    refs/coven-remote/<remote>/workers/<machine>/<worker>
// In local mode the claims are refs of the repository itself: refs/coven/claims/<job key>.
//
// The remote is `--remote NAME`, else the repository's `git config coven.remote`. The
// machine's name is COVEN_MACHINE, else the host name (letters, digits, . _ - only).
// Inputs: the main worktree. Outputs: values; a bad remote is a typed problem.

import { hostname } from 'node:os';
import { git } from '../git/runner.js';

export interface RemoteTarget {
  /** the remote's name in this clone (`origin`) */
  name: string;
  /** its URL as `git remote get-url` gives it, with any user:password@ taken out (for messages) */
  url: string;
  /** the main branch's short name, the same on the remote as here */
  main: string;
  /** this machine's name on the remote (refs/coven/workers/<machine>/…) */
  machine: string;
}

export const CLAIMS_ON_REMOTE = 'refs/coven/claims/';
export const WORKERS_ON_REMOTE = 'refs/coven/workers/';

/** Where this clone keeps its copy of the remote's main: the usual remote-tracking ref. */
export function trackingRef(t: RemoteTarget): string {
  return `refs/remotes/${t.name}/${t.main}`;
}

/** Where this clone keeps its copy of the remote's coven refs (`claims` or `workers`). */
export function mirrorPrefix(t: RemoteTarget, what: 'claims' | 'workers'): string {
  return `refs/coven-remote/${t.name}/${what}/`;
}

/** The refspecs a fetch of main, claims and workers uses (forced: coven's refs are rewritten). */
export function mirrorRefspecs(t: RemoteTarget, what: ('main' | 'claims' | 'workers')[]): string[] {
  return what.map((w) => (w === 'main' ? `+refs/heads/${t.main}:${trackingRef(t)}` : `+refs/coven/${w}/*:${mirrorPrefix(t, w)}*`));
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** This machine's name on the remote: COVEN_MACHINE, else the host name cleaned up. */
export function machineName(env: NodeJS.ProcessEnv = process.env): string {
  const given = env.COVEN_MACHINE?.trim();
  if (given && NAME.test(given) && !given.includes('..') && !given.endsWith('.lock')) return given;
  const cleaned = hostname().replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[^A-Za-z0-9]+/, '').replace(/\.\.+/g, '.').slice(0, 63);
  return cleaned.replace(/\.lock$/, '') || 'machine';
}

export type RemoteLookup =
  | { kind: 'local' }
  | { kind: 'remote'; target: RemoteTarget }
  /** `--remote NAME` (or coven.remote) names no remote of this clone, or an unusable name */
  | { kind: 'problem'; message: string };

/** The remote to coordinate through: `flag` (from --remote), else `git config coven.remote`, else none (local mode). */
export async function resolveRemote(mainWorktree: string, main: string, flag: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<RemoteLookup> {
  let name = flag;
  let from = '--remote';
  if (name === undefined) {
    const cfg = await git(mainWorktree, ['config', '--get', 'coven.remote']);
    if (!cfg.ok || cfg.stdout.trim() === '') return { kind: 'local' };
    name = cfg.stdout.trim();
    from = 'git config coven.remote';
  }
  if (!NAME.test(name) || name.includes('..')) return { kind: 'problem', message: `${from} names "${name.slice(0, 80)}", which is not a remote's name` };
  const url = await git(mainWorktree, ['remote', 'get-url', name]);
  if (!url.ok) {
    const list = await git(mainWorktree, ['remote']);
    const known = list.ok ? list.stdout.split('\n').filter(Boolean) : [];
    return { kind: 'problem', message: `${from} names the remote "${name}", which this clone does not have (${known.length > 0 ? `its remotes: ${known.join(', ')}` : 'it has no remote'}); add it with: git remote add ${name} <url>` };
  }
  return { kind: 'remote', target: { name, url: withoutCredentials(url.stdout.trim()), main, machine: machineName(env) } };
}

/** `https://user:token@host/x` → `https://host/x`: a URL as messages may show it. */
export function withoutCredentials(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1');
}
