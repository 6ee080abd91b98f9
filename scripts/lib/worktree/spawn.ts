// spawn — create a branch and its own worktree from the main branch's tip, with the main
// worktree's git-ignored files (.env, node_modules, build caches) copied in, so that
// whoever works there can build and test at once (the core of the spawn-worktree step).
// Every refusal leaves the repository and the disk as they were.

import { existsSync, lstatSync, realpathSync, rmSync, rmdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { openCopyPool, type CopyCounts, type CopyError } from './copy-tree.js';
import { findRepo, git, gitMessage, listWorktrees, projectName, revParse, type GitResult, type WorktreeEntry } from '../git/runner.js';
import { listIgnoredEntries } from './ignored-paths.js';
import { mainBranchOf, type MainBranchLookup } from '../git/main-branch.js';

export interface SpawnOptions {
  /** a folder inside the repository */
  cwd: string;
  /** the branch to create */
  branch: string;
  /** where worktrees go; default $COVEN_WORKTREE_BASE, else ~/worktrees */
  base?: string;
  /** start from this branch instead of the main branch */
  from?: string;
  /**
   * give an existing branch (whose worktree is gone) a worktree again, instead of
   * creating the branch; a failure removes only what this call created, never the branch
   */
  adopt?: boolean;
  /**
   * start the new branch here (a ref or commit; remote mode: refs/remotes/<remote>/<main>,
   * just fetched) instead of at the tip of the branch it lands on, which stays its upstream
   */
  startAt?: string;
}

/** clone: copy-on-write clones · copy: byte copies · mixed: some of each · none: no file copied */
export type CopyMethod = 'clone' | 'copy' | 'mixed' | 'none';

export interface CopySummary {
  /** ignored files and folders of the main worktree that were copied */
  entries: number;
  /** files and symlinks created */
  files: number;
  bytes: number;
  method: CopyMethod;
  /** ignored entries not copied because the branch has them: the checkout's stays */
  checkedOut: string[];
  /** files inside copied folders left alone (already checked out, or a socket, FIFO, device) */
  skipped: number;
}

export type SpawnResult =
  | { kind: 'spawned'; path: string; branch: string; main: string; copied: CopySummary }
  | { kind: 'not-a-repo'; cwd: string }
  | { kind: 'bare'; cwd: string }
  | { kind: 'no-commits'; main: string }
  | { kind: 'detached'; mainWorktree: string }
  | { kind: 'invalid-branch'; branch: string }
  /** adopt: there is no such branch, or it is checked out in another worktree */
  | { kind: 'cannot-adopt'; branch: string; reason: string }
  | { kind: 'unknown-from'; from: string }
  /** `existing` is the branch in the way: the same name, or one that is a folder of it or in it */
  | { kind: 'branch-exists'; branch: string; existing: string }
  | { kind: 'path-exists'; branch: string; path: string }
  /** `left`: what it made but could not remove again, or left because it has changed since */
  | { kind: 'worktree-add-failed'; branch: string; path: string; message: string; left: string[] }
  /** `left`: what could not be removed again (empty when everything was rolled back) */
  | { kind: 'copy-failed'; branch: string; path: string; error: CopyError; left: string[] };

/**
 * Creates `branch` and its worktree; every result other than `spawned` changed nothing.
 * In git commands:
 *
 *   git rev-parse --show-toplevel --git-common-dir ; git worktree list --porcelain
 *     ∥ git check-ref-format --branch <branch> ∥ git for-each-ref refs/heads/
 *   git ls-files --others --ignored --exclude-standard --directory   (what to copy)
 *   git update-ref refs/heads/<branch> <main's tip> ''   (create-only: claims the name;
 *                                     startAt: at that commit instead, e.g. the remote's main)
 *   git branch --set-upstream-to=<main> <branch>         (where land-worktree lands)
 *   git worktree add <path> <branch>     then the ignored files are copied in
 */
export async function spawnWorktree(opts: SpawnOptions): Promise<SpawnResult> {
  const cwd = resolve(opts.cwd);
  // independent questions go to git at once: each answer costs a process
  const [repo, validName, refsOut] = await Promise.all([
    findRepo(cwd),
    isValidBranchName(cwd, opts.branch),
    git(cwd, ['for-each-ref', '--format=%(refname) %(objectname)', 'refs/heads/']),
  ]);
  if (repo.kind !== 'repo') return { kind: repo.kind, cwd };
  const { worktrees } = repo;
  const mainWorktree = repo.paths.mainWorktree;
  if (worktrees[0]?.bare) return { kind: 'bare', cwd };
  const [mainBranch, ignored] = await Promise.all([mainBranchOf(repo.paths, worktrees), listIgnoredEntries(mainWorktree)]);
  const tips = new Map(refsOut.stdout.split('\n').filter(Boolean).map((l) => l.split(' ') as [string, string]));

  const start = startingPoint(opts, new Set(tips.keys()), worktrees, mainBranch, mainWorktree);
  if (start.kind !== 'start') return start;
  if (!validName) return { kind: 'invalid-branch', branch: opts.branch };
  const existing = opts.adopt ? null : branchInTheWay(new Set(tips.keys()), opts.branch);
  if (existing) return { kind: 'branch-exists', branch: opts.branch, existing };

  const base = worktreeBase(cwd, opts.base);
  const path = join(base, projectName(repo.paths), ...opts.branch.split('/'));
  if (pathExists(path)) return { kind: 'path-exists', branch: opts.branch, path };

  // other worktrees may sit inside an ignored folder of the main worktree: never copied
  const exclude = [...worktrees.slice(1).map((w) => w.path), path].flatMap((p) => [p, realpathOrSelf(p)]);
  const jobs = ignored.entries.map((e) => ({ src: join(mainWorktree, e.path), dst: join(path, e.path), entry: e.path })).filter((j) => !exclude.includes(j.src));
  // the copying threads boot while git creates the worktree
  const pool = openCopyPool({ exclude, threads: ignored.entries.some((e) => e.dir) ? undefined : 0 });
  try {
    const tip = opts.startAt && !opts.adopt ? await revParse(mainWorktree, opts.startAt) : tips.get(start.startRef)!;
    if (tip === null) return { kind: 'unknown-from', from: opts.startAt ?? '' };
    const made = await makeWorktree(opts, mainWorktree, path, start.main, start.startRef, tip);
    if (made.kind !== 'made') return made;
    // an ignored entry that the branch has too (committed, then ignored and untracked in
    // the main worktree) stays as checked out: the copy never overwrites a file
    const checkedOut = jobs.filter((j) => inTheWay(j.src, j.dst)).map((j) => j.entry);
    const copy = await pool.copy(jobs.filter((j) => !checkedOut.includes(j.entry)));
    if (copy.kind === 'failed') return { kind: 'copy-failed', branch: opts.branch, path, error: copy.error, left: await made.undo() };
    const c = copy.counts;
    const copied = { entries: jobs.length - checkedOut.length, files: c.files, bytes: c.bytes, method: copyMethod(c), checkedOut, skipped: c.skipped };
    return { kind: 'spawned', path, branch: opts.branch, main: start.main, copied };
  } finally {
    await pool.close();
  }
}

/** Where the new branch starts (`startRef`) and the branch it lands on (`main`), or why it cannot. */
function startingPoint(
  opts: SpawnOptions,
  refs: Set<string>,
  worktrees: WorktreeEntry[],
  mainBranch: MainBranchLookup,
  mainWorktree: string,
): { kind: 'start'; main: string; startRef: string } | Extract<SpawnResult, { kind: 'cannot-adopt' | 'unknown-from' | 'detached' | 'no-commits' }> {
  if (opts.adopt) {
    const startRef = `refs/heads/${opts.branch}`;
    if (!refs.has(startRef)) return { kind: 'cannot-adopt', branch: opts.branch, reason: 'there is no such branch' };
    const holder = worktrees.find((w) => w.branch === startRef && !w.prunable);
    if (holder) return { kind: 'cannot-adopt', branch: opts.branch, reason: `it is checked out in ${holder.path}` };
    return { kind: 'start', main: mainBranch.kind === 'branch' ? mainBranch.name : opts.branch, startRef };
  }
  if (opts.from !== undefined) {
    // a local branch only: it becomes the upstream that land-worktree lands on
    const startRef = `refs/heads/${opts.from}`;
    if (!refs.has(startRef)) return { kind: 'unknown-from', from: opts.from };
    return { kind: 'start', main: opts.from, startRef };
  }
  if (mainBranch.kind === 'detached') return { kind: 'detached', mainWorktree };
  const startRef = `refs/heads/${mainBranch.name}`;
  if (!refs.has(startRef)) return { kind: 'no-commits', main: mainBranch.name };
  return { kind: 'start', main: mainBranch.name, startRef };
}

/**
 * Claims the branch (unless adopting), records its upstream and adds its worktree.
 * Another process may create the same branch, or the folder, after the checks before.
 * The branch is claimed first, by a create-only ref update: of two spawns of one name
 * exactly one gets it. The folder is left to `git worktree add`, which refuses one that
 * is there and not empty (it adds into an empty one; a folder made here first would
 * outlive a spawn killed before git registers it). Whatever fails, only what this call
 * made is removed again, never the winner's worktree, files or branch.
 */
async function makeWorktree(
  opts: SpawnOptions,
  mainWorktree: string,
  path: string,
  main: string,
  startRef: string,
  tip: string,
): Promise<{ kind: 'made'; undo: () => Promise<string[]> } | Extract<SpawnResult, { kind: 'branch-exists' | 'path-exists' | 'worktree-add-failed' }>> {
  const made: Made = { branch: null, upstream: false, folders: missingFolders(dirname(path)), worktree: false };
  const undo = () => undoSpawn(mainWorktree, path, made);
  if (!opts.adopt) {
    const claimed = await claimBranch(mainWorktree, opts.branch, tip, main);
    if (claimed.kind === 'taken') return { kind: 'branch-exists', branch: opts.branch, existing: claimed.existing };
    if (claimed.kind === 'failed') return { kind: 'worktree-add-failed', branch: opts.branch, path, message: claimed.message, left: [] };
    made.branch = { name: opts.branch, tip };
    made.upstream = true;
    // the upstream (remote ".") tells land-worktree where to land, as `--track` would
    const upstream = await gitRetrying(mainWorktree, ['branch', '--quiet', `--set-upstream-to=${startRef}`, opts.branch]);
    if (!upstream.ok) return { kind: 'worktree-add-failed', branch: opts.branch, path, message: gitMessage(upstream), left: await undo() };
  }
  if (opts.adopt) await git(mainWorktree, ['worktree', 'prune']); // the branch's old, deleted worktree
  for (let attempt = 1; ; attempt++) {
    const add = await git(mainWorktree, ['worktree', 'add', '--quiet', path, opts.branch]);
    if (add.ok) break;
    // a worker starting at the same moment holds .git/config.lock, or its new worktree
    // folder is half written (git reads every worktree's): try again
    if (attempt < 8 && concurrentAddRace(add.stderr)) {
      await raceBackoff(attempt);
      continue;
    }
    // git removes what it made when it fails, except a finished worktree (a post-checkout
    // hook failed): that one is this call's; a folder git refused to use is someone else's
    const taken = folderTaken(add.stderr);
    made.worktree = !taken && (await checkedOutAt(mainWorktree, path, opts.branch));
    const left = await undo();
    if (taken) return { kind: 'path-exists', branch: opts.branch, path };
    return { kind: 'worktree-add-failed', branch: opts.branch, path, message: gitMessage(add), left };
  }
  made.worktree = true;
  return { kind: 'made', undo };
}

/** What a spawn made, so that undoing it removes that and nothing else. */
interface Made {
  /** the branch it created, at the tip it created it at (null: adopted, or none yet) */
  branch: { name: string; tip: string } | null;
  /** it wrote the branch's upstream setting */
  upstream: boolean;
  /** the folders above the worktree that were not there (git makes them), deepest first */
  folders: string[];
  /** its `git worktree add` succeeded */
  worktree: boolean;
}

/**
 * Creates `branch` at `tip` only if no branch of that name (or one in the way: `a` vs
 * `a/b`) exists: git checks and creates under the ref's lock, so of two spawns racing for
 * one name exactly one gets it.
 */
async function claimBranch(cwd: string, branch: string, tip: string, from: string): Promise<{ kind: 'claimed' } | { kind: 'taken'; existing: string } | { kind: 'failed'; message: string }> {
  const r = await gitRetrying(cwd, ['update-ref', '-m', `branch: Created from ${from}`, `refs/heads/${branch}`, tip, '']);
  if (r.ok) return { kind: 'claimed' };
  const now = await git(cwd, ['for-each-ref', '--format=%(refname)', 'refs/heads/']);
  const existing = branchInTheWay(new Set(now.stdout.split('\n').filter(Boolean)), branch);
  return existing ? { kind: 'taken', existing } : { kind: 'failed', message: gitMessage(r) };
}

/** The folders from `dir` upwards that do not exist yet (deepest first). */
function missingFolders(dir: string): string[] {
  const missing: string[] = [];
  for (let d = dir; !pathExists(d) && dirname(d) !== d; d = dirname(d)) missing.push(d);
  return missing;
}

/** git refused the worktree folder because something is there (a file, a folder with files, another worktree). */
function folderTaken(stderr: string): boolean {
  return /^fatal: '.*' (already exists|is a missing but (locked|already registered) worktree)/m.test(stderr);
}

/** `path` is a worktree that has `branch` checked out. */
async function checkedOutAt(mainWorktree: string, path: string, branch: string): Promise<boolean> {
  const paths = [path, realpathOrSelf(path)];
  return (await listWorktrees(mainWorktree)).some((w) => paths.includes(w.path) && w.branch === `refs/heads/${branch}`);
}

/** Removes these folders, deepest first, as long as they are empty; stops at the first that is not. */
function removeEmptyFolders(folders: string[]): void {
  for (const dir of folders) {
    try {
      rmdirSync(dir); // never anything inside
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') return;
    }
  }
}

/** True when the checkout already has something at `dst` that a copy of `src` would not merge into. */
function inTheWay(src: string, dst: string): boolean {
  try {
    return !(lstatSync(dst).isDirectory() && lstatSync(src).isDirectory());
  } catch {
    return false;
  }
}

/** `git <args>`, tried again while the failure is a race with another worktree add. */
async function gitRetrying(cwd: string, args: string[]): Promise<GitResult> {
  for (let attempt = 1; ; attempt++) {
    const r = await git(cwd, args);
    if (r.ok || attempt >= 8 || !concurrentAddRace(r.stderr)) return r;
    await raceBackoff(attempt);
  }
}

function raceBackoff(attempt: number): Promise<void> {
  return new Promise((r) => setTimeout(r, attempt * (20 + Math.random() * 60)));
}

/**
 * Failures of `git worktree add` caused by another worktree being created at the same
 * moment (git 2.39 reads every worktree's admin folder, which may be half written, and
 * takes the config lock to record the upstream; a `git worktree prune` run elsewhere may
 * remove an admin folder in the instant before git locks it): worth another try.
 */
export function concurrentAddRace(stderr: string): boolean {
  return /failed to read .*worktrees\/|could not open '[^']*worktrees\/[^']*' for writing|could not lock config file|Unable to create '[^']*\.lock': File exists/.test(stderr);
}

/** `git check-ref-format --branch`, and the name must come back unchanged (no `@{-1}`). */
async function isValidBranchName(cwd: string, branch: string): Promise<boolean> {
  if (!branch || branch.startsWith('-')) return false;
  const r = await git(existsSync(cwd) ? cwd : '/', ['check-ref-format', '--branch', branch]);
  return r.ok && r.stdout.trim() === branch;
}

/** The branch that stops `branch` from being created: itself, a parent `a` of `a/b`, or a child `a/b` of `a`. */
export function branchInTheWay(refs: Set<string>, branch: string): string | null {
  const prefix = 'refs/heads/';
  if (refs.has(prefix + branch)) return branch;
  const parts = branch.split('/');
  for (let i = 1; i < parts.length; i++) {
    const parent = parts.slice(0, i).join('/');
    if (refs.has(prefix + parent)) return parent;
  }
  for (const ref of refs) if (ref.startsWith(`${prefix}${branch}/`)) return ref.slice(prefix.length);
  return null;
}

/** --worktree-base, else COVEN_WORKTREE_BASE, else ~/worktrees; `~/` is expanded, relative paths start at cwd. */
export function worktreeBase(cwd: string, flag?: string, env: NodeJS.ProcessEnv = process.env): string {
  const given = flag || env.COVEN_WORKTREE_BASE || join(homedir(), 'worktrees');
  const expanded = given === '~' ? homedir() : given.startsWith('~/') ? join(homedir(), given.slice(2)) : given;
  return resolve(cwd, expanded);
}

function pathExists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

function realpathOrSelf(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return p;
  }
}

/**
 * Removes a worktree whose `git worktree add` was killed half way (git leaves it locked
 * as "initializing", perhaps without a HEAD yet): nothing ever ran in it. Its branch
 * goes too when every commit of it is on `onto` (it was just made from there).
 */
export async function removeUnfinishedWorktree(mainWorktree: string, path: string, branch: string, onto: string): Promise<'removed' | 'failed'> {
  const removed = await git(mainWorktree, ['worktree', 'remove', '--force', '--force', path]); // twice: past the lock
  if (!removed.ok) return 'failed';
  const merged = await git(mainWorktree, ['merge-base', '--is-ancestor', `refs/heads/${branch}`, `refs/heads/${onto}`]);
  if (merged.ok) await git(mainWorktree, ['branch', '-D', branch]);
  return 'removed';
}

/**
 * Undoes a spawn: removes what `made` says it made, and only that. Its worktree held
 * nothing but copies; its branch goes only while it is still at the tip it was created
 * at (a compare-and-swap delete). Returns what could not be removed (empty when all went).
 */
async function undoSpawn(mainWorktree: string, path: string, made: Made): Promise<string[]> {
  const left: string[] = [];
  if (made.worktree) {
    const removed = await git(mainWorktree, ['worktree', 'remove', '--force', '--force', path]);
    if (!removed.ok) {
      try {
        rmSync(path, { recursive: true, force: true });
      } catch {
        left.push(path);
      }
      // only then is an admin entry left over. (Not after every failed add: a prune at the
      // moment another worker's `git worktree add` has made its admin folder but not yet
      // locked it removes that folder, and the other add fails.)
      await git(mainWorktree, ['worktree', 'prune']);
    }
  }
  removeEmptyFolders(made.folders);
  if (made.branch) {
    const { name, tip } = made.branch;
    const ref = `refs/heads/${name}`;
    const now = (await git(mainWorktree, ['rev-parse', '--verify', '--quiet', ref])).stdout.trim();
    if (now && now !== tip) left.push(`branch ${name} (it has moved since: someone's work)`);
    else if (now) {
      // the setting first, while the name is still this call's: no other spawn writes it now
      if (made.upstream) await gitRetrying(mainWorktree, ['config', '--remove-section', `branch.${name}`]);
      const deleted = await gitRetrying(mainWorktree, ['update-ref', '-d', ref, tip]);
      if (!deleted.ok) left.push(`branch ${name}`);
    }
  }
  return left;
}

function copyMethod(c: CopyCounts): CopyMethod {
  if (c.cloned > 0) return c.copied > 0 ? 'mixed' : 'clone';
  return c.copied > 0 ? 'copy' : 'none';
}
