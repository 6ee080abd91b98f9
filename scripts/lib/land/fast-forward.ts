// fast-forward — the land's last step: move the branch it lands on from `from` to `to`,
// under the land lock (part of the land, lib/land/land.ts). Where the branch is checked
// out, that checkout moves too, unless the user has work at a path the fast-forward
// would write; where it is checked out nowhere, the ref alone moves. In git commands:
//
//   (where main is checked out: its HEAD file, else git worktree list --porcelain)
//   git status --porcelain=v2 --branch -z -- <the changed paths>   in main's checkout:
//       main's tip now (still `from`?) and the user's files in the way, in one command
//   sh: git read-tree -m -u <from> <to> ; git update-ref --stdin ;
//       git hook run post-merge          (lib/land/locked-merge, under main's index.lock)
//   or, checked out nowhere: git merge-base --is-ancestor ∥ git rev-parse ;
//       git update-ref --stdin
//
// Every move of main is a compare-and-swap from `from`: when it succeeds, main is `to`,
// which contains `from` (it was rebased onto it), so no land is lost; when main moved
// meanwhile, the caller rebases onto the new tip and calls again. The caller's own ref
// updates (`withMain`: the job claim's tombstone) go in the same transaction
// (lib/git/ref-transaction.ts): main moves and they change together, or nothing does.

import { lstatSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { git, gitMessage, gitOut, listWorktrees, parseStatusV2Z, pinEnv, revParse, type GitResult, type WorktreeEntry } from '../git/runner.js';
import { hooksTheLandChanges, NO_HOOKS } from '../git/setup-guard.js';
import { branchInOperation, gitDirOfWorktree, operationInProgress, type GitOperation } from '../git/operation.js';
import { withLandLock } from '../locks/land-lock.js';
import { fastForwardBlockers, type OnDisk, type TreeChange } from './ff-blockers.js';
import { lockedMerge, pathsInTheWay } from './locked-merge.js';
import { changesBetween } from './rebase.js';
import { staleUpdates, transactionText, type LocalRefUpdate } from '../git/ref-transaction.js';

/** Why main cannot be fast-forwarded right now; worth retrying later. */
export type Busy =
  | { reason: 'operation'; mainWorktree: string; operation: GitOperation }
  | { reason: 'index-locked'; mainWorktree: string; lockFile: string }
  | { reason: 'land-locked'; lockFile: string }
  /** a ref lock (`refs/heads/main.lock`, `packed-refs.lock`): a git command holds it, or one that died left it */
  | { reason: 'ref-locked'; lockFile: string }
  | { reason: 'kept-moving'; retries: number };

export type FastForwardResult =
  /** hooksNotRun: hooks this fast-forward wrote into the checkout's hooks folder; no hook ran (lib/git/setup-guard) */
  | { kind: 'fast-forwarded'; main: string; checkout: string | null; hooksNotRun?: string[] }
  | { kind: 'main-moved'; tip: string }
  | { kind: 'main-blocked'; files: string[]; mainWorktree: string }
  | { kind: 'main-busy'; busy: Busy }
  /** an update of `withMain` did not find what it expected at `ref` (the claim is not the caller's any more): nothing moved */
  | { kind: 'update-stale'; ref: string; message: string }
  | { kind: 'failed'; message: string };

export interface FastForwardOptions {
  /** any directory of the repository */
  repo: string;
  stateDir: string;
  /** short name of the branch to move */
  onto: string;
  /** the tip `to` was rebased onto; main must still be exactly here */
  from: string;
  to: string;
  /** for the reflog, e.g. "coven land coven/brave-otter" */
  reason?: string;
  /** `git worktree list` if already read: saves a call when main's checkout is unchanged */
  worktrees?: WorktreeEntry[];
  /** `changesBetween(from, to)` if already read */
  changes?: TreeChange[];
  /** the caller holds the land lock already (a resolution that took priority) */
  landLockHeld?: boolean;
  /** more ref changes for the same transaction as main's move (the job claim's tombstone) */
  withMain?: LocalRefUpdate[];
}

/**
 * Moves `onto` from `from` to `to`, under the land lock. Where the branch is checked
 * out, that checkout moves too, unless the user has work at a path the fast-forward
 * would write: then nothing changes and the files are returned. `main-moved` means
 * another land won: rebase onto the returned tip and call again.
 */
export async function fastForwardMain(o: FastForwardOptions): Promise<FastForwardResult> {
  if (o.landLockHeld) return fastForwardLocked(o);
  const locked = await withLandLock(o.stateDir, () => fastForwardLocked(o), { owner: o.reason ?? 'coven land' });
  if (locked.kind === 'lock-busy') return { kind: 'main-busy', busy: { reason: 'land-locked', lockFile: locked.path } };
  return locked.value;
}

async function fastForwardLocked(o: FastForwardOptions): Promise<FastForwardResult> {
  const ref = `refs/heads/${o.onto}`;
  const reason = o.reason ?? 'coven land';
  const { checkout, worktrees } = await findCheckout(o, ref);
  if (!checkout) return updateRefOnly(o, ref, reason, worktrees);

  const mainWorktree = checkout.path;
  const mainGitDir = gitDirOfWorktree(mainWorktree);
  if (mainGitDir) {
    const op = operationInProgress(mainGitDir);
    if (op) return { kind: 'main-busy', busy: { reason: 'operation', mainWorktree, operation: op } };
    const lockFile = resolve(mainGitDir, 'index.lock');
    if (pathKind(lockFile) !== 'missing') return { kind: 'main-busy', busy: { reason: 'index-locked', mainWorktree, lockFile } };
  }
  const changes = o.changes ?? (await changesBetween(o.repo, o.from, o.to));
  const seen = await checkoutNow(o.repo, ref, mainWorktree, changes);
  if (seen.tip === null) return { kind: 'failed', message: `branch ${o.onto} no longer exists` };
  if (seen.tip !== o.from || seen.head !== ref) return { kind: 'main-moved', tip: seen.tip };
  const blockers = fastForwardBlockers(changes, seen.dirty, (p) => pathKind(resolve(mainWorktree, p)));
  if (blockers.length > 0) return { kind: 'main-blocked', files: blockers, mainWorktree };

  // the index stays locked until it matches the new tip, so a commit of the user's cannot
  // slip in between (locked-merge.ts); without a git dir to lock, plain git merge, with
  // --no-overwrite-ignore as git's own last line of defence for ignored files
  // hooks this fast-forward writes (a committed hooks folder) are the agent's: run no hook
  const hooksNotRun = hooksTheLandChanges(o.stateDir, changes.map((c) => c.path));
  const env = { ...(hooksNotRun.length > 0 ? pinEnv(NO_HOOKS, {}) : {}), GIT_REFLOG_ACTION: reason };
  if (!mainGitDir && (o.withMain ?? []).length > 0) return { kind: 'failed', message: `${mainWorktree} has no git dir of its own to lock: main and the claim cannot move together there` };
  const merge = mainGitDir
    ? await lockedMerge(mainWorktree, mainGitDir, ref, o.from, o.to, env, o.withMain)
    : await git(mainWorktree, ['merge', '--ff-only', '--no-overwrite-ignore', '--quiet', o.to], env);
  if (merge.ok) return { kind: 'fast-forwarded', main: o.to, checkout: mainWorktree, ...(hooksNotRun.length > 0 ? { hooksNotRun } : {}) };
  const moved = await movedOrStale(o, ref, merge);
  if (moved) return moved;
  const said = gitMessage(merge, { strip: true });
  const lock = /'([^']*index\.lock)'/.exec(said);
  if (lock?.[1]) return { kind: 'main-busy', busy: { reason: 'index-locked', mainWorktree, lockFile: lock[1] } };
  const refLock = refLockIn(said);
  if (refLock) return { kind: 'main-busy', busy: { reason: 'ref-locked', lockFile: refLock } };
  const inTheWay = [
    ...pathsInTheWay(merge.stderr),
    ...said
      .split('\n')
      .filter((l) => l.startsWith('\t'))
      .map((l) => l.trim()),
  ];
  if (inTheWay.length > 0) return { kind: 'main-blocked', files: inTheWay, mainWorktree };
  return { kind: 'failed', message: said };
}

/** After a move of main that failed: main moved meanwhile, or an update of `withMain` found something else; else null. */
async function movedOrStale(o: FastForwardOptions, ref: string, failed: GitResult): Promise<FastForwardResult | null> {
  const again = await revParse(o.repo, ref);
  if (again && again !== o.from) return { kind: 'main-moved', tip: again };
  const extra = o.withMain ?? [];
  if (extra.length === 0) return null;
  const now = new Map(await Promise.all(extra.map(async (u) => [u.ref, await revParse(o.repo, u.ref)] as const)));
  const stale = staleUpdates(extra, (r) => now.get(r) ?? null)[0];
  return stale ? { kind: 'update-stale', ref: stale.ref, message: gitMessage(failed, { strip: true }) } : null;
}

/**
 * What main's checkout holds now: the branch it has checked out, that branch's tip, and
 * the user's uncommitted, staged and untracked paths, looked up only at the paths a
 * fast-forward changes (and below them): one `git status`, cheap in a big repository.
 * (A fast-forward that changes no path needs only the tip.)
 */
async function checkoutNow(repo: string, ref: string, checkout: string, changes: TreeChange[]): Promise<{ head: string | null; tip: string | null; dirty: string[] }> {
  if (changes.length === 0) return { head: ref, tip: await revParse(repo, ref), dirty: [] };
  const limit = changes.length <= 1000 ? ['--', ...changes.map((c) => c.path)] : [];
  // (--no-ahead-behind: the branch's own upstream, e.g. origin/main, is not this land's business, and counting is a walk)
  const args = ['--no-optional-locks', '--literal-pathspecs', 'status', '--porcelain=v2', '--branch', '--no-ahead-behind', '-z', '--untracked-files=all', ...limit];
  const status = parseStatusV2Z(await gitOut(checkout, args));
  // a checkout on an unborn branch, or detached meanwhile: read the branch's tip itself
  const head = status.branch ? `refs/heads/${status.branch}` : null;
  const tip = head === ref && status.oid ? status.oid : await revParse(repo, ref);
  return { head, tip, dirty: status.files };
}

/** The worktree where `ref` is checked out now (the hint is trusted only if its HEAD still says so). */
async function findCheckout(o: FastForwardOptions, ref: string): Promise<{ checkout: WorktreeEntry | null; worktrees: WorktreeEntry[] }> {
  const hinted = o.worktrees?.find((w) => !w.bare && w.branch === ref);
  if (o.worktrees && hinted && headRefOf(hinted.path) === ref) return { checkout: hinted, worktrees: o.worktrees };
  const worktrees = await listWorktrees(o.repo);
  return { checkout: worktrees.find((w) => !w.bare && w.branch === ref) ?? null, worktrees };
}

/** main is checked out nowhere: move the ref alone, compare-and-swap. */
async function updateRefOnly(o: FastForwardOptions, ref: string, reason: string, worktrees: WorktreeEntry[]): Promise<FastForwardResult> {
  // git counts a branch being rebased or bisected in some worktree as checked out there
  for (const w of worktrees) {
    if (w.bare || w.branch !== null) continue;
    const dir = gitDirOfWorktree(w.path);
    const op = dir ? operationInProgress(dir) : null;
    if (dir && op && branchInOperation(dir) === ref) return { kind: 'main-busy', busy: { reason: 'operation', mainWorktree: w.path, operation: op } };
  }
  const [tipNow, forward] = await Promise.all([revParse(o.repo, ref), git(o.repo, ['merge-base', '--is-ancestor', o.from, o.to])]);
  if (tipNow === null) return { kind: 'failed', message: `branch ${o.onto} no longer exists` };
  if (tipNow !== o.from) return { kind: 'main-moved', tip: tipNow };
  if (!forward.ok) return { kind: 'failed', message: `${o.to} does not contain ${o.from}; refusing to move ${o.onto} backwards or sideways` };
  const updates = transactionText([{ ref, to: o.to, expect: o.from }, ...(o.withMain ?? [])]);
  if (updates === null) return { kind: 'failed', message: `not a ref update git can check: ${JSON.stringify(o.withMain)}` };
  const cas = await git(o.repo, ['update-ref', '-m', `${reason}: fast-forward`, '--stdin'], undefined, { input: updates });
  if (cas.ok) return { kind: 'fast-forwarded', main: o.to, checkout: null };
  const moved = await movedOrStale(o, ref, cas);
  if (moved) return moved;
  const text = gitMessage(cas, { strip: true });
  const refLock = refLockIn(text);
  if (refLock) return { kind: 'main-busy', busy: { reason: 'ref-locked', lockFile: refLock } };
  return { kind: 'failed', message: text };
}

/** The ref lock file git says it could not create ("Unable to create '…/refs/heads/main.lock': File exists"), or null. */
function refLockIn(text: string): string | null {
  const m = /Unable to create '([^']+\.lock)': File exists/.exec(text);
  return m?.[1] && !m[1].endsWith('index.lock') ? m[1] : null;
}

function pathKind(path: string): OnDisk {
  try {
    return lstatSync(path).isDirectory() ? 'dir' : 'other';
  } catch {
    return 'missing';
  }
}

/** The branch a worktree has checked out, read from its HEAD file (no git process). */
function headRefOf(worktree: string): string | null {
  const dir = gitDirOfWorktree(worktree);
  if (!dir) return null;
  try {
    const m = /^ref: (\S+)/.exec(readFileSync(resolve(dir, 'HEAD'), 'utf8'));
    return m?.[1] ?? null;
  } catch {
    return null;
  }
}
