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
// machine's name is COVEN_MACHINE, else the host name (letters, digits, . _ - only); a
// bad COVEN_MACHINE is a problem every step reports at start, never a silent fallback.
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
/** the rule a machine name follows, as messages say it */
export const MACHINE_NAME_RULE = 'letters, digits, ".", "_" and "-", starting with a letter or a digit, at most 63 characters, no "..", not ending in ".lock"';

function isMachineName(name: string): boolean {
  return NAME.test(name) && !name.includes('..') && !name.endsWith('.lock');
}

export type MachineLookup =
  | { kind: 'named'; name: string; from: 'COVEN_MACHINE' | 'host name' }
  /** COVEN_MACHINE set to a name that breaks the rule, or a host name that gives none: never a silent fallback */
  | { kind: 'problem'; message: string; next: string[] };

/**
 * This machine's name on the remote: COVEN_MACHINE when it is set (a bad one is a
 * problem, not a fallback: two machines must never share a name by accident), else the
 * host name made into one the same way every time (each run of other characters becomes
 * "-", then what cannot start, end or repeat is cut away).
 */
export function lookupMachine(env: NodeJS.ProcessEnv = process.env, host: string = hostname()): MachineLookup {
  const given = env.COVEN_MACHINE?.trim(); // empty: not set
  if (given) {
    if (isMachineName(given)) return { kind: 'named', name: given, from: 'COVEN_MACHINE' };
    const shown = JSON.stringify(env.COVEN_MACHINE!.slice(0, 80));
    return {
      kind: 'problem',
      message: `COVEN_MACHINE is ${shown}, which is not a machine name (${MACHINE_NAME_RULE})`,
      next: ['export COVEN_MACHINE=<a name of its own for this machine, e.g. box-1>', 'or: unset COVEN_MACHINE    # to use the host name'],
    };
  }
  const cleaned = host
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/\.\.+/g, '.')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 63)
    .replace(/(\.lock)+$/, '');
  if (isMachineName(cleaned)) return { kind: 'named', name: cleaned, from: 'host name' };
  return {
    kind: 'problem',
    message: `the host name ${JSON.stringify(host.slice(0, 80))} gives no machine name (${MACHINE_NAME_RULE}), and COVEN_MACHINE is not set`,
    next: ['export COVEN_MACHINE=<a name of its own for this machine, e.g. box-1>'],
  };
}

/**
 * This machine's name, for a step that checked it at start (resolveRemote does, in every
 * mode): a bad one here is a bug, so it throws rather than fall back.
 */
export function machineName(env: NodeJS.ProcessEnv = process.env): string {
  const m = lookupMachine(env);
  if (m.kind === 'problem') throw new Error(`coven: ${m.message}`);
  return m.name;
}

export type RemoteLookup =
  | { kind: 'local' }
  | { kind: 'remote'; target: RemoteTarget }
  /**
   * `--remote NAME` (or coven.remote) names no remote of this clone, or an unusable name;
   * or COVEN_MACHINE is bad (checked in every mode: local claims name the machine too).
   * `next`: the commands that fix it, when they are not about the remote
   */
  | { kind: 'problem'; message: string; next?: string[] };

/** The remote to coordinate through: `flag` (from --remote), else `git config coven.remote`, else none (local mode). */
export async function resolveRemote(mainWorktree: string, main: string, flag: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<RemoteLookup> {
  const machine = lookupMachine(env);
  if (machine.kind === 'problem') return machine;
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
  return { kind: 'remote', target: { name, url: withoutCredentials(url.stdout.trim()), main, machine: machine.name } };
}

/** What to run to fix a lookup problem: its own commands, else a look at this clone's remotes. */
export function fixOfRemoteProblem(p: Extract<RemoteLookup, { kind: 'problem' }>): string[] {
  return p.next ?? ['git remote -v    # the remotes this clone has'];
}

/** `https://user:token@host/x` → `https://host/x`: a URL as messages may show it. */
export function withoutCredentials(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1');
}
