// push-main — the land in remote mode (docs/remote.md): the branch's commits go on the
// remote's main by a push that is only ever a fast-forward (never forced), in one atomic
// push with the updates the caller adds (the job claim's tombstone: the land and the
// release happen together or not at all). Afterwards the clone's local main follows, but
// only when it has nothing the remote lacks: a human's local commits are never moved.
//
//   git fetch <remote> +refs/heads/<main>:refs/remotes/<remote>/<main>     remote-main.ts
//   git rebase <that tip>  (conflict → the resolver; .coven/ hold check)    rebase-round.ts
//   git push --atomic <remote> <head>:refs/heads/<main> + extra updates     git-remote.ts
//   refused, main moved (non-fast-forward): fetch, rebase, push again (at most maxRetries)
//   refused, an extra update stale: lease-lost (nothing pushed)
//   pushed: git update-ref refs/remotes/<remote>/<main> <head> <tip> ; the local main
//   fast-forwards to <head> (fast-forward.ts: its checkout too, under the land lock)
//   when it is an ancestor of <head>

import { git, gitOut, revParse } from '../git/runner.js';
import { pushAtomic, type RefUpdate } from '../remote/git-remote.js';
import type { RemoteTarget } from '../remote/target.js';
import { fastForwardMain, type Busy } from './fast-forward.js';
import type { WorktreeInfo } from './inspect.js';
import type { LandOptions, LandResult } from './land.js';
import { rebaseRound, removeUnlessKept, roundBackoff, short, untouchedCheckout } from './rebase-round.js';
import { fetchRemoteMain } from './remote-main.js';
import { plural } from './remove.js';

/** A land in remote mode: the remote to push to (what goes with main: LandOptions.withMain). */
export interface RemoteLand {
  target: RemoteTarget;
}

/** What the clone's local main did after the push. */
export type LocalMain =
  /** it (and its checkout, if any) moved to the pushed commit */
  | { kind: 'followed'; checkout: string | null; hooksNotRun?: string[] }
  /** it already had the pushed commit */
  | { kind: 'level' }
  /** it has commits that are not on the remote's main (a human's): left as it is */
  | { kind: 'own-commits'; commits: number; tip: string; mainWorktree: string }
  /** it could not move now (files in the way, a git command busy there): left; it follows at a later land */
  | { kind: 'not-followed'; why: string; mainWorktree: string };

export async function landByPush(opts: LandOptions, remote: RemoteLand, info: WorktreeInfo): Promise<LandResult> {
  const log = opts.log ?? (() => {});
  const t = remote.target;
  const { worktree, branch, onto } = info;
  const mainRef = `refs/heads/${t.main}`;
  const maxRetries = opts.maxRetries ?? 10;
  let retries = 0;
  let leftOut: { leftOut?: string } = {};
  for (;;) {
    log(`fetching ${t.main} from ${t.name}`);
    const fetched = await fetchRemoteMain(worktree, t);
    if (fetched.kind === 'failed') return { kind: 'failed', worktree, branch, step: `fetch ${t.main} from ${t.name}`, message: fetched.message };
    // a remote that does not answer: what was fetched last says whether there is anything to land
    const offline = fetched.kind === 'unreachable' ? fetched : fetched.offline;
    const commits = Number(await gitOut(worktree, ['rev-list', '--count', ...(fetched.kind === 'tip' ? [`${fetched.tip}..HEAD`] : ['HEAD'])]));
    if (commits === 0) return { kind: 'nothing-to-land', worktree, branch, onto, removal: await removeUnlessKept(opts, info), ...leftOut };
    if (offline || fetched.kind !== 'tip') return { kind: 'unreachable', worktree, branch, onto, commits, remote: t.name, message: offline?.message ?? '' };
    const { tip, ref: tipRef } = fetched;

    log(`rebasing ${branch} onto ${t.name}/${t.main} (${short(tip)})`);
    const round = await rebaseRound(opts, info, tip, tipRef, leftOut, commits);
    if (round.kind !== 'rebased') return round;
    leftOut = round.leftOut;
    const { head } = round;

    log(`pushing ${plural(round.commits, 'commit')} to ${t.main} on ${t.name} (${short(head)})`);
    const updates: RefUpdate[] = [{ ref: mainRef, to: head, expect: 'fast-forward' }, ...((await opts.withMain?.(head)) ?? [])];
    const pushed = await pushAtomic(worktree, t.name, updates);
    const base = { worktree, branch, onto, commits: round.commits, remote: t.name };
    if (pushed.kind === 'unreachable') return { kind: 'unreachable', ...base, message: pushed.message };
    if (pushed.kind === 'failed') return { kind: 'failed', worktree, branch, step: `push to ${t.name}`, message: pushed.message };
    if (pushed.kind === 'pushed') {
      // git push moves it too, for a remote with the usual fetch refspec; a newer one stays
      await git(worktree, ['update-ref', '-m', `coven land ${branch}: pushed`, tipRef, head, tip]);
      const local = await followLocalMain(opts, info, head, `coven land ${branch}`);
      const removal = await removeUnlessKept(opts, info);
      const checkout = local.kind === 'followed' ? untouchedCheckout(local.checkout, info) : {};
      const hooks = local.kind === 'followed' && local.hooksNotRun ? { hooksNotRun: local.hooksNotRun } : {};
      return { kind: 'landed', ...base, main: head, retries, removal, local, ...leftOut, ...hooks, ...checkout };
    }
    // nothing was changed on the remote: the push is atomic
    const lease = pushed.refs.find((r) => r.ref !== mainRef && r.why === 'stale');
    if (lease) return { kind: 'lease-lost', ...base, ref: lease.ref, message: lease.message };
    const main = pushed.refs.find((r) => r.ref === mainRef);
    if (main?.why !== 'non-fast-forward') {
      const refused = pushed.refs.find((r) => r.why !== 'atomic') ?? pushed.refs[0];
      return { kind: 'push-refused', ...base, ref: refused?.ref ?? mainRef, message: refused?.message ?? 'refused' };
    }
    if (retries >= maxRetries) return { kind: 'main-busy', worktree, branch, onto, commits: round.commits, busy: { reason: 'kept-moving', retries } };
    retries++;
    log(`${t.main} on ${t.name} moved meanwhile; fetching and rebasing again (retry ${retries})`);
    await roundBackoff(retries);
  }
}

/**
 * After a push of `pushed` to the remote's main: moves the local main (and its checkout)
 * there by a fast-forward, only when the local main is an ancestor of it. A local main
 * with commits the remote lacks is left as it is; so is one that cannot move right now.
 */
async function followLocalMain(opts: LandOptions, info: WorktreeInfo, pushed: string, reason: string): Promise<LocalMain> {
  const ref = `refs/heads/${info.onto}`;
  const mainWorktree = info.worktrees[0]?.path ?? info.worktree;
  for (let attempt = 0; attempt < 5; attempt++) {
    const local = await revParse(info.worktree, ref);
    if (local === null) return { kind: 'not-followed', why: `there is no branch ${info.onto} here`, mainWorktree };
    if (local === pushed || (await isAncestor(info.worktree, pushed, local))) return { kind: 'level' };
    if (!(await isAncestor(info.worktree, local, pushed))) {
      const commits = Number(await gitOut(info.worktree, ['rev-list', '--count', `${pushed}..${local}`]));
      return { kind: 'own-commits', commits, tip: local, mainWorktree };
    }
    const ff = await fastForwardMain({ repo: info.worktree, stateDir: info.stateDir, onto: info.onto, from: local, to: pushed, reason, worktrees: info.worktrees, landLockHeld: opts.landLockHeld });
    if (ff.kind === 'fast-forwarded') return { kind: 'followed', checkout: ff.checkout, ...(ff.hooksNotRun ? { hooksNotRun: ff.hooksNotRun } : {}) };
    // another land (or the human) moved it meanwhile: look again
    if (ff.kind === 'main-moved') continue;
    if (ff.kind === 'main-blocked') return { kind: 'not-followed', why: `its checkout in ${ff.mainWorktree} has changes in the way: ${ff.files.join(', ')}`, mainWorktree: ff.mainWorktree };
    if (ff.kind === 'main-busy') return { kind: 'not-followed', why: busyWhy(ff.busy), mainWorktree };
    return { kind: 'not-followed', why: ff.message, mainWorktree };
  }
  return { kind: 'not-followed', why: `${info.onto} kept moving`, mainWorktree };
}

function busyWhy(b: Busy): string {
  switch (b.reason) {
    case 'operation':
      return `a ${b.operation} is in progress in ${b.mainWorktree}`;
    case 'index-locked':
      return `another git command holds ${b.lockFile}`;
    case 'land-locked':
      return `another land holds ${b.lockFile}`;
    case 'ref-locked':
      return `the lock file ${b.lockFile} exists`;
    case 'kept-moving':
      return 'it kept moving';
  }
}

async function isAncestor(repo: string, a: string, b: string): Promise<boolean> {
  return (await git(repo, ['merge-base', '--is-ancestor', a, b])).ok;
}
