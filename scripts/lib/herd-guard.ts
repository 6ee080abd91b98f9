// herd-guard — when several sleeping workers wake for the same commit, only the first
// needs a dispatch session. A later one that finds a sleep decision already recorded
// for the same main tip and the same set of busy workers goes back to sleep. Pure.

import type { WorkerEntry } from './worker-state.js';
import { busyWorkers } from './worker-state.js';

export interface HerdSleep {
  /** the worker whose recorded decision is reused */
  by: string;
  reason: string;
}

/** The set of busy workers as `self` sees it (itself excluded), sorted. */
export function busyOthers(entries: WorkerEntry[], self: string): string[] {
  return busyWorkers(entries)
    .filter((n) => n !== self)
    .sort();
}

/** A live worker's recorded sleep decision that still holds for `tip`, or null. */
export function recordedSleep(entries: WorkerEntry[], self: string, tip: string): HerdSleep | null {
  const busy = busyOthers(entries, self).join('\n');
  for (const e of entries) {
    if (e.kind !== 'worker' || e.liveness !== 'alive') continue;
    const last = e.state.last_sleep;
    if (!last || last.main_tip !== tip) continue;
    // the decider saw the others busy; compare without the decider and without us
    const sawBusy = last.busy.filter((n) => n !== self && n !== e.state.name).sort().join('\n');
    const nowBusy = busy
      .split('\n')
      .filter((n) => n && n !== e.state.name)
      .join('\n');
    if (sawBusy === nowBusy) return { by: e.state.name, reason: last.reason };
  }
  return null;
}
