// mock-chat-api — a scripted stand-in for an OpenAI-compatible chat completions API on
// 127.0.0.1, so the real opencode CLI can run offline: point a provider using
// `@ai-sdk/openai-compatible` at <api.url>/v1 (see opencodeConfig in run-opencode.ts).
//
// What opencode (1.18.33, `run --format json`) calls, as observed: `POST
// /v1/chat/completions` with `stream: true` and `stream_options.include_usage`, one request
// per model round trip, and first a title request that offers no tools. Any other path
// gets a 404 (logged) in case another version calls it.
//
// Replies are scripted by a function of the request: `reply(turn)` sees the prompt (the
// latest user text), the tool results that came back since, the system text, and how many
// model calls this prompt has had, and returns text and tool calls, or an HTTP error.
// `conversation()` builds such a function from plays, as mock-messages-api does. Every
// request is kept in `api.requests`.
//
//   start:  const api = await startMockChatApi(reply); … await api.close()
//   env:    none; a session whose working directory (as opencode tells the model) is
//           inside coven's own checkout gets a 400, unless FAKE_CLAUDE_ALLOW_PROJECT_CWD=1

import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import { parseBody, projectCwdRefusal, readBody, sendJson, serveOnLoopback } from './mock-http.js';
import { playScript, type PlayOf } from './mock-http.js';

// ---- what the CLI sends (only the parts we read)

export interface ChatToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | 'tool';
  content: string | { type: string; text?: string }[] | null;
  tool_calls?: ChatToolCall[];
  tool_call_id?: string;
}

export interface ChatRequest {
  model: string;
  messages: ChatMessage[];
  tools?: { type: string; function: { name: string } }[];
  stream?: boolean;
  [k: string]: unknown;
}

/** A chat completions request, as the script sees it. */
export interface ChatTurn {
  request: ChatRequest;
  /** the system messages, joined */
  system: string;
  /** the text of the latest user message (the prompt of this turn) */
  prompt: string;
  /** the tool results after the latest assistant message (empty on the first call of a prompt) */
  toolResults: { toolCallId: string; content: string }[];
  /** model calls already answered for this prompt: 0 first, 1 after the first tool results, … */
  step: number;
  /** names of the tools offered */
  tools: string[];
  /** the working directory opencode tells the model, or null */
  cwd: string | null;
  /** the agent loop (it offers the bash tool), not a title request */
  isAgentLoop: boolean;
}

export interface LoggedRequest {
  method: string;
  path: string;
  body: unknown;
  turn?: ChatTurn;
  /** ms since the mock started */
  at: number;
}

// ---- what a script answers

export type ReplyPart = { type: 'text'; text: string } | { type: 'tool'; name: string; input: Record<string, unknown> };

export type ChatReply =
  | { parts: ReplyPart[]; delayMs?: number }
  | { error: { status: number; message: string; type?: string; code?: string; headers?: Record<string, string> } };

export type ChatScript = (turn: ChatTurn) => ChatReply | Promise<ChatReply>;

export const text = (t: string): ReplyPart => ({ type: 'text', text: t });
/** opencode's bash tool call, as the model writes it */
export const bash = (command: string, description = 'run a command'): ReplyPart => ({ type: 'tool', name: 'bash', input: { command, description } });
export const say = (...parts: ReplyPart[]): ChatReply => ({ parts });
export const chatError = (status: number, message: string, type = 'invalid_request_error', code = 'mock_fail'): ChatReply => ({ error: { status, message, type, code } });

/** The vendor's refusals, as the OpenAI API words them. */
export const refusals = {
  quota: (): ChatReply => ({ error: { status: 429, message: 'You exceeded your current quota, please check your plan and billing details.', type: 'insufficient_quota', code: 'insufficient_quota' } }),
  'rate-limit': (): ChatReply => ({ error: { status: 429, message: 'Rate limit reached for requests. Please try again in 20s.', type: 'requests', code: 'rate_limit_exceeded', headers: { 'retry-after': '20' } } }),
  auth: (): ChatReply => ({ error: { status: 401, message: 'Incorrect API key provided.', type: 'invalid_request_error', code: 'invalid_api_key' } }),
  overloaded: (): ChatReply => ({ error: { status: 503, message: 'The server is overloaded. Please try again later.', type: 'server_error', code: 'overloaded' } }),
};

export type Play = PlayOf<ChatTurn, ChatReply>;

/**
 * A script from plays: the first play whose `when` matches the prompt answers with its
 * reply number `turn.step`. A title request gets `sideReply`. A prompt no play matches, or a
 * step past the last reply, gets a 400 saying so.
 */
export function conversation(plays: Play[], sideReply: ChatReply = say(text('A session'))): ChatScript {
  return playScript(plays, () => sideReply, (m) => chatError(400, m));
}

// ---- reading a request

function contentText(content: ChatMessage['content']): string {
  if (content === null || content === undefined) return '';
  if (typeof content === 'string') return content;
  return content.map((b) => b.text ?? '').join('');
}

export function readChatTurn(request: ChatRequest): ChatTurn {
  const messages = request.messages ?? [];
  const promptIndex = messages.map((m) => m.role).lastIndexOf('user');
  const prompt = promptIndex >= 0 ? contentText(messages[promptIndex]!.content) : '';
  const after = messages.slice(promptIndex + 1);
  const step = after.filter((m) => m.role === 'assistant').length;
  const lastAssistant = messages.map((m) => m.role).lastIndexOf('assistant');
  const toolResults = messages
    .slice(lastAssistant + 1)
    .filter((m) => m.role === 'tool')
    .map((m) => ({ toolCallId: m.tool_call_id ?? '', content: contentText(m.content) }));
  const system = messages
    .filter((m) => m.role === 'system')
    .map((m) => contentText(m.content))
    .join('\n');
  const tools = (request.tools ?? []).map((t) => t.function.name);
  const cwd = /Working directory: (.+)/.exec(system)?.[1]?.trim() ?? null;
  return { request, system, prompt, toolResults, step, tools, cwd, isAgentLoop: tools.includes('bash') };
}

// ---- answering

const hex = (bytes: number): string => randomBytes(bytes).toString('hex');

/** The SSE chunks of a streamed answer, in the order the API sends them (usage last). */
export function chatChunks(reply: Extract<ChatReply, { parts: ReplyPart[] }>, model: string): unknown[] {
  const id = `chatcmpl-mock${hex(6)}`;
  const created = Math.floor(Date.now() / 1000);
  const chunk = (delta: Record<string, unknown>, finish: string | null): unknown => ({ id, object: 'chat.completion.chunk', created, model, choices: [{ index: 0, delta, finish_reason: finish }] });
  const out: unknown[] = [chunk({ role: 'assistant', content: '' }, null)];
  let toolIndex = 0;
  for (const p of reply.parts) {
    if (p.type === 'text') out.push(chunk({ content: p.text }, null));
    else out.push(chunk({ tool_calls: [{ index: toolIndex++, id: `call_mock${hex(6)}`, type: 'function', function: { name: p.name, arguments: JSON.stringify(p.input) } }] }, null));
  }
  out.push(chunk({}, toolIndex > 0 ? 'tool_calls' : 'stop'));
  out.push({ id, object: 'chat.completion.chunk', created, model, choices: [], usage: { prompt_tokens: 111, completion_tokens: 22, total_tokens: 133 } });
  return out;
}

export interface MockChatApi {
  /** http://127.0.0.1:<port> (the provider's baseURL is this + /v1) */
  url: string;
  port: number;
  requests: LoggedRequest[];
  /** the requests of the agent loop (those that offer bash) */
  agentTurns(): ChatTurn[];
  close(): Promise<void>;
}

/** Starts the mock on a random port of 127.0.0.1. */
export async function startMockChatApi(script: ChatScript): Promise<MockChatApi> {
  const requests: LoggedRequest[] = [];
  const started = Date.now();

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    const path = req.url ?? '/';
    const body = parseBody(raw);
    const logged: LoggedRequest = { method: req.method ?? 'GET', path, body, at: Date.now() - started };
    requests.push(logged);
    if (req.method !== 'POST' || path.split('?')[0] !== '/v1/chat/completions') {
      sendJson(res, 404, { error: { message: `mock: no such endpoint ${req.method} ${path}`, type: 'invalid_request_error', code: 'not_found' } });
      return;
    }
    const request = body as ChatRequest;
    const turn = readChatTurn(request);
    logged.turn = turn;
    const message = projectCwdRefusal(turn.cwd);
    if (message) {
      sendJson(res, 400, { error: { message, type: 'invalid_request_error', code: 'mock_fail' } });
      return;
    }
    const reply = await script(turn);
    if ('error' in reply) {
      const e = reply.error;
      sendJson(res, e.status, { error: { message: e.message, type: e.type ?? 'api_error', code: e.code ?? null } }, e.headers);
      return;
    }
    if (reply.delayMs) await new Promise((wait) => setTimeout(wait, reply.delayMs));
    const chunks = chatChunks(reply, request.model);
    if (!request.stream) {
      sendJson(res, 400, { error: { message: 'mock: only streaming requests are scripted', type: 'invalid_request_error' } });
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    for (const c of chunks) res.write(`data: ${JSON.stringify(c)}\n\n`);
    res.end('data: [DONE]\n\n');
  }

  const server = await serveOnLoopback(handle, (message) => ({ error: { message, type: 'server_error' } }));
  const port = server.port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    agentTurns: () => requests.flatMap((r) => (r.turn?.isAgentLoop ? [r.turn] : [])),
    close: () => server.close(),
  };
}
