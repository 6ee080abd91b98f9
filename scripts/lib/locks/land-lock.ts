// land-lock — serializes the last step of every land in a repository (check main's
// tip, then fast-forward it) so two workers never fast-forward the same checkout at
// once. A short lock: `<state dir>/locks/land`, taken like the dispatch lock
// (dispatch-lock.ts): the file names its holder (pid and start time), so a lock left by
// a land that was killed is broken at once instead of stalling every land for a while.
// A worker whose conflict resolutions keep being overtaken by other lands holds it for
// a whole resolution (resolve-conflict.ts): the others' lands wait, then retry.
//
// Inputs: the state dir. Outputs: the lock file while held; nothing after.

import { join } from 'node:path';
import { acquireLock, locksDirOf, type AcquiredLock } from './dispatch-lock.js';
import { trace, traceNow } from '../ui/trace.js';

export type Locked<T> = { kind: 'done'; value: T } | { kind: 'lock-busy'; path: string };

export function landLockPath(stateDir: string): string {
  return join(locksDirOf(stateDir), 'land');
}

/** Takes the land lock, waiting until `signal` aborts; null when it did. */
export async function acquireLandLock(stateDir: string, opts: { owner: string; signal?: AbortSignal }): Promise<AcquiredLock | null> {
  const waitFrom = traceNow();
  const lock = await acquireLock({ path: landLockPath(stateDir), owner: opts.owner, pollMs: 15, signal: opts.signal });
  if (lock.kind !== 'acquired') return null;
  trace('lock', { lock: 'land', waited_ms: traceNow() - waitFrom });
  return lock;
}

/** Runs `fn` while holding the land lock; waits up to `waitMs` for it. */
export async function withLandLock<T>(stateDir: string, fn: () => Promise<T>, opts: { owner?: string; waitMs?: number } = {}): Promise<Locked<T>> {
  const path = landLockPath(stateDir);
  const lock = await acquireLandLock(stateDir, { owner: opts.owner ?? 'coven land', signal: AbortSignal.timeout(opts.waitMs ?? 20_000) });
  if (!lock) return { kind: 'lock-busy', path };
  try {
    return { kind: 'done', value: await fn() };
  } finally {
    await lock.release();
  }
}
