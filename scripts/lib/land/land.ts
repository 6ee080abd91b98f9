// land — put a worktree's commits on the main branch (the core of the land-worktree step).
//
// Rebases the branch onto the tip of the branch it lands on, then fast-forwards that
// branch: in the worktree where it is checked out (so the user's checkout moves too), or
// with a compare-and-swap `git update-ref` when it is checked out nowhere.  Never
// discards a commit, never overwrites uncommitted work, never resets or cleans anything.
//
// Where to land: --onto when given, else the branch's upstream when that is a local
// branch (spawn-worktree creates worker branches with --track), else the branch
// checked out in the main worktree.
//
// Why not `git merge --ff-only` in the user's checkout?  (git 2.39, builtin/merge.c)
// Its ref update is a compare-and-swap, so it never silently overwrites a tip that
// moved; but it writes the working tree and index first and moves the ref only
// afterwards.  Two merges racing in one checkout can both write their files, and the
// loser's ref update then fails AFTER its files are in the user's checkout, where they
// look like uncommitted work.  So the fast-forward is serialized across workers by the
// land lock (lib/locks/land-lock), and moves main by a compare-and-swap from the tip the
// branch was rebased onto.  The user's own git commands in that checkout cannot take the
// land lock, and a commit of theirs in the same gap would leave the land's files staged
// in their checkout (or commit a tree that undoes them): so the fast-forward holds the
// checkout's index.lock until the index matches the new tip, and moves the ref only in
// its last instant (lib/land/locked-merge).
//
// The land, as the git commands it runs (the files named hold the details):
//
//   git rev-parse ∥ git for-each-ref ∥ git worktree list ∥ git status   inspect.ts
//   git merge-base --fork-point … ; git rebase <main's tip>               rebase.ts
//   git rev-list <tip>..HEAD ∥ git diff --name-status <tip> HEAD          rebase.ts
//   a change to .coven/ that nobody approved: held, main untouched       coven-changes.ts
//   under the land lock, in main's checkout:                             fast-forward.ts
//     git status --branch -- <changed paths> ; git read-tree -m -u ; git update-ref
//   main moved meanwhile: rebase again onto its new tip (at most 10 times)
//   without --keep: git rev-list --count ; git worktree remove ; git branch -d   remove.ts

import { dirtyFiles, git, gitMessage, gitOut, revParse } from '../git/runner.js';
import { inspectWorktree, type Refusal } from './inspect.js';
import { fastForwardMain, type Busy } from './fast-forward.js';
import { plural, type Removal } from './remove.js';
import { rebaseRound, removeUnlessKept, roundBackoff, short, untouchedCheckout } from './rebase-round.js';
import { landByPush, type LocalMain, type RemoteLand } from './push-main.js';
import { fetchRemoteMain } from './remote-main.js';
import { trackingRef, type RemoteTarget } from '../remote/target.js';
import type { RefUpdate, Unreachable } from '../remote/git-remote.js';

export { removeLandedWorktree, type Removal } from './remove.js';
export type { Refusal } from './inspect.js';
export type { Busy } from './fast-forward.js';
export type { LocalMain, RemoteLand } from './push-main.js';

export type LandResult =
  /** leftOut: commits `onto` had dropped (it was moved back) were left out; the branch as it was is kept at this ref */
  /** hooksNotRun: the land wrote these hooks into the main worktree's (committed) hooks folder, so it ran no hook */
  /** untouched: `onto` was checked out nowhere, so only its ref moved; what the main worktree has checked out instead (a branch, or "a detached HEAD") */
  /** remote mode (push-main.ts): `remote`, the remote whose main it was pushed to; `local`, what the clone's local main did */
  | { kind: 'landed'; worktree: string; branch: string; onto: string; commits: number; main: string; retries: number; removal: Removal; leftOut?: string; hooksNotRun?: string[]; untouched?: string; remote?: string; local?: LocalMain }
  | { kind: 'nothing-to-land'; worktree: string; branch: string; onto: string; removal: Removal; leftOut?: string }
  | { kind: 'dirty'; worktree: string; branch: string; files: string[] }
  | { kind: 'conflict'; worktree: string; branch: string; onto: string; commits: number; files: string[]; commit: string; subject: string }
  | { kind: 'main-blocked'; worktree: string; branch: string; onto: string; commits: number; files: string[]; mainWorktree: string }
  | { kind: 'main-busy'; worktree: string; branch: string; onto: string; commits: number; busy: Busy }
  /** the commits change `.coven/` (files: those paths) and nobody approved it: held for the human, main untouched */
  | { kind: 'coven-held'; worktree: string; branch: string; onto: string; commits: number; files: string[] }
  /** remote mode: the remote did not answer (the fetch or the push); nothing was pushed, the branch keeps its commits: try again later */
  | { kind: 'unreachable'; worktree: string; branch: string; onto: string; commits: number; remote: string; message: string }
  /** an update that goes with main (`withMain`: the job's claim, `ref`) was not what it expected there: the claim is no longer this worker's. Nothing was pushed (remote mode: `remote`) or moved */
  | { kind: 'lease-lost'; worktree: string; branch: string; onto: string; commits: number; remote?: string; ref: string; message: string }
  /** remote mode: the server refused the push (a protected branch, a hook): its words in `message`. Nothing was pushed */
  | { kind: 'push-refused'; worktree: string; branch: string; onto: string; commits: number; remote: string; ref: string; message: string }
  | Refusal;

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
  /**
   * land commits that change `.coven/` (agents, workflow, steps): the human said so
   * (`coven land --approve-coven`), or the job's agent may (`may_change_coven` on main).
   * Otherwise such a land is held: `coven-held`, main untouched (coven-changes.ts).
   */
  approveCoven?: boolean;
  /** remote mode: land by pushing to the remote's main instead of moving the local one (push-main.ts) */
  remote?: RemoteLand;
  /**
   * ref changes that go with main's move, for the commit main moves to (the job claim's
   * tombstone): one transaction locally (fast-forward.ts), one atomic push in remote mode;
   * one that finds its ref changed stops the land as `lease-lost`, nothing moved
   */
  withMain?: (head: string) => Promise<RefUpdate[]>;
}

export async function landWorktree(opts: LandOptions): Promise<LandResult> {
  const log = opts.log ?? (() => {});
  const maxRetries = opts.maxRetries ?? 10;
  const [found, dirty] = await Promise.all([inspectWorktree(opts.worktree, opts.onto ?? opts.remote?.target.main), dirtyFiles(opts.worktree).catch(() => [])]);
  if (found.kind !== 'ready') return found;
  const info = found.info;
  const { worktree, branch, onto } = info;
  if (dirty.length > 0) return { kind: 'dirty', worktree, branch, files: dirty };

  if (opts.remote) return landByPush(opts, opts.remote, info);
  let tip = info.ontoTip;
  let commits = info.ahead ?? (await aheadBehind(worktree, tip, info.head)).ahead;
  if (commits === 0) return { kind: 'nothing-to-land', worktree, branch, onto, removal: await removeUnlessKept(opts, info) };

  let retries = 0;
  let leftOut: { leftOut?: string } = {};
  for (;;) {
    // a no-op when the branch already sits on main's tip
    log(`rebasing ${branch} onto ${onto} (${short(tip)})`);
    // like `git rebase` without arguments, only against the branch's own upstream: a branch
    // the user made on main and then took main back from holds those commits on purpose
    const round = await rebaseRound(opts, info, tip, info.ontoIsUpstream ? `refs/heads/${onto}` : undefined, leftOut, commits);
    if (round.kind !== 'rebased') return round;
    ({ commits, leftOut } = round);
    const { head, changes } = round;

    log(`fast-forwarding ${onto} to ${short(head)} (${plural(commits, 'commit')})`);
    const reason = `coven land ${branch}`;
    const withMain = localUpdates((await opts.withMain?.(head)) ?? []);
    const ff = await fastForwardMain({ repo: worktree, stateDir: info.stateDir, onto, from: tip, to: head, reason, worktrees: info.worktrees, changes, landLockHeld: opts.landLockHeld, withMain });
    if (ff.kind === 'fast-forwarded') {
      const removal = await removeUnlessKept(opts, info);
      return { kind: 'landed', worktree, branch, onto, commits, main: ff.main, retries, removal, ...leftOut, ...(ff.hooksNotRun ? { hooksNotRun: ff.hooksNotRun } : {}), ...untouchedCheckout(ff.checkout, info) };
    }
    if (ff.kind === 'main-blocked') return { kind: 'main-blocked', worktree, branch, onto, commits, files: ff.files, mainWorktree: ff.mainWorktree };
    if (ff.kind === 'failed') return { kind: 'failed', worktree, branch, step: 'fast-forward', message: ff.message };
    if (ff.kind === 'update-stale') return { kind: 'lease-lost', worktree, branch, onto, commits, ref: ff.ref, message: ff.message };
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
    await roundBackoff(retries);
  }
}

/** Updates for a local transaction: a compare-and-swap each ('fast-forward' is a push's check only). */
function localUpdates(updates: RefUpdate[]): { ref: string; to: string | null; expect: string | null }[] {
  return updates.map((u) => ({ ref: u.ref, to: u.to, expect: u.expect === 'fast-forward' ? null : u.expect }));
}

/**
 * The commits on the worktree's branch that are not on the branch it lands on, oldest
 * first. `remote`: not on the remote's main as last fetched (nothing is fetched here).
 */
export async function unlandedCommits(worktree: string, onto?: string, remote?: RemoteTarget | null): Promise<{ kind: 'unlanded'; onto: string; branch: string; commits: string[] } | Refusal> {
  const found = await inspectWorktree(worktree, onto ?? remote?.main);
  if (found.kind !== 'ready') return found;
  const { info } = found;
  const tip = remote ? ((await revParse(info.worktree, trackingRef(remote))) ?? info.ontoTip) : info.ontoTip;
  const out = await gitOut(info.worktree, ['rev-list', '--reverse', `${tip}..${info.head}`]);
  return { kind: 'unlanded', onto: info.onto, branch: info.branch, commits: out.split('\n').filter(Boolean) };
}

/** offline: remote mode, the remote did not answer; the sync used its main as last fetched */
export type SyncResult =
  | { kind: 'synced'; from: string; to: string; onto: string; offline?: Unreachable }
  | { kind: 'up-to-date'; onto: string; offline?: Unreachable }
  | { kind: 'unlanded'; onto: string; commits: number; offline?: Unreachable }
  | { kind: 'dirty'; worktree: string; branch: string; files: string[] }
  | Refusal;

/**
 * Brings a clean worktree with nothing unlanded up to main's tip (a fast-forward of the
 * worktree's branch). A worktree with unlanded commits is left alone: land it instead.
 * `remote` (remote mode): main's tip is the remote's, fetched first; a remote that does
 * not answer does not stop the sync: it uses what was fetched last, and says so.
 */
export async function syncWorktreeWithMain(worktree: string, onto?: string, remote?: RemoteTarget | null): Promise<SyncResult> {
  const found = await inspectWorktree(worktree, onto ?? remote?.main);
  if (found.kind !== 'ready') return found;
  const { info } = found;
  const dirty = await dirtyFiles(info.worktree);
  if (dirty.length > 0) return { kind: 'dirty', worktree: info.worktree, branch: info.branch, files: dirty };
  const fetched = remote ? await fetchRemoteMain(info.worktree, remote) : null;
  if (fetched && fetched.kind !== 'tip') {
    return { kind: 'failed', worktree: info.worktree, branch: info.branch, step: `fetch ${remote?.main} from ${remote?.name}`, message: fetched.message };
  }
  const tip = fetched ? fetched.tip : info.ontoTip;
  const offline = fetched?.offline ? { offline: fetched.offline } : {};
  // known from the first round when `onto` is the upstream
  const known = !fetched && info.ahead !== null && info.behind !== null;
  const { ahead, behind } = known ? { ahead: info.ahead ?? 0, behind: info.behind ?? 0 } : await aheadBehind(info.worktree, tip, info.head);
  if (ahead > 0) return { kind: 'unlanded', onto: info.onto, commits: ahead, ...offline };
  if (behind === 0) return { kind: 'up-to-date', onto: info.onto, ...offline };
  const r = await git(info.worktree, ['merge', '--ff-only', '--no-overwrite-ignore', '--quiet', tip]);
  if (!r.ok) return { kind: 'failed', worktree: info.worktree, branch: info.branch, step: 'fast-forward the worktree', message: gitMessage(r, { strip: true }) };
  return { kind: 'synced', from: info.head, to: tip, onto: info.onto, ...offline };
}

async function aheadBehind(cwd: string, tip: string, head: string): Promise<{ ahead: number; behind: number }> {
  const out = await gitOut(cwd, ['rev-list', '--left-right', '--count', `${tip}...${head}`]);
  const [behind, ahead] = out.trim().split(/\s+/).map(Number);
  return { ahead: ahead ?? 0, behind: behind ?? 0 };
}

export { short } from './rebase-round.js';
