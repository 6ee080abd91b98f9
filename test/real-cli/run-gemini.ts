// run-gemini — runs the real `gemini -p` once against the mock Gemini API, the way
// coven's adapter starts it: stream-json out, stdin closed, a wall-clock timeout.
//
//   inputs:  the gemini executable, cwd, prompt, extra args (--resume <id>, …), and an
//            isolated environment from geminiEnv() (mock API url, temp HOME with settings)
//   outputs: every stdout line parsed as JSON (others kept apart), stderr lines with the
//            time each came, the exit code or signal; nothing is thrown for a failed run

import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The flags of one session, before --resume and the agent's own args. */
export const GEMINI_SESSION_ARGS = ['--output-format', 'stream-json', '--yolo', '--skip-trust'];

/**
 * The settings the real CLI reads from $HOME/.gemini/settings.json: the API-key auth
 * (so GEMINI_API_KEY and GOOGLE_GEMINI_BASE_URL are used), and nothing sent anywhere
 * else: no usage statistics, no telemetry, no auto-update or its notice.
 */
export const GEMINI_SETTINGS = {
  security: { auth: { selectedType: 'gemini-api-key' } },
  general: { enableAutoUpdate: false, enableAutoUpdateNotification: false },
  privacy: { usageStatisticsEnabled: false },
  telemetry: { enabled: false },
};

/**
 * The environment of a CLI run against the mock: the caller's environment without
 * anything that could reach a real account (GEMINI_*, GOOGLE_*), plus HOME under
 * `home` (settings, sessions and projects.json stay there), the mock's url and a dummy key.
 */
export function geminiEnv(apiUrl: string, home: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(GEMINI_|GOOGLE_)/.test(k)) continue;
    env[k] = v;
  }
  mkdirSync(join(home, '.gemini'), { recursive: true });
  writeFileSync(join(home, '.gemini', 'settings.json'), JSON.stringify(GEMINI_SETTINGS, null, 2));
  return { ...env, HOME: home, GEMINI_API_KEY: 'mock-gemini-key', GOOGLE_GEMINI_BASE_URL: apiUrl, NO_COLOR: '1', ...extra };
}

export interface GeminiEvent {
  type: string;
  session_id?: string;
  [k: string]: unknown;
}

export interface GeminiRun {
  events: GeminiEvent[];
  /** stdout lines that were not JSON objects */
  junk: string[];
  stderr: string;
  /** each stderr line, with ms since the start */
  stderrLines: { at: number; line: string }[];
  /** ms since the start when each event came */
  eventTimes: number[];
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  sessionId: string | null;
  result: GeminiEvent | null;
  durationMs: number;
}

export interface GeminiRunOptions {
  gemini: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** given with -p (null: none, e.g. to test stdin) */
  prompt: string | null;
  /** written to stdin, then closed (default: closed at once) */
  stdin?: string;
  /** after the session flags, e.g. ['--resume', id] */
  args?: string[];
  /** replaces GEMINI_SESSION_ARGS */
  sessionArgs?: string[];
  timeoutMs?: number;
  /** called for every event as it comes (e.g. to kill the CLI on the first error) */
  onEvent?: (event: GeminiEvent, kill: () => void) => void;
  onStderr?: (line: string, kill: () => void) => void;
}

export function runGemini(opts: GeminiRunOptions): Promise<GeminiRun> {
  const started = Date.now();
  const args = [...(opts.args ?? []), ...(opts.prompt === null ? [] : ['-p', opts.prompt]), ...(opts.sessionArgs ?? GEMINI_SESSION_ARGS)];
  // its own process group: the CLI relaunches itself as a child node process, which holds
  // stdout open after the parent dies, so a kill must reach the whole group
  const child = spawn(opts.gemini, args, { cwd: opts.cwd, env: opts.env, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  const run: GeminiRun = { events: [], junk: [], stderr: '', stderrLines: [], eventTimes: [], code: null, signal: null, timedOut: false, sessionId: null, result: null, durationMs: 0 };
  const kill = (): void => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  };

  const onLine = (line: string): void => {
    if (!line.trim()) return;
    try {
      const value: unknown = JSON.parse(line);
      if (value && typeof value === 'object' && typeof (value as { type?: unknown }).type === 'string') {
        run.events.push(value as GeminiEvent);
        run.eventTimes.push(Date.now() - started);
        opts.onEvent?.(value as GeminiEvent, kill);
        return;
      }
    } catch {
      // not JSON
    }
    run.junk.push(line);
  };
  lines(child.stdout, onLine);
  lines(child.stderr, (line) => {
    run.stderr += `${line}\n`;
    run.stderrLines.push({ at: Date.now() - started, line });
    opts.onStderr?.(line, kill);
  });
  child.stdin.on('error', () => {});
  child.stdin.end(opts.stdin ?? '');

  const timer = setTimeout(() => {
    run.timedOut = true;
    kill();
  }, opts.timeoutMs ?? 120_000);

  return new Promise((done) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      run.code = code;
      run.signal = signal;
      run.durationMs = Date.now() - started;
      run.sessionId = run.events.find((e) => typeof e.session_id === 'string')?.session_id ?? null;
      run.result = run.events.find((e) => e.type === 'result') ?? null;
      done(run);
    });
  });
}

function lines(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let pending = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    pending += chunk;
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      onLine(pending.slice(0, nl));
      pending = pending.slice(nl + 1);
    }
  });
  stream.on('end', () => {
    if (pending) onLine(pending);
  });
}
