// lock-waiter — take one of some locks (the dispatch lock, or any slot of an agent),
// waiting as long as it takes: try each, break one whose holder is dead, else wait for
// the locks folder to change (fs.watch) or a poll period, reporting progress through
// onWait. The rules are in dispatch-lock.ts.

import { watch, type FSWatcher } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { currentProcess } from './process-identity.js';
import { forgetHeld, holderRecord, observe, releaseIfOurs, startRefresh, tryTake, type LockHolder, type LockRead } from './lock-file.js';
import { breakDeadLock, breakReason, DEFAULT_STALE_MS } from './dead-holder.js';

const DEFAULT_POLL_MS = 100;
const DEFAULT_PROGRESS_MS = 1_000;

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

export async function acquireAny(paths: string[], opts: AcquireOptions): Promise<AcquireResult> {
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
              return releaseIfOurs(path, holder, ino);
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

