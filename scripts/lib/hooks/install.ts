// hooks — install, remove or show coven's post-commit and post-merge git hooks, which
// wake sleeping workers when the main branch moves (hooks/post-commit, hooks/post-merge).
//
// files:  <hooks dir>/post-commit, post-merge            coven's hooks (marker line "# coven-hook")
//         <hooks dir>/<name>.coven-chained               a hook that was there before; coven's runs it
//                                                        under its own name ($0)
//         <state dir>/main-branch                        the branch whose moves wake workers
// The hooks dir is git's: core.hooksPath when set (a relative path is taken from the
// main worktree's top, where git runs the hooks that move main), else
// <git common dir>/hooks, shared by every worktree.
// A hook manager's files (husky's folder, a lefthook or pre-commit hook: managers.ts)
// are never written over: that hook is left to the manager and workers wake through
// the ref watch; `status` says so, and says when a manager replaced coven's hook.

import { constants } from 'node:fs';
import { access, chmod, mkdir, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { findRepo, git, type RepoPaths } from '../git/runner.js';
import { mainBranchOf } from '../git/main-branch.js';
import { recordedMainBranch, recordMainBranch } from '../worker/wake.js';
import { CHAINED_SUFFIX, HOOK_NAMES, hookText, type HookName } from './hook-text.js';
import { inspectHook, managerOfFolder, managerOfText, type HookOnDisk, type Manager } from './managers.js';

export { CHAINED_SUFFIX, HOOK_MARKER, HOOK_NAMES, hookText, isCovenHook, type HookName } from './hook-text.js';
export type { Manager } from './managers.js';

export interface HooksLocation {
  dir: string;
  /** where the location comes from; `configured` is core.hooksPath as written */
  source: { kind: 'core.hooksPath'; configured: string } | { kind: 'default' };
  /** a manager that rewrites the whole folder (husky) */
  manager: Manager | null;
}

export interface HookStatus {
  name: HookName;
  path: string;
  /**
   * installed: coven's current hook runs · modified: coven's marker, other content ·
   * not-installed: no coven hook · managed: a hook manager's file, left alone by coven ·
   * overwritten: a hook manager replaced coven's hook
   */
  state: 'installed' | 'modified' | 'not-installed' | 'managed' | 'overwritten';
  /** a hook that is not coven's sits at `path` */
  foreign: boolean;
  /** the user's earlier hook that coven's runs, when there is one */
  chained: string | null;
  /** the hook manager that owns this hook (its file or its folder) */
  manager: Manager | null;
  /** coven's hook where the manager moved it (pre-commit runs it from there; lefthook does not) */
  displaced: { path: string; runs: boolean } | null;
  /** what wakes workers when main moves here: coven's hook (and the ref watch), or the ref watch alone */
  wakes: 'hook' | 'ref-watch';
}

type InRepo<T> = T | { kind: 'not-a-repo'; cwd: string } | { kind: 'bare'; cwd: string };

/** written/updated/unchanged: coven's hook · left: a manager's hook, left to it (`tidied`: coven's earlier traces put back) */
export interface InstalledHook {
  name: HookName;
  action: 'written' | 'updated' | 'unchanged' | 'left';
  chained: string | null;
  manager: Manager | null;
  /** coven's hook runs from here, not from <name> (pre-commit's migration mode) */
  runsFrom: string | null;
  tidied: boolean;
}

export type InstallResult = InRepo<
  | { kind: 'installed'; location: HooksLocation; mainBranch: string; hooks: InstalledHook[] }
  | { kind: 'no-main-branch'; worktree: string }
  | { kind: 'chain-conflict'; path: string; chained: string }
>;

export type UninstallResult = InRepo<{
  kind: 'uninstalled';
  location: HooksLocation;
  hooks: Array<{ name: HookName; action: 'removed' | 'restored' | 'not-installed' | 'left-foreign'; manager: Manager | null }>;
}>;

export type StatusResult = InRepo<{ kind: 'status'; location: HooksLocation; mainBranch: string | null; hooks: HookStatus[] }>;

/** Where git runs this repository's hooks from, and whether a manager owns that folder. */
export async function hooksLocation(paths: RepoPaths): Promise<HooksLocation> {
  const r = await git(paths.mainWorktree, ['config', '--path', '--get', 'core.hooksPath']);
  const configured = r.ok ? r.stdout.trim() : '';
  if (configured) {
    const dir = isAbsolute(configured) ? configured : resolve(paths.mainWorktree, configured);
    return { dir, source: { kind: 'core.hooksPath', configured }, manager: await managerOfFolder(dir) };
  }
  return { dir: join(paths.commonDir, 'hooks'), source: { kind: 'default' }, manager: null };
}

async function inspectAll(paths: RepoPaths, location: HooksLocation): Promise<HookOnDisk[]> {
  const tracked = await trackedHooks(paths, location.dir);
  return Promise.all(HOOK_NAMES.map((name) => inspectHook(location.dir, name, location.manager, tracked)));
}

/** Which of coven's hook paths are files committed in the repository (a hooks folder inside the main worktree). */
async function trackedHooks(paths: RepoPaths, dir: string): Promise<Set<string>> {
  const rel = relative(paths.mainWorktree, dir);
  const inGitDir = !relative(paths.commonDir, dir).startsWith('..');
  if (rel.startsWith('..') || isAbsolute(rel) || inGitDir) return new Set();
  const r = await git(paths.mainWorktree, ['ls-files', '-z', '--full-name', '--', ...HOOK_NAMES.map((n) => join(rel, n))]);
  return new Set(r.ok ? r.stdout.split('\0').filter(Boolean).map((f) => join(paths.mainWorktree, f)) : []);
}

/** Installs both hooks (idempotent) and records the main branch. `coven init` calls this. */
export async function installHooks(repoDir: string, opts: { mainBranch?: string } = {}): Promise<InstallResult> {
  const repo = await findRepo(repoDir);
  if (repo.kind !== 'repo') return repo;
  const { paths } = repo;
  let mainBranch = opts.mainBranch;
  if (!mainBranch) {
    const main = await mainBranchOf(paths);
    if (main.kind !== 'branch') return { kind: 'no-main-branch', worktree: main.worktree };
    mainBranch = main.name;
  }
  const location = await hooksLocation(paths);
  const found = await inspectAll(paths, location);
  // refuse before changing anything: a user's hook plus a leftover .coven-chained
  for (const h of found) {
    if (h.manager === null && h.owner === 'user' && h.chained) return { kind: 'chain-conflict', path: h.path, chained: h.chained.path };
  }
  if (location.manager === null) await mkdir(location.dir, { recursive: true }); // never create a manager's folder
  const hooks: InstalledHook[] = [];
  for (const h of found) hooks.push(await installOne(h));
  await recordMainBranch(paths.stateDir, mainBranch);
  return { kind: 'installed', location, mainBranch, hooks };
}

async function installOne(h: HookOnDisk): Promise<InstalledHook> {
  const text = await hookText(h.name);
  const base = { name: h.name, manager: h.manager, runsFrom: null, tidied: false };
  if (h.manager !== null && h.owner !== 'coven') {
    if (h.displaced?.runs) {
      // pre-commit moved coven's hook to <name>.legacy and runs it from there: keep it current
      const same = h.displaced.text === text && (await isExecutable(h.displaced.path));
      if (!same) await writeExecutable(h.displaced.path, text);
      // a .coven-chained that is pre-commit's own earlier hook: pre-commit would run itself twice
      const stale = h.chained?.text != null && managerOfText(h.chained.text) === h.manager;
      if (stale && h.chained) await unlink(h.chained.path);
      const chained = stale ? null : (h.chained?.path ?? null);
      return { ...base, action: same && !stale ? 'unchanged' : 'updated', chained, runsFrom: h.displaced.path, tidied: stale };
    }
    return { ...base, action: 'left', chained: null, tidied: (await putBack(h)) !== null };
  }
  if (h.manager === 'husky' || h.manager === 'repository') {
    // coven's hook from before it knew better: put back the file it replaced (husky's, or a committed one)
    return { ...base, action: 'left', chained: null, tidied: (await putBack(h)) !== null };
  }
  let action: InstalledHook['action'];
  if (h.owner === 'coven') {
    action = h.text === text && (await isExecutable(h.path)) ? 'unchanged' : 'updated';
  } else {
    if (h.owner !== 'absent') await rename(h.path, h.path + CHAINED_SUFFIX);
    action = 'written';
  }
  if (action !== 'unchanged') await writeExecutable(h.path, text);
  const chained = h.chained !== null || h.owner === 'user' ? h.path + CHAINED_SUFFIX : null;
  return { ...base, action, chained };
}

/**
 * Undoes coven's footprint for one hook: what was there before coven (or what the
 * manager alone would have left) goes back, byte for byte; null when nothing was to do.
 */
async function putBack(h: HookOnDisk): Promise<'restored' | 'removed' | 'left-foreign' | null> {
  if (h.owner === 'coven') {
    if (h.chained) {
      await rename(h.chained.path, h.path); // replaces coven's hook in one step
      return 'restored';
    }
    await unlink(h.path);
    return 'removed';
  }
  if (h.manager !== null) {
    const stale = h.chained !== null && h.chained.text !== null && managerOfText(h.chained.text) === h.manager;
    if (h.displaced) {
      // the manager moved coven's hook aside; the user's hook coven ran goes where the manager would have put it
      if (h.chained && !stale) await rename(h.chained.path, h.displaced.path);
      else await unlink(h.displaced.path);
    }
    if (stale && h.chained) await unlink(h.chained.path); // the manager's own file, since rewritten in place
    if (h.displaced) return h.chained && !stale ? 'restored' : 'removed';
    return stale ? 'removed' : h.chained ? 'left-foreign' : null;
  }
  if (h.chained && h.owner === 'absent') {
    await rename(h.chained.path, h.path);
    return 'restored';
  }
  return h.owner === 'user' ? 'left-foreign' : null;
}

/** Removes coven's hooks and puts back the hooks they chained, byte for byte. */
export async function uninstallHooks(repoDir: string): Promise<UninstallResult> {
  const repo = await findRepo(repoDir);
  if (repo.kind !== 'repo') return repo;
  const location = await hooksLocation(repo.paths);
  const hooks: Extract<UninstallResult, { kind: 'uninstalled' }>['hooks'] = [];
  for (const h of await inspectAll(repo.paths, location)) {
    const done = await putBack(h);
    hooks.push({ name: h.name, action: done ?? 'not-installed', manager: h.manager });
  }
  return { kind: 'uninstalled', location, hooks };
}

export async function hooksStatus(repoDir: string): Promise<StatusResult> {
  const repo = await findRepo(repoDir);
  if (repo.kind !== 'repo') return repo;
  const location = await hooksLocation(repo.paths);
  const hooks: HookStatus[] = [];
  for (const h of await inspectAll(repo.paths, location)) hooks.push(await statusOf(h));
  return { kind: 'status', location, mainBranch: await recordedMainBranch(repo.paths.stateDir), hooks };
}

async function statusOf(h: HookOnDisk): Promise<HookStatus> {
  const text = await hookText(h.name);
  const base = { name: h.name, path: h.path, foreign: h.owner !== 'coven' && h.owner !== 'absent', chained: h.chained?.path ?? null, manager: h.manager };
  const displaced = h.displaced ? { path: h.displaced.path, runs: h.displaced.runs } : null;
  if (h.owner === 'coven') {
    const state = h.text === text && (await isExecutable(h.path)) ? 'installed' : 'modified';
    return { ...base, state, displaced, wakes: 'hook' };
  }
  if (h.manager !== null && h.displaced?.runs) {
    const state = h.displaced.text === text && (await isExecutable(h.displaced.path)) ? 'installed' : 'modified';
    return { ...base, state, displaced, wakes: 'hook' };
  }
  if (h.manager !== null) {
    return { ...base, state: h.displaced || h.chained ? 'overwritten' : 'managed', displaced, wakes: 'ref-watch' };
  }
  return { ...base, state: 'not-installed', displaced: null, wakes: 'ref-watch' };
}

// ---------------------------------------------------------------------------------

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

async function writeExecutable(path: string, text: string): Promise<void> {
  const tmp = `${path}.coven-tmp-${process.pid}`;
  try {
    await writeFile(tmp, text, { mode: 0o755 });
    await chmod(tmp, 0o755); // the umask may have cleared bits
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
