// cli-fallback — run a session on an agent's CLIs in turn: the first, then the next one
// each time the vendor refuses (quota, rate limit, auth, overloaded) or the CLI is not
// installed. The next session works in the same worktree, where the refused one's
// commits and uncommitted changes stay as they are (nothing is reset or saved away in
// between), and its prompt says what the refused sessions did (cli-handoff.ts).
//
// Inputs: the agent's CLIs, the prompt, a function that runs one session on one CLI.
// Outputs: the last session's outcome, the CLI that ran it, and the refusals before it.

import type { CliName, Refusal } from '../clis/adapter.js';
import { adapterFor } from '../clis/index.js';
import type { SessionOutcome } from '../session/runner.js';
import { revParse } from '../git/runner.js';
import { handoffPrompt, whatWasLeft, type Handoff } from './cli-handoff.js';

/** A CLI whose vendor refused the session. */
export interface Refused {
  cli: CliName;
  refusal: Refusal;
}

export interface FallbackOptions {
  agentName: string;
  clis: readonly CliName[];
  prompt: string;
  /** the worktree: what a refused session left there is told to the next */
  worktree: string;
  /** the refused sessions of an earlier try of this job (the worker's retry after a wait) */
  earlier?: readonly Handoff[];
  /** false: each CLI gets the prompt as it is (dispatch: its sessions change nothing) */
  handoff?: boolean;
  /** runs one session on one CLI (the caller adds up its cost) */
  run: (cli: CliName, prompt: string) => Promise<SessionOutcome>;
  /** a session on `cli` is about to start; `refused`: the CLIs that refused before it in this try */
  onCli?: (cli: CliName, refused: readonly Refused[]) => void | Promise<void>;
  display?: (line: string) => void;
  /** after a refused session: false ends the job there (the worktree is gone) */
  goOn?: () => boolean | Promise<boolean>;
}

export interface FallbackResult {
  session: SessionOutcome;
  /** the CLI of `session`: the one that ran last */
  cli: CliName;
  /** the CLIs that refused in this try (the last one too when `session` is refused) */
  refused: Refused[];
  /** what every refused session did (of earlier tries too), for a later try */
  handoffs: Handoff[];
}

/** Runs the session on each CLI in turn until one is not refused, or the list is used up. */
export async function runOnClis(o: FallbackOptions): Promise<FallbackResult> {
  const refused: Refused[] = [];
  const handoffs: Handoff[] = [...(o.earlier ?? [])];
  let last: { session: SessionOutcome; cli: CliName } | null = null;
  let lastRefused: { session: SessionOutcome; cli: CliName } | null = null;
  for (const [i, cli] of o.clis.entries()) {
    await o.onCli?.(cli, refused);
    const before = o.handoff === false ? null : await revParse(o.worktree, 'HEAD');
    const session = await o.run(cli, o.handoff === false ? o.prompt : handoffPrompt(o.prompt, handoffs));
    last = { session, cli };
    if (session.kind === 'refused') {
      lastRefused = last;
      refused.push({ cli, refusal: session.refusal });
      if (o.handoff !== false) addHandoff(handoffs, { cli, label: labelOf(cli), refusal: session.refusal, ...(await whatWasLeft(o.worktree, before)) });
    }
    const next = o.clis[i + 1];
    if (next === undefined || (o.goOn && !(await o.goOn()))) break;
    if (session.kind === 'cli-not-found') o.display?.(`coven: ${cli} is not there (${session.message}); ${o.agentName} goes on with ${next}`);
    else if (session.kind === 'refused') o.display?.(`coven: ${cli} refused the ${o.agentName} session (${session.refusal.reason}: ${session.refusal.message}); ${o.agentName} goes on with ${next} in the same worktree${o.handoff === false ? '' : ', its commits and changes kept'}`);
    else break;
  }
  if (last === null) throw new Error(`agent ${o.agentName} names no CLI`); // the registry never gives an empty list
  // a refusal, then a CLI that is not installed: the job was refused (the worker waits and
  // tries again), not a missing CLI (which would drop the refused session's work)
  if (last.session.kind === 'cli-not-found' && lastRefused !== null) return { ...lastRefused, refused, handoffs };
  return { ...last, refused, handoffs };
}

/**
 * One paragraph per CLI in the next prompt, whatever the number of tries: a CLI refused
 * again replaces its earlier paragraph, with the commits of both.
 */
export function addHandoff(handoffs: Handoff[], h: Handoff): void {
  const i = handoffs.findIndex((x) => x.cli === h.cli);
  if (i < 0) {
    handoffs.push(h);
    return;
  }
  const before = handoffs[i]!;
  handoffs.splice(i, 1);
  handoffs.push({ ...h, commits: [...before.commits, ...h.commits.filter((c) => !before.commits.includes(c))] });
}

function labelOf(cli: CliName): string {
  const a = adapterFor(cli);
  return a.kind === 'adapter' ? a.adapter.label : cli;
}
