// run-opencode — the environment that runs the real opencode CLI offline against
// mock-chat-api.ts: an isolated HOME (and XDG folders) under a temp dir, a config that
// names the mock as its only provider (models.dev and the package registry are never
// asked, nor the npm registry), bash and edit allowed (headless, a permission request is
// rejected), no autoupdate. PWD is the caller's to set (opencode takes its directory from it).
//
//   const oc = opencodeEnv(api, tempDir());     // env for spawn, or for coven (COVEN_OPENCODE)
//   runOpencode(bin, ['run', '--format', 'json'], { dir: repo, env: oc, input: 'prompt' })
//   (killOnStderr: SIGTERM at the first stderr text that matches, e.g. a retried refusal)

import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MockChatApi } from './mock-chat-api.js';

/** The provider and model names the config gives the mock. */
export const MOCK_MODEL = 'mock/m';

export function opencodeConfig(api: Pick<MockChatApi, 'url'>): Record<string, unknown> {
  return {
    $schema: 'https://opencode.ai/config.json',
    provider: { mock: { npm: '@ai-sdk/openai-compatible', name: 'Mock', options: { baseURL: `${api.url}/v1`, apiKey: '{env:COVEN_MOCK_CHAT_KEY}' }, models: { m: {} } } },
    model: MOCK_MODEL,
    small_model: MOCK_MODEL,
    permission: { bash: 'allow', edit: 'allow' },
    autoupdate: false,
    share: 'disabled',
  };
}

/** Env vars for the real opencode against `api`, with its files under `dir`. */
export function opencodeEnv(api: Pick<MockChatApi, 'url'>, dir: string): Record<string, string> {
  const home = join(dir, 'home');
  mkdirSync(home, { recursive: true });
  const config = join(dir, 'opencode.json');
  writeFileSync(config, JSON.stringify(opencodeConfig(api), null, 2));
  return {
    HOME: home,
    XDG_DATA_HOME: join(home, '.local', 'share'),
    XDG_CONFIG_HOME: join(home, '.config'),
    XDG_CACHE_HOME: join(home, '.cache'),
    XDG_STATE_HOME: join(home, '.local', 'state'),
    OPENCODE_CONFIG: config,
    OPENCODE_DISABLE_MODELS_FETCH: '1',
    OPENCODE_DISABLE_AUTOUPDATE: '1',
    COVEN_MOCK_CHAT_KEY: 'mock-key',
    // in a fresh HOME opencode installs packages for its config folder in the background:
    // a dead loopback registry keeps it offline (it warns and goes on)
    npm_config_registry: 'http://127.0.0.1:9/',
  };
}

export interface TimedRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** ms from the spawn to the first stdout line (null: none) */
  firstLineMs: number | null;
  totalMs: number;
}

/** Runs opencode in `dir` (PWD and cwd), timing its first stdout line and its end. */
export function runOpencode(bin: string, args: string[], opts: { dir: string; env: Record<string, string>; input?: string; timeoutMs?: number; killOnStderr?: RegExp }): Promise<TimedRun> {
  return new Promise((done) => {
    const started = performance.now();
    const child = spawn(bin, args, { cwd: opts.dir, env: { ...process.env, ...opts.env, PWD: opts.dir }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let firstLineMs: number | null = null;
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (firstLineMs === null && stdout.includes('\n')) firstLineMs = performance.now() - started;
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      // a refusal the CLI would retry for minutes: stop it at its first sign, as coven does
      if (opts.killOnStderr?.test(stderr)) child.kill('SIGTERM');
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 180_000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      done({ code, signal, stdout, stderr, firstLineMs, totalMs: performance.now() - started });
    });
    child.stdin.end(opts.input ?? '');
  });
}
