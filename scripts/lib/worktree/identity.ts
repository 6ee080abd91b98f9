// identity — the worktree coven made, and no other. A worker's worktree is tied to the
// repository by three small files that its agent can rewrite: `<worktree>/.git` (a file
// `gitdir: <common>/worktrees/<id>`), and in that git dir `gitdir` (the back-pointer,
// `<worktree>/.git`) and `commondir`. An agent that points `.git` at the main worktree's
// git dir would make every git command run there use the human's index and HEAD.
//
// So coven records the git dir when it makes (or adopts) the worktree and:
//   - pins it: coven's own git commands with that worktree as cwd run with GIT_DIR and
//     GIT_WORK_TREE given (runner.ts), whatever the `.git` file says;
//   - checks it after every agent session and before the worker goes on: the `.git` file
//     is a regular file naming that git dir, the back-pointer names the worktree, and
//     `commondir` the repository's git dir; and repairs what is coven's to repair
//     (rewrites those files; a `.git` that is not a file is moved aside, beside the
//     worktree, never deleted).
// The branch checked out there is checked where it is used (lib/worktree/settle.ts, after every agent session).
// Inputs: the worktree, its recorded git dir. Outputs: typed results, files rewritten.

import { existsSync, lstatSync, readdirSync, realpathSync, renameSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { readCapped } from '../files/read-capped.js';
import { writeAtomic } from '../files/write-atomic.js';
import { samePath } from '../files/same-path.js';
import { pinnedGitDir, pinWorktree } from '../git/runner.js';
import { formatProblem, shellQuote } from '../ui/problem.js';

/** git writes a few hundred bytes here; anything larger is not git's */
const MAX_LINK_FILE_BYTES = 64 * 1024;

export interface Identity {
  worktree: string;
  /** `<common>/worktrees/<id>`, as coven recorded it */
  gitDir: string;
}

/** What an agent changed; each is something coven can put back. */
export type Change =
  /** `.git` is a file that names another git dir (`points`: the path it names) */
  | { kind: 'git-file-redirected'; points: string }
  | { kind: 'git-file-missing' }
  /** `.git` is a directory (a repository of the agent's), a link or something else */
  | { kind: 'git-file-replaced'; what: string }
  | { kind: 'back-pointer-changed'; points: string }
  | { kind: 'common-dir-changed'; points: string };

export type IdentityCheck =
  | { kind: 'ok' }
  /** the worktree folder itself is gone (handled as a deleted worktree) */
  | { kind: 'worktree-gone' }
  /** the worktree was moved (`git worktree move`): its git dir now names `to`, whose `.git` names it back */
  | { kind: 'moved'; to: string }
  /** its git dir is gone (pruned or deleted): nothing to put back; only its branch is left */
  | { kind: 'git-dir-gone'; gitDir: string }
  | { kind: 'changed'; changes: Change[] };

export type Repair =
  | { kind: 'ok' }
  | { kind: 'worktree-gone' }
  | { kind: 'moved'; to: string }
  | { kind: 'git-dir-gone'; gitDir: string }
  /** `movedAside`: where a `.git` that was not coven's file now is */
  | { kind: 'repaired'; changes: Change[]; movedAside: string | null }
  | { kind: 'failed'; changes: Change[]; message: string };

/** The path a `gitdir: <path>` file names, or null when it is not such a file. */
export function gitdirLine(text: string, relativeTo: string): string | null {
  const m = /^gitdir: (.+?)\r?$/.exec(text.split('\n')[0]!);
  if (!m) return null;
  return isAbsolute(m[1]!) ? m[1]! : resolve(relativeTo, m[1]!);
}

/** The git dir a worktree's `.git` file names right now (just made by git: trusted), or null. */
export async function gitDirOf(worktree: string): Promise<string | null> {
  const r = await readCapped(join(worktree, '.git'), MAX_LINK_FILE_BYTES);
  if (r.kind !== 'read') return null;
  const dir = gitdirLine(r.text, worktree);
  return dir && existsSync(join(dir, 'HEAD')) ? real(dir) : null;
}

/**
 * The git dir of a worktree coven finds again (a dead worker's): the recorded one when
 * it still points back at the worktree, else the one under `<common>/worktrees/` whose
 * back-pointer names it, else what its `.git` file says.
 */
export async function findGitDir(commonDir: string, worktree: string, recorded: string | null | undefined): Promise<string | null> {
  if (recorded && (await pointsBackTo(recorded, worktree))) return real(recorded);
  const admin = join(commonDir, 'worktrees');
  let ids: string[] = [];
  try {
    ids = readdirSync(admin);
  } catch {
    ids = [];
  }
  for (const id of ids) if (await pointsBackTo(join(admin, id), worktree)) return real(join(admin, id));
  const named = recorded && existsSync(recorded) ? real(recorded) : await gitDirOf(worktree);
  // never the repository's own git dir, nor one outside it: only `<common>/worktrees/<id>`
  return named && samePlace(dirname(named), admin) ? named : null;
}

/**
 * A worktree coven finds again (`coven gc`, a worker taking over a dead one's): finds
 * its git dir, pins it, and (unless `dryRun`) repairs its link. Null: no git dir found.
 */
export async function reclaimIdentity(commonDir: string, worktree: string, recorded: string | null | undefined, dryRun: boolean): Promise<{ id: Identity; repair: Repair } | null> {
  const gitDir = await findGitDir(commonDir, worktree, recorded);
  if (!gitDir) return null;
  const id = { worktree, gitDir };
  pinIdentity(id);
  if (!dryRun) return { id, repair: await repairIdentity(id) }; // it checks first
  const check = await checkIdentity(id);
  return { id, repair: check.kind === 'changed' ? { kind: 'failed', changes: check.changes, message: 'not repaired (--dry-run)' } : check };
}

/** Where the worktree is now, if it was moved: its git dir's back-pointer names a folder whose `.git` names that git dir. */
async function movedTo(id: Identity): Promise<string | null> {
  const back = await readCapped(join(id.gitDir, 'gitdir'), MAX_LINK_FILE_BYTES);
  if (back.kind !== 'read') return null;
  const to = dirname(resolve(id.gitDir, back.text.split('\n')[0]!.trim()));
  if (samePlace(to, id.worktree) || !existsSync(to)) return null;
  const link = await readCapped(join(to, '.git'), MAX_LINK_FILE_BYTES);
  const points = link.kind === 'read' ? gitdirLine(link.text, to) : null;
  return points && samePlace(points, id.gitDir) ? to : null;
}

async function pointsBackTo(gitDir: string, worktree: string): Promise<boolean> {
  const r = await readCapped(join(gitDir, 'gitdir'), MAX_LINK_FILE_BYTES);
  if (r.kind !== 'read') return false;
  const back = r.text.split('\n')[0]!.trim();
  return back !== '' && samePlace(dirname(resolve(gitDir, back)), worktree);
}

/** Compares the worktree with what coven recorded. Reads three small files; runs no git. */
export async function checkIdentity(id: Identity): Promise<IdentityCheck> {
  const commonDir = commonDirOf(id);
  if (!existsSync(id.worktree)) {
    const to = await movedTo(id);
    return to ? { kind: 'moved', to } : { kind: 'worktree-gone' };
  }
  if (!existsSync(join(id.gitDir, 'HEAD'))) return { kind: 'git-dir-gone', gitDir: id.gitDir };
  const changes: Change[] = [];
  const link = await readCapped(join(id.worktree, '.git'), MAX_LINK_FILE_BYTES);
  if (link.kind === 'missing') changes.push({ kind: 'git-file-missing' });
  else if (link.kind !== 'read') changes.push({ kind: 'git-file-replaced', what: link.kind === 'not-a-file' ? link.what : link.kind === 'too-big' ? 'a file too big to be git\'s' : 'unreadable' });
  else {
    const points = gitdirLine(link.text, id.worktree);
    if (points === null) changes.push({ kind: 'git-file-replaced', what: 'a file that names no git dir' });
    else if (!samePlace(points, id.gitDir)) changes.push({ kind: 'git-file-redirected', points });
  }
  if (!(await pointsBackTo(id.gitDir, id.worktree))) {
    const back = await readCapped(join(id.gitDir, 'gitdir'), MAX_LINK_FILE_BYTES);
    changes.push({ kind: 'back-pointer-changed', points: back.kind === 'read' ? back.text.split('\n')[0]!.trim() : '(missing)' });
  }
  const common = await readCapped(join(id.gitDir, 'commondir'), MAX_LINK_FILE_BYTES);
  const commonPoints = common.kind === 'read' ? resolve(id.gitDir, common.text.split('\n')[0]!.trim()) : '(missing)';
  if (!samePlace(commonPoints, commonDir)) changes.push({ kind: 'common-dir-changed', points: commonPoints });
  return changes.length === 0 ? { kind: 'ok' } : { kind: 'changed', changes };
}

/**
 * Checks the worktree and puts back what an agent changed: the `.git` file (one that
 * is not a file is moved aside to `<worktree>.agent-git-<n>`), the back-pointer and
 * `commondir`. Never deletes anything.
 */
export async function repairIdentity(id: Identity): Promise<Repair> {
  const commonDir = commonDirOf(id);
  const check = await checkIdentity(id);
  if (check.kind !== 'changed') return check;
  let movedAside: string | null = null;
  try {
    for (const c of check.changes) {
      if (c.kind === 'git-file-replaced') {
        movedAside = freeName(`${id.worktree}.agent-git`);
        renameSync(join(id.worktree, '.git'), movedAside);
      }
      if (c.kind === 'git-file-redirected' || c.kind === 'git-file-missing' || c.kind === 'git-file-replaced') await writeAtomic(join(id.worktree, '.git'), `gitdir: ${id.gitDir}\n`);
      if (c.kind === 'back-pointer-changed') await writeAtomic(join(id.gitDir, 'gitdir'), `${join(id.worktree, '.git')}\n`);
      if (c.kind === 'common-dir-changed') await writeAtomic(join(id.gitDir, 'commondir'), `${commonDir}\n`);
    }
  } catch (err) {
    return { kind: 'failed', changes: check.changes, message: (err as Error).message };
  }
  const after = await checkIdentity(id);
  if (after.kind !== 'ok') return { kind: 'failed', changes: check.changes, message: 'it still does not match after the repair' };
  return { kind: 'repaired', changes: check.changes, movedAside };
}

/** The pinned worktree's identity (see pinIdentity), or null when coven did not pin it. */
export function pinnedIdentity(worktree: string): Identity | null {
  const gitDir = pinnedGitDir(worktree);
  return gitDir ? { worktree, gitDir } : null;
}

/** From now on, coven's git commands in `worktree` use `gitDir` (runner.ts). */
export function pinIdentity(id: Identity): void {
  pinWorktree(id.worktree, id.gitDir);
}

/** Checks and repairs a worktree that coven pinned; `ok` for one it did not. */
export async function keepPinnedIdentity(worktree: string): Promise<Repair> {
  const id = pinnedIdentity(worktree);
  return id ? repairIdentity(id) : { kind: 'ok' };
}

/** `<common>/worktrees/<id>` → `<common>`: the recorded git dir says where the repository is. */
function commonDirOf(id: Identity): string {
  return resolve(id.gitDir, '..', '..');
}

/** The message for a repair (or one that failed): what the agent changed, what coven did, what was kept. */
export function describeRepair(worktree: string, r: Extract<Repair, { kind: 'repaired' } | { kind: 'failed' }>): string {
  const gitDir = pinnedGitDir(worktree);
  const what = `the agent in ${worktree} ${describeChanges(r.changes, gitDir ? resolve(gitDir, '..', '..') : '')}.`;
  const never = 'coven\'s own git commands there ran with the git dir coven recorded for it, so they touched no other worktree\'s index or files.';
  if (r.kind === 'failed') {
    return formatProblem({ what: `${what} coven could not put it back: ${r.message}`, kept: `${never} Its branch keeps every commit.`, next: [`git -C ${shellQuote(worktree)} worktree repair   (then start the worker again; or coven gc --force once it stopped)`] });
  }
  const files = [...new Set(r.changes.map((c) => (c.kind === 'back-pointer-changed' ? 'its git dir\'s gitdir file' : c.kind === 'common-dir-changed' ? 'its git dir\'s commondir file' : 'its .git file')))].join(' and ');
  const aside = r.movedAside ? ` What the agent left at .git is kept at ${r.movedAside}.` : '';
  return `coven: ${what} coven put back ${files}.${aside} ${never}`;
}

/** One sentence: what the agent changed. */
export function describeChanges(changes: Change[], commonDir: string): string {
  const parts = changes.map((c) => {
    switch (c.kind) {
      case 'git-file-redirected':
        return `pointed its .git file at ${c.points}${whose(c.points, commonDir)}`;
      case 'git-file-missing':
        return 'removed its .git file';
      case 'git-file-replaced':
        return `replaced its .git file with ${c.what}`;
      case 'back-pointer-changed':
        return `changed the git dir's back-pointer (gitdir) to ${c.points}`;
      case 'common-dir-changed':
        return `changed the git dir's commondir to ${c.points}`;
    }
  });
  return parts.join(', and ');
}

function whose(points: string, commonDir: string): string {
  if (samePlace(points, commonDir)) return ' (the main worktree\'s git dir)';
  if (samePlace(dirname(points), join(commonDir, 'worktrees'))) return ` (the git dir of another worktree, ${basename(points)})`;
  return '';
}

function freeName(base: string): string {
  for (let n = 1; ; n++) {
    const name = n === 1 ? base : `${base}-${n}`;
    if (!exists(name)) return name;
  }
}

function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

function real(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return resolve(p);
  }
}

/** The same path as written, or the same existing file or folder (links resolved). */
function samePlace(a: string, b: string): boolean {
  return resolve(a) === resolve(b) || samePath(a, b);
}
