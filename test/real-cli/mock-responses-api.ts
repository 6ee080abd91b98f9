// mock-responses-api — a scripted stand-in for the OpenAI Responses API on 127.0.0.1, so
// the real Codex CLI (`@openai/codex`) can run offline. Codex ignores OPENAI_BASE_URL;
// point it here with a CODEX_HOME whose config.toml names this server as a provider
// (`codexConfig(api)` writes it; see run-codex.ts).
//
// What the CLI (0.171.0, `codex exec`) calls, as observed: `POST /v1/responses` with
// `stream: true`, one request per model round trip, each resending the whole history
// (`input`: messages, `function_call`s and their `function_call_output`s). The shell tool
// is `exec_command` with `{"cmd": …}`. The answer is server-sent events
// (`response.created`, `response.output_item.added|done`, `response.output_text.delta`,
// `response.completed` with usage). Any other path gets a 404 and is logged.
//
// Replies are scripted by a function of the request, as in mock-messages-api.ts: the
// script sees the prompt (the latest user text), the tool outputs since the last answer,
// the instructions, the working directory Codex tells the model, and how many model
// calls this prompt has had; it answers items (text, exec_command calls, reasoning) or
// an HTTP error with OpenAI's own error body (quota, rate limit, auth, overloaded).
//
//   start:  const api = await startMockResponsesApi(reply); … await api.close()
//   env:    none (the caller sets the CLI's env); a session whose working directory is
//           inside coven's own checkout gets a 400 unless FAKE_CLAUDE_ALLOW_PROJECT_CWD=1

import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import { parseBody, projectCwdRefusal, readBody, sendJson as sendJsonBody, serveOnLoopback } from './mock-http.js';
import { playScript, type PlayOf } from './mock-http.js';

// ---- what the CLI sends (only the parts we read)

export interface InputItem {
  type?: string;
  role?: string;
  content?: string | { type: string; text?: string }[];
  name?: string;
  arguments?: string;
  call_id?: string;
  output?: string | { type: string; text?: string }[];
  [k: string]: unknown;
}

export interface ResponsesRequest {
  model: string;
  instructions?: string;
  input: InputItem[];
  tools?: { type: string; name?: string }[];
  stream?: boolean;
  [k: string]: unknown;
}

/** A /v1/responses request, as the script sees it. */
export interface Turn {
  request: ResponsesRequest;
  /** the `session_id` header Codex sends (its thread id), or null */
  sessionId: string | null;
  instructions: string;
  /** the text of the latest user message that is not Codex's own context block */
  prompt: string;
  /** every user prompt of the thread, in order (a resume sees the earlier ones) */
  prompts: string[];
  /** the function call outputs after the latest assistant item (empty on the first call of a prompt) */
  toolOutputs: { callId: string; output: string }[];
  /** model calls already answered for this prompt: 0 first, 1 after the first tool outputs, … */
  step: number;
  tools: string[];
  /** the working directory Codex tells the model (`<cwd>…</cwd>`), or null */
  cwd: string | null;
  /** the main agent loop (it offers exec_command), not a side call */
  isAgentLoop: boolean;
}

export interface LoggedRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
  turn?: Turn;
  /** the HTTP status answered */
  status?: number;
}

// ---- what a script answers

export type ReplyItem = { type: 'text'; text: string } | { type: 'exec'; cmd: string; workdir?: string } | { type: 'reasoning'; text: string };

export type Reply =
  | { items: ReplyItem[]; /** wait this long before answering (a slow model) */ delayMs?: number; usage?: { input: number; output: number; cached?: number } }
  /** an HTTP error with this body (OpenAI's `{error: {message, type, code}}`) */
  | { error: { status: number; body: unknown; headers?: Record<string, string> } };

export type Script = (turn: Turn) => Reply | Promise<Reply>;

export const text = (t: string): ReplyItem => ({ type: 'text', text: t });
/** An exec_command call, as the model writes it. */
export const exec = (cmd: string, workdir?: string): ReplyItem => ({ type: 'exec', cmd, ...(workdir ? { workdir } : {}) });
export const say = (...items: ReplyItem[]): Reply => ({ items });

/** OpenAI's error body. */
export const apiError = (status: number, message: string, type = 'invalid_request_error', code: string | null = null): Reply => ({ error: { status, body: { error: { message, type, param: null, code } } } });

/** What OpenAI answers when the account's quota is used up (HTTP 429, insufficient_quota). */
export const quotaError = (): Reply => apiError(429, 'You exceeded your current quota, please check your plan and billing details. For more information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.', 'insufficient_quota', 'insufficient_quota');
/** A rate limit (HTTP 429, rate_limit_exceeded), with the Retry-After OpenAI sends. */
export const rateLimitError = (retryAfterS = 1): Reply => ({
  error: {
    status: 429,
    body: { error: { message: `Rate limit reached for mock-model in organization org-mock on tokens per min (TPM): Limit 30000, Used 30000, Requested 100. Please try again in ${retryAfterS}s.`, type: 'tokens', param: null, code: 'rate_limit_exceeded' } },
    headers: { 'retry-after': String(retryAfterS) },
  },
});
/** A bad key (HTTP 401, invalid_api_key). */
export const authError = (): Reply => apiError(401, 'Incorrect API key provided: sk-mock. You can find your API key at https://platform.openai.com/account/api-keys.', 'invalid_request_error', 'invalid_api_key');
/** The service is overloaded (HTTP 503). */
export const overloadedError = (): Reply => apiError(503, 'The server is overloaded or not ready yet.', 'server_error', null);

/** One scripted session: the replies, in order, to a prompt that `when` accepts. */
export type Play = PlayOf<Turn, Reply>;

/**
 * A script from plays: the first play whose `when` matches the prompt answers with its
 * reply number `turn.step`. Side requests get `sideReply`. A prompt no play matches, or a
 * step past the last reply, gets a 400 whose message says so.
 */
export function conversation(plays: Play[], sideReply: Reply = say(text('ok'))): Script {
  return playScript(plays, () => sideReply, (m) => apiError(400, m));
}


// ---- reading a request

function itemText(content: InputItem['content'] | InputItem['output']): string {
  if (content === undefined) return '';
  if (typeof content === 'string') return content;
  return content.map((b) => b.text ?? '').join('');
}

/** Codex's own context blocks in user messages (environment, AGENTS.md, skills …), not the prompt. */
const contextBlock = /^\s*<(environment_context|user_instructions|permissions instructions|skills_instructions|INSTRUCTIONS|apps_instructions|collaboration_mode)/;

/** Builds the script's view of a /v1/responses request. */
export function readTurn(request: ResponsesRequest, sessionId: string | null): Turn {
  const input = request.input ?? [];
  const prompts: string[] = [];
  let promptIndex = -1;
  input.forEach((item, i) => {
    if ((item.type ?? 'message') !== 'message' || item.role !== 'user') return;
    const t = itemText(item.content);
    if (contextBlock.test(t)) return;
    prompts.push(t);
    promptIndex = i;
  });
  const after = input.slice(promptIndex + 1);
  // each answer of the model since the prompt is one step; its function calls and text come as items in a row
  let step = 0;
  let previousWasModel = false;
  for (const item of after) {
    const fromModel = item.type === 'function_call' || item.type === 'reasoning' || (item.type === 'message' && item.role === 'assistant');
    if (fromModel && !previousWasModel) step++;
    previousWasModel = fromModel;
  }
  let lastModel = -1;
  input.forEach((item, i) => {
    if (item.type === 'function_call' || (item.type === 'message' && item.role === 'assistant')) lastModel = i;
  });
  const toolOutputs = input
    .slice(lastModel + 1)
    .filter((item) => item.type === 'function_call_output')
    .map((item) => ({ callId: String(item.call_id ?? ''), output: itemText(item.output) }));
  const tools = (request.tools ?? []).map((t) => t.name ?? t.type);
  const everything = input.map((item) => itemText(item.content)).join('\n');
  // the latest one: a resume from another folder tells the model its new cwd
  const cwd = [...everything.matchAll(/<cwd>([^<]+)<\/cwd>/g)].at(-1)?.[1]?.trim() ?? null;
  return { request, sessionId, instructions: request.instructions ?? '', prompt: prompts.at(-1) ?? '', prompts, toolOutputs, step, tools, cwd, isAgentLoop: tools.includes('exec_command') };
}

// ---- answering

const hex = (bytes: number): string => randomBytes(bytes).toString('hex');

type OutputItem = Record<string, unknown> & { type: string; id: string };

function outputItems(reply: Extract<Reply, { items: ReplyItem[] }>): OutputItem[] {
  return reply.items.map((item): OutputItem => {
    if (item.type === 'exec') {
      const args = { cmd: item.cmd, ...(item.workdir ? { workdir: item.workdir } : {}) };
      return { type: 'function_call', id: `fc_mock${hex(8)}`, status: 'completed', name: 'exec_command', arguments: JSON.stringify(args), call_id: `call_mock${hex(8)}` };
    }
    if (item.type === 'reasoning') return { type: 'reasoning', id: `rs_mock${hex(8)}`, summary: [{ type: 'summary_text', text: item.text }], content: [] };
    return { type: 'message', id: `msg_mock${hex(8)}`, status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: item.text, annotations: [] }] };
  });
}

/** The SSE events of a streamed response, in the order the API sends them. */
export function streamEvents(reply: Extract<Reply, { items: ReplyItem[] }>, model: string): { type: string; [k: string]: unknown }[] {
  const id = `resp_mock${hex(8)}`;
  const items = outputItems(reply);
  const base = { id, object: 'response', created_at: Math.floor(Date.now() / 1000), model };
  const events: { type: string; [k: string]: unknown }[] = [{ type: 'response.created', response: { ...base, status: 'in_progress', output: [] } }];
  items.forEach((item, index) => {
    if (item.type === 'message') {
      events.push({ type: 'response.output_item.added', output_index: index, item: { ...item, status: 'in_progress', content: [] } });
      const textPart = (item.content as { text: string }[])[0]!.text;
      events.push({ type: 'response.output_text.delta', item_id: item.id, output_index: index, content_index: 0, delta: textPart });
    } else events.push({ type: 'response.output_item.added', output_index: index, item });
    events.push({ type: 'response.output_item.done', output_index: index, item });
  });
  const u = reply.usage ?? { input: 111, output: 22 };
  const usage = { input_tokens: u.input, input_tokens_details: { cached_tokens: u.cached ?? 0 }, output_tokens: u.output, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: u.input + u.output };
  events.push({ type: 'response.completed', response: { ...base, status: 'completed', output: items, usage } });
  return events.map((e, n) => ({ ...e, sequence_number: n }));
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  sendJsonBody(res, status, body, { 'x-request-id': `req_mock${hex(8)}`, ...headers });
}

export interface MockResponsesApi {
  /** http://127.0.0.1:<port>/v1 (Codex's provider base_url) */
  baseUrl: string;
  port: number;
  requests: LoggedRequest[];
  /** the /v1/responses requests of the agent loop */
  agentTurns(): Turn[];
  close(): Promise<void>;
}

/** Starts the mock on a random port of 127.0.0.1. */
export async function startMockResponsesApi(script: Script): Promise<MockResponsesApi> {
  const requests: LoggedRequest[] = [];

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    const path = req.url ?? '/';
    const body = parseBody(raw);
    const logged: LoggedRequest = { method: req.method ?? 'GET', path, headers: req.headers, body };
    requests.push(logged);
    const answer = (status: number, json: unknown, headers?: Record<string, string>): void => {
      logged.status = status;
      sendJson(res, status, json, headers);
    };
    if (req.method !== 'POST' || path.split('?')[0] !== '/v1/responses') {
      answer(404, { error: { message: `mock: no such endpoint ${req.method} ${path}`, type: 'invalid_request_error', param: null, code: null } });
      return;
    }
    const request = body as ResponsesRequest;
    const session = req.headers.session_id ?? req.headers['session-id'];
    const turn = readTurn(request, typeof session === 'string' ? session : null);
    logged.turn = turn;
    const message = projectCwdRefusal(turn.cwd);
    if (message) {
      answer(400, { error: { message, type: 'invalid_request_error', param: null, code: null } });
      return;
    }
    const reply = await script(turn);
    if ('error' in reply) {
      answer(reply.error.status, reply.error.body, reply.error.headers);
      return;
    }
    if (reply.delayMs) await new Promise((wait) => setTimeout(wait, reply.delayMs));
    logged.status = 200;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-request-id': `req_mock${hex(8)}` });
    for (const event of streamEvents(reply, request.model)) res.write(`event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
    res.end();
  }

  const server = await serveOnLoopback(handle, (message) => ({ error: { message, type: 'server_error', param: null, code: null } }));
  const port = server.port;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    port,
    requests,
    agentTurns: () => requests.flatMap((r) => (r.turn?.isAgentLoop ? [r.turn] : [])),
    close: () => server.close(),
  };
}

/** The config.toml that points Codex at `baseUrl` (model `mock-model`, key from env MOCK_OPENAI_KEY). */
export function codexConfig(baseUrl: string): string {
  return [
    'model = "mock-model"',
    'model_provider = "mock"',
    '',
    '[model_providers.mock]',
    'name = "Mock"',
    `base_url = "${baseUrl}"`,
    'env_key = "MOCK_OPENAI_KEY"',
    'wire_api = "responses"',
    '',
  ].join('\n');
}
