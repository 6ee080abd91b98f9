// git — run git through zx (arguments are passed as an array, never as a shell
// string) and answer the few questions every step asks about a repository.
//
// Inputs: a directory inside a repository. Outputs: values; failures of git that a
// step expects (not a repo, no commits, …) are returned as data by the callers.
// zx is loaded on the first git call, not at start-up: `coven <command> --help` and
// commands that never run git do not pay for it (see docs/benchmarks.md, start-up).

import { realpathSync } from 'node:fs';
import { basename, isAbsolute, join, resolve } from 'node:path';

export interface GitResult {
  ok: boolean;
  code: number;
  stdout: string;
  stderr: string;
}

let zx: Promise<typeof import('zx/core')> | null = null;

/**
 * Runs `git <args>` in `cwd`; never throws for a non-zero exit. git runs in a process
 * group of its own (detached), so a Ctrl-C typed at the worker's terminal reaches the
 * worker, which decides what to stop, and never cuts a rebase or a fast-forward of
 * the user's checkout in half.
 */
export async function git(cwd: string, args: string[], env?: NodeJS.ProcessEnv): Promise<GitResult> {
  const { $ } = await (zx ??= import('zx/core'));
  const p = await $({ cwd, quiet: true, nothrow: true, detached: true, env: env ? { ...process.env, ...env } : process.env })`git ${args}`;
  return { ok: p.exitCode === 0, code: p.exitCode ?? 1, stdout: p.stdout, stderr: p.stderr };
}

/** Runs `git <args>` in `cwd` and returns trimmed stdout; throws with git's stderr on failure. */
export async function gitOut(cwd: string, args: string[], env?: NodeJS.ProcessEnv): Promise<string> {
  const r = await git(cwd, args, env);
  if (!r.ok) throw new Error(`git ${args.join(' ')} (in ${cwd}) failed: ${r.stderr.trim() || r.stdout.trim()}`);
  return r.stdout.replace(/\n$/, '');
}

export interface WorktreeEntry {
  path: string;
  head: string | null; // null for a bare entry
  branch: string | null; // full ref (refs/heads/x) or null when detached / bare
  bare: boolean;
  locked: boolean;
  /** why it is locked ('' when no reason was given); `initializing` while `git worktree add` runs */
  lockReason: string | null;
  prunable: boolean;
}

/** Parses `git worktree list --porcelain`. The first entry is the main worktree. */
export function parseWorktreeList(porcelain: string): WorktreeEntry[] {
  const entries: WorktreeEntry[] = [];
  for (const block of porcelain.split('\n\n')) {
    const lines = block.split('\n').filter(Boolean);
    if (lines.length === 0) continue;
    const entry: WorktreeEntry = { path: '', head: null, branch: null, bare: false, locked: false, lockReason: null, prunable: false };
    for (const line of lines) {
      const sp = line.indexOf(' ');
      const key = sp < 0 ? line : line.slice(0, sp);
      const value = sp < 0 ? '' : line.slice(sp + 1);
      if (key === 'worktree') entry.path = value;
      else if (key === 'HEAD') entry.head = value;
      else if (key === 'branch') entry.branch = value;
      else if (key === 'bare') entry.bare = true;
      else if (key === 'locked') {
        entry.locked = true;
        entry.lockReason = value;
      }
      else if (key === 'prunable') entry.prunable = true;
    }
    if (entry.path) entries.push(entry);
  }
  return entries;
}

/**
 * `git worktree list`. While another process runs `git worktree add`, git may find the
 * new `.git/worktrees/<name>/` folder half written and fail ("failed to read
 * .git/worktrees/<name>/commondir"): such a failure is retried a few times.
 */
export async function listWorktrees(cwd: string): Promise<WorktreeEntry[]> {
  for (let attempt = 1; ; attempt++) {
    const r = await git(cwd, ['worktree', 'list', '--porcelain']);
    if (r.ok) return parseWorktreeList(r.stdout);
    if (attempt >= 10 || !/\bworktrees\//.test(r.stderr)) throw new Error(`git worktree list --porcelain (in ${cwd}) failed: ${r.stderr.trim() || r.stdout.trim()}`);
    await new Promise((done) => setTimeout(done, 20 * attempt));
  }
}

export interface RepoPaths {
  /** top of the worktree `cwd` is in */
  toplevel: string;
  /** the shared .git directory of every worktree */
  commonDir: string;
  /** the user's own checkout (first entry of `git worktree list`) */
  mainWorktree: string;
  /** `<commonDir>/coven`: shared by every worktree, never committed */
  stateDir: string;
}

export type RepoLookup = { kind: 'repo'; paths: RepoPaths } | { kind: 'not-a-repo'; cwd: string } | { kind: 'bare'; cwd: string };

/** Finds the repository around `cwd`, its main worktree and coven's state dir. */
export async function findRepo(cwd: string): Promise<RepoLookup> {
  const r = await git(cwd, ['rev-parse', '--is-bare-repository', '--show-toplevel', '--git-common-dir']);
  if (!r.ok) {
    const bare = await git(cwd, ['rev-parse', '--is-bare-repository']);
    if (bare.ok && bare.stdout.trim() === 'true') return { kind: 'bare', cwd };
    return { kind: 'not-a-repo', cwd };
  }
  const [isBare, toplevel, common] = r.stdout.trim().split('\n');
  if (isBare === 'true' || !toplevel || !common) return { kind: 'bare', cwd };
  const commonDir = realpathSync(isAbsolute(common) ? common : resolve(cwd, common));
  const worktrees = await listWorktrees(cwd);
  const main = worktrees[0];
  const mainWorktree = main && !main.bare ? main.path : toplevel;
  return { kind: 'repo', paths: { toplevel, commonDir, mainWorktree, stateDir: join(commonDir, 'coven') } };
}

/** The folder name of the main worktree: the `<project>` part of worktree paths. */
export function projectName(paths: RepoPaths): string {
  return basename(paths.mainWorktree);
}

/** Resolves a revision to a full commit id, or null when it does not exist. */
export async function revParse(cwd: string, rev: string): Promise<string | null> {
  const r = await git(cwd, ['rev-parse', '--verify', '--quiet', `${rev}^{commit}`]);
  return r.ok ? r.stdout.trim() : null;
}

/** Paths with uncommitted changes (staged, unstaged, untracked; not ignored) in a worktree. */
export async function dirtyFiles(cwd: string): Promise<string[]> {
  const out = await gitOut(cwd, ['status', '--porcelain=v1', '-z', '--untracked-files=all']);
  return parsePorcelainZ(out);
}

/** Parses `git status --porcelain=v1 -z` into the list of paths it names (both sides of a rename). */
export function parsePorcelainZ(out: string): string[] {
  const files: string[] = [];
  const parts = out.split('\0');
  for (let i = 0; i < parts.length; i++) {
    const item = parts[i];
    if (!item) continue;
    const status = item.slice(0, 2);
    files.push(item.slice(3));
    if (status.includes('R') || status.includes('C')) {
      const from = parts[++i];
      if (from) files.push(from);
    }
  }
  return files;
}
