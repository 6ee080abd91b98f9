// mock-messages-api — a scripted stand-in for the Anthropic Messages API on 127.0.0.1,
// so the real Claude Code CLI can run offline: point it here with
// ANTHROPIC_BASE_URL=<api.url> and any ANTHROPIC_API_KEY.
//
// What the CLI (2.1.197, `-p`) calls, as observed: `HEAD /` once (a connectivity
// probe) and `POST /v1/messages?beta=true` with `stream: true`, one request per model
// round-trip. The server also answers non-streaming messages, `count_tokens` and
// any other path (404, logged) in case another version calls them.
//
// Replies are scripted by a function of the request: `reply(turn)` sees the prompt (the
// latest user text), the tool results that came back since, the system prompt, the
// session id, and how many model calls this prompt has had, and returns text and
// tool_use blocks (or an API error). `conversation()` builds such a function from
// plays: "when the prompt matches X, answer step 0, then step 1 after the tool
// results, …", which is enough to script a whole coven cycle. Every request is kept in
// `api.requests` so a test can look at what the CLI sent.
//
//   start:  const api = await startMockMessagesApi(reply); … await api.close()
//   env:    none (the caller sets the CLI's env; see run-claude.ts); a session whose
//           working directory is inside coven's own checkout gets a 400 (as the fake
//           CLI refuses it) unless FAKE_CLAUDE_ALLOW_PROJECT_CWD=1

import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import { parseBody, projectCwdRefusal, readBody, sendJson as sendJsonBody, serveOnLoopback } from './mock-http.js';
import { playScript, type PlayOf } from './mock-http.js';

// ---- what the CLI sends (only the parts we read; everything else is kept as unknown)

export interface TextBlock {
  type: 'text';
  text: string;
}
export interface ToolUseBlock {
  type: 'tool_use';
  id: string;
  name: string;
  input: Record<string, unknown>;
}
export interface ToolResultBlock {
  type: 'tool_result';
  tool_use_id: string;
  content?: string | { type: string; text?: string }[];
  is_error?: boolean;
}
export type ContentBlock = TextBlock | ToolUseBlock | ToolResultBlock | { type: string; [k: string]: unknown };

export interface ApiMessage {
  role: 'user' | 'assistant' | 'system';
  content: string | ContentBlock[];
}

export interface MessagesRequest {
  model: string;
  messages: ApiMessage[];
  system?: string | { type: string; text: string }[];
  tools?: { name: string }[];
  stream?: boolean;
  max_tokens?: number;
  [k: string]: unknown;
}

/** One request as the server saw it. */
export interface LoggedRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
  /** for POST /v1/messages: the turn handed to the script */
  turn?: Turn;
}

/** A /v1/messages request, as the script sees it. */
export interface Turn {
  request: MessagesRequest;
  /** the `x-claude-code-session-id` header (the CLI's session id), or null */
  sessionId: string | null;
  /** the whole system prompt, blocks joined */
  system: string;
  /** the text of the latest user message that carries text (the prompt of this turn) */
  prompt: string;
  /** the tool results after the latest assistant message (empty on the first call of a prompt) */
  toolResults: { toolUseId: string; content: string; isError: boolean }[];
  /** model calls already answered for this prompt: 0 first, 1 after the first tool results, … */
  step: number;
  /** names of the tools offered */
  tools: string[];
  /** the CLI's working directory, as it tells the model ("Primary working directory: …"), or null */
  cwd: string | null;
  /** true when the request looks like the main agent loop (it offers the Bash tool) */
  isAgentLoop: boolean;
}

// ---- what a script answers

export type ReplyBlock =
  | { type: 'text'; text: string }
  | { type: 'tool_use'; name: string; input: Record<string, unknown>; id?: string }
  | { type: 'thinking'; thinking: string };

export type Reply =
  | { content: ReplyBlock[]; stopReason?: 'end_turn' | 'tool_use' | 'max_tokens' | 'stop_sequence'; model?: string; /** wait this long before answering (a slow model) */ delayMs?: number }
  | { error: { status: number; type?: string; message: string } };

export type Script = (turn: Turn) => Reply | Promise<Reply>;

export const text = (t: string): ReplyBlock => ({ type: 'text', text: t });
/** A Bash tool call, as the model writes it. */
export const bash = (command: string, description = 'run a command'): ReplyBlock => ({ type: 'tool_use', name: 'Bash', input: { command, description } });
export const writeFile = (filePath: string, content: string): ReplyBlock => ({ type: 'tool_use', name: 'Write', input: { file_path: filePath, content } });
/** A reply made of these blocks; it stops for tool use when one of them is a tool call. */
export const say = (...content: ReplyBlock[]): Reply => ({ content });
export const apiError = (status: number, message: string, type = 'invalid_request_error'): Reply => ({ error: { status, type, message } });

/** One scripted session: the replies, in order, to a prompt that `when` accepts. */
export type Play = PlayOf<Turn, Reply>;

/**
 * A script from plays: the first play whose `when` matches the prompt answers with
 * its reply number `turn.step`. Side requests (no Bash tool offered, e.g. a title or
 * a summary) get `sideReply`. A prompt no play matches, or a step past the last
 * reply, is a mistake in the test: it gets a 400 whose message says so, which the
 * CLI turns into an "API Error" result.
 */
export function conversation(plays: Play[], sideReply: Reply = say(text('ok'))): Script {
  return playScript(plays, () => sideReply, (m) => apiError(400, m));
}


// ---- reading a request

function blocks(content: string | ContentBlock[]): ContentBlock[] {
  return typeof content === 'string' ? [{ type: 'text', text: content }] : content;
}

function blockText(content: ToolResultBlock['content']): string {
  if (content === undefined) return '';
  if (typeof content === 'string') return content;
  return content.map((b) => b.text ?? '').join('');
}

/** Builds the script's view of a /v1/messages request. */
export function readTurn(request: MessagesRequest, sessionId: string | null): Turn {
  const messages = request.messages;
  // the prompt: the last text block of the latest user message that has text outside
  // <system-reminder> wrappers (the CLI prepends reminders as separate text blocks)
  let prompt = '';
  let promptIndex = -1;
  for (let i = messages.length - 1; i >= 0 && promptIndex < 0; i--) {
    const m = messages[i]!;
    if (m.role !== 'user') continue;
    const texts = blocks(m.content)
      .filter((b): b is TextBlock => b.type === 'text')
      .map((b) => b.text)
      .filter((t) => !t.trimStart().startsWith('<system-reminder>'));
    if (texts.length > 0) {
      prompt = texts.join('\n');
      promptIndex = i;
    }
  }
  // consecutive assistant messages count once (a reply may come back split per block)
  let step = 0;
  let previous = '';
  for (const m of messages.slice(promptIndex + 1)) {
    if (m.role === 'system') continue;
    if (m.role === 'assistant' && previous !== 'assistant') step++;
    previous = m.role;
  }
  const toolResults: Turn['toolResults'] = [];
  const lastAssistant = messages.map((m) => m.role).lastIndexOf('assistant');
  for (const m of messages.slice(lastAssistant + 1)) {
    if (m.role !== 'user') continue;
    for (const b of blocks(m.content)) {
      if (b.type !== 'tool_result') continue;
      const r = b as ToolResultBlock;
      toolResults.push({ toolUseId: r.tool_use_id, content: blockText(r.content), isError: r.is_error === true });
    }
  }
  const system = typeof request.system === 'string' ? request.system : (request.system ?? []).map((b) => b.text).join('\n');
  const tools = (request.tools ?? []).map((t) => t.name);
  // 2.1.197 sends the environment section as a role:"system" message, older ones in `system`
  const systemMessages = messages.filter((m) => m.role === 'system').flatMap((m) => blocks(m.content).map((b) => (b.type === 'text' ? String(b.text) : '')));
  const cwd = /Primary working directory: (.+)/.exec([system, ...systemMessages].join('\n'))?.[1]?.trim() ?? null;
  return { request, sessionId, system, prompt, toolResults, step, tools, cwd, isAgentLoop: tools.includes('Bash') };
}

// ---- answering

const hex = (bytes: number): string => randomBytes(bytes).toString('hex');

interface BuiltMessage {
  id: string;
  type: 'message';
  role: 'assistant';
  model: string;
  content: (TextBlock | ToolUseBlock | { type: 'thinking'; thinking: string; signature: string })[];
  stop_reason: string;
  stop_sequence: null;
  usage: { input_tokens: number; output_tokens: number; cache_creation_input_tokens: number; cache_read_input_tokens: number };
}

function buildMessage(reply: Extract<Reply, { content: ReplyBlock[] }>, model: string): BuiltMessage {
  const content = reply.content.map((b) => {
    if (b.type === 'tool_use') return { type: 'tool_use' as const, id: b.id ?? `toolu_mock${hex(6)}`, name: b.name, input: b.input };
    if (b.type === 'thinking') return { type: 'thinking' as const, thinking: b.thinking, signature: `sig_mock${hex(8)}` };
    return b;
  });
  const stop = reply.stopReason ?? (content.some((b) => b.type === 'tool_use') ? 'tool_use' : 'end_turn');
  return {
    id: `msg_mock${hex(8)}`,
    type: 'message',
    role: 'assistant',
    model: reply.model ?? model,
    content,
    stop_reason: stop,
    stop_sequence: null,
    usage: { input_tokens: 12, output_tokens: 20, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
  };
}

/** The SSE events of a streamed message, in the order the API sends them. */
export function streamEvents(message: BuiltMessage): { type: string; [k: string]: unknown }[] {
  const events: { type: string; [k: string]: unknown }[] = [
    { type: 'message_start', message: { ...message, content: [], stop_reason: null, usage: { ...message.usage, output_tokens: 1 } } },
  ];
  message.content.forEach((block, index) => {
    if (block.type === 'text') {
      events.push({ type: 'content_block_start', index, content_block: { type: 'text', text: '' } });
      events.push({ type: 'content_block_delta', index, delta: { type: 'text_delta', text: block.text } });
    } else if (block.type === 'tool_use') {
      events.push({ type: 'content_block_start', index, content_block: { type: 'tool_use', id: block.id, name: block.name, input: {} } });
      events.push({ type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: JSON.stringify(block.input) } });
    } else {
      events.push({ type: 'content_block_start', index, content_block: { type: 'thinking', thinking: '', signature: '' } });
      events.push({ type: 'content_block_delta', index, delta: { type: 'thinking_delta', thinking: block.thinking } });
      events.push({ type: 'content_block_delta', index, delta: { type: 'signature_delta', signature: block.signature } });
    }
    events.push({ type: 'content_block_stop', index });
  });
  events.push({ type: 'message_delta', delta: { stop_reason: message.stop_reason, stop_sequence: null }, usage: { output_tokens: message.usage.output_tokens } });
  events.push({ type: 'message_stop' });
  return events;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  sendJsonBody(res, status, body, { 'request-id': `req_mock${hex(8)}` });
}

export interface MockApi {
  /** http://127.0.0.1:<port> */
  url: string;
  port: number;
  /** every request, in arrival order */
  requests: LoggedRequest[];
  /** the /v1/messages requests of the agent loop (those that offer Bash) */
  agentTurns(): Turn[];
  close(): Promise<void>;
}

/** Starts the mock on a random port of 127.0.0.1. */
export async function startMockMessagesApi(script: Script): Promise<MockApi> {
  const requests: LoggedRequest[] = [];

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    const path = req.url ?? '/';
    const body = parseBody(raw);
    const logged: LoggedRequest = { method: req.method ?? 'GET', path, headers: req.headers, body };
    requests.push(logged);
    const pathname = path.split('?')[0];

    if (req.method === 'HEAD' || (req.method === 'GET' && pathname === '/')) {
      res.writeHead(200).end();
      return;
    }
    if (req.method === 'POST' && pathname === '/v1/messages/count_tokens') {
      sendJson(res, 200, { input_tokens: Math.ceil(raw.length / 4) });
      return;
    }
    if (req.method !== 'POST' || pathname !== '/v1/messages') {
      sendJson(res, 404, { type: 'error', error: { type: 'not_found_error', message: `mock: no such endpoint ${req.method} ${pathname}` } });
      return;
    }

    const request = body as MessagesRequest;
    const session = req.headers['x-claude-code-session-id'];
    const turn = readTurn(request, typeof session === 'string' ? session : null);
    logged.turn = turn;
    const refusal = projectCwdRefusal(turn.cwd);
    if (refusal) {
      sendJson(res, 400, { type: 'error', error: { type: 'invalid_request_error', message: refusal } });
      return;
    }
    const reply = await script(turn);
    if ('error' in reply) {
      sendJson(res, reply.error.status, { type: 'error', error: { type: reply.error.type ?? 'api_error', message: reply.error.message } });
      return;
    }
    if (reply.delayMs) await new Promise((wait) => setTimeout(wait, reply.delayMs));
    const message = buildMessage(reply, request.model);
    if (!request.stream) {
      sendJson(res, 200, message);
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'request-id': `req_mock${hex(8)}` });
    for (const event of streamEvents(message)) res.write(`event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
    res.end();
  }

  const server = await serveOnLoopback(handle, (message) => ({ type: 'error', error: { type: 'api_error', message } }));
  const port = server.port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    agentTurns: () => requests.flatMap((r) => (r.turn?.isAgentLoop ? [r.turn] : [])),
    close: () => server.close(),
  };
}
