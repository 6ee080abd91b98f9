// stream-json — reads the NDJSON that `claude -p --output-format stream-json --verbose`
// prints: splits byte chunks into lines, turns each line into a typed event (zod), and
// folds the events of one session into what coven needs (session id, last text, result).
//
// Pure: no processes, no files. Inputs: Buffer chunks or lines. Outputs: values.
// Tolerant by contract (reference/claude-cli.md §2): partial lines across chunks, lines
// that are not JSON, unknown event types/subtypes/fields are all expected; memory stays
// bounded however long the stream is (only the current partial line is buffered, and a
// line longer than `maxLineBytes` is dropped rather than held).

import { z } from 'zod';

// ---------------------------------------------------------------- line splitting

export interface LineSplitterStats {
  /** lines dropped because they were longer than maxLineBytes */
  oversized: number;
}

/** Splits a byte stream into lines ('\n'-terminated, '\r' stripped), holding only the partial last line. */
export class LineSplitter {
  private parts: Buffer[] = [];
  private partBytes = 0;
  private skipping = false;
  readonly stats: LineSplitterStats = { oversized: 0 };

  constructor(private readonly maxLineBytes = 16 * 1024 * 1024) {}

  /** Bytes currently held for an unfinished line. */
  get buffered(): number {
    return this.partBytes;
  }

  /** Feeds one chunk; returns the lines it completed. */
  push(chunk: Buffer): string[] {
    const lines: string[] = [];
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      if (nl < 0) break;
      this.take(chunk.subarray(start, nl));
      const line = this.completeLine();
      if (line !== null) lines.push(line);
      start = nl + 1;
    }
    if (start < chunk.length) this.take(chunk.subarray(start));
    return lines;
  }

  /** Ends the stream: returns the last line if it had no trailing newline. */
  end(): string[] {
    if (this.partBytes === 0 && !this.skipping) return [];
    const line = this.completeLine();
    return line === null || line === '' ? [] : [line];
  }

  private take(piece: Buffer): void {
    if (this.skipping || piece.length === 0) return;
    if (this.partBytes + piece.length > this.maxLineBytes) {
      this.skipping = true;
      this.parts = [];
      this.partBytes = 0;
      return;
    }
    this.parts.push(Buffer.from(piece)); // copy: the chunk's memory may be reused
    this.partBytes += piece.length;
  }

  private completeLine(): string | null {
    if (this.skipping) {
      this.skipping = false;
      this.stats.oversized++;
      return null;
    }
    const text = Buffer.concat(this.parts, this.partBytes).toString('utf8');
    this.parts = [];
    this.partBytes = 0;
    return text.endsWith('\r') ? text.slice(0, -1) : text;
  }
}

// ---------------------------------------------------------------- event schemas

const textBlock = z.looseObject({ type: z.literal('text'), text: z.string() });
const thinkingBlock = z.looseObject({ type: z.literal('thinking'), thinking: z.string() });
const toolUseBlock = z.looseObject({ type: z.literal('tool_use'), id: z.string(), name: z.string(), input: z.record(z.string(), z.unknown()) });
const toolResultBlock = z.looseObject({
  type: z.literal('tool_result'),
  tool_use_id: z.string(),
  content: z.unknown().optional(),
  is_error: z.boolean().nullish(),
});

const initSchema = z.looseObject({
  type: z.literal('system'),
  subtype: z.literal('init'),
  session_id: z.string(),
  cwd: z.string().optional(),
  model: z.string().optional(),
  permissionMode: z.string().optional(),
  tools: z.array(z.string()).optional(),
});

const assistantSchema = z.looseObject({
  type: z.literal('assistant'),
  message: z.looseObject({ id: z.string().optional(), model: z.string().optional(), content: z.array(z.unknown()) }),
  session_id: z.string().optional(),
  parent_tool_use_id: z.string().nullish(),
  error: z.string().optional(),
});

const userSchema = z.looseObject({
  type: z.literal('user'),
  message: z.looseObject({ content: z.union([z.string(), z.array(z.unknown())]) }),
  session_id: z.string().optional(),
  parent_tool_use_id: z.string().nullish(),
  isReplay: z.boolean().optional(),
});

const resultSchema = z.looseObject({
  type: z.literal('result'),
  subtype: z.string(),
  is_error: z.boolean(),
  session_id: z.string(),
  result: z.string().optional(),
  errors: z.array(z.string()).optional(),
  total_cost_usd: z.number().optional(),
  num_turns: z.number().optional(),
  duration_ms: z.number().optional(),
  api_error_status: z.number().nullish(),
  usage: z
    .looseObject({
      input_tokens: z.number().nullish(),
      output_tokens: z.number().nullish(),
      cache_read_input_tokens: z.number().nullish(),
      cache_creation_input_tokens: z.number().nullish(),
    })
    .nullish(),
  permission_denials: z.array(z.looseObject({ tool_name: z.string() })).optional(),
});

const apiRetrySchema = z.looseObject({
  type: z.literal('system'),
  subtype: z.literal('api_retry'),
  error_status: z.number().nullish(),
  error: z.unknown().optional(),
});

const anyEvent = z.looseObject({ type: z.string(), subtype: z.string().optional() });

// ---------------------------------------------------------------- typed events

export type AssistantBlock =
  | { type: 'text'; text: string }
  | { type: 'thinking'; thinking: string }
  | { type: 'tool_use'; id: string; name: string; input: Record<string, unknown> }
  | { type: 'other'; blockType: string };

export interface ToolResult {
  toolUseId: string;
  isError: boolean;
  /** the result's text (joined text blocks when the content is a list) */
  text: string;
}

export interface ResultEvent {
  subtype: string;
  isError: boolean;
  sessionId: string;
  /** present on subtype success (also when is_error is true: the API error text) */
  text?: string;
  errors: string[];
  costUsd: number;
  turns: number;
  durationMs: number;
  apiErrorStatus?: number;
  permissionDenials: string[];
  /** from `usage`: input counts the cached input too */
  tokens?: { input: number; output: number; cachedInput: number };
}

export type StreamEvent =
  | { kind: 'init'; sessionId: string; cwd?: string; model?: string; permissionMode?: string }
  | { kind: 'assistant'; messageId?: string; blocks: AssistantBlock[]; subagent: boolean; error?: string }
  | { kind: 'tool-results'; results: ToolResult[]; subagent: boolean }
  | { kind: 'user'; text: string; replay: boolean }
  | { kind: 'result'; result: ResultEvent }
  /** other system events; api_retry carries the HTTP status and the error's name when given */
  | { kind: 'system'; subtype: string; errorStatus?: number; error?: string }
  /** a JSON object with a `type` coven does not use (or a known type in a shape it does not understand) */
  | { kind: 'other'; type: string; subtype?: string };

export type ParsedLine = { ok: true; event: StreamEvent } | { ok: false; reason: 'empty' | 'not-json' | 'not-an-event'; line: string };

/** Parses one stdout line of the CLI. Never throws. */
export function parseStreamLine(line: string): ParsedLine {
  const trimmed = line.trim();
  if (trimmed === '') return { ok: false, reason: 'empty', line };
  if (!trimmed.startsWith('{')) return { ok: false, reason: 'not-json', line };
  let raw: unknown;
  try {
    raw = JSON.parse(trimmed);
  } catch {
    return { ok: false, reason: 'not-json', line };
  }
  const head = anyEvent.safeParse(raw);
  if (!head.success) return { ok: false, reason: 'not-an-event', line };
  const other: StreamEvent = { kind: 'other', type: head.data.type, ...(head.data.subtype !== undefined ? { subtype: head.data.subtype } : {}) };
  const event = typedEvent(head.data.type, head.data.subtype, raw);
  return { ok: true, event: event ?? other };
}

function typedEvent(type: string, subtype: string | undefined, raw: unknown): StreamEvent | null {
  switch (type) {
    case 'system': {
      if (subtype === 'api_retry') return apiRetry(raw);
      if (subtype !== 'init') return subtype === undefined ? null : { kind: 'system', subtype };
      const e = initSchema.safeParse(raw);
      if (!e.success) return null;
      return { kind: 'init', sessionId: e.data.session_id, cwd: e.data.cwd, model: e.data.model, permissionMode: e.data.permissionMode };
    }
    case 'assistant': {
      const e = assistantSchema.safeParse(raw);
      if (!e.success) return null;
      return {
        kind: 'assistant',
        messageId: e.data.message.id,
        blocks: e.data.message.content.map(assistantBlock),
        subagent: Boolean(e.data.parent_tool_use_id),
        ...(e.data.error !== undefined ? { error: e.data.error } : {}),
      };
    }
    case 'user': {
      const e = userSchema.safeParse(raw);
      if (!e.success) return null;
      const content = e.data.message.content;
      const subagent = Boolean(e.data.parent_tool_use_id);
      if (typeof content === 'string') return { kind: 'user', text: content, replay: e.data.isReplay === true };
      const results: ToolResult[] = [];
      for (const block of content) {
        const r = toolResultBlock.safeParse(block);
        if (r.success) results.push({ toolUseId: r.data.tool_use_id, isError: r.data.is_error === true, text: contentText(r.data.content) });
      }
      if (results.length > 0) return { kind: 'tool-results', results, subagent };
      return { kind: 'user', text: contentText(content), replay: e.data.isReplay === true };
    }
    case 'result': {
      const e = resultSchema.safeParse(raw);
      if (!e.success) return null;
      const d = e.data;
      return {
        kind: 'result',
        result: {
          subtype: d.subtype,
          isError: d.is_error,
          sessionId: d.session_id,
          ...(d.result !== undefined ? { text: d.result } : {}),
          errors: d.errors ?? [],
          costUsd: d.total_cost_usd ?? 0,
          turns: d.num_turns ?? 0,
          durationMs: d.duration_ms ?? 0,
          ...(typeof d.api_error_status === 'number' ? { apiErrorStatus: d.api_error_status } : {}),
          permissionDenials: (d.permission_denials ?? []).map((p) => p.tool_name),
          ...(d.usage ? { tokens: tokensOf(d.usage) } : {}),
        },
      };
    }
    default:
      return null;
  }
}

function apiRetry(raw: unknown): StreamEvent {
  const e = apiRetrySchema.safeParse(raw);
  if (!e.success) return { kind: 'system', subtype: 'api_retry' };
  const error = typeof e.data.error === 'string' ? e.data.error : e.data.error === undefined || e.data.error === null ? undefined : JSON.stringify(e.data.error);
  return { kind: 'system', subtype: 'api_retry', ...(typeof e.data.error_status === 'number' ? { errorStatus: e.data.error_status } : {}), ...(error !== undefined ? { error } : {}) };
}

function tokensOf(u: { input_tokens?: number | null; output_tokens?: number | null; cache_read_input_tokens?: number | null; cache_creation_input_tokens?: number | null }): { input: number; output: number; cachedInput: number } {
  const cached = u.cache_read_input_tokens ?? 0;
  return { input: (u.input_tokens ?? 0) + cached + (u.cache_creation_input_tokens ?? 0), output: u.output_tokens ?? 0, cachedInput: cached };
}

function assistantBlock(block: unknown): AssistantBlock {
  const text = textBlock.safeParse(block);
  if (text.success) return { type: 'text', text: text.data.text };
  const thinking = thinkingBlock.safeParse(block);
  if (thinking.success) return { type: 'thinking', thinking: thinking.data.thinking };
  const tool = toolUseBlock.safeParse(block);
  if (tool.success) return { type: 'tool_use', id: tool.data.id, name: tool.data.name, input: tool.data.input };
  const t = anyEvent.safeParse(block);
  return { type: 'other', blockType: t.success ? t.data.type : 'unknown' };
}

/** Text of a tool_result / user content: a string, or the text blocks of a list. */
function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((b) => textBlock.safeParse(b))
    .filter((r) => r.success)
    .map((r) => r.data.text)
    .join('\n');
}

// ---------------------------------------------------------------- session fold

/** What coven keeps of a whole session: constant size, whatever the stream length. */
export interface SessionSummary {
  /** from the newest `init`; else from a result (a failed resume prints no init) */
  sessionId?: string;
  /** the last text block the agent wrote at the top level (not inside a subagent) */
  lastText?: string;
  inits: number;
  /** every result seen; the last one judges the session */
  results: number;
  lastResult?: ResultEvent;
  /** stdin messages the CLI echoed back as taken (only under --replay-user-messages) */
  replays: number;
  /** sum of num_turns and duration_ms over the results (one per turn) */
  turns: number;
  durationMs: number;
  /** lines that were not JSON events */
  junkLines: number;
}

export function emptySummary(): SessionSummary {
  return { inits: 0, results: 0, replays: 0, turns: 0, durationMs: 0, junkLines: 0 };
}

/** Folds one parsed line into the summary (mutates and returns it). */
export function foldLine(summary: SessionSummary, parsed: ParsedLine): SessionSummary {
  if (!parsed.ok) {
    if (parsed.reason !== 'empty') summary.junkLines++;
    return summary;
  }
  const e = parsed.event;
  if (e.kind === 'init') {
    summary.sessionId = e.sessionId;
    summary.inits++;
  } else if (e.kind === 'assistant' && !e.subagent) {
    for (const b of e.blocks) if (b.type === 'text') summary.lastText = b.text;
  } else if (e.kind === 'user' && e.replay) {
    summary.replays++;
  } else if (e.kind === 'result') {
    summary.results++;
    summary.lastResult = e.result;
    summary.sessionId ??= e.result.sessionId;
    summary.turns += e.result.turns;
    summary.durationMs += e.result.durationMs;
  }
  return summary;
}

/** Reads a whole captured stream (tests, logs). */
export function summarizeStream(text: string): SessionSummary {
  const summary = emptySummary();
  for (const line of text.split('\n')) foldLine(summary, parseStreamLine(line));
  return summary;
}

/** A session succeeded only when its result says subtype success and is_error false. */
export function isSuccess(result: ResultEvent): boolean {
  return result.subtype === 'success' && !result.isError;
}
