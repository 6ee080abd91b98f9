// stop-on-signal — how a step that runs an agent session stops on Ctrl-C or SIGTERM:
// the signal is aborted and the session running then (or started after) is ended.
// Hand `signal` and `onSession` to the core that runs the sessions.

import type { SessionHandle } from './runner.js';

export interface SessionStopper {
  signal: AbortSignal;
  onSession: (session: SessionHandle | null) => void;
}

export function stopSessionsOnSignals(): SessionStopper {
  const controller = new AbortController();
  let session: SessionHandle | null = null;
  const stop = (): void => {
    controller.abort();
    session?.abort();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return {
    signal: controller.signal,
    onSession: (s) => {
      session = s;
      if (s && controller.signal.aborted) s.abort();
    },
  };
}
