// remote-poll — how a sleeper in remote mode notices that the remote's main moved: one
// `git ls-remote <remote> refs/heads/<main>` (a single cheap request, no objects) now,
// then once every interval. Each wait is drawn at random within ±20 % of the interval,
// so that many sleepers do not ask the server in step.
//
// The interval is COVEN_REMOTE_POLL_MS (or `coven wait --poll`): default 30 s, at least
// 2 s, at most 10 min. A remote that does not answer is asked again at the next interval,
// for as long as the sleep lasts: it is said once when it stops answering and once when
// it answers again, never a reason to stop. Local commits wake the sleeper through the
// local waiter that runs beside this poll (wait-for-main.ts).
//
// Inputs: a repository, a remote's name, the main branch, the remote tip the sleeper
// already knows. Output: onMoved(tip) once the remote's main is elsewhere.

import { setTimeout as delay } from 'node:timers/promises';
import { humanDuration } from '../ui/human-duration.js';
import { lsRemote } from './git-remote.js';

export const REMOTE_POLL_DEFAULT_MS = 30_000;
export const REMOTE_POLL_MIN_MS = 2_000;
export const REMOTE_POLL_MAX_MS = 600_000;
/** each wait is the interval × a random factor in [1 - JITTER, 1 + JITTER] */
export const REMOTE_POLL_JITTER = 0.2;

/** The interval asked for (ms), kept within the bounds; null or nonsense → the default. */
export function boundedPollMs(asked: number | null | undefined): number {
  if (asked === null || asked === undefined || !Number.isFinite(asked) || asked <= 0) return REMOTE_POLL_DEFAULT_MS;
  return Math.min(Math.max(Math.round(asked), REMOTE_POLL_MIN_MS), REMOTE_POLL_MAX_MS);
}

/** COVEN_REMOTE_POLL_MS, within the bounds (default 30 s). */
export function remotePollMs(env: NodeJS.ProcessEnv = process.env): number {
  const v = env.COVEN_REMOTE_POLL_MS;
  return boundedPollMs(v === undefined || v.trim() === '' ? null : Number(v));
}

/** One wait before the next look: uniform within ±20 % of `intervalMs`. */
export function jitteredWait(intervalMs: number, random: () => number = Math.random): number {
  return Math.round(intervalMs * (1 - REMOTE_POLL_JITTER + 2 * REMOTE_POLL_JITTER * random()));
}

/** What the poll says about the remote, once per change: it stopped answering, or it answers again. */
export type Reachability = { kind: 'unreachable'; message: string } | { kind: 'reachable' };

export interface RemoteMainWatch {
  /** any folder inside the clone */
  repo: string;
  /** the remote's name (`origin`) */
  remote: string;
  /** the main branch's short name (the same on the remote) */
  main: string;
  /** the remote's main as the sleeper knows it; null: unknown, the first answer is taken as it */
  baseline: string | null;
  /** the interval (already bounded); default remotePollMs() */
  intervalMs?: number;
  /** told once when the remote stops answering and once when it answers again */
  onReachability?: (r: Reachability) => void;
  /** called after every look (for tests and the bench) */
  onLook?: (tip: string | null) => void;
}

/**
 * Looks at the remote's main until it differs from the baseline (then onMoved, once) or
 * `signal` aborts. Never throws, never gives up on an unreachable remote.
 */
export async function pollRemoteMain(watch: RemoteMainWatch, signal: AbortSignal, onMoved: (tip: string) => void): Promise<void> {
  const interval = watch.intervalMs ?? remotePollMs();
  const ref = `refs/heads/${watch.main}`;
  let baseline = watch.baseline;
  let silent = false; // the last look got no answer (already said)
  while (!signal.aborted) {
    const r = await lsRemote(watch.repo, watch.remote, [ref], { signal }).catch((err: unknown) => ({ kind: 'failed' as const, message: err instanceof Error ? err.message : String(err) }));
    if (signal.aborted) return;
    if (r.kind === 'listed') {
      if (silent) watch.onReachability?.({ kind: 'reachable' });
      silent = false;
      const tip = r.refs.get(ref) ?? null;
      watch.onLook?.(tip);
      if (tip !== null && baseline === null) baseline = tip;
      if (tip !== null && tip !== baseline) return onMoved(tip);
    } else if (!silent) {
      silent = true;
      watch.onReachability?.({ kind: 'unreachable', message: r.message });
    }
    await delay(jitteredWait(interval), undefined, { signal }).catch(() => undefined);
  }
}

/** The sleeper's lines about the remote (what happened, what it keeps doing). */
export const pollWords = {
  unreachable: (who: string, remote: string, message: string, intervalMs: number) =>
    `coven: the remote ${remote} does not answer (${message}); ${who} keeps sleeping and asks again every ${humanDuration(intervalMs)}. A commit on the local main branch still wakes it.`,
  reachable: (who: string, remote: string) => `coven: the remote ${remote} answers again; ${who} goes on sleeping until its main branch moves`,
};
