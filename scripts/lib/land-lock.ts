// land-lock — serializes the last step of every land in a repository (check main's
// tip, then fast-forward it) so two workers never fast-forward the same checkout at
// once. A short lock: `<state dir>/locks/land`, taken with the lockfile package,
// considered stale (a crashed holder) after 30 s.
//
// Inputs: the state dir. Outputs: the lock file while held; nothing after.

import lockfile from 'lockfile';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { trace, traceNow } from './trace.js';

export const LAND_LOCK_STALE_MS = 30_000;

export type Locked<T> = { kind: 'done'; value: T } | { kind: 'lock-busy'; path: string };

/** Runs `fn` while holding the land lock; waits up to `waitMs` for it. */
export async function withLandLock<T>(stateDir: string, fn: () => Promise<T>, waitMs = 20_000): Promise<Locked<T>> {
  const dir = join(stateDir, 'locks');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, 'land');
  const waitFrom = traceNow();
  const taken = await new Promise<boolean>((resolveLock) => {
    lockfile.lock(path, { wait: waitMs, pollPeriod: 15, stale: LAND_LOCK_STALE_MS }, (err) => resolveLock(!err));
  });
  if (!taken) return { kind: 'lock-busy', path };
  trace('lock', { lock: 'land', waited_ms: traceNow() - waitFrom });
  try {
    return { kind: 'done', value: await fn() };
  } finally {
    await new Promise<void>((done) => lockfile.unlock(path, () => done()));
  }
}
