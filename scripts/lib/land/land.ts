// land — put a worktree's commits on the main branch (the core of the land-worktree step).
//
// Rebases the branch onto the tip of the branch it lands on, then fast-forwards that
// branch: in the worktree where it is checked out (`git merge --ff-only`, so the user's
// checkout moves too), or with a compare-and-swap `git update-ref` when it is checked
// out nowhere.  Never discards a commit, never overwrites uncommitted work, never
// resets or cleans anything.
//
// Where to land: --onto when given, else the branch's upstream when that is a local
// branch (spawn-worktree creates worker branches with --track), else the branch
// checked out in the main worktree.
//
// Is `git merge --ff-only` safe against a concurrent land?  (git 2.39, builtin/merge.c)
// The ref update is a compare-and-swap: finish() calls update_ref("HEAD", new, old)
// with the HEAD it read at the start, so a merge never silently overwrites a tip that
// moved under it; it dies with "cannot lock ref".  But the working tree and index are
// updated first (checkout_fast_forward, which takes and releases index.lock) and the
// ref only afterwards.  Two merges racing in the same checkout can both pass the
// checkout step, and the loser's ref update then fails AFTER it has written its
// commit's files into the user's checkout: HEAD is the winner's commit, while the index
// and files also hold the loser's changes, which now look like uncommitted work.  No
// commit is lost, but the main worktree is left in a mess.  So the final check and
// fast-forward are serialized across workers by the land lock (lib/locks/land-lock),
// and after the merge we verify that main still contains the tip we rebased onto.
// The user's own git commands in that checkout cannot take the land lock, and a commit
// of theirs in the same gap would leave the land's files staged in their checkout (or
// commit a tree that undoes them): so the fast-forward holds the checkout's index.lock
// until the index matches the new tip, and moves the ref only in its last instant
// (lib/land/locked-merge).

import { lstatSync, readFileSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { dirtyFiles, git, gitMessage, gitOut, listWorktrees, parsePorcelainZ, parseWorktreeList, revParse, type WorktreeEntry } from '../git/runner.js';
import { fastForwardBlockers, parseNameStatusZ, type OnDisk, type TreeChange } from './ff-blockers.js';
import { branchInOperation, gitDirOfWorktree, operationInProgress, type GitOperation } from '../git/operation.js';
import { withLandLock } from '../locks/land-lock.js';
import { lockedMerge, pathsInTheWay } from './locked-merge.js';
import { covenRef, keepAt } from '../worktree/save-work.js';

// ---------------------------------------------------------------------------------
// Results

/** What happened to the worktree and branch after a land. */
export type Removal = { kind: 'kept' } | { kind: 'removed'; wasCwd: boolean; mainWorktree: string } | { kind: 'not-removed'; reason: string };

/** Why a worktree cannot be landed at all (nothing was read beyond the refs). */
export type Refusal =
  | { kind: 'not-a-worktree'; dir: string; reason: 'missing' | 'not-a-repo' | 'bare' }
  | { kind: 'main-worktree'; dir: string }
  | { kind: 'detached'; worktree: string }
  | { kind: 'in-progress'; worktree: string; branch: string | null; operation: GitOperation }
  | { kind: 'no-target'; worktree: string; branch: string; wanted: string | null }
  | { kind: 'same-branch'; worktree: string; branch: string }
  | { kind: 'failed'; worktree: string; branch: string | null; step: string; message: string };

export type LandResult =
  /** leftOut: commits `onto` had dropped (it was moved back) were left out; the branch as it was is kept at this ref */
  | { kind: 'landed'; worktree: string; branch: string; onto: string; commits: number; main: string; retries: number; removal: Removal; leftOut?: string }
  | { kind: 'nothing-to-land'; worktree: string; branch: string; onto: string; removal: Removal; leftOut?: string }
  | { kind: 'dirty'; worktree: string; branch: string; files: string[] }
  | { kind: 'conflict'; worktree: string; branch: string; onto: string; commits: number; files: string[]; commit: string; subject: string }
  | { kind: 'main-blocked'; worktree: string; branch: string; onto: string; commits: number; files: string[]; mainWorktree: string }
  | { kind: 'main-busy'; worktree: string; branch: string; onto: string; commits: number; busy: Busy }
  | Refusal;

/** Why main cannot be fast-forwarded right now; worth retrying later. */
export type Busy =
  | { reason: 'operation'; mainWorktree: string; operation: GitOperation }
  | { reason: 'index-locked'; mainWorktree: string; lockFile: string }
  | { reason: 'land-locked'; lockFile: string }
  | { reason: 'kept-moving'; retries: number };

// ---------------------------------------------------------------------------------
// Reading a worktree

export interface WorktreeInfo {
  /** top of the worker's worktree */
  worktree: string;
  gitDir: string;
  commonDir: string;
  /** `<commonDir>/coven` */
  stateDir: string;
  /** short name of the worktree's branch */
  branch: string;
  head: string;
  /** short name of the branch to land on, and its tip when read */
  onto: string;
  ontoTip: string;
  /** commits on the branch not on `onto` when `onto` is its upstream (one git call less), else null */
  ahead: number | null;
  /** `onto` is the branch's upstream: only then is a rewind of `onto` read from its reflog */
  ontoIsUpstream: boolean;
  /** `git worktree list`, as read */
  worktrees: WorktreeEntry[];
}

interface BranchRef {
  current: boolean;
  name: string;
  tip: string;
  upstream: string;
  /** `ahead 1, behind 2`, `ahead 1`, `behind 2`, `` or `gone` */
  track: string;
}

/** Reads a worker worktree and decides where it lands; refuses what cannot be landed. */
export async function inspectWorktree(dir: string, onto?: string): Promise<{ kind: 'ready'; info: WorktreeInfo } | Refusal> {
  const abs = resolve(dir);
  if (!isDirectory(abs)) return { kind: 'not-a-worktree', dir: abs, reason: 'missing' };
  // one round of git calls, side by side: start-up time matters for a command run this often
  const [top, refs, list] = await Promise.all([
    git(abs, ['rev-parse', '--is-bare-repository', '--path-format=absolute', '--show-toplevel', '--git-dir', '--git-common-dir']),
    git(abs, ['for-each-ref', '--format=%(HEAD)%00%(refname)%00%(objectname)%00%(upstream)%00%(upstream:track,nobracket)', 'refs/heads/']),
    git(abs, ['worktree', 'list', '--porcelain']),
  ]);
  const [isBare, worktree, gitDir, commonDir] = top.stdout.split('\n');
  if (!top.ok || isBare !== 'false' || !worktree || !gitDir || !commonDir) {
    const bare = await git(abs, ['rev-parse', '--is-bare-repository']);
    return { kind: 'not-a-worktree', dir: abs, reason: bare.ok && bare.stdout.trim() === 'true' ? 'bare' : 'not-a-repo' };
  }
  if (resolve(gitDir) === resolve(commonDir)) return { kind: 'main-worktree', dir: worktree };

  const branches = parseBranchRefs(refs.stdout);
  const current = branches.find((b) => b.current);
  const operation = operationInProgress(gitDir);
  if (operation) {
    const inOp = branchInOperation(gitDir);
    return { kind: 'in-progress', worktree, operation, branch: inOp ? shortBranch(inOp) : current?.name ?? null };
  }
  if (!current) {
    const unborn = await git(abs, ['symbolic-ref', '-q', 'HEAD']);
    if (unborn.ok) return { kind: 'failed', worktree, branch: shortBranch(unborn.stdout.trim()), step: 'read HEAD', message: 'the branch has no commits yet' };
    return { kind: 'detached', worktree };
  }

  // (a failed list, e.g. while another worker runs `git worktree add`, is retried)
  const worktrees = list.ok ? parseWorktreeList(list.stdout) : await listWorktrees(abs);
  const upstream = current.upstream.startsWith('refs/heads/') ? shortBranch(current.upstream) : null;
  let target = onto ? shortBranch(onto) : upstream;
  if (!target) {
    const main = worktrees[0];
    target = main?.branch?.startsWith('refs/heads/') ? shortBranch(main.branch) : null;
    if (!target) return { kind: 'no-target', worktree, branch: current.name, wanted: null };
  }
  if (target === current.name) return { kind: 'same-branch', worktree, branch: current.name };
  const targetRef = branches.find((b) => b.name === target);
  if (!targetRef) return { kind: 'no-target', worktree, branch: current.name, wanted: target };
  return {
    kind: 'ready',
    info: {
      worktree,
      gitDir,
      commonDir,
      stateDir: resolve(commonDir, 'coven'),
      branch: current.name,
      head: current.tip,
      onto: target,
      ontoTip: targetRef.tip,
      ahead: target === upstream ? aheadOf(current.track) : null,
      ontoIsUpstream: target === upstream,
      worktrees,
    },
  };
}

function parseBranchRefs(out: string): BranchRef[] {
  const refs: BranchRef[] = [];
  for (const line of out.split('\n')) {
    const [head, ref, tip, upstream, track] = line.split('\0');
    if (!ref || !tip) continue;
    refs.push({ current: head === '*', name: shortBranch(ref), tip, upstream: upstream ?? '', track: track ?? '' });
  }
  return refs;
}

/** Commits ahead of the upstream from `%(upstream:track,nobracket)`; null when it cannot tell. */
export function aheadOf(track: string): number | null {
  if (track === 'gone') return null;
  const m = /ahead (\d+)/.exec(track);
  return m ? Number(m[1]) : 0;
}

function shortBranch(ref: string): string {
  return ref.startsWith('refs/heads/') ? ref.slice('refs/heads/'.length) : ref;
}

/** The commits on the worktree's branch that are not on the branch it lands on, oldest first. */
export async function unlandedCommits(worktree: string, onto?: string): Promise<{ kind: 'unlanded'; onto: string; branch: string; commits: string[] } | Refusal> {
  const found = await inspectWorktree(worktree, onto);
  if (found.kind !== 'ready') return found;
  const { info } = found;
  const out = await gitOut(info.worktree, ['rev-list', '--reverse', `${info.ontoTip}..${info.head}`]);
  return { kind: 'unlanded', onto: info.onto, branch: info.branch, commits: out.split('\n').filter(Boolean) };
}

// ---------------------------------------------------------------------------------
// Steps the worker loop reuses

export type SyncResult =
  | { kind: 'synced'; from: string; to: string; onto: string }
  | { kind: 'up-to-date'; onto: string }
  | { kind: 'unlanded'; onto: string; commits: number }
  | { kind: 'dirty'; worktree: string; branch: string; files: string[] }
  | Refusal;

/**
 * Brings a clean worktree with nothing unlanded up to main's tip (a fast-forward of the
 * worktree's branch). A worktree with unlanded commits is left alone: land it instead.
 */
export async function syncWorktreeWithMain(worktree: string, onto?: string): Promise<SyncResult> {
  const found = await inspectWorktree(worktree, onto);
  if (found.kind !== 'ready') return found;
  const { info } = found;
  const dirty = await dirtyFiles(info.worktree);
  if (dirty.length > 0) return { kind: 'dirty', worktree: info.worktree, branch: info.branch, files: dirty };
  const { ahead, behind } = await aheadBehind(info.worktree, info.ontoTip, info.head);
  if (ahead > 0) return { kind: 'unlanded', onto: info.onto, commits: ahead };
  if (behind === 0) return { kind: 'up-to-date', onto: info.onto };
  const r = await git(info.worktree, ['merge', '--ff-only', '--no-overwrite-ignore', '--quiet', info.ontoTip]);
  if (!r.ok) return { kind: 'failed', worktree: info.worktree, branch: info.branch, step: 'fast-forward the worktree', message: gitMessage(r, { strip: true }) };
  return { kind: 'synced', from: info.head, to: info.ontoTip, onto: info.onto };
}

async function aheadBehind(cwd: string, tip: string, head: string): Promise<{ ahead: number; behind: number }> {
  const out = await gitOut(cwd, ['rev-list', '--left-right', '--count', `${tip}...${head}`]);
  const [behind, ahead] = out.trim().split(/\s+/).map(Number);
  return { ahead: ahead ?? 0, behind: behind ?? 0 };
}

export type RebaseResult =
  | { kind: 'rebased'; head: string; commits: number }
  | { kind: 'conflict'; files: string[]; commit: string; subject: string }
  | { kind: 'failed'; message: string };

/**
 * Rebases the worktree's branch onto `tip` (pin a commit id, not a name). A conflict
 * leaves the rebase in progress for a resolver; any other stop is aborted, which puts
 * the branch back exactly as it was.
 */
export async function rebaseOntoMain(worktree: string, tip: string, gitDir?: string): Promise<RebaseResult> {
  const r = await rebaseOnly(worktree, tip, gitDir);
  if (r.kind !== 'rebased') return r;
  return { kind: 'rebased', ...(await rebasedHead(worktree, tip)) };
}

async function rebaseOnly(worktree: string, tip: string, gitDir?: string, onto?: string): Promise<{ kind: 'rebased'; leftOut: string | null } | Exclude<RebaseResult, { kind: 'rebased' }>> {
  const rewound = onto ? await rewoundForkPoint(worktree, tip, onto) : null;
  const r = await git(worktree, ['rebase', '--no-update-refs', '--no-autostash', ...(rewound ? ['--onto', tip, rewound.from] : [tip])]);
  if (r.ok) return { kind: 'rebased', leftOut: rewound?.kept ?? null };
  const dir = gitDir ?? (await gitOut(worktree, ['rev-parse', '--absolute-git-dir']));
  if (operationInProgress(dir) !== 'rebase') return { kind: 'failed', message: gitMessage(r, { strip: true }) };
  const [unmerged, stopped] = await Promise.all([
    gitOut(worktree, ['diff', '--name-only', '-z', '--diff-filter=U']),
    git(worktree, ['log', '-1', '--format=%H%x00%s', 'REBASE_HEAD']),
  ]);
  const files = unmerged.split('\0').filter(Boolean);
  if (files.length === 0) {
    // stopped for another reason (e.g. a file in the way): put the branch back as it was
    await git(worktree, ['rebase', '--abort']);
    return { kind: 'failed', message: gitMessage(r, { strip: true }) };
  }
  const [commit = '', subject = ''] = stopped.stdout.trim().split('\0');
  return { kind: 'conflict', files, commit, subject };
}

/**
 * When the user moved `onto` backwards (reset main to drop commits) after this branch
 * was based on it, the dropped commits are still in the branch and a plain rebase would
 * land them again. git's fork point (from `onto`'s reflog) says where the branch really
 * left `onto`; if that is past the merge base, rebase from there, so the user's rewind
 * stands. The branch as it was is kept under refs/coven/rewound/… first. Returns the
 * commit to rebase from and that ref, or null for a plain rebase.
 */
async function rewoundForkPoint(worktree: string, tip: string, onto: string): Promise<{ from: string; kept: string } | null> {
  const [fork, base] = await Promise.all([git(worktree, ['merge-base', '--fork-point', `refs/heads/${onto}`, 'HEAD']), git(worktree, ['merge-base', tip, 'HEAD'])]);
  const forkPoint = fork.stdout.trim();
  const mergeBase = base.stdout.trim();
  if (!fork.ok || !base.ok || !forkPoint || forkPoint === mergeBase) return null;
  const past = await git(worktree, ['merge-base', '--is-ancestor', mergeBase, forkPoint]);
  if (!past.ok) return null;
  const head = await gitOut(worktree, ['rev-parse', 'HEAD']);
  const branch = (await git(worktree, ['symbolic-ref', '--quiet', '--short', 'HEAD'])).stdout.trim() || 'detached';
  const kept = await keepAt(worktree, covenRef('rewound', branch.replace(/^coven\//, '')), head, `coven: ${onto} was moved back; the branch before leaving out what was dropped from it`);
  return { from: forkPoint, kept };
}

/** The worktree's HEAD after a rebase onto `tip`, and how many commits it has beyond `tip`. */
async function rebasedHead(worktree: string, tip: string): Promise<{ head: string; commits: number }> {
  const ids = (await gitOut(worktree, ['rev-list', `${tip}..HEAD`])).split('\n').filter(Boolean);
  return { head: ids[0] ?? tip, commits: ids.length };
}

/** What a fast-forward from `from` to `to` changes (renames as delete + add). */
export async function changesBetween(repo: string, from: string, to: string): Promise<TreeChange[]> {
  return parseNameStatusZ(await gitOut(repo, ['diff', '--name-status', '-z', '--no-renames', from, to]));
}

export type FastForwardResult =
  | { kind: 'fast-forwarded'; main: string; checkout: string | null }
  | { kind: 'main-moved'; tip: string }
  | { kind: 'main-blocked'; files: string[]; mainWorktree: string }
  | { kind: 'main-busy'; busy: Busy }
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
}

/**
 * Moves `onto` from `from` to `to`, under the land lock. Where the branch is checked
 * out, that checkout moves too (`git merge --ff-only`), unless the user has work at a
 * path the fast-forward would write: then nothing changes and the files are returned.
 * `main-moved` means another land won: rebase onto the returned tip and call again.
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
  const [tipNow, dirty] = await Promise.all([revParse(o.repo, ref), dirtyAt(mainWorktree, changes)]);
  if (tipNow === null) return { kind: 'failed', message: `branch ${o.onto} no longer exists` };
  if (tipNow !== o.from) return { kind: 'main-moved', tip: tipNow };
  const blockers = fastForwardBlockers(changes, dirty, (p) => pathKind(resolve(mainWorktree, p)));
  if (blockers.length > 0) return { kind: 'main-blocked', files: blockers, mainWorktree };

  // the index stays locked until it matches the new tip, so a commit of the user's cannot
  // slip in between (locked-merge.ts); without a git dir to lock, plain git merge, with
  // --no-overwrite-ignore as git's own last line of defence for ignored files
  const merge = mainGitDir
    ? await lockedMerge(mainWorktree, mainGitDir, ref, o.from, o.to, { GIT_REFLOG_ACTION: reason })
    : await git(mainWorktree, ['merge', '--ff-only', '--no-overwrite-ignore', '--quiet', o.to], { GIT_REFLOG_ACTION: reason });
  if (!merge.ok) {
    const again = await revParse(o.repo, ref);
    if (again && again !== o.from) return { kind: 'main-moved', tip: again };
    const text = gitMessage(merge, { strip: true });
    const lock = /'([^']*index\.lock)'/.exec(text);
    if (lock?.[1]) return { kind: 'main-busy', busy: { reason: 'index-locked', mainWorktree, lockFile: lock[1] } };
    const inTheWay = [
      ...pathsInTheWay(merge.stderr),
      ...text
        .split('\n')
        .filter((l) => l.startsWith('\t'))
        .map((l) => l.trim()),
    ];
    if (inTheWay.length > 0) return { kind: 'main-blocked', files: inTheWay, mainWorktree };
    return { kind: 'failed', message: text };
  }
  return verifyLanded(o, ref, mainWorktree);
}

/**
 * The user's uncommitted, staged and untracked paths in `checkout`, looked up only at
 * the paths a fast-forward changes (and below them): cheap in a big repository.
 */
async function dirtyAt(checkout: string, changes: TreeChange[]): Promise<string[]> {
  if (changes.length === 0) return [];
  const limit = changes.length <= 1000 ? ['--', ...changes.map((c) => c.path)] : [];
  const args = ['--no-optional-locks', '--literal-pathspecs', 'status', '--porcelain=v1', '-z', '--untracked-files=all', ...limit];
  return parsePorcelainZ(await gitOut(checkout, args));
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
  const cas = await git(o.repo, ['update-ref', '-m', `${reason}: fast-forward`, ref, o.to, o.from]);
  if (!cas.ok) {
    const again = await revParse(o.repo, ref);
    if (again && again !== o.from) return { kind: 'main-moved', tip: again };
    return { kind: 'failed', message: gitMessage(cas, { strip: true }) };
  }
  return verifyLanded(o, ref, null);
}

/** After the fast-forward: main must contain the tip we rebased onto (no land was lost). */
async function verifyLanded(o: FastForwardOptions, ref: string, checkout: string | null): Promise<FastForwardResult> {
  const main = (await gitOut(o.repo, ['for-each-ref', '--format=%(objectname)', `--contains=${o.from}`, ref])).trim();
  if (!main) return { kind: 'failed', message: `after the fast-forward ${o.onto} no longer contains ${o.from}; check \`git reflog ${o.onto}\`` };
  return { kind: 'fast-forwarded', main, checkout };
}

// ---------------------------------------------------------------------------------
// The land

export interface LandOptions {
  worktree: string;
  /** leave the worktree and branch in place afterwards (the worker loop always keeps) */
  keep: boolean;
  onto?: string;
  /** one line per step */
  log?: (line: string) => void;
  /** how many times to re-rebase when another land moves main first (default 10) */
  maxRetries?: number;
  /** the caller holds the land lock already (see land-lock.ts) */
  landLockHeld?: boolean;
}

export async function landWorktree(opts: LandOptions): Promise<LandResult> {
  const log = opts.log ?? (() => {});
  const maxRetries = opts.maxRetries ?? 10;
  const [found, dirty] = await Promise.all([inspectWorktree(opts.worktree, opts.onto), dirtyFiles(opts.worktree).catch(() => [])]);
  if (found.kind !== 'ready') return found;
  const info = found.info;
  const { worktree, branch, onto } = info;
  if (dirty.length > 0) return { kind: 'dirty', worktree, branch, files: dirty };

  let tip = info.ontoTip;
  let commits = info.ahead ?? (await aheadBehind(worktree, tip, info.head)).ahead;
  if (commits === 0) return { kind: 'nothing-to-land', worktree, branch, onto, removal: await removeUnlessKept(opts.keep, info, log) };

  let retries = 0;
  let leftOut: { leftOut?: string } = {};
  for (;;) {
    // a no-op when the branch already sits on main's tip
    log(`rebasing ${branch} onto ${onto} (${short(tip)})`);
    // like `git rebase` without arguments, only against the branch's own upstream: a branch
    // the user made on main and then took main back from holds those commits on purpose
    const r = await rebaseOnly(worktree, tip, info.gitDir, info.ontoIsUpstream ? onto : undefined);
    if (r.kind === 'conflict') return { kind: 'conflict', worktree, branch, onto, commits, files: r.files, commit: r.commit, subject: r.subject };
    if (r.kind === 'failed') return { kind: 'failed', worktree, branch, step: 'rebase', message: r.message };
    if (r.leftOut) leftOut = { leftOut: r.leftOut };
    const [rebased, changes] = await Promise.all([rebasedHead(worktree, tip), changesBetween(worktree, tip, 'HEAD')]);
    commits = rebased.commits;
    if (commits === 0) return { kind: 'nothing-to-land', worktree, branch, onto, removal: await removeUnlessKept(opts.keep, info, log), ...leftOut };

    log(`fast-forwarding ${onto} to ${short(rebased.head)} (${plural(commits, 'commit')})`);
    const ff = await fastForwardMain({
      repo: worktree,
      stateDir: info.stateDir,
      onto,
      from: tip,
      to: rebased.head,
      reason: `coven land ${branch}`,
      worktrees: info.worktrees,
      changes,
      landLockHeld: opts.landLockHeld,
    });
    if (ff.kind === 'fast-forwarded') {
      const removal = await removeUnlessKept(opts.keep, info, log);
      return { kind: 'landed', worktree, branch, onto, commits, main: ff.main, retries, removal, ...leftOut };
    }
    if (ff.kind === 'main-blocked') return { kind: 'main-blocked', worktree, branch, onto, commits, files: ff.files, mainWorktree: ff.mainWorktree };
    if (ff.kind === 'failed') return { kind: 'failed', worktree, branch, step: 'fast-forward', message: ff.message };
    const transient = ff.kind === 'main-moved' || ff.busy.reason === 'index-locked';
    if (!transient || retries >= maxRetries) {
      const busy: Busy = ff.kind === 'main-moved' ? { reason: 'kept-moving', retries } : ff.busy;
      return { kind: 'main-busy', worktree, branch, onto, commits, busy };
    }
    retries++;
    if (ff.kind === 'main-moved') {
      log(`${onto} moved to ${short(ff.tip)} meanwhile; rebasing again (retry ${retries})`);
      tip = ff.tip;
    } else {
      log(`the checkout of ${onto} is busy (index.lock); retrying (retry ${retries})`);
    }
    await sleep(backoffMs(retries));
  }
}

/** Small jittered backoff so that racing workers spread out: ~10–60 ms, growing. */
function backoffMs(attempt: number): number {
  return Math.round((10 + Math.random() * 50) * Math.min(attempt, 6));
}

async function removeUnlessKept(keep: boolean, info: WorktreeInfo, log: (line: string) => void): Promise<Removal> {
  if (keep) return { kind: 'kept' };
  log(`removing the worktree ${info.worktree} and the branch ${info.branch}`);
  return removeLandedWorktree(info);
}

/**
 * Removes a worktree and its branch, but only once it is proven that nothing would be
 * lost: no uncommitted or untracked file, and every commit of the branch on `onto`.
 * Never forces. Leaves the worktree first when the process runs inside it.
 */
export async function removeLandedWorktree(info: Pick<WorktreeInfo, 'worktree' | 'branch' | 'onto'>): Promise<Removal> {
  const { worktree, branch, onto } = info;
  const [dirty, unlanded, worktrees] = await Promise.all([
    dirtyFiles(worktree),
    gitOut(worktree, ['rev-list', '--count', `refs/heads/${onto}..refs/heads/${branch}`]),
    listWorktrees(worktree),
  ]);
  if (dirty.length > 0) return { kind: 'not-removed', reason: `it has uncommitted files: ${dirty.join(', ')}` };
  if (unlanded.trim() !== '0') return { kind: 'not-removed', reason: `${branch} has ${plural(Number(unlanded), 'commit')} not on ${onto}` };
  const main = worktrees[0];
  if (!main || main.bare) return { kind: 'not-removed', reason: 'the repository has no main worktree to run git from' };
  const mainWorktree = main.path;

  const wasCwd = isInside(currentDir(), worktree);
  if (wasCwd) process.chdir(mainWorktree);
  const removed = await git(mainWorktree, ['worktree', 'remove', worktree]);
  if (!removed.ok) return { kind: 'not-removed', reason: gitMessage(removed, { strip: true }) };
  const deleted = await git(mainWorktree, ['branch', '-d', branch]);
  if (!deleted.ok) {
    // -d compares with the upstream or the current HEAD; we compare with `onto` ourselves
    const merged = await git(mainWorktree, ['merge-base', '--is-ancestor', `refs/heads/${branch}`, `refs/heads/${onto}`]);
    const forced = merged.ok ? await git(mainWorktree, ['branch', '-D', branch]) : deleted;
    if (!forced.ok) return { kind: 'not-removed', reason: `the worktree was removed, but the branch was kept: ${gitMessage(forced, { strip: true })}` };
  }
  return { kind: 'removed', wasCwd, mainWorktree };
}

// ---------------------------------------------------------------------------------
// Small edges

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

function isDirectory(path: string): boolean {
  return pathKind(path) === 'dir';
}

function currentDir(): string {
  try {
    return process.cwd();
  } catch {
    return '';
  }
}

function isInside(path: string, dir: string): boolean {
  if (!path) return false;
  const rel = relative(dir, path);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

function short(id: string): string {
  return id.slice(0, 9);
}


function plural(n: number, word: string, many = `${word}s`): string {
  return `${n} ${n === 1 ? word : many}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
