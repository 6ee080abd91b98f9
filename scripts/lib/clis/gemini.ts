// gemini — the adapter for Gemini CLI (`@google/gemini-cli`, observed at 0.61.0 against a
// mock of the Gemini API: shared/reference/agent-clis.md and test/real-cli/mock-gemini-api.ts).
//
// Start:  gemini -p <prompt> --output-format stream-json --yolo --skip-trust <args>, stdin closed.
// Resume: gemini --resume <session_id> -p <prompt> … from the worktree of the session (the
//         CLI keeps sessions per folder: from another folder it exits 42, "No previous
//         sessions found for this project."). --skip-trust: every fresh worktree is an
//         untrusted folder, where the CLI exits 55 with nothing on stdout.
// Gemini CLI has no system prompt option: coven's text goes at the head of the first prompt
// (a resume finds it in the session's history). A prompt over MAX_ARG_BYTES goes on stdin
// with `-p ""` (the CLI reads piped stdin and puts it before the -p text).
//
// Events (stream-json, one JSON object a line): init {session_id, model}, message {role,
// content, delta} (assistant text in chunks), tool_use {tool_name, tool_id, parameters},
// tool_result {tool_id, status, output | error}, error {severity, message}, result
// {status, error?, stats}. Success is `result.status == "success"`, never the exit code
// (the CLI exits with the API's HTTP status modulo 256: 144 after a 400, 145 after a 401).
//
// Refusals. The CLI retries a 429 and a 503 for minutes (10 attempts, 5 s to 30 s apart),
// printing on stderr `Attempt 1 failed with status 429. Retrying with backoff... _ApiError:
// {…}` (a per-minute limit with a suggested delay: `Attempt 1 failed: <message>`); it gives
// up at once on a daily quota, a 401 or a 403, with an error result (`[API Error: …]`). The
// first of these is a `refused` event, so the runner stops the CLI instead of waiting. Pure.

import { z } from 'zod';
import type { CliAdapter, CliCommand, CliEvent, CliRun, RefusalReason, StreamParser } from './adapter.js';
import { refuseOnce } from './adapter.js';
import { bytesOf, MAX_ARG_BYTES } from './limits.js';
import { cut, firstLine } from './words.js';

/**
 * What the agent asks for, as one prompt: coven's text at its head. Not on a resume: the
 * session's history already holds it (Gemini CLI keeps the whole conversation).
 */
export function geminiPrompt(run: Pick<CliRun, 'prompt' | 'systemText' | 'resume'>): string {
  return run.systemText === undefined || run.resume !== undefined ? run.prompt : `${run.systemText}\n\n---\n\n${run.prompt}`;
}

function command(run: CliRun): CliCommand {
  const prompt = geminiPrompt(run);
  const onStdin = bytesOf(prompt) > MAX_ARG_BYTES;
  const args = [...(run.resume !== undefined ? ['--resume', run.resume] : []), `--prompt=${onStdin ? '' : prompt}`, '--output-format', 'stream-json', '--yolo', '--skip-trust', ...run.args];
  return { args, stdin: onStdin ? prompt : null, keepStdinOpen: false, env: {} };
}

// ---------------------------------------------------------------- events

const errorShape = z.object({ type: z.string().optional(), message: z.string().optional() }).loose();
const count = z.number().nonnegative().optional();

const eventShape = z.discriminatedUnion('type', [
  z.object({ type: z.literal('init'), session_id: z.string().min(1), model: z.string().optional() }).loose(),
  z.object({ type: z.literal('message'), role: z.string(), content: z.string(), delta: z.boolean().optional() }).loose(),
  z.object({ type: z.literal('tool_use'), tool_name: z.string(), tool_id: z.string().optional(), parameters: z.record(z.string(), z.unknown()).optional() }).loose(),
  z.object({ type: z.literal('tool_result'), tool_id: z.string().optional(), status: z.string(), output: z.string().optional(), error: errorShape.optional() }).loose(),
  z.object({ type: z.literal('error'), severity: z.string().optional(), message: z.string() }).loose(),
  z
    .object({
      type: z.literal('result'),
      status: z.string(),
      error: errorShape.optional(),
      stats: z.object({ input_tokens: count, output_tokens: count, cached: count, duration_ms: count, tool_calls: count }).loose().optional(),
    })
    .loose(),
]);
export type GeminiEvent = z.infer<typeof eventShape>;

/** One stdout line as a Gemini CLI event, or null (not JSON, or an event coven does not read). */
export function parseGeminiLine(line: string): GeminiEvent | null {
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

/**
 * The refusal an HTTP status and the CLI's words mean, if any. A 400 or a 500 is not
 * one: another CLI would not do better. A 429 is a quota when its words say so (and no
 * per-minute limit or suggested delay), else a rate limit.
 */
export function geminiRefusal(status: number | undefined, words: string): RefusalReason | null {
  if (/exhausted your daily quota|TerminalQuotaError|QUOTA_EXHAUSTED|INSUFFICIENT_G1_CREDITS/i.test(words)) return 'quota';
  if (status === 429 || /RESOURCE_EXHAUSTED|"code":\s*429|\b429\b/.test(words)) return /quota|billing/i.test(words) && !/PerMinute|Suggested retry/i.test(words) ? 'quota' : 'rate-limit';
  if (status === 401 || status === 403 || /UNAUTHENTICATED|PERMISSION_DENIED|API key not valid|"code":\s*40[13]\b/i.test(words)) return 'auth';
  if (status === 503 || status === 529 || /UNAVAILABLE|overloaded|MODEL_CAPACITY_EXHAUSTED|"code":\s*503\b/i.test(words)) return 'overloaded';
  return null;
}

/** stderr: an API call failed and the CLI retries it (`Attempt 1 failed with status 429. Retrying…`, `Attempt 1 failed: <message>`) */
const retryLine = /^Attempt (\d+) failed(?: with status (\d{3})| with (429|5xx) error)?(?:: (.*))?/;
/** stderr: an API call failed for good (the error result follows on stdout) */
const apiErrorLine = /^Error when talking to Gemini API\b/;
/** stderr lines that explain a run that ended without a result */
const fatalLine = /^(Error resuming session: .*|Gemini CLI is not running in a trusted directory.*|Error: .*)$/;

export interface StderrFinding {
  refusal: RefusalReason | null;
  message: string;
}

/** One stderr line: a retried or failed API call (and whether it is a refusal), or null. */
export function readStderrLine(line: string): StderrFinding | null {
  const retry = retryLine.exec(line);
  if (retry) {
    const status = retry[2] ? Number(retry[2]) : retry[3] === '429' ? 429 : undefined;
    // `Attempt n failed: <message>` comes only for a 429 (or a 503) with a suggested delay
    const withDelay = status === undefined && retry[3] === undefined && /exhausted|quota|rate/i.test(line) ? 'rate-limit' : null;
    const refusal = geminiRefusal(status, line) ?? withDelay;
    const why = jsonMessage(line) ?? retry[4]?.replace(/\.{1,2} (Retrying|Max attempts).*$/, '') ?? '';
    return { refusal, message: cut(`the Gemini API answered ${status ?? 'an error'}${why ? ` (${why})` : ''}; Gemini CLI retries (attempt ${retry[1]})`) };
  }
  if (apiErrorLine.test(line)) {
    const refusal = geminiRefusal(undefined, line);
    return refusal ? { refusal, message: cut(`the Gemini API failed: ${jsonMessage(line) ?? line.replace(/^.*?(\w*Error): /, '')}`) } : null;
  }
  return null;
}

/** The `message` of the API's JSON error body inside a line, if there is one. */
function jsonMessage(line: string): string | null {
  const m = /"message":"((?:[^"\\]|\\.)*)"/.exec(line);
  if (!m) return null;
  try {
    return JSON.parse(`"${m[1]}"`) as string;
  } catch {
    return m[1] ?? null;
  }
}

// ---------------------------------------------------------------- the parser

interface ParseState {
  sessionSeen: boolean;
  /** assistant text since the last tool call: the final text */
  text: string;
  toolNames: Map<string, string>;
  refused: boolean;
  resultSeen: boolean;
  /** a stderr line that explains an exit without a result */
  fatal: string | null;
}

const toolLabels: Record<string, [string, string]> = {
  run_shell_command: ['Shell', 'command'],
  write_file: ['WriteFile', 'file_path'],
  replace: ['Edit', 'file_path'],
  read_file: ['ReadFile', 'file_path'],
  read_many_files: ['ReadManyFiles', 'include'],
  list_directory: ['ReadFolder', 'dir_path'],
  glob: ['FindFiles', 'pattern'],
  grep_search: ['SearchText', 'pattern'],
  web_fetch: ['WebFetch', 'prompt'],
  google_web_search: ['GoogleSearch', 'query'],
};

/** `Shell: npm test`, `WriteFile: src/a.ts`, or the tool's name. */
export function geminiToolSummary(name: string, parameters: Record<string, unknown> = {}): string {
  const [label, key] = toolLabels[name] ?? [name, ''];
  const value = parameters[key] ?? Object.values(parameters).find((v) => typeof v === 'string');
  return typeof value === 'string' && value.trim() ? cut(`${label}: ${value.trim().split('\n')[0]}${value.trim().includes('\n') ? ' …' : ''}`) : label;
}

function eventsOf(e: GeminiEvent, st: ParseState): CliEvent[] {
  switch (e.type) {
    case 'init':
      st.sessionSeen = true;
      return [{ kind: 'session', sessionId: e.session_id, ...(e.model !== undefined ? { model: e.model } : {}) }];
    case 'message':
      if (e.role !== 'assistant' || e.content === '') return [];
      st.text += e.content;
      return [{ kind: 'text', text: e.content, ...(e.delta === true ? { delta: true } : {}) }];
    case 'tool_use':
      st.text = '';
      if (e.tool_id !== undefined) st.toolNames.set(e.tool_id, e.tool_name);
      return [{ kind: 'tool', summary: geminiToolSummary(e.tool_name, e.parameters) }];
    case 'tool_result': {
      if (e.status === 'success') return [];
      const name = (e.tool_id !== undefined ? st.toolNames.get(e.tool_id) : undefined) ?? 'tool';
      return [{ kind: 'tool-failed', summary: cut(`${name}: ${firstLine(e.error?.message ?? e.output ?? e.status)}`) }];
    }
    case 'error': {
      // the CLI gives an API error's event severity "error" only for RESOURCE_EXHAUSTED
      const reason = e.severity === 'warning' ? null : (geminiRefusal(undefined, e.message) ?? (/quota/i.test(e.message) ? 'quota' : /rate.?limit|exhausted/i.test(e.message) ? 'rate-limit' : null));
      if (reason !== null) return refuseOnce(st, { reason, message: cut(firstLine(e.message)) });
      return [{ kind: 'notice', text: cut(`${e.severity === 'warning' ? 'warning' : 'error'}: ${firstLine(e.message)}`) }];
    }
    case 'result':
      return resultEvents(e, st);
  }
}

function resultEvents(e: Extract<GeminiEvent, { type: 'result' }>, st: ParseState): CliEvent[] {
  st.resultSeen = true;
  const ok = e.status === 'success';
  const out: CliEvent[] = [];
  const message = e.error?.message;
  if (!ok && message !== undefined) {
    const reason = geminiRefusal(undefined, message);
    if (reason !== null) out.push(...refuseOnce(st, { reason, message: cut(firstLine(message)) }));
  }
  const s = e.stats;
  const tokens = s && (s.input_tokens !== undefined || s.output_tokens !== undefined) ? { input: s.input_tokens ?? 0, output: s.output_tokens ?? 0, cachedInput: s.cached ?? 0 } : undefined;
  const subtype = ok ? 'success' : e.error?.type && e.error.type !== 'unknown' ? e.error.type : 'error';
  out.push({
    kind: 'result',
    ok,
    subtype,
    text: st.text,
    errors: ok ? [] : [message ?? `Gemini CLI ended with status ${e.status}`],
    ...(tokens ? { tokens } : {}),
    ...(s?.duration_ms !== undefined ? { durationMs: s.duration_ms } : {}),
  });
  return out;
}

function parser(): StreamParser {
  const st: ParseState = { sessionSeen: false, text: '', toolNames: new Map(), refused: false, resultSeen: false, fatal: null };
  return {
    line(line) {
      const e = parseGeminiLine(line);
      return e === null ? [] : eventsOf(e, st);
    },
    stderr(line) {
      const found = readStderrLine(line);
      if (found?.refusal) return refuseOnce(st, { reason: found.refusal, message: found.message });
      if (found) return [{ kind: 'notice', text: `… ${found.message}` }];
      if (fatalLine.test(line)) st.fatal = cut(line);
      return [];
    },
    end(exit) {
      // a run that ends before its result (a resume from another folder, an untrusted
      // folder) only said why on stderr: that is its failure
      if (st.resultSeen || exit.signal !== null || st.fatal === null) return [];
      return [{ kind: 'result', ok: false, subtype: 'error', text: st.text, errors: [st.fatal] }];
    },
  };
}

export const geminiAdapter: CliAdapter = {
  name: 'gemini',
  label: 'Gemini CLI',
  envVar: 'COVEN_GEMINI',
  defaultCommand: 'gemini',
  install: 'npm install -g @google/gemini-cli',
  argsKey: 'gemini_args',
  steering: false,
  costInDollars: false,
  limits: [
    'no steering: a message cannot reach a session that runs',
    'no cost in dollars: tokens × COVEN_PRICE_GEMINI',
    'no permission modes: every tool call is approved (--yolo)',
    'a resume works only from the folder the session started in',
    'retries a 429 or a 503 for minutes: coven stops it at the first retry (a refusal)',
  ],
  command,
  parser,
  unknownSession: /No previous sessions found/i,
};
