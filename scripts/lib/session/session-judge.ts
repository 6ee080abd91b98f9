// session-judge — the outcome of a session that has ended, from what the runner saw: a
// start that failed, a refusal, the timeout, abort, and else the CLI's last result
// (never the exit code alone); the cost from the CLI's dollars or the user's price. Pure.

import type { CliAdapter } from '../clis/adapter.js';
import { sessionCost } from '../clis/price.js';
import { cliNotFoundMessage, type SessionOutcome } from './session-contract.js';
import type { ResultOf, SessionEvents } from './session-events.js';

export interface SessionFacts {
  adapter: CliAdapter;
  command: string;
  env: NodeJS.ProcessEnv;
  heard: SessionEvents;
  spawnError: NodeJS.ErrnoException | null;
  timedOut: boolean;
  timeoutMs: number;
  aborted: boolean;
  exitCode: number | null;
  exitSignal: NodeJS.Signals | null;
  stderrTail: readonly string[];
  /** from spawn to exit: the session's time when the CLI reports none (Codex, opencode) */
  wallMs: number;
}

/** The outcome, and a bad COVEN_PRICE_<CLI> to show. */
export function judgeSession(f: SessionFacts): { outcome: SessionOutcome; priceProblem?: string } {
  const sessionId = f.heard.sessionId;
  const err = f.spawnError;
  if (err) {
    if (err.code === 'ENOENT' || err.code === 'EACCES' || err.code === 'ENOTDIR') {
      return { outcome: { kind: 'cli-not-found', command: f.command, message: cliNotFoundMessage(f.command, err.code, f.adapter.name) } };
    }
    return { outcome: { kind: 'crashed', exitCode: null, signal: null, stderrTail: [`could not start ${f.command}: ${err.message}`] } };
  }
  const cost = sessionCost(f.adapter, f.heard.lastResult?.costUsd, f.heard.tokens, f.env);
  const problem = cost.problem === undefined ? {} : { priceProblem: cost.problem };
  // a refusal wins: the session was stopped for it (or its last result was the refusal)
  const refusal = f.heard.refusal;
  if (refusal) return { outcome: { kind: 'refused', refusal, ...(sessionId ? { sessionId } : {}), costUsd: cost.costUsd }, ...problem };
  // timeout and abort win over a result that came after them (a CLI that gets SIGTERM
  // while a Bash tool runs finishes its turn anyway); neither is set once the session is done
  if (f.timedOut) return { outcome: { kind: 'timed-out', timeoutMs: f.timeoutMs, ...(sessionId ? { sessionId } : {}) } };
  if (f.aborted) return { outcome: { kind: 'aborted', ...(sessionId ? { sessionId } : {}) } };
  const result = f.heard.lastResult;
  // (when not every message was answered: the CLI exited before a steering turn)
  if (result) return { outcome: judgeResult(result, f.heard, cost.costUsd, f.wallMs), ...problem };
  return { outcome: { kind: 'crashed', exitCode: f.exitCode, signal: f.exitSignal, stderrTail: [...f.stderrTail], ...(sessionId ? { sessionId } : {}) } };
}

function judgeResult(r: ResultOf, h: SessionEvents, costUsd: number, wallMs: number): SessionOutcome {
  const figures = { sessionId: h.sessionId ?? '', costUsd, turns: h.turns, durationMs: h.durationMs > 0 ? h.durationMs : wallMs, ...(h.tokens ? { tokens: h.tokens } : {}) };
  if (r.ok) return { kind: 'success', text: r.text ?? h.lastText ?? '', ...figures };
  return { kind: 'agent-error', subtype: r.subtype, errors: r.errors, ...(r.text !== undefined ? { text: r.text } : {}), ...figures };
}
