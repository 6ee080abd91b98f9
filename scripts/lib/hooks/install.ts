// hooks — install, remove or show coven's post-commit and post-merge git hooks, which
// wake sleeping workers when the main branch moves (hooks/post-commit, hooks/post-merge).
//
// files:  <hooks dir>/post-commit, post-merge            coven's hooks (marker line "# coven-hook")
//         <hooks dir>/<name>.coven-chained               a hook that was there before; coven's runs it
//         <state dir>/main-branch                        the branch whose moves wake workers
// The hooks dir is git's: core.hooksPath when set (a relative path is taken from the
// main worktree's top, where git runs the hooks that move main), else
// <git common dir>/hooks, shared by every worktree.

import { constants } from 'node:fs';
import { access, chmod, lstat, mkdir, readFile, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { findRepo, git, type RepoPaths } from '../git/runner.js';
import { packageText } from '../files/package-file.js';
import { mainBranchOf } from '../git/main-branch.js';
import { recordedMainBranch, recordMainBranch } from '../worker/wake.js';

export const HOOK_NAMES = ['post-commit', 'post-merge'] as const;
export type HookName = (typeof HOOK_NAMES)[number];
export const HOOK_MARKER = '# coven-hook';
export const CHAINED_SUFFIX = '.coven-chained';

export interface HooksLocation {
  dir: string;
  /** where the location comes from; `configured` is core.hooksPath as written */
  source: { kind: 'core.hooksPath'; configured: string } | { kind: 'default' };
}

export interface HookStatus {
  name: HookName;
  path: string;
  /** installed: coven's current hook · modified: coven's marker, other content · not-installed */
  state: 'installed' | 'modified' | 'not-installed';
  /** a hook that is not coven's sits at `path` */
  foreign: boolean;
  /** the user's earlier hook that coven's runs, when there is one */
  chained: string | null;
}

type InRepo<T> = T | { kind: 'not-a-repo'; cwd: string } | { kind: 'bare'; cwd: string };

export type InstallResult = InRepo<
  | { kind: 'installed'; location: HooksLocation; mainBranch: string; hooks: Array<{ name: HookName; action: 'written' | 'updated' | 'unchanged'; chained: string | null }> }
  | { kind: 'no-main-branch'; worktree: string }
  | { kind: 'chain-conflict'; path: string; chained: string }
>;

export type UninstallResult = InRepo<{
  kind: 'uninstalled';
  location: HooksLocation;
  hooks: Array<{ name: HookName; action: 'removed' | 'restored' | 'not-installed' | 'left-foreign' }>;
}>;

export type StatusResult = InRepo<{ kind: 'status'; location: HooksLocation; mainBranch: string | null; hooks: HookStatus[] }>;

/** The text coven writes for a hook (the package's hooks/<name>, embedded in a bundle). */
export async function hookText(name: HookName): Promise<string> {
  return packageText(`hooks/${name}`);
}

export function isCovenHook(text: string): boolean {
  return text.split('\n').some((l) => l.startsWith(HOOK_MARKER));
}

/** Where git runs this repository's hooks from. */
export async function hooksLocation(paths: RepoPaths): Promise<HooksLocation> {
  const r = await git(paths.mainWorktree, ['config', '--path', '--get', 'core.hooksPath']);
  const configured = r.ok ? r.stdout.trim() : '';
  if (configured) {
    const dir = isAbsolute(configured) ? configured : resolve(paths.mainWorktree, configured);
    return { dir, source: { kind: 'core.hooksPath', configured } };
  }
  return { dir: join(paths.commonDir, 'hooks'), source: { kind: 'default' } };
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
  // refuse before changing anything: a foreign hook plus a leftover .coven-chained
  for (const name of HOOK_NAMES) {
    const path = join(location.dir, name);
    const current = await readHook(path);
    if (current !== null && !isCovenHook(current) && (await exists(path + CHAINED_SUFFIX))) {
      return { kind: 'chain-conflict', path, chained: path + CHAINED_SUFFIX };
    }
  }
  await mkdir(location.dir, { recursive: true });
  const hooks: Extract<InstallResult, { kind: 'installed' }>['hooks'] = [];
  for (const name of HOOK_NAMES) {
    const path = join(location.dir, name);
    const text = await hookText(name);
    const current = await readHook(path);
    let action: 'written' | 'updated' | 'unchanged';
    if (current !== null && isCovenHook(current)) {
      action = current === text && (await isExecutable(path)) ? 'unchanged' : 'updated';
    } else {
      if (current !== null || (await isSymlink(path))) await rename(path, path + CHAINED_SUFFIX);
      action = 'written';
    }
    if (action !== 'unchanged') await writeExecutable(path, text);
    hooks.push({ name, action, chained: (await exists(path + CHAINED_SUFFIX)) ? path + CHAINED_SUFFIX : null });
  }
  await recordMainBranch(paths.stateDir, mainBranch);
  return { kind: 'installed', location, mainBranch, hooks };
}

/** Removes coven's hooks and puts back the hooks they chained, byte for byte. */
export async function uninstallHooks(repoDir: string): Promise<UninstallResult> {
  const repo = await findRepo(repoDir);
  if (repo.kind !== 'repo') return repo;
  const location = await hooksLocation(repo.paths);
  const hooks: Extract<UninstallResult, { kind: 'uninstalled' }>['hooks'] = [];
  for (const name of HOOK_NAMES) {
    const path = join(location.dir, name);
    const chained = path + CHAINED_SUFFIX;
    const current = await readHook(path);
    const hasChained = (await exists(chained)) || (await isSymlink(chained));
    if (current !== null && !isCovenHook(current)) {
      hooks.push({ name, action: 'left-foreign' });
    } else if (hasChained) {
      await rename(chained, path); // replaces coven's hook in one step
      hooks.push({ name, action: 'restored' });
    } else if (current !== null) {
      await unlink(path);
      hooks.push({ name, action: 'removed' });
    } else {
      hooks.push({ name, action: 'not-installed' });
    }
  }
  return { kind: 'uninstalled', location, hooks };
}

export async function hooksStatus(repoDir: string): Promise<StatusResult> {
  const repo = await findRepo(repoDir);
  if (repo.kind !== 'repo') return repo;
  const location = await hooksLocation(repo.paths);
  const hooks: HookStatus[] = [];
  for (const name of HOOK_NAMES) {
    const path = join(location.dir, name);
    const current = await readHook(path);
    const chained = (await exists(path + CHAINED_SUFFIX)) ? path + CHAINED_SUFFIX : null;
    const ours = current !== null && isCovenHook(current);
    const state = !ours ? 'not-installed' : current === (await hookText(name)) && (await isExecutable(path)) ? 'installed' : 'modified';
    hooks.push({ name, path, state, foreign: current !== null && !ours, chained });
  }
  return { kind: 'status', location, mainBranch: await recordedMainBranch(repo.paths.stateDir), hooks };
}

// ---------------------------------------------------------------------------------

async function readHook(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return null; // absent (or a dangling symlink: see isSymlink)
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

async function isSymlink(path: string): Promise<boolean> {
  try {
    return (await lstat(path)).isSymbolicLink();
  } catch {
    return false;
  }
}

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
