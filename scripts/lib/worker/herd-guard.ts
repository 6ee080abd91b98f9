// herd-guard — when several sleeping workers wake for the same commit, only the first
// needs a dispatch session. A later one that finds a sleep decision already recorded
// for the same main tip and the same set of busy workers goes back to sleep. Pure.
//
// "The same set" is exact: the busy workers the decider saw are the busy workers now.
// In particular a worker that was busy when the decision was recorded and is now the one
// asking has finished its job since (perhaps without a commit, so main did not move):
// the issue it held may be free again, and it dispatches.
//
// "Busy" here means holding a job (running, landing or resolving an agent's work): what
// the dispatch agent's answer depends on. A worker that is only waking up or queueing
// for the dispatch lock holds nothing yet, and when exactly it switched to
// `dispatching` must not decide whether a recorded decision still holds.

import type { WorkerEntry, Phase } from './state.js';

/** phases in which a worker holds a job that a dispatch decision has to account for */
export const JOB_PHASES: readonly Phase[] = ['running', 'landing', 'resolving'];

export interface HerdSleep {
  /** the worker whose recorded decision is reused */
  by: string;
  reason: string;
}

/** The live workers other than `self` that hold a job, sorted. */
export function busyOthers(entries: WorkerEntry[], self: string): string[] {
  return entries
    .flatMap((e) => (e.kind === 'worker' && e.liveness === 'alive' && e.state.name !== self && JOB_PHASES.includes(e.state.phase) ? [e.state.name] : []))
    .sort();
}

/** A live worker's recorded sleep decision that still holds for `tip`, or null. */
export function recordedSleep(entries: WorkerEntry[], self: string, tip: string): HerdSleep | null {
  const busy = busyOthers(entries, self);
  for (const e of entries) {
    if (e.kind !== 'worker' || e.liveness !== 'alive' || e.state.name === self) continue;
    const last = e.state.last_sleep;
    if (!last || last.main_tip !== tip) continue;
    // the decider recorded the others it saw busy; now, from our side, the decider is not
    // busy (it records a sleep only while dispatching) and neither are we
    const sawBusy = [...last.busy].sort();
    if (sawBusy.join('\n') === busy.join('\n')) return { by: e.state.name, reason: last.reason };
  }
  return null;
}
