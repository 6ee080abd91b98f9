// wait-for-main — sleep until the main branch's tip differs from a baseline.
//
// The baseline is the tip read *before* dispatch started, so a commit that landed
// meanwhile wakes the caller at once (the tip is checked on entry). Then it waits,
// without polling, on:
//   - <state dir>/wake, touched by the post-commit/post-merge hooks;
//   - the branch's loose ref file and packed-refs (their folders are watched, since
//     git replaces those files by rename), for repos without the hooks;
//   - a slow safety re-check every safetyIntervalMs (default 60 s), for whatever the
//     watches miss (network filesystems, a folder created later);
//   - in remote mode (`remote`), beside all of the above: the remote's main, by one
//     `git ls-remote` every interval with jitter (lib/remote/remote-poll.ts).
// Each event costs one `git rev-parse`. Creates the state dir if missing and records
// the main branch for the hooks (wake.ts).
// Inputs: repo (any folder inside it), mainBranch (short name), baseline (commit id).
// Output: { moved, tip } | { missing } (the branch no longer resolves) | { aborted }.
// A move of the remote's main comes back as { moved, tip: the remote's tip, via: 'remote' }.

import { watch, type FSWatcher } from 'node:fs';
import { access, mkdir } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { git, gitOut } from '../git/runner.js';
import { recordMainBranch } from './wake.js';
import { pollRemoteMain, type RemoteMainWatch } from '../remote/remote-poll.js';

/** What noticed the move: the first look, the wake file, the ref files, the slow safety check, the 1 s poll used when a folder cannot be watched, or the remote's main (remote mode). */
export type WokenBy = 'first-look' | 'wake' | 'ref' | 'safety' | 'poll' | 'remote';
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
  /** remote mode: also wake when the remote's main moves away from `remote.baseline` */
  remote?: RemoteMainWatch;
  /** called once the watches are up and the first look found main unmoved (tests wait for it) */
  onWatching?: () => void;
}

/** The commit the main branch points at now, or null when it does not resolve. */
export async function mainTip(repo: string, mainBranch: string): Promise<string | null> {
  const r = await git(repo, ['rev-parse', '--verify', '--quiet', `refs/heads/${mainBranch}^{commit}`]);
  return r.ok ? r.stdout.trim() : null;
}

export async function waitForMainToMove(opts: WaitForMainOptions): Promise<MainMoved> {
  const { repo, mainBranch, signal } = opts;
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
    const w: Waiter = { opts, commonDir, loose: join(commonDir, 'refs', 'heads', mainBranch), finish, watchers: [], settled: false, checking: false, again: false, againVia: 'first-look', poll: null, safety: null, refWatch: null, remotePoll: new AbortController(), onAbort: () => done(w, { kind: 'aborted' }) };
    signal?.addEventListener('abort', w.onAbort, { once: true });
    w.safety = setInterval(() => void check(w, 'safety'), opts.safetyIntervalMs ?? 60_000);
    if (signal?.aborted) return w.onAbort(); // aborted during the git call above: no event will come
    if (opts.remote) void pollRemoteMain(opts.remote, w.remotePoll.signal, (tip) => done(w, { kind: 'moved', tip, via: 'remote' }));
    void (async () => {
      if (opts.watch?.wake !== false) watchFolder(w, stateDir, (f) => (f === null || f === 'wake' ? void check(w, 'wake') : undefined));
      if (opts.watch?.refs !== false) {
        // pack-refs may also have removed the ref's emptied folder: re-aim the ref watch
        watchFolder(w, commonDir, (f) => (f === null || f === 'packed-refs' ? void watchRef(w) : undefined));
        await watchRef(w, 'first-look');
      }
      await check(w, 'first-look'); // after the watches are up, so nothing between is missed
      opts.onWatching?.();
    })().catch(() => void check(w, 'first-look'));
  });
}

/** One wait: what it watches and where its check stands. */
interface Waiter {
  opts: WaitForMainOptions;
  commonDir: string;
  /** the main branch's loose ref file */
  loose: string;
  finish: (result: MainMoved) => void;
  watchers: FSWatcher[];
  settled: boolean;
  /** a check is running; `again`: an event arrived meanwhile (by `againVia`), look once more afterwards */
  checking: boolean;
  again: boolean;
  againVia: WokenBy;
  poll: NodeJS.Timeout | null;
  safety: NodeJS.Timeout | null;
  refWatch: { dir: string; watcher: FSWatcher | null } | null;
  /** ends the remote poll (remote mode) */
  remotePoll: AbortController;
  onAbort: () => void;
}

function done(w: Waiter, result: MainMoved): void {
  if (w.settled) return;
  w.settled = true;
  for (const watcher of w.watchers) watcher.close();
  if (w.safety) clearInterval(w.safety);
  if (w.poll) clearInterval(w.poll);
  w.remotePoll.abort();
  w.opts.signal?.removeEventListener('abort', w.onAbort);
  w.finish(result);
}

async function check(w: Waiter, via: WokenBy): Promise<void> {
  if (w.settled) return;
  if (w.checking) {
    w.again = true; // an event arrived during a check: look once more afterwards
    w.againVia = via;
    return;
  }
  w.checking = true;
  try {
    for (let by = via; ; by = w.againVia) {
      w.again = false;
      const tip = await mainTip(w.opts.repo, w.opts.mainBranch);
      if (tip === null) return done(w, { kind: 'missing' });
      if (tip !== w.opts.baseline) return done(w, { kind: 'moved', tip, via: by });
      if (!w.again || w.settled) break;
    }
  } catch {
    // git could not run this time (an overloaded machine): look again in a second
    setTimeout(() => void check(w, via), 1_000).unref();
  } finally {
    w.checking = false;
  }
}

/**
 * A folder that cannot be watched (gone, or the system is out of inotify instances
 * under heavy load) must not leave the waiter deaf until the slow safety check: fall
 * back to polling every second.
 */
function degrade(w: Waiter): void {
  if (w.settled || w.poll) return;
  w.poll = setInterval(() => void check(w, 'poll'), Math.min(1_000, w.opts.safetyIntervalMs ?? 60_000));
}

function watchFolder(w: Waiter, dir: string, onEvent: (file: string | null) => void): FSWatcher | null {
  try {
    const watcher = watch(dir, (_event, file) => onEvent(typeof file === 'string' ? file : null));
    watcher.on('error', () => {
      watcher.close();
      degrade(w);
    });
    w.watchers.push(watcher);
    return watcher;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') degrade(w);
    return null; // a missing folder: the nearest existing one is watched instead
  }
}

/**
 * The loose ref's folder may not exist yet (refs/heads/team/ for team/main, packed):
 * watch the nearest existing ancestor for any change, and move the watch deeper (or
 * back up, when git removes an emptied folder) on every event; check after each move so
 * that a ref written before the new watch was up is not missed.
 */
async function watchRef(w: Waiter, via: WokenBy = 'ref'): Promise<void> {
  const dir = await nearestExistingFolder(dirname(w.loose), w.commonDir);
  if (w.settled) return;
  if (dir !== w.refWatch?.dir) {
    w.refWatch?.watcher?.close();
    const name = dir === dirname(w.loose) ? basename(w.loose) : null; // null: anything below
    w.refWatch = { dir, watcher: watchFolder(w, dir, (f) => (name !== null && f !== null && f !== name ? undefined : void watchRef(w))) };
  }
  await check(w, via);
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
