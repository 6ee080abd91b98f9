// git — the one place that starts git. A step says which git command it runs, as an
// array of arguments; this module runs it (no shell in between, so nothing in an
// argument, be it a path, a branch name or agent output, is ever read by a shell) and
// answers the few questions every step asks about a repository.
//
// Inputs: a directory inside a repository. Outputs: values; failures of git that a
// step expects (not a repo, no commits, …) are returned as data by the callers.
// git is started with Node's own `spawn`, not through zx's `$`: zx runs every command
// through bash (two processes a call) and costs ≈ 90 ms CPU to load (docs/benchmarks.md,
// "Start-up" and "git processes per land and per spawn").

import { spawn, type StdioOptions } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, isAbsolute, join, resolve, sep } from 'node:path';

/**
 * Settings every git coven starts runs with, whatever the config files say: git run on
 * the human's behalf must not start a program an agent configured (docs/trust.md, "Git
 * that coven runs on the human's behalf"). Given as GIT_CONFIG_COUNT/KEY/VALUE, which
 * win over every config file and reach the git commands a hook runs.
 *   core.fsmonitor=false   `git status`, read-tree and rebase would start the program it names
 * and, for a repository whose setup coven snapshotted (lib/git/setup-guard), the values
 * it trusts (core.hooksPath): git in any of its worktrees runs the hooks coven trusts,
 * even while an agent (another worker's, mid-session) has the config changed.
 */
export const GIT_PINS: readonly [string, string][] = [['core.fsmonitor', 'false']];

const repoPins: { dirs: string[]; pins: [string, string][] }[] = [];

/** Pins `pins` for every git coven runs in `dirs` (a repository's git dir and worktrees) or below them. */
export function pinForRepository(dirs: string[], pins: [string, string][]): void {
  const key = dirs[0];
  const at = repoPins.findIndex((p) => p.dirs[0] === key);
  if (at >= 0) repoPins.splice(at, 1);
  repoPins.push({ dirs: dirs.map((d) => resolve(d)), pins });
}

function pinsFor(cwd: string): [string, string][] {
  if (repoPins.length === 0) return [];
  const dir = resolve(cwd);
  const hit = repoPins.find((p) => p.dirs.some((d) => dir === d || dir.startsWith(d.endsWith(sep) ? d : d + sep)));
  return hit?.pins ?? [];
}

/** The environment that gives git `pins` (after any GIT_CONFIG_COUNT the environment has already). */
export function pinEnv(pins: readonly [string, string][], base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const have = Number.parseInt(base.GIT_CONFIG_COUNT ?? '0', 10);
  const start = Number.isFinite(have) && have > 0 ? have : 0;
  const env: NodeJS.ProcessEnv = { GIT_CONFIG_COUNT: String(start + pins.length) };
  pins.forEach(([key, value], i) => {
    env[`GIT_CONFIG_KEY_${start + i}`] = key;
    env[`GIT_CONFIG_VALUE_${start + i}`] = value;
  });
  return env;
}

/**
 * process.env, REAL_HISTORY and the caller's `env`, plus the pins after any process.env
 * has: GIT_PINS, the repository's, then the caller's own (given with pinEnv(pins, {})),
 * which so win over the repository's (the land turning hooks off for one command).
 */
function gitEnv(cwd: string, env: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const own: [string, string][] = [];
  const rest: NodeJS.ProcessEnv = { ...env };
  const count = Number.parseInt(env.GIT_CONFIG_COUNT ?? '0', 10) || 0;
  for (let i = 0; i < count; i++) own.push([env[`GIT_CONFIG_KEY_${i}`] ?? '', env[`GIT_CONFIG_VALUE_${i}`] ?? '']);
  for (const k of Object.keys(rest)) if (k.startsWith('GIT_CONFIG_')) delete rest[k];
  const merged = { ...process.env, ...REAL_HISTORY, ...rest };
  return { ...merged, ...pinEnv([...GIT_PINS, ...pinsFor(cwd), ...own.filter(([k]) => k)], merged) };
}

/**
 * What every git coven starts sees: the repository's real commits. Replace refs (`git
 * replace`, shared by every worktree) and a grafts file (`.git/info/grafts`) change what
 * a commit's parents and tree look like to git, and an agent can write both: a land
 * computed on them could take the user's commits off main (git would see the agent's
 * commit as based on main's tip when it is not). A clone or a push never carries either,
 * so coven's git ignores both. (A missing grafts file is no grafts; git is silent about it.)
 */
export const REAL_HISTORY: Readonly<Record<string, string>> = { GIT_NO_REPLACE_OBJECTS: '1', GIT_GRAFT_FILE: '/dev/null/coven-ignores-grafts' };

export interface GitResult {
  ok: boolean;
  code: number;
  stdout: string;
  stderr: string;
}

/** worktree → its git dir, for the worktrees coven made (lib/worktree/identity.ts) */
const pinned = new Map<string, string>();

/**
 * From now on, git run with `worktree` as its cwd gets that git dir and work tree given
 * explicitly (GIT_DIR, GIT_WORK_TREE): a `.git` file an agent rewrote cannot send coven's
 * commands to another worktree's index. `null` takes the pin away.
 */
export function pinWorktree(worktree: string, gitDir: string | null): void {
  if (gitDir) pinned.set(resolve(worktree), gitDir);
  else pinned.delete(resolve(worktree));
}

export function pinnedGitDir(worktree: string): string | undefined {
  return pinned.get(resolve(worktree));
}

/**
 * Runs `git <args>` in `cwd`; never throws for a non-zero exit. git runs in a process
 * group of its own (detached), so a Ctrl-C typed at the worker's terminal reaches the
 * worker, which decides what to stop, and never cuts a rebase or a fast-forward of
 * the user's checkout in half.
 */
export async function git(cwd: string, args: string[], env?: NodeJS.ProcessEnv, limits?: GitLimits): Promise<GitResult> {
  const r = await gitBytes(cwd, args, env, limits);
  return { ...r, stdout: r.stdout.toString('utf8') };
}

/**
 * For git that talks to a remote: a network that hangs must not hang the worker. After
 * `timeoutMs` (or when `signal` aborts) git's whole process group is killed and the result
 * is a failure with code TIMED_OUT and a stderr that says so.
 */
export interface GitLimits {
  timeoutMs?: number;
  signal?: AbortSignal;
  /** written to git's stdin, which is then closed (`git update-ref --stdin`); else git reads nothing */
  input?: string;
}

/** The exit code of a git that coven ended for taking longer than its limit (as timeout(1)). */
export const TIMED_OUT = 124;

/**
 * `git()` with stdout as git wrote it: the bytes of a path that is not UTF-8 (which a
 * string would turn into U+FFFD) stay as they are, for a path handed back to git.
 */
export function gitBytes(cwd: string, args: string[], env?: NodeJS.ProcessEnv, limits: GitLimits = {}): Promise<Omit<GitResult, 'stdout'> & { stdout: Buffer }> {
  const pin = pinned.get(resolve(cwd));
  if (pin) env = { ...env, GIT_DIR: pin, GIT_WORK_TREE: resolve(cwd) };
  return new Promise((done) => {
    const child = spawn('git', args, { cwd, env: gitEnv(cwd, env), detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
    // git reads `input`, else nothing (at once end of file); a git that exits first: EPIPE, its exit code says why
    child.stdin.on('error', () => {}).end(limits.input ?? '');
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    let failed: NodeJS.ErrnoException | null = null;
    let ended: string | null = null;
    const end = (why: string): void => {
      if (ended !== null || child.pid === undefined) return;
      ended = why;
      try {
        process.kill(-child.pid, 'SIGKILL'); // git and the helpers it started (ssh, remote-http)
      } catch {
        // already gone
      }
    };
    const ms = limits.timeoutMs;
    const timer = ms === undefined ? null : setTimeout(() => end(`timed out after ${Math.round(ms / 1000)}s`), ms);
    const onAbort = (): void => end('stopped');
    limits.signal?.addEventListener('abort', onAbort, { once: true });
    if (limits.signal?.aborted) onAbort();
    child.on('error', (e) => (failed = e)); // e.g. cwd is gone: `close` follows
    child.on('close', (code) => {
      if (timer) clearTimeout(timer);
      limits.signal?.removeEventListener('abort', onAbort);
      const exit = ended !== null ? TIMED_OUT : failed ? (typeof failed.errno === 'number' ? failed.errno : 1) : (code ?? 1);
      const stderr = Buffer.concat(err).toString('utf8') + (ended !== null ? `coven: git ${args[0] ?? ''} ${ended}\n` : '');
      done({ ok: exit === 0, code: exit, stdout: Buffer.concat(out), stderr });
    });
  });
}

/** Runs `git <args>` in `cwd` and returns trimmed stdout; throws with git's stderr on failure. */
export async function gitOut(cwd: string, args: string[], env?: NodeJS.ProcessEnv): Promise<string> {
  const r = await git(cwd, args, env);
  if (!r.ok) throw new Error(`git ${args.join(' ')} (in ${cwd}) failed: ${r.stderr.trim() || r.stdout.trim()}`);
  return r.stdout.replace(/\n$/, '');
}

/**
 * What git said when a command failed: its stderr, else its stdout, else its exit code.
 * `strip` drops git's own `fatal: `, `error: ` and `hint: ` at the start of each line, for
 * a message that goes on in coven's words.
 */
export function gitMessage(r: GitResult, how: { strip?: boolean } = {}): string {
  const text = r.stderr.trim() || r.stdout.trim();
  if (!text) return `git exited with ${r.code}`;
  return how.strip ? text.replace(/^(hint|error|fatal): /gm, '') : text;
}

/**
 * Runs a POSIX sh script of git commands, `sh -c script name args…`, for the few steps
 * that must finish even when the worker is killed half way (lib/land/locked-merge): it
 * runs in a process group of its own, reads nothing, and writes its stderr to a file
 * (no pipe to a dead parent), returned as `stderr` once it exits.
 */
export function gitScript(cwd: string, script: string, name: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<GitResult> {
  const dir = mkdtempSync(join(tmpdir(), 'coven-git-'));
  const errFile = join(dir, 'stderr');
  const err = openSync(errFile, 'w+');
  const stdio: StdioOptions = ['ignore', 'ignore', err];
  return new Promise<GitResult>((done) => {
    const child = spawn('/bin/sh', ['-c', script, name, ...args], { cwd, env: gitEnv(cwd, env), detached: true, stdio });
    let finished = false;
    const finish = (code: number, extra = ''): void => {
      if (finished) return;
      finished = true;
      closeSync(err);
      const stderr = readFileSync(errFile, 'utf8') + extra;
      rmSync(dir, { recursive: true, force: true });
      done({ ok: code === 0, code, stdout: '', stderr });
    };
    child.on('error', (e) => finish(1, e.message));
    child.on('exit', (code, signal) => finish(code ?? (signal ? 128 : 1)));
  });
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

/** `worktrees`: `git worktree list`, as read on the way (its first entry is the main worktree) */
export type RepoLookup = { kind: 'repo'; paths: RepoPaths; worktrees: WorktreeEntry[] } | { kind: 'not-a-repo'; cwd: string } | { kind: 'bare'; cwd: string };

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
  return { kind: 'repo', paths: { toplevel, commonDir, mainWorktree, stateDir: join(commonDir, 'coven') }, worktrees };
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

export interface StatusV2 {
  /** short name of the branch checked out, or null when detached */
  branch: string | null;
  /** its commit, or null on an unborn branch */
  oid: string | null;
  /** paths with uncommitted changes (staged, unstaged, untracked; both sides of a rename) */
  files: string[];
}

/** Parses `git status --porcelain=v2 --branch -z`: the branch headers and the paths named. */
export function parseStatusV2Z(out: string): StatusV2 {
  const status: StatusV2 = { branch: null, oid: null, files: [] };
  const parts = out.split('\0');
  for (let i = 0; i < parts.length; i++) {
    const item = parts[i]!;
    if (item.startsWith('# branch.oid ')) {
      const oid = item.slice('# branch.oid '.length);
      status.oid = oid === '(initial)' ? null : oid;
    } else if (item.startsWith('# branch.head ')) {
      const head = item.slice('# branch.head '.length);
      status.branch = head === '(detached)' ? null : head;
    } else if (item.startsWith('1 ')) status.files.push(fieldsAfter(item, 8));
    else if (item.startsWith('2 ')) {
      status.files.push(fieldsAfter(item, 9));
      const from = parts[++i];
      if (from) status.files.push(from);
    } else if (item.startsWith('u ')) status.files.push(fieldsAfter(item, 10));
    else if (item.startsWith('? ') || item.startsWith('! ')) status.files.push(item.slice(2));
  }
  return status;
}

/** What follows the first `n` space-separated fields (a path may hold spaces). */
function fieldsAfter(line: string, n: number): string {
  let at = 0;
  for (let k = 0; k < n; k++) at = line.indexOf(' ', at) + 1;
  return line.slice(at);
}
