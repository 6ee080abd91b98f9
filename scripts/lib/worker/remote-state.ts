// remote-state — a worker in remote mode publishes its state on the remote
// (lib/remote/publish-state.ts): from its first state change until it stops, when the
// ref is deleted. In local mode nothing happens here.
// Inputs: the worker. Effects: refs/coven/workers/<machine>/<name> on the remote.

import { leaseMs } from '../claims/claim.js';
import { StatePublisher, type Unpublished } from '../remote/publish-state.js';
import { trace } from '../ui/trace.js';
import type { Worker } from './context.js';

const publishers = new WeakMap<Worker, StatePublisher>();

/** Publishes the worker's state soon (coalesced); never waits for the remote. */
export function publishState(w: Worker): void {
  if (!w.remote) return;
  let p = publishers.get(w);
  if (!p) {
    const remote = w.remote.name;
    p = new StatePublisher({
      repo: w.paths.mainWorktree,
      target: w.remote,
      name: w.name,
      heartbeatMs: Math.max(1_000, Math.floor(leaseMs(w.opts.env ?? process.env) / 3)),
      onProblem: (why) => {
        trace('publish', { worker: w.name, ok: why === null });
        w.ui.line(why === null ? `coven: ${w.name}'s state is published on ${remote} again` : `coven: cannot publish ${w.name}'s state on ${remote} (${why}); the other machines see its last state until it is published again (tried again later)`);
      },
    });
    publishers.set(w, p);
  }
  p.publish(w.state);
}

/** The worker stops: its state is taken off the remote (left there when the remote does not answer: others see it as not heard from). */
export async function unpublishState(w: Worker): Promise<Unpublished | null> {
  const p = publishers.get(w);
  if (!p) return null;
  publishers.delete(w);
  const r = await p.stop();
  if (r === 'left') w.ui.line(`coven: ${w.name}'s state stays on ${w.remote?.name ?? 'the remote'} (${p.ref}): it could not be deleted now; other machines will show it as not heard from once its lease runs out`);
  return r;
}

/** Waits until the publisher has nothing in flight (tests). */
export async function publishSettled(w: Worker): Promise<void> {
  await publishers.get(w)?.settled();
}
