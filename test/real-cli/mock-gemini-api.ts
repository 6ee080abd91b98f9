// mock-gemini-api — a scripted stand-in for the Gemini API (generativelanguage) on
// 127.0.0.1, so the real Gemini CLI can run offline: point it here with
// GOOGLE_GEMINI_BASE_URL=<api.url>, any GEMINI_API_KEY, and a settings.json that selects
// the API-key auth (see run-gemini.ts).
//
// What the CLI (0.61.0, `-p`) calls, as observed: `POST /v1beta/models/<model>:
// streamGenerateContent?alt=sse` for the agent loop (the request offers the
// run_shell_command tool), one request per model round trip, and `POST /v1beta/models/
// <model>:generateContent` side calls with a JSON response schema (the model router's
// `{complexity_reasoning, complexity_score}`, a session title …). `countTokens` and any
// other path are answered too (404 for an unknown one, logged) in case another version
// calls them.
//
// Replies are scripted by a function of the request, as in mock-messages-api.ts:
// `reply(turn)` sees the prompt (the latest user text), the function responses that came
// back since, how many model calls this prompt has had, and returns text and function
// calls (or an API error: 400, 401, 403, 429 RESOURCE_EXHAUSTED, 503 UNAVAILABLE …).
// `conversation()` builds such a function from plays. Every request is kept in
// `api.requests`.
//
//   start:  const api = await startMockGeminiApi(reply); … await api.close()
//   env:    none (the caller sets the CLI's env); a session whose working directory is
//           inside coven's own checkout gets a 400 unless FAKE_CLAUDE_ALLOW_PROJECT_CWD=1

import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseBody, projectCwdRefusal, readBody, sendJson as sendJsonBody, serveOnLoopback } from './mock-http.js';
import { playScript, type PlayOf } from './mock-http.js';

// ---- what the CLI sends (only the parts we read)

export interface Part {
  text?: string;
  thought?: boolean;
  functionCall?: { id?: string; name: string; args?: Record<string, unknown> };
  functionResponse?: { id?: string; name: string; response?: Record<string, unknown> };
  [k: string]: unknown;
}

export interface Content {
  role?: 'user' | 'model';
  parts?: Part[];
}

export interface GenerateRequest {
  contents?: Content[];
  systemInstruction?: Content | string;
  tools?: { functionDeclarations?: { name: string }[] }[];
  generationConfig?: { responseJsonSchema?: unknown; responseSchema?: unknown; responseMimeType?: string; [k: string]: unknown };
  [k: string]: unknown;
}

/** One request as the server saw it. */
export interface LoggedRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
  at: number;
  /** for a generate call: the turn handed to the script */
  turn?: Turn;
}

/** A generate request, as the script sees it. */
export interface Turn {
  request: GenerateRequest;
  /** the model named in the path */
  model: string;
  /** streamGenerateContent (true) or generateContent (false) */
  stream: boolean;
  /** the whole system instruction */
  system: string;
  /** the text of the latest user content that carries text (the prompt of this turn) */
  prompt: string;
  /** the function responses after the latest model content (empty on a prompt's first call) */
  functionResponses: { name: string; output: string }[];
  /** model calls already answered for this prompt: 0 first, 1 after the first function responses, … */
  step: number;
  /** names of the functions offered */
  tools: string[];
  /** the CLI's working directory, as it tells the model, or null */
  cwd: string | null;
  /** the main agent loop (it offers run_shell_command); else a side call (routing, title) */
  isAgentLoop: boolean;
}

// ---- what a script answers

export type ReplyPart = { text: string } | { functionCall: { name: string; args: Record<string, unknown> } };

export type Reply =
  | { parts: ReplyPart[]; /** wait this long before answering (a slow model) */ delayMs?: number; /** split the text into SSE chunks of this size */ chunk?: number }
  | { error: { code: number; status: string; message: string; details?: Record<string, unknown>[] } };

export type Script = (turn: Turn) => Reply | Promise<Reply>;

export const text = (t: string): ReplyPart => ({ text: t });
/** A run_shell_command call, as the model writes it. */
export const shell = (command: string, description = 'run a command'): ReplyPart => ({ functionCall: { name: 'run_shell_command', args: { command, description } } });
export const say = (...parts: ReplyPart[]): Reply => ({ parts });

/** The status word Google's APIs give each HTTP code. */
const statusWords: Record<number, string> = { 400: 'INVALID_ARGUMENT', 401: 'UNAUTHENTICATED', 403: 'PERMISSION_DENIED', 404: 'NOT_FOUND', 429: 'RESOURCE_EXHAUSTED', 500: 'INTERNAL', 503: 'UNAVAILABLE' };
export const apiError = (code: number, message: string, status = statusWords[code] ?? 'UNKNOWN'): Reply => ({ error: { code, status, message } });
/** The 429 the API gives when the free-tier quota is used up. */
export const quotaError = (): Reply => apiError(429, 'You exceeded your current quota, please check your plan and billing details.');
/** The 429 of a used-up daily quota: its QuotaFailure names a per-day limit (the CLI gives up at once). */
export const dailyQuotaError = (): Reply => ({
  error: {
    code: 429,
    status: 'RESOURCE_EXHAUSTED',
    message: 'You exceeded your current quota, please check your plan and billing details.',
    details: [{ '@type': 'type.googleapis.com/google.rpc.QuotaFailure', violations: [{ quotaMetric: 'generativelanguage.googleapis.com/generate_content_free_tier_requests', quotaId: 'GenerateRequestsPerDayPerProjectPerModel-FreeTier' }] }],
  },
});
/** The 429 of a per-minute rate limit, with the delay the API suggests. */
export const rateLimitError = (retryDelay = '2s'): Reply => ({
  error: {
    code: 429,
    status: 'RESOURCE_EXHAUSTED',
    message: 'Resource has been exhausted (e.g. check quota).',
    details: [
      { '@type': 'type.googleapis.com/google.rpc.QuotaFailure', violations: [{ quotaMetric: 'generativelanguage.googleapis.com/generate_content_requests', quotaId: 'GenerateRequestsPerMinutePerProjectPerModel' }] },
      { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay },
    ],
  },
});
export const authError = (): Reply => apiError(401, 'API key not valid. Please pass a valid API key.');
export const overloadedError = (): Reply => apiError(503, 'The model is overloaded. Please try again later.');

/** One scripted session: the replies, in order, to a prompt that `when` accepts. */
export type Play = PlayOf<Turn, Reply>;

/**
 * A script from plays: the first play whose `when` matches the prompt answers with its
 * reply number `turn.step`. Side calls (no run_shell_command offered) get `sideReply`,
 * by default what the router and the title ask for. A prompt no play matches, or a step
 * past the last reply, gets a 400 whose message says so.
 */
export function conversation(plays: Play[], sideReply: (turn: Turn) => Reply = sideAnswer): Script {
  return playScript(plays, sideReply, (m) => apiError(400, m));
}

/** A side call's answer: a JSON object with every property its schema asks for, else "ok". */
export function sideAnswer(turn: Turn): Reply {
  const schema = (turn.request.generationConfig?.responseJsonSchema ?? turn.request.generationConfig?.responseSchema) as { properties?: Record<string, { type?: string }> } | undefined;
  if (!schema?.properties) return say(text('ok'));
  const answer: Record<string, unknown> = {};
  for (const [key, prop] of Object.entries(schema.properties)) {
    const type = String(prop.type ?? 'string').toLowerCase();
    answer[key] = type === 'number' || type === 'integer' ? 10 : type === 'boolean' ? false : key === 'model_choice' ? 'flash' : `mock ${key}`;
  }
  return say(text(JSON.stringify(answer)));
}


// ---- reading a request

function contentText(c: Content | string | undefined): string {
  if (c === undefined) return '';
  if (typeof c === 'string') return c;
  return (c.parts ?? []).map((p) => (typeof p.text === 'string' && !p.thought ? p.text : '')).join('');
}

/** Builds the script's view of a generate request. */
export function readTurn(request: GenerateRequest, model: string, stream: boolean): Turn {
  const contents = request.contents ?? [];
  // the prompt: the latest user text part that is not the CLI's own <session_context>
  let promptIndex = -1;
  let prompt = '';
  for (let i = contents.length - 1; i >= 0 && promptIndex < 0; i--) {
    const c = contents[i]!;
    if (c.role === 'model') continue;
    const texts = (c.parts ?? []).flatMap((p) => (typeof p.text === 'string' && !p.thought && p.text.trim() !== '' && !p.text.trimStart().startsWith('<session_context>') ? [p.text] : []));
    if (texts.length > 0) {
      promptIndex = i;
      prompt = texts.join('\n');
    }
  }
  const step = contents.slice(promptIndex + 1).filter((c) => c.role === 'model').length;
  const lastModel = contents.map((c) => c.role).lastIndexOf('model');
  const functionResponses: Turn['functionResponses'] = [];
  for (const c of contents.slice(lastModel + 1)) {
    for (const p of c.parts ?? []) {
      if (!p.functionResponse) continue;
      const response = p.functionResponse.response ?? {};
      const output = typeof response.output === 'string' ? response.output : typeof response.error === 'string' ? response.error : JSON.stringify(response);
      functionResponses.push({ name: p.functionResponse.name, output });
    }
  }
  const system = contentText(request.systemInstruction);
  const tools = (request.tools ?? []).flatMap((t) => (t.functionDeclarations ?? []).map((f) => f.name));
  const everything = [system, ...contents.map((c) => contentText(c))].join('\n');
  // the session context names the workspace: "- **Workspace Directories:**\n  - /path"
  const cwd = /Workspace Directories:\**\s*\n\s*-\s*(\/[^\n]+)/.exec(everything)?.[1]?.trim() ?? null;
  return { request, model, stream, system, prompt, functionResponses, step, tools, cwd, isAgentLoop: tools.includes('run_shell_command') };
}

// ---- answering

interface Usage {
  promptTokenCount: number;
  candidatesTokenCount: number;
  totalTokenCount: number;
}

function usageOf(request: GenerateRequest, parts: ReplyPart[]): Usage {
  const prompt = Math.ceil(JSON.stringify(request.contents ?? []).length / 8) + 100;
  const candidates = Math.ceil(JSON.stringify(parts).length / 8) + 10;
  return { promptTokenCount: prompt, candidatesTokenCount: candidates, totalTokenCount: prompt + candidates };
}

/** The SSE chunks of a streamed answer: text split in pieces, function calls whole, the finish reason and usage on the last. */
export function streamChunks(reply: Extract<Reply, { parts: ReplyPart[] }>, model: string, usage: Usage): unknown[] {
  const size = reply.chunk ?? 40;
  const pieces: ReplyPart[] = [];
  for (const p of reply.parts) {
    if ('text' in p && p.text.length > size) for (let i = 0; i < p.text.length; i += size) pieces.push({ text: p.text.slice(i, i + size) });
    else pieces.push(p);
  }
  if (pieces.length === 0) pieces.push({ text: '' });
  return pieces.map((p, i) => {
    const last = i === pieces.length - 1;
    return {
      candidates: [{ content: { role: 'model', parts: [p] }, index: 0, ...(last ? { finishReason: 'STOP' } : {}) }],
      ...(last ? { usageMetadata: usage } : { usageMetadata: { promptTokenCount: usage.promptTokenCount, totalTokenCount: usage.promptTokenCount } }),
      modelVersion: model,
      responseId: `mock${i}`,
    };
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  sendJsonBody(res, status, body, { 'content-type': 'application/json; charset=UTF-8' });
}

export interface MockGeminiApi {
  /** http://127.0.0.1:<port> */
  url: string;
  port: number;
  /** every request, in arrival order */
  requests: LoggedRequest[];
  /** the generate requests of the agent loop (those that offer run_shell_command) */
  agentTurns(): Turn[];
  close(): Promise<void>;
}

const generatePath = /^\/v1(?:beta|alpha)?\/models\/([^/:]+):(streamGenerateContent|generateContent|countTokens)$/;

/** Starts the mock on a random port of 127.0.0.1. */
export async function startMockGeminiApi(script: Script): Promise<MockGeminiApi> {
  const requests: LoggedRequest[] = [];

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    const path = req.url ?? '/';
    const body = parseBody(raw);
    const logged: LoggedRequest = { method: req.method ?? 'GET', path, headers: req.headers, body, at: Date.now() };
    requests.push(logged);
    const m = generatePath.exec(path.split('?')[0] ?? '');
    if (req.method !== 'POST' || !m) {
      sendJson(res, 404, { error: { code: 404, message: `mock: no such endpoint ${req.method} ${path}`, status: 'NOT_FOUND' } });
      return;
    }
    const [, model, method] = m as unknown as [string, string, string];
    const request = (body ?? {}) as GenerateRequest;
    if (method === 'countTokens') {
      sendJson(res, 200, { totalTokens: Math.ceil(raw.length / 4) });
      return;
    }
    const stream = method === 'streamGenerateContent';
    const turn = readTurn(request, model, stream);
    logged.turn = turn;
    const message = projectCwdRefusal(turn.cwd);
    if (message) {
      sendJson(res, 400, { error: { code: 400, message, status: 'INVALID_ARGUMENT' } });
      return;
    }
    const reply = await script(turn);
    if ('error' in reply) {
      sendJson(res, reply.error.code, { error: reply.error });
      return;
    }
    if (reply.delayMs) await new Promise((wait) => setTimeout(wait, reply.delayMs));
    const usage = usageOf(request, reply.parts);
    if (!stream) {
      sendJson(res, 200, { candidates: [{ content: { role: 'model', parts: reply.parts }, finishReason: 'STOP', index: 0 }], usageMetadata: usage, modelVersion: model, responseId: 'mock' });
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    for (const chunk of streamChunks(reply, model, usage)) res.write(`data: ${JSON.stringify(chunk)}\r\n\r\n`);
    res.end();
  }

  const server = await serveOnLoopback(handle, (message) => ({ error: { code: 500, message, status: 'INTERNAL' } }));
  const port = server.port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    agentTurns: () => requests.flatMap((r) => (r.turn?.isAgentLoop ? [r.turn] : [])),
    close: () => server.close(),
  };
}
