// worker-ui — what a worker's terminal shows: one header line at every phase change
// (name, phase, agent and arguments, elapsed time, cost so far), the session's live
// lines, and problems. On a terminal the window title shows the same, in short.
// When stdout is not a terminal (CI, nohup, a log file): plain lines, no escapes.

import type { WorkerState } from './worker-state.js';
import { humanDuration } from './human-duration.js';

export interface WorkerUi {
  /** called at every phase change */
  header(state: WorkerState): void;
  /** an ordinary line (session output, progress) */
  line(text: string): void;
  /** a problem or a message for the human (stderr) */
  problem(text: string): void;
}

export function describeJob(state: Pick<WorkerState, 'agent' | 'args'>): string {
  if (!state.agent) return '';
  const args = Object.entries(state.args)
    .map(([k, v]) => `${k}: ${v}`)
    .join(', ');
  return args ? `${state.agent} (${args})` : state.agent;
}

/** `── brave-otter · running implement (issue: review/a.md) · 4m05s · $0.0312 ──` */
export function headerLine(state: WorkerState, now = Date.now()): string {
  const job = describeJob(state);
  const elapsed = humanDuration(now - Date.parse(state.started));
  const parts = [state.name, job ? `${state.phase} ${job}` : state.phase, elapsed, `$${state.cost_usd.toFixed(4)}`];
  if (state.landed > 0) parts.push(`${state.landed} landed`);
  return `── ${parts.join(' · ')} ──`;
}

/** `coven brave-otter: running implement` (for the terminal title) */
export function titleText(state: WorkerState): string {
  return `coven ${state.name}: ${state.phase}${state.agent ? ` ${state.agent}` : ''}`;
}

/** Plain lines on stdout/stderr; a title escape only when stdout is a terminal. */
export function consoleUi(out: NodeJS.WriteStream = process.stdout, err: NodeJS.WriteStream = process.stderr): WorkerUi {
  const tty = Boolean(out.isTTY);
  return {
    header(state) {
      if (tty) out.write(`\x1b]0;${titleText(state).replace(/[\x00-\x1f\x7f]/g, ' ')}\x07`);
      out.write(`${headerLine(state)}\n`);
    },
    line(text) {
      out.write(`${text}\n`);
    },
    problem(text) {
      err.write(`${text}\n`);
    },
  };
}
