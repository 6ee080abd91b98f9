// git-remote — the few git commands that talk to a remote, for remote mode (docs/remote.md):
// fetch, ls-remote of a few refs, and an atomic push of several ref updates, each with the
// value it expects on the remote (a compare-and-swap the server does under its ref lock).
// Every one of them runs through the git runner with a time limit, so a network that
// hangs cannot hang a worker, and its failure comes back as a value: `unreachable` (the
// remote did not answer: down, refused, timed out) or, for a push, which ref was refused
// and why. Nothing here decides what to do about it.
//
// Inputs: a repository (any folder in it), a remote's name, refs. Outputs: values.

import { git, gitMessage, TIMED_OUT, type GitLimits } from '../git/runner.js';

/** How long one remote command may take before it is ended (COVEN_REMOTE_TIMEOUT_MS, default 60 s). */
export function remoteTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  const v = Number(env.COVEN_REMOTE_TIMEOUT_MS);
  return v > 0 ? Math.min(v, 3_600_000) : 60_000;
}

export const ZERO_ID = '0000000000000000000000000000000000000000';

/** The remote did not answer (down, connection refused, timed out); what git said, in one line. */
export interface Unreachable {
  kind: 'unreachable';
  remote: string;
  message: string;
}

/**
 * One ref to change on the remote.
 *   to:     the commit to set it to; null deletes it
 *   expect: 'fast-forward' → only a fast-forward of what the remote has (never forced);
 *           a commit id    → only if the remote has exactly that (compare-and-swap; may rewind);
 *           null           → only if the remote has no such ref (create)
 */
export interface RefUpdate {
  ref: string;
  to: string | null;
  expect: 'fast-forward' | string | null;
}

/** Why the remote refused one ref of a push. */
export type RefusedWhy =
  /** the remote's ref is not an ancestor of ours (main moved): fetch, rebase, push again */
  | 'non-fast-forward'
  /** the remote's ref is not what we expected (a compare-and-swap lost) */
  | 'stale'
  /** this ref was fine, but another ref of the same atomic push was refused */
  | 'atomic'
  /** the server refused it (a hook, a protected branch, permissions): `message` says */
  | 'remote-rejected'
  | 'other';

export type PushOutcome =
  | { kind: 'pushed' }
  /** nothing was changed on the remote (the push is atomic) */
  | { kind: 'refused'; refs: { ref: string; why: RefusedWhy; message: string }[] }
  | Unreachable
  /** git failed for another reason (a bad ref name, a missing object): a bug or a broken repo */
  | { kind: 'failed'; message: string };

const NO_HOOKS_NO_GC = ['-c', 'gc.auto=0', '-c', 'maintenance.auto=false'];
/**
 * A worker runs unattended: git must never wait for a password typed at a terminal (it
 * fails at once instead, and the message says to set up credentials; docs/remote.md).
 */
const NO_PROMPT: NodeJS.ProcessEnv = { GIT_TERMINAL_PROMPT: '0' };

function limits(extra?: GitLimits): GitLimits {
  return { timeoutMs: extra?.timeoutMs ?? remoteTimeoutMs(), signal: extra?.signal };
}

/** Whether a failed remote command failed because the remote did not answer. */
function unreachable(remote: string, r: { code: number; stderr: string; stdout: string }): Unreachable | null {
  const text = `${r.stderr}\n${r.stdout}`;
  // the server answered, but cannot do what coven needs: not a network failure to wait out
  if (/does not support --atomic/i.test(text)) return null;
  const network = /could not read from remote|unable to connect|connection refused|connection reset|connection timed out|could not resolve host|network is unreachable|the remote end hung up|early eof|broken pipe|failed to connect|no route to host|timed out|expected flush after ref listing|unexpected disconnect|protocol error: bad line length/i;
  if (r.code !== TIMED_OUT && !network.test(text)) return null;
  const line = text.split('\n').map((l) => l.replace(/^(fatal|error): /, '').trim()).find((l) => l !== '') ?? `git exited with ${r.code}`;
  return { kind: 'unreachable', remote, message: line.slice(0, 300) };
}

/**
 * `git fetch <remote> <refspecs…>` without tags, hooks or auto-gc; `prune` removes local
 * copies of refs the remote no longer has (only under the refspecs' destinations).
 */
export async function fetchRemote(repo: string, remote: string, refspecs: string[], opts: GitLimits & { prune?: boolean } = {}): Promise<{ kind: 'fetched' } | Unreachable | { kind: 'failed'; message: string }> {
  const args = [...NO_HOOKS_NO_GC, 'fetch', '--quiet', '--no-tags', '--no-recurse-submodules', '--no-write-fetch-head', ...(opts.prune ? ['--prune'] : []), remote, ...refspecs];
  // the workers of one clone fetch at the same time: a fetch that lost the race for a local
  // ref's lock ("cannot lock ref …: is at X but expected Y") is tried again, a few times; so
  // is one that met another worker's worktree half made by `git worktree add` (its HEAD not
  // a commit yet: "bad object worktrees/<id>/HEAD")
  for (let attempt = 1; ; attempt++) {
    const r = await git(repo, args, NO_PROMPT, limits(opts));
    if (r.ok) return { kind: 'fetched' };
    const halfMade = /bad object worktrees\//i.test(r.stderr);
    const down = halfMade ? null : unreachable(remote, r);
    if (down) return down;
    if (attempt >= FETCH_ATTEMPTS || !(halfMade || /cannot lock ref|unable to update local ref/i.test(r.stderr))) return { kind: 'failed', message: gitMessage(r, { strip: true }) };
    await new Promise((done) => setTimeout(done, halfMade ? 250 * attempt : 30 + Math.random() * 120 * attempt));
  }
}

/** how many times a fetch that lost a local ref lock is run at most */
const FETCH_ATTEMPTS = 5;

/**
 * The remote's refs matching `patterns` (full ref names, or `refs/coven/claims/*`):
 * one cheap request, no objects fetched. Only exact matches of a plain pattern count.
 */
export async function lsRemote(repo: string, remote: string, patterns: string[], opts: GitLimits = {}): Promise<{ kind: 'listed'; refs: Map<string, string> } | Unreachable | { kind: 'failed'; message: string }> {
  const r = await git(repo, ['ls-remote', '--refs', remote, ...patterns], NO_PROMPT, limits(opts));
  if (!r.ok) return unreachable(remote, r) ?? { kind: 'failed', message: gitMessage(r, { strip: true }) };
  const refs = new Map<string, string>();
  for (const line of r.stdout.split('\n')) {
    const m = /^([0-9a-f]{40,64})\t(refs\/\S+)$/.exec(line);
    if (!m) continue;
    const [, sha = '', ref = ''] = m;
    if (patterns.some((p) => (p.endsWith('/*') ? ref.startsWith(p.slice(0, -1)) : ref === p))) refs.set(ref, sha);
  }
  return { kind: 'listed', refs };
}

/**
 * Pushes every update at once (`git push --atomic --porcelain`): the remote applies all of
 * them or none. Each is checked against what it expects (see RefUpdate); the server
 * re-checks the old value under its ref lock, so two machines racing on one ref can never
 * both win. No pre-push hook runs (`--no-verify`): the commits were made, under the
 * repository's commit hooks, in a worker's worktree.
 */
export async function pushAtomic(repo: string, remote: string, updates: RefUpdate[], opts: GitLimits = {}): Promise<PushOutcome> {
  if (updates.length === 0) return { kind: 'pushed' };
  const args = [...NO_HOOKS_NO_GC, 'push', '--atomic', '--porcelain', '--no-verify', '--quiet'];
  const specs: string[] = [];
  for (const u of updates) {
    if (u.expect !== 'fast-forward') args.push(`--force-with-lease=${u.ref}:${u.expect ?? ZERO_ID}`);
    // never `+`: a forced refspec would win over its lease
    specs.push(`${u.to ?? ''}:${u.ref}`);
  }
  const r = await git(repo, [...args, remote, ...specs], NO_PROMPT, limits(opts));
  const refs = parsePorcelain(r.stdout);
  if (r.ok) return { kind: 'pushed' };
  const refused = refs.filter((x) => x.flag === '!');
  if (refused.length > 0) return { kind: 'refused', refs: lostUnderLock(refused.map((x) => ({ ref: x.ref, why: refusedWhy(x.summary), message: x.summary })), updates, r.stderr) };
  if (/does not support --atomic/i.test(r.stderr)) return { kind: 'failed', message: `the remote ${remote} does not take atomic pushes, which coven needs to land main and release the job's claim together (a git server takes them unless its receive.advertiseAtomic is false)` };
  return unreachable(remote, r) ?? { kind: 'failed', message: gitMessage(r, { strip: true }) };
}

/** `<flag>\t<from>:<to>\t<summary>` lines of `git push --porcelain`. */
function parsePorcelain(out: string): { flag: string; ref: string; summary: string }[] {
  const lines: { flag: string; ref: string; summary: string }[] = [];
  for (const line of out.split('\n')) {
    const m = /^([ +\-*!=])\t([^\t]*):([^\t]+)\t(.*)$/.exec(line);
    if (m) lines.push({ flag: m[1] ?? '', ref: m[3] ?? '', summary: m[4] ?? '' });
  }
  return lines;
}

/**
 * A compare-and-swap lost on the server after the client's own check passed (another push
 * changed the ref in between): the server fails the whole transaction and reports every
 * ref as "atomic transaction failed"; only its error line names the ref it could not lock
 * ("cannot lock ref '<ref>': is at X but expected Y"). That ref is `stale` (or, for an
 * update that expected a fast-forward, `non-fast-forward`: it moved meanwhile).
 */
function lostUnderLock(refs: { ref: string; why: RefusedWhy; message: string }[], updates: RefUpdate[], stderr: string): { ref: string; why: RefusedWhy; message: string }[] {
  if (!refs.every((x) => x.why === 'atomic')) return refs;
  // only a value that was not the expected one; a lock file left on the server ("File exists") is the server's problem, said as it is
  const lost = /is at [0-9a-f]+ but expected|reference already exists|reference is missing|unable to resolve reference/;
  const locked = new Map([...stderr.matchAll(/cannot lock ref '([^'\n]+)': ([^\n]*)/g)].filter((m) => lost.test(m[2]!)).map((m) => [m[1]!, m[2]!.trim()]));
  return refs.map((x) => {
    const why = locked.get(x.ref);
    if (why === undefined) return x;
    const expect = updates.find((u) => u.ref === x.ref)?.expect;
    return { ref: x.ref, why: expect === 'fast-forward' ? 'non-fast-forward' : 'stale', message: `${x.message}: cannot lock ref: ${why}`.slice(0, 500) };
  });
}

function refusedWhy(summary: string): RefusedWhy {
  if (/stale info/.test(summary)) return 'stale';
  if (/atomic/.test(summary)) return 'atomic';
  if (/non-fast-forward|fetch first/.test(summary)) return 'non-fast-forward';
  if (/remote rejected/.test(summary)) return 'remote-rejected';
  return 'other';
}
