// dead-holder — when a lock of lib/locks/dispatch-lock may be broken, and breaking it
// safely: its holder on this host is dead (at once), or it is corrupt or from another
// host and not refreshed for staleMs. Breaking is serialised by the `.break` guard and
// re-verifies the very file judged dead (inode and bytes); `coven gc` clears the same
// way (clearStaleLocks). The rules are in dispatch-lock.ts.

import { randomBytes } from 'node:crypto';
import { link, readdir, rename, unlink, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { currentProcess, livenessOf, type Liveness } from './process-identity.js';
import { holderRecord, ignoreCode, isCode, observe, type LockHolder, type Observed } from './lock-file.js';

export const DEFAULT_STALE_MS = 20_000;
/** a `.break` guard is held for milliseconds; older than this, its breaker died */
const GUARD_STALE_MS = 5_000;

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
export function breakReason(seen: Observed, staleMs: number): string | null {
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
export async function breakDeadLock(path: string, judged: Observed): Promise<boolean> {
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
/**
 * A taker writes who it is into its own file right after creating it (lock-file.ts
 * tryTake), so one still empty or unreadable after this long was left by a taker killed
 * in between: no live taker is behind it, whatever the lock's stale time.
 */
const TAKE_WRITE_MS = 2_000;

async function clearDeadTake(path: string, staleMs: number): Promise<boolean> {
  const seen = await observe(path);
  if (!seen || !breakReason(seen, seen.read.kind === 'corrupt' ? Math.min(staleMs, TAKE_WRITE_MS) : staleMs)) return false;
  await unlink(path).catch(ignoreCode('ENOENT'));
  return true;
}

function secs(ms: number): string {
  return `${Math.round(ms / 1000)}s`;
}

