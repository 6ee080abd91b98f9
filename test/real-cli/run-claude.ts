// run-claude — runs the real `claude -p` once, the way coven will: stream-json in and
// out, the prompt written as one stream-json user message on stdin, stdin closed once
// the `result` event arrives, a wall-clock timeout.
//
//   inputs:  the claude executable, cwd, prompt, extra args (--resume <id>, …), and an
//            isolated environment from claudeEnv() (mock API url, temp config dir)
//   outputs: every stdout line parsed as JSON (lines that are not JSON are kept apart),
//            stderr, the exit code or signal; nothing is thrown for a failed run

import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

/** The flags of one worker session (reference §1), before any --resume. */
export const SESSION_ARGS = [
  '-p',
  '--output-format',
  'stream-json',
  '--verbose',
  '--input-format',
  'stream-json',
  '--permission-mode',
  'acceptEdits',
  '--allowedTools=Bash,Read,Edit,Write',
];

/**
 * The environment of a CLI run against the mock: the caller's environment without
 * anything that would reach a real account (ANTHROPIC_*, CLAUDE*), plus
 * - ANTHROPIC_BASE_URL / ANTHROPIC_API_KEY: the mock and a dummy key
 * - HOME and CLAUDE_CONFIG_DIR under `home`: transcripts, settings and the
 *   `.claude.json` the CLI writes stay in the temp folder
 * - the switches that keep it from calling anything but the API: no telemetry, no
 *   error reports, no auto-update, no other "nonessential" traffic.
 */
export function claudeEnv(apiUrl: string, home: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(ANTHROPIC_|CLAUDE)/.test(k)) continue;
    env[k] = v;
  }
  const configDir = join(home, '.claude');
  mkdirSync(configDir, { recursive: true });
  return {
    ...env,
    HOME: home,
    CLAUDE_CONFIG_DIR: configDir,
    ANTHROPIC_BASE_URL: apiUrl,
    ANTHROPIC_API_KEY: 'sk-ant-mock-key',
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    DISABLE_TELEMETRY: '1',
    DISABLE_ERROR_REPORTING: '1',
    DISABLE_AUTOUPDATER: '1',
    ...extra,
  };
}

/** One stdout line of stream-json: we only rely on `type`. */
export interface StreamEvent {
  type: string;
  subtype?: string;
  session_id?: string;
  [k: string]: unknown;
}

export interface ClaudeRun {
  events: StreamEvent[];
  /** stdout lines that were not JSON objects */
  junk: string[];
  stderr: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  /** the session id of the first event that carries one (init, or the error result) */
  sessionId: string | null;
  result: StreamEvent | null;
}

export interface RunOptions {
  claude: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
  prompt: string;
  /** after the session flags, e.g. ['--resume', id] */
  args?: string[];
  /** replaces SESSION_ARGS */
  sessionArgs?: string[];
  timeoutMs?: number;
}

/** The stream-json user message that carries a prompt on stdin. */
export function userMessage(prompt: string): string {
  return JSON.stringify({ type: 'user', message: { role: 'user', content: prompt } }) + '\n';
}

export function runClaude(opts: RunOptions): Promise<ClaudeRun> {
  const child = spawn(opts.claude, [...(opts.sessionArgs ?? SESSION_ARGS), ...(opts.args ?? [])], { cwd: opts.cwd, env: opts.env, stdio: ['pipe', 'pipe', 'pipe'] });
  const events: StreamEvent[] = [];
  const junk: string[] = [];
  let stderr = '';
  let pending = '';
  let timedOut = false;

  const onLine = (line: string): void => {
    if (!line.trim()) return;
    try {
      const value: unknown = JSON.parse(line);
      if (value && typeof value === 'object' && typeof (value as { type?: unknown }).type === 'string') {
        events.push(value as StreamEvent);
        // the turn is complete: end stdin so the CLI exits (it waits for more input otherwise)
        if ((value as StreamEvent).type === 'result') child.stdin.end();
        return;
      }
    } catch {
      // not JSON
    }
    junk.push(line);
  };
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    pending += chunk;
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      onLine(pending.slice(0, nl));
      pending = pending.slice(nl + 1);
    }
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => (stderr += chunk));
  child.stdin.on('error', () => {}); // the CLI may exit before reading stdin (usage errors)
  child.stdin.write(userMessage(opts.prompt));

  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 5000).unref();
  }, opts.timeoutMs ?? 120_000);

  return new Promise((done) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      onLine(pending);
      const sessionId = events.find((e) => typeof e.session_id === 'string')?.session_id ?? null;
      const result = events.find((e) => e.type === 'result') ?? null;
      done({ events, junk, stderr, code, signal, timedOut, sessionId, result });
    });
  });
}

/** Where the CLI keeps a session's transcript (reference §3): every character outside [A-Za-z0-9] of the real cwd becomes '-'. */
export function transcriptPath(configDir: string, realCwd: string, sessionId: string): string {
  return join(configDir, 'projects', realCwd.replace(/[^A-Za-z0-9]/g, '-'), `${sessionId}.jsonl`);
}
