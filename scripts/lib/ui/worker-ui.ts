// worker-ui — what a worker's terminal shows: one header line at every phase change
// (name, phase, agent and arguments, elapsed time, cost so far), the session's live
// lines, and problems. On a terminal the window title shows the same, in short (and is
// put back at exit where the terminal keeps a title stack). When stdout is not a
// terminal (CI, nohup, a log file) or TERM=dumb: plain lines, no escapes.

import type { WorkerState } from '../worker/state.js';
import { humanDuration } from './human-duration.js';
import { forTerminal } from './plain-text.js';

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

/** `codex (claude refused: quota)`: the job's CLI and why it is not the agent's first; '' when none is recorded. */
export function describeCli(state: Pick<WorkerState, 'cli' | 'cli_note'>): string {
  if (!state.cli) return '';
  return state.cli_note ? `${state.cli} (${state.cli_note})` : state.cli;
}

/**
 * `── brave-otter · running implement (issue: review/a.md) on codex · 4m05s · $0.0312 ──`
 * (the CLI is named when it is not claude, the default, or when it changed)
 */
export function headerLine(state: WorkerState, now = Date.now()): string {
  const cli = state.agent && (state.cli !== 'claude' || state.cli_note) ? describeCli(state) : '';
  const job = describeJob(state) + (cli ? ` on ${cli}` : '');
  const elapsed = humanDuration(now - Date.parse(state.started));
  const parts = [state.name, job ? `${state.phase} ${job}` : state.phase, elapsed, `$${state.cost_usd.toFixed(4)}`];
  if (state.landed > 0) parts.push(`${state.landed} landed`);
  return `── ${parts.join(' · ')} ──`;
}

/** `coven brave-otter: running implement · $0.0312` (the header in short, for the terminal title) */
export function titleText(state: WorkerState): string {
  return `coven ${state.name}: ${state.phase}${state.agent ? ` ${state.agent}` : ''} · $${state.cost_usd.toFixed(4)}`;
}

/** The escape that sets the terminal (and tmux pane) title; control characters become spaces. */
export function titleEscape(title: string): string {
  return `\x1b]0;${title.replace(/[\x00-\x1f\x7f-\x9f]/g, ' ')}\x07`;
}

// xterm's title stack: save the title before the first change, put it back at exit
// (terminals without the stack ignore both)
const pushTitle = '\x1b[22;0t';
const popTitle = '\x1b[23;0t';

/** Whether escapes may be written to `out`: a terminal that is not TERM=dumb. */
export function escapesAllowed(out: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  return out.isTTY === true && env.TERM !== 'dumb';
}

/** Plain lines on stdout/stderr; title escapes only when stdout is a terminal. */
export function consoleUi(out: NodeJS.WritableStream & { isTTY?: boolean } = process.stdout, err: NodeJS.WritableStream = process.stderr): WorkerUi {
  const tty = escapesAllowed(out);
  let titled = false;
  return {
    header(state) {
      if (tty) {
        if (!titled) {
          titled = true;
          out.write(pushTitle);
          process.once('exit', () => out.write(popTitle));
        }
        out.write(titleEscape(titleText(state)));
      }
      out.write(`${forTerminal(headerLine(state))}\n`);
    },
    line(text) {
      out.write(`${forTerminal(text)}\n`);
    },
    problem(text) {
      err.write(`${forTerminal(text)}\n`);
    },
  };
}
