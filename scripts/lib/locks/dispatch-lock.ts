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

// The code, by concern: lock-file.ts (the file: read, take, refresh, release, at exit),
// dead-holder.ts (when and how a lock is broken), lock-waiter.ts (waiting for a lock or a
// slot); this module is what the rest of coven calls.

import { join } from 'node:path';
import { observe, type LockRead } from './lock-file.js';
import { acquireAny, type AcquiredLock, type AcquireOptions, type AcquireResult, type WaitProgress } from './lock-waiter.js';

export { clearStaleLocks, DEFAULT_STALE_MS } from './dead-holder.js';
export type { LockHolder, LockRead } from './lock-file.js';
export type { AcquiredLock, AcquireOptions, AcquireResult, ReleaseResult, WaitProgress } from './lock-waiter.js';

export function locksDirOf(stateDir: string): string {
  return join(stateDir, 'locks');
}

export function dispatchLockPath(stateDir: string): string {
  return join(locksDirOf(stateDir), 'dispatch');
}

/** Held by a worker while it starts under `name` (claims the name until its state file says it is alive). */
export function nameLockPath(stateDir: string, name: string): string {
  return join(locksDirOf(stateDir), `name-${name}`);
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

