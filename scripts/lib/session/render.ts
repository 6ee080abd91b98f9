// session-render — the short live view of an agent session in the terminal: the
// agent's text, one line per tool call (tool + its key input), a line for a failed
// tool call, and one closing line (status, cost, turns, time).
//
// Pure: events and outcomes in, lines of text out (no colour, no terminal codes: a
// control character in what the agent or the CLI wrote is shown escaped, see plain-text).

import { isAbsolute, relative } from 'node:path';
import type { CliEvent, TokenCounts } from '../clis/adapter.js';
import type { SessionOutcome } from './session-contract.js';
import { formatTokens } from '../clis/price.js';
import { humanDuration } from '../ui/human-duration.js';
import { clip, firstLine } from './clip.js';

export { toolCallSummary } from '../clis/claude-tools.js';

const maxTextLines = 8;

/** Lines to show for one event of any CLI (often none). `cwd` shortens file paths. */
export function renderEvent(event: CliEvent, cwd: string): string[] {
  switch (event.kind) {
    case 'text':
      return textLines(event.text);
    case 'tool':
      return [`  ▸ ${clip(shortenPath(event.summary, cwd))}`];
    case 'tool-failed':
      return [`    ✗ ${clip(firstLine(event.summary) || 'tool failed')}`];
    case 'notice':
      return [`  ${clip(event.text)}`];
    case 'refused':
      return [`  … the vendor refused (${event.refusal.reason}); stopping the session`];
    default:
      return [];
  }
}

/** `Edit: /w/repo/src/a.ts` → `Edit: src/a.ts` when the cwd is /w/repo (a tool line of any CLI). */
function shortenPath(summary: string, cwd: string): string {
  const m = /^([^:]+): (\/\S*)$/.exec(summary);
  if (!m) return summary;
  const rel = relative(cwd, m[2]!);
  return rel === '' || rel.startsWith('..') || isAbsolute(rel) ? summary : `${m[1]}: ${rel}`;
}

/** The closing line of a session. */
export function renderOutcome(outcome: SessionOutcome): string {
  switch (outcome.kind) {
    case 'success':
      return `  ✓ done · ${figures(outcome.costUsd, outcome.tokens, outcome.turns, outcome.durationMs)}`;
    case 'agent-error': {
      const why = outcome.errors[0] ?? outcome.text ?? '';
      return `  ✗ agent error (${outcome.subtype})${why ? `: ${clip(firstLine(why))}` : ''} · ${figures(outcome.costUsd, outcome.tokens, outcome.turns, outcome.durationMs)}`;
    }
    case 'refused':
      return `  ✗ the vendor refused (${outcome.refusal.reason}): ${clip(firstLine(outcome.refusal.message))}`;
    case 'crashed': {
      const how = outcome.signal ? `killed by ${outcome.signal}` : `exit ${outcome.exitCode ?? '?'}`;
      const last = outcome.stderrTail.at(-1);
      return `  ✗ the agent CLI stopped without a result (${how})${last ? `: ${clip(last)}` : ''}`;
    }
    case 'timed-out':
      return `  ✗ timed out after ${humanDuration(outcome.timeoutMs)}; the session was stopped`;
    case 'aborted':
      return '  ✗ stopped (aborted)';
    case 'cli-not-found':
      return `  ✗ ${outcome.message}`;
    case 'too-big':
      return `  ✗ the agent CLI was not started: ${outcome.what} is ${outcome.bytes} bytes, over the limit of ${outcome.maxBytes} on a command line`;
  }
}

/**
 * `$0.0123 · 4 turns · 12s`; with no price (0 dollars but tokens counted): `12.3k tokens · …`;
 * no turns part when the CLI does not count them (Codex, Gemini CLI, opencode)
 */
function figures(costUsd: number, tokens: TokenCounts | undefined, turns: number, durationMs: number): string {
  const cost = costUsd === 0 && tokens && tokens.input + tokens.output > 0 ? formatTokens(tokens) : `$${costUsd.toFixed(4)}`;
  const turnsPart = turns > 0 ? ` · ${turns} turn${turns === 1 ? '' : 's'}` : '';
  return `${cost}${turnsPart} · ${humanDuration(durationMs)}`;
}

function textLines(text: string): string[] {
  const lines = text.trim().split(/\r?\n/);
  const shown = lines.slice(0, maxTextLines).map((l) => clip(`  ${l}`));
  if (lines.length > maxTextLines) shown.push(`  … (${lines.length - maxTextLines} more lines)`);
  return lines.length === 1 && lines[0] === '' ? [] : shown;
}
