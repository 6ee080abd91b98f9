// claude — the adapter for Claude Code (`claude -p`, stream-json in and out). The
// command line is the one coven has always given (reference/claude-cli.md §1); the
// events are read by lib/session/stream-json.ts and told to coven as CliEvents.
//
// A refusal is Claude Code's own signal that the vendor will not serve the session: a
// `system/api_retry` with a 429 / 401 / 403 / 529 status (`error` rate_limit,
// authentication_failed, overloaded: the CLI would retry 10 times over minutes), or a
// final result with `api_error_status` 429 / 401 / 403 / 529 or the words of a usage
// limit, a credit balance too low (a 400 the CLI does not retry), a failed login or an
// overload. A 500 or 503 (`server_error`) is a retry, not a refusal. Observed with
// 2.1.197 against the mock Messages API. Pure.

import type { CliAdapter, CliCommand, CliEvent, CliRun, RefusalReason, StreamParser } from './adapter.js';
import { refuseOnce } from './adapter.js';
import { bytesOf, MAX_ARG_BYTES } from './limits.js';
import { toolCallSummary } from './claude-tools.js';
import { isSuccess, parseStreamLine, type ResultEvent, type StreamEvent } from '../session/stream-json.js';
import { firstLine } from './words.js';

/** One stream-json user message, as the CLI reads it on stdin. */
export function userMessageLine(text: string): string {
  return `${JSON.stringify({ type: 'user', message: { role: 'user', content: text } })}\n`;
}

/** Whether coven's text goes at the head of the first message rather than as --append-system-prompt (over MAX_ARG_BYTES). */
export function systemTextOnStdin(systemText: string | undefined): boolean {
  return systemText !== undefined && bytesOf(systemText) > MAX_ARG_BYTES;
}

/** The CLI's arguments (without the prompt, which goes on stdin). */
export function claudeArgs(run: Pick<CliRun, 'permissionMode' | 'args' | 'systemText' | 'resume'>): string[] {
  // --replay-user-messages: the CLI echoes each stdin message when a turn takes it, which
  // tells the runner whether a steering message still has a turn to come
  const args = ['-p', '--output-format', 'stream-json', '--verbose', '--input-format', 'stream-json', '--replay-user-messages'];
  args.push('--permission-mode', run.permissionMode ?? 'acceptEdits');
  args.push(...run.args);
  if (run.systemText !== undefined && !systemTextOnStdin(run.systemText)) args.push('--append-system-prompt', run.systemText);
  if (run.resume !== undefined) args.push('--resume', run.resume);
  return args;
}

function command(run: CliRun): CliCommand {
  const prompt = systemTextOnStdin(run.systemText) ? `${run.systemText}\n\n---\n\n${run.prompt}` : run.prompt;
  return { args: claudeArgs(run), stdin: userMessageLine(prompt), keepStdinOpen: true, env: {} };
}

const refusalStatus: Record<number, RefusalReason> = { 429: 'rate-limit', 401: 'auth', 403: 'auth', 529: 'overloaded' };

/** The refusal Claude Code's words and status mean, if any (a 400 or a 500 is not one: another CLI would not help). */
export function claudeRefusal(status: number | undefined, words: string): RefusalReason | null {
  if (/usage limit|hit your limit|credit balance is too low|billing|quota/i.test(words)) return 'quota';
  if (status !== undefined && refusalStatus[status]) return refusalStatus[status]!;
  if (/rate_limit/i.test(words)) return 'rate-limit';
  if (/authentication_error|authentication_failed|failed to authenticate|invalid api key|not logged in|permission_error|oauth token/i.test(words)) return 'auth';
  if (/overloaded/i.test(words)) return 'overloaded';
  return null;
}

/** What the parser remembers between lines. */
export interface ClaudeParseState {
  sessionSeen: boolean;
  replays: number;
  refused: boolean;
  junkShown: number;
}

export const newClaudeParseState = (): ClaudeParseState => ({ sessionSeen: false, replays: 0, refused: false, junkShown: 0 });

/** One stream-json event as CliEvents. */
export function claudeEvents(e: StreamEvent, st: ClaudeParseState): CliEvent[] {
  switch (e.kind) {
    case 'init':
      st.sessionSeen = true;
      return [{ kind: 'session', sessionId: e.sessionId, ...(e.model !== undefined ? { model: e.model } : {}) }, { kind: 'turn-start' }];
    case 'assistant': {
      if (e.subagent) return [];
      const out: CliEvent[] = [];
      for (const b of e.blocks) {
        if (b.type === 'text') out.push({ kind: 'text', text: b.text });
        else if (b.type === 'tool_use') out.push({ kind: 'tool', summary: toolCallSummary(b.name, b.input) });
      }
      return out;
    }
    case 'tool-results':
      if (e.subagent) return [];
      return e.results.filter((r) => r.isError).map((r) => ({ kind: 'tool-failed', summary: firstLine(r.text) || 'tool failed' }));
    case 'user': {
      if (!e.replay) return [];
      st.replays++;
      // the first replay is the prompt itself; a later one is a steering message a turn took
      return st.replays > 1 ? [{ kind: 'replay' }, { kind: 'notice', text: `» ${e.text.split('\n')[0]?.slice(0, 150) ?? ''}` }] : [{ kind: 'replay' }];
    }
    case 'system': {
      if (e.subtype !== 'api_retry') return [];
      const reason = claudeRefusal(e.errorStatus, e.error ?? '');
      if (reason === null) return [{ kind: 'notice', text: '… API error, the CLI is retrying' }];
      return refuseOnce(st, { reason, message: `the API answered ${e.errorStatus ?? 'an error'}${e.error ? ` (${e.error})` : ''}; the CLI would retry` });
    }
    case 'result':
      return resultEvents(e.result, st);
    default:
      return [];
  }
}

function resultEvents(r: ResultEvent, st: ClaudeParseState): CliEvent[] {
  const out: CliEvent[] = [];
  if (!st.sessionSeen) {
    // a failed resume prints no init: the result names the session
    st.sessionSeen = true;
    out.push({ kind: 'session', sessionId: r.sessionId });
  }
  const ok = isSuccess(r);
  const words = [r.text ?? '', ...r.errors].join('\n');
  if (!ok && (r.apiErrorStatus !== undefined || /^API Error|not logged in|usage limit|hit your limit|credit balance/i.test(words))) {
    const reason = claudeRefusal(r.apiErrorStatus, words);
    if (reason !== null) out.push(...refuseOnce(st, { reason, message: firstLine(words).slice(0, 300) }));
  }
  out.push({
    kind: 'result',
    ok,
    subtype: r.subtype,
    ...(r.text !== undefined ? { text: r.text } : {}),
    errors: r.errors,
    costUsd: r.costUsd,
    ...(r.tokens ? { tokens: r.tokens } : {}),
    turns: r.turns,
    durationMs: r.durationMs,
  });
  return out;
}

function parser(): StreamParser {
  const st = newClaudeParseState();
  return {
    line(line) {
      const parsed = parseStreamLine(line);
      if (parsed.ok) return claudeEvents(parsed.event, st);
      if (parsed.reason === 'empty' || st.junkShown++ >= 3) return [];
      return [{ kind: 'notice', text: `(ignored a line that is not a JSON event: ${line.slice(0, 80)})` }];
    },
    stderr: () => [],
    end: () => [],
  };
}

export const claudeAdapter: CliAdapter = {
  name: 'claude',
  label: 'Claude Code',
  envVar: 'COVEN_CLAUDE',
  defaultCommand: 'claude',
  install: 'npm install -g @anthropic-ai/claude-code',
  argsKey: 'claude_args',
  steering: true,
  costInDollars: true,
  limits: [],
  command,
  parser,
  unknownSession: /No conversation found/i,
  steerLine: userMessageLine,
};
