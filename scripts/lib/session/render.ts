// session-render — the short live view of an agent session in the terminal: the
// agent's text, one line per tool call (tool + its key input), a line for a failed
// tool call, and one closing line (status, cost, turns, time).
//
// Pure: events and outcomes in, lines of text out (no colour, no terminal codes: a
// control character in what the agent or the CLI wrote is shown escaped, see plain-text).

import { relative, isAbsolute } from 'node:path';
import type { StreamEvent } from './stream-json.js';
import type { SessionOutcome } from './session-contract.js';
import { humanDuration } from '../ui/human-duration.js';
import { escapeNotPlain } from '../ui/plain-text.js';

const maxWidth = 160;
const maxTextLines = 8;

/** Lines to show for one event (often none). `cwd` shortens file paths. */
export function renderEvent(event: StreamEvent, cwd: string): string[] {
  switch (event.kind) {
    case 'assistant': {
      if (event.subagent) return [];
      const lines: string[] = [];
      for (const b of event.blocks) {
        if (b.type === 'text') lines.push(...textLines(b.text));
        else if (b.type === 'tool_use') lines.push(`  ▸ ${toolCallSummary(b.name, b.input, cwd)}`);
      }
      return lines;
    }
    case 'tool-results':
      if (event.subagent) return [];
      return event.results.filter((r) => r.isError).map((r) => `    ✗ ${clip(firstLine(r.text) || 'tool failed')}`);
    case 'system':
      return event.subtype === 'api_retry' ? ['  … API error, the CLI is retrying'] : [];
    default:
      return [];
  }
}

/** `Bash: npm test`, `Edit: src/a.ts`, `Grep: TODO` — the tool and the input that says most. */
export function toolCallSummary(name: string, input: Record<string, unknown>, cwd: string): string {
  const str = (k: string): string | undefined => (typeof input[k] === 'string' ? (input[k] as string) : undefined);
  let key: string | undefined;
  switch (name) {
    case 'Bash':
      key = str('command');
      break;
    case 'Read':
    case 'Edit':
    case 'MultiEdit':
    case 'Write':
    case 'NotebookEdit':
      key = displayPath(str('file_path') ?? str('notebook_path'), cwd);
      break;
    case 'Glob':
    case 'Grep':
      key = str('pattern');
      break;
    case 'WebFetch':
      key = str('url');
      break;
    case 'WebSearch':
      key = str('query');
      break;
    case 'Task':
    case 'Agent':
      key = str('description');
      break;
    default:
      key = Object.values(input).find((v): v is string => typeof v === 'string');
  }
  return key === undefined ? clip(name) : clip(`${name}: ${firstLine(key)}${key.includes('\n') ? ' …' : ''}`);
}

/** The closing line of a session. */
export function renderOutcome(outcome: SessionOutcome): string {
  switch (outcome.kind) {
    case 'success':
      return `  ✓ done · ${figures(outcome.costUsd, outcome.turns, outcome.durationMs)}`;
    case 'agent-error': {
      const why = outcome.errors[0] ?? outcome.text ?? '';
      return `  ✗ agent error (${outcome.subtype})${why ? `: ${clip(firstLine(why))}` : ''} · ${figures(outcome.costUsd, outcome.turns, outcome.durationMs)}`;
    }
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

function figures(costUsd: number, turns: number, durationMs: number): string {
  return `$${costUsd.toFixed(4)} · ${turns} turn${turns === 1 ? '' : 's'} · ${humanDuration(durationMs)}`;
}

function textLines(text: string): string[] {
  const lines = text.trim().split(/\r?\n/);
  const shown = lines.slice(0, maxTextLines).map((l) => clip(`  ${l}`));
  if (lines.length > maxTextLines) shown.push(`  … (${lines.length - maxTextLines} more lines)`);
  return lines.length === 1 && lines[0] === '' ? [] : shown;
}

function displayPath(path: string | undefined, cwd: string): string | undefined {
  if (path === undefined || !isAbsolute(path)) return path;
  const rel = relative(cwd, path);
  return rel.startsWith('..') || rel === '' ? path : rel;
}

function firstLine(text: string): string {
  return text.trim().split(/\r?\n/)[0] ?? '';
}

/** One line as shown: tabs as spaces, other control characters escaped, at most maxWidth long. */
function clip(text: string): string {
  const line = escapeNotPlain(text.replace(/\t/g, '  '));
  return line.length > maxWidth ? `${line.slice(0, maxWidth - 1)}…` : line;
}
