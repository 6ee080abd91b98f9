// dispatch-lock — one holder at a time across every worker of a repository (the
// dispatch lock), and N numbered slots for agents with `max_concurrency: N`.
//
// Files (in `<state dir>/locks/`):
//   dispatch            the dispatch lock        agent-<name>.<i>   slot i of an agent
//   <lock>.break        held for a few ms by the one waiter that is removing a dead lock
//   .<lock>.<token>.take  a taker's own file, for the microseconds of one attempt
// To take a lock, a process creates its own file with `lockfile` (O_EXCL, a name only it
// uses), fills it with JSON saying who holds it: {worker, pid, host, start, since,
// token}, and link()s it to the lock's name: link is atomic and fails if the name exists,
// so only one wins, and a lock file is never seen empty. The own name is then removed
// with lockfile's unlock. lockfile is never given the lock's own name: its exit handler
// unlinks by name whatever it still lists, which, for a lock removed from under its
// holder and taken by another, would be the other's lock. A lock still held at exit is
// removed by an exit handler of ours, only if the file is still ours (inode and token).
// The holder refreshes the file's mtime every refreshMs and repairs its content if it
// was damaged.
//
// When a lock is broken (nothing else ever removes someone else's lock):
//   - its holder is on this host and dead: the pid is gone, a zombie, or reused by
//     another program (start time differs) — broken at once;
//   - its holder is on another host, or the file is empty/corrupt, and the file has
//     not been refreshed for staleMs (default 20 s) — broken then.
// A live holder on this host is never broken, however long it holds the lock.
// Breaking is serialised by the `.break` guard file (O_EXCL) and re-verifies, under
// the guard, that the lock file is still the very one judged dead (same inode, same
// bytes) before unlinking it, so two waiters racing to break the same dead lock can
// never remove the fresh lock the winner just took. lockfile's own `stale` option is
// not used: it judges by ctime only, stores no owner, and leaves its `.STALE` file
// behind when a breaker loses the race (README, "How workers coordinate").
//
// Waiters watch the locks folder (fs.watch) and also poll every pollMs, so a release
// is seen within milliseconds; they report progress through onWait.
// Outputs: values (AcquireResult, LockRead); throws only for unexpected I/O errors.

import lockfile from 'lockfile';
import { randomBytes } from 'node:crypto';
import { lstatSync, readFileSync, unlinkSync, watch, type FSWatcher } from 'node:fs';
import { link, lstat, mkdir, open, readdir, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import * as z from 'zod/mini';
import { currentProcess, livenessOf, type Liveness, type ProcessIdentity } from './process-identity.js';
import { shellQuote } from '../ui/problem.js';

export const DEFAULT_STALE_MS = 20_000;
const DEFAULT_POLL_MS = 100;
const DEFAULT_PROGRESS_MS = 1_000;
/** a `.break` guard is held for milliseconds; older than this, its breaker died */
const GUARD_STALE_MS = 5_000;

// zod/mini: land-worktree takes the land lock through this module, and its standalone
// bundle would be five times bigger with the full zod
const HolderSchema = z.object({
  worker: z.string().check(z.minLength(1)),
  pid: z.int().check(z.positive()),
  host: z.string(),
  start: z.nullable(z.string()),
  since: z.string(),
  token: z.string().check(z.minLength(1)),
});

/** Who holds a lock, as written in the lock file. */
export type LockHolder = z.infer<typeof HolderSchema>;

export type LockRead =
  | { kind: 'free' }
  | { kind: 'held'; holder: LockHolder; heldForMs: number; ageMs: number }
  /**
   * empty, truncated or not coven's JSON; `ageMs` is the time since its last refresh.
   * `fix`: set when no waiter will ever break it (not a regular file, or unreadable): the
   * command a human runs
   */
  | { kind: 'corrupt'; reason: string; ageMs: number; fix?: string };

/** What a waiter sees while it waits. */
export interface WaitProgress {
  waitedMs: number;
  /** one entry per lock (one for the dispatch lock, N for slots) */
  held: Array<{ path: string; read: LockRead }>;
}

export type ReleaseResult = 'released' | 'was-lost';

export interface AcquiredLock {
  kind: 'acquired';
  path: string;
  holder: LockHolder;
  waitedMs: number;
  /** Stops refreshing and removes the lock file if it is still ours. */
  release(): Promise<ReleaseResult>;
}

export type AcquireResult = AcquiredLock | { kind: 'aborted'; waitedMs: number };

export interface AcquireOptions {
  /** the worker name written into the lock file */
  owner: string;
  staleMs?: number;
  /** how often the holder refreshes the lock file's mtime (default staleMs / 4) */
  refreshMs?: number;
  /** fallback poll while waiting (fs.watch usually wakes the waiter first) */
  pollMs?: number;
  onWait?: (p: WaitProgress) => void;
  /** at most how often onWait is called while the holder stays the same */
  progressMs?: number;
  /** called if the lock file was removed or replaced behind the holder's back */
  onLost?: (path: string) => void;
  signal?: AbortSignal;
}

export function locksDirOf(stateDir: string): string {
  return join(stateDir, 'locks');
}

export function dispatchLockPath(stateDir: string): string {
  return join(locksDirOf(stateDir), 'dispatch');
}

export function slotLockPaths(stateDir: string, agent: string, slots: number): string[] {
  return Array.from({ length: Math.max(1, slots) }, (_, i) => join(locksDirOf(stateDir), `agent-${agent}.${i}`));
}

/** Takes the lock at `path`, waiting as long as it takes (or until `signal` aborts). */
export function acquireLock(opts: AcquireOptions & { path: string }): Promise<AcquireResult> {
  return acquireAny([opts.path], opts);
}

/** Takes any free slot of `agent` (slots = its max_concurrency). `slot` is the index taken. */
export async function acquireSlot(
  opts: AcquireOptions & { stateDir: string; agent: string; slots: number },
): Promise<(AcquiredLock & { slot: number }) | { kind: 'aborted'; waitedMs: number }> {
  const paths = slotLockPaths(opts.stateDir, opts.agent, opts.slots);
  const r = await acquireAny(paths, opts);
  return r.kind === 'acquired' ? { ...r, slot: paths.indexOf(r.path) } : r;
}

/** Who holds the lock at `path` now. Never throws for a missing or damaged file. */
export async function readLockHolder(path: string): Promise<LockRead> {
  return (await observe(path))?.read ?? { kind: 'free' };
}

/** "held by brave-otter for 12s" / "free" / "lock file is corrupt (empty)" — for waiters and `coven status`. */
export function describeLockRead(read: LockRead): string {
  switch (read.kind) {
    case 'free':
      return 'free';
    case 'held':
      return `held by ${read.holder.worker} for ${Math.round(read.heldForMs / 1000)}s`;
    case 'corrupt':
      return `lock file is corrupt (${read.reason})${read.fix ? `; no worker can take the lock until it is moved away: ${read.fix}` : ''}`;
  }
}

/** e.g. `waiting for dispatch (held by brave-otter for 12s)`. */
export function describeWait(what: string, p: WaitProgress): string {
  const busy = p.held.filter((h) => h.read.kind !== 'free').map((h) => describeLockRead(h.read));
  return `waiting for ${what} (${busy.join('; ') || 'being released'})`;
}

/**
 * Removes the lock files in `locksDir` whose holders are dead (or that are corrupt or
 * from another host and older than staleMs), the same way a waiter would. For `coven gc`.
 * A lock path no waiter may clear (a directory, an unreadable file) is listed with `fix`
 * (the command for a human) and left alone.
 */
export async function clearStaleLocks(
  locksDir: string,
  opts: { staleMs?: number; dryRun?: boolean } = {},
): Promise<Array<{ path: string; reason: string; fix?: string }>> {
  const staleMs = opts.staleMs ?? DEFAULT_STALE_MS;
  let names: string[];
  try {
    names = await readdir(locksDir);
  } catch {
    return [];
  }
  const cleared: Array<{ path: string; reason: string; fix?: string }> = [];
  for (const name of names.sort()) {
    const path = join(locksDir, name);
    if (name.endsWith('.break')) {
      if (!opts.dryRun && (await clearDeadGuard(path))) cleared.push({ path, reason: 'unfinished break of a dead lock' });
      continue;
    }
    if (name.startsWith('.') && name.endsWith('.take')) {
      if (!opts.dryRun && (await clearDeadTake(path, staleMs))) cleared.push({ path, reason: 'left by a process that died while taking a lock' });
      continue;
    }
    if (name.includes('.break.') || name.startsWith('.')) continue;
    const seen = await observe(path);
    if (!seen) continue;
    if (seen.read.kind === 'corrupt' && seen.read.fix) {
      cleared.push({ path, reason: seen.read.reason, fix: seen.read.fix });
      continue;
    }
    const reason = breakReason(seen, staleMs);
    if (!reason) continue;
    if (opts.dryRun || (await breakDeadLock(path, seen))) cleared.push({ path, reason });
  }
  return cleared;
}

// ---------------------------------------------------------------------------------

interface Observed {
  read: Exclude<LockRead, { kind: 'free' }>;
  ino: number;
  raw: string;
}

/**
 * Reads a lock file: its holder (or why it is corrupt), inode and bytes; null if absent.
 * Anything at the path that is not a readable regular file (a directory, a fifo, a file
 * it may not read) is corrupt, with the fix for a human: no waiter can remove it.
 */
async function observe(path: string): Promise<Observed | null> {
  let fh;
  try {
    const st = await lstat(path);
    if (!st.isFile()) return stuck(path, `${st.isDirectory() ? 'a directory' : st.isSymbolicLink() ? 'a symbolic link' : 'something else'}, not a file`, st);
    fh = await open(path, 'r');
  } catch (err) {
    if (isCode(err, 'ENOENT')) return null;
    return stuck(path, `it cannot be read: ${messageOf(err)}`, null);
  }
  try {
    const st = await fh.stat();
    const raw = await fh.readFile('utf8');
    const ageMs = Math.max(0, Date.now() - st.mtimeMs);
    return { read: parseLock(raw, ageMs), ino: st.ino, raw };
  } catch (err) {
    return stuck(path, `it cannot be read: ${messageOf(err)}`, null);
  } finally {
    await fh.close();
  }
}

/** A lock path no waiter may clear: what it is, and where a human moves it (out of locks/). */
function stuck(path: string, reason: string, st: { ino: number; mtimeMs: number } | null): Observed {
  const aside = join(dirname(dirname(path)), `${basename(path)}.not-a-lock`);
  const fix = `mv ${shellQuote(path)} ${shellQuote(aside)}`;
  return { read: { kind: 'corrupt', reason, ageMs: st ? Math.max(0, Date.now() - st.mtimeMs) : 0, fix }, ino: st?.ino ?? -1, raw: '' };
}

function parseLock(raw: string, ageMs: number): Observed['read'] {
  if (raw.trim() === '') return { kind: 'corrupt', reason: 'empty', ageMs };
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return { kind: 'corrupt', reason: 'not JSON (truncated?)', ageMs };
  }
  const parsed = HolderSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { kind: 'corrupt', reason: `${issue?.path.join('.') || 'holder'}: ${issue?.message ?? 'invalid'}`, ageMs };
  }
  const since = Date.parse(parsed.data.since);
  return { kind: 'held', holder: parsed.data, heldForMs: Number.isNaN(since) ? ageMs : Math.max(0, Date.now() - since), ageMs };
}

const livenessCache = new Map<string, { at: number; value: Liveness }>();
/** /proc reads are cheap; where start times come from `ps`, do not spawn it on every poll */
const LIVENESS_CACHE_MS = process.platform === 'linux' ? 0 : 1_000;

function cachedLiveness(h: LockHolder): Liveness {
  const hit = livenessCache.get(h.token);
  if (hit && Date.now() - hit.at < LIVENESS_CACHE_MS) return hit.value;
  const value = livenessOf({ host: h.host, pid: h.pid, start: h.start });
  livenessCache.set(h.token, { at: Date.now(), value });
  return value;
}

/** Why this lock may be broken, or null when it must be waited for. */
function breakReason(seen: Observed, staleMs: number): string | null {
  const r = seen.read;
  if (r.kind === 'corrupt') return !r.fix && r.ageMs > staleMs ? `corrupt (${r.reason}) and not refreshed for ${secs(r.ageMs)}` : null;
  const live = cachedLiveness(r.holder);
  if (live.kind === 'dead') return `holder ${r.holder.worker} (pid ${r.holder.pid}) is dead (${live.reason})`;
  if (live.kind === 'unknown' && r.ageMs > staleMs) return `holder ${r.holder.worker} on ${r.holder.host} has not refreshed it for ${secs(r.ageMs)}`;
  return null;
}

/**
 * Removes the lock file judged dead, under the `.break` guard, only if it is still the
 * same file (inode and bytes). Returns true when it was removed (or was already gone).
 */
async function breakDeadLock(path: string, judged: Observed): Promise<boolean> {
  const guard = `${path}.break`;
  const me = holderRecord(currentProcess(), `break ${basename(path)}`);
  try {
    await writeFile(guard, JSON.stringify(me), { flag: 'wx' });
  } catch (err) {
    if (!isCode(err, 'EEXIST')) throw err;
    await clearDeadGuard(guard);
    return false;
  }
  try {
    const now = await observe(path);
    if (!now) return true;
    if (now.ino !== judged.ino || now.raw !== judged.raw) return false;
    await unlink(path).catch(ignoreCode('ENOENT'));
    return true;
  } finally {
    await unlink(guard).catch(ignoreCode('ENOENT'));
  }
}

/**
 * Removes a `.break` guard left by a breaker that died mid-break (dead pid, or older
 * than GUARD_STALE_MS). Rename-then-verify: if the file moved aside turns out to be a
 * live breaker's fresh guard, it is linked back. Returns true when a dead guard was removed.
 */
async function clearDeadGuard(guard: string): Promise<boolean> {
  const seen = await observe(guard);
  if (!seen || (seen.read.kind === 'corrupt' && seen.read.fix)) return false;
  const r = seen.read;
  const live = r.kind === 'held' ? cachedLiveness(r.holder) : null;
  const dead = live?.kind === 'dead' || (live?.kind !== 'alive' && seen.read.ageMs > GUARD_STALE_MS);
  if (!dead) return false;
  const aside = `${guard}.${randomBytes(6).toString('hex')}.dead`;
  try {
    await rename(guard, aside);
  } catch {
    return false;
  }
  const moved = await observe(aside);
  if (moved && (moved.ino !== seen.ino || moved.raw !== seen.raw)) await link(aside, guard).catch(() => undefined);
  await unlink(aside).catch(ignoreCode('ENOENT'));
  return moved !== null && moved.ino === seen.ino && moved.raw === seen.raw;
}

/** Removes a taker's own file whose process died mid-take (or that is empty and old). */
async function clearDeadTake(path: string, staleMs: number): Promise<boolean> {
  const seen = await observe(path);
  if (!seen || !breakReason(seen, staleMs)) return false;
  await unlink(path).catch(ignoreCode('ENOENT'));
  return true;
}

function holderRecord(id: ProcessIdentity, worker: string): LockHolder {
  return { worker, pid: id.pid, host: id.host, start: id.start, since: new Date().toISOString(), token: randomBytes(8).toString('hex') };
}

function lockfileLock(path: string): Promise<void> {
  return new Promise((resolve, reject) => lockfile.lock(path, {}, (err) => (err ? reject(err) : resolve())));
}

function lockfileUnlock(path: string): Promise<void> {
  return new Promise((resolve) => lockfile.unlock(path, () => resolve()));
}

/**
 * One attempt: our own file (created by lockfile, O_EXCL), filled with who holds it,
 * linked to the lock's name. The lock file's inode when taken, else null.
 */
async function tryTake(path: string, holder: LockHolder): Promise<number | null> {
  // held (the usual case for a waiter): one lstat instead of create, write, link, unlink
  if (await lstat(path).then(() => true, () => false)) return null;
  const own = join(dirname(path), `.${basename(path)}.${holder.token}.take`);
  try {
    await lockfileLock(own);
  } catch (err) {
    if (!isCode(err, 'ENOENT')) throw err;
    await mkdir(dirname(path), { recursive: true }); // the locks folder was removed meanwhile
    return null;
  }
  try {
    await writeFile(own, JSON.stringify(holder) + '\n');
    const { ino } = await stat(own);
    await link(own, path);
    heldAtExit(path, { ino, token: holder.token });
    return ino;
  } catch (err) {
    if (isCode(err, 'EEXIST')) return null;
    if (!isCode(err, 'ENOENT')) throw err;
    await mkdir(dirname(path), { recursive: true });
    return null;
  } finally {
    await lockfileUnlock(own);
  }
}

/** The locks this process holds (path → inode and token): removed at exit if still ours. */
const heldLocks = new Map<string, { ino: number; token: string }>();
let exitCleanup = false;

function heldAtExit(path: string, mine: { ino: number; token: string }): void {
  heldLocks.set(path, mine);
  if (exitCleanup) return;
  exitCleanup = true;
  // on a normal exit and process.exit(); a signal nobody handles leaves the file, and the
  // next waiter breaks it at once (its holder's pid is dead), as after kill -9
  process.on('exit', () => {
    for (const [p, m] of heldLocks) removeIfOursSync(p, m);
  });
}

function forgetHeld(path: string, token: string): void {
  if (heldLocks.get(path)?.token === token) heldLocks.delete(path);
}

/** Unlinks `path` if it is still the file we linked there (same inode, our token or damaged). */
function removeIfOursSync(path: string, mine: { ino: number; token: string }): void {
  try {
    if (lstatSync(path).ino !== mine.ino) return;
    const read = parseLock(readFileSync(path, 'utf8'), 0);
    if (read.kind === 'held' && read.holder.token !== mine.token) return;
    unlinkSync(path);
  } catch {
    // gone already, or unreadable: not ours to judge at exit
  }
}

/** Keeps a held lock fresh; reports when it is no longer ours. */
function startRefresh(path: string, holder: LockHolder, ino: number, refreshMs: number, onLost: () => void): () => void {
  let stopped = false;
  let running = false;
  const tick = async (): Promise<void> => {
    if (stopped || running) return;
    running = true;
    try {
      const fh = await open(path, 'r+');
      try {
        const st = await fh.stat();
        const raw = await fh.readFile('utf8');
        const read = parseLock(raw, 0);
        const ours = st.ino === ino && (read.kind === 'corrupt' || read.holder.token === holder.token);
        if (!ours) throw Object.assign(new Error('lost'), { code: 'ELOST' });
        if (read.kind === 'corrupt') {
          await fh.truncate(0);
          await fh.write(JSON.stringify(holder) + '\n', 0);
        }
        const now = new Date();
        await fh.utimes(now, now);
      } finally {
        await fh.close();
      }
    } catch (err) {
      if (!stopped && (isCode(err, 'ENOENT') || isCode(err, 'ELOST'))) {
        stopped = true;
        clearInterval(timer);
        onLost();
      }
      // any other error (EIO, …): try again at the next tick
    } finally {
      running = false;
    }
  };
  const timer = setInterval(() => void tick(), refreshMs);
  timer.unref();
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}

/** Waits for a change in a folder (fs.watch), a poll period, or an abort — whichever comes first. */
class FolderWaker {
  private watcher: FSWatcher | null = null;
  private changed = false;
  private wakeUp: (() => void) | null = null;

  constructor(
    dir: string,
    private readonly pollMs: number,
    private readonly signal?: AbortSignal,
  ) {
    try {
      // a taker's own file comes and goes at every attempt: only the locks themselves wake waiters
      this.watcher = watch(dir, (_event, name) => {
        if (!(typeof name === 'string' && name.endsWith('.take'))) this.poke();
      });
      this.watcher.on('error', () => {
        this.watcher?.close();
        this.watcher = null;
      });
    } catch {
      this.watcher = null; // polling alone still works
    }
    signal?.addEventListener('abort', this.poke, { once: true });
  }

  private readonly poke = (): void => {
    this.changed = true;
    this.wakeUp?.();
  };

  next(): Promise<void> {
    if (this.changed || this.signal?.aborted) {
      this.changed = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(done, this.pollMs);
      const self = this;
      function done(): void {
        clearTimeout(timer);
        self.wakeUp = null;
        self.changed = false;
        resolve();
      }
      this.wakeUp = done;
    });
  }

  close(): void {
    this.watcher?.close();
    this.signal?.removeEventListener('abort', this.poke);
    this.wakeUp?.();
  }
}

async function acquireAny(paths: string[], opts: AcquireOptions): Promise<AcquireResult> {
  const staleMs = opts.staleMs ?? DEFAULT_STALE_MS;
  const refreshMs = opts.refreshMs ?? Math.max(10, Math.floor(staleMs / 4));
  const progressMs = opts.progressMs ?? DEFAULT_PROGRESS_MS;
  const started = Date.now();
  const dir = dirname(paths[0] ?? '.');
  await mkdir(dir, { recursive: true });
  const waker = new FolderWaker(dir, opts.pollMs ?? DEFAULT_POLL_MS, opts.signal);
  let lastReport = 0;
  let lastTokens = '';
  try {
    for (;;) {
      if (opts.signal?.aborted) return { kind: 'aborted', waitedMs: Date.now() - started };
      const held: WaitProgress['held'] = [];
      let retryNow = false;
      for (const path of paths) {
        const holder = holderRecord(currentProcess(), opts.owner);
        const ino = await tryTake(path, holder);
        if (ino !== null) {
          const stop = startRefresh(path, holder, ino, refreshMs, () => {
            forgetHeld(path, holder.token);
            opts.onLost?.(path);
          });
          return {
            kind: 'acquired',
            path,
            holder,
            waitedMs: Date.now() - started,
            release: async () => {
              stop();
              forgetHeld(path, holder.token);
              const now = await observe(path);
              const ours = now !== null && now.ino === ino && (now.read.kind === 'corrupt' || now.read.holder.token === holder.token);
              if (!ours) return 'was-lost';
              await unlink(path).catch(ignoreCode('ENOENT'));
              return 'released';
            },
          };
        }
        const seen = await observe(path);
        if (!seen) {
          retryNow = true; // released between our attempt and our look
          continue;
        }
        const reason = breakReason(seen, staleMs);
        if (reason && (await breakDeadLock(path, seen))) {
          retryNow = true;
          continue;
        }
        held.push({ path, read: seen.read });
      }
      if (retryNow) continue;
      const tokens = held.map((h) => (h.read.kind === 'held' ? h.read.holder.token : h.read.kind)).join(',');
      if (opts.onWait && (tokens !== lastTokens || Date.now() - lastReport >= progressMs)) {
        lastTokens = tokens;
        lastReport = Date.now();
        opts.onWait({ waitedMs: Date.now() - started, held });
      }
      await waker.next();
    }
  } finally {
    waker.close();
  }
}

function secs(ms: number): string {
  return `${Math.round(ms / 1000)}s`;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function isCode(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code;
}

function ignoreCode(code: string): (err: unknown) => void {
  return (err) => {
    if (!isCode(err, code)) throw err;
  };
}
