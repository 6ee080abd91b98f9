// settle — puts a worker's worktree back in the state coven works from after an agent's
// session left it somewhere odd (read by lib/git/worktree-state.ts), keeping every commit
// on a ref `git log --all` shows and every uncommitted file under refs/coven/wip/…:
//
//   nested repository (untracked)  moved to <state dir>/nested/<worker>/<time>/<path>
//   operation in progress          uncommitted files saved; then ended: rebase --abort,
//                                  merge --abort, bisect reset, and cherry-pick, revert
//                                  or am --quit (what they committed stays on the branch)
//   its branch deleted             made again at its newest commit (or where it was
//                                  before the session), with main as its upstream
//   HEAD elsewhere                 (another branch, detached, an orphan branch) commits
//                                  not on the branch kept under refs/coven/stray/…;
//                                  uncommitted files saved; back on the branch
//   stale locks of its own         its index.lock, HEAD.lock and branch lock removed once
//                                  they outlast a wait (stale-locks.ts); a lock under
//                                  main is never removed here (the land names it)
//
// Inputs: the worktree, its branch and worker, the main branch, where the branch was
// before the session. Outputs: what was found and done (a line each), the refs written.

import { cpSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { commitIdentities } from '../git/commit-identity.js';
import { operationCommands, operationInProgress, gitDirOfWorktree, type GitOperation } from '../git/operation.js';
import { dirtyFiles, git, gitMessage, revParse } from '../git/runner.js';
import { clearStaleGitLocks } from '../git/stale-locks.js';
import { reflogOnlyTips } from '../git/reflog-only.js';
import { readCapped } from '../files/read-capped.js';
import { nestedRepos, readWorktreeState, type WorktreeState } from '../git/worktree-state.js';
import { covenRef, covenStamp, keepAt, snapshotCommit } from './save-work.js';

export interface SettleOptions {
  worktree: string;
  branch: string;
  worker: string;
  /** the branch the worker lands on (null: unknown) */
  main: string | null;
  stateDir: string;
  /** the branch's tip before the session, if known */
  before?: string | null;
}

export interface Settled {
  /** one line per thing found and done, for the worker's messages (the wip ref included) */
  notes: string[];
  /** commits that were on no ref of the branch, kept under refs/coven/stray/… */
  stray: string | null;
}

export async function settleWorktree(o: SettleOptions): Promise<Settled> {
  const s = await readWorktreeState(o.worktree, o.branch);
  const out: Settled = { notes: [], stray: null };
  await clearOwnLocks(o, s, out);
  for (const path of s.nested) out.notes.push(`the agent left a nested git repository at ${path}; moved to ${setAside(o.worktree, o.stateDir, o.worker, path)} (its files and its own history are there; not landed)`);
  if (s.operation === null && s.head.kind === 'on-branch' && s.branchTip !== null) return out;

  let tip = s.branchTip;
  if (tip === null) {
    tip = await remakeBranch(o, s);
    out.notes.push(`the agent deleted its branch ${o.branch}; coven made it again at ${tip.slice(0, 10)}${tip === o.before ? ' (where it was before the session)' : ' (its newest commit)'}`);
  }
  const dirty = await dirtyFiles(o.worktree).catch(() => [] as string[]);
  const base = s.headCommit ?? tip;
  if (dirty.length > 0 && base) {
    const snap = await snapshotCommit({ repo: o.worktree, worktree: o.worktree, base, message: 'coven: uncommitted work the agent left in an odd git state' });
    if (snap.commit !== base) {
      const ref = await keepAt(o.worktree, covenRef('wip', o.worker), snap.commit, 'coven: save uncommitted work');
      const where = s.operation ? `in its unfinished ${s.operation}` : s.head.kind === 'other-branch' || s.head.kind === 'detached' ? 'on a branch it switched to' : `(${snap.files.join(', ')})`;
      out.notes.push(`the agent left uncommitted changes ${where}; saved as ${ref}, not landed   (git show ${ref})`);
    }
  }

  if (s.operation) out.notes.push(await endOperation(o.worktree, s.operation));
  if (s.headCommit && (await keepsOwnCommits(o, s, s.headCommit, tip))) {
    out.stray = await keepAt(o.worktree, covenRef('stray', o.worker), s.headCommit, 'coven: commits made off the worker branch');
  }
  if (s.head.kind === 'other-branch' && s.head.branch.startsWith('coven/') && s.head.branch !== o.branch && out.stray) {
    out.notes.push(await putBackOthersBranch(o.worktree, s.head.branch, s.head.commit, out.stray));
  }
  if (s.head.kind === 'unborn' && s.head.branch !== o.branch) out.notes.push(`the agent left the worktree on an orphan branch ${s.head.branch} (git checkout --orphan, nothing committed there); back on ${o.branch}`);
  const back = await git(o.worktree, ['checkout', '--quiet', '--force', o.branch]);
  if (!back.ok) out.notes.push(`coven could not put the worktree back on ${o.branch}: ${gitMessage(back, { strip: true })}`);
  else if (dirty.length > 0) await git(o.worktree, ['clean', '-q', '-f', '-d']);
  return out;
}

/**
 * The agent checked out another worker's branch (git refuses unless told to ignore the
 * other worktree) and committed there: that branch goes back to where it was when the
 * agent checked it out (a compare-and-swap, so a commit of its own worker's since is
 * never undone); the agent's commits are already kept at `kept`.
 */
async function putBackOthersBranch(worktree: string, branch: string, now: string, kept: string): Promise<string> {
  const log = await git(worktree, ['reflog', 'show', '--format=%H%x00%gs', 'HEAD', '--']);
  const entry = (log.ok ? log.stdout.split('\n') : []).map((l) => l.split('\0')).find(([, subject]) => subject?.startsWith('checkout: moving from ') && subject.endsWith(` to ${branch}`));
  const at = entry?.[0];
  const whose = `the agent checked out ${branch}, another worker's branch, and committed there (kept as ${kept})`;
  if (!at || at === now || !(await git(worktree, ['merge-base', '--is-ancestor', at, now])).ok) return `${whose}; ${branch} was left as it is`;
  const put = await git(worktree, ['update-ref', '-m', 'coven: put back after another agent committed on it', `refs/heads/${branch}`, at, now]);
  return put.ok ? `${whose}; coven put ${branch} back at ${at.slice(0, 10)}, where it was` : `${whose}; ${branch} moved again since, so it was left as it is`;
}

/** Ends the operation the agent left open; the line that says so. */
async function endOperation(worktree: string, op: GitOperation): Promise<string> {
  const steps: string[][] =
    op === 'rebase' ? [['rebase', '--abort']]
    : op === 'merge' ? [['merge', '--abort']]
    : op === 'bisect' ? [['reset', '-q', '--hard'], ['bisect', 'reset']]
    : [[op, '--quit'], ['reset', '-q', '--hard']];
  for (const args of steps) await git(worktree, args);
  const gitDir = gitDirOfWorktree(worktree);
  if (op === 'bisect' && gitDir && operationInProgress(gitDir) === 'bisect') await git(worktree, ['bisect', 'reset', 'HEAD']);
  const left = gitDir ? operationInProgress(gitDir) : null;
  const how = steps.map((a) => `git ${a.filter((x) => x !== '-q').join(' ')}`).join(', then ');
  const a = op === 'am' ? 'an' : 'a';
  if (left) return `the agent left ${a} ${op} in progress; coven could not end it (${how}); to end it by hand: ${operationCommands(left).abort}`;
  const keeps = op === 'rebase' || op === 'merge' ? 'the branch is as it was before it' : op === 'bisect' ? 'back where it started' : 'what it had committed stays on the branch';
  return `the agent left ${a} ${op} in progress; coven ended it (${how}): ${keeps}`;
}

/** Makes the deleted branch again: at HEAD's commit (or HEAD's last) when it holds the branch's old tip, else at the old tip. */
async function remakeBranch(o: SettleOptions, s: WorktreeState): Promise<string> {
  const newest = s.headCommit ?? (await lastHeadCommit(o.worktree));
  const holdsOld = newest && o.before ? (await git(o.worktree, ['merge-base', '--is-ancestor', o.before, newest])).ok : Boolean(newest);
  const tip = (holdsOld ? newest : null) ?? o.before ?? newest ?? (o.main ? await revParse(o.worktree, `refs/heads/${o.main}`) : null);
  if (!tip) throw new Error(`cannot make ${o.branch} again: no commit to put it at`);
  await git(o.worktree, ['update-ref', '-m', 'coven: the agent deleted this branch', `refs/heads/${o.branch}`, tip, '']);
  if (o.main) await git(o.worktree, ['branch', '--quiet', `--set-upstream-to=${o.main}`, o.branch]);
  return tip;
}

/**
 * True when `head` holds commits the branch does not: after an operation, only commits
 * no ref shows in any form (a rebase's copies are not kept twice); otherwise any commit
 * off the branch (as the agent's commits on another branch always were).
 */
async function keepsOwnCommits(o: SettleOptions, s: WorktreeState, head: string, tip: string): Promise<boolean> {
  if ((await git(o.worktree, ['merge-base', '--is-ancestor', head, tip])).ok) return false;
  if (s.operation === null) return true;
  const mine = await commitIdentities(o.worktree, [head, '--not', tip, '--branches', '--tags', '--glob=refs/coven/*']);
  if (mine.length === 0) return false;
  const onBranch = new Set((await commitIdentities(o.worktree, [tip, ...(o.main ? ['--not', `refs/heads/${o.main}`] : [])])).map((c) => c.key));
  return mine.some((c) => !onBranch.has(c.key));
}

/**
 * The newest commit HEAD's reflog names, read from the file: git itself will not read the
 * reflog of a HEAD whose branch was deleted under it (`git update-ref -d` of the branch).
 */
async function lastHeadCommit(worktree: string): Promise<string | null> {
  const gitDir = gitDirOfWorktree(worktree);
  const read = gitDir ? await readCapped(join(gitDir, 'logs', 'HEAD'), 16 * 1024 * 1024) : null;
  if (read?.kind !== 'read') return null;
  const zero = /^0+$/;
  for (const line of read.text.split('\n').reverse()) {
    const [from = '', to = ''] = line.split(' ');
    for (const id of [to, from]) if (/^[0-9a-f]{40,64}$/.test(id) && !zero.test(id) && (await revParse(worktree, `${id}^{commit}`))) return id;
  }
  return null;
}

/**
 * Commits only the worktree's reflogs still reach (the agent deleted or reset the ref
 * that held them, in any way), kept under refs/coven/dropped/<worker>/<time>: the refs.
 */
export async function keepReflogOnly(worktree: string, worker: string, branch: string): Promise<string[]> {
  const tips = await reflogOnlyTips(worktree, worktree, branch);
  const refs: string[] = [];
  for (const tip of tips) refs.push(await keepAt(worktree, covenRef('dropped', worker), tip, 'coven: commits only a reflog reached'));
  return refs;
}

/** Moves every untracked nested repository out of the worktree (git cannot save them, and removing the worktree would delete them). */
export async function setAsideNestedRepos(worktree: string, stateDir: string, worker: string): Promise<Array<{ path: string; to: string }>> {
  return (await nestedRepos(worktree)).map((path) => ({ path, to: setAside(worktree, stateDir, worker, path) }));
}

/** Moves an untracked nested repository out of the worktree into <state dir>/nested/; where it went. */
function setAside(worktree: string, stateDir: string, worker: string, path: string): string {
  const rel = path.replace(/\/+$/, '');
  const to = join(stateDir, 'nested', worker, covenStamp(), rel);
  mkdirSync(dirname(to), { recursive: true });
  const from = join(worktree, rel);
  try {
    renameSync(from, to);
  } catch {
    // another file system: copy, then remove
    cpSync(from, to, { recursive: true, verbatimSymlinks: true });
    rmSync(from, { recursive: true, force: true });
  }
  return to;
}

/** The worktree's own lock files (never main's), left by a git the agent killed: removed once stale (lib/git/stale-locks.ts). */
async function clearOwnLocks(o: SettleOptions, s: WorktreeState, out: Settled): Promise<void> {
  if (!s.commonDir) return;
  const removed = await clearStaleGitLocks(o.worktree, s.commonDir, o.branch);
  if (removed.length > 0) out.notes.push(`the agent's git left lock files behind (${removed.join(', ')}); removed, as nothing had held them for 2 s`);
}
