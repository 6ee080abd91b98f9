// remote-sleep — what a worker in remote mode watches while it sleeps, besides its local
// signals: the remote's main, polled (lib/remote/remote-poll.ts). The baseline is the
// remote's main as this clone last fetched it (refs/remotes/<remote>/<main>), which the
// dispatch's sync brought up to date: a push the dispatch did not see wakes the worker at
// the first look. Woken by the remote, the worker fetches its main at once (the
// remote-tracking ref is the next sleep's baseline, so the same push cannot wake it twice).
// Inputs: the worker. Output: the watch for wait-for-main, or undefined in local mode.

import { revParse } from '../git/runner.js';
import { fetchRemote } from '../remote/git-remote.js';
import { pollWords, remotePollMs, type RemoteMainWatch } from '../remote/remote-poll.js';
import { mirrorRefspecs, trackingRef } from '../remote/target.js';
import { trace } from '../ui/trace.js';
import type { Worker } from './context.js';

export async function remoteMainWatch(w: Worker): Promise<RemoteMainWatch | undefined> {
  const t = w.remote;
  if (!t) return undefined;
  const intervalMs = remotePollMs(w.opts.env ?? process.env);
  return {
    repo: w.paths.mainWorktree,
    remote: t.name,
    main: t.main,
    baseline: await revParse(w.paths.mainWorktree, trackingRef(t)),
    intervalMs,
    onReachability: (r) => {
      trace('remote', { worker: w.name, reachable: r.kind === 'reachable' });
      w.ui.line(r.kind === 'reachable' ? pollWords.reachable(w.name, t.name) : pollWords.unreachable(w.name, t.name, r.message, intervalMs));
    },
  };
}

/** After a wake by the remote: fetch its main into the remote-tracking ref (a remote that does not answer now is left to the sync). */
export async function fetchRemoteMain(w: Worker): Promise<void> {
  if (!w.remote) return;
  await fetchRemote(w.paths.mainWorktree, w.remote.name, mirrorRefspecs(w.remote, ['main']), { signal: w.stop.signal });
}
