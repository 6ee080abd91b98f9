// wait-for-main — sleep until the main branch's tip differs from a baseline.
//
// The baseline is the tip read *before* dispatch started, so a commit that landed
// meanwhile wakes the caller at once (the tip is checked on entry). Then it waits,
// without polling, on:
//   - <state dir>/wake, touched by the post-commit/post-merge hooks;
//   - the branch's loose ref file and packed-refs (their folders are watched, since
//     git replaces those files by rename), for repos without the hooks;
//   - a slow safety re-check every safetyIntervalMs (default 60 s), for whatever the
//     watches miss (network filesystems, a folder created later).
// Each event costs one `git rev-parse`. Creates the state dir if missing and records
// the main branch for the hooks (wake.ts).
// Inputs: repo (any folder inside it), mainBranch (short name), baseline (commit id).
// Output: { moved, tip } | { missing } (the branch no longer resolves) | { aborted }.

import { watch, type FSWatcher } from 'node:fs';
import { access, mkdir } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { git, gitOut } from '../git/runner.js';
import { recordMainBranch } from './wake.js';

/** What noticed the move: the first look, the wake file, the ref files, the slow safety check, or the 1 s poll used when a folder cannot be watched. */
export type WokenBy = 'first-look' | 'wake' | 'ref' | 'safety' | 'poll';
export type MainMoved = { kind: 'moved'; tip: string; via: WokenBy } | { kind: 'missing' } | { kind: 'aborted' };

export interface WaitForMainOptions {
  repo: string;
  mainBranch: string;
  baseline: string;
  signal?: AbortSignal;
  safetyIntervalMs?: number;
  /**
   * Which signals to watch (default: both). Turn off what cannot work where the repo
   * lives (fs.watch on some network filesystems); the safety re-check always runs.
   */
  watch?: { wake?: boolean; refs?: boolean };
  /** called once the watches are up and the first look found main unmoved (tests wait for it) */
  onWatching?: () => void;
}

/** The commit the main branch points at now, or null when it does not resolve. */
export async function mainTip(repo: string, mainBranch: string): Promise<string | null> {
  const r = await git(repo, ['rev-parse', '--verify', '--quiet', `refs/heads/${mainBranch}^{commit}`]);
  return r.ok ? r.stdout.trim() : null;
}

export async function waitForMainToMove(opts: WaitForMainOptions): Promise<MainMoved> {
  const { repo, mainBranch, baseline, signal } = opts;
  if (signal?.aborted) return { kind: 'aborted' };
  const commonDir = resolve(repo, await gitOut(repo, ['rev-parse', '--path-format=absolute', '--git-common-dir']));
  const stateDir = join(commonDir, 'coven');
  try {
    await mkdir(stateDir, { recursive: true });
    await recordMainBranch(stateDir, mainBranch);
  } catch {
    // the state dir cannot be created (e.g. a file is in the way): the ref watch and
    // the safety check still work
  }

  return new Promise<MainMoved>((finish) => {
    const watchers: FSWatcher[] = [];
    let settled = false;
    let checking = false;
    let again = false;

    const done = (result: MainMoved): void => {
      if (settled) return;
      settled = true;
      for (const w of watchers) w.close();
      clearInterval(safety);
      if (poll) clearInterval(poll);
      signal?.removeEventListener('abort', onAbort);
      finish(result);
    };
    const onAbort = (): void => done({ kind: 'aborted' });

    let againVia: WokenBy = 'first-look';
    const check = async (via: WokenBy): Promise<void> => {
      if (settled) return;
      if (checking) {
        again = true; // an event arrived during a check: look once more afterwards
        againVia = via;
        return;
      }
      checking = true;
      try {
        for (let by = via; ; by = againVia) {
          again = false;
          const tip = await mainTip(repo, mainBranch);
          if (tip === null) return done({ kind: 'missing' });
          if (tip !== baseline) return done({ kind: 'moved', tip, via: by });
          if (!again || settled) break;
        }
      } catch {
        // git could not run this time (an overloaded machine): look again in a second
        setTimeout(() => void check(via), 1_000).unref();
      } finally {
        checking = false;
      }
    };

    // A folder that cannot be watched (gone, or the system is out of inotify instances
    // under heavy load) must not leave the waiter deaf until the slow safety check:
    // fall back to polling every second.
    let poll: NodeJS.Timeout | null = null;
    const degrade = (): void => {
      if (settled || poll) return;
      poll = setInterval(() => void check('poll'), Math.min(1_000, opts.safetyIntervalMs ?? 60_000));
    };
    const watchFolder = (dir: string, onEvent: (file: string | null) => void): FSWatcher | null => {
      try {
        const w = watch(dir, (_event, file) => onEvent(typeof file === 'string' ? file : null));
        w.on('error', () => {
          w.close();
          degrade();
        });
        watchers.push(w);
        return w;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') degrade();
        return null; // a missing folder: the nearest existing one is watched instead
      }
    };

    // The loose ref's folder may not exist yet (refs/heads/team/ for team/main, packed):
    // watch the nearest existing ancestor for any change, and move the watch deeper (or
    // back up, when git removes an emptied folder) on every event; check after each move
    // so that a ref written before the new watch was up is not missed.
    const loose = join(commonDir, 'refs', 'heads', mainBranch);
    let refWatch: { dir: string; watcher: FSWatcher | null } | null = null;
    const watchRef = async (via: WokenBy = 'ref'): Promise<void> => {
      const dir = await nearestExistingFolder(dirname(loose), commonDir);
      if (settled) return;
      if (dir !== refWatch?.dir) {
        refWatch?.watcher?.close();
        const name = dir === dirname(loose) ? basename(loose) : null; // null: anything below
        refWatch = { dir, watcher: watchFolder(dir, (f) => (name !== null && f !== null && f !== name ? undefined : void watchRef())) };
      }
      await check(via);
    };

    signal?.addEventListener('abort', onAbort, { once: true });
    const safety = setInterval(() => void check('safety'), opts.safetyIntervalMs ?? 60_000);
    if (signal?.aborted) return onAbort(); // aborted during the git call above: no event will come

    void (async () => {
      if (opts.watch?.wake !== false) watchFolder(stateDir, (f) => (f === null || f === 'wake' ? void check('wake') : undefined));
      if (opts.watch?.refs !== false) {
        // pack-refs may also have removed the ref's emptied folder: re-aim the ref watch
        watchFolder(commonDir, (f) => (f === null || f === 'packed-refs' ? void watchRef() : undefined));
        await watchRef('first-look');
      }
      await check('first-look'); // after the watches are up, so nothing between is missed
      opts.onWatching?.();
    })().catch(() => void check('first-look'));
  });
}

async function nearestExistingFolder(dir: string, stopAt: string): Promise<string> {
  let d = dir;
  while (d.length > stopAt.length) {
    try {
      await access(d);
      return d;
    } catch {
      d = dirname(d);
    }
  }
  return stopAt;
}
