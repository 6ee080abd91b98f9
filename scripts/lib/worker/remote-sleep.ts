// remote-sleep — what a worker in remote mode watches while it sleeps, besides its local
// signals: the remote's main, polled (lib/remote/remote-poll.ts). The baseline is the
// remote's main as the dispatch saw it (refs/remotes/<remote>/<main> after the dispatch's
// sync fetched it): a push the dispatch did not see wakes the worker at the first look. Woken by the remote, the worker fetches its main at once (the
// remote-tracking ref is the next sleep's baseline, so the same push cannot wake it twice).
// Inputs: the worker. Output: the watch for wait-for-main, or undefined in local mode.

import { revParse } from '../git/runner.js';
import { fetchRemote } from '../remote/git-remote.js';
import { pollWords, remotePollMs, type RemoteMainWatch } from '../remote/remote-poll.js';
import { mirrorRefspecs, trackingRef } from '../remote/target.js';
import { trace } from '../ui/trace.js';
import type { Worker } from './context.js';

/**
 * `baseline`: the remote's main the dispatch saw (decide.ts). The local waiter beside the
 * poll watches the clone's own main from where it is now (in remote mode it moves only
 * when a worker of this clone lands, or by hand), not from that remote tip.
 */
export async function remoteMainWatch(w: Worker, baseline: string): Promise<{ watch: RemoteMainWatch; localBaseline: string } | undefined> {
  const t = w.remote;
  if (!t) return undefined;
  const intervalMs = remotePollMs(w.opts.env ?? process.env);
  const watch: RemoteMainWatch = {
    repo: w.paths.mainWorktree,
    remote: t.name,
    main: t.main,
    baseline: baseline !== '' ? baseline : await revParse(w.paths.mainWorktree, trackingRef(t)),
    intervalMs,
    onReachability: (r) => {
      trace('remote', { worker: w.name, reachable: r.kind === 'reachable' });
      w.ui.line(r.kind === 'reachable' ? pollWords.reachable(w.name, t.name) : pollWords.unreachable(w.name, t.name, r.message, intervalMs));
    },
  };
  return { watch, localBaseline: (await revParse(w.paths.mainWorktree, `refs/heads/${w.main}`)) ?? baseline };
}

/** After a wake by the remote: fetch its main into the remote-tracking ref (a remote that does not answer now is left to the sync). */
export async function fetchRemoteMain(w: Worker): Promise<void> {
  if (!w.remote) return;
  await fetchRemote(w.paths.mainWorktree, w.remote.name, mirrorRefspecs(w.remote, ['main']), { signal: w.stop.signal });
}
