// codex — the adapter for Codex (`@openai/codex`, observed at 0.171.0 against a mock of
// the OpenAI Responses API: shared/reference/agent-clis.md, test/real-cli/mock-responses-api.ts).
//
// Start:  codex exec --json --skip-git-repo-check --dangerously-bypass-approvals-and-sandbox
//         <args> -- <prompt>, stdin closed (with stdin open and a prompt given, the CLI
//         appends what it reads there as a `<stdin>` block).
// Resume: codex exec resume --json … <args> -- <thread_id> <prompt>, run from the worktree of
//         the session (the CLI itself would resume from anywhere and work in its new cwd).
// No sandbox: Codex's sandboxes cannot commit in a linked worktree, whose git dir lies
// outside it. Codex has no system prompt option: coven's text goes at the head of the
// first prompt (a resume's thread already holds it). A prompt over MAX_ARG_BYTES goes on stdin, with `-` in its place. `--` keeps a
// prompt that starts with a dash from being read as an option.
//
// Events (one JSON object a line, field `type`): thread.started {thread_id}, turn.started,
// item.started|updated|completed {item: agent_message {text} | command_execution {command,
// aggregated_output, exit_code, status} | file_change {changes} | reasoning | error …},
// error {message}, turn.completed {usage}, turn.failed {error: {message}}. Success is
// turn.completed. An `error` item is a warning (unknown model metadata), not a failure.
// `usage` is a running total for the whole thread: on a resume it counts the earlier runs too.
//
// Refusals. Codex gives up at once on a quota (`Quota exceeded…`, `You've hit your usage
// limit…`); it retries a 401, a 429 and a 503 five times (`Reconnecting... 1/5 (unexpected
// status 401 Unauthorized: …)`) before a turn.failed, and an unreachable API forever
// (`Reconnecting... waiting for network`). The first quota, auth, rate-limit or overload
// signal is a `refused` event, so the runner stops the CLI instead of waiting; waiting for
// the network is a notice (only the wall-clock timeout bounds it). Pure.

import { z } from 'zod';
import type { CliAdapter, CliCommand, CliEvent, CliRun, RefusalReason, StreamParser, TokenCounts } from './adapter.js';
import { refuseOnce } from './adapter.js';
import { cut, firstLine } from './words.js';

/** one argument's limit, under Linux's 128 KiB per argument (a bigger prompt goes on stdin) */
const MAX_ARG_BYTES = 100 * 1024;

/** The flags coven always gives, start and resume. */
export const CODEX_FLAGS = ['--json', '--skip-git-repo-check', '--dangerously-bypass-approvals-and-sandbox'] as const;

/**
 * What the agent asks for, as one prompt: coven's text at its head. Not on a resume: the
 * thread's history holds the first prompt, coven's text with it.
 */
export function codexPrompt(run: Pick<CliRun, 'prompt' | 'systemText' | 'resume'>): string {
  return run.systemText === undefined || run.resume !== undefined ? run.prompt : `${run.systemText}\n\n---\n\n${run.prompt}`;
}

/** `codex exec` options that take a value and that `codex exec resume` refuses (exit 2). */
const startOnlyWithValue = new Set(['-C', '--cd', '-s', '--sandbox', '--add-dir', '-p', '--profile', '--local-provider', '--color']);
const startOnlyFlags = new Set(['--oss', '--approve-for-me']);

/**
 * The agent's arguments as a resume takes them: the sandbox (`-s X`) becomes
 * `-c sandbox_mode="X"`, and the options resume refuses (-C, --add-dir, -p, --oss …) are
 * dropped (the resumed thread keeps its folder; coven runs it from the same worktree).
 */
export function resumeArgs(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') {
      out.push(...args.slice(i));
      break;
    }
    const eq = a.startsWith('--') ? a.indexOf('=') : -1;
    const name = eq > 0 ? a.slice(0, eq) : a;
    if (startOnlyFlags.has(name)) continue;
    if (!startOnlyWithValue.has(name)) {
      out.push(a);
      continue;
    }
    const value = eq > 0 ? a.slice(eq + 1) : args[++i];
    if ((name === '-s' || name === '--sandbox') && value !== undefined) out.push('-c', `sandbox_mode=${JSON.stringify(value)}`);
  }
  return out;
}

function command(run: CliRun): CliCommand {
  const prompt = codexPrompt(run);
  const onStdin = Buffer.byteLength(prompt, 'utf8') > MAX_ARG_BYTES;
  const last = onStdin ? '-' : prompt;
  const args =
    run.resume === undefined
      ? ['exec', ...CODEX_FLAGS, ...run.args, '--', last]
      : ['exec', 'resume', ...CODEX_FLAGS, ...resumeArgs(run.args), '--', run.resume, last];
  return { args, stdin: onStdin ? prompt : null, keepStdinOpen: false, env: {} };
}

// ---------------------------------------------------------------- events

const itemShape = z
  .object({
    id: z.string().optional(),
    type: z.string(),
    text: z.string().optional(),
    message: z.string().optional(),
    command: z.string().optional(),
    aggregated_output: z.string().optional(),
    exit_code: z.number().nullable().optional(),
    status: z.string().optional(),
    changes: z.array(z.object({ path: z.string(), kind: z.string().optional() }).loose()).optional(),
    server: z.string().optional(),
    tool: z.string().optional(),
    query: z.string().optional(),
  })
  .loose();
const count = z.number().nonnegative().optional();

const eventShape = z.discriminatedUnion('type', [
  z.object({ type: z.literal('thread.started'), thread_id: z.string().min(1) }).loose(),
  z.object({ type: z.literal('turn.started') }).loose(),
  z.object({ type: z.enum(['item.started', 'item.updated', 'item.completed']), item: itemShape }).loose(),
  z.object({ type: z.literal('turn.completed'), usage: z.object({ input_tokens: count, cached_input_tokens: count, output_tokens: count, reasoning_output_tokens: count }).loose().optional() }).loose(),
  z.object({ type: z.literal('turn.failed'), error: z.object({ message: z.string() }).loose().optional() }).loose(),
  z.object({ type: z.literal('error'), message: z.string() }).loose(),
]);
export type CodexEvent = z.infer<typeof eventShape>;
type CodexItem = z.infer<typeof itemShape>;

/** One stdout line as a Codex event, or null (not JSON, or an event coven does not read). */
export function parseCodexLine(line: string): CodexEvent | null {
  if (!line.trim().startsWith('{')) return null;
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return null;
  }
  const parsed = eventShape.safeParse(value);
  return parsed.success ? parsed.data : null;
}

// ---------------------------------------------------------------- refusals

const statusReasons: Record<number, RefusalReason> = { 401: 'auth', 403: 'auth', 429: 'rate-limit', 503: 'overloaded', 529: 'overloaded' };

/**
 * The refusal Codex's words mean, if any: its own message for a quota, the HTTP status it
 * names (`unexpected status 401 Unauthorized`, `last status: 429 Too Many Requests`), or
 * the API's words. A 400 or a 500 (`We're currently experiencing high demand`) is not
 * one: another CLI would not do better.
 */
export function codexRefusal(words: string): RefusalReason | null {
  if (/Quota exceeded|insufficient_quota|hit your usage limit|usage limit has been reached|usage_not_included/i.test(words)) return 'quota';
  const status = /\bstatus:? (\d{3})\b/.exec(words)?.[1];
  if (status !== undefined) return statusReasons[Number(status)] ?? null;
  if (/Missing environment variable|invalid_api_key|Incorrect API key|not logged in|token_expired/i.test(words)) return 'auth';
  if (/rate limit|rate_limit_exceeded/i.test(words)) return 'rate-limit';
  if (/overloaded|server_is_overloaded|Service Unavailable/i.test(words)) return 'overloaded';
  return null;
}

/** `Reconnecting... 2/5 (…)`, `Reconnecting... waiting for network (…)` */
const retryMessage = /^Reconnecting\.\.\. (?:(\d+)\/(\d+)|waiting for network) \((.*)\)$/s;
/** stderr lines that explain a run that ended without a turn (a resume of an unknown id, a usage error) */
const fatalLine = /^(Error: .*|error: .*|No prompt provided.*)$/;

// ---------------------------------------------------------------- the parser

interface ParseState {
  /** the last agent message: the final text */
  text: string;
  /** command items already shown (item.started), by id */
  shown: Set<string>;
  refused: boolean;
  resultSeen: boolean;
  /** the last top-level error message (turn.failed repeats it) */
  lastError: string | null;
  /** a stderr line that explains an exit without a turn */
  fatal: string | null;
}

/** The command a model gave, without the `/bin/bash -lc '…'` Codex wraps it in. */
export function innerCommand(command: string): string {
  const m = /^\S*\/(?:ba|z)?sh -lc (.*)$/s.exec(command);
  return m ? unquoteShellWord(m[1]!) : command;
}

/** One shell word, quotes and escapes removed (as Codex quotes the command it shows). */
function unquoteShellWord(word: string): string {
  let out = '';
  let quote: "'" | '"' | null = null;
  for (let i = 0; i < word.length; i++) {
    const ch = word[i]!;
    if (quote === "'") {
      if (ch === "'") quote = null;
      else out += ch;
    } else if (quote === '"') {
      if (ch === '"') quote = null;
      else if (ch === '\\' && i + 1 < word.length && '$`"\\\n'.includes(word[i + 1]!)) out += word[++i]!;
      else out += ch;
    } else if (ch === "'" || ch === '"') quote = ch;
    else if (ch === '\\' && i + 1 < word.length) out += word[++i]!;
    else out += ch;
  }
  return out;
}

/** `Shell: npm test`, `Edit: src/a.ts`, `mcp: server/tool`, or the item's type. */
export function codexToolSummary(item: CodexItem): string {
  if (item.type === 'command_execution') {
    const cmd = innerCommand(item.command ?? '').trim();
    return cut(`Shell: ${firstLine(cmd)}${cmd.includes('\n') ? ' …' : ''}`);
  }
  if (item.type === 'file_change') return cut(`Edit: ${(item.changes ?? []).map((c) => c.path).join(', ') || '(no file)'}`);
  if (item.type === 'mcp_tool_call') return cut(`mcp: ${item.server ?? '?'}/${item.tool ?? '?'}`);
  if (item.type === 'web_search') return cut(`WebSearch: ${item.query ?? ''}`);
  return item.type;
}

const toolItems = new Set(['command_execution', 'file_change', 'mcp_tool_call', 'web_search']);

function itemEvents(type: 'item.started' | 'item.updated' | 'item.completed', item: CodexItem, st: ParseState): CliEvent[] {
  if (toolItems.has(item.type)) {
    const out: CliEvent[] = [];
    const key = item.id ?? '';
    if (!st.shown.has(key)) {
      st.shown.add(key);
      out.push({ kind: 'tool', summary: codexToolSummary(item) });
    }
    if (type === 'item.completed' && (item.status === 'failed' || item.status === 'declined' || (item.exit_code !== undefined && item.exit_code !== null && item.exit_code !== 0))) {
      const why = item.exit_code !== undefined && item.exit_code !== null ? `exit ${item.exit_code}` : (item.status ?? 'failed');
      const output = firstLine(item.aggregated_output ?? '');
      out.push({ kind: 'tool-failed', summary: cut(`${codexToolSummary(item)} → ${why}${output ? `: ${output}` : ''}`) });
    }
    return out;
  }
  if (type !== 'item.completed') return [];
  if (item.type === 'agent_message' && item.text !== undefined) {
    st.text = item.text;
    return [{ kind: 'text', text: item.text }];
  }
  if (item.type === 'error') return [{ kind: 'notice', text: cut(`warning: ${firstLine(item.message ?? '')}`) }];
  return [];
}

function errorEvents(message: string, st: ParseState): CliEvent[] {
  const retry = retryMessage.exec(message);
  const why = retry ? retry[3]! : message;
  const reason = codexRefusal(why);
  if (reason !== null) {
    const retrying = retry ? `; Codex would retry${retry[1] ? ` (${retry[1]}/${retry[2]})` : ''}` : '';
    return refuseOnce(st, { reason, message: cut(`${firstLine(why)}${retrying}`, 300) });
  }
  if (retry) return [{ kind: 'notice', text: cut(`… ${retry[1] ? `the API failed, Codex retries (${retry[1]}/${retry[2]})` : 'the API cannot be reached, Codex waits for the network'}: ${firstLine(why)}`) }];
  st.lastError = message;
  return [{ kind: 'notice', text: cut(`error: ${firstLine(message)}`) }];
}

/** Codex's running usage as coven's token counts (reasoning tokens are output tokens). */
function tokensOf(usage: Extract<CodexEvent, { type: 'turn.completed' }>['usage']): TokenCounts | undefined {
  if (!usage) return undefined;
  return { input: usage.input_tokens ?? 0, output: (usage.output_tokens ?? 0) + (usage.reasoning_output_tokens ?? 0), cachedInput: usage.cached_input_tokens ?? 0 };
}

function eventsOf(e: CodexEvent, st: ParseState): CliEvent[] {
  switch (e.type) {
    case 'thread.started':
      return [{ kind: 'session', sessionId: e.thread_id }];
    case 'turn.started':
      return [];
    case 'item.started':
    case 'item.updated':
    case 'item.completed':
      return itemEvents(e.type, e.item, st);
    case 'error':
      return errorEvents(e.message, st);
    case 'turn.completed': {
      st.resultSeen = true;
      const tokens = tokensOf(e.usage);
      return [{ kind: 'result', ok: true, subtype: 'success', text: st.text, errors: [], ...(tokens ? { tokens } : {}) }];
    }
    case 'turn.failed': {
      st.resultSeen = true;
      const message = e.error?.message ?? st.lastError ?? 'the turn failed';
      const reason = codexRefusal(message);
      const out = reason !== null ? refuseOnce(st, { reason, message: cut(firstLine(message), 300) }) : [];
      out.push({ kind: 'result', ok: false, subtype: 'turn.failed', text: st.text, errors: [message] });
      return out;
    }
  }
}

function parser(): StreamParser {
  const st: ParseState = { text: '', shown: new Set(), refused: false, resultSeen: false, lastError: null, fatal: null };
  return {
    line(line) {
      const e = parseCodexLine(line);
      return e === null ? [] : eventsOf(e, st);
    },
    stderr(line) {
      if (st.fatal === null && fatalLine.test(line)) st.fatal = cut(line, 300);
      return [];
    },
    end(exit) {
      // a run that ends before its turn (an unknown thread id, a usage error) said why on stderr
      if (st.resultSeen || exit.signal !== null || (st.fatal === null && exit.code === 0)) return [];
      const why = st.fatal ?? st.lastError ?? `Codex exited with code ${exit.code} before its turn ended`;
      return [{ kind: 'result', ok: false, subtype: 'error', text: st.text, errors: [why] }];
    },
  };
}

export const codexAdapter: CliAdapter = {
  name: 'codex',
  label: 'Codex',
  envVar: 'COVEN_CODEX',
  defaultCommand: 'codex',
  install: 'npm install -g @openai/codex',
  argsKey: 'codex_args',
  steering: false,
  costInDollars: false,
  limits: [
    'no steering: a message cannot reach a session that runs',
    'no cost in dollars: tokens × COVEN_PRICE_CODEX',
    'no permission modes: runs without sandbox or approvals (its sandboxes cannot commit in a linked worktree)',
    "a resume reports the thread's running token total, not its own",
    'a resume refuses -C, -s, --add-dir, -p: coven drops them there (-s becomes -c sandbox_mode=…)',
    'retries an unreachable API forever: only the wall-clock timeout ends it',
    'retries a 401, a 429 or a 503 five times: coven stops it at the first retry (a refusal)',
  ],
  command,
  parser,
  unknownSession: /no rollout found for thread id/i,
};
