// setup-snapshot — what of the git setup an agent could change to make git run a program
// as the human: the config files git reads in this repository (the common config, each
// worktree's config.worktree, the human's global config) and the hooks folders (the
// common `.git/hooks/`, and the folder core.hooksPath names when it is outside the main
// worktree). A snapshot holds each config file's entries and each hook file's bytes, so
// setup-guard.ts can put back exactly what was there.
//
// Everything read here is untrusted: config is read with `git config --file <f> --list
// -z` (no includes are followed: an include is one more entry), hook files through
// readCapped (a regular file only, capped).

import { lstatSync, readdirSync, readlinkSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { homedir } from 'node:os';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { readCapped } from '../files/read-capped.js';
import { findRepo, git } from './runner.js';

/** One config entry as git lists it: the key (section and name lower-cased) and its value (null: a bare `key` line, true). */
export type ConfigEntry = [key: string, value: string | null];

export interface ConfigFile {
  path: string;
  /** how the human writes to this file: `git config --global`, `git -C <main> config --worktree`, … */
  command: string[];
  exists: boolean;
  entries: ConfigEntry[];
}

export interface HookFile {
  /** sha256 of the bytes, or `link:<target>` for a symbolic link */
  hash: string;
  mode: number;
  /** null for a link, or a file too big to keep (it is then moved aside, never put back) */
  bytes: Buffer | null;
  link: string | null;
}

export interface HooksFolder {
  dir: string;
  files: Map<string, HookFile>;
}

export interface GitSetup {
  commonDir: string;
  mainWorktree: string;
  configs: ConfigFile[];
  hooks: HooksFolder[];
  /** when it was taken (ms since the epoch) */
  takenAt: number;
}

const HOOK_CAP = 1024 * 1024;

/**
 * The git setup as it is now, for the repository `commonDir` whose main worktree is
 * `mainWorktree`. `alsoHooks`: hooks folders to read besides the ones the config names
 * now (an earlier snapshot's, so a change of core.hooksPath does not hide its folder).
 */
export async function snapshotGitSetup(commonDir: string, mainWorktree: string, alsoHooks: string[] = []): Promise<GitSetup> {
  const takenAt = Date.now();
  const configs = await Promise.all(configFiles(commonDir, mainWorktree).map(({ path, command }) => readConfigFile(commonDir, path, command)));
  const hookDirs = [...new Set([...hookFolders(commonDir, mainWorktree, configs), ...alsoHooks])];
  const hooks = await Promise.all(hookDirs.map(readHooksFolder));
  return { commonDir, mainWorktree, configs, hooks, takenAt };
}

/** The config files an agent's `git config` (any scope) writes to, and how the human would. */
function configFiles(commonDir: string, mainWorktree: string): { path: string; command: string[] }[] {
  const files = [
    { path: join(commonDir, 'config'), command: ['git', '-C', mainWorktree, 'config'] },
    { path: join(commonDir, 'config.worktree'), command: ['git', '-C', mainWorktree, 'config', '--worktree'] },
  ];
  for (const name of listDir(join(commonDir, 'worktrees'))) {
    files.push({ path: join(commonDir, 'worktrees', name, 'config.worktree'), command: ['git', '--git-dir', join(commonDir, 'worktrees', name), 'config', '--worktree'] });
  }
  for (const path of globalConfigFiles()) files.push({ path, command: ['git', 'config', '--global'] });
  return files;
}

/**
 * Where `git config --global` reads and writes (git 2.39: $GIT_CONFIG_GLOBAL, else the XDG
 * file and ~/.gitconfig), in the order git reads them: a later file wins (configValue).
 */
function globalConfigFiles(): string[] {
  const set = process.env.GIT_CONFIG_GLOBAL;
  if (set !== undefined) return set && set !== '/dev/null' ? [set] : [];
  const home = process.env.HOME || homedir();
  const xdg = process.env.XDG_CONFIG_HOME || join(home, '.config');
  return [join(xdg, 'git', 'config'), join(home, '.gitconfig')];
}

/**
 * What git listed for a config file's content, by path and sha256 of the bytes: a file
 * whose bytes are the same is not listed by git again. The bytes are read before and after
 * git reads the file, and the entries kept only when both reads agree (a file written while
 * git read it is read again next time). Stat data alone would not do: a write through a
 * memory map can change the bytes and leave size and times as they were.
 */
const configCache = new Map<string, { hash: string; entries: ConfigEntry[] }>();
const CONFIG_CAP = 1024 * 1024;

async function readConfigFile(cwd: string, path: string, command: string[]): Promise<ConfigFile> {
  const before = await configBytesHash(path);
  if (before === 'missing') return { path, command, exists: false, entries: [] };
  const cached = configCache.get(path);
  if (before !== null && cached?.hash === before) return { path, command, exists: true, entries: cached.entries };
  const r = await git(cwd, ['config', '--file', path, '--no-includes', '--list', '-z']);
  const entries = r.ok ? parseConfigListZ(r.stdout) : [];
  const after = await configBytesHash(path);
  if (r.ok && before !== null && after === before) configCache.set(path, { hash: before, entries });
  else configCache.delete(path);
  return { path, command, exists: true, entries };
}

/** sha256 of a config file's bytes; 'missing' (not a regular file); null (unreadable, or over the cap: never cached). */
async function configBytesHash(path: string): Promise<string | 'missing' | null> {
  try {
    if (!lstatSync(path).isFile()) return 'missing';
  } catch {
    return 'missing';
  }
  const r = await readCapped(path, CONFIG_CAP);
  return r.kind === 'read' ? sha256(r.bytes) : null;
}

/** Parses `git config --list -z`: `key\nvalue\0` per entry, `key\0` for a bare key. */
export function parseConfigListZ(out: string): ConfigEntry[] {
  const entries: ConfigEntry[] = [];
  for (const item of out.split('\0')) {
    if (!item) continue;
    const nl = item.indexOf('\n');
    entries.push(nl < 0 ? [item, null] : [item.slice(0, nl), item.slice(nl + 1)]);
  }
  return entries;
}

/**
 * The hooks folders to watch: the common `.git/hooks/` always, and the folder
 * core.hooksPath names for the main worktree (the last value git would read) when it is
 * outside the main worktree. A folder inside it is the repository's (committed, or
 * written by a hook manager on `npm install`) and changes with every land: not watched.
 */
export function hookFolders(commonDir: string, mainWorktree: string, configs: ConfigFile[]): string[] {
  const dirs = [join(commonDir, 'hooks')];
  const hooksPath = effectiveHooksPath(configs, mainWorktree);
  if (hooksPath && resolve(hooksPath) !== dirs[0] && !inside(hooksPath, mainWorktree)) dirs.push(resolve(hooksPath));
  return dirs;
}

/** core.hooksPath as git in the main worktree reads it (global, then the repository's, then its config.worktree), resolved. */
export function effectiveHooksPath(configs: ConfigFile[], mainWorktree: string): string | null {
  const value = hooksPathValue(configs);
  if (!value) return null;
  const home = process.env.HOME || homedir();
  const expanded = value.startsWith('~/') ? join(home, value.slice(2)) : value;
  return isAbsolute(expanded) ? expanded : resolve(mainWorktree, expanded);
}

/** core.hooksPath's value as git in the main worktree reads it. */
export function hooksPathValue(configs: ConfigFile[]): string | null {
  return configValue(configs, 'core.hookspath') || null;
}

/** A key's value as git in the main worktree reads it (the last one of: global, the repository's, its config.worktree); a bare key is 'true'. */
export function configValue(configs: ConfigFile[], key: string): string | null {
  const order = [...configs.filter((c) => c.command.includes('--global')), configs[0], configs[1]];
  let value: string | null = null;
  for (const c of order) {
    for (const [k, v] of c?.entries ?? []) if (k === key) value = v ?? 'true';
  }
  return value;
}

async function readHooksFolder(dir: string): Promise<HooksFolder> {
  const files = new Map<string, HookFile>();
  for (const name of listDir(dir)) {
    const path = join(dir, name);
    let st;
    try {
      st = lstatSync(path);
    } catch {
      continue;
    }
    if (st.isSymbolicLink()) {
      const link = safeReadlink(path);
      files.set(name, { hash: `link:${link}`, mode: st.mode & 0o7777, bytes: null, link });
    } else if (st.isFile()) {
      const r = await readCapped(path, HOOK_CAP);
      const bytes = r.kind === 'read' ? r.bytes : null;
      const hash = bytes ? sha256(bytes) : `unread:${st.size}:${st.mtimeMs}`;
      files.set(name, { hash, mode: st.mode & 0o7777, bytes, link: null });
    }
  }
  return { dir, files };
}

export function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}

function safeReadlink(path: string): string {
  try {
    return readlinkSync(path);
  } catch {
    return '';
  }
}

function inside(path: string, dir: string): boolean {
  const rel = relative(dir, resolve(path));
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/** The common git dir and main worktree of the repository around `cwd`, or null outside one. */
export async function setupPlaces(cwd: string): Promise<{ commonDir: string; mainWorktree: string; worktrees: string[] } | null> {
  const r = await findRepo(cwd).catch(() => null);
  if (r?.kind !== 'repo') return null;
  return { commonDir: r.paths.commonDir, mainWorktree: r.paths.mainWorktree, worktrees: r.worktrees.map((w) => w.path) };
}
