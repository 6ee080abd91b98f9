// lock-file — one lock file of lib/locks/dispatch-lock: what it holds ({worker, pid,
// host, start, since, token}), how it is read (observe), taken (tryTake: our own file,
// linked to the lock's name), kept fresh (startRefresh), given back (releaseIfOurs) and
// removed at exit if still ours. The rules for all of it are in dispatch-lock.ts.

import lockfile from 'lockfile';
import { randomBytes } from 'node:crypto';
import { lstatSync, readFileSync, unlinkSync } from 'node:fs';
import { link, lstat, mkdir, open, stat, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import * as z from 'zod/mini';
import type { ProcessIdentity } from './process-identity.js';
import { shellQuote } from '../ui/problem.js';
import { readCapped } from '../files/read-capped.js';

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

export interface Observed {
  read: Exclude<LockRead, { kind: 'free' }>;
  ino: number;
  raw: string;
}

/**
 * Reads a lock file: its holder (or why it is corrupt), inode and bytes; null if absent.
 * Anything at the path that is not a readable regular file (a directory, a fifo, a file
 * it may not read) is corrupt, with the fix for a human: no waiter can remove it.
 */
export async function observe(path: string): Promise<Observed | null> {
  // a regular file only, never through a link, capped: a FIFO put there cannot hang the reader
  const r = await readCapped(path, MAX_LOCK_BYTES);
  if (r.kind === 'missing') return null;
  if (r.kind === 'read') return { read: parseLock(r.text, Math.max(0, Date.now() - r.mtimeMs)), ino: r.ino, raw: r.text };
  const st = await lstat(path).catch(() => null);
  if (r.kind === 'not-a-file') return stuck(path, `${r.what}, not a file`, st);
  if (r.kind === 'too-big') return { read: { kind: 'corrupt', reason: `${r.bytes} bytes, too big to be a lock`, ageMs: st ? Math.max(0, Date.now() - st.mtimeMs) : 0 }, ino: st?.ino ?? -1, raw: '' };
  return stuck(path, `it cannot be read: ${r.message}`, st);
}

/** a lock holds one line of JSON; anything bigger is not a lock */
const MAX_LOCK_BYTES = 64 * 1024;

function stuck(path: string, reason: string, st: { ino: number; mtimeMs: number } | null): Observed {
  const aside = join(dirname(dirname(path)), `${basename(path)}.not-a-lock`);
  const fix = `mv ${shellQuote(path)} ${shellQuote(aside)}`;
  return { read: { kind: 'corrupt', reason, ageMs: st ? Math.max(0, Date.now() - st.mtimeMs) : 0, fix }, ino: st?.ino ?? -1, raw: '' };
}

export function parseLock(raw: string, ageMs: number): Observed['read'] {
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

export function holderRecord(id: ProcessIdentity, worker: string): LockHolder {
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
export async function tryTake(path: string, holder: LockHolder): Promise<number | null> {
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

export function forgetHeld(path: string, token: string): void {
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
export function startRefresh(path: string, holder: LockHolder, ino: number, refreshMs: number, onLost: () => void): () => void {
  let stopped = false;
  let running = false;
  const tick = async (): Promise<void> => {
    if (stopped || running) return;
    running = true;
    try {
      const fh = await open(path, 'r+');
      try {
        const st = await fh.stat();
        if (st.ino !== ino) throw Object.assign(new Error('lost'), { code: 'ELOST' }); // (before reading: never read what replaced it)
        const read = parseLock(await fh.readFile('utf8'), 0);
        const ours = read.kind === 'corrupt' || read.holder.token === holder.token;
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

/** Gives the lock back if the file there is still the one we took (inode, and our token or damaged). */
export async function releaseIfOurs(path: string, holder: LockHolder, ino: number): Promise<'released' | 'was-lost'> {
  forgetHeld(path, holder.token);
  const now = await observe(path);
  const ours = now !== null && now.ino === ino && (now.read.kind === 'corrupt' || now.read.holder.token === holder.token);
  if (!ours) return 'was-lost';
  await unlink(path).catch(ignoreCode('ENOENT'));
  return 'released';
}

export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export function isCode(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code;
}

export function ignoreCode(code: string): (err: unknown) => void {
  return (err) => {
    if (!isCode(err, code)) throw err;
  };
}
