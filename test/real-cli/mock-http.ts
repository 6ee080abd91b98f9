// mock-http — what the scripted model APIs (mock-messages-api, mock-responses-api,
// mock-gemini-api, mock-chat-api) share: a server on a random loopback port, reading a
// request body, answering JSON, and refusing a session that works in coven's own checkout
// (as the fake CLIs do: a test's cwd bug would otherwise change the project).

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ALLOW_PROJECT_CWD, covenCheckoutAround } from '../../fakes/claude.js';

/** JSON with its length; `headers` add to (or replace) the content type. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const data = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(data)), ...headers });
  res.end(data);
}

export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((done, fail) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => done(Buffer.concat(chunks).toString('utf8')));
    req.on('error', fail);
  });
}

/** The body as JSON, else its raw text (null when empty). */
export function parseBody(raw: string): unknown {
  if (!raw) return null;
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

/** Why a session whose cwd is inside coven's own checkout gets no answer (also on stderr), or null. */
export function projectCwdRefusal(cwd: string | null): string | null {
  const checkout = cwd && process.env[ALLOW_PROJECT_CWD] !== '1' ? covenCheckoutAround(cwd) : null;
  if (!checkout) return null;
  const message = `mock: refusing to answer a session whose working directory ${cwd} is inside the coven project's own checkout (${checkout}); a test's agent works in a temporary repository; a test that means this sets ${ALLOW_PROJECT_CWD}=1`;
  process.stderr.write(`${message}\n`);
  return message;
}

export interface LoopbackServer {
  port: number;
  close(): Promise<void>;
}

/** Serves `handle` on a random port of 127.0.0.1; a handler that throws answers 500 with `crashBody`. */
export async function serveOnLoopback(handle: (req: IncomingMessage, res: ServerResponse) => Promise<void>, crashBody: (message: string) => unknown): Promise<LoopbackServer> {
  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => sendJson(res, 500, crashBody(`mock crashed: ${err instanceof Error ? err.message : String(err)}`)));
  });
  await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((closed) => {
        server.closeAllConnections();
        server.close(() => closed());
      }),
  };
}

/** What a scripted conversation needs of a turn: its prompt, which model call of that prompt, and whether the agent loop asks. */
export interface ScriptedTurn {
  prompt: string;
  step: number;
  isAgentLoop: boolean;
}

/** One scripted session: the replies, in order, to a prompt that `when` accepts. */
export interface PlayOf<T, R> {
  /** a regexp or a substring of the prompt, or a predicate on the whole turn */
  when: RegExp | string | ((turn: T) => boolean);
  /** reply n answers model call n of that prompt; a function gets the turn and may answer later */
  replies: (R | ((turn: T) => R | Promise<R>))[];
}

/**
 * A script from plays: the first play whose `when` matches the prompt answers with its
 * reply number `turn.step`. A side request (not the agent loop: a title, a router) gets
 * `side`. A prompt no play matches, or a step past the last reply, is a mistake in the
 * test: `mistake` turns the message saying so into the API's error (a 400).
 */
export function playScript<T extends ScriptedTurn, R>(plays: PlayOf<T, R>[], side: (turn: T) => R, mistake: (message: string) => R): (turn: T) => R | Promise<R> {
  return (turn) => {
    if (!turn.isAgentLoop) return side(turn);
    const play = plays.find((p) => (typeof p.when === 'string' ? turn.prompt.includes(p.when) : p.when instanceof RegExp ? p.when.test(turn.prompt) : p.when(turn)));
    if (!play) return mistake(`mock: no play matches the prompt ${JSON.stringify(turn.prompt.slice(0, 200))}`);
    const reply = play.replies[turn.step];
    if (reply === undefined) return mistake(`mock: the play for ${JSON.stringify(turn.prompt.slice(0, 80))} has no reply number ${turn.step}`);
    return typeof reply === 'function' ? (reply as (turn: T) => R | Promise<R>)(turn) : reply;
  };
}
